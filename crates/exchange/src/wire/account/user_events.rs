//! The user-data stream: listenKey, and every event the stream pushes.

use serde::{Deserialize, Serialize};

use super::{str_or_num, truncate, OrderStatus};

/// `POST /fapi/v1/listenKey` (and PUT on current Binance).
///
/// ```json
/// {"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey {
    /// The key.
    pub listen_key: String,
}

// ------------------------------------------------------------------ user-data stream

/// A user-data stream event. Unknown event types (TRADE_LITE, ALGO_UPDATE,
/// ACCOUNT_CONFIG_UPDATE, MARGIN_CALL, ...) come back as [`UserEvent::Other`] with their
/// name, never as an error.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once into a channel; boxing adds an allocation
pub enum UserEvent {
    /// Order accepted / filled / cancelled / expired.
    OrderTradeUpdate(OrderTradeUpdate),
    /// Balance and position changes.
    AccountUpdate(AccountUpdate),
    /// The listenKey expired: the stream is dead until a new key is created.
    ListenKeyExpired(ListenKeyExpired),
    /// Anything else, by event name.
    Other {
        /// `e`.
        event: String,
        /// `E`, if present.
        event_time: u64,
    },
}

#[derive(Deserialize)]
struct EventHead {
    e: String,
    #[serde(rename = "E", default)]
    event_time: u64,
}

impl UserEvent {
    /// Parses a frame of a raw (`/ws/<key>`) or combined (`{"stream":..,"data":..}`)
    /// user-data connection.
    pub fn parse(text: &str) -> crate::Result<UserEvent> {
        let bad = |e: serde_json::Error| crate::ExchangeError::Malformed {
            what: "user-data event",
            detail: format!("{e}: {}", truncate(text, 200)),
        };
        // Combined form: unwrap `data` (cold path; user events are rare).
        let v: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
        let v = match v {
            serde_json::Value::Object(mut m) if m.contains_key("data") && !m.contains_key("e") => {
                m.remove("data").unwrap_or_default()
            }
            other => other,
        };
        let head = EventHead::deserialize(&v).map_err(bad)?;
        Ok(match head.e.as_str() {
            "ORDER_TRADE_UPDATE" => {
                UserEvent::OrderTradeUpdate(OrderTradeUpdate::deserialize(&v).map_err(bad)?)
            }
            "ACCOUNT_UPDATE" => {
                UserEvent::AccountUpdate(AccountUpdate::deserialize(&v).map_err(bad)?)
            }
            "listenKeyExpired" => {
                UserEvent::ListenKeyExpired(ListenKeyExpired::deserialize(&v).map_err(bad)?)
            }
            _ => UserEvent::Other {
                event: head.e,
                event_time: head.event_time,
            },
        })
    }
}

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Client order id (`autoclose-...` for liquidations).
    #[serde(rename = "c")]
    pub client_order_id: String,
    /// BUY / SELL.
    #[serde(rename = "S")]
    pub side: String,
    /// Order type.
    #[serde(rename = "o")]
    pub order_type: String,
    /// Time in force.
    #[serde(rename = "f", default)]
    pub time_in_force: String,
    /// Original quantity.
    #[serde(rename = "q")]
    pub orig_qty: String,
    /// Limit price.
    #[serde(rename = "p")]
    pub price: String,
    /// Average fill price.
    #[serde(rename = "ap", default)]
    pub avg_price: String,
    /// Stop price.
    #[serde(rename = "sp", default)]
    pub stop_price: String,
    /// Execution type: NEW, CANCELED, CALCULATED, EXPIRED, TRADE, AMENDMENT.
    #[serde(rename = "x")]
    pub execution_type: String,
    /// Order status.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// Order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// Last fill quantity.
    #[serde(rename = "l")]
    pub last_qty: String,
    /// Cumulative filled quantity.
    #[serde(rename = "z")]
    pub cum_qty: String,
    /// Last fill price.
    #[serde(rename = "L")]
    pub last_price: String,
    /// Commission asset (absent when nothing was charged).
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    /// Commission of this fill.
    #[serde(rename = "n", default)]
    pub commission: Option<String>,
    /// Trade time.
    #[serde(rename = "T", default)]
    pub trade_time: u64,
    /// Trade id (0 when not a fill).
    #[serde(rename = "t", default)]
    pub trade_id: i64,
    /// This fill was on the maker side.
    #[serde(rename = "m", default)]
    pub is_maker: bool,
    /// reduceOnly.
    #[serde(rename = "R", default)]
    pub reduce_only: bool,
    /// Original order type.
    #[serde(rename = "ot", default)]
    pub orig_type: String,
    /// Position side.
    #[serde(rename = "ps", default)]
    pub position_side: String,
    /// closePosition.
    #[serde(rename = "cp", default)]
    pub close_position: bool,
    /// Realized PnL of this fill.
    #[serde(rename = "rp", default)]
    pub realized_pnl: String,
    /// Expiry reason 0..9 (2 = IOC leftover, 9 = market remainder).
    #[serde(rename = "er", default, deserialize_with = "str_or_num")]
    pub expiry_reason: String,
}

