//! Conditional (algo) orders: the REST answers and the `ALGO_UPDATE` stream event.
//!
//! Protective stops rest on the exchange as algo orders. Their lifecycle is reported by
//! `ALGO_UPDATE` ([`AlgoStatus`]); once triggered, the order they created in the matching
//! engine (`ai` / `actualOrderId`) reports its fills as ordinary `ORDER_TRADE_UPDATE`.

use serde::{Deserialize, Serialize};
use shmtrader_core::Side;

use super::{opt_order_id, str_or_num};
use crate::wire::decimal::decimal_accessors;
use crate::wire::enums::{lenient_working_type, side_serde, AlgoStatus, OrderType, WorkingType};

/// `POST /fapi/v1/algoOrder` / `GET` answer (a CONDITIONAL order).
///
/// ```json
/// {"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlgoOrderResponse {
    /// Exchange algo id.
    pub algo_id: u64,
    /// Client algo id.
    #[serde(default)]
    pub client_algo_id: String,
    /// `CONDITIONAL`.
    #[serde(default)]
    pub algo_type: String,
    /// STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT, TRAILING_STOP_MARKET.
    #[serde(default)]
    pub order_type: OrderType,
    /// Symbol.
    pub symbol: String,
    /// Side of the order the trigger creates.
    #[serde(with = "side_serde")]
    pub side: Side,
    /// BOTH / LONG / SHORT.
    #[serde(default)]
    pub position_side: String,
    /// Quantity ("" or "0" with closePosition).
    #[serde(default)]
    pub quantity: String,
    /// Lifecycle status.
    #[serde(default)]
    pub algo_status: AlgoStatus,
    /// Trigger price.
    #[serde(default)]
    pub trigger_price: String,
    /// Limit price for STOP / TAKE_PROFIT.
    #[serde(default)]
    pub price: String,
    /// Trigger source; `None` if absent or unknown.
    #[serde(default, deserialize_with = "lenient_working_type")]
    pub working_type: Option<WorkingType>,
    /// closePosition flag.
    #[serde(default)]
    pub close_position: bool,
    /// reduceOnly flag.
    #[serde(default)]
    pub reduce_only: bool,
    /// priceProtect flag.
    #[serde(default)]
    pub price_protect: bool,
    /// Creation time.
    #[serde(default)]
    pub create_time: u64,
    /// Last update.
    #[serde(default)]
    pub update_time: u64,
    /// When it triggered (0 before).
    #[serde(default)]
    pub trigger_time: u64,
    /// The order it became in the matching engine once triggered (`None` before; the
    /// wire sends `""` then, a string or a number after).
    #[serde(default, deserialize_with = "opt_order_id")]
    pub actual_order_id: Option<u64>,
}

decimal_accessors!(AlgoOrderResponse, "algoOrder" {
    /// `quantity`.
    order_qty => quantity, "quantity";
    /// `triggerPrice`.
    trigger => trigger_price, "triggerPrice";
    /// `price` (0 for the market variants).
    limit_price => price, "price";
});

/// `DELETE /fapi/v1/algoOrder` answer.
///
/// ```json
/// {"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlgoCancelResponse {
    /// Algo id.
    pub algo_id: u64,
    /// Client algo id.
    #[serde(default)]
    pub client_algo_id: String,
    /// "200" (a string here, a number elsewhere).
    #[serde(default, deserialize_with = "str_or_num")]
    pub code: String,
    /// Text.
    #[serde(default)]
    pub msg: String,
}

/// `ALGO_UPDATE` user-stream event: a conditional order changed state.
///
/// Binance's example (developers.binance.com "Event: Algo Order Update"):
/// ```json
/// {"e":"ALGO_UPDATE","T":1750515742297,"E":1750515742303,"o":{"caid":"Q5xaq5EGKgXXa0fD7fs0Ip","aid":2148719,"at":"CONDITIONAL","o":"TAKE_PROFIT","s":"BNBUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.01","X":"CANCELED","ai":"","ap":"0.00000","aq":"0.00000","act":"0","tp":"750","p":"750","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE","cp":false,"pP":false,"R":false,"tt":0,"gtd":0,"rm":"Reduce Only reject"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgoUpdate {
    /// `E` event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `T` transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// `o` the algo order.
    #[serde(rename = "o")]
    pub algo: AlgoUpdateOrder,
}

