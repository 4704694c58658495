//! Account-side wire types: exchangeInfo, orders, account state, algo orders, user-data
//! events, one file per message family and all re-exported here, so every type keeps
//! its `wire::account::Name` path.
//!
//! See the module docs of [`crate::wire`] for the conventions (strings for decimals,
//! integers for ids, unknown fields tolerated).

use serde::{Deserialize, Deserializer};

mod algo;
mod balances;
mod exchange_info;
mod order_update;
mod orders;
mod user_events;

pub use algo::*;
pub use balances::*;
pub use exchange_info::*;
pub use order_update::*;
pub use orders::*;
pub use user_events::*;

pub use crate::wire::decimal::Fee;
pub use crate::wire::enums::{AlgoStatus, ExecutionType, OrderType, WorkingType};

/// Accepts a JSON string or number and keeps its text. Binance is inconsistent about a
/// few fields (`er`, algo `code`, `actualOrderId`, `autoAssetExchange`): reading them as
/// text never fails and never turns an id into a float.
pub(crate) fn str_or_num<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum SN {
        S(String),
        U(u64),
        I(i64),
        F(f64),
        B(bool),
        N(()),
    }
    Ok(match SN::deserialize(d)? {
        SN::S(s) => s,
        SN::U(u) => u.to_string(),
        SN::I(i) => i.to_string(),
        SN::F(f) => f.to_string(),
        SN::B(b) => b.to_string(),
        SN::N(()) => String::new(),
    })
}

/// An order id that may be absent, empty (`""`, an algo order not yet triggered), a
/// string of digits or a JSON number; `0` also means "none" (no order has id 0). Text
/// that is not an integer is an error (an id is never guessed).
pub(crate) fn opt_order_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let s = str_or_num(d)?;
    match s.as_str() {
        "" | "0" => Ok(None),
        t => t
            .parse::<u64>()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("order id {t:?} is not an integer"))),
    }
}

/// The first `n` characters of `s`.
pub(crate) fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
