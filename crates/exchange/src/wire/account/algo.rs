//! Conditional (algo) orders as REST returns them.

use serde::{Deserialize, Serialize};

use super::str_or_num;

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
    pub order_type: String,
    /// Symbol.
    pub symbol: String,
    /// BUY / SELL.
    pub side: String,
    /// Quantity ("" or "0" with closePosition).
    #[serde(default)]
    pub quantity: String,
    /// NEW, CANCELED, TRIGGERED, FINISHED, REJECTED, EXPIRED.
    #[serde(default)]
    pub algo_status: String,
    /// Trigger price.
    #[serde(default)]
    pub trigger_price: String,
    /// Limit price for STOP / TAKE_PROFIT.
    #[serde(default)]
    pub price: String,
    /// MARK_PRICE / CONTRACT_PRICE.
    #[serde(default)]
    pub working_type: String,
    /// closePosition flag.
    #[serde(default)]
    pub close_position: bool,
    /// reduceOnly flag.
    #[serde(default)]
    pub reduce_only: bool,
    /// Creation time.
    #[serde(default)]
    pub create_time: u64,
    /// Last update.
    #[serde(default)]
    pub update_time: u64,
    /// The order it became once triggered ("" before); text because its JSON type varies.
    #[serde(default, deserialize_with = "str_or_num")]
    pub actual_order_id: String,
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::account::ApiErrorBody;

    #[test]
    fn algo_order_example() {
        let a: AlgoOrderResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}"#).unwrap();
        assert_eq!(a.algo_id, 2_146_760);
        assert_eq!(a.algo_status, "NEW");
        assert_eq!(a.trigger_price, "750.000");
        assert_eq!(a.actual_order_id, "");
    }
    #[test]
    fn algo_cancel_example() {
        let a: AlgoCancelResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}"#).unwrap();
        assert_eq!(a.code, "200");
        let b: ApiErrorBody = serde_json::from_str(r#"{"code":"200","msg":"success"}"#).unwrap();
        assert_eq!(b.code, 200);
    }
}
