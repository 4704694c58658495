//! Typed values of Binance's enumerated strings (execution type, order type, algo status,
//! working type, side).
//!
//! Binance adds values without notice, so an unknown value is never an error that would
//! drop a whole event: each enum keeps it verbatim in its `Other(String)` variant, and the
//! caller decides (the executor treats an unknown execution type or algo status as
//! "reconcile from REST"). Only the side is strict: a side other than BUY / SELL cannot be
//! acted on, so that message is rejected as malformed.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use shmtrader_core::Side;

/// Defines an enum over wire strings with an `Other(String)` fallback, plus `as_str`,
/// `from_wire`, `Display`, serde (as the string) and `Default` (`Other("")`, for fields
/// a message may leave out).
macro_rules! wire_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident {
            $( $(#[$vm:meta])* $var:ident = $s:literal, )+
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vm])* $var, )+
            /// A value this code does not know (or `""` when absent), kept verbatim.
            Other(String),
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$var => $s, )+
                    $name::Other(s) => s,
                }
            }
            /// Reads a wire value; unknown ones become `Other`.
            pub fn from_wire(s: &str) -> $name {
                match s {
                    $( $s => $name::$var, )+
                    other => $name::Other(other.to_string()),
                }
            }
        }

        impl Default for $name {
            fn default() -> $name {
                $name::Other(String::new())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
                Ok($name::from_wire(&s))
            }
        }
    };
}

wire_enum! {
    /// Execution type `x` of an `ORDER_TRADE_UPDATE`: what happened to the order.
    ///
    /// ```json
    /// "TRADE"
    /// ```
    pub enum ExecutionType {
        /// Accepted by the matching engine.
        New = "NEW",
        /// Cancelled (by the user or the system).
        Canceled = "CANCELED",
        /// Liquidation / ADL calculation.
        Calculated = "CALCULATED",
        /// Expired (IOC / market remainder, reduce-only with nothing to reduce, STP).
        Expired = "EXPIRED",
        /// A fill: `l`, `L`, `n`, `N`, `t` describe it.
        Trade = "TRADE",
        /// The order was modified (price / quantity amendment).
        Amendment = "AMENDMENT",
    }
}

wire_enum! {
    /// Order type (`o` and `ot` of `ORDER_TRADE_UPDATE`, `type` / `orderType` in REST).
    ///
    /// ```json
    /// "STOP_MARKET"
    /// ```
    pub enum OrderType {
        /// Limit.
        Limit = "LIMIT",
        /// Market.
        Market = "MARKET",
        /// Stop-limit.
        Stop = "STOP",
        /// Stop-market (protective stop).
        StopMarket = "STOP_MARKET",
        /// Take-profit limit.
        TakeProfit = "TAKE_PROFIT",
        /// Take-profit market.
        TakeProfitMarket = "TAKE_PROFIT_MARKET",
        /// Trailing stop.
        TrailingStopMarket = "TRAILING_STOP_MARKET",
        /// A liquidation order the exchange placed (client id `autoclose-…`).
        Liquidation = "LIQUIDATION",
    }
}

wire_enum! {
    /// Status of a conditional (algo) order (`X` of `ALGO_UPDATE`, `algoStatus` in REST).
    ///
    /// ```json
    /// "TRIGGERED"
    /// ```
    ///
    /// Lifecycle (binance-usdm.md §10): `New` (resting, not triggered) → `Triggering`
    /// (condition met, being forwarded) → `Triggered` (placed in the matching engine; its
    /// fills arrive as `ORDER_TRADE_UPDATE` of order `ai`) → `Finished` (that order filled
    /// or was cancelled there); or `Canceled` (by the user), `Rejected` (e.g. margin check
    /// at trigger time, see `rm`), `Expired` (by the system).
    pub enum AlgoStatus {
        /// Resting, not triggered.
        New = "NEW",
        /// Condition met, being forwarded to the matching engine.
        Triggering = "TRIGGERING",
        /// Placed in the matching engine as order `ai`.
        Triggered = "TRIGGERED",
        /// The triggered order is done (filled or cancelled in the matching engine).
        Finished = "FINISHED",
        /// Cancelled by the user.
        Canceled = "CANCELED",
        /// Refused (at placement or at trigger time).
        Rejected = "REJECTED",
        /// Expired by the system.
        Expired = "EXPIRED",
    }
}

impl AlgoStatus {
    /// True while the conditional order rests on the exchange, not yet triggered: the
    /// position is protected by it.
    pub fn is_resting(&self) -> bool {
        matches!(self, AlgoStatus::New)
    }
    /// True once the algo order can do nothing more by itself (`Finished`, `Canceled`,
    /// `Rejected`, `Expired`). `Triggering` / `Triggered` are not final: the order they
    /// created may still be filling. An unknown status is not final either: reconcile it.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            AlgoStatus::Finished
                | AlgoStatus::Canceled
                | AlgoStatus::Rejected
                | AlgoStatus::Expired
        )
    }
}