/// The `o` object of [`AlgoUpdate`].
///
/// A stop that triggered and became order 8886774 (shape as Binance's example; values
/// illustrative):
/// ```json
/// {"caid":"stop-7-1","aid":2148720,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.014","X":"TRIGGERED","ai":"8886774","ap":"0.00000","aq":"0.00000","act":"MARKET","tp":"29950.00","p":"0","V":"EXPIRE_MAKER","wt":"MARK_PRICE","pm":"NONE","cp":false,"pP":true,"R":true,"tt":1750515800123,"gtd":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgoUpdateOrder {
    /// `caid` client algo id.
    #[serde(rename = "caid", default)]
    pub client_algo_id: String,
    /// `aid` algo id.
    #[serde(rename = "aid")]
    pub algo_id: u64,
    /// `at` algo type (`CONDITIONAL`).
    #[serde(rename = "at", default)]
    pub algo_type: String,
    /// `o` order type.
    #[serde(rename = "o", default)]
    pub order_type: OrderType,
    /// `s` symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `S` side of the order the trigger creates.
    #[serde(rename = "S", with = "side_serde")]
    pub side: Side,
    /// `ps` position side.
    #[serde(rename = "ps", default)]
    pub position_side: String,
    /// `f` time in force.
    #[serde(rename = "f", default)]
    pub time_in_force: String,
    /// `q` quantity.
    #[serde(rename = "q", default)]
    pub quantity: String,
    /// `X` algo status.
    #[serde(rename = "X")]
    pub status: AlgoStatus,
    /// `ai` id of the order in the matching engine; `None` until triggered (`""`).
    #[serde(rename = "ai", default, deserialize_with = "opt_order_id")]
    pub actual_order_id: Option<u64>,
    /// `ap` average fill price of the triggered order.
    #[serde(rename = "ap", default)]
    pub avg_price: String,
    /// `aq` executed quantity of the triggered order.
    #[serde(rename = "aq", default)]
    pub executed_qty: String,
    /// `act` type of the triggered order (`"0"` before triggering).
    #[serde(rename = "act", default, deserialize_with = "str_or_num")]
    pub actual_order_type: String,
    /// `tp` trigger price.
    #[serde(rename = "tp", default)]
    pub trigger_price: String,
    /// `p` limit price (0 for the market variants).
    #[serde(rename = "p", default)]
    pub price: String,
    /// `V` self-trade prevention mode.
    #[serde(rename = "V", default)]
    pub stp_mode: String,
    /// `wt` trigger price source; `None` if absent or unknown.
    #[serde(rename = "wt", default, deserialize_with = "lenient_working_type")]
    pub working_type: Option<WorkingType>,
    /// `pm` price match mode.
    #[serde(rename = "pm", default)]
    pub price_match: String,
    /// `cp` closePosition.
    #[serde(rename = "cp", default)]
    pub close_position: bool,
    /// `pP` price protection.
    #[serde(rename = "pP", default)]
    pub price_protect: bool,
    /// `R` reduceOnly.
    #[serde(rename = "R", default)]
    pub reduce_only: bool,
    /// `tt` trigger time (0 before triggering).
    #[serde(rename = "tt", default)]
    pub trigger_time: u64,
    /// `gtd` good-till date (0 if none).
    #[serde(rename = "gtd", default)]
    pub good_till_date: u64,
    /// `rm` reason of a rejection / cancellation, when Binance gives one.
    #[serde(rename = "rm", default)]
    pub reason: Option<String>,
}

