//! Exit rules evaluated on every tick: ATR stop, take profit, trailing stop, time stop.
//!
//! Levels are computed once (at the first fill, again after an add moves the average
//! entry), so [`ExitPlan::check`] is a handful of compares: O(1), no allocation. Everything
//! is kept in "favourable coordinates" `f = dir × price` (dir = +1 long, −1 short), so one
//! code path serves both directions: higher `f` is always better for the position.

use crate::params::RiskParams;
use shmtrader_core::{ExitReason, Side};

/// Exit levels of one open position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExitPlan {
    dir: f64,
    atr: f64,
    open_ts_ns: u64,
    max_hold_ns: u64,
    stop_f: f64,
    tp_f: f64,
    tp_enabled: bool,
    arm_f: f64,
    trail_dist: f64,
    trail_enabled: bool,
    trail_armed: bool,
    best_f: f64,
    stop_mult: f64,
    tp_mult: f64,
    arm_mult: f64,
}

impl ExitPlan {
    /// Levels for a position entered on `side` at `entry_px`, with the ATR known when the
    /// entry was approved (frozen for the life of the trade so the stop does not widen as
    /// volatility spikes against it).
    pub fn new(p: &RiskParams, side: Side, entry_px: f64, atr: f64, open_ts_ns: u64) -> ExitPlan {
        let dir = side.sign();
        let mut plan = ExitPlan {
            dir,
            atr,
            open_ts_ns,
            max_hold_ns: p.max_hold_ns,
            tp_enabled: p.take_profit_atr_mult > 0.0,
            trail_dist: p.trail_distance_atr_mult * atr,
            trail_enabled: p.trail_activation_atr_mult > 0.0,
            trail_armed: false,
            best_f: dir * entry_px,
            stop_mult: p.stop_atr_mult,
            tp_mult: p.take_profit_atr_mult,
            arm_mult: p.trail_activation_atr_mult,
            ..ExitPlan::default()
        };
        plan.rebase(entry_px);
        plan
    }

    /// Recomputes stop, take-profit and arming levels from a new average entry (after an
    /// add); the best price and the armed state are kept.
    pub fn rebase(&mut self, entry_px: f64) {
        let f = self.dir * entry_px;
        self.stop_f = f - self.stop_mult * self.atr;
        self.tp_f = f + self.tp_mult * self.atr;
        self.arm_f = f + self.arm_mult * self.atr;
    }

    /// Checks one trade price; returns the first rule hit. Trailing is checked before the
    /// hard stop (once armed, the trailing level is the tighter one), then the stop, take
    /// profit and finally the time stop.
    #[inline]
    pub fn check(&mut self, price: f64, ts_ns: u64) -> Option<ExitReason> {
        if self.dir == 0.0 || !price.is_finite() {
            return None;
        }
        let f = self.dir * price;
        if f > self.best_f {
            self.best_f = f;
        }
        if self.trail_enabled && !self.trail_armed && self.best_f >= self.arm_f {
            self.trail_armed = true;
        }
        if self.trail_armed && f <= self.best_f - self.trail_dist {
            return Some(ExitReason::Trailing);
        }
        if f <= self.stop_f {
            return Some(ExitReason::Stop);
        }
        if self.tp_enabled && f >= self.tp_f {
            return Some(ExitReason::TakeProfit);
        }
        if self.max_hold_ns > 0 && ts_ns.saturating_sub(self.open_ts_ns) >= self.max_hold_ns {
            return Some(ExitReason::Time);
        }
        None
    }

    /// ATR frozen at entry.
    pub fn atr(&self) -> f64 {
        self.atr
    }
    /// Stop price.
    pub fn stop_px(&self) -> f64 {
        self.dir * self.stop_f
    }
    /// Take-profit price, if enabled.
    pub fn take_profit_px(&self) -> Option<f64> {
        self.tp_enabled.then_some(self.dir * self.tp_f)
    }
    /// Current trailing stop price, once armed.
    pub fn trailing_stop_px(&self) -> Option<f64> {
        self.trail_armed
            .then_some(self.dir * (self.best_f - self.trail_dist))
    }
    /// The price at which the position is given up now: the trailing stop once armed
    /// (it is the tighter one), else the stop. The exchange-held stop follows it.
    pub fn protective_stop_px(&self) -> f64 {
        match self.trailing_stop_px() {
            Some(t) if self.dir * t > self.stop_f => t,
            _ => self.stop_px(),
        }
    }

