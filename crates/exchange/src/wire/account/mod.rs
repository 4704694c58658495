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
mod orders;
mod user_events;

pub use algo::*;
pub use balances::*;
pub use exchange_info::*;
pub use orders::*;
pub use user_events::*;

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

pub(crate) fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