decimal_accessors!(AlgoUpdateOrder, "ALGO_UPDATE" {
    /// `q`: quantity.
    order_qty => quantity, "q";
    /// `tp`: trigger price.
    trigger => trigger_price, "tp";
    /// `p`: limit price (0 for the market variants).
    limit_price => price, "p";
    /// `ap`: average fill price of the triggered order.
    avg_fill_price => avg_price, "ap";
    /// `aq`: quantity the triggered order has filled.
    cum_filled_qty => executed_qty, "aq";
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::account::{ApiErrorBody, UserEvent};

    #[test]
    fn rest_algo_order_example_parses_typed_status_and_no_actual_order() {
        let a: AlgoOrderResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}"#).unwrap();
        assert_eq!(a.algo_id, 2_146_760);
        assert_eq!(a.algo_status, AlgoStatus::New);
        assert_eq!(a.order_type, OrderType::StopMarket);
        assert_eq!(a.side, Side::Sell);
        assert_eq!(a.trigger().unwrap(), 750.0);
        assert_eq!(a.order_qty().unwrap(), 0.01);
        assert_eq!(a.working_type, Some(WorkingType::ContractPrice));
        assert_eq!(a.actual_order_id, None);
        // A triggered one carries the matching-engine order, as a string or a number.
        for ai in [r#""8886774""#, "8886774"] {
            let text = format!(
                r#"{{"algoId":1,"symbol":"X","side":"BUY","algoStatus":"TRIGGERED","actualOrderId":{ai}}}"#
            );
            let t: AlgoOrderResponse = serde_json::from_str(&text).unwrap();
            assert_eq!(t.actual_order_id, Some(8_886_774));
        }
    }

    #[test]
    fn algo_cancel_example() {
        let a: AlgoCancelResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}"#).unwrap();
        assert_eq!(a.code, "200");
        let b: ApiErrorBody = serde_json::from_str(r#"{"code":"200","msg":"success"}"#).unwrap();
        assert_eq!(b.code, 200);
    }

    fn algo(text: &str) -> AlgoUpdate {
        match UserEvent::parse(text).unwrap() {
            UserEvent::AlgoUpdate(a) => a,
            other => panic!("wrong variant {other:?}"),
        }
    }

    /// Binance's documented example, byte for byte.
    #[test]
    fn documented_canceled_algo_update_parses_every_field() {
        let a = algo(
            r#"{"e":"ALGO_UPDATE","T":1750515742297,"E":1750515742303,"o":{"caid":"Q5xaq5EGKgXXa0fD7fs0Ip","aid":2148719,"at":"CONDITIONAL","o":"TAKE_PROFIT","s":"BNBUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.01","X":"CANCELED","ai":"","ap":"0.00000","aq":"0.00000","act":"0","tp":"750","p":"750","V":"EXPIRE_MAKER","wt":"CONTRACT_PRICE","pm":"NONE","cp":false,"pP":false,"R":false,"tt":0,"gtd":0,"rm":"Reduce Only reject"}}"#,
        );
        assert_eq!(
            (a.event_time, a.transaction_time),
            (1_750_515_742_303, 1_750_515_742_297)
        );
        let o = &a.algo;
        assert_eq!(o.client_algo_id, "Q5xaq5EGKgXXa0fD7fs0Ip");
        assert_eq!(o.algo_id, 2_148_719);
        assert_eq!(o.algo_type, "CONDITIONAL");
        assert_eq!(o.order_type, OrderType::TakeProfit);
        assert_eq!(o.symbol, "BNBUSDT");
        assert_eq!(o.side, Side::Sell);
        assert_eq!(o.position_side, "BOTH");
        assert_eq!(o.time_in_force, "GTC");
        assert_eq!(o.order_qty().unwrap(), 0.01);
        assert_eq!(o.status, AlgoStatus::Canceled);
        assert!(o.status.is_final());
        assert_eq!(o.actual_order_id, None);
        assert_eq!(o.avg_fill_price().unwrap(), 0.0);
        assert_eq!(o.cum_filled_qty().unwrap(), 0.0);
        assert_eq!(o.actual_order_type, "0");
        assert_eq!(o.trigger().unwrap(), 750.0);
        assert_eq!(o.limit_price().unwrap(), 750.0);
        assert_eq!(o.working_type, Some(WorkingType::ContractPrice));
        assert!(!o.close_position && !o.price_protect && !o.reduce_only);
        assert_eq!((o.trigger_time, o.good_till_date), (0, 0));
        assert_eq!(o.reason.as_deref(), Some("Reduce Only reject"));
    }

    #[test]
    fn triggered_algo_update_carries_the_matching_engine_order_id() {
        let a = algo(
            r#"{"e":"ALGO_UPDATE","T":1750515800120,"E":1750515800125,"o":{"caid":"stop-7-1","aid":2148720,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.014","X":"TRIGGERED","ai":"8886774","ap":"0.00000","aq":"0.00000","act":"MARKET","tp":"29950.00","p":"0","V":"EXPIRE_MAKER","wt":"MARK_PRICE","pm":"NONE","cp":false,"pP":true,"R":true,"tt":1750515800123,"gtd":0}}"#,
        );
        let o = &a.algo;
        assert_eq!(o.status, AlgoStatus::Triggered);
        assert!(!o.status.is_final() && !o.status.is_resting());
        assert_eq!(o.actual_order_id, Some(8_886_774));
        assert_eq!(o.order_type, OrderType::StopMarket);
        assert_eq!(o.working_type, Some(WorkingType::MarkPrice));
        assert!(o.reduce_only && o.price_protect);
        assert_eq!(o.trigger_time, 1_750_515_800_123);
        // `rm` absent.
        assert_eq!(o.reason, None);
    }

    #[test]
    fn algo_update_tolerates_unknown_fields_missing_optionals_and_new_statuses() {
        let a = algo(
            r#"{"e":"ALGO_UPDATE","E":1,"o":{"aid":5,"s":"ETHUSDT","S":"BUY","X":"PAUSED","newField":[1]}}"#,
        );
        assert_eq!(a.algo.status, AlgoStatus::Other("PAUSED".into()));
        assert_eq!(a.algo.actual_order_id, None);
        assert_eq!(a.algo.working_type, None);
        assert!(a.algo.order_qty().is_err(), "an absent quantity is not 0");
        // A garbage id is malformed, not guessed.
        assert!(UserEvent::parse(
            r#"{"e":"ALGO_UPDATE","E":1,"o":{"aid":5,"s":"ETHUSDT","S":"BUY","X":"NEW","ai":"12x"}}"#
        )
        .is_err());
    }
}
