//! `ORDER_TRADE_UPDATE`: an order's every state change and fill, typed.
//!
//! The executor books fills from these events, so the fields it acts on are typed:
//! side ([`Side`]), order and original type ([`OrderType`], including `LIQUIDATION`),
//! execution type ([`ExecutionType`]), status ([`OrderStatus`]), ids as `u64` (order ids
//! exceed 2^53), working type. Decimals stay strings (exact units come from the symbol
//! rules) with accessors that parse them to `f64` and fail, naming the key, rather than
//! return 0 for a malformed number.

use serde::{Deserialize, Serialize};
use shmtrader_core::Side;

use super::{str_or_num, OrderStatus};
use crate::error::{ExchangeError, Result};
use crate::wire::decimal::{decimal_accessors, parse_decimal, Fee};
use crate::wire::enums::{lenient_working_type, side_serde, ExecutionType, OrderType, WorkingType};

/// `ORDER_TRADE_UPDATE`.
///
/// ```json
/// {"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTradeUpdate {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// The order.
    #[serde(rename = "o")]
    pub order: OrderUpdate,
}

/// The `o` object of [`OrderTradeUpdate`].
///
/// A liquidation fill (values illustrative, shape as Binance sends it; `N`/`n` are absent
/// on events that charge nothing, e.g. `x:"NEW"`):
/// ```json
/// {"s":"BTCUSDT","c":"autoclose-1689224436000000","S":"SELL","o":"LIQUIDATION","f":"IOC","q":"0.014","p":"29950.10","ap":"30012.40","sp":"0","x":"TRADE","X":"FILLED","i":9007199254740993,"l":"0.014","z":"0.014","L":"30012.40","N":"USDT","n":"0.21008680","T":1689224436109,"t":3784223517,"b":"0","a":"0","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"LIQUIDATION","ps":"BOTH","cp":false,"rp":"-54.61920000","pP":false,"si":0,"ss":0,"V":"NONE","pm":"NONE","gtd":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// `s` symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `c` client order id (`autoclose-…` / `adl_autoclose` / `settlement_autoclose-…`
    /// for orders the exchange placed).
    #[serde(rename = "c")]
    pub client_order_id: String,
    /// `S` side.
    #[serde(rename = "S", with = "side_serde")]
    pub side: Side,
    /// `o` order type (a triggered STOP_MARKET shows as MARKET here, see `orig_type`).
    #[serde(rename = "o")]
    pub order_type: OrderType,
    /// `f` time in force.
    #[serde(rename = "f", default)]
    pub time_in_force: String,
    /// `q` original quantity.
    #[serde(rename = "q")]
    pub orig_qty: String,
    /// `p` limit price.
    #[serde(rename = "p")]
    pub price: String,
    /// `ap` average fill price.
    #[serde(rename = "ap", default)]
    pub avg_price: String,
    /// `sp` stop price.
    #[serde(rename = "sp", default)]
    pub stop_price: String,
    /// `x` execution type: what this event reports.
    #[serde(rename = "x")]
    pub execution_type: ExecutionType,
    /// `X` order status after this event.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// `i` order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// `l` quantity of this fill ("0" when not a fill).
    #[serde(rename = "l")]
    pub last_qty: String,
    /// `z` cumulative filled quantity.
    #[serde(rename = "z")]
    pub cum_qty: String,
    /// `L` price of this fill.
    #[serde(rename = "L")]
    pub last_price: String,
    /// `N` commission asset (absent when nothing was charged).
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    /// `n` commission of this fill (absent when nothing was charged).
    #[serde(rename = "n", default)]
    pub commission: Option<String>,
    /// `T` trade time.
    #[serde(rename = "T", default)]
    pub trade_time: u64,
    /// `t` trade id (0 when not a fill).
    #[serde(rename = "t", default)]
    pub trade_id: u64,
    /// `m` this fill was on the maker side.
    #[serde(rename = "m", default)]
    pub is_maker: bool,
    /// `R` reduceOnly.
    #[serde(rename = "R", default)]
    pub reduce_only: bool,
    /// `wt` trigger price source; `None` if absent or a value this code does not know.
    #[serde(rename = "wt", default, deserialize_with = "lenient_working_type")]
    pub working_type: Option<WorkingType>,
    /// `ot` original order type (`STOP_MARKET` for a triggered stop, `LIQUIDATION`).
    #[serde(rename = "ot", default)]
    pub orig_type: OrderType,
    /// `ps` position side (BOTH / LONG / SHORT).
    #[serde(rename = "ps", default)]
    pub position_side: String,
    /// `cp` closePosition (a close-all conditional).
    #[serde(rename = "cp", default)]
    pub close_position: bool,
    /// `pP` price protection.
    #[serde(rename = "pP", default)]
    pub price_protect: bool,
    /// `rp` realized PnL of this fill.
    #[serde(rename = "rp", default)]
    pub realized_pnl: String,
    /// `V` self-trade prevention mode.
    #[serde(rename = "V", default)]
    pub stp_mode: String,
    /// `er` expiry reason 0..9 (2 = IOC leftover, 9 = market remainder); a string on the
    /// wire, read as text whatever its JSON type.
    #[serde(rename = "er", default, deserialize_with = "str_or_num")]
    pub expiry_reason: String,
}

