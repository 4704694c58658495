//! Adaptive signal threshold: the base threshold moved by the recent win rate against a
//! target, and by the regime, rate-limited so it cannot oscillate.
//!
//! Losing more often than the target raises the threshold (be pickier); winning more
//! lowers it. The move per closed trade is at most `max_step`, and the value stays in
//! `[min, max]`, so a streak cannot swing it from one extreme to the other and
//! alternating outcomes leave it nearly still.

use crate::error::{Result, StrategyError};
use shmtrader_core::Outcome;

/// Parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AdaptiveParams {
    /// The threshold with no evidence.
    pub base: f64,
    /// Lower bound.
    pub min: f64,
    /// Upper bound.
    pub max: f64,
    /// Win rate the strategy aims for.
    pub target_win_rate: f64,
    /// Trades in the trailing win-rate window.
    pub window: usize,
    /// Threshold change per unit of win-rate shortfall.
    pub gain: f64,
    /// Largest change per outcome.
    pub max_step: f64,
    /// Multiplier per regime code (index = regime code, 0 = unknown).
    pub regime_multiplier: [f64; 8],
}

impl Default for AdaptiveParams {
    fn default() -> Self {
        AdaptiveParams {
            base: 0.35,
            min: 0.2,
            max: 0.8,
            target_win_rate: 0.5,
            window: 30,
            gain: 0.5,
            max_step: 0.01,
            regime_multiplier: [1.0; 8],
        }
    }
}

/// The threshold state.
#[derive(Debug, Clone)]
pub struct AdaptiveThreshold {
    p: AdaptiveParams,
    wins: Vec<bool>,
    head: usize,
    len: usize,
    won: usize,
    regime: u8,
    value: f64,
}

impl AdaptiveThreshold {
    /// Validates and starts at the base threshold.
    pub fn new(p: AdaptiveParams) -> Result<AdaptiveThreshold> {
        let ok = p.min.is_finite()
            && p.max.is_finite()
            && 0.0 <= p.min
            && p.min <= p.base
            && p.base <= p.max
            && p.max <= 1.0
            && (0.0..=1.0).contains(&p.target_win_rate)
            && p.window >= 1
            && p.gain.is_finite()
            && p.gain >= 0.0
            && p.max_step > 0.0
            && p.regime_multiplier
                .iter()
                .all(|m| m.is_finite() && *m > 0.0);
        if !ok {
            return Err(StrategyError::Param(
                "adaptive threshold: need 0 <= min <= base <= max <= 1, window >= 1, max_step > 0"
                    .into(),
            ));
        }
        let value = p.base;
        Ok(AdaptiveThreshold {
            wins: vec![false; p.window],
            p,
            head: 0,
            len: 0,
            won: 0,
            regime: 0,
            value,
        })
    }

    /// The threshold in force.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Trailing win rate, if any trade closed.
    pub fn win_rate(&self) -> Option<f64> {
        (self.len > 0).then(|| self.won as f64 / self.len as f64)
    }

    /// Sets the regime (called at every closed bar) and moves the threshold one
    /// rate-limited step toward the regime's target.
    pub fn set_regime(&mut self, regime: u8) {
        self.regime = regime;
        self.step();
    }

    /// Learns from one closed trade (win = positive net PnL).
    pub fn on_outcome(&mut self, o: &Outcome) {
        self.record(o.net_pnl > 0.0);
    }

    /// Learns from one win/loss.
    pub fn record(&mut self, win: bool) {
        if self.len == self.wins.len() {
            if self.wins[self.head] {
                self.won -= 1;
            }
        } else {
            self.len += 1;
        }
        self.wins[self.head] = win;
        if win {
            self.won += 1;
        }
        self.head = (self.head + 1) % self.wins.len();
        self.step();
    }

    fn step(&mut self) {
        let p = &self.p;
        let shortfall = self
            .win_rate()
            .map(|w| p.target_win_rate - w)
            .unwrap_or(0.0);
        // Evidence grows with the number of trades seen, so a single early loss moves little.
        let confidence = self.len as f64 / self.wins.len() as f64;
        let mult = p
            .regime_multiplier
            .get(self.regime as usize)
            .copied()
            .unwrap_or(1.0);
        let target = (p.base * (1.0 + p.gain * shortfall * confidence) * mult).clamp(p.min, p.max);
        let delta = (target - self.value).clamp(-p.max_step, p.max_step);
        self.value = (self.value + delta).clamp(p.min, p.max);
    }

    /// Back to the base threshold, no history.
    pub fn reset(&mut self) {
        self.wins.iter_mut().for_each(|w| *w = false);
        self.head = 0;
        self.len = 0;
        self.won = 0;
        self.value = self.p.base;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losing_raises_winning_lowers_within_bounds() {
        let mut a = AdaptiveThreshold::new(AdaptiveParams::default()).unwrap();
        for _ in 0..500 {
            a.record(false);
        }
        let hi = a.value();
        assert!(hi > 0.35 && hi <= 0.8, "{hi}");
        for _ in 0..500 {
            a.record(true);
        }
        let lo = a.value();
        assert!((0.2..0.35).contains(&lo), "{lo}");
    }

    #[test]
    fn converges_to_base_at_target_and_barely_moves_on_alternation() {
        let mut a = AdaptiveThreshold::new(AdaptiveParams::default()).unwrap();
        let mut values = vec![];
        for i in 0..400 {
            a.record(i % 2 == 0);
            values.push(a.value());
        }
        let tail = &values[300..];
        let (mn, mx) = tail
            .iter()
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(*v), b.max(*v)));
        assert!(mx - mn <= 0.011, "oscillates: {mn}..{mx}");
        assert!((tail[tail.len() - 1] - 0.35).abs() < 0.02);
    }

    #[test]
    fn each_step_is_rate_limited() {
        let mut a = AdaptiveThreshold::new(AdaptiveParams {
            max_step: 0.005,
            ..AdaptiveParams::default()
        })
        .unwrap();
        let mut prev = a.value();
        for _ in 0..100 {
            a.record(false);
            assert!((a.value() - prev).abs() <= 0.005 + 1e-12);
            prev = a.value();
        }
    }

    #[test]
    fn regime_multiplier_applies() {
        let mut m = [1.0; 8];
        m[3] = 1.5;
        let mut a = AdaptiveThreshold::new(AdaptiveParams {
            regime_multiplier: m,
            max_step: 1.0,
            ..AdaptiveParams::default()
        })
        .unwrap();
        a.set_regime(3);
        assert!((a.value() - 0.525).abs() < 1e-12);
    }

    #[test]
    fn bad_params_refused() {
        assert!(AdaptiveThreshold::new(AdaptiveParams {
            min: 0.9,
            ..AdaptiveParams::default()
        })
        .is_err());
    }
}
