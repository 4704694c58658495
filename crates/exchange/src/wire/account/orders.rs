//! Orders as REST returns them, batch items, and Binance's error body.

use serde::{Deserialize, Deserializer, Serialize};

use super::str_or_num;

/// Order status (`X` in user events, `status` in REST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted, resting, nothing filled.
    New,
    /// Partly filled, rest resting.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled.
    Canceled,
    /// Expired (IOC remainder, market remainder, reduce-only with nothing to reduce).
    Expired,
    /// Expired by self-trade prevention.
    ExpiredInMatch,
    /// A status this code does not know.
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// True while the order can still fill.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// An order as REST returns it: `POST /fapi/v1/order` (ACK or RESULT), cancel, query,
/// openOrders, batch items.
///
/// RESULT (a filled market order):
/// ```json
/// {"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1784621536001}
/// ```
/// ACK (19-digit id; nothing filled yet as far as the answer knows):
/// ```json
/// {"orderId":8389765519876543210,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"paper-1a-0","price":"64000.10","avgPrice":"0.00","origQty":"0.010","executedQty":"0","cumQty":"0","cumQuote":"0","timeInForce":"GTX","type":"LIMIT","reduceOnly":true,"side":"SELL","positionSide":"BOTH","updateTime":1784621536001}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderResponse {
    /// Exchange order id (may exceed 2^53).
    pub order_id: u64,
    /// Symbol.
    pub symbol: String,
    /// Status.
    pub status: OrderStatus,
    /// Client order id.
    pub client_order_id: String,
    /// Limit price ("0" for market).
    #[serde(default)]
    pub price: String,
    /// Average fill price.
    #[serde(default)]
    pub avg_price: String,
    /// Ordered quantity.
    #[serde(default)]
    pub orig_qty: String,
    /// Filled quantity.
    #[serde(default)]
    pub executed_qty: String,
    /// Filled quantity (order endpoints only).
    #[serde(default)]
    pub cum_qty: Option<String>,
    /// Filled notional.
    #[serde(default)]
    pub cum_quote: String,
    /// Time in force.
    #[serde(default)]
    pub time_in_force: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub order_type: String,
    /// Original type (a triggered STOP_MARKET shows here).
    #[serde(default)]
    pub orig_type: String,
    /// reduceOnly flag.
    #[serde(default)]
    pub reduce_only: bool,
    /// closePosition flag.
    #[serde(default)]
    pub close_position: bool,
    /// BUY / SELL.
    pub side: String,
    /// BOTH / LONG / SHORT.
    #[serde(default)]
    pub position_side: String,
    /// Stop price of the conditional it came from.
    #[serde(default)]
    pub stop_price: String,
    /// Creation time (query endpoints only).
    #[serde(default)]
    pub time: Option<u64>,
    /// Last update time.
    #[serde(default)]
    pub update_time: u64,
}

/// Binance's error body, also the shape of "success" answers such as marginType's
/// `{"code":200,"msg":"success"}`.
///
/// ```json
/// {"code":-2019,"msg":"Margin is insufficient."}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Negative for errors, 200 for the "success" answers.
    #[serde(deserialize_with = "code_de")]
    pub code: i64,
    /// Text.
    #[serde(default)]
    pub msg: String,
}

fn code_de<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = str_or_num(d)?;
    s.parse::<i64>().map_err(serde::de::Error::custom)
}

/// One item of a `POST /fapi/v1/batchOrders` answer: the order or, in its place, the
/// error that rejected it.
///
/// ```json
/// [{"orderId":42,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"a-1-0","side":"BUY"},{"code":-2022,"msg":"ReduceOnly Order is rejected."}]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // at most 5 per batch; boxing would add allocations
pub enum BatchItem {
    /// Placed.
    Order(OrderResponse),
    /// Rejected.
    Error(ApiErrorBody),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_response_result_example() {
        let o: OrderResponse = serde_json::from_str(r#"{"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1784621536001}"#).unwrap();
        assert_eq!(o.order_id, 284_719_273);
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.executed_qty, "0.002");
        assert_eq!(o.cum_qty.as_deref(), Some("0.002"));
        assert_eq!(o.order_type, "MARKET");
        assert_eq!(o.update_time, 1_784_621_536_001);
    }
    #[test]
    fn order_response_ack_example_keeps_a_19_digit_id_exact() {
        let o: OrderResponse = serde_json::from_str(r#"{"orderId":8389765519876543210,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"paper-1a-0","price":"64000.10","avgPrice":"0.00","origQty":"0.010","executedQty":"0","cumQty":"0","cumQuote":"0","timeInForce":"GTX","type":"LIMIT","reduceOnly":true,"side":"SELL","positionSide":"BOTH","updateTime":1784621536001}"#).unwrap();
        assert_eq!(o.order_id, 8_389_765_519_876_543_210);
        assert_eq!(o.status, OrderStatus::New);
        assert!(o.reduce_only);
        assert_eq!(o.price, "64000.10");
        // A float id is refused rather than rounded.
        assert!(serde_json::from_str::<OrderResponse>(
            r#"{"orderId":1.5e18,"symbol":"X","status":"NEW","clientOrderId":"c","side":"BUY"}"#
        )
        .is_err());
    }
    #[test]
    fn unknown_status_is_tolerated() {
        let o: OrderResponse = serde_json::from_str(
            r#"{"orderId":1,"symbol":"X","status":"SOMETHING","clientOrderId":"c","side":"BUY"}"#,
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Unknown);
    }
    #[test]
    fn error_body_example() {
        let e: ApiErrorBody =
            serde_json::from_str(r#"{"code":-2019,"msg":"Margin is insufficient."}"#).unwrap();
        assert_eq!(e.code, -2019);
        assert_eq!(e.msg, "Margin is insufficient.");
    }
    #[test]
    fn batch_items_example() {
        let v: Vec<BatchItem> = serde_json::from_str(r#"[{"orderId":42,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"a-1-0","side":"BUY"},{"code":-2022,"msg":"ReduceOnly Order is rejected."}]"#).unwrap();
        assert!(matches!(&v[0], BatchItem::Order(o) if o.order_id == 42));
        assert!(matches!(&v[1], BatchItem::Error(e) if e.code == -2022));
    }
}
