//! Spoofing detection on the L2 book: a large size placed away from the touch that
//! appears and then vanishes without trades at its price is scored, per side.
//!
//! "Large" is relative to a trailing typical level size (an EWMA of added sizes);
//! "away" is a minimum distance from the touch in basis points. A candidate that is hit
//! by a trade is genuine liquidity and is dropped. A candidate cancelled within
//! `max_lifetime_ns` without trades adds `size / typical` to its side's score. Scores
//! decay with a half-life so they describe recent behaviour. Memory is a fixed number of
//! candidate slots per side; when full, the oldest candidate is replaced.

use crate::error::{Result, StrategyError};
use shmtrader_core::Side;

/// Parameters of the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct SpoofParams {
    /// An addition must be at least this many typical sizes to be a candidate.
    pub size_multiple: f64,
    /// Minimum distance from the touch, in basis points.
    pub min_distance_bps: f64,
    /// A cancellation later than this is ordinary, not spoofing (ns).
    pub max_lifetime_ns: u64,
    /// Score half-life (ns).
    pub half_life_ns: u64,
    /// EWMA weight of a new level size in the typical size.
    pub typical_alpha: f64,
}

impl Default for SpoofParams {
    fn default() -> Self {
        SpoofParams {
            size_multiple: 10.0,
            min_distance_bps: 5.0,
            max_lifetime_ns: 5_000_000_000,
            half_life_ns: 30_000_000_000,
            typical_alpha: 0.01,
        }
    }
}

const SLOTS: usize = 32;

#[derive(Debug, Clone, Copy, Default)]
struct Candidate {
    live: bool,
    price: f64,
    size: f64,
    since_ns: u64,
    traded: bool,
}

#[derive(Debug, Clone)]
struct SideState {
    cands: [Candidate; SLOTS],
    score: f64,
    score_ts: u64,
}

impl Default for SideState {
    fn default() -> Self {
        SideState {
            cands: [Candidate::default(); SLOTS],
            score: 0.0,
            score_ts: 0,
        }
    }
}

/// The detector for one symbol.
#[derive(Debug, Clone)]
pub struct SpoofDetector {
    p: SpoofParams,
    typical: f64,
    sides: [SideState; 2],
    best_bid: f64,
    best_ask: f64,
    events: u64,
}

impl SpoofDetector {
    /// Validates the parameters.
    pub fn new(p: SpoofParams) -> Result<SpoofDetector> {
        let ok = p.size_multiple > 1.0
            && p.min_distance_bps >= 0.0
            && p.half_life_ns > 0
            && p.typical_alpha > 0.0
            && p.typical_alpha <= 1.0;
        if !ok {
            return Err(StrategyError::Param(
                "spoof detector parameters out of range".into(),
            ));
        }
        Ok(SpoofDetector {
            p,
            typical: 0.0,
            sides: [SideState::default(), SideState::default()],
            best_bid: 0.0,
            best_ask: 0.0,
            events: 0,
        })
    }

    fn decay(&mut self, side: usize, ts: u64) {
        let s = &mut self.sides[side];
        if ts > s.score_ts {
            let dt = (ts - s.score_ts) as f64 / self.p.half_life_ns as f64;
            s.score *= 0.5f64.powf(dt);
            s.score_ts = ts;
        }
    }

    /// Best bid/ask, for the distance test.
    pub fn on_touch(&mut self, bid: f64, ask: f64) {
        if bid > 0.0 && ask >= bid {
            self.best_bid = bid;
            self.best_ask = ask;
        }
    }

