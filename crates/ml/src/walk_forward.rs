//! Walk-forward out-of-sample evaluation with purging and an embargo, for the backtest.
//!
//! Examples (signal time, exit time, features, label) are ordered by signal time and cut
//! into consecutive test windows of `test_size` signals. For each window the model is
//! trained only on examples whose label was known before the window began, with a
//! margin: `exit_ts + embargo < test window start`. An example that entered before the
//! window but exited inside it is purged — its label depends on prices inside the test
//! window, and training on it would leak them. Nothing after the window is ever used
//! (walk-forward, not k-fold). Each example of a window then gets the probability of a
//! model that could have existed at the time; the first window, and any window with
//! fewer than `min_train` usable examples, get `None`.

use crate::error::{MlError, Result};
use crate::features::FeatureVec;
use crate::label::Example;
use crate::metrics::Scores;
use crate::model::{fit, train_auto, Kind, TrainParams};
use serde::{Deserialize, Serialize};

/// Which model each fold trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WfModel {
    /// Logistic baseline only.
    Logistic,
    /// Boosted trees only.
    Gbt,
    /// What the live filter does: select on a purged split inside the training rows,
    /// refit the winner.
    Auto,
}

/// Walk-forward settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForwardParams {
    /// Signals per test window.
    pub test_size: usize,
    /// Fewest usable training examples for a window to be scored.
    pub min_train: usize,
    /// Gap between the last training exit and the test window start (ns).
    pub embargo_ns: u64,
    /// Train on at most this many of the latest usable examples (sliding window, like
    /// the live filter); `None` = expanding window.
    pub max_train: Option<usize>,
    /// Model per fold.
    pub model: WfModel,
    /// Training settings.
    pub train: TrainParams,
}

impl Default for WalkForwardParams {
    fn default() -> Self {
        WalkForwardParams {
            test_size: 200,
            min_train: 300,
            embargo_ns: 0,
            max_train: Some(2_000),
            model: WfModel::Auto,
            train: TrainParams::default(),
        }
    }
}

/// One test window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldInfo {
    /// Signal time of the first test example (ns).
    pub test_start_ts_ns: u64,
    /// Test examples.
    pub n_test: usize,
    /// Training examples used.
    pub n_train: usize,
    /// Earlier examples left out because their exit was not before the window start
    /// minus the embargo.
    pub n_purged: usize,
    /// Model kind trained (`None` when the window was not scored).
    pub kind: Option<Kind>,
    /// Why the window was not scored.
    pub skipped: Option<String>,
}

/// The result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Out-of-sample probability per input example, in input order.
    pub probs: Vec<Option<f64>>,
    /// Per test window.
    pub folds: Vec<FoldInfo>,
    /// Scores over the scored examples (`None` if none were scored).
    pub scores: Option<Scores>,
}

