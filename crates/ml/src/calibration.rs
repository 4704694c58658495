//! Isotonic calibration (pool-adjacent-violators), fitted on held-out data.
//!
//! A model's raw score ranks signals but is not necessarily a probability: boosted trees
//! are over-confident, a regularized logistic regression is shrunk toward the base rate.
//! `ml_confidence_threshold` is a probability, so the raw score is mapped through the
//! best non-decreasing function fitted on examples the model did not train on. Isotonic
//! regression keeps the ranking (AUC) and assumes no shape, at the price of needing a
//! few hundred held-out examples.
//!
//! Plain PAV on a few hundred trades overfits: it makes blocks of three or four trades
//! and answers 0 or 1 for them, and one such confident miss costs more log loss than the
//! model earns. So blocks are merged to at least [`MIN_BLOCK`] examples (and at most
//! about [`MAX_BLOCKS`] blocks), each block is shrunk toward the base rate by a small
//! prior, and PAV runs again to restore monotonicity. The fitted function is piecewise
//! linear between the block centres (flat outside them), so it is monotone and
//! continuous; values are clipped to `[CLIP, 1 − CLIP]`.

use crate::error::{MlError, Result};
use serde::{Deserialize, Serialize};

/// Output clip: a calibrated probability is never 0 or 1.
pub const CLIP: f64 = 1e-3;

/// Fewest examples in a calibration block.
pub const MIN_BLOCK: usize = 10;

/// At most about this many blocks: with `n` calibration examples a block holds at least
/// `n / MAX_BLOCKS` (and at least [`MIN_BLOCK`]).
pub const MAX_BLOCKS: usize = 20;

/// Strength, in examples, of the prior that shrinks each block toward the base rate.
pub const PRIOR_WEIGHT: f64 = 2.0;

/// A fitted isotonic map from raw score to probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Isotonic {
    /// Block centres (weighted mean raw score), strictly increasing.
    xs: Vec<f64>,
    /// Block means of the label, non-decreasing, clipped.
    ys: Vec<f64>,
}

