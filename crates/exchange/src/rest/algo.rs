//! Conditional (algo) orders: stops and take-profits resting on the exchange.
//!
//! Since Binance's 2025-12 migration, STOP / STOP_MARKET / TAKE_PROFIT(_MARKET) go
//! through `POST /fapi/v1/algoOrder` (`/fapi/v1/order` answers -4120). A protective stop
//! should be `reduce_only` with a quantity, not `close_position`: a second
//! closePosition stop in the same direction is refused with -4130
//! ([`crate::RejectReason::ConflictingStop`]), so a replacement placed before the old
//! stop is cancelled would fail. -2021 ([`crate::RejectReason::WouldTrigger`]) means the
//! price is already through the trigger; -4045 / -2025
//! ([`crate::RejectReason::MaxOpenOrders`]) that the account has too many (Binance: 200
//! conditional orders across all symbols).

use shmtrader_core::Side;

use super::endpoints::{ALGO_CANCEL, ALGO_CANCEL_ALL, ALGO_NEW, ALGO_OPEN, ALGO_QUERY};
use super::reconcile::unknown_outcome;
use super::transport::Form;
use super::RestClient;
use crate::error::{ExchangeError, Result};
use crate::wire::account::{AlgoCancelResponse, AlgoOrderResponse, ApiErrorBody};
use crate::wire::enums::WorkingType;
use shmtrader_core::instrument::{Instrument, Price, Qty};

/// Conditional order types (sent through the algo endpoint since Binance's late-2025
/// migration; `/fapi/v1/order` answers them with -4120).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgoType {
    /// Market order when the trigger is hit (protective stop).
    StopMarket,
    /// Market take-profit.
    TakeProfitMarket,
    /// Limit order when the trigger is hit.
    Stop,
    /// Limit take-profit.
    TakeProfit,
}

impl AlgoType {
    fn as_str(self) -> &'static str {
        match self {
            AlgoType::StopMarket => "STOP_MARKET",
            AlgoType::TakeProfitMarket => "TAKE_PROFIT_MARKET",
            AlgoType::Stop => "STOP",
            AlgoType::TakeProfit => "TAKE_PROFIT",
        }
    }
    fn is_limit(self) -> bool {
        matches!(self, AlgoType::Stop | AlgoType::TakeProfit)
    }
}

/// A conditional (algo) order.
#[derive(Debug, Clone, Copy)]
pub struct AlgoOrderRequest<'a> {
    /// Side of the order the trigger creates.
    pub side: Side,
    /// Type.
    pub algo_type: AlgoType,
    /// Trigger price (on the tick grid).
    pub trigger_price: Price,
    /// Limit price for `Stop` / `TakeProfit`.
    pub price: Option<Price>,
    /// Quantity; `None` with `close_position`.
    pub qty: Option<Qty>,
    /// Close the whole position when triggered (`closePosition=true`, no quantity). Only
    /// one per direction may exist (-4130); prefer `reduce_only` with a quantity.
    pub close_position: bool,
    /// `reduceOnly=true` (only with a quantity; ignored with `close_position`).
    pub reduce_only: bool,
    /// Trigger source.
    pub working_type: WorkingType,
    /// Refuse to trigger in a price spike beyond the exchange's protect threshold.
    pub price_protect: bool,
    /// Deterministic client id.
    pub client_algo_id: &'a str,
}

