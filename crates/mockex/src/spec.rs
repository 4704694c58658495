//! Contract specifications of the perpetuals the mock lists, and the fixed-point
//! arithmetic that keeps prices and quantities exact.
//!
//! Prices are held as integers in units of `10^-price_dp` and quantities in units of
//! `10^-qty_dp`, so tick and step checks, book keys and wire strings are exact; money
//! (balances, PnL, fees) is `f64`, as Binance's own 8-decimal strings allow.
//!
//! The filter values are the shared catalog's (crates/core `instrument::catalog`: real
//! Binance USD-M perpetuals, mid-2024), so the mock publishes exactly the rules the
//! risk engine and the backtest size with.

use shmtrader_core::instrument::catalog::{Listing, LISTINGS};
use shmtrader_core::instrument::Rounding;

/// One listed perpetual: its exchange rules (the shared catalog's [`Listing`], reached
/// through `Deref`, so the mock lists exactly the rules every offline component uses)
/// and the synthetic market's knobs.
#[derive(Debug, Clone, Copy)]
pub struct SymbolSpec {
    /// The catalog's listing: symbol, filters in integer units, leverage, listing date.
    pub listing: &'static Listing,
    /// MIN_NOTIONAL in USDT (the listing's, as the mock's money is `f64`).
    pub min_notional: f64,
    /// Synthetic start price.
    pub base_price: f64,
    /// Synthetic annualised volatility in the calm regime.
    pub vol_annual: f64,
    /// Share of the synthetic trade rate.
    pub activity: f64,
    /// Median synthetic aggTrade size in base units.
    pub median_qty: f64,
}

impl std::ops::Deref for SymbolSpec {
    type Target = Listing;
    fn deref(&self) -> &Listing {
        self.listing
    }
}

/// The synthetic market's knobs per listed symbol: start price, calm-regime annual
/// volatility, share of the trade rate, median trade size (base units).
const SYNTH: [(&str, f64, f64, f64, f64); 10] = [
    ("BTCUSDT", 64_000.0, 0.50, 0.40, 0.012),
    ("ETHUSDT", 3_400.0, 0.60, 0.30, 0.15),
    ("SOLUSDT", 150.0, 0.80, 0.15, 4.0),
    ("BNBUSDT", 580.0, 0.50, 0.05, 0.6),
    ("XRPUSDT", 0.55, 0.70, 0.04, 900.0),
    ("DOGEUSDT", 0.12, 0.90, 0.03, 5_000.0),
    ("ADAUSDT", 0.42, 0.80, 0.02, 1_200.0),
    ("LTCUSDT", 72.0, 0.70, 0.01, 5.0),
    ("LINKUSDT", 14.0, 0.80, 0.01, 30.0),
    ("AVAXUSDT", 27.0, 0.90, 0.01, 15.0),
];

fn from_listing(l: &'static Listing) -> SymbolSpec {
    let (base_price, vol_annual, activity, median_qty) = SYNTH
        .iter()
        .find(|s| s.0 == l.symbol)
        .map_or((100.0, 0.8, 0.01, 1.0), |s| (s.1, s.2, s.3, s.4));
    SymbolSpec {
        listing: l,
        min_notional: l.min_notional_usdt as f64,
        base_price,
        vol_annual,
        activity,
        median_qty,
    }
}

/// Every symbol the mock can list (the default config lists the first three): the
/// catalog's listings.
pub fn all_specs() -> Vec<SymbolSpec> {
    LISTINGS.iter().map(from_listing).collect()
}

/// Looks a symbol up (case-insensitive).
pub fn find_spec(symbol: &str) -> Option<SymbolSpec> {
    all_specs()
        .into_iter()
        .find(|s| s.symbol.eq_ignore_ascii_case(symbol))
}

/// Formats fixed-point units with `dp` decimals, the way Binance prints decimals.
pub use shmtrader_core::instrument::fmt_units;

fn pow10(dp: u32) -> i64 {
    shmtrader_core::instrument::pow10(dp)
}

/// Parses a decimal string from recorded data into units, rounding surplus digits.
pub fn parse_units(s: &str, dp: u32) -> Option<i64> {
    shmtrader_core::instrument::parse_units(s, dp, Rounding::Nearest)
}

/// Why a request decimal was refused (mapped to -1111 / -1102 by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalError {
    /// Not a number at all.
    Malformed,
    /// More significant decimals than the asset allows.
    Precision,
}

/// Parses a request decimal into units, refusing (not rounding) surplus precision.
/// A leading `-` is kept (so a negative quantity gets Binance's own -4003, not a parse
/// error).
pub fn parse_request_units(s: &str, dp: u32) -> std::result::Result<i64, DecimalError> {
    use shmtrader_core::instrument::parse_exact;
    let t = s.trim();
    let (neg, abs) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    if parse_units(abs, dp).is_none() {
        return Err(DecimalError::Malformed);
    }
    let u = parse_exact(abs, dp).ok_or(DecimalError::Precision)?;
    Ok(if neg { -u } else { u })
}

