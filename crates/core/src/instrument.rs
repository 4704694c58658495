//! One symbol's trading rules in integer units: the single definition that the exchange
//! client, the risk engine, the mock exchange and the backtest all use.
//!
//! # Exact decimals
//! Every price and quantity is an integer count of units of `10^-dp`, where `dp` is the
//! number of decimals of the symbol's tick (price) or step (quantity) filter with
//! trailing zeros dropped. Rounding to the tick / step grid is integer arithmetic and
//! the wire text is printed from the integer, so the exchange never sees
//! `0.30000000000000004`: `0.1 + 0.2` rounded down to step `0.001` is written `0.300`.
//! Floats enter only at the boundary: [`Instrument::qty_from_f64`] and
//! [`Instrument::price_from_f64`] (a relative tolerance of 1e-12 absorbs binary
//! representation error), and the sizing helpers [`Instrument::floor_steps`] /
//! [`Instrument::ceil_steps`] (a 1e-9-step guard, so `0.3 / 0.1` does not lose a step).
//!
//! # Steps
//! Sizing works in whole *steps* of the market lot (the executor sends market orders):
//! a quantity of `n` steps is `n × market_lot.step` units. [`Instrument::steps_to_qty`]
//! and [`Instrument::exact_steps`] convert both ways; an exchange-reported quantity that
//! is not a whole number of steps is refused, because silently rounding it would
//! desynchronise a position from the exchange's.
//!
//! # Where the values come from
//! Live, from `exchangeInfo` (the exchange crate builds an [`Instrument`] from the
//! filters through [`Instrument::from_decimals`]); offline (paper, backtest, the mock),
//! from the [`catalog`] of real USD-M perpetuals, with [`Instrument::generic`] for a
//! symbol the catalog does not list.

use crate::error::{CoreError, Result};
use crate::records::Side;

/// Largest number of decimals a filter may have (keeps `units` well inside `i64`).
pub const MAX_DP: u32 = 16;

/// Guard against `x / step` landing a hair under an integer because of binary rounding
/// (`0.3 / 0.1 = 2.9999999999999996`): one billionth of a step is far below anything
/// economic and far above the float error of the division.
const STEP_EPSILON: f64 = 1e-9;

/// Largest step count handled; keeps `steps as f64` exact (< 2^53).
const MAX_STEPS: f64 = 9.0e15;

/// Which way to round onto a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero / down.
    Down,
    /// Up.
    Up,
    /// Nearest; halves go up.
    Nearest,
}

/// How to round a limit price onto the tick grid, relative to the order's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceRounding {
    /// Away from the market: a buy rounds down, a sell up (never pays more than asked).
    Passive,
    /// Into the market: a buy rounds up, a sell down (more likely to fill).
    Aggressive,
    /// Nearest tick.
    Nearest,
}

/// A quantity in units of `10^-qty_dp` of its instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(pub i64);

/// A price in units of `10^-price_dp` of its instrument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(pub i64);

const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// `10^dp` (dp ≤ 18).
pub fn pow10(dp: u32) -> i64 {
    POW10[(dp as usize).min(18)]
}

/// Number of decimals of a decimal string, trailing zeros ignored (`"0.10"` → 1,
/// `"1000"` → 0, `"0.001"` → 3).
pub fn decimals(s: &str) -> u32 {
    match s.trim().split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len() as u32,
        None => 0,
    }
}

