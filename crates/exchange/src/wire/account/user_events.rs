//! The user-data stream: listenKey, the event dispatcher [`UserEvent::parse`], and the
//! account-side events (`ACCOUNT_UPDATE`, `ACCOUNT_CONFIG_UPDATE`, `listenKeyExpired`).
//! Order events live in `order_update`, algo events in `algo`.
//!
//! The listenKey grants read access to the account's stream: every type holding one
//! prints `***` in `Debug`, and the text of a rejected frame is quoted with its
//! `listenKey` / `stream` values masked.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{truncate, AlgoUpdate, OrderTradeUpdate};
use crate::wire::decimal::decimal_accessors;

/// `POST /fapi/v1/listenKey` (and PUT on current Binance). `Debug` prints `***`.
///
/// ```json
/// {"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey {
    /// The key. Never log it.
    pub listen_key: String,
}

impl ListenKey {
    /// The key, for the stream URL and the keepalive request only.
    pub fn expose(&self) -> &str {
        &self.listen_key
    }
}

impl fmt::Debug for ListenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ListenKey(***)")
    }
}

/// A user-data stream event, dispatched on `e`; a raw (`/ws/<key>`) frame or the same
/// wrapped by a combined (`/private/stream`) connection:
///
/// ```json
/// {"stream":"<listenKey>","data":{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ac":{"s":"BTCUSDT","l":25}}}
/// ```
///
/// Event types without a typed variant (`TRADE_LITE`,
/// `MARGIN_CALL`, the deprecated `CONDITIONAL_ORDER_TRIGGER_REJECT`, `STRATEGY_UPDATE`,
/// `GRID_UPDATE`, anything new) come back as [`UserEvent::Other`] with their name,
/// never as an error.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once into a channel; boxing adds an allocation
pub enum UserEvent {
    /// `ORDER_TRADE_UPDATE`: order accepted / filled / cancelled / expired.
    OrderTradeUpdate(OrderTradeUpdate),
    /// `ACCOUNT_UPDATE`: balance and position changes.
    AccountUpdate(AccountUpdate),
    /// `ALGO_UPDATE`: a conditional (algo) order changed state.
    AlgoUpdate(AlgoUpdate),
    /// `ACCOUNT_CONFIG_UPDATE`: leverage (or multi-assets mode) changed.
    AccountConfigUpdate(AccountConfigUpdate),
    /// `listenKeyExpired`: the stream is dead until a new key is created.
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
    ///
    /// # Errors
    /// [`crate::ExchangeError::Malformed`] for text that is not JSON, has no event type,
    /// or is a known event whose required fields are missing or of the wrong type. The
    /// error quotes the frame with its listenKey masked.
    pub fn parse(text: &str) -> crate::Result<UserEvent> {
        let bad = |e: serde_json::Error| crate::ExchangeError::Malformed {
            what: "user-data event",
            detail: format!("{e}: {}", redact_listen_key(truncate(text, 300))),
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
            "ALGO_UPDATE" => UserEvent::AlgoUpdate(AlgoUpdate::deserialize(&v).map_err(bad)?),
            "ACCOUNT_CONFIG_UPDATE" => {
                UserEvent::AccountConfigUpdate(AccountConfigUpdate::deserialize(&v).map_err(bad)?)
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

    /// The event's name (`e`).
    pub fn name(&self) -> &str {
        match self {
            UserEvent::OrderTradeUpdate(_) => "ORDER_TRADE_UPDATE",
            UserEvent::AccountUpdate(_) => "ACCOUNT_UPDATE",
            UserEvent::AlgoUpdate(_) => "ALGO_UPDATE",
            UserEvent::AccountConfigUpdate(_) => "ACCOUNT_CONFIG_UPDATE",
            UserEvent::ListenKeyExpired(_) => "listenKeyExpired",
            UserEvent::Other { event, .. } => event,
        }
    }
}

/// Masks the string values of `"listenKey"` and `"stream"` (a combined user stream is
/// named after its key) in frame text quoted by an error or a log line.
pub(crate) fn redact_listen_key(text: &str) -> String {
    let mut out = text.to_string();
    for key in ["\"listenKey\"", "\"stream\""] {
        let mut from = 0;
        while let Some(at) = out[from..].find(key).map(|i| i + from) {
            let after = at + key.len();
            // `:` then optional spaces, then a quoted value.
            let rest = &out[after..];
            let trimmed = rest.trim_start_matches([' ', ':']);
            let skip = rest.len() - trimmed.len();
            let start = after + skip;
            if !rest.starts_with([' ', ':']) || !out[start..].starts_with('"') {
                from = after;
                continue;
            }
            let end = out[start + 1..]
                .find('"')
                .map_or(out.len(), |i| start + 1 + i + 1);
            out.replace_range(start..end, "\"***\"");
            from = start + 5;
        }
    }
    out
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

/// The `a` object of [`AccountUpdate`]. Only changed assets and positions are listed; a
/// FUNDING_FEE on a cross position sends balances only.
///
/// ```json
/// {"m":"FUNDING_FEE","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"-0.01250000"}],"P":[]}
/// ```
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
///
/// ```json
/// {"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}
/// ```
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

decimal_accessors!(BalanceUpdate, "ACCOUNT_UPDATE" {
    /// `wb`: wallet balance.
    wallet => wallet_balance, "wb";
});

/// One position of an [`AccountUpdate`].
///
/// ```json
/// {"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}
/// ```
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

decimal_accessors!(PositionUpdate, "ACCOUNT_UPDATE" {
    /// `pa`: signed position size (negative = short).
    amount => position_amt, "pa";
    /// `ep`: entry price.
    entry => entry_price, "ep";
});

/// `ACCOUNT_CONFIG_UPDATE`: a symbol's leverage changed (`ac`), or the multi-assets mode
/// did (`ai`).
///
/// ```json
/// {"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ac":{"s":"BTCUSDT","l":25}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfigUpdate {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// Leverage change.
    #[serde(rename = "ac", default)]
    pub leverage: Option<LeverageConfig>,
    /// Multi-assets mode change.
    #[serde(rename = "ai", default)]
    pub multi_assets: Option<MultiAssetsConfig>,
}

/// The `ac` object of [`AccountConfigUpdate`].
///
/// ```json
/// {"s":"BTCUSDT","l":25}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeverageConfig {
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// New leverage.
    #[serde(rename = "l")]
    pub leverage: u32,
}

/// The `ai` object of [`AccountConfigUpdate`].
///
/// ```json
/// {"j":true}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiAssetsConfig {
    /// Multi-assets margin mode on.
    #[serde(rename = "j")]
    pub multi_assets: bool,
}

/// `listenKeyExpired`. `Debug` masks the key.
///
/// ```json
/// {"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenKeyExpired {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The expired key. Never log it.
    #[serde(rename = "listenKey", default)]
    pub listen_key: String,
}

