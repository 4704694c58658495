//! Unknown outcomes: an order placement that may or may not have reached the matching
//! engine is settled by querying it by its client id, never by resending it.

use std::sync::atomic::Ordering;

use super::orders::OrderRef;
use super::RestClient;
use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::wire::account::OrderResponse;

/// Result of a successful order placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The exchange answered the placement itself.
    Accepted(OrderResponse),
    /// The placement's outcome was unknown; this is what a query by
    /// `origClientOrderId` found on the exchange.
    Reconciled {
        /// The order as the exchange has it now.
        order: OrderResponse,
        /// What made the outcome unknown (`HTTP 503 code -1000`, a timeout, ...).
        cause: String,
    },
}

impl Placement {
    /// The order, either way.
    pub fn order(&self) -> &OrderResponse {
        match self {
            Placement::Accepted(o) | Placement::Reconciled { order: o, .. } => o,
        }
    }
    /// True if the answer came from reconciliation.
    pub fn was_reconciled(&self) -> bool {
        matches!(self, Placement::Reconciled { .. })
    }
}

impl RestClient {
    /// Looks an order whose placement outcome is unknown up by its client id.
    pub(super) async fn reconcile(
        &self,
        symbol: &str,
        coid: &str,
        cause: String,
    ) -> Result<Placement> {
        tracing::warn!(symbol, coid, %cause, "order outcome unknown; reconciling by origClientOrderId");
        let order = self
            .settle(coid, &cause, || {
                self.query_order(symbol, OrderRef::Client(coid))
            })
            .await?;
        tracing::info!(symbol, coid, status = ?order.status, "order reconciled");
        Ok(Placement::Reconciled { order, cause })
    }

    /// Runs `query` up to `reconcile_attempts` times, pausing longer each time (the order
    /// may still be on its way through the exchange). Found → the order; "does not
    /// exist" on the last attempt → [`ExchangeError::NotPlaced`]; anything else →
    /// [`ExchangeError::ExecutionUnknown`].
    pub(super) async fn settle<T, F, Fut>(&self, coid: &str, cause: &str, query: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.reconciliations.fetch_add(1, Ordering::Relaxed);
        let mut last: Option<ExchangeError> = None;
        for attempt in 0..self.cfg.reconcile_attempts.max(1) {
            tokio::time::sleep(self.cfg.reconcile_delay * (attempt + 1)).await;
            match query().await {
                Ok(found) => return Ok(found),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                Err(ExchangeError::NotPlaced {
                    client_order_id: coid.to_string(),
                    cause: cause.to_string(),
                })
            }
            other => Err(ExchangeError::ExecutionUnknown {
                client_order_id: coid.to_string(),
                cause: cause.to_string(),
                detail: other.map_or_else(|| "no query made".into(), |e| e.to_string()),
            }),
        }
    }
}

/// Why an order placement's outcome is unknown, or `None` if the error is definite.
pub(super) fn unknown_outcome(e: &ExchangeError) -> Option<String> {
    match e {
        ExchangeError::Api {
            kind: ApiErrorKind::Unknown,
            status,
            code,
            ..
        } => Some(format!("HTTP {status} code {code}")),
        ExchangeError::Api { status, code, .. } if *status >= 500 => {
            Some(format!("HTTP {status} code {code}"))
        }
        ExchangeError::Http { status, .. } if *status >= 500 || *status == 408 => {
            Some(format!("HTTP {status}"))
        }
        // Not connected means not sent; anything later (timeout, reset, body) may have
        // reached the matching engine.
        ExchangeError::Transport { source, .. } if !source.is_connect() && !source.is_builder() => {
            Some(format!("transport error: {source}"))
        }
        // A 2xx that does not parse: the exchange did accept something.
        ExchangeError::Malformed { detail, .. } => Some(format!("unreadable answer: {detail}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn unknown_outcomes_are_recognised() {
        let api = |status, code| ExchangeError::Api {
            endpoint: "x",
            status,
            code,
            kind: ApiErrorKind::from_code(code),
            msg: String::new(),
        };
        assert!(unknown_outcome(&api(503, -1000)).is_some());
        assert!(unknown_outcome(&api(400, -1000)).is_some());
        assert!(unknown_outcome(&api(502, -1)).is_some());
        assert!(unknown_outcome(&api(400, -2019)).is_none());
        assert!(unknown_outcome(&ExchangeError::Http {
            endpoint: "x",
            status: 504,
            body: String::new()
        })
        .is_some());
        assert!(unknown_outcome(&ExchangeError::Http {
            endpoint: "x",
            status: 404,
            body: String::new()
        })
        .is_none());
    }
}