/// Parses a non-negative decimal string into units of `10^-dp`. Digits beyond `dp`
/// are rounded per `round`; `None` on malformed text or overflow.
pub fn parse_units(s: &str, dp: u32, round: Rounding) -> Option<i64> {
    if dp > MAX_DP {
        return None;
    }
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    let fb = frac.as_bytes();
    for k in 0..dp as usize {
        let d = fb.get(k).map_or(0, |b| (b - b'0') as i64);
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    let rest = fb.get(dp as usize..).unwrap_or(&[]);
    if rest.iter().any(|b| *b != b'0') {
        let bump = match round {
            Rounding::Down => false,
            Rounding::Up => true,
            Rounding::Nearest => rest.first().is_some_and(|b| *b >= b'5'),
        };
        if bump {
            v = v.checked_add(1)?;
        }
    }
    Some(v)
}

/// Units of an exact decimal: `None` if it has non-zero digits beyond `dp` (a request
/// with more precision than the asset allows is refused, never rounded).
pub fn parse_exact(s: &str, dp: u32) -> Option<i64> {
    let down = parse_units(s, dp, Rounding::Down)?;
    (parse_units(s, dp, Rounding::Up)? == down).then_some(down)
}

/// Appends `units` as a decimal with `dp` decimals (`(300, 3)` → `0.300`). No
/// allocation beyond `out`'s own growth.
pub fn write_units(out: &mut Vec<u8>, units: i64, dp: u32) {
    let mut digits = [0u8; 24];
    let mut n = 0;
    let mut v = units.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
        if v == 0 {
            break;
        }
    }
    let dp = (dp as usize).min(20);
    while n <= dp {
        digits[n] = b'0';
        n += 1;
    }
    if units < 0 {
        out.push(b'-');
    }
    for i in (0..n).rev() {
        out.push(digits[i]);
        if i == dp && dp > 0 {
            out.push(b'.');
        }
    }
}

/// `units` with `dp` decimals as a `String` (cold paths, messages, tests).
pub fn fmt_units(units: i64, dp: u32) -> String {
    let mut v = Vec::with_capacity(24);
    write_units(&mut v, units, dp);
    String::from_utf8_lossy(&v).into_owned()
}

/// Float to units with a relative tolerance, then rounded per `r`.
fn f64_to_units(x: f64, dp: u32, r: Rounding) -> Option<i64> {
    if !x.is_finite() || x < 0.0 || dp > MAX_DP {
        return None;
    }
    let scaled = x * POW10[dp as usize] as f64;
    if scaled >= 9.0e18 {
        return None;
    }
    let nearest = scaled.round();
    let tol = (scaled.abs() * 1e-12).max(1e-9);
    let u = if (scaled - nearest).abs() <= tol {
        nearest
    } else {
        match r {
            Rounding::Down => scaled.floor(),
            Rounding::Up => scaled.ceil(),
            Rounding::Nearest => nearest,
        }
    };
    Some(u as i64)
}

/// Rounds `units` onto the grid `anchor + k * step`.
fn snap(units: i64, anchor: i64, step: i64, r: Rounding) -> i64 {
    if step <= 1 {
        return units;
    }
    let off = units - anchor;
    let k = match r {
        Rounding::Down => off.div_euclid(step),
        Rounding::Up => (off + step - 1).div_euclid(step),
        Rounding::Nearest => (off + step / 2).div_euclid(step),
    };
    anchor + k * step
}

/// Quantity bounds and step of LOT_SIZE or MARKET_LOT_SIZE, in quantity units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotRule {
    /// Minimum quantity.
    pub min: i64,
    /// Maximum quantity (0 = unlimited).
    pub max: i64,
    /// Step (≥ 1).
    pub step: i64,
}

/// The filters of one symbol as the exchange prints them (`exchangeInfo`), before
/// they are turned into integer units. Empty `market_*` fields mean the symbol has no
/// MARKET_LOT_SIZE filter (LOT_SIZE applies); an empty `min_notional` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DecimalFilters<'a> {
    /// PRICE_FILTER `tickSize`.
    pub tick_size: &'a str,
    /// PRICE_FILTER `minPrice` (`"0"` = none).
    pub min_price: &'a str,
    /// PRICE_FILTER `maxPrice` (`"0"` = none).
    pub max_price: &'a str,
    /// LOT_SIZE `stepSize`.
    pub step_size: &'a str,
    /// LOT_SIZE `minQty`.
    pub min_qty: &'a str,
    /// LOT_SIZE `maxQty` (`"0"` = none).
    pub max_qty: &'a str,
    /// MARKET_LOT_SIZE `stepSize` (empty: as LOT_SIZE).
    pub market_step_size: &'a str,
    /// MARKET_LOT_SIZE `minQty`.
    pub market_min_qty: &'a str,
    /// MARKET_LOT_SIZE `maxQty`.
    pub market_max_qty: &'a str,
    /// MIN_NOTIONAL `notional` (empty: none).
    pub min_notional: &'a str,
}