decimal_accessors!(OrderUpdate, "ORDER_TRADE_UPDATE" {
    /// `l`: quantity of this fill (0 when the event is not a fill).
    fill_qty => last_qty, "l";
    /// `L`: price of this fill (0 when the event is not a fill).
    fill_price => last_price, "L";
    /// `z`: cumulative filled quantity of the order.
    cum_filled_qty => cum_qty, "z";
    /// `ap`: average fill price of the order so far.
    avg_fill_price => avg_price, "ap";
    /// `q`: the order's original quantity.
    order_qty => orig_qty, "q";
    /// `p`: the order's limit price (0 for market orders).
    limit_price => price, "p";
    /// `sp`: the stop (trigger) price of the conditional it came from (0 if none).
    stop_trigger_price => stop_price, "sp";
});

impl OrderUpdate {
    /// True for `x == TRADE`: this event is a fill.
    pub fn is_fill(&self) -> bool {
        self.execution_type == ExecutionType::Trade
    }

    /// True for an order the exchange placed to liquidate or deleverage the position:
    /// type or original type `LIQUIDATION`, or a client id `autoclose-…`,
    /// `adl_autoclose…` or `settlement_autoclose-…`.
    pub fn is_liquidation(&self) -> bool {
        self.order_type == OrderType::Liquidation
            || self.orig_type == OrderType::Liquidation
            || self.client_order_id.starts_with("autoclose-")
            || self.client_order_id.starts_with("adl_autoclose")
            || self.client_order_id.starts_with("settlement_autoclose-")
    }

    /// `rp`: realized PnL of this fill; 0 when the event leaves the field out.
    ///
    /// # Errors
    /// [`ExchangeError::BadNumber`] if present but not a finite number.
    pub fn realized_profit(&self) -> Result<f64> {
        if self.realized_pnl.is_empty() {
            return Ok(0.0);
        }
        parse_decimal("ORDER_TRADE_UPDATE", "rp", &self.realized_pnl)
    }

    /// The fee of this fill, paid positive (see [`Fee`] for the sign convention), or
    /// `None` when the event charges nothing (`n` absent, as on `NEW` / `CANCELED`).
    ///
    /// # Errors
    /// [`ExchangeError::BadNumber`] if `n` is not a number, or `n` is non-zero and the
    /// asset `N` is missing (a fee in an unknown asset cannot be booked).
    pub fn fee(&self) -> Result<Option<Fee>> {
        let Some(n) = self.commission.as_deref() else {
            return Ok(None);
        };
        let paid = parse_decimal("ORDER_TRADE_UPDATE", "n", n)?.abs();
        match self.commission_asset.as_deref() {
            Some(asset) if !asset.is_empty() => Ok(Some(Fee {
                asset: asset.to_string(),
                paid,
            })),
            _ if paid == 0.0 => Ok(None),
            _ => Err(ExchangeError::BadNumber {
                what: "ORDER_TRADE_UPDATE",
                field: "N",
                text: format!("commission {n} without an asset"),
            }),
        }
    }

