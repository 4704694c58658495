//! Klines: the 1-minute bar store every interval is aggregated from, Binance's
//! interval alignment, the seeded history of the synthetic market, and the JSON shapes
//! of `GET /fapi/v1/klines`, `GET /fapi/v1/ticker/24hr` and `<symbol>@kline_<interval>`.
//!
//! Bars come from the mock's own tape: every aggTrade the engine applies updates the bar
//! in progress ([`KlineStore::on_trade`]), and the data clock closes it
//! ([`KlineStore::roll`]). So in replay no bar is ever beyond the replay's clock, and
//! in the synthetic market the seeded history (generated on first use, [`history`])
//! joins the live bars at the start minute with no gap and no overlap.

pub mod history;
pub mod interval;
pub mod rng;
pub mod store;
pub mod wire;

pub use history::{generate, History, HistorySeed};
pub use interval::Interval;
pub use store::{Bar, KlineStore, MINUTE};

/// Closed 1-minute bars kept per symbol: seven days. The seeded history may not be
/// longer.
pub const MAX_BARS: usize = 7 * 24 * 60;
