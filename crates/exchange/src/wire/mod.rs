//! Serde types of what Binance USD-M sends, as close to the wire as possible.
//!
//! Rules for every type here (they protect real orders from silent mis-parses):
//! * unknown fields are tolerated (Binance adds fields without notice);
//! * ids (`orderId`, `algoId`, trade ids, times) are integers, never floats, because
//!   order ids exceed 2^53;
//! * prices, quantities and money stay decimal **strings**: converting them is the
//!   caller's decision (exact integer units in `template`, `f64` for PnL display). The
//!   accessor methods (`fill_qty()`, `total_wallet()`, ...) convert through
//!   [`decimal::parse_decimal`], which fails with the field's name rather than
//!   returning 0 for a malformed number;
//! * enumerated strings are typed ([`enums`]) with an `Other(String)` fallback, so an
//!   unknown value never drops a whole event;
//! * each type's doc comment carries a raw JSON example and a test parses exactly it.
//!
//! `account`: exchangeInfo, orders, account, positions, algo orders, user-data events.
//! `market`: market streams and the public REST bodies of market data.
//! `kline`: klines, the 24-hour ticker, the kline stream and Binance's interval names.

pub mod account;
pub mod decimal;
pub mod enums;
pub mod kline;
pub mod market;

pub use decimal::{parse_decimal, Fee};
pub use enums::{AlgoStatus, ExecutionType, OrderType, WorkingType};
