//! FTRL-Proximal online logistic regression (McMahan et al., "Ad Click Prediction: a
//! View from the Trenches", 2013): one O(18) update per closed trade.
//!
//! The batch models are refitted every N labels; between refits they do not move. FTRL
//! learns from every single trade, with per-coordinate learning rates (features seen
//! with large gradients slow down) and L1/L2 regularization in closed form. It is offered
//! as a component the caller can run beside the batch model — e.g. as a fast-adapting
//! challenger scored by the same rolling metrics — rather than wired into the filter's
//! model swap, because replacing the installed model (and clearing the cache) on every
//! trade would make versions meaningless. Feed it standardized features (the installed
//! model's [`Standardizer`](crate::Standardizer)) or features of similar scale.

use crate::error::{MlError, Result};
use crate::features::{FeatureVec, N_FEATURES};
use crate::logistic::sigmoid;
use serde::{Deserialize, Serialize};

/// FTRL settings (the paper's α, β, λ₁, λ₂).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FtrlParams {
    /// Learning-rate scale α.
    pub alpha: f64,
    /// Learning-rate smoothing β.
    pub beta: f64,
    /// L1 (sparsity).
    pub l1: f64,
    /// L2.
    pub l2: f64,
}

impl Default for FtrlParams {
    fn default() -> Self {
        FtrlParams {
            alpha: 0.05,
            beta: 1.0,
            l1: 0.5,
            l2: 1.0,
        }
    }
}

const D: usize = N_FEATURES + 1; // + bias

/// The online model: the paper's `z` and `n` per coordinate (the last is the bias).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ftrl {
    p: FtrlParams,
    z: [f64; D],
    n: [f64; D],
    updates: u64,
}

impl Ftrl {
    /// A fresh model (predicts 0.5).
    pub fn new(p: FtrlParams) -> Result<Ftrl> {
        let ok = |v: f64| v.is_finite() && v >= 0.0;
        if !(p.alpha > 0.0 && p.alpha.is_finite() && ok(p.beta) && ok(p.l1) && ok(p.l2)) {
            return Err(MlError::Param(
                "ftrl: alpha must be > 0; beta, l1, l2 >= 0".into(),
            ));
        }
        Ok(Ftrl {
            p,
            z: [0.0; D],
            n: [0.0; D],
            updates: 0,
        })
    }

    #[inline]
    fn weight(&self, i: usize) -> f64 {
        let z = self.z[i];
        if z.abs() <= self.p.l1 {
            0.0
        } else {
            -(z - z.signum() * self.p.l1)
                / ((self.p.beta + self.n[i].sqrt()) / self.p.alpha + self.p.l2)
        }
    }

    #[inline]
    fn input(x: &FeatureVec, i: usize) -> f64 {
        if i < N_FEATURES {
            let v = x[i];
            if v.is_finite() {
                v
            } else {
                0.0
            }
        } else {
            1.0
        }
    }

    /// P(label = true). No allocation.
    #[inline]
    pub fn predict(&self, x: &FeatureVec) -> f64 {
        let mut s = 0.0;
        for i in 0..D {
            s += self.weight(i) * Self::input(x, i);
        }
        sigmoid(s)
    }

    /// Learns from one labelled example; returns the prediction made before the update
    /// (progressive validation: an honest out-of-sample score for every trade).
    pub fn update(&mut self, x: &FeatureVec, label: bool) -> f64 {
        let mut w = [0.0; D];
        let mut s = 0.0;
        for (i, wi) in w.iter_mut().enumerate() {
            *wi = self.weight(i);
            s += *wi * Self::input(x, i);
        }
        let p = sigmoid(s);
        let g = p - f64::from(u8::from(label));
        for (i, &wi) in w.iter().enumerate() {
            let gi = g * Self::input(x, i);
            let sigma = ((self.n[i] + gi * gi).sqrt() - self.n[i].sqrt()) / self.p.alpha;
            self.z[i] += gi - sigma * wi;
            self.n[i] += gi * gi;
        }
        self.updates += 1;
        p
    }

    /// Examples learned.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// Current weights (bias last).
    pub fn weights(&self) -> [f64; D] {
        std::array::from_fn(|i| self.weight(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::auc;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn stream(n: usize, planted: bool, seed: u64) -> Vec<(FeatureVec, bool)> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let x: FeatureVec = std::array::from_fn(|_| rng.gen::<f64>() * 2.0 - 1.0);
                let p = if planted {
                    sigmoid(1.5 * x[2] - 1.0 * x[5])
                } else {
                    0.45
                };
                (x, rng.gen::<f64>() < p)
            })
            .collect()
    }

    /// Progressive validation: each prediction is made before the model saw the label.
    fn progressive_auc(data: &[(FeatureVec, bool)]) -> f64 {
        let mut m = Ftrl::new(FtrlParams::default()).unwrap();
        let (mut p, mut y) = (Vec::new(), Vec::new());
        for (i, (x, l)) in data.iter().enumerate() {
            let q = m.update(x, *l);
            if i >= data.len() / 2 {
                p.push(q);
                y.push(*l);
            }
        }
        auc(&p, &y).unwrap()
    }

    #[test]
    fn learns_a_planted_signal_online() {
        let a = progressive_auc(&stream(4_000, true, 1));
        eprintln!("ftrl planted: progressive auc {a:.3}");
        assert!(a > 0.7, "{a}");
    }

    #[test]
    fn no_gain_on_noise() {
        let a = progressive_auc(&stream(4_000, false, 2));
        eprintln!("ftrl noise: progressive auc {a:.3}");
        assert!((a - 0.5).abs() < 0.05, "{a}");
    }

    #[test]
    fn l1_keeps_irrelevant_weights_at_zero() {
        let mut m = Ftrl::new(FtrlParams {
            l1: 30.0,
            ..FtrlParams::default()
        })
        .unwrap();
        for (x, l) in stream(3_000, true, 3) {
            m.update(&x, l);
        }
        let w = m.weights();
        let zeros = w[..N_FEATURES].iter().filter(|v| **v == 0.0).count();
        assert!(w[2] > 0.0 && w[5] < 0.0, "{w:?}");
        assert!(zeros >= 12, "{w:?}");
        assert!(Ftrl::new(FtrlParams {
            alpha: 0.0,
            ..FtrlParams::default()
        })
        .is_err());
    }
}
