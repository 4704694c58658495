//! Scoring rules and the rolling monitor of the live filter.
//!
//! AUC says whether the model ranks winners above losers; log loss and Brier score say
//! whether its probabilities are right (a threshold on a probability only means something
//! if it is calibrated). Win rates of passed and rejected signals say whether filtering
//! pays: if the rejected signals (whose shadow outcomes the caller reports) win as often
//! as the passed ones, the filter only costs trades.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Probabilities are clipped to `[EPS, 1 − EPS]` in log loss so one confident miss is a
/// large, finite penalty.
pub const EPS: f64 = 1e-15;

/// Area under the ROC curve (Mann–Whitney, ties count half). `None` if only one class.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let n = scores.len().min(labels.len());
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum_pos, mut n_pos) = (0.0, 0usize);
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their mean.
        let mean_rank = (i + j + 2) as f64 / 2.0;
        for &k in &idx[i..=j] {
            if labels[k] {
                rank_sum_pos += mean_rank;
                n_pos += 1;
            }
        }
        i = j + 1;
    }
    let n_neg = n - n_pos;
    if n_pos == 0 || n_neg == 0 {
        return None;
    }
    let u = rank_sum_pos - (n_pos * (n_pos + 1)) as f64 / 2.0;
    Some(u / (n_pos as f64 * n_neg as f64))
}

/// Log loss of one prediction.
#[inline]
pub fn log_loss_one(p: f64, y: bool) -> f64 {
    let p = p.clamp(EPS, 1.0 - EPS);
    if y {
        -p.ln()
    } else {
        -(1.0 - p).ln()
    }
}

/// Mean log loss (`NaN` when empty).
pub fn log_loss(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().min(labels.len());
    probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| log_loss_one(p, y))
        .sum::<f64>()
        / n as f64
}

/// Mean Brier score (`NaN` when empty).
pub fn brier(probs: &[f64], labels: &[bool]) -> f64 {
    let n = probs.len().min(labels.len());
    probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| (p - f64::from(u8::from(y))).powi(2))
        .sum::<f64>()
        / n as f64
}

/// AUC, log loss and Brier of a set of predictions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Predictions scored.
    pub n: usize,
    /// Fraction of positive labels.
    pub base_rate: f64,
    /// `None` when only one class is present.
    pub auc: Option<f64>,
    /// Mean log loss.
    pub log_loss: f64,
    /// Mean Brier score.
    pub brier: f64,
}

impl Scores {
    /// Scores `probs` against `labels`.
    pub fn of(probs: &[f64], labels: &[bool]) -> Scores {
        let n = probs.len().min(labels.len());
        Scores {
            n,
            base_rate: labels.iter().filter(|&&y| y).count() as f64 / n.max(1) as f64,
            auc: auc(probs, labels),
            log_loss: log_loss(probs, labels),
            brier: brier(probs, labels),
        }
    }
}

/// What the rolling monitor reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricsSnapshot {
    /// Scores over the last labelled predictions that had a model.
    pub scores: Scores,
    /// Signals the filter passed whose trades closed, in the window.
    pub passed: usize,
    /// Their realized win rate (`None` when none).
    pub passed_win_rate: Option<f64>,
    /// Rejected signals with a shadow outcome, in the window.
    pub rejected: usize,
    /// Their realized (shadow) win rate.
    pub rejected_win_rate: Option<f64>,
}

/// Rolling scores over the last `cap` labelled predictions.
#[derive(Debug, Clone)]
pub struct RollingMetrics {
    cap: usize,
    // (probability or None when no model was installed, label, passed)
    buf: VecDeque<(Option<f64>, bool, bool)>,
}

impl RollingMetrics {
    /// A window of `cap` (≥ 1) labelled predictions.
    pub fn new(cap: usize) -> RollingMetrics {
        let cap = cap.max(1);
        RollingMetrics {
            cap,
            buf: VecDeque::with_capacity(cap),
        }
    }

    /// Records the outcome of one prediction.
    pub fn record(&mut self, prob: Option<f64>, label: bool, passed: bool) {
        if self.buf.len() == self.cap {
            self.buf.pop_front();
        }
        self.buf.push_back((prob, label, passed));
    }

    /// Labelled predictions in the window.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Nothing recorded yet.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Current figures (allocates: call it for reports, not per tick).
    pub fn snapshot(&self) -> MetricsSnapshot {
        let (mut p, mut y) = (Vec::new(), Vec::new());
        let (mut np, mut wp, mut nr, mut wr) = (0usize, 0usize, 0usize, 0usize);
        for &(prob, label, passed) in &self.buf {
            if let Some(q) = prob {
                p.push(q);
                y.push(label);
            }
            if passed {
                np += 1;
                wp += usize::from(label);
            } else {
                nr += 1;
                wr += usize::from(label);
            }
        }
        let rate = |w: usize, n: usize| (n > 0).then(|| w as f64 / n as f64);
        MetricsSnapshot {
            scores: Scores::of(&p, &y),
            passed: np,
            passed_win_rate: rate(wp, np),
            rejected: nr,
            rejected_win_rate: rate(wr, nr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_cases() {
        assert_eq!(
            auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]),
            Some(1.0)
        );
        assert_eq!(
            auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]),
            Some(0.0)
        );
        assert_eq!(auc(&[0.5; 4], &[false, true, false, true]), Some(0.5));
        // One inversion of four pairs.
        assert_eq!(
            auc(&[0.1, 0.6, 0.5, 0.9], &[false, false, true, true]),
            Some(0.75)
        );
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn log_loss_and_brier() {
        let ll = log_loss(&[0.5, 0.5], &[true, false]);
        assert!((ll - 2f64.ln()).abs() < 1e-12);
        assert_eq!(brier(&[1.0, 0.0], &[true, false]), 0.0);
        assert_eq!(brier(&[0.0], &[true]), 1.0);
        assert!(log_loss(&[0.0], &[true]).is_finite());
    }

    #[test]
    fn rolling_window_and_win_rates() {
        let mut m = RollingMetrics::new(4);
        m.record(Some(0.9), true, true);
        m.record(Some(0.8), true, true);
        m.record(Some(0.2), false, false);
        m.record(None, true, false);
        m.record(Some(0.7), false, true); // pushes out the first
        let s = m.snapshot();
        assert_eq!(m.len(), 4);
        assert_eq!(s.scores.n, 3);
        assert_eq!((s.passed, s.rejected), (2, 2));
        assert_eq!(s.passed_win_rate, Some(0.5));
        assert_eq!(s.rejected_win_rate, Some(0.5));
    }
}