impl SymbolSpec {
    /// Units to a float price.
    pub fn px(&self, units: i64) -> f64 {
        units as f64 / pow10(self.price_dp) as f64
    }
    /// Units to a float quantity.
    pub fn qty(&self, units: i64) -> f64 {
        units as f64 / pow10(self.qty_dp) as f64
    }
    /// Float price to the nearest tick, in units.
    pub fn px_units(&self, p: f64) -> i64 {
        let u = (p * pow10(self.price_dp) as f64).round() as i64;
        (u as f64 / self.tick as f64).round() as i64 * self.tick
    }
    /// Float quantity down to a whole step, in units.
    pub fn qty_units_floor(&self, q: f64) -> i64 {
        let u = (q * pow10(self.qty_dp) as f64 + 1e-6).floor() as i64;
        u / self.step * self.step
    }
    /// Price string.
    pub fn fmt_px(&self, units: i64) -> String {
        fmt_units(units, self.price_dp)
    }
    /// Quantity string.
    pub fn fmt_qty(&self, units: i64) -> String {
        fmt_units(units, self.qty_dp)
    }
    /// A float price as a string with the symbol's decimals plus `extra`.
    pub fn fmt_fpx(&self, p: f64, extra: u32) -> String {
        format!("{:.*}", (self.price_dp + extra) as usize, p)
    }
    /// `btcusdt`, as in stream names.
    pub fn stream_sym(&self) -> String {
        self.symbol.to_ascii_lowercase()
    }

    /// Leverage brackets: (notional cap, initial leverage, maintenance margin ratio).
    pub fn brackets(&self) -> Vec<(f64, u32, f64)> {
        let big: [(f64, u32, f64); 10] = [
            (50_000.0, 125, 0.004),
            (600_000.0, 100, 0.005),
            (3_000_000.0, 75, 0.0065),
            (12_000_000.0, 50, 0.01),
            (70_000_000.0, 25, 0.02),
            (100_000_000.0, 20, 0.025),
            (230_000_000.0, 10, 0.05),
            (480_000_000.0, 5, 0.1),
            (600_000_000.0, 4, 0.125),
            (800_000_000.0, 2, 0.15),
        ];
        let small: [(f64, u32, f64); 9] = [
            (5_000.0, 75, 0.005),
            (10_000.0, 50, 0.0065),
            (50_000.0, 25, 0.01),
            (250_000.0, 20, 0.02),
            (1_000_000.0, 10, 0.05),
            (2_000_000.0, 5, 0.1),
            (5_000_000.0, 4, 0.125),
            (10_000_000.0, 3, 0.15),
            (20_000_000.0, 1, 0.25),
        ];
        let table: &[(f64, u32, f64)] = if self.max_leverage >= 125 {
            &big
        } else {
            &small
        };
        table
            .iter()
            .map(|&(cap, lev, mmr)| (cap, lev.min(self.max_leverage), mmr))
            .collect()
    }

    /// Largest position notional allowed at `leverage`.
    pub fn max_notional(&self, leverage: u32) -> f64 {
        self.brackets()
            .iter()
            .filter(|b| b.1 >= leverage)
            .map(|b| b.0)
            .fold(0.0, f64::max)
    }

    /// Maintenance margin ratio for a position notional.
    pub fn mmr(&self, notional: f64) -> f64 {
        self.brackets()
            .iter()
            .find(|b| notional <= b.0)
            .map(|b| b.2)
            .unwrap_or(0.25)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_point_round_trips() {
        assert_eq!(fmt_units(6_394_390, 2), "63943.90");
        assert_eq!(fmt_units(3, 3), "0.003");
        assert_eq!(fmt_units(-1500, 3), "-1.500");
        assert_eq!(fmt_units(7, 0), "7");
        assert_eq!(parse_units("63943.90", 2), Some(6_394_390));
        assert_eq!(parse_request_units("0.0010", 3), Ok(1));
        assert_eq!(
            parse_request_units("0.0001", 3),
            Err(DecimalError::Precision)
        );
        assert_eq!(parse_request_units("abc", 3), Err(DecimalError::Malformed));
    }

    #[test]
    fn brackets_cap_leverage() {
        let btc = find_spec("btcusdt").unwrap();
        assert_eq!(btc.max_notional(125), 50_000.0);
        assert_eq!(btc.max_notional(20), 100_000_000.0);
        let sol = find_spec("SOLUSDT").unwrap();
        assert!(sol.brackets().iter().all(|b| b.1 <= 100));
    }
}
