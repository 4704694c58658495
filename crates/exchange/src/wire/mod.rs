//! Serde types of what Binance USD-M sends, as close to the wire as possible.
//!
//! Rules for every type here (they protect real orders from silent mis-parses):
//! * unknown fields are tolerated (Binance adds fields without notice);
//! * ids (`orderId`, `algoId`, trade ids, times) are integers, never floats, because
//!   order ids exceed 2^53;
//! * prices, quantities and money stay decimal **strings**: converting them is the
//!   caller's decision (exact integer units in `template`, `f64` for PnL display);
//! * each type's doc comment carries a raw JSON example and a test parses exactly it.
//!
//! `account`: exchangeInfo, orders, account, positions, user-data events.

pub mod account;
pub mod market;
