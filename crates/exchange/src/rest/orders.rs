//! Orders: placement from templates (single and batch), cancel, query, open orders, and
//! the account's fills (`userTrades`).

use std::sync::atomic::Ordering;

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;

use super::endpoints::{
    BATCH_ORDERS, CANCEL_ALL, OPEN_ORDERS, ORDER_CANCEL, ORDER_NEW, ORDER_QUERY, USER_TRADES,
};
use super::reconcile::{unknown_outcome, Placement};
use super::transport::{decode, Form};
use super::RestClient;
use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::template::{OrderKind, OrderRequest, RespType, SymbolTemplate};
use crate::wire::account::{ApiErrorBody, BatchItem, OrderResponse, UserTrade};

/// Which order a cancel or query refers to.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef<'a> {
    /// Exchange order id.
    Id(u64),
    /// Client order id.
    Client(&'a str),
}

/// Filters of [`RestClient::user_trades`]. All optional; `Default` asks for the most
/// recent trades (Binance: the last 7 days, 500 rows).
///
/// Binance's rules, checked before sending: `from_id` cannot go with a time range; the
/// range may span at most 7 days; `limit` is 1..=1000.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserTradesQuery {
    /// Only fills of this order.
    pub order_id: Option<u64>,
    /// Trades with id ≥ this (paging forward).
    pub from_id: Option<u64>,
    /// From this time (ms).
    pub start_time: Option<u64>,
    /// Up to this time (ms).
    pub end_time: Option<u64>,
    /// Rows (default 500, max 1000).
    pub limit: Option<u16>,
}

/// Longest time range of one userTrades query.
const USER_TRADES_MAX_RANGE_MS: u64 = 7 * 24 * 3600 * 1000;

impl UserTradesQuery {
    fn form(&self, symbol: &str) -> Result<Form> {
        let bad = |reason: String| ExchangeError::Invalid {
            what: "userTrades query",
            reason,
        };
        if self.from_id.is_some() && (self.start_time.is_some() || self.end_time.is_some()) {
            return Err(bad("fromId cannot be sent with startTime or endTime".into()));
        }
        if let (Some(s), Some(e)) = (self.start_time, self.end_time) {
            if s > e {
                return Err(bad(format!("startTime {s} is after endTime {e}")));
            }
            if e - s > USER_TRADES_MAX_RANGE_MS {
                return Err(bad(format!(
                    "the range {s}..{e} is longer than 7 days; split it"
                )));
            }
        }
        if let Some(l) = self.limit {
            if !(1..=1000).contains(&l) {
                return Err(bad(format!("limit {l} is outside 1..=1000")));
            }
        }
        let n = |v: Option<u64>| v.map(|v| v.to_string());
        Ok(Form::new()
            .with("symbol", symbol)
            .opt("orderId", n(self.order_id).as_deref())
            .opt("startTime", n(self.start_time).as_deref())
            .opt("endTime", n(self.end_time).as_deref())
            .opt("fromId", n(self.from_id).as_deref())
            .opt("limit", self.limit.map(|l| l.to_string()).as_deref()))
    }
}

impl RestClient {
    // ------------------------------------------------------------ orders