impl fmt::Debug for ListenKeyExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListenKeyExpired")
            .field("event_time", &self.event_time)
            .field("listen_key", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8";

    #[test]
    fn listen_key_parses_and_never_prints() {
        let k: ListenKey = serde_json::from_str(
            r#"{"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}"#,
        )
        .unwrap();
        assert_eq!(k.expose().len(), 64);
        assert_eq!(format!("{k:?}"), "ListenKey(***)");
    }

    #[test]
    fn account_update_example() {
        let text = r#"{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}"#;
        let UserEvent::AccountUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(u.data.reason, "ORDER");
        assert_eq!(u.data.balances[0].wallet().unwrap(), 122_624.123_456_78);
        assert_eq!(u.data.positions[0].amount().unwrap(), 20.0);
        assert_eq!(u.data.positions[0].entry().unwrap(), 6563.6);
        assert_eq!(u.data.positions[0].position_side, "LONG");
    }

    #[test]
    fn funding_fee_update_has_balances_and_no_positions() {
        let d: AccountUpdateData = serde_json::from_str(r#"{"m":"FUNDING_FEE","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"-0.01250000"}],"P":[]}"#).unwrap();
        assert_eq!(d.reason, "FUNDING_FEE");
        assert!(d.positions.is_empty());
        assert_eq!(d.balances[0].balance_change, "-0.01250000");
    }

    #[test]
    fn account_config_update_leverage_example_is_typed() {
        let ev = UserEvent::parse(r#"{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ac":{"s":"BTCUSDT","l":25}}"#).unwrap();
        assert_eq!(ev.name(), "ACCOUNT_CONFIG_UPDATE");
        let UserEvent::AccountConfigUpdate(c) = ev else {
            panic!("wrong variant")
        };
        assert_eq!(c.event_time, 1_611_646_737_479);
        assert_eq!(
            c.leverage,
            Some(LeverageConfig {
                symbol: "BTCUSDT".into(),
                leverage: 25
            })
        );
        assert_eq!(c.multi_assets, None);
        let ev = UserEvent::parse(
            r#"{"e":"ACCOUNT_CONFIG_UPDATE","E":1611646737479,"T":1611646737476,"ai":{"j":true}}"#,
        )
        .unwrap();
        assert!(matches!(
            ev,
            UserEvent::AccountConfigUpdate(AccountConfigUpdate {
                multi_assets: Some(MultiAssetsConfig { multi_assets: true }),
                leverage: None,
                ..
            })
        ));
    }

    #[test]
    fn listen_key_expired_parses_raw_and_combined_and_never_prints_the_key() {
        let text = format!(r#"{{"e":"listenKeyExpired","E":1576653824250,"listenKey":"{KEY}"}}"#);
        let ev = UserEvent::parse(&text).unwrap();
        assert!(
            matches!(ev, UserEvent::ListenKeyExpired(ref k) if k.event_time == 1_576_653_824_250 && k.listen_key == KEY)
        );
        let wrapped = format!(r#"{{"stream":"{KEY}","data":{text}}}"#);
        assert_eq!(UserEvent::parse(&wrapped).unwrap(), ev);
        let dbg = format!("{ev:?}");
        assert!(!dbg.contains(KEY), "{dbg}");
    }

    #[test]
    fn a_malformed_frame_error_masks_the_listen_key() {
        // Valid JSON, known event, wrong type of a required field.
        let text = format!(
            r#"{{"stream":"{KEY}","data":{{"e":"listenKeyExpired","E":"x","listenKey":"{KEY}"}}}}"#
        );
        let e = UserEvent::parse(&text).unwrap_err().to_string();
        assert!(!e.contains(KEY), "{e}");
        assert!(e.contains(r#""listenKey":"***""#), "{e}");
        assert_eq!(
            redact_listen_key(r#"{"listenKey" : "abc","x":"stream","stream":"k"}"#),
            r#"{"listenKey" : "***","x":"stream","stream":"***"}"#
        );
        // Unterminated value: masked to the end.
        assert_eq!(
            redact_listen_key(r#"{"listenKey":"abc"#),
            r#"{"listenKey":"***""#
        );
    }

    /// Events without a typed variant are tolerated, never an error (payloads from
    /// Binance's docs for TRADE_LITE, MARGIN_CALL, the deprecated
    /// CONDITIONAL_ORDER_TRIGGER_REJECT).
    #[test]
    fn untyped_events_come_back_as_other_with_their_name() {
        let cases = [
            (
                r#"{"e":"TRADE_LITE","E":1721895408092,"T":1721895408214,"s":"BTCUSDT","q":"0.001","p":"0","m":false,"c":"z8hcUoOsqEdKMeKPSABslD","S":"BUY","L":"64089.20","l":"0.040","t":109100866,"i":8886774}"#,
                "TRADE_LITE",
                1_721_895_408_092,
            ),
            (
                r#"{"e":"MARGIN_CALL","E":1587727187525,"cw":"3.16812045","p":[{"s":"ETHUSDT","ps":"LONG","pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}"#,
                "MARGIN_CALL",
                1_587_727_187_525,
            ),
            (
                r#"{"e":"CONDITIONAL_ORDER_TRIGGER_REJECT","E":1685517224945,"T":1685517224955,"or":{"s":"ETHUSDT","i":155618472834,"r":"Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history"}}"#,
                "CONDITIONAL_ORDER_TRIGGER_REJECT",
                1_685_517_224_945,
            ),
            (r#"{"e":"GRID_UPDATE","E":5}"#, "GRID_UPDATE", 5),
        ];
        for (text, name, time) in cases {
            let ev = UserEvent::parse(text).unwrap();
            assert_eq!(
                ev,
                UserEvent::Other {
                    event: name.into(),
                    event_time: time
                }
            );
            assert_eq!(ev.name(), name);
        }
    }

    #[test]
    fn garbage_and_incomplete_known_events_are_errors() {
        assert!(UserEvent::parse("not json").is_err());
        assert!(UserEvent::parse(r#"{"E":1}"#).is_err());
        assert!(UserEvent::parse(r#"{"e":"ORDER_TRADE_UPDATE","E":1}"#).is_err());
        assert!(UserEvent::parse(r#"{"e":"ALGO_UPDATE","E":1}"#).is_err());
    }
}