impl Isotonic {
    /// Fits on `(raw score, label)` pairs. Errors on empty input or non-finite scores.
    pub fn fit(scores: &[f64], labels: &[bool]) -> Result<Isotonic> {
        let n = scores.len();
        if n == 0 || labels.len() != n {
            return Err(MlError::Data(format!(
                "isotonic calibration needs matching non-empty scores and labels ({n} vs {})",
                labels.len()
            )));
        }
        if scores.iter().any(|s| !s.is_finite()) {
            return Err(MlError::Data("non-finite score in calibration set".into()));
        }
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
        // Blocks: (sum of x, sum of y, weight). Equal scores start as one block, so the
        // map is a function of the score.
        let mut blocks: Vec<(f64, f64, f64)> = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            let x0 = scores[idx[i]];
            let (mut sx, mut sy, mut w) = (0.0, 0.0, 0.0);
            while i < n && scores[idx[i]] == x0 {
                sx += x0;
                sy += f64::from(u8::from(labels[idx[i]]));
                w += 1.0;
                i += 1;
            }
            blocks.push((sx, sy, w));
            // Pool adjacent violators.
            while blocks.len() >= 2 {
                let k = blocks.len();
                let (a, b) = (blocks[k - 2], blocks[k - 1]);
                if a.1 / a.2 <= b.1 / b.2 {
                    break;
                }
                blocks.truncate(k - 2);
                blocks.push((a.0 + b.0, a.1 + b.1, a.2 + b.2));
            }
        }
        // Small blocks are noise (five losers in a row say little): merge adjacent blocks
        // until each holds at least `min_block` examples — merging neighbours of a
        // non-decreasing sequence keeps it non-decreasing.
        let min_block = (n / MAX_BLOCKS).max(MIN_BLOCK) as f64;
        let mut merged: Vec<(f64, f64, f64)> = Vec::with_capacity(blocks.len());
        let mut acc = (0.0, 0.0, 0.0);
        for b in blocks {
            acc = (acc.0 + b.0, acc.1 + b.1, acc.2 + b.2);
            if acc.2 >= min_block {
                merged.push(acc);
                acc = (0.0, 0.0, 0.0);
            }
        }
        if acc.2 > 0.0 {
            match merged.last_mut() {
                Some(l) => *l = (l.0 + acc.0, l.1 + acc.1, l.2 + acc.2),
                None => merged.push(acc),
            }
        }
        // Shrink each block toward the calibration base rate with a prior worth
        // `PRIOR_WEIGHT` examples, then pool again: shrinkage toward a constant can
        // invert two blocks of very different sizes.
        let base: f64 = merged.iter().map(|b| b.1).sum::<f64>() / n as f64;
        let mut out: Vec<(f64, f64, f64)> = Vec::with_capacity(merged.len());
        for b in merged {
            let w = b.2 + PRIOR_WEIGHT;
            out.push((b.0 / b.2 * w, b.1 + PRIOR_WEIGHT * base, w));
            while out.len() >= 2 {
                let k = out.len();
                let (a, c) = (out[k - 2], out[k - 1]);
                if a.1 / a.2 <= c.1 / c.2 {
                    break;
                }
                out.truncate(k - 2);
                out.push((a.0 + c.0, a.1 + c.1, a.2 + c.2));
            }
        }
        let xs = out.iter().map(|b| b.0 / b.2).collect();
        let ys = out
            .iter()
            .map(|b| (b.1 / b.2).clamp(CLIP, 1.0 - CLIP))
            .collect();
        Ok(Isotonic { xs, ys })
    }

    /// The calibrated probability of a raw score (binary search, no allocation).
    #[inline]
    pub fn apply(&self, s: f64) -> f64 {
        let (xs, ys) = (&self.xs, &self.ys);
        let (Some(&x_first), Some(&x_last)) = (xs.first(), xs.last()) else {
            return s.clamp(CLIP, 1.0 - CLIP);
        };
        if s.is_nan() {
            return 0.5;
        }
        if s <= x_first {
            return ys[0];
        }
        if s >= x_last {
            return ys[ys.len() - 1];
        }
        // xs[k-1] < s <= xs[k], 1 ≤ k < len.
        let k = xs.partition_point(|&x| x < s);
        let (x0, x1, y0, y1) = (xs[k - 1], xs[k], ys[k - 1], ys[k]);
        y0 + (y1 - y0) * (s - x0) / (x1 - x0)
    }

    /// Blocks in the fitted map.
    pub fn blocks(&self) -> usize {
        self.xs.len()
    }

    /// Checks a deserialized map (sorted, finite, in range) so a damaged file cannot
    /// produce nonsense probabilities.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.xs.len() != self.ys.len() || self.xs.is_empty() {
            return Err("isotonic map: empty or mismatched".into());
        }
        let finite = self.xs.iter().chain(&self.ys).all(|v| v.is_finite());
        let sorted =
            self.xs.windows(2).all(|w| w[0] < w[1]) && self.ys.windows(2).all(|w| w[0] <= w[1]);
        let in_range = self.ys.iter().all(|y| (0.0..=1.0).contains(y));
        if finite && sorted && in_range {
            Ok(())
        } else {
            Err("isotonic map: not finite, not sorted or out of [0, 1]".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::brier;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn pav_pools_violators() {
        // 40 examples: scores 0..40; labels 0 below 10, alternating 10..30, 1 above.
        let s: Vec<f64> = (0..40).map(f64::from).collect();
        let y: Vec<bool> = (0..40)
            .map(|i| {
                if i < 10 {
                    false
                } else if i < 30 {
                    i % 2 == 1
                } else {
                    true
                }
            })
            .collect();
        let iso = Isotonic::fit(&s, &y).unwrap();
        assert!(iso.validate().is_ok());
        // Blocks of ≥ 10 examples, each shrunk toward the base rate 0.5 by 2
        // pseudo-examples: the ten losers give (0 + 1) / 12, no 0 anywhere.
        assert!(iso.blocks() <= 4, "{iso:?}");
        assert!((iso.apply(-5.0) - 1.0 / 12.0).abs() < 1e-12);
        assert!((iso.apply(19.5) - 0.5).abs() < 0.1);
        let top = iso.apply(99.0);
        assert!(top > 0.75 && top < 1.0 - CLIP, "{top} {iso:?}");
        assert!(Isotonic::fit(&[], &[]).is_err());
        assert!(Isotonic::fit(&[f64::NAN], &[true]).is_err());
        // Tiny sets become one block at the (shrunk) base rate.
        let one = Isotonic::fit(&[1.0, 2.0, 3.0, 4.0], &[false, true, false, true]).unwrap();
        assert_eq!(one.blocks(), 1);
        assert!((one.apply(0.0) - 0.5).abs() < 1e-12);
    }

    /// Monotone on a fine grid, and it repairs a badly miscalibrated model: true
    /// probability q, reported as q³ (far too pessimistic).
    #[test]
    fn monotone_and_improves_brier_out_of_sample() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut draw = |n: usize| {
            let mut s = Vec::with_capacity(n);
            let mut y = Vec::with_capacity(n);
            for _ in 0..n {
                let q: f64 = rng.gen();
                s.push(q.powi(3));
                y.push(rng.gen::<f64>() < q);
            }
            (s, y)
        };
        let (s_cal, y_cal) = draw(2_000);
        let (s_test, y_test) = draw(5_000);
        let iso = Isotonic::fit(&s_cal, &y_cal).unwrap();
        let mut prev = f64::NEG_INFINITY;
        for i in 0..=10_000 {
            let v = iso.apply(i as f64 / 10_000.0 * 1.2 - 0.1);
            assert!(v >= prev, "not monotone at {i}");
            assert!((CLIP..=1.0 - CLIP).contains(&v));
            prev = v;
        }
        let raw = brier(&s_test, &y_test);
        let cal: Vec<f64> = s_test.iter().map(|&s| iso.apply(s)).collect();
        let fixed = brier(&cal, &y_test);
        eprintln!("brier raw {raw:.4} -> calibrated {fixed:.4}");
        assert!(fixed < raw - 0.02, "raw {raw} calibrated {fixed}");
        // Close to the Brier of the true probabilities (≈ E[q(1−q)] = 1/6).
        assert!(fixed < 1.0 / 6.0 + 0.01);
    }
}