    /// +1 for a long plan, −1 for a short one, 0 when there is no position.
    pub fn direction(&self) -> f64 {
        self.dir
    }

    /// Best price seen since entry.
    pub fn best_px(&self) -> f64 {
        self.dir * self.best_f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RiskParams {
        RiskParams {
            stop_atr_mult: 2.0,
            take_profit_atr_mult: 3.0,
            trail_activation_atr_mult: 1.5,
            trail_distance_atr_mult: 1.0,
            max_hold_ns: 1_000,
            ..RiskParams::default()
        }
    }

    #[test]
    fn long_stop_and_take_profit() {
        // entry 100, ATR 1: stop 98, tp 103
        let mut e = ExitPlan::new(&params(), Side::Buy, 100.0, 1.0, 0);
        assert_eq!(e.stop_px(), 98.0);
        assert_eq!(e.take_profit_px(), Some(103.0));
        assert_eq!(e.check(99.0, 1), None);
        assert_eq!(e.check(98.0, 2), Some(ExitReason::Stop));
        let mut e = ExitPlan::new(&params(), Side::Buy, 100.0, 1.0, 0);
        let p = RiskParams {
            trail_activation_atr_mult: 0.0,
            ..params()
        };
        let mut no_trail = ExitPlan::new(&p, Side::Buy, 100.0, 1.0, 0);
        assert_eq!(no_trail.check(103.0, 1), Some(ExitReason::TakeProfit));
        // with trailing armed (best 103 >= 101.5) the 103 print is still a take profit
        assert_eq!(e.check(103.0, 1), Some(ExitReason::TakeProfit));
    }

    #[test]
    fn short_levels_mirror() {
        // short at 100, ATR 0.5: stop 101, tp 98.5
        let mut e = ExitPlan::new(&params(), Side::Sell, 100.0, 0.5, 0);
        assert_eq!(e.stop_px(), 101.0);
        assert_eq!(e.take_profit_px(), Some(98.5));
        assert_eq!(e.check(100.9, 1), None);
        assert_eq!(e.check(101.0, 2), Some(ExitReason::Stop));
        let mut e = ExitPlan::new(&params(), Side::Sell, 100.0, 0.5, 0);
        assert_eq!(e.check(98.4, 1), Some(ExitReason::TakeProfit));
    }

    #[test]
    fn trailing_arms_after_the_move_and_trails() {
        // long 100, ATR 1: arms at 101.5, trails 1.0 below the best
        let mut e = ExitPlan::new(&params(), Side::Buy, 100.0, 1.0, 0);
        assert_eq!(e.check(101.0, 1), None);
        assert_eq!(e.trailing_stop_px(), None);
        // 100.0 would be a trailing exit if armed (best 101 - 1), but it is not armed yet
        assert_eq!(e.check(100.0, 2), None);
        assert_eq!(e.check(102.5, 3), None);
        assert_eq!(e.trailing_stop_px(), Some(101.5));
        assert_eq!(e.check(101.6, 4), None);
        assert_eq!(e.check(101.5, 5), Some(ExitReason::Trailing));
        // short: arms at 98.5, trail 1 above best
        let mut s = ExitPlan::new(&params(), Side::Sell, 100.0, 1.0, 0);
        assert_eq!(s.check(98.0, 1), None);
        assert_eq!(s.trailing_stop_px(), Some(99.0));
        assert_eq!(s.check(99.0, 2), Some(ExitReason::Trailing));
    }

    #[test]
    fn time_stop() {
        let mut e = ExitPlan::new(&params(), Side::Buy, 100.0, 1.0, 10_000);
        assert_eq!(e.check(100.0, 10_999), None);
        assert_eq!(e.check(100.0, 11_000), Some(ExitReason::Time));
        let p = RiskParams {
            max_hold_ns: 0,
            ..params()
        };
        let mut e = ExitPlan::new(&p, Side::Buy, 100.0, 1.0, 0);
        assert_eq!(e.check(100.0, u64::MAX), None);
    }

    #[test]
    fn rebase_moves_levels_with_the_average_entry() {
        let mut e = ExitPlan::new(&params(), Side::Buy, 100.0, 1.0, 0);
        e.rebase(102.0);
        assert_eq!(e.stop_px(), 100.0);
        assert_eq!(e.take_profit_px(), Some(105.0));
    }
}