    /// A level of `side` at `price` now holds `qty` (absolute, as in depth updates).
    /// `prev_qty` is what the level held before.
    pub fn on_level(
        &mut self,
        side: Side,
        price: f64,
        prev_qty: f64,
        qty: f64,
        ts_ns: u64,
    ) -> Result<()> {
        if ![price, prev_qty, qty]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
        {
            return Err(StrategyError::Input(
                "level update with a non-finite or negative field".into(),
            ));
        }
        let si = side.code() as usize;
        self.decay(si, ts_ns);
        let added = qty - prev_qty;
        if added > 0.0 {
            let typical_before = self.typical;
            self.typical = if self.typical == 0.0 {
                added
            } else {
                (1.0 - self.p.typical_alpha) * self.typical + self.p.typical_alpha * added
            };
            let touch = if side == Side::Buy {
                self.best_bid
            } else {
                self.best_ask
            };
            let far = touch > 0.0 && (price - touch).abs() / touch * 1e4 >= self.p.min_distance_bps;
            if typical_before > 0.0 && added >= self.p.size_multiple * typical_before && far {
                let s = &mut self.sides[si];
                let slot = s
                    .cands
                    .iter()
                    .position(|c| !c.live)
                    .or_else(|| {
                        s.cands
                            .iter()
                            .enumerate()
                            .min_by_key(|(_, c)| c.since_ns)
                            .map(|(i, _)| i)
                    })
                    .unwrap_or(0);
                s.cands[slot] = Candidate {
                    live: true,
                    price,
                    size: added,
                    since_ns: ts_ns,
                    traded: false,
                };
            }
        } else if added < 0.0 {
            let max_life = self.p.max_lifetime_ns;
            let typical = self.typical.max(f64::MIN_POSITIVE);
            let s = &mut self.sides[si];
            for c in s.cands.iter_mut().filter(|c| c.live && c.price == price) {
                // Most of the candidate's size left the book.
                if qty < prev_qty - 0.5 * c.size {
                    if !c.traded && ts_ns.saturating_sub(c.since_ns) <= max_life {
                        s.score += c.size / typical;
                        self.events += 1;
                    }
                    c.live = false;
                }
            }
        }
        Ok(())
    }

    /// A trade at `price`: candidates resting there are genuine.
    pub fn on_trade(&mut self, price: f64) {
        for s in self.sides.iter_mut() {
            for c in s.cands.iter_mut().filter(|c| c.live && c.price == price) {
                c.traded = true;
            }
        }
    }

    /// Decayed score of `side` at `ts_ns` (0 = nothing suspicious).
    pub fn score(&mut self, side: Side, ts_ns: u64) -> f64 {
        let si = side.code() as usize;
        self.decay(si, ts_ns);
        self.sides[si].score
    }

    /// Spoof events seen so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Clears all state.
    pub fn reset(&mut self) {
        self.typical = 0.0;
        self.sides = [SideState::default(), SideState::default()];
        self.best_bid = 0.0;
        self.best_ask = 0.0;
        self.events = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn warm(d: &mut SpoofDetector) {
        d.on_touch(100.0, 100.1);
        for i in 0..50 {
            let px = 100.0 - 0.01 * (i % 5) as f64;
            d.on_level(Side::Buy, px, 0.0, 1.0, i).unwrap();
            d.on_level(Side::Buy, px, 1.0, 0.0, i).unwrap();
        }
    }

    #[test]
    fn planted_spoof_on_the_bid_raises_the_bid_score() {
        let mut d = SpoofDetector::new(SpoofParams::default()).unwrap();
        warm(&mut d);
        let t0 = 10 * S;
        // 50 lots at 99.5 (50 bps below the touch) appear, then vanish 2 s later untraded.
        d.on_level(Side::Buy, 99.5, 0.0, 50.0, t0).unwrap();
        d.on_level(Side::Buy, 99.5, 50.0, 0.0, t0 + 2 * S).unwrap();
        let bid = d.score(Side::Buy, t0 + 2 * S);
        assert!(bid > 10.0, "bid score {bid}");
        assert_eq!(d.score(Side::Sell, t0 + 2 * S), 0.0);
        assert_eq!(d.events(), 1);
        // The score decays with the half-life.
        let later = d.score(Side::Buy, t0 + 32 * S);
        assert!((later / bid - 0.5).abs() < 1e-9);
    }

    #[test]
    fn large_order_that_trades_is_not_spoofing() {
        let mut d = SpoofDetector::new(SpoofParams::default()).unwrap();
        warm(&mut d);
        let t0 = 10 * S;
        d.on_level(Side::Buy, 99.5, 0.0, 50.0, t0).unwrap();
        d.on_trade(99.5);
        d.on_level(Side::Buy, 99.5, 50.0, 0.0, t0 + S).unwrap();
        assert_eq!(d.score(Side::Buy, t0 + S), 0.0);
        assert_eq!(d.events(), 0);
    }

    #[test]
    fn near_touch_or_slow_cancels_are_ordinary() {
        let mut d = SpoofDetector::new(SpoofParams::default()).unwrap();
        warm(&mut d);
        let t0 = 10 * S;
        // At the touch: not far enough.
        d.on_level(Side::Buy, 100.0, 0.0, 50.0, t0).unwrap();
        d.on_level(Side::Buy, 100.0, 50.0, 0.0, t0 + S).unwrap();
        // Far, but rested for a minute.
        d.on_level(Side::Buy, 99.0, 0.0, 50.0, t0).unwrap();
        d.on_level(Side::Buy, 99.0, 50.0, 0.0, t0 + 60 * S).unwrap();
        assert_eq!(d.events(), 0);
    }
}
