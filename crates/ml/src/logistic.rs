//! The baseline: L2-regularized logistic regression, fitted with `linfa-logistic`
//! (L-BFGS), predicted with our own 18-term dot product.
//!
//! Why linfa for the fit: a maintained, pure-Rust, tested solver. Why not for the
//! prediction: `FittedLogisticRegression::predict_probabilities` takes an ndarray matrix
//! and returns a new array, i.e. allocates per call, and the filter's hot path must not.
//! So the fitted coefficients are copied out into a fixed array.
//!
//! **Which class is positive.** linfa-logistic labels the *more frequent* class as its
//! positive class (ties: the first one seen), not `true`, so with a win rate below 50 %
//! its probability is P(loss). [`Logistic::fit`] reads `labels().pos.class` and flips
//! the coefficients when the positive class is `false`, so [`Logistic::prob`] is always
//! P(label = 1); `tests::probability_is_p_label_true_whatever_the_majority` proves it.
//!
//! [`Standardizer`] (z-scores with train-only statistics) lives here too: the logistic
//! penalty is only fair across features on a common scale, and the trees use the same
//! standardized inputs so one code path prepares features for both models.

use crate::error::{MlError, Result};
use crate::features::{FeatureVec, N_FEATURES};
use linfa::prelude::*;
use linfa_logistic::LogisticRegression;
use serde::{Deserialize, Serialize};

/// Standardized values are clipped to ±this, so one absurd input (a bad tick, a
/// microprice on a crossed book) cannot dominate a linear score.
pub const Z_CLIP: f64 = 8.0;

/// Per-feature z-scoring with statistics of the training rows only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Training means.
    pub mean: FeatureVec,
    /// 1 / training standard deviation; 0 for a constant feature (it then carries no
    /// information and contributes nothing).
    pub inv_std: FeatureVec,
}

impl Standardizer {
    /// Fits on the training rows.
    pub fn fit(xs: &[FeatureVec]) -> Result<Standardizer> {
        if xs.is_empty() {
            return Err(MlError::Data("no rows to standardize".into()));
        }
        let n = xs.len() as f64;
        let mut mean = [0.0; N_FEATURES];
        for x in xs {
            for (m, v) in mean.iter_mut().zip(x) {
                *m += v;
            }
        }
        for m in &mut mean {
            *m /= n;
        }
        let mut var = [0.0; N_FEATURES];
        for x in xs {
            for j in 0..N_FEATURES {
                var[j] += (x[j] - mean[j]).powi(2);
            }
        }
        let mut inv_std = [0.0; N_FEATURES];
        for j in 0..N_FEATURES {
            let sd = (var[j] / n).sqrt();
            if !(mean[j].is_finite() && sd.is_finite()) {
                return Err(MlError::Data(format!(
                    "feature {} ({}) is not finite in the training rows",
                    j,
                    crate::features::NAMES[j]
                )));
            }
            inv_std[j] = if sd > 1e-12 * mean[j].abs().max(1.0) {
                1.0 / sd
            } else {
                0.0
            };
        }
        Ok(Standardizer { mean, inv_std })
    }

    /// Standardizes one vector (clipped to ±[`Z_CLIP`]; non-finite inputs become 0,
    /// the training mean).
    #[inline]
    pub fn apply(&self, x: &FeatureVec) -> FeatureVec {
        let mut z = [0.0; N_FEATURES];
        for j in 0..N_FEATURES {
            let v = (x[j] - self.mean[j]) * self.inv_std[j];
            z[j] = if v.is_finite() {
                v.clamp(-Z_CLIP, Z_CLIP)
            } else {
                0.0
            };
        }
        z
    }

    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        let ok = self.mean.iter().all(|v| v.is_finite())
            && self.inv_std.iter().all(|v| v.is_finite() && *v >= 0.0);
        ok.then_some(())
            .ok_or_else(|| "standardizer has non-finite or negative values".into())
    }
}

/// Logistic-regression settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// L2 penalty per training example (linfa's `alpha` is on the summed loss, so it is
    /// scaled by the row count to keep the prior's strength independent of window size).
    pub l2_per_example: f64,
    /// L-BFGS iterations.
    pub max_iterations: u64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            l2_per_example: 0.005,
            max_iterations: 200,
        }
    }
}

/// σ(x), stable for large |x|.
#[inline]
pub fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// A fitted logistic regression on standardized features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logistic {
    /// Coefficients, oriented so the score is the log-odds of `label = true`.
    pub w: FeatureVec,
    /// Intercept, same orientation.
    pub b: f64,
}

