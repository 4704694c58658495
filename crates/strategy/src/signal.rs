//! Signal generation: a strength in [-1, 1] combining the EMA cross, RSI, MACD and the
//! Bollinger position, fired when it passes the threshold with enough components
//! agreeing.
//!
//! Each component maps one indicator to [-1, 1] (positive = long):
//! - trend: the EMA spread `(fast − slow) / slow`, scaled by `ema_scale` and squashed by
//!   `tanh`, so a 0.1 % spread at the default scale is a moderate vote;
//! - RSI: mean reversion, `(50 − rsi) / 20` clamped — oversold (< 30) is a full long vote;
//! - MACD: the histogram relative to price, squashed;
//! - Bollinger: `(0.5 − %B) · 2` clamped — below the lower band is a full long vote.
//!
//! The strength is the weighted mean of the components that are initialised. A
//! component *confirms* a direction when it points the same way with at least
//! `confirm_level` magnitude. Trend and mean-reversion votes often disagree: that is
//! what `min_confirmations` is for.

use crate::error::{Result, StrategyError};
use shmtrader_core::Side;

/// Indicator values the signal looks at (`None` = not initialised yet).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SignalInputs {
    /// Current price.
    pub price: f64,
    /// Fast EMA.
    pub ema_fast: Option<f64>,
    /// Slow EMA.
    pub ema_slow: Option<f64>,
    /// RSI (0–100).
    pub rsi: Option<f64>,
    /// MACD histogram.
    pub macd_hist: Option<f64>,
    /// Bollinger %B.
    pub bb_pct_b: Option<f64>,
}

/// Parameters of the signal.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalParams {
    /// |strength| needed to fire (before adaptive adjustments).
    pub threshold: f64,
    /// Components that must agree with the direction.
    pub min_confirmations: u32,
    /// Minimum |component| for it to count as a confirmation.
    pub confirm_level: f64,
    /// Relative price move since the last evaluation below which a tick is skipped.
    pub price_change_threshold: f64,
    /// Minimum time between two signals on one symbol (ns).
    pub cooldown_ns: u64,
    /// Trading window in UTC minutes of the day `[start, end)`; `None` = always.
    pub trading_window: Option<(u32, u32)>,
    /// Weights of trend, RSI, MACD, Bollinger.
    pub weights: [f64; 4],
    /// Scale of the EMA spread before `tanh`.
    pub ema_scale: f64,
    /// Scale of the MACD histogram (relative to price) before `tanh`.
    pub macd_scale: f64,
}

impl Default for SignalParams {
    fn default() -> Self {
        SignalParams {
            threshold: 0.35,
            min_confirmations: 2,
            confirm_level: 0.2,
            price_change_threshold: 0.0,
            cooldown_ns: 60_000_000_000,
            trading_window: None,
            weights: [1.0, 1.0, 1.0, 1.0],
            ema_scale: 1_000.0,
            macd_scale: 2_000.0,
        }
    }
}

impl SignalParams {
    /// Rejects values that cannot work, naming the field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, why: &str| Err(StrategyError::Param(format!("{f}: {why}")));
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return bad("threshold", "must be in [0, 1]");
        }
        if self.min_confirmations > 4 {
            return bad("min_confirmations", "there are only 4 components");
        }
        if !(self.confirm_level.is_finite() && (0.0..=1.0).contains(&self.confirm_level)) {
            return bad("confirm_level", "must be in [0, 1]");
        }
        if !(self.price_change_threshold.is_finite() && self.price_change_threshold >= 0.0) {
            return bad("price_change_threshold", "must be >= 0");
        }
        if self.weights.iter().any(|w| !w.is_finite() || *w < 0.0)
            || self.weights.iter().sum::<f64>() <= 0.0
        {
            return bad("weights", "must be non-negative with a positive sum");
        }
        if let Some((a, b)) = self.trading_window {
            if a >= 1440 || b > 1440 || a == b {
                return bad("trading_window", "minutes of the day, start != end, < 1440");
            }
        }
        if !(self.ema_scale > 0.0 && self.macd_scale > 0.0) {
            return bad("ema_scale", "scales must be positive");
        }
        Ok(())
    }
}

/// The four component votes and their combination.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Strength {
    /// Trend, RSI, MACD, Bollinger votes (0 when not initialised).
    pub components: [f64; 4],
    /// Weighted mean of the initialised components, in [-1, 1].
    pub value: f64,
    /// Components confirming a long.
    pub long_confirms: u32,
    /// Components confirming a short.
    pub short_confirms: u32,
}

