//! Position sizing: volatility-scaled notional, capped, rounded down to the step grid.

use crate::gate::RefuseReason;
use crate::params::RiskParams;
use shmtrader_core::{Instrument, Qty};

/// A sized entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizedOrder {
    /// Quantity in whole steps.
    pub steps: u64,
    /// The same quantity, exact.
    pub qty: Qty,
    /// `qty × price`.
    pub notional_usd: f64,
    /// Volatility multiplier applied to the base size.
    pub vol_scale: f64,
    /// True when the size was raised to the exchange minimum (`bump_to_min_qty`).
    pub bumped: bool,
}

/// Volatility multiplier: `target_volatility / (atr / price)`, clamped to
/// `[min_vol_scale, max_vol_scale]`. `None` when ATR or price is unusable.
#[inline]
pub fn vol_scale(p: &RiskParams, price: f64, atr: f64) -> Option<f64> {
    let vol = atr / price;
    if !(vol.is_finite() && vol > 0.0) {
        return None;
    }
    Some((p.target_volatility / vol).clamp(p.min_vol_scale, p.max_vol_scale))
}

/// Drawdown multiplier: 1 up to `drawdown_scale_start`, then linear down to
/// `drawdown_min_scale` at `max_drawdown` (where the gate halts entries anyway).
#[inline]
pub fn drawdown_scale(p: &RiskParams, drawdown: f64) -> f64 {
    if drawdown <= p.drawdown_scale_start {
        return 1.0;
    }
    let span = p.max_drawdown - p.drawdown_scale_start;
    let x = ((drawdown - p.drawdown_scale_start) / span).clamp(0.0, 1.0);
    1.0 - x * (1.0 - p.drawdown_min_scale)
}

