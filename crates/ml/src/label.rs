//! Labels: the triple-barrier outcome of each trade, and the store that joins a signal's
//! features (known at signal time) with its outcome (known only at exit time).
//!
//! The label is not a fixed-horizon price move but the trade exactly as the risk rules
//! closed it — take profit, stop, trailing stop or time limit, the three barriers — net
//! of fees and funding: `label = net PnL > 0`. That is the question the filter answers
//! ("is this trade profitable after costs?"), with the exits the live system really uses.
//!
//! Because a label exists only once the trade has exited, an [`Example`] carries both
//! the signal time and the exit time: training code must only use examples whose exit
//! time is before the moment it pretends to be at (see `walk_forward`'s purging).

use crate::error::{MlError, Result};
use crate::features::FeatureVec;
use serde::{Deserialize, Serialize};
use shmtrader_core::{ExitReason, Outcome};
use std::collections::{HashMap, VecDeque};

/// `true` iff the closed trade made money after fees and funding.
#[inline]
pub fn label_from_outcome(o: &Outcome) -> bool {
    o.net_pnl > 0.0
}

/// Checks that an outcome describes a trade that really exited: a valid exit reason,
/// an exit not before the entry, finite PnL. Anything else cannot be a label.
pub fn check_exited(o: &Outcome) -> Result<ExitReason> {
    let reason = ExitReason::from_code(o.exit_reason).ok_or_else(|| {
        MlError::NotExited(format!(
            "signal {}: exit reason code {} is not an exit",
            o.signal_seq, o.exit_reason
        ))
    })?;
    if o.exit_ts_ns == 0 || o.exit_ts_ns < o.entry_ts_ns {
        return Err(MlError::NotExited(format!(
            "signal {}: exit time {} before entry {}",
            o.signal_seq, o.exit_ts_ns, o.entry_ts_ns
        )));
    }
    if !o.net_pnl.is_finite() {
        return Err(MlError::NotExited(format!(
            "signal {}: net PnL is {}",
            o.signal_seq, o.net_pnl
        )));
    }
    Ok(reason)
}

/// One labelled example.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Signal time (ns): when the features were computed.
    pub ts_ns: u64,
    /// Exit time (ns): when the label became known.
    pub exit_ts_ns: u64,
    /// Features at signal time.
    pub x: FeatureVec,
    /// Net PnL > 0.
    pub label: bool,
}

impl Example {
    /// Why the example cannot be trained on, if it cannot: a label known before its
    /// signal, or a feature that is not a number.
    pub fn problem(&self) -> Option<String> {
        if self.exit_ts_ns < self.ts_ns {
            return Some(format!(
                "exit {} before signal {}",
                self.exit_ts_ns, self.ts_ns
            ));
        }
        self.x
            .iter()
            .position(|v| !v.is_finite())
            .map(|j| format!("feature {j} not finite"))
    }
}

/// What was known about a signal when it fired, kept until its outcome arrives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pending {
    /// Signal time (ns).
    pub ts_ns: u64,
    /// Features at signal time.
    pub x: FeatureVec,
    /// The filter's probability then (`None` if no model was installed).
    pub prob: Option<f64>,
    /// Whether the filter let the signal through (false: any outcome reported for it is
    /// a shadow outcome).
    pub passed: bool,
}

/// Signals waiting for their outcome, keyed by the sequence number their outcome will
/// carry (`Outcome::signal_seq`). Bounded: a signal whose trade never closes (rejected by
/// risk, lost) would otherwise stay forever, so the oldest is evicted when full and
/// counted. Capacity is reserved up front, so inserting does not allocate.
#[derive(Debug)]
pub struct PendingStore {
    map: HashMap<u64, Pending>,
    order: VecDeque<u64>,
    cap: usize,
    evicted: u64,
}

impl PendingStore {
    /// A store holding at most `cap` (≥ 1) signals.
    pub fn new(cap: usize) -> PendingStore {
        let cap = cap.max(1);
        // Headroom so inserting never reallocates: the map briefly holds cap + 1 and
        // keeps tombstones; `order` holds up to 2 × cap keys before it is compacted.
        PendingStore {
            map: HashMap::with_capacity(2 * cap + 1),
            order: VecDeque::with_capacity(2 * cap + 2),
            cap,
            evicted: 0,
        }
    }