    /// `er` as a number (0..9), if it is one.
    pub fn expiry_reason_code(&self) -> Option<u8> {
        self.expiry_reason.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::account::UserEvent;

    fn order(text: &str) -> OrderUpdate {
        match UserEvent::parse(text).unwrap() {
            UserEvent::OrderTradeUpdate(u) => u.order,
            other => panic!("wrong variant {other:?}"),
        }
    }

    /// binance-usdm.md §7, Binance's documented example.
    #[test]
    fn documented_partial_fill_parses_every_field_the_executor_uses() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}"#;
        let UserEvent::OrderTradeUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(
            (u.event_time, u.transaction_time),
            (1_568_879_465_651, 1_568_879_465_650)
        );
        let o = &u.order;
        assert_eq!(o.symbol, "BTCUSDT");
        assert_eq!(o.client_order_id, "TEST");
        assert_eq!(o.order_id, 8_886_774);
        assert_eq!(o.side, Side::Buy);
        assert_eq!(
            (&o.order_type, &o.orig_type),
            (&OrderType::Limit, &OrderType::Limit)
        );
        assert_eq!(o.execution_type, ExecutionType::Trade);
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert!(o.is_fill() && !o.is_liquidation());
        assert_eq!(o.fill_qty().unwrap(), 0.001);
        assert_eq!(o.cum_filled_qty().unwrap(), 0.001);
        assert_eq!(o.fill_price().unwrap(), 7100.5);
        assert_eq!(o.avg_fill_price().unwrap(), 7100.5);
        assert_eq!(o.order_qty().unwrap(), 0.001);
        assert_eq!(o.limit_price().unwrap(), 7100.5);
        assert_eq!(o.stop_trigger_price().unwrap(), 0.0);
        assert_eq!(
            o.fee().unwrap(),
            Some(Fee {
                asset: "USDT".into(),
                paid: 0.01
            })
        );
        assert_eq!(o.trade_id, 12_345_678);
        assert_eq!(o.trade_time, 1_568_879_465_651);
        assert!(o.is_maker);
        assert!(!o.reduce_only && !o.close_position && !o.price_protect);
        assert_eq!(o.realized_profit().unwrap(), 12.34);
        assert_eq!(o.working_type, Some(WorkingType::ContractPrice));
        assert_eq!(o.position_side, "LONG");
        assert_eq!(o.expiry_reason_code(), Some(0));
    }

    #[test]
    fn liquidation_fill_is_recognised_and_keeps_an_id_above_2_pow_53_exact() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1689224436111,"T":1689224436109,"o":{"s":"BTCUSDT","c":"autoclose-1689224436000000","S":"SELL","o":"LIQUIDATION","f":"IOC","q":"0.014","p":"29950.10","ap":"30012.40","sp":"0","x":"TRADE","X":"FILLED","i":9007199254740993,"l":"0.014","z":"0.014","L":"30012.40","N":"USDT","n":"0.21008680","T":1689224436109,"t":3784223517,"b":"0","a":"0","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"LIQUIDATION","ps":"BOTH","cp":false,"rp":"-54.61920000","pP":false,"si":0,"ss":0,"V":"NONE","pm":"NONE","gtd":0}}"#;
        let o = order(text);
        assert_eq!(o.order_id, 9_007_199_254_740_993); // 2^53 + 1: a float would round it
        assert_eq!(o.order_type, OrderType::Liquidation);
        assert_eq!(o.orig_type, OrderType::Liquidation);
        assert_eq!(o.execution_type, ExecutionType::Trade);
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.side, Side::Sell);
        assert!(o.is_liquidation() && o.is_fill());
        assert_eq!(o.realized_profit().unwrap(), -54.6192);
        assert_eq!(o.fee().unwrap().map(|f| f.paid), Some(0.2100868));
        // `er` absent: empty text, no code.
        assert_eq!(o.expiry_reason_code(), None);
    }

    #[test]
    fn a_new_event_without_commission_has_no_fee_and_autoclose_ids_mark_liquidations() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":2,"T":2,"o":{"s":"ETHUSDT","c":"adl_autoclose","S":"BUY","o":"MARKET","q":"1.000","p":"0","x":"NEW","X":"NEW","i":7,"l":"0","z":"0","L":"0","ot":"MARKET"}}"#;
        let o = order(text);
        assert_eq!(o.execution_type, ExecutionType::New);
        assert!(!o.is_fill());
        assert!(o.is_liquidation());
        assert_eq!(o.fee().unwrap(), None);
        assert_eq!(o.realized_profit().unwrap(), 0.0);
        assert_eq!(o.working_type, None);
        assert_eq!(o.trade_id, 0);
    }

    #[test]
    fn every_execution_type_parses_and_an_unknown_one_is_kept() {
        for (x, want) in [
            ("NEW", ExecutionType::New),
            ("CANCELED", ExecutionType::Canceled),
            ("CALCULATED", ExecutionType::Calculated),
            ("EXPIRED", ExecutionType::Expired),
            ("TRADE", ExecutionType::Trade),
            ("AMENDMENT", ExecutionType::Amendment),
            ("REPLACED", ExecutionType::Other("REPLACED".into())),
        ] {
            let text = format!(
                r#"{{"e":"ORDER_TRADE_UPDATE","E":1,"o":{{"s":"X","c":"c","S":"BUY","o":"LIMIT","q":"1","p":"1","x":"{x}","X":"NEW","i":1,"l":"0","z":"0","L":"0"}}}}"#
            );
            assert_eq!(order(&text).execution_type, want, "{x}");
        }
    }

    #[test]
    fn malformed_decimals_are_errors_naming_the_key_never_zero() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"s":"X","c":"c","S":"BUY","o":"MARKET","q":"1","p":"0","x":"TRADE","X":"FILLED","i":1,"l":"0.0x1","z":"","L":"NaN","n":"abc","N":"USDT","rp":"--1"}}"#;
        let o = order(text);
        let field = |r: Result<f64>| match r {
            Err(ExchangeError::BadNumber { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(field(o.fill_qty()), "l");
        assert_eq!(field(o.cum_filled_qty()), "z");
        assert_eq!(field(o.fill_price()), "L");
        assert_eq!(field(o.realized_profit()), "rp");
        assert!(matches!(
            o.fee(),
            Err(ExchangeError::BadNumber { field: "n", .. })
        ));
        // A non-zero fee in no asset is refused; a zero one is simply no fee.
        let mut o2 = o.clone();
        o2.commission = Some("0.5".into());
        o2.commission_asset = None;
        assert!(matches!(
            o2.fee(),
            Err(ExchangeError::BadNumber { field: "N", .. })
        ));
        o2.commission = Some("0".into());
        assert_eq!(o2.fee().unwrap(), None);
        // A negative commission is normalised to "paid, positive".
        o2.commission = Some("-0.25".into());
        o2.commission_asset = Some("BNB".into());
        assert_eq!(
            o2.fee().unwrap(),
            Some(Fee {
                asset: "BNB".into(),
                paid: 0.25
            })
        );
    }

    #[test]
    fn an_unknown_side_makes_the_event_malformed() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1,"o":{"s":"X","c":"c","S":"HOLD","o":"MARKET","q":"1","p":"0","x":"NEW","X":"NEW","i":1,"l":"0","z":"0","L":"0"}}"#;
        assert!(UserEvent::parse(text).is_err());
    }

    /// What the journal writes (serde) reads back to the same value.
    #[test]
    fn order_and_algo_updates_round_trip_through_serde() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1689224436111,"T":1689224436109,"o":{"s":"BTCUSDT","c":"autoclose-1689224436000000","S":"SELL","o":"LIQUIDATION","f":"IOC","q":"0.014","p":"29950.10","ap":"30012.40","sp":"0","x":"TRADE","X":"FILLED","i":9007199254740993,"l":"0.014","z":"0.014","L":"30012.40","N":"USDT","n":"0.21008680","T":1689224436109,"t":3784223517,"m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"LIQUIDATION","ps":"BOTH","cp":false,"rp":"-54.61920000","pP":false,"V":"NONE","er":"0"}}"#;
        let UserEvent::OrderTradeUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        let back: OrderTradeUpdate =
            serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back, u);
        let algo = r#"{"e":"ALGO_UPDATE","T":1,"E":2,"o":{"caid":"s-1","aid":7,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","q":"0.014","X":"TRIGGERED","ai":"8886774","tp":"29950.00","p":"0","wt":"MARK_PRICE","R":true,"tt":3,"rm":"x"}}"#;
        let UserEvent::AlgoUpdate(a) = UserEvent::parse(algo).unwrap() else {
            panic!("wrong variant")
        };
        let back: crate::wire::account::AlgoUpdate =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(back, a);
    }
}