/// `ACCOUNT_UPDATE`.
///
/// ```json
/// {"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// The changes.
    #[serde(rename = "a")]
    pub data: AccountUpdateData,
}

/// The `a` object of [`AccountUpdate`]. Only changed assets and positions are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdateData {
    /// Reason: ORDER, FUNDING_FEE, DEPOSIT, ...
    #[serde(rename = "m")]
    pub reason: String,
    /// Balances.
    #[serde(rename = "B", default)]
    pub balances: Vec<BalanceUpdate>,
    /// Positions (may be empty).
    #[serde(rename = "P", default)]
    pub positions: Vec<PositionUpdate>,
}

/// One balance of an [`AccountUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceUpdate {
    /// Asset.
    #[serde(rename = "a")]
    pub asset: String,
    /// Wallet balance.
    #[serde(rename = "wb")]
    pub wallet_balance: String,
    /// Cross wallet balance.
    #[serde(rename = "cw", default)]
    pub cross_wallet_balance: String,
    /// Balance change except PnL and commission.
    #[serde(rename = "bc", default)]
    pub balance_change: String,
}

/// One position of an [`AccountUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionUpdate {
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Signed size.
    #[serde(rename = "pa")]
    pub position_amt: String,
    /// Entry price.
    #[serde(rename = "ep")]
    pub entry_price: String,
    /// Break-even price.
    #[serde(rename = "bep", default)]
    pub break_even_price: String,
    /// Accumulated realized.
    #[serde(rename = "cr", default)]
    pub accumulated_realized: String,
    /// Unrealized PnL.
    #[serde(rename = "up", default)]
    pub unrealized_pnl: String,
    /// isolated / cross.
    #[serde(rename = "mt", default)]
    pub margin_type: String,
    /// Isolated wallet.
    #[serde(rename = "iw", default)]
    pub isolated_wallet: String,
    /// Position side.
    #[serde(rename = "ps", default)]
    pub position_side: String,
}

/// `listenKeyExpired`.
///
/// ```json
/// {"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenKeyExpired {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The expired key.
    #[serde(rename = "listenKey", default)]
    pub listen_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_key_example() {
        let k: ListenKey = serde_json::from_str(
            r#"{"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}"#,
        )
        .unwrap();
        assert_eq!(k.listen_key.len(), 64);
    }
    #[test]
    fn order_trade_update_example() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}"#;
        let UserEvent::OrderTradeUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(u.event_time, 1_568_879_465_651);
        let o = &u.order;
        assert_eq!(o.order_id, 8_886_774);
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert_eq!(o.execution_type, "TRADE");
        assert_eq!(
            (o.last_qty.as_str(), o.last_price.as_str()),
            ("0.001", "7100.50")
        );
        assert_eq!(o.commission.as_deref(), Some("0.01000000"));
        assert_eq!(o.trade_id, 12_345_678);
        assert!(o.is_maker);
        assert_eq!(o.realized_pnl, "12.34");
        assert_eq!(o.expiry_reason, "0");
    }
    #[test]
    fn account_update_example() {
        let text = r#"{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}"#;
        let UserEvent::AccountUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(u.data.reason, "ORDER");
        assert_eq!(u.data.balances[0].wallet_balance, "122624.12345678");
        assert_eq!(u.data.positions[0].position_amt, "20");
        assert_eq!(u.data.positions[0].position_side, "LONG");
    }
    #[test]
    fn listen_key_expired_example_and_combined_wrapper() {
        let text = r#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}"#;
        let ev = UserEvent::parse(text).unwrap();
        assert!(
            matches!(ev, UserEvent::ListenKeyExpired(ref k) if k.event_time == 1_576_653_824_250)
        );
        let wrapped = format!(r#"{{"stream":"abc","data":{text}}}"#);
        assert_eq!(UserEvent::parse(&wrapped).unwrap(), ev);
    }
    #[test]
    fn other_events_and_garbage() {
        let ev = UserEvent::parse(r#"{"e":"TRADE_LITE","E":5,"s":"BTCUSDT"}"#).unwrap();
        assert_eq!(
            ev,
            UserEvent::Other {
                event: "TRADE_LITE".into(),
                event_time: 5
            }
        );
        assert!(UserEvent::parse("not json").is_err());
        assert!(UserEvent::parse(r#"{"e":"ORDER_TRADE_UPDATE","E":1}"#).is_err());
    }
}