    /// Stores a signal's features under `seq` (a repeat of the same `seq` — a replayed
    /// signal after a restart — replaces the old entry).
    pub fn insert(&mut self, seq: u64, p: Pending) {
        if self.map.insert(seq, p).is_some() {
            return;
        }
        self.order.push_back(seq);
        while self.map.len() > self.cap {
            match self.order.pop_front() {
                Some(old) => {
                    if self.map.remove(&old).is_some() {
                        self.evicted += 1;
                    }
                }
                None => break,
            }
        }
        // `order` may hold keys already taken; keep it from growing without bound.
        if self.order.len() > 2 * self.cap {
            let map = &self.map;
            self.order.retain(|k| map.contains_key(k));
        }
    }

    /// Removes and returns the signal stored under `seq`.
    pub fn take(&mut self, seq: u64) -> Option<Pending> {
        self.map.remove(&seq)
    }

    /// Signals waiting.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Nothing waiting.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Signals dropped because the store was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Joins an outcome with its pending signal: the labelled example and what was
    /// predicted for it. Errors if the outcome is not an exited trade; `Ok(None)` if no
    /// signal is pending under its `signal_seq` (unknown or already used).
    pub fn resolve(&mut self, o: &Outcome) -> Result<Option<(Example, Pending)>> {
        check_exited(o)?;
        let Some(p) = self.take(o.signal_seq) else {
            return Ok(None);
        };
        let ex = Example {
            ts_ns: p.ts_ns,
            exit_ts_ns: o.exit_ts_ns.max(p.ts_ns),
            x: p.x,
            label: label_from_outcome(o),
        };
        Ok(Some((ex, p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::NEUTRAL;

    fn outcome(seq: u64, pnl: f64) -> Outcome {
        Outcome {
            signal_seq: seq,
            exit_reason: ExitReason::TakeProfit.code(),
            entry_ts_ns: 1_000,
            exit_ts_ns: 5_000,
            net_pnl: pnl,
            fees: 0.2,
            ..Outcome::default()
        }
    }

    fn pending(ts: u64) -> Pending {
        Pending {
            ts_ns: ts,
            x: NEUTRAL,
            prob: Some(0.6),
            passed: true,
        }
    }

    #[test]
    fn label_is_net_pnl_positive() {
        assert!(label_from_outcome(&outcome(1, 0.01)));
        assert!(!label_from_outcome(&outcome(1, 0.0)));
        // A gross win eaten by fees is a loss: net_pnl already has the fees taken off.
        assert!(!label_from_outcome(&outcome(1, -0.05)));
    }

    #[test]
    fn only_exited_trades_are_labels() {
        assert!(check_exited(&outcome(1, 1.0)).is_ok());
        let open = Outcome {
            exit_reason: 0,
            ..outcome(1, 1.0)
        };
        assert!(matches!(check_exited(&open), Err(MlError::NotExited(_))));
        let back = Outcome {
            exit_ts_ns: 10,
            ..outcome(1, 1.0)
        };
        assert!(check_exited(&back).is_err());
        assert!(check_exited(&outcome(1, f64::NAN)).is_err());
        let mut s = PendingStore::new(4);
        s.insert(1, pending(900));
        assert!(s.resolve(&open).is_err());
        assert_eq!(s.len(), 1, "a refused outcome does not consume the signal");
    }

    #[test]
    fn features_stored_at_signal_time_meet_their_outcome() {
        let mut s = PendingStore::new(8);
        s.insert(7, pending(900));
        s.insert(8, pending(950));
        let (ex, p) = s.resolve(&outcome(7, 2.0)).unwrap().unwrap();
        assert_eq!((ex.ts_ns, ex.exit_ts_ns, ex.label), (900, 5_000, true));
        assert_eq!(p.prob, Some(0.6));
        assert!(s.resolve(&outcome(7, 2.0)).unwrap().is_none(), "used once");
        assert!(s.resolve(&outcome(99, 2.0)).unwrap().is_none());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn store_is_bounded_and_counts_evictions() {
        let mut s = PendingStore::new(3);
        for k in 0..10 {
            s.insert(k, pending(k));
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.evicted(), 7);
        assert!(s.take(9).is_some() && s.take(0).is_none());
        for k in 100..1000 {
            s.insert(k, pending(k));
            let _ = s.take(k);
        }
        assert!(s.order.len() <= 6);
    }
}