/// Computes the strength of a set of inputs (pure, allocation-free).
#[inline]
pub fn strength(p: &SignalParams, x: &SignalInputs) -> Strength {
    let mut c = [f64::NAN; 4];
    if let (Some(f), Some(s)) = (x.ema_fast, x.ema_slow) {
        if s > 0.0 {
            c[0] = ((f - s) / s * p.ema_scale).tanh();
        }
    }
    if let Some(r) = x.rsi {
        c[1] = ((50.0 - r) / 20.0).clamp(-1.0, 1.0);
    }
    if let Some(h) = x.macd_hist {
        if x.price > 0.0 {
            c[2] = (h / x.price * p.macd_scale).tanh();
        }
    }
    if let Some(b) = x.bb_pct_b {
        c[3] = ((0.5 - b) * 2.0).clamp(-1.0, 1.0);
    }
    let (mut num, mut den) = (0.0, 0.0);
    let mut out = Strength::default();
    for (i, v) in c.iter().enumerate() {
        if v.is_finite() {
            num += p.weights[i] * v;
            den += p.weights[i];
            out.components[i] = *v;
            if *v >= p.confirm_level {
                out.long_confirms += 1;
            } else if *v <= -p.confirm_level {
                out.short_confirms += 1;
            }
        }
    }
    out.value = if den > 0.0 {
        (num / den).clamp(-1.0, 1.0)
    } else {
        0.0
    };
    out
}

/// Whether [`strength`] could pass `threshold` with enough confirmations, decided
/// without the two `tanh` calls (most of a tick's signal cost): each squashed
/// component is bounded by `|tanh u| ≤ min(|u|, 1)` with the sign of `u`, the others
/// are exact. A necessary condition only — when it holds the exact strength decides,
/// so skipping on `false` never changes which signals fire or their values. The slack
/// covers a last-ulp difference between the libm `tanh` and its bound.
#[inline]
fn could_fire(p: &SignalParams, x: &SignalInputs, threshold: f64) -> bool {
    const SLACK: f64 = 1e-9;
    // (lower bound, upper bound) of each component; NaN = not initialised.
    let mut b = [(f64::NAN, f64::NAN); 4];
    let squashed = |u: f64| {
        if u >= 0.0 {
            (0.0, u.min(1.0))
        } else {
            (u.max(-1.0), 0.0)
        }
    };
    if let (Some(f), Some(s)) = (x.ema_fast, x.ema_slow) {
        if s > 0.0 {
            let u = (f - s) / s * p.ema_scale;
            if !u.is_finite() {
                return true;
            }
            b[0] = squashed(u);
        }
    }
    if let Some(r) = x.rsi {
        let v = ((50.0 - r) / 20.0).clamp(-1.0, 1.0);
        b[1] = (v, v);
    }
    if let Some(h) = x.macd_hist {
        if x.price > 0.0 {
            let u = h / x.price * p.macd_scale;
            if !u.is_finite() {
                return true;
            }
            b[2] = squashed(u);
        }
    }
    if let Some(pb) = x.bb_pct_b {
        let v = ((0.5 - pb) * 2.0).clamp(-1.0, 1.0);
        b[3] = (v, v);
    }
    let (mut lo, mut hi, mut den) = (0.0, 0.0, 0.0);
    let (mut longs, mut shorts) = (0u32, 0u32);
    for (i, &(l, h)) in b.iter().enumerate() {
        if l.is_finite() {
            lo += p.weights[i] * l;
            hi += p.weights[i] * h;
            den += p.weights[i];
            longs += u32::from(h >= p.confirm_level - SLACK);
            shorts += u32::from(l <= -p.confirm_level + SLACK);
        }
    }
    // Compared as products (no division per tick); the slack dwarfs their rounding
    // while |threshold| ≤ 1, and anything else takes the exact path.
    if den <= 0.0 || threshold.is_nan() || threshold.abs() > 1.0 {
        return true;
    }
    (hi >= (threshold - SLACK) * den && longs >= p.min_confirmations)
        || (lo <= (SLACK - threshold) * den && shorts >= p.min_confirmations)
}

/// A fired signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fired {
    /// Direction.
    pub side: Side,
    /// The strength that fired.
    pub strength: Strength,
    /// The threshold it passed.
    pub threshold: f64,
}

#[derive(Debug, Clone, Copy, Default)]
struct SymState {
    last_signal_ns: Option<u64>,
    last_eval_px: f64,
}

/// Per-symbol gating: price-change skip, cooldown, time-of-day window.
#[derive(Debug, Clone)]
pub struct SignalEngine {
    params: SignalParams,
    syms: Vec<SymState>,
}

impl SignalEngine {
    /// Validates the parameters.
    pub fn new(params: SignalParams, n_symbols: usize) -> Result<SignalEngine> {
        params.validate()?;
        Ok(SignalEngine {
            params,
            syms: vec![SymState::default(); n_symbols],
        })
    }

    /// The parameters.
    pub fn params(&self) -> &SignalParams {
        &self.params
    }