    /// `POST /fapi/v1/order` from a template: checks the filters, signs in the reused
    /// buffer and sends. On an unknown outcome the order is looked up by its client id
    /// (see the module docs); on -1021 the time is resynced and the order re-signed once.
    pub async fn new_order(
        &self,
        tpl: &SymbolTemplate,
        req: &OrderRequest<'_>,
    ) -> Result<Placement> {
        let mut resynced = false;
        loop {
            self.check_gate(ORDER_NEW.name)?;
            let body = self.encode_order(tpl, req)?;
            let rb = self
                .http
                .request(Method::POST, self.order_url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            let rb = match &self.api_key {
                Some(k) => rb.header("X-MBX-APIKEY", k.clone()),
                None => rb,
            };
            let res = self
                .execute(ORDER_NEW.name, rb)
                .await
                .and_then(|b| decode::<OrderResponse>(ORDER_NEW.name, &b));
            match res {
                Ok(o) => return Ok(Placement::Accepted(o)),
                Err(e) if !resynced && e.api_kind() == Some(ApiErrorKind::Timestamp) => {
                    tracing::warn!(
                        coid = req.client_order_id,
                        "order refused with -1021; resyncing time and re-signing once"
                    );
                    resynced = true;
                    self.sync_time().await?;
                    self.timestamp_retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => match unknown_outcome(&e) {
                    Some(cause) => {
                        return self
                            .reconcile(&tpl.rules().symbol, req.client_order_id, cause)
                            .await
                    }
                    None => return Err(e),
                },
            }
        }
    }

    fn encode_order(&self, tpl: &SymbolTemplate, req: &OrderRequest<'_>) -> Result<Vec<u8>> {
        let ts = self.timestamp_ms();
        let mut guard = self.encoder.lock().map_err(|_| ExchangeError::Invalid {
            what: "order encoder",
            reason: "lock poisoned by a panic elsewhere".into(),
        })?;
        let enc = guard.as_mut().ok_or(ExchangeError::Invalid {
            what: "credentials",
            reason: "placing orders needs an API key and secret; this client has none".into(),
        })?;
        // The copy is reqwest's: it needs an owned body.
        Ok(enc.encode(tpl, req, ts)?.to_vec())
    }

    /// `POST /fapi/v1/batchOrders`: up to 5 orders in one request. Each item's result is
    /// returned in request order. An unknown outcome of the whole batch is reconciled
    /// order by order.
    pub async fn new_orders_batch(
        &self,
        orders: &[(&SymbolTemplate, OrderRequest<'_>)],
    ) -> Result<Vec<Result<Placement>>> {
        if orders.is_empty() || orders.len() > 5 {
            return Err(ExchangeError::Invalid {
                what: "batch",
                reason: format!("{} orders; Binance takes 1 to 5", orders.len()),
            });
        }
        let mut items = Vec::with_capacity(orders.len());
        for (tpl, req) in orders {
            if !crate::template::is_valid_client_order_id(req.client_order_id) {
                return Err(ExchangeError::Invalid {
                    what: "newClientOrderId",
                    reason: format!("{:?} is not a valid client order id", req.client_order_id),
                });
            }
            let r = tpl.rules();
            r.check(
                req.qty,
                req.limit_price(),
                req.reference_price,
                req.reduce_only,
            )?;
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: String| {
                o.insert(k.to_string(), serde_json::Value::String(v));
            };
            put("symbol", r.symbol.clone());
            put("side", req.side.as_str().into());
            put("type", req.kind.type_str().into());
            if let OrderKind::Limit(tif) = req.kind {
                put("timeInForce", tif.as_str().into());
                put("price", r.fmt_price(req.price));
            }
            put("quantity", r.fmt_qty(req.qty));
            if req.reduce_only {
                put("reduceOnly", "true".into());
            }
            put("newClientOrderId", req.client_order_id.into());
            put(
                "newOrderRespType",
                match self.cfg.resp_type {
                    RespType::Ack => "ACK",
                    RespType::Result => "RESULT",
                }
                .into(),
            );
            items.push(serde_json::Value::Object(o));
        }
        let json = serde_json::Value::Array(items).to_string();
        let res = self
            .request(&BATCH_ORDERS, Form::new().with("batchOrders", &json))
            .await
            .and_then(|b| decode::<Vec<BatchItem>>(BATCH_ORDERS.name, &b));
        match res {
            Ok(list) => {
                if list.len() != orders.len() {
                    return Err(ExchangeError::Malformed {
                        what: "batchOrders answer",
                        detail: format!("{} items for {} orders", list.len(), orders.len()),
                    });
                }
                Ok(list
                    .into_iter()
                    .map(|item| match item {
                        BatchItem::Order(o) => Ok(Placement::Accepted(o)),
                        BatchItem::Error(e) => Err(ExchangeError::Api {
                            endpoint: BATCH_ORDERS.name,
                            status: 200,
                            code: e.code,
                            kind: ApiErrorKind::from_code(e.code),
                            msg: e.msg,
                        }),
                    })
                    .collect())
            }
            Err(e) => match unknown_outcome(&e) {
                Some(cause) => {
                    let mut out = Vec::with_capacity(orders.len());
                    for (tpl, req) in orders {
                        out.push(
                            self.reconcile(&tpl.rules().symbol, req.client_order_id, cause.clone())
                                .await,
                        );
                    }
                    Ok(out)
                }
                None => Err(e),
            },
        }
    }

    fn order_ref(f: Form, r: OrderRef<'_>) -> Form {
        match r {
            OrderRef::Id(id) => f.with("orderId", &id.to_string()),
            OrderRef::Client(c) => f.with("origClientOrderId", c),
        }
    }

    /// `DELETE /fapi/v1/order`.
    pub async fn cancel_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_CANCEL, f).await
    }

    /// `GET /fapi/v1/order`.
    pub async fn query_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_QUERY, f).await
    }