/// Sizes an entry at `price`.
///
/// `notional = base_position_usd × vol_scale × dd_scale`, cut to `headroom_usd` (room left
/// under the per-symbol notional cap) and to `margin_available_usd × leverage`, then
/// rounded *down* to whole steps. If that is below the exchange's `min_qty` or
/// `min_notional`, the entry is refused — unless `bump_to_min_qty` is set and the
/// smallest valid size still fits both caps. No allocation.
pub fn size_entry(
    p: &RiskParams,
    rules: &Instrument,
    price: f64,
    atr: f64,
    dd_scale: f64,
    headroom_usd: f64,
    margin_available_usd: f64,
) -> Result<SizedOrder, RefuseReason> {
    let vol_scale = vol_scale(p, price, atr).ok_or(RefuseReason::VolatilityUnknown)?;
    let want = p.base_position_usd * vol_scale * dd_scale;
    let margin_cap = margin_available_usd.max(0.0) * p.leverage as f64;
    let cap = headroom_usd.min(margin_cap);
    let notional = want.min(cap).max(0.0);
    let mut steps = rules.floor_steps(notional / price);
    let min_steps = rules
        .min_qty_steps()
        .max(rules.ceil_steps(rules.min_notional_f64() / price))
        .max(1);
    let mut bumped = false;
    if steps < min_steps {
        let min_notional_at_px = rules.steps_to_f64(min_steps) * price;
        let fits = min_notional_at_px <= cap;
        if p.bump_to_min_qty && fits {
            steps = min_steps;
            bumped = true;
        } else if !fits && min_notional_at_px > headroom_usd {
            return Err(RefuseReason::MaxSymbolNotional {
                would_be_usd: min_notional_at_px,
                max_usd: headroom_usd,
            });
        } else if !fits {
            return Err(RefuseReason::InsufficientMargin {
                required_usd: min_notional_at_px / p.leverage as f64,
                available_usd: margin_available_usd,
            });
        } else {
            let qty = rules.steps_to_f64(steps);
            if steps < rules.min_qty_steps() || steps == 0 {
                return Err(RefuseReason::BelowMinQty {
                    qty,
                    min_qty: rules.steps_to_f64(rules.min_qty_steps()),
                });
            }
            return Err(RefuseReason::BelowMinNotional {
                notional_usd: qty * price,
                min_notional_usd: rules.min_notional_f64(),
            });
        }
    }
    Ok(SizedOrder {
        steps,
        qty: rules.steps_to_qty(steps),
        notional_usd: rules.steps_to_f64(steps) * price,
        vol_scale,
        bumped,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> RiskParams {
        RiskParams {
            base_position_usd: 1000.0,
            target_volatility: 0.001,
            min_vol_scale: 0.25,
            max_vol_scale: 2.0,
            leverage: 5,
            ..RiskParams::default()
        }
    }

    fn eth() -> Instrument {
        Instrument::from_basic("ETHUSDT", "0.01", "0.001", "0.001", "20").unwrap()
    }

    #[test]
    fn vol_scaling_and_clamps() {
        // ATR 0.2 % of price -> 0.001 / 0.002 = 0.5
        assert_eq!(vol_scale(&p(), 100.0, 0.2), Some(0.5));
        // ATR 0.01 % -> 10, clamped to 2
        assert_eq!(vol_scale(&p(), 100.0, 0.01), Some(2.0));
        // ATR 10 % -> 0.01, clamped to 0.25
        assert_eq!(vol_scale(&p(), 100.0, 10.0), Some(0.25));
        assert_eq!(vol_scale(&p(), 100.0, 0.0), None);
    }

    #[test]
    fn size_rounds_down_to_the_step() {
        // price 3000, ATR 3 (0.1 %) -> scale 1 -> 1000 USD -> 0.3333.. ETH -> 0.333
        let s = size_entry(&p(), &eth(), 3000.0, 3.0, 1.0, 1e9, 1e9).unwrap();
        assert_eq!(s.steps, 333);
        assert_eq!(eth().qty_f64(s.qty).to_string(), "0.333");
        assert!((s.notional_usd - 999.0).abs() < 1e-9);
        // drawdown scale halves it -> 500 / 3000 = 0.1666 -> 0.166
        let s = size_entry(&p(), &eth(), 3000.0, 3.0, 0.5, 1e9, 1e9).unwrap();
        assert_eq!(eth().qty_f64(s.qty).to_string(), "0.166");
    }

    #[test]
    fn caps_by_headroom_and_margin() {
        let s = size_entry(&p(), &eth(), 3000.0, 3.0, 1.0, 600.0, 1e9).unwrap();
        assert_eq!(eth().qty_f64(s.qty).to_string(), "0.2");
        // 50 USD margin x5 leverage = 250 USD -> 0.083
        let s = size_entry(&p(), &eth(), 3000.0, 3.0, 1.0, 1e9, 50.0).unwrap();
        assert_eq!(eth().qty_f64(s.qty).to_string(), "0.083");
    }

    #[test]
    fn below_minimum_is_refused_or_bumped_by_flag() {
        // BTC-like: min notional 100, price 50_000, base 60 USD -> 0.0012 BTC -> 0.001 = 50 USD
        let btc = Instrument::from_basic("BTCUSDT", "0.1", "0.001", "0.001", "100").unwrap();
        let small = RiskParams {
            base_position_usd: 60.0,
            ..p()
        };
        let r = size_entry(&small, &btc, 50_000.0, 50.0, 1.0, 1e9, 1e9).unwrap_err();
        assert!(matches!(r, RefuseReason::BelowMinNotional { .. }), "{r:?}");
        let tiny = RiskParams {
            base_position_usd: 20.0,
            ..p()
        };
        let r = size_entry(&tiny, &btc, 50_000.0, 50.0, 1.0, 1e9, 1e9).unwrap_err();
        assert!(matches!(r, RefuseReason::BelowMinQty { .. }), "{r:?}");
        let bump = RiskParams {
            bump_to_min_qty: true,
            ..small
        };
        let s = size_entry(&bump, &btc, 50_000.0, 50.0, 1.0, 1e9, 1e9).unwrap();
        // smallest qty with notional >= 100 at 50_000 is 0.002
        assert_eq!(btc.qty_f64(s.qty).to_string(), "0.002");
        assert!(s.bumped);
        // ...but never above the per-symbol cap
        let r = size_entry(&bump, &btc, 50_000.0, 50.0, 1.0, 80.0, 1e9).unwrap_err();
        assert!(matches!(r, RefuseReason::MaxSymbolNotional { .. }), "{r:?}");
        let r = size_entry(&bump, &btc, 50_000.0, 50.0, 1.0, 1e9, 10.0).unwrap_err();
        assert!(
            matches!(r, RefuseReason::InsufficientMargin { .. }),
            "{r:?}"
        );
    }

    #[test]
    fn drawdown_scale_is_linear() {
        let p = RiskParams {
            drawdown_scale_start: 0.02,
            max_drawdown: 0.10,
            drawdown_min_scale: 0.2,
            ..RiskParams::default()
        };
        assert_eq!(drawdown_scale(&p, 0.0), 1.0);
        assert_eq!(drawdown_scale(&p, 0.02), 1.0);
        assert!((drawdown_scale(&p, 0.06) - 0.6).abs() < 1e-12);
        assert!((drawdown_scale(&p, 0.10) - 0.2).abs() < 1e-12);
        assert!((drawdown_scale(&p, 0.5) - 0.2).abs() < 1e-12);
    }
}