    /// Evaluates one tick. `threshold` is the (possibly adaptive) threshold in force.
    /// Returns `None` when skipped or not firing.
    #[inline]
    pub fn evaluate(
        &mut self,
        symbol: usize,
        ts_ns: u64,
        x: &SignalInputs,
        threshold: f64,
    ) -> Option<Fired> {
        let p = &self.params;
        let st = self.syms.get_mut(symbol)?;
        if !(x.price.is_finite() && x.price > 0.0) {
            return None;
        }
        // With the default threshold of 0 no move is below it: skip the division.
        if p.price_change_threshold > 0.0
            && st.last_eval_px > 0.0
            && ((x.price - st.last_eval_px) / st.last_eval_px).abs() < p.price_change_threshold
        {
            return None;
        }
        st.last_eval_px = x.price;
        if let Some((a, b)) = p.trading_window {
            let minute = ((ts_ns / 60_000_000_000) % 1440) as u32;
            let inside = if a < b {
                minute >= a && minute < b
            } else {
                minute >= a || minute < b
            };
            if !inside {
                return None;
            }
        }
        if st
            .last_signal_ns
            .is_some_and(|l| ts_ns.saturating_sub(l) < p.cooldown_ns)
        {
            return None;
        }
        if !could_fire(p, x, threshold) {
            return None;
        }
        let s = strength(p, x);
        let side = if s.value >= threshold && s.long_confirms >= p.min_confirmations {
            Side::Buy
        } else if s.value <= -threshold && s.short_confirms >= p.min_confirmations {
            Side::Sell
        } else {
            return None;
        };
        st.last_signal_ns = Some(ts_ns);
        Some(Fired {
            side,
            strength: s,
            threshold,
        })
    }

    /// Forgets per-symbol state (cooldowns, last prices).
    pub fn reset(&mut self) {
        self.syms.iter_mut().for_each(|s| *s = SymState::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(price: f64, fast: f64, slow: f64, rsi: f64, hist: f64, pctb: f64) -> SignalInputs {
        SignalInputs {
            price,
            ema_fast: Some(fast),
            ema_slow: Some(slow),
            rsi: Some(rsi),
            macd_hist: Some(hist),
            bb_pct_b: Some(pctb),
        }
    }

    #[test]
    fn components_point_the_documented_way() {
        let p = SignalParams::default();
        let s = strength(&p, &inputs(100.0, 101.0, 100.0, 25.0, 0.1, -0.2));
        assert!(s.components.iter().all(|c| *c > 0.0), "{s:?}");
        assert_eq!(s.long_confirms, 4);
        assert!(s.value > 0.5);
        let s = strength(&p, &inputs(100.0, 99.0, 100.0, 80.0, -0.1, 1.3));
        assert_eq!(s.short_confirms, 4);
        assert!(s.value < -0.5);
    }

    #[test]
    fn uninitialised_components_do_not_vote() {
        let p = SignalParams::default();
        let x = SignalInputs {
            price: 100.0,
            rsi: Some(10.0),
            ..SignalInputs::default()
        };
        let s = strength(&p, &x);
        assert_eq!(s.value, 1.0);
        assert_eq!(s.long_confirms, 1);
        assert_eq!(s.components[0], 0.0);
    }

    #[test]
    fn fires_only_with_threshold_and_confirmations_then_cools_down() {
        let p = SignalParams {
            cooldown_ns: 1_000,
            min_confirmations: 3,
            ..SignalParams::default()
        };
        let mut e = SignalEngine::new(p, 1).unwrap();
        // Strong long, 4 confirmations.
        let strong = inputs(100.0, 101.0, 100.0, 25.0, 0.1, -0.2);
        assert_eq!(e.evaluate(0, 10, &strong, 0.3).unwrap().side, Side::Buy);
        // Cooldown.
        assert!(e.evaluate(0, 500, &strong, 0.3).is_none());
        assert!(e.evaluate(0, 1_010, &strong, 0.3).is_some());
        // Only two components agree: not enough confirmations.
        let mixed = inputs(100.0, 101.0, 100.0, 80.0, 0.1, 1.0);
        assert!(e.evaluate(0, 10_000, &mixed, 0.0).is_none());
        // Above threshold but the threshold is higher.
        assert!(e.evaluate(0, 20_000, &strong, 0.999).is_none());
    }

    #[test]
    fn price_change_and_time_window_filters() {
        let p = SignalParams {
            price_change_threshold: 0.01,
            cooldown_ns: 0,
            trading_window: Some((60, 120)),
            ..SignalParams::default()
        };
        let mut e = SignalEngine::new(p, 1).unwrap();
        let min = 60_000_000_000u64;
        let x = inputs(100.0, 101.0, 100.0, 25.0, 0.1, -0.2);
        assert!(
            e.evaluate(0, 30 * min, &x, 0.3).is_none(),
            "outside the window"
        );
        let y = SignalInputs { price: 100.5, ..x };
        assert!(e.evaluate(0, 90 * min, &y, 0.3).is_none(), "move below 1 %");
        let z = SignalInputs { price: 102.0, ..x };
        assert!(e.evaluate(0, 90 * min, &z, 0.3).is_some());
    }

    #[test]
    fn bad_params_are_refused_by_name() {
        let e = SignalEngine::new(
            SignalParams {
                threshold: 2.0,
                ..SignalParams::default()
            },
            1,
        );
        assert!(e.unwrap_err().to_string().contains("threshold"));
        let e = SignalEngine::new(
            SignalParams {
                weights: [0.0; 4],
                ..SignalParams::default()
            },
            1,
        );
        assert!(e.unwrap_err().to_string().contains("weights"));
    }
}