impl Logistic {
    /// Fits on standardized rows `zs` with labels `ys` (both classes required).
    pub fn fit(zs: &[FeatureVec], ys: &[bool], p: &LogisticParams) -> Result<Logistic> {
        if zs.len() != ys.len() || zs.is_empty() {
            return Err(MlError::Data(format!(
                "logistic fit: {} rows, {} labels",
                zs.len(),
                ys.len()
            )));
        }
        let pos = ys.iter().filter(|&&y| y).count();
        if pos == 0 || pos == ys.len() {
            return Err(MlError::Data(format!(
                "logistic fit: only one class in {} labels",
                ys.len()
            )));
        }
        if !(p.l2_per_example.is_finite() && p.l2_per_example >= 0.0) {
            return Err(MlError::Param(
                "logistic.l2_per_example must be finite and >= 0".into(),
            ));
        }
        let flat: Vec<f64> = zs.iter().flat_map(|z| z.iter().copied()).collect();
        let x = ndarray::Array2::from_shape_vec((zs.len(), N_FEATURES), flat)
            .map_err(|e| MlError::Fit(e.to_string()))?;
        let y = ndarray::Array1::from_vec(ys.to_vec());
        let ds = Dataset::new(x, y);
        let fitted = LogisticRegression::default()
            .alpha(p.l2_per_example * zs.len() as f64)
            .max_iterations(p.max_iterations)
            .fit(&ds)
            .map_err(|e| MlError::Fit(e.to_string()))?;
        let params = fitted.params();
        if params.len() != N_FEATURES {
            return Err(MlError::Fit(format!(
                "linfa returned {} coefficients for {N_FEATURES} features",
                params.len()
            )));
        }
        // linfa's positive class is the majority class: orient toward `true`.
        let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
        let mut w = [0.0; N_FEATURES];
        for (wj, pj) in w.iter_mut().zip(params.iter()) {
            *wj = sign * pj;
        }
        let b = sign * fitted.intercept();
        if !(b.is_finite() && w.iter().all(|v| v.is_finite())) {
            return Err(MlError::Fit("non-finite coefficients".into()));
        }
        Ok(Logistic { w, b })
    }

    /// Log-odds of `label = true` for a standardized vector.
    #[inline]
    pub fn logit(&self, z: &FeatureVec) -> f64 {
        let mut s = self.b;
        for (w, v) in self.w.iter().zip(z) {
            s += w * v;
        }
        s
    }

    /// P(label = true) for a standardized vector.
    #[inline]
    pub fn prob(&self, z: &FeatureVec) -> f64 {
        sigmoid(self.logit(z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Rows with feature 0 planted: P(true) = σ(2·x0 + bias).
    fn planted(n: usize, bias: f64, seed: u64) -> (Vec<FeatureVec>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut xs = Vec::with_capacity(n);
        let mut ys = Vec::with_capacity(n);
        for _ in 0..n {
            let mut x = [0.0; N_FEATURES];
            for v in &mut x {
                *v = rng.gen::<f64>() * 2.0 - 1.0;
            }
            let p = sigmoid(2.0 * x[0] + bias);
            xs.push(x);
            ys.push(rng.gen::<f64>() < p);
        }
        (xs, ys)
    }

    #[test]
    fn probability_is_p_label_true_whatever_the_majority() {
        // bias −1.5: winners are the minority (linfa's positive class is `false`);
        // bias +1.5: winners are the majority. Both must give P(true).
        for bias in [-1.5, 1.5] {
            let (xs, ys) = planted(4_000, bias, 11);
            let rate = ys.iter().filter(|&&y| y).count() as f64 / ys.len() as f64;
            let m = Logistic::fit(&xs, &ys, &LogisticParams::default()).unwrap();
            // The trap this guards against: linfa's own positive class is the majority.
            let flat: Vec<f64> = xs.iter().flatten().copied().collect();
            let x = ndarray::Array2::from_shape_vec((xs.len(), N_FEATURES), flat).unwrap();
            let raw = LogisticRegression::default()
                .fit(&Dataset::new(x, ndarray::Array1::from_vec(ys.clone())))
                .unwrap();
            assert_eq!(
                raw.labels().pos.class,
                rate > 0.5,
                "linfa's convention changed"
            );
            let mean_p = xs.iter().map(|x| m.prob(x)).sum::<f64>() / xs.len() as f64;
            eprintln!(
                "bias {bias}: base rate {rate:.3}, mean p {mean_p:.3}, w0 {:.2}",
                m.w[0]
            );
            assert!(
                (mean_p - rate).abs() < 0.02,
                "mean p {mean_p} vs rate {rate}"
            );
            assert!(m.w[0] > 1.5 && m.w[0] < 2.5, "w0 {}", m.w[0]);
            assert!((m.b - bias).abs() < 0.3, "b {}", m.b);
            let mut hi = [0.0; N_FEATURES];
            hi[0] = 1.0;
            assert!(m.prob(&hi) > m.prob(&[0.0; N_FEATURES]));
        }
    }

    #[test]
    fn one_class_is_refused() {
        let (xs, _) = planted(50, 0.0, 1);
        let ys = vec![true; 50];
        assert!(matches!(
            Logistic::fit(&xs, &ys, &LogisticParams::default()),
            Err(MlError::Data(_))
        ));
    }

    #[test]
    fn standardizer_uses_given_rows_and_handles_constants() {
        let mut xs = vec![[0.0; N_FEATURES]; 4];
        for (i, x) in xs.iter_mut().enumerate() {
            x[0] = i as f64; // mean 1.5, sd √1.25
            x[1] = 7.0; // constant
        }
        let s = Standardizer::fit(&xs).unwrap();
        assert_eq!(s.mean[0], 1.5);
        assert_eq!(s.inv_std[1], 0.0);
        let z = s.apply(&xs[3]);
        assert!((z[0] - 1.5 / 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(z[1], 0.0);
        let mut wild = xs[0];
        wild[0] = 1e12;
        assert_eq!(s.apply(&wild)[0], Z_CLIP);
        wild[0] = f64::NAN;
        assert_eq!(s.apply(&wild)[0], 0.0);
        assert!(Standardizer::fit(&[]).is_err());
    }

    #[test]
    fn sigmoid_is_stable() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert!(sigmoid(800.0) == 1.0 && sigmoid(-800.0) == 0.0);
        assert!((sigmoid(2.0) + sigmoid(-2.0) - 1.0).abs() < 1e-15);
    }
}
