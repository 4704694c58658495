//! Contract specifications of the perpetuals the mock lists, and the fixed-point
//! arithmetic that keeps prices and quantities exact.
//!
//! Prices are held as integers in units of `10^-price_dp` and quantities in units of
//! `10^-qty_dp`, so tick and step checks, book keys and wire strings are exact; money
//! (balances, PnL, fees) is `f64`, as Binance's own 8-decimal strings allow.
//!
//! Filter values follow the real Binance USD-M perpetuals (mid-2024). MIN_NOTIONAL is
//! the real one as well: 100 USDT for BTCUSDT, 20 for ETHUSDT and 5 for the rest, so
//! clients that size from exchangeInfo are exercised honestly (reduceOnly is exempt).

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

/// One listed perpetual.
#[derive(Debug, Clone, Copy)]
pub struct SymbolSpec {
    /// `BTCUSDT`.
    pub symbol: &'static str,
    /// `BTC`.
    pub base: &'static str,
    /// Decimals of a price string (Binance `pricePrecision`).
    pub price_dp: u32,
    /// Tick size in price units.
    pub tick: i64,
    /// Decimals of a quantity string (`quantityPrecision`).
    pub qty_dp: u32,
    /// Step size in quantity units.
    pub step: i64,
    /// LOT_SIZE minQty in quantity units.
    pub min_qty: i64,
    /// LOT_SIZE maxQty in quantity units.
    pub max_qty: i64,
    /// MARKET_LOT_SIZE maxQty in quantity units.
    pub market_max_qty: i64,
    /// MIN_NOTIONAL in USDT.
    pub min_notional: f64,
    /// Maximum leverage (first bracket).
    pub max_leverage: u32,
    /// Synthetic start price.
    pub base_price: f64,
    /// Synthetic annualised volatility in the calm regime.
    pub vol_annual: f64,
    /// Share of the synthetic trade rate.
    pub activity: f64,
    /// Median synthetic aggTrade size in base units.
    pub median_qty: f64,
    /// Listing date (ms) for exchangeInfo.
    pub onboard_ms: u64,
}

macro_rules! spec {
    ($sym:expr, $base:expr, $pdp:expr, $tick:expr, $qdp:expr, $step:expr, $minq:expr, $maxq:expr,
     $mmaxq:expr, $notional:expr, $lev:expr, $price:expr, $vol:expr, $act:expr, $medq:expr, $onboard:expr) => {
        SymbolSpec {
            symbol: $sym,
            base: $base,
            price_dp: $pdp,
            tick: $tick,
            qty_dp: $qdp,
            step: $step,
            min_qty: $minq,
            max_qty: $maxq,
            market_max_qty: $mmaxq,
            min_notional: $notional,
            max_leverage: $lev,
            base_price: $price,
            vol_annual: $vol,
            activity: $act,
            median_qty: $medq,
            onboard_ms: $onboard,
        }
    };
}

/// Every symbol the mock can list (the default config lists the first three).
pub fn all_specs() -> Vec<SymbolSpec> {
    vec![
        spec!(
            "BTCUSDT",
            "BTC",
            2,
            10,
            3,
            1,
            1,
            1_000_000,
            120_000,
            100.0,
            125,
            64_000.0,
            0.50,
            0.40,
            0.012,
            1_569_398_400_000
        ),
        spec!(
            "ETHUSDT",
            "ETH",
            2,
            1,
            3,
            1,
            1,
            10_000_000,
            2_000_000,
            20.0,
            125,
            3_400.0,
            0.60,
            0.30,
            0.15,
            1_569_398_400_000
        ),
        spec!(
            "SOLUSDT",
            "SOL",
            4,
            100,
            0,
            1,
            1,
            1_000_000,
            5_000,
            5.0,
            100,
            150.0,
            0.80,
            0.15,
            4.0,
            1_600_000_000_000
        ),
        spec!(
            "BNBUSDT",
            "BNB",
            3,
            10,
            2,
            1,
            1,
            10_000_000,
            200_000,
            5.0,
            75,
            580.0,
            0.50,
            0.05,
            0.6,
            1_581_000_000_000
        ),
        spec!(
            "XRPUSDT",
            "XRP",
            4,
            1,
            1,
            1,
            1,
            100_000_000,
            20_000_000,
            5.0,
            75,
            0.55,
            0.70,
            0.04,
            900.0,
            1_578_000_000_000
        ),
        spec!(
            "DOGEUSDT",
            "DOGE",
            6,
            10,
            0,
            1,
            1,
            50_000_000,
            30_000_000,
            5.0,
            75,
            0.12,
            0.90,
            0.03,
            5_000.0,
            1_594_000_000_000
        ),
        spec!(
            "ADAUSDT",
            "ADA",
            4,
            1,
            0,
            1,
            1,
            10_000_000,
            3_000_000,
            5.0,
            75,
            0.42,
            0.80,
            0.02,
            1_200.0,
            1_578_000_000_000
        ),
        spec!(
            "LTCUSDT",
            "LTC",
            2,
            1,
            3,
            1,
            1,
            100_000_000,
            5_000_000,
            20.0,
            75,
            72.0,
            0.70,
            0.01,
            5.0,
            1_578_000_000_000
        ),
        spec!(
            "LINKUSDT",
            "LINK",
            3,
            1,
            2,
            10,
            10,
            20_000_000,
            200_000,
            5.0,
            75,
            14.0,
            0.80,
            0.01,
            30.0,
            1_578_000_000_000
        ),
        spec!(
            "AVAXUSDT",
            "AVAX",
            4,
            10,
            0,
            1,
            1,
            1_000_000,
            20_000,
            5.0,
            75,
            27.0,
            0.90,
            0.01,
            15.0,
            1_600_600_000_000
        ),
    ]
}

/// Looks a symbol up (case-insensitive).
pub fn find_spec(symbol: &str) -> Option<SymbolSpec> {
    all_specs()
        .into_iter()
        .find(|s| s.symbol.eq_ignore_ascii_case(symbol))
}

fn pow10(dp: u32) -> i64 {
    10_i64.pow(dp)
}

/// Formats fixed-point units with `dp` decimals, the way Binance prints decimals.
pub fn fmt_units(v: i64, dp: u32) -> String {
    if dp == 0 {
        return v.to_string();
    }
    let p = pow10(dp);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let pu = p.unsigned_abs();
    format!("{sign}{}.{:0width$}", a / pu, a % pu, width = dp as usize)
}

/// Parses a decimal string from recorded data into units, rounding surplus digits.
pub fn parse_units(s: &str, dp: u32) -> Option<i64> {
    let d: Decimal = s.trim().parse().ok()?;
    let scaled = d.checked_mul(Decimal::from(pow10(dp)))?.round();
    scaled.to_i64()
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
pub fn parse_request_units(s: &str, dp: u32) -> std::result::Result<i64, DecimalError> {
    let d: Decimal = s.trim().parse().map_err(|_| DecimalError::Malformed)?;
    if d.normalize().scale() > dp {
        return Err(DecimalError::Precision);
    }
    d.checked_mul(Decimal::from(pow10(dp)))
        .and_then(|x| x.to_i64())
        .ok_or(DecimalError::Malformed)
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