/// The form of a `POST /fapi/v1/algoOrder`, before `recvWindow`, `timestamp` and the
/// signature are appended. Parameter order: `algoType, symbol, side, type, triggerPrice,
/// workingType, clientAlgoId, [price, timeInForce], quantity | closePosition,
/// [reduceOnly], [priceProtect]`.
fn algo_order_form(rules: &Instrument, req: &AlgoOrderRequest<'_>) -> Result<Form> {
    if !crate::template::is_valid_client_order_id(req.client_algo_id) {
        return Err(ExchangeError::Invalid {
            what: "clientAlgoId",
            reason: format!("{:?} is not a valid client id", req.client_algo_id),
        });
    }
    rules.check_price(req.trigger_price)?;
    let mut f = Form::new()
        .with("algoType", "CONDITIONAL")
        .with("symbol", &rules.symbol)
        .with("side", req.side.as_str())
        .with("type", req.algo_type.as_str())
        .with("triggerPrice", &rules.fmt_price(req.trigger_price))
        .with("workingType", req.working_type.as_str())
        .with("clientAlgoId", req.client_algo_id);
    if req.algo_type.is_limit() {
        let p = req.price.ok_or(ExchangeError::Invalid {
            what: "algo order",
            reason: format!("{} needs a limit price", req.algo_type.as_str()),
        })?;
        rules.check_price(p)?;
        f = f
            .with("price", &rules.fmt_price(p))
            .with("timeInForce", "GTC");
    }
    match (req.close_position, req.qty) {
        (true, None) => f = f.with("closePosition", "true"),
        (false, Some(q)) => {
            rules.check_qty(q, !req.algo_type.is_limit())?;
            f = f.with("quantity", &rules.fmt_qty(q));
        }
        _ => {
            return Err(ExchangeError::Invalid {
                what: "algo order",
                reason: "give either a quantity or closePosition, not both or neither".into(),
            })
        }
    }
    if req.reduce_only && !req.close_position {
        f = f.with("reduceOnly", "true");
    }
    if req.price_protect {
        f = f.with("priceProtect", "true");
    }
    Ok(f)
}

impl RestClient {
    // ------------------------------------------------------------ conditional orders

