//! Exchange trading rules of one symbol and exact rounding to them.
//!
//! Quantities sent to the exchange must be exact multiples of the step size and must print
//! without binary-float noise (`0.30000000000000004` is rejected by Binance with -1111).
//! Sizing therefore works in *integer step counts*: a quantity is `steps × step_size`, and
//! its decimal form is built with [`rust_decimal`] from the integer, never from an `f64`.

use crate::error::{Result, RiskError};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::str::FromStr;

/// Guard against `x / step` landing a hair under an integer because of binary rounding
/// (e.g. `0.3 / 0.1 = 2.9999999999999996`). One billionth of a step is far below anything
/// that could matter economically, and far above the float error of the division.
const STEP_EPSILON: f64 = 1e-9;

/// Largest step count handled; keeps `steps as f64` exact (< 2^53).
const MAX_STEPS: f64 = 9.0e15;

/// How to round a price to the tick grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceRounding {
    /// Towards zero / lower price (a buy limit that must not pay more).
    Down,
    /// Towards the higher price (a sell limit that must not receive less).
    Up,
    /// To the nearest tick.
    Nearest,
}

/// Binance `PRICE_FILTER.tickSize`, `LOT_SIZE.stepSize`/`minQty` and `MIN_NOTIONAL.notional`
/// of one symbol, with the float and integer forms precomputed so the hot path never
/// parses or divides decimals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SymbolRules {
    tick_size: Decimal,
    step_size: Decimal,
    min_qty: Decimal,
    min_notional: Decimal,
    tick_f64: f64,
    step_f64: f64,
    min_notional_f64: f64,
    /// `ceil(min_qty / step_size)`.
    min_qty_steps: u64,
}

