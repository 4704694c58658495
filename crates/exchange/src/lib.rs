//! Binance USD-M futures connectivity: what the bot says to the exchange and how it reads
//! what the exchange says back. See `shared/binance-usdm.md` for the wire facts.

pub mod error;

pub use error::{ExchangeError, Result};
