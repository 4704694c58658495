//! Orders as REST returns them, batch items, and Binance's error body.

use serde::{Deserialize, Deserializer, Serialize};

use shmtrader_core::Side;

use super::str_or_num;
use crate::error::Result;
use crate::wire::decimal::{decimal_accessors, parse_decimal, Fee};
use crate::wire::enums::side_serde;

/// Order status (`X` in user events, `status` in REST). An unknown value parses as
/// `Unknown`.
///
/// ```json
/// "PARTIALLY_FILLED"
/// ```
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

decimal_accessors!(OrderResponse, "order" {
    /// `executedQty`: filled quantity.
    filled_qty => executed_qty, "executedQty";
    /// `avgPrice`: average fill price (0 while nothing filled).
    avg_fill_price => avg_price, "avgPrice";
    /// `origQty`: ordered quantity.
    order_qty => orig_qty, "origQty";
    /// `price`: limit price (0 for market orders).
    limit_price => price, "price";
});

/// One fill of `GET /fapi/v1/userTrades` (Binance's documented example).
///
/// ```json
/// {"buyer":false,"commission":"-0.07819010","commissionAsset":"USDT","id":698759,"maker":false,"orderId":25851813,"price":"7819.01","qty":"0.002","quoteQty":"15.63802","realizedPnl":"-0.91539999","side":"SELL","positionSide":"SHORT","symbol":"BTCUSDT","time":1569514978020}
/// ```
///
/// The documented example shows a *negative* commission for a fee that was paid, while
/// the stream's `n` is positive: [`UserTrade::fee`] normalises to "paid, positive" (see
/// [`Fee`]); `commission` keeps the raw text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserTrade {
    /// Trade id (unique per symbol).
    pub id: u64,
    /// Symbol.
    pub symbol: String,
    /// Order id the fill belongs to.
    pub order_id: u64,
    /// Side of the order.
    #[serde(with = "side_serde")]
    pub side: Side,
    /// BOTH / LONG / SHORT.
    #[serde(default)]
    pub position_side: String,
    /// Fill price.
    pub price: String,
    /// Fill quantity.
    pub qty: String,
    /// Fill notional in the quote asset.
    #[serde(default)]
    pub quote_qty: String,
    /// Commission, raw (sign as Binance sent it).
    #[serde(default)]
    pub commission: String,
    /// Commission asset.
    #[serde(default)]
    pub commission_asset: String,
    /// Realized PnL of this fill.
    #[serde(default)]
    pub realized_pnl: String,
    /// This side was the buyer.
    #[serde(default)]
    pub buyer: bool,
    /// This side was the maker.
    #[serde(default)]
    pub maker: bool,
    /// Trade time (ms).
    pub time: u64,
}

decimal_accessors!(UserTrade, "userTrades" {
    /// `price`.
    fill_price => price, "price";
    /// `qty`.
    fill_qty => qty, "qty";
    /// `quoteQty`: price × quantity in the quote asset.
    notional => quote_qty, "quoteQty";
    /// `realizedPnl`.
    realized_profit => realized_pnl, "realizedPnl";
});

impl UserTrade {
    /// The fee paid for this fill, positive, in `commissionAsset`.
    ///
    /// # Errors
    /// [`crate::ExchangeError::BadNumber`] if `commission` is not a number.
    pub fn fee(&self) -> Result<Fee> {
        Ok(Fee {
            asset: self.commission_asset.clone(),
            paid: parse_decimal("userTrades", "commission", &self.commission)?.abs(),
        })
    }
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

    #[test]
    fn order_response_accessors_parse_fill_figures() {
        let o: OrderResponse = serde_json::from_str(r#"{"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","side":"BUY","updateTime":1784621536001}"#).unwrap();
        assert_eq!(o.filled_qty().unwrap(), 0.002);
        assert_eq!(o.avg_fill_price().unwrap(), 64_050.25);
        assert_eq!(o.order_qty().unwrap(), 0.002);
        assert_eq!(o.limit_price().unwrap(), 0.0);
    }

    /// Binance's documented userTrades example: the negative commission is a fee paid.
    #[test]
    fn user_trade_documented_example_normalises_the_fee_to_paid_positive() {
        let t: UserTrade = serde_json::from_str(r#"{"buyer":false,"commission":"-0.07819010","commissionAsset":"USDT","id":698759,"maker":false,"orderId":25851813,"price":"7819.01","qty":"0.002","quoteQty":"15.63802","realizedPnl":"-0.91539999","side":"SELL","positionSide":"SHORT","symbol":"BTCUSDT","time":1569514978020}"#).unwrap();
        assert_eq!(
            (t.id, t.order_id, t.time),
            (698_759, 25_851_813, 1_569_514_978_020)
        );
        assert_eq!(t.side, Side::Sell);
        assert!(!t.buyer && !t.maker);
        assert_eq!(t.position_side, "SHORT");
        assert_eq!(t.fill_price().unwrap(), 7819.01);
        assert_eq!(t.fill_qty().unwrap(), 0.002);
        assert_eq!(t.notional().unwrap(), 15.63802);
        assert_eq!(t.realized_profit().unwrap(), -0.91539999);
        assert_eq!(
            t.fee().unwrap(),
            Fee {
                asset: "USDT".into(),
                paid: 0.0781901
            }
        );
        assert_eq!(t.commission, "-0.07819010");
        let bad = UserTrade {
            commission: "".into(),
            ..t
        };
        assert!(bad.fee().is_err(), "a missing commission is not a zero fee");
    }
}