    /// `GET /fapi/v1/openOrders` (weight 1 with a symbol, 40 without).
    pub async fn open_orders(&self, symbol: Option<&str>) -> Result<Vec<OrderResponse>> {
        self.get_json(&OPEN_ORDERS, Form::new().opt("symbol", symbol))
            .await
    }

    /// `DELETE /fapi/v1/allOpenOrders`.
    pub async fn cancel_all_open_orders(&self, symbol: &str) -> Result<ApiErrorBody> {
        self.get_json(&CANCEL_ALL, Form::new().with("symbol", symbol))
            .await
    }

    /// `GET /fapi/v1/userTrades` (weight 5): the account's fills of `symbol`, oldest
    /// first. What the executor reads to book fills (and fees) it missed while the user
    /// stream was down. Each row's [`UserTrade::fee`] is the fee paid, positive.
    pub async fn user_trades(&self, symbol: &str, q: UserTradesQuery) -> Result<Vec<UserTrade>> {
        let f = q.form(symbol)?;
        self.get_json(&USER_TRADES, f).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_trades_query_form_order_and_binance_rules() {
        let q = UserTradesQuery {
            order_id: Some(25_851_813),
            start_time: Some(1_569_514_000_000),
            end_time: Some(1_569_515_000_000),
            limit: Some(1000),
            ..Default::default()
        };
        assert_eq!(
            q.form("BTCUSDT").unwrap().0,
            "symbol=BTCUSDT&orderId=25851813&startTime=1569514000000&endTime=1569515000000&limit=1000"
        );
        assert_eq!(
            UserTradesQuery::default().form("ETHUSDT").unwrap().0,
            "symbol=ETHUSDT"
        );
        let paging = UserTradesQuery {
            from_id: Some(698_760),
            ..Default::default()
        };
        assert_eq!(paging.form("X").unwrap().0, "symbol=X&fromId=698760");
        let refused = [
            UserTradesQuery {
                from_id: Some(1),
                start_time: Some(1),
                ..Default::default()
            },
            UserTradesQuery {
                start_time: Some(10),
                end_time: Some(9),
                ..Default::default()
            },
            UserTradesQuery {
                start_time: Some(0),
                end_time: Some(USER_TRADES_MAX_RANGE_MS + 1),
                ..Default::default()
            },
            UserTradesQuery {
                limit: Some(0),
                ..Default::default()
            },
            UserTradesQuery {
                limit: Some(1001),
                ..Default::default()
            },
        ];
        for q in refused {
            assert!(
                matches!(q.form("X"), Err(ExchangeError::Invalid { .. })),
                "{q:?}"
            );
        }
    }
}