/// Which price triggers a conditional order (`workingType`, `wt`).
///
/// ```json
/// "MARK_PRICE"
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WorkingType {
    /// Mark price (resists wicks on the last price).
    MarkPrice,
    /// Last traded price.
    ContractPrice,
}

impl WorkingType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkingType::MarkPrice => "MARK_PRICE",
            WorkingType::ContractPrice => "CONTRACT_PRICE",
        }
    }
    /// Reads a wire value; `None` for anything else.
    pub fn from_wire(s: &str) -> Option<WorkingType> {
        match s {
            "MARK_PRICE" => Some(WorkingType::MarkPrice),
            "CONTRACT_PRICE" => Some(WorkingType::ContractPrice),
            _ => None,
        }
    }
}

impl Serialize for WorkingType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `deserialize_with` for an optional working type: absent, empty or unknown is `None`
/// (never an error that would drop the whole event).
pub(crate) fn lenient_working_type<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<WorkingType>, D::Error> {
    let s = Option::<std::borrow::Cow<'de, str>>::deserialize(d)?;
    Ok(s.as_deref().and_then(WorkingType::from_wire))
}

/// `serde(with = "side_serde")` for [`Side`]: `BUY` / `SELL`, anything else an error.
pub(crate) mod side_serde {
    use serde::{de, Deserialize, Deserializer, Serializer};
    use shmtrader_core::Side;

    pub(crate) fn serialize<S: Serializer>(side: &Side, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(side.as_str())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Side, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        super::parse_side(&s)
            .ok_or_else(|| de::Error::invalid_value(de::Unexpected::Str(&s), &"BUY or SELL"))
    }
}

/// `BUY` / `SELL` to a [`Side`].
pub fn parse_side(s: &str) -> Option<Side> {
    match s {
        "BUY" => Some(Side::Buy),
        "SELL" => Some(Side::Sell),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_and_unknown_ones_are_kept_verbatim() {
        for s in [
            "NEW",
            "CANCELED",
            "CALCULATED",
            "EXPIRED",
            "TRADE",
            "AMENDMENT",
        ] {
            let x = ExecutionType::from_wire(s);
            assert!(!matches!(x, ExecutionType::Other(_)), "{s}");
            assert_eq!(x.as_str(), s);
        }
        assert_eq!(
            serde_json::from_str::<ExecutionType>(r#""SOMETHING_NEW""#).unwrap(),
            ExecutionType::Other("SOMETHING_NEW".into())
        );
        assert_eq!(
            serde_json::from_str::<OrderType>(r#""LIQUIDATION""#).unwrap(),
            OrderType::Liquidation
        );
        assert_eq!(
            serde_json::to_string(&AlgoStatus::Triggered).unwrap(),
            r#""TRIGGERED""#
        );
        assert_eq!(AlgoStatus::default(), AlgoStatus::Other(String::new()));
    }

    #[test]
    fn algo_status_resting_and_final_follow_the_documented_lifecycle() {
        use AlgoStatus as A;
        let cases = [
            (A::New, true, false),
            (A::Triggering, false, false),
            (A::Triggered, false, false),
            (A::Finished, false, true),
            (A::Canceled, false, true),
            (A::Rejected, false, true),
            (A::Expired, false, true),
            // Unknown: neither, so the caller reconciles.
            (A::Other("PAUSED".into()), false, false),
        ];
        for (s, resting, fin) in cases {
            assert_eq!((s.is_resting(), s.is_final()), (resting, fin), "{s}");
        }
    }

    #[test]
    fn side_is_strict_and_working_type_is_lenient() {
        #[derive(serde::Deserialize)]
        struct T {
            #[serde(with = "side_serde")]
            s: Side,
            #[serde(default, deserialize_with = "lenient_working_type")]
            wt: Option<WorkingType>,
        }
        let t: T = serde_json::from_str(r#"{"s":"SELL","wt":"MARK_PRICE"}"#).unwrap();
        assert_eq!((t.s, t.wt), (Side::Sell, Some(WorkingType::MarkPrice)));
        let t: T = serde_json::from_str(r#"{"s":"BUY","wt":"NEW_KIND"}"#).unwrap();
        assert_eq!((t.s, t.wt), (Side::Buy, None));
        let t: T = serde_json::from_str(r#"{"s":"BUY"}"#).unwrap();
        assert_eq!(t.wt, None);
        assert!(serde_json::from_str::<T>(r#"{"s":"HOLD"}"#).is_err());
    }
}