/// Runs the walk-forward evaluation (see the module doc). Input need not be sorted.
/// Errors on unusable input (exit before signal, non-finite feature) or settings.
pub fn walk_forward(
    examples: &[(u64, u64, FeatureVec, bool)],
    p: &WalkForwardParams,
) -> Result<WalkForward> {
    if p.test_size == 0 || p.min_train == 0 {
        return Err(MlError::Param(
            "walk_forward: test_size and min_train must be > 0".into(),
        ));
    }
    p.train.validate()?;
    for (i, &(ts_ns, exit_ts_ns, x, label)) in examples.iter().enumerate() {
        let e = Example {
            ts_ns,
            exit_ts_ns,
            x,
            label,
        };
        if let Some(why) = e.problem() {
            return Err(MlError::Data(format!("example {i}: {why}")));
        }
    }
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.sort_by_key(|&i| (examples[i].0, i));
    let rows: Vec<Example> = order
        .iter()
        .map(|&i| {
            let (ts_ns, exit_ts_ns, x, label) = examples[i];
            Example {
                ts_ns,
                exit_ts_ns,
                x,
                label,
            }
        })
        .collect();
    let mut probs = vec![None; examples.len()];
    let mut folds = Vec::new();
    let n = rows.len();
    let mut start = p.test_size;
    while start < n {
        let end = (start + p.test_size).min(n);
        let t0 = rows[start].ts_ns;
        let mut train: Vec<Example> = rows[..start]
            .iter()
            .filter(|r| r.exit_ts_ns.saturating_add(p.embargo_ns) < t0)
            .copied()
            .collect();
        let n_purged = start - train.len();
        if let Some(m) = p.max_train {
            let drop = train.len().saturating_sub(m);
            train.drain(..drop);
        }
        let mut info = FoldInfo {
            test_start_ts_ns: t0,
            n_test: end - start,
            n_train: train.len(),
            n_purged,
            kind: None,
            skipped: None,
        };
        if train.len() < p.min_train {
            info.skipped = Some(format!(
                "{} usable training examples < min_train {}",
                train.len(),
                p.min_train
            ));
        } else {
            let fitted = match p.model {
                WfModel::Logistic => fit(Kind::Logistic, &train, &p.train),
                WfModel::Gbt => fit(Kind::Gbt, &train, &p.train),
                WfModel::Auto => train_auto(&train, &p.train),
            };
            match fitted {
                Ok(m) => {
                    info.kind = Some(m.kind());
                    for k in start..end {
                        probs[order[k]] = Some(m.predict(&rows[k].x));
                    }
                }
                Err(e) => info.skipped = Some(e.to_string()),
            }
        }
        folds.push(info);
        start = end;
    }
    let (ps, ys): (Vec<f64>, Vec<bool>) = probs
        .iter()
        .zip(examples)
        .filter_map(|(p, e)| p.map(|q| (q, e.3)))
        .unzip();
    let scores = (!ps.is_empty()).then(|| Scores::of(&ps, &ys));
    Ok(WalkForward {
        probs,
        folds,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::N_FEATURES;
    use crate::model::TrainParams;

    /// Each label is known 5 signals later; 10 s between signals.
    fn ex(n: usize) -> Vec<(u64, u64, FeatureVec, bool)> {
        (0..n as u64)
            .map(|i| {
                let mut x = [0.0; N_FEATURES];
                x[0] = (i % 7) as f64;
                (i * 10, i * 10 + 50, x, i % 7 > 3)
            })
            .collect()
    }

    #[test]
    fn folds_purge_overlapping_labels_and_apply_the_embargo() {
        let p = WalkForwardParams {
            test_size: 100,
            min_train: 80,
            embargo_ns: 30,
            max_train: None,
            model: WfModel::Logistic,
            train: TrainParams {
                min_holdout_rows: 20,
                ..TrainParams::default()
            },
        };
        let r = walk_forward(&ex(400), &p).unwrap();
        assert_eq!(r.folds.len(), 3);
        // Window at signal 100 (t = 1000): exits at i·10 + 50 + 30 < 1000 → i < 92.
        assert_eq!((r.folds[0].n_train, r.folds[0].n_purged), (92, 8));
        assert!(r.probs[..100].iter().all(Option::is_none));
        assert!(r.probs[100..].iter().all(Option::is_some));
        let s = r.scores.unwrap();
        assert_eq!(s.n, 300);
        assert!(s.auc.unwrap() > 0.9, "{s:?}");
    }

    #[test]
    fn unsorted_input_keeps_input_order_and_bad_input_is_refused() {
        let mut e = ex(300);
        e.reverse();
        let p = WalkForwardParams {
            test_size: 100,
            min_train: 50,
            model: WfModel::Logistic,
            train: TrainParams {
                min_holdout_rows: 20,
                ..TrainParams::default()
            },
            ..WalkForwardParams::default()
        };
        let r = walk_forward(&e, &p).unwrap();
        // The earliest 100 signals are now at the end of the input: never scored.
        assert!(r.probs[200..].iter().all(Option::is_none));
        assert!(r.probs[..200].iter().all(Option::is_some));
        e[3].1 = 0;
        assert!(walk_forward(&e, &p).is_err());
    }

    #[test]
    fn too_little_history_skips_the_window() {
        let p = WalkForwardParams {
            test_size: 50,
            min_train: 500,
            ..WalkForwardParams::default()
        };
        let r = walk_forward(&ex(120), &p).unwrap();
        assert!(r.probs.iter().all(Option::is_none));
        assert!(r.scores.is_none());
        assert!(r.folds.iter().all(|f| f.skipped.is_some()));
    }
}
