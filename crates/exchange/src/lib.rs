//! Binance USD-M futures connectivity: what the bot says to the exchange and how it reads
//! what the exchange says back. See `shared/binance-usdm.md` for the wire facts.

pub mod book;
pub mod error;
pub mod fast;
pub mod rest;
pub mod sign;
pub mod template;
pub mod user;
pub mod wire;
pub mod ws;

pub use error::{ApiErrorKind, ExchangeError, RejectReason, Result};