/// A symbol's trading rules in integer units, with the float forms the hot path needs
/// precomputed (so sizing never parses or divides decimals).
#[derive(Debug, Clone, PartialEq)]
pub struct Instrument {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Decimals of a price.
    pub price_dp: u32,
    /// Tick in price units.
    pub tick: i64,
    /// Minimum price (0 = none).
    pub min_price: i64,
    /// Maximum price (0 = none).
    pub max_price: i64,
    /// Decimals of a quantity.
    pub qty_dp: u32,
    /// LOT_SIZE (limit orders).
    pub lot: LotRule,
    /// MARKET_LOT_SIZE (market orders); LOT_SIZE when the symbol has none.
    pub market_lot: LotRule,
    /// MIN_NOTIONAL in units of `10^-(price_dp + qty_dp)` (0 = none).
    pub min_notional: i128,
    step_f64: f64,
    tick_f64: f64,
    min_notional_f64: f64,
    min_qty_steps: u64,
}

fn invalid(symbol: &str, field: &'static str, reason: impl Into<String>) -> CoreError {
    CoreError::Instrument {
        symbol: symbol.to_string(),
        field,
        reason: reason.into(),
    }
}

impl Instrument {
    /// Builds the rules from the exchange's decimal strings. Refuses a zero tick or
    /// step, a malformed number and more than 16 decimals: trading a symbol on guessed
    /// rules is worse than not trading it.
    pub fn from_decimals(symbol: &str, f: &DecimalFilters<'_>) -> Result<Instrument> {
        let has_market = !f.market_step_size.trim().is_empty();
        let price_dp = decimals(f.tick_size).max(decimals(f.min_price));
        let mut qty_dp = decimals(f.step_size).max(decimals(f.min_qty));
        if has_market {
            qty_dp = qty_dp
                .max(decimals(f.market_step_size))
                .max(decimals(f.market_min_qty));
        }
        if price_dp > MAX_DP || qty_dp > MAX_DP {
            return Err(invalid(symbol, "filters", "more than 16 decimals"));
        }
        let p = |s: &str, dp: u32, r: Rounding, field: &'static str| {
            parse_units(s, dp, r)
                .ok_or_else(|| invalid(symbol, field, format!("{s:?} is not a decimal")))
        };
        let tick = p(f.tick_size, price_dp, Rounding::Up, "tickSize")?;
        if tick <= 0 {
            return Err(invalid(symbol, "tickSize", "is 0"));
        }
        let lot_rule = |min: &str, max: &str, step: &str, field: &'static str| -> Result<LotRule> {
            let step_u = p(step, qty_dp, Rounding::Up, field)?;
            if step_u <= 0 {
                return Err(invalid(symbol, field, "stepSize is 0"));
            }
            Ok(LotRule {
                min: p(min, qty_dp, Rounding::Up, field)?,
                max: p(max, qty_dp, Rounding::Down, field)?,
                step: step_u,
            })
        };
        let lot = lot_rule(f.min_qty, f.max_qty, f.step_size, "LOT_SIZE")?;
        let market_lot = if has_market {
            lot_rule(
                f.market_min_qty,
                f.market_max_qty,
                f.market_step_size,
                "MARKET_LOT_SIZE",
            )?
        } else {
            lot
        };
        let min_notional = if f.min_notional.trim().is_empty() {
            0
        } else {
            // Round up: a notional exactly at the limit must pass, never one below.
            let dp = price_dp + qty_dp;
            if dp > 18 {
                return Err(invalid(
                    symbol,
                    "MIN_NOTIONAL",
                    "price and quantity decimals exceed 18",
                ));
            }
            let v = parse_units(f.min_notional, dp, Rounding::Up)
                .or_else(|| {
                    // More than 16 decimals at this scale: whole units, rounded up
                    // (stricter than the exchange, never looser).
                    parse_units(f.min_notional, 0, Rounding::Up)
                        .and_then(|w| w.checked_mul(POW10[dp as usize]))
                })
                .ok_or_else(|| {
                    invalid(
                        symbol,
                        "MIN_NOTIONAL",
                        format!("{:?} is not a decimal", f.min_notional),
                    )
                })?;
            v as i128
        };
        let min_price = p(f.min_price, price_dp, Rounding::Up, "minPrice")?;
        let max_price = p(f.max_price, price_dp, Rounding::Down, "maxPrice")?;
        Ok(Instrument::assemble(
            symbol,
            price_dp,
            tick,
            min_price,
            max_price,
            qty_dp,
            lot,
            market_lot,
            min_notional,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        symbol: &str,
        price_dp: u32,
        tick: i64,
        min_price: i64,
        max_price: i64,
        qty_dp: u32,
        lot: LotRule,
        market_lot: LotRule,
        min_notional: i128,
    ) -> Instrument {
        let step_f64 = market_lot.step as f64 / POW10[qty_dp as usize] as f64;
        let min_steps = (market_lot.min + market_lot.step - 1) / market_lot.step;
        Instrument {
            symbol: symbol.to_string(),
            price_dp,
            tick,
            min_price,
            max_price,
            qty_dp,
            lot,
            market_lot,
            min_notional,
            step_f64,
            tick_f64: tick as f64 / POW10[price_dp as usize] as f64,
            min_notional_f64: min_notional as f64 / POW10[(price_dp + qty_dp) as usize] as f64,
            min_qty_steps: min_steps.max(0) as u64,
        }
    }

    /// Rules from the four filters that matter for market orders (tick, step, min qty,
    /// min notional), with no price or quantity bounds: tests and offline tools.
    pub fn from_basic(
        symbol: &str,
        tick: &str,
        step: &str,
        min_qty: &str,
        min_notional: &str,
    ) -> Result<Instrument> {
        Instrument::from_decimals(
            symbol,
            &DecimalFilters {
                tick_size: tick,
                min_price: "0",
                max_price: "0",
                step_size: step,
                min_qty,
                max_qty: "0",
                min_notional,
                ..DecimalFilters::default()
            },
        )
    }

    /// Rules for a symbol nothing else describes (no exchange, not in the [`catalog`]):
    /// tick 0.01, step 0.001, min qty 0.001, min notional 5 — Binance's common filters
    /// for mid-priced perpetuals. Only offline (backtest, paper on unknown data) uses
    /// this; a venue always supplies its own.
    pub fn generic(symbol: &str) -> Instrument {
        let lot = LotRule {
            min: 1,
            max: 0,
            step: 1,
        };
        Instrument::assemble(symbol, 2, 1, 1, 0, 3, lot, lot, 5 * POW10[5] as i128)
    }

    fn lot_for(&self, market: bool) -> &LotRule {
        if market {
            &self.market_lot
        } else {
            &self.lot
        }
    }

    // ------------------------------------------------------------------ exact units

    /// A float quantity onto the LOT_SIZE (or MARKET_LOT_SIZE) step grid.
    pub fn qty_from_f64(&self, qty: f64, r: Rounding, market: bool) -> Result<Qty> {
        let u = f64_to_units(qty, self.qty_dp, r).ok_or_else(|| {
            invalid(
                &self.symbol,
                "quantity",
                format!("{qty} is not a finite non-negative quantity"),
            )
        })?;
        let lot = self.lot_for(market);
        Ok(Qty(snap(u, lot.min, lot.step, r).max(0)))
    }

    /// A float quantity rounded down onto the step grid (never more than asked).
    pub fn round_qty_down(&self, qty: f64) -> Result<Qty> {
        self.qty_from_f64(qty, Rounding::Down, false)
    }

    /// A float price onto the tick grid, rounded toward the passive or aggressive side.
    pub fn price_from_f64(&self, price: f64, side: Side, r: PriceRounding) -> Result<Price> {
        let dir = match (r, side) {
            (PriceRounding::Nearest, _) => Rounding::Nearest,
            (PriceRounding::Passive, Side::Buy) | (PriceRounding::Aggressive, Side::Sell) => {
                Rounding::Down
            }
            (PriceRounding::Passive, Side::Sell) | (PriceRounding::Aggressive, Side::Buy) => {
                Rounding::Up
            }
        };
        self.round_price(price, dir)
    }

    /// A float price onto the tick grid in a fixed direction.
    pub fn round_price(&self, price: f64, dir: Rounding) -> Result<Price> {
        let u = f64_to_units(price, self.price_dp, dir).ok_or_else(|| {
            invalid(
                &self.symbol,
                "price",
                format!("{price} is not a finite non-negative price"),
            )
        })?;
        Ok(Price(snap(u, self.min_price, self.tick, dir).max(0)))
    }

    /// Parses an exact quantity string (refuses digits beyond the step's precision).
    pub fn parse_qty(&self, s: &str) -> Result<Qty> {
        parse_exact(s, self.qty_dp).map(Qty).ok_or_else(|| {
            invalid(
                &self.symbol,
                "quantity",
                format!("{s:?} is not a quantity with ≤ {} decimals", self.qty_dp),
            )
        })
    }

    /// Parses an exact price string (refuses digits beyond the tick's precision).
    pub fn parse_price(&self, s: &str) -> Result<Price> {
        parse_exact(s, self.price_dp).map(Price).ok_or_else(|| {
            invalid(
                &self.symbol,
                "price",
                format!("{s:?} is not a price with ≤ {} decimals", self.price_dp),
            )
        })
    }

    /// Wire text of a quantity (`0.300`).
    pub fn fmt_qty(&self, q: Qty) -> String {
        fmt_units(q.0, self.qty_dp)
    }

    /// Wire text of a price.
    pub fn fmt_price(&self, p: Price) -> String {
        fmt_units(p.0, self.price_dp)
    }

    /// Quantity as `f64` (display, risk maths).
    pub fn qty_f64(&self, q: Qty) -> f64 {
        q.0 as f64 / POW10[self.qty_dp as usize] as f64
    }

    /// Price as `f64`.
    pub fn price_f64(&self, p: Price) -> f64 {
        p.0 as f64 / POW10[self.price_dp as usize] as f64
    }

    // ------------------------------------------------------------------ filters

    fn filter_err(&self, filter: &'static str, detail: String) -> CoreError {
        CoreError::Filter {
            symbol: self.symbol.clone(),
            filter,
            detail,
        }
    }

    /// Checks an order against LOT_SIZE / MARKET_LOT_SIZE, PRICE_FILTER and MIN_NOTIONAL
    /// exactly as the exchange will. `price` is the limit price (None for market);
    /// `reference` is the price to judge a market order's notional by (the mark price);
    /// without it a market order's notional is left to the exchange. reduceOnly orders
    /// are exempt from MIN_NOTIONAL, as on Binance. Allocation-free when it passes.
    pub fn check(
        &self,
        qty: Qty,
        price: Option<Price>,
        reference: Option<Price>,
        reduce_only: bool,
    ) -> Result<()> {
        self.check_qty(qty, price.is_none())?;
        if let Some(p) = price {
            self.check_price(p)?;
        }
        if !reduce_only && self.min_notional > 0 {
            if let Some(px) = price.or(reference) {
                let notional = px.0 as i128 * qty.0 as i128;
                if notional < self.min_notional {
                    let dp = self.price_dp + self.qty_dp;
                    return Err(self.filter_err(
                        "MIN_NOTIONAL",
                        format!(
                            "notional {} (price {} x qty {}) below min notional {}",
                            fmt_units(notional.min(i64::MAX as i128) as i64, dp),
                            self.fmt_price(px),
                            self.fmt_qty(qty),
                            fmt_units(self.min_notional.min(i64::MAX as i128) as i64, dp)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// LOT_SIZE (limit) or MARKET_LOT_SIZE (`market`) check of a quantity.
    pub fn check_qty(&self, qty: Qty, market: bool) -> Result<()> {
        let lot = self.lot_for(market);
        let lot_name = if market {
            "MARKET_LOT_SIZE"
        } else {
            "LOT_SIZE"
        };
        if qty.0 <= 0 {
            return Err(self.filter_err(lot_name, "quantity must be > 0".into()));
        }
        if qty.0 < lot.min {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} below min qty {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.min, self.qty_dp)
                ),
            ));
        }
        if lot.max > 0 && qty.0 > lot.max {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} above max qty {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.max, self.qty_dp)
                ),
            ));
        }
        if (qty.0 - lot.min).rem_euclid(lot.step) != 0 {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} not on step size {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.step, self.qty_dp)
                ),
            ));
        }
        Ok(())
    }

    /// PRICE_FILTER check of a price (bounds and tick grid).
    pub fn check_price(&self, p: Price) -> Result<()> {
        if p.0 <= 0 || (self.min_price > 0 && p.0 < self.min_price) {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} below min price {}",
                    self.fmt_price(p),
                    fmt_units(self.min_price, self.price_dp)
                ),
            ));
        }
        if self.max_price > 0 && p.0 > self.max_price {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} above max price {}",
                    self.fmt_price(p),
                    fmt_units(self.max_price, self.price_dp)
                ),
            ));
        }
        if (p.0 - self.min_price).rem_euclid(self.tick) != 0 {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} not on tick size {}",
                    self.fmt_price(p),
                    fmt_units(self.tick, self.price_dp)
                ),
            ));
        }
        Ok(())
    }

    /// The smallest quantity on the step grid whose notional at `price` passes
    /// MIN_NOTIONAL and LOT_SIZE (for sizing up to the exchange minimum).
    pub fn min_qty_at(&self, price: Price, market: bool) -> Qty {
        let lot = self.lot_for(market);
        let mut q = lot.min.max(lot.step);
        if self.min_notional > 0 && price.0 > 0 {
            let need = (self.min_notional + price.0 as i128 - 1) / price.0 as i128;
            let need = need.min(i64::MAX as i128) as i64;
            q = q.max(snap(need, lot.min, lot.step, Rounding::Up));
        }
        Qty(q)
    }

    // ------------------------------------------------------------------ sizing in steps

    /// Market-lot step size as `f64` (PnL arithmetic and sizing, never orders).
    pub fn step_f64(&self) -> f64 {
        self.step_f64
    }

    /// Tick size as `f64`.
    pub fn tick_f64(&self) -> f64 {
        self.tick_f64
    }

    /// Minimum notional as `f64` (quote currency; 0 = none).
    pub fn min_notional_f64(&self) -> f64 {
        self.min_notional_f64
    }

    /// Market-lot minimum quantity in whole steps (rounded up).
    pub fn min_qty_steps(&self) -> u64 {
        self.min_qty_steps
    }

    /// Whole steps in `qty`, rounded down (0 for non-positive or non-finite input).
    pub fn floor_steps(&self, qty: f64) -> u64 {
        let x = qty / self.step_f64;
        if !x.is_finite() || x <= 0.0 {
            return 0;
        }
        let x = (x + STEP_EPSILON).floor();
        if x >= MAX_STEPS {
            MAX_STEPS as u64
        } else {
            x as u64
        }
    }

    /// Whole steps in `qty`, rounded up.
    pub fn ceil_steps(&self, qty: f64) -> u64 {
        let x = qty / self.step_f64;
        if !x.is_finite() || x <= 0.0 {
            return 0;
        }
        let x = (x - STEP_EPSILON).ceil().max(0.0);
        if x >= MAX_STEPS {
            MAX_STEPS as u64
        } else {
            x as u64
        }
    }

    /// An exchange-reported quantity in whole steps, refusing one that is not a whole
    /// multiple (tolerance 1e-6 step, or 1e-12 relative for very large step counts,
    /// where the f64 quantity itself carries more rounding than 1e-6 step).
    pub fn exact_steps(&self, qty: f64) -> Result<u64> {
        let x = qty / self.step_f64;
        let r = x.round();
        if !qty.is_finite()
            || qty <= 0.0
            || (x - r).abs() > 1e-6_f64.max(r * 1e-12)
            || !(1.0..MAX_STEPS).contains(&r)
        {
            return Err(CoreError::OffStep {
                symbol: self.symbol.clone(),
                qty,
                step: self.step_f64,
            });
        }
        Ok(r as u64)
    }

    /// An exact quantity in whole market-lot steps (`None` if it is off the grid).
    pub fn qty_steps(&self, q: Qty) -> Option<u64> {
        let step = self.market_lot.step;
        (q.0 >= 0 && q.0 % step == 0).then_some((q.0 / step) as u64)
    }

    /// `steps × step` as `f64`.
    pub fn steps_to_f64(&self, steps: u64) -> f64 {
        steps as f64 * self.step_f64
    }

    /// The exact quantity of `steps` steps.
    pub fn steps_to_qty(&self, steps: u64) -> Qty {
        let steps = i64::try_from(steps).unwrap_or(i64::MAX);
        Qty(steps.saturating_mul(self.market_lot.step))
    }
}

pub mod catalog;

#[cfg(test)]
mod tests;