    /// `POST /fapi/v1/algoOrder` with `algoType=CONDITIONAL` (stops and take-profits;
    /// weight 0, 1 on each order count). An unknown outcome (5xx, timeout) is settled by
    /// querying `clientAlgoId`, never by resending: a protective stop must not be
    /// doubled.
    pub async fn new_algo_order(
        &self,
        rules: &Instrument,
        req: &AlgoOrderRequest<'_>,
    ) -> Result<AlgoOrderResponse> {
        let f = algo_order_form(rules, req)?;
        match self.get_json(&ALGO_NEW, f).await {
            Err(e) => match unknown_outcome(&e) {
                // A protective stop that may or may not exist: find out, never resend.
                Some(cause) => {
                    tracing::warn!(symbol = %rules.symbol, id = req.client_algo_id, %cause, "algo order outcome unknown; reconciling by clientAlgoId");
                    self.settle(req.client_algo_id, &cause, || {
                        self.query_algo_order_by_client_id(req.client_algo_id)
                    })
                    .await
                }
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// `DELETE /fapi/v1/algoOrder` by algo id (weight 1).
    pub async fn cancel_algo_order(&self, algo_id: u64) -> Result<AlgoCancelResponse> {
        self.get_json(
            &ALGO_CANCEL,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `DELETE /fapi/v1/algoOrder?clientAlgoId=` (weight 1): cancels by the id the
    /// caller chose, so a stop can be cancelled without having kept its algo id.
    pub async fn cancel_algo_order_by_client_id(
        &self,
        client_algo_id: &str,
    ) -> Result<AlgoCancelResponse> {
        self.get_json(
            &ALGO_CANCEL,
            Form::new().with("clientAlgoId", client_algo_id),
        )
        .await
    }

    /// `GET /fapi/v1/algoOrder` by algo id (weight 1).
    pub async fn query_algo_order(&self, algo_id: u64) -> Result<AlgoOrderResponse> {
        self.get_json(
            &ALGO_QUERY,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `GET /fapi/v1/algoOrder?clientAlgoId=` (weight 1). An unknown id is an
    /// [`crate::ApiErrorKind::NotFound`] error.
    pub async fn query_algo_order_by_client_id(
        &self,
        client_algo_id: &str,
    ) -> Result<AlgoOrderResponse> {
        self.get_json(
            &ALGO_QUERY,
            Form::new().with("clientAlgoId", client_algo_id),
        )
        .await
    }

    /// `GET /fapi/v1/openAlgoOrders` (weight 1 with a symbol, 40 without).
    pub async fn open_algo_orders(&self, symbol: Option<&str>) -> Result<Vec<AlgoOrderResponse>> {
        self.get_json(&ALGO_OPEN, Form::new().opt("symbol", symbol))
            .await
    }

    /// `DELETE /fapi/v1/algoOpenOrders?symbol=` (weight 1): cancels every open algo order
    /// of the symbol. Binance answers `{"code":"200","msg":"The operation of cancel all
    /// open order is done."}` (or a number code).
    pub async fn cancel_all_algo_orders(&self, symbol: &str) -> Result<ApiErrorBody> {
        self.get_json(&ALGO_CANCEL_ALL, Form::new().with("symbol", symbol))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::account::SymbolFilter;

    fn btc() -> Instrument {
        let f = |json: &str| serde_json::from_str::<SymbolFilter>(json).unwrap();
        crate::template::instrument_from_filters(
            "BTCUSDT",
            &[
                f(r#"{"filterType":"PRICE_FILTER","minPrice":"0.10","maxPrice":"1000000","tickSize":"0.10"}"#),
                f(r#"{"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"}"#),
                f(r#"{"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"120","stepSize":"0.001"}"#),
                f(r#"{"filterType":"MIN_NOTIONAL","notional":"5"}"#),
            ],
        )
        .unwrap()
    }

    fn stop<'a>(r: &Instrument, id: &'a str) -> AlgoOrderRequest<'a> {
        AlgoOrderRequest {
            side: Side::Sell,
            algo_type: AlgoType::StopMarket,
            trigger_price: r.parse_price("29950.0").unwrap(),
            price: None,
            qty: Some(r.parse_qty("0.014").unwrap()),
            close_position: false,
            reduce_only: true,
            working_type: WorkingType::MarkPrice,
            price_protect: true,
            client_algo_id: id,
        }
    }

    /// The exact form of a protective stop: reduceOnly with a quantity (not
    /// closePosition), mark-price trigger, price protection, the caller's id; the
    /// signed request appends `&recvWindow=..&timestamp=..&signature=..` to this.
    #[test]
    fn protective_stop_form_is_pinned_byte_for_byte() {
        let r = btc();
        let f = algo_order_form(&r, &stop(&r, "stop-7-1")).unwrap();
        assert_eq!(
            f.0,
            "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=29950.0\
             &workingType=MARK_PRICE&clientAlgoId=stop-7-1&quantity=0.014&reduceOnly=true\
             &priceProtect=true"
        );
        // A take-profit market on the last price, without protection; an id with the
        // allowed punctuation is percent-encoded where the form needs it.
        let tp = AlgoOrderRequest {
            side: Side::Buy,
            algo_type: AlgoType::TakeProfitMarket,
            working_type: WorkingType::ContractPrice,
            price_protect: false,
            ..stop(&r, "tp:1/a.b")
        };
        assert_eq!(
            algo_order_form(&r, &tp).unwrap().0,
            "algoType=CONDITIONAL&symbol=BTCUSDT&side=BUY&type=TAKE_PROFIT_MARKET\
             &triggerPrice=29950.0&workingType=CONTRACT_PRICE&clientAlgoId=tp%3A1%2Fa.b\
             &quantity=0.014&reduceOnly=true"
        );
    }

    #[test]
    fn invalid_stop_requests_are_refused_before_sending() {
        let r = btc();
        let both = AlgoOrderRequest {
            close_position: true,
            ..stop(&r, "x")
        };
        let neither = AlgoOrderRequest {
            qty: None,
            ..stop(&r, "x")
        };
        let bad_id = stop(&r, "has space");
        let limit_without_price = AlgoOrderRequest {
            algo_type: AlgoType::Stop,
            ..stop(&r, "x")
        };
        for req in [both, neither, bad_id, limit_without_price] {
            assert!(
                matches!(
                    algo_order_form(&r, &req),
                    Err(ExchangeError::Invalid { .. })
                ),
                "{req:?}"
            );
        }
        // A trigger below the PRICE_FILTER minimum is refused locally.
        let too_low = AlgoOrderRequest {
            trigger_price: crate::template::Price(0),
            ..stop(&r, "x")
        };
        assert!(algo_order_form(&r, &too_low).is_err());
        // closePosition form carries no quantity and no reduceOnly.
        let close = AlgoOrderRequest {
            close_position: true,
            qty: None,
            ..stop(&r, "c1")
        };
        let f = algo_order_form(&r, &close).unwrap().0;
        assert!(
            f.ends_with("&clientAlgoId=c1&closePosition=true&priceProtect=true"),
            "{f}"
        );
    }
}