impl SymbolRules {
    /// Validates and builds the rules; every size must be positive except `min_qty` and
    /// `min_notional`, which may be zero (no minimum).
    pub fn new(
        tick_size: Decimal,
        step_size: Decimal,
        min_qty: Decimal,
        min_notional: Decimal,
    ) -> Result<SymbolRules> {
        let bad = |field: &'static str, reason: &str| RiskError::InvalidRules {
            field,
            reason: reason.to_string(),
        };
        if tick_size <= Decimal::ZERO {
            return Err(bad("tick_size", "must be > 0"));
        }
        if step_size <= Decimal::ZERO {
            return Err(bad("step_size", "must be > 0"));
        }
        if min_qty < Decimal::ZERO {
            return Err(bad("min_qty", "must be >= 0"));
        }
        if min_notional < Decimal::ZERO {
            return Err(bad("min_notional", "must be >= 0"));
        }
        let to_f = |d: Decimal, field: &'static str| {
            d.to_f64().ok_or_else(|| bad(field, "does not fit an f64"))
        };
        let min_qty_steps = (min_qty / step_size)
            .ceil()
            .to_u64()
            .ok_or_else(|| bad("min_qty", "too many steps"))?;
        Ok(SymbolRules {
            tick_size,
            step_size,
            min_qty,
            min_notional,
            tick_f64: to_f(tick_size, "tick_size")?,
            step_f64: to_f(step_size, "step_size")?,
            min_notional_f64: to_f(min_notional, "min_notional")?,
            min_qty_steps,
        })
    }

    /// Parses the exchange's decimal strings (as in `exchangeInfo`), e.g.
    /// `from_strs("0.10", "0.001", "0.001", "100")` for BTCUSDT.
    pub fn from_strs(
        tick_size: &str,
        step_size: &str,
        min_qty: &str,
        min_notional: &str,
    ) -> Result<SymbolRules> {
        let p = |s: &str, field: &'static str| {
            Decimal::from_str(s.trim()).map_err(|e| RiskError::InvalidRules {
                field,
                reason: format!("cannot parse {s:?}: {e}"),
            })
        };
        SymbolRules::new(
            p(tick_size, "tick_size")?,
            p(step_size, "step_size")?,
            p(min_qty, "min_qty")?,
            p(min_notional, "min_notional")?,
        )
    }

    /// Price tick.
    pub fn tick_size(&self) -> Decimal {
        self.tick_size
    }
    /// Quantity step.
    pub fn step_size(&self) -> Decimal {
        self.step_size
    }
    /// Minimum order quantity.
    pub fn min_qty(&self) -> Decimal {
        self.min_qty
    }
    /// Minimum order notional (quote currency).
    pub fn min_notional(&self) -> Decimal {
        self.min_notional
    }
    /// Step size as `f64` (for PnL arithmetic, not for orders).
    pub fn step_f64(&self) -> f64 {
        self.step_f64
    }
    /// Tick size as `f64`.
    pub fn tick_f64(&self) -> f64 {
        self.tick_f64
    }
    /// Minimum notional as `f64`.
    pub fn min_notional_f64(&self) -> f64 {
        self.min_notional_f64
    }
    /// Minimum quantity expressed in whole steps (rounded up).
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

    /// Converts an exchange-reported quantity to steps, refusing one that is not a whole
    /// multiple (tolerance 1e-6 step, or 1e-12 relative for very large step counts, where
    /// the f64 quantity itself carries more rounding than 1e-6 step): an off-grid fill
    /// means the executor's picture of the symbol is wrong, and silently rounding it
    /// would desynchronise the position.
    pub fn exact_steps(&self, symbol_id: u32, qty: f64) -> Result<u64> {
        if !qty.is_finite() || qty <= 0.0 {
            return Err(RiskError::InvalidValue {
                what: "fill qty",
                value: qty,
            });
        }
        let x = qty / self.step_f64;
        let r = x.round();
        if (x - r).abs() > 1e-6_f64.max(r * 1e-12) || !(1.0..MAX_STEPS).contains(&r) {
            return Err(RiskError::OffStepQty {
                symbol_id,
                qty,
                step: self.step_f64,
            });
        }
        Ok(r as u64)
    }

    /// `steps × step_size` as `f64`.
    pub fn steps_to_f64(&self, steps: u64) -> f64 {
        steps as f64 * self.step_f64
    }

    /// Exact decimal quantity of `steps` steps, ready to print into an order.
    pub fn steps_to_qty(&self, steps: u64) -> Decimal {
        Decimal::from(steps)
            .checked_mul(self.step_size)
            .unwrap_or(Decimal::MAX)
            .normalize()
    }

    /// `price` rounded to the tick grid, as an exact decimal (`None` for a non-finite or
    /// non-positive price).
    pub fn round_price(&self, price: f64, mode: PriceRounding) -> Option<Decimal> {
        if !price.is_finite() || price <= 0.0 {
            return None;
        }
        let x = price / self.tick_f64;
        let ticks = match mode {
            PriceRounding::Down => (x + STEP_EPSILON).floor(),
            PriceRounding::Up => (x - STEP_EPSILON).ceil(),
            PriceRounding::Nearest => x.round(),
        };
        if !(1.0..MAX_STEPS).contains(&ticks) {
            return None;
        }
        Decimal::from(ticks as u64)
            .checked_mul(self.tick_size)
            .map(|d| d.normalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn btc() -> SymbolRules {
        SymbolRules::from_strs("0.10", "0.001", "0.001", "100").unwrap()
    }

    #[test]
    fn no_binary_float_noise_in_quantities() {
        let r = SymbolRules::from_strs("0.01", "0.1", "0.1", "5").unwrap();
        // 0.1 + 0.2 in f64 is 0.30000000000000004; three steps must print as 0.3.
        let steps = r.floor_steps(0.1 + 0.2);
        assert_eq!(steps, 3);
        assert_eq!(r.steps_to_qty(steps).to_string(), "0.3");
        // 0.3 / 0.1 = 2.9999999999999996 in f64; must still be 3 steps.
        assert_eq!(r.floor_steps(0.3), 3);
    }

    #[test]
    fn floor_and_ceil_steps() {
        let r = btc();
        assert_eq!(r.floor_steps(0.0129), 12);
        assert_eq!(r.steps_to_qty(12).to_string(), "0.012");
        assert_eq!(r.ceil_steps(0.0121), 13);
        assert_eq!(r.ceil_steps(0.012), 12);
        assert_eq!(r.floor_steps(-1.0), 0);
        assert_eq!(r.floor_steps(f64::NAN), 0);
        assert_eq!(r.min_qty_steps(), 1);
    }

    #[test]
    fn exact_steps_refuses_off_grid() {
        let r = btc();
        assert_eq!(r.exact_steps(0, 0.012).unwrap(), 12);
        assert!(matches!(
            r.exact_steps(0, 0.0125),
            Err(RiskError::OffStepQty { .. })
        ));
        assert!(r.exact_steps(0, 0.0).is_err());
    }

    #[test]
    fn price_rounding() {
        let r = btc();
        assert_eq!(
            r.round_price(50_000.07, PriceRounding::Down)
                .unwrap()
                .to_string(),
            "50000"
        );
        assert_eq!(
            r.round_price(50_000.07, PriceRounding::Up)
                .unwrap()
                .to_string(),
            "50000.1"
        );
        assert_eq!(
            r.round_price(50_000.26, PriceRounding::Nearest)
                .unwrap()
                .to_string(),
            "50000.3"
        );
        assert!(r.round_price(-1.0, PriceRounding::Down).is_none());
    }

    #[test]
    fn invalid_rules_name_the_field() {
        let e = SymbolRules::from_strs("0.1", "0", "0.001", "5").unwrap_err();
        assert!(e.to_string().contains("step_size"), "{e}");
        let e = SymbolRules::from_strs("x", "0.1", "0.001", "5").unwrap_err();
        assert!(e.to_string().contains("tick_size"), "{e}");
    }
}
