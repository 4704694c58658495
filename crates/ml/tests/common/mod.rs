//! Synthetic labelled trades shared by the integration tests.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_ml::{Example, FeatureVec, N_FEATURES};

/// What decides the label.
#[derive(Clone, Copy, Debug)]
pub enum Truth {
    /// Labels independent of the features (win rate 45 %).
    Noise,
    /// Linear planted signal on features 0 and 7.
    Linear,
    /// Interaction only trees can see: win iff features 2 and 3 share a sign.
    Interaction,
}

pub fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `n` trades, one signal a minute, each held 5–60 minutes (labels overlap the next
/// signals, as real trades do). Features are standard normal-ish with realistic offsets.
pub fn trades(n: usize, truth: Truth, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n as u64)
        .map(|i| {
            let mut x: FeatureVec = [0.0; N_FEATURES];
            for (j, v) in x.iter_mut().enumerate() {
                let u: f64 = (0..4).map(|_| rng.gen::<f64>()).sum::<f64>() - 2.0;
                *v = u * (1.0 + j as f64 * 0.3) + j as f64;
            }
            x[14] = if rng.gen::<bool>() { 1.0 } else { -1.0 };
            let p = match truth {
                Truth::Noise => 0.45,
                Truth::Linear => sigmoid(-0.2 + 2.5 * x[0] - 0.8 * (x[7] - 7.0) / 1.3),
                Truth::Interaction => {
                    if (x[2] - 2.0) * (x[3] - 3.0) > 0.0 {
                        0.8
                    } else {
                        0.2
                    }
                }
            };
            let ts = 1_700_000_000_000_000_000 + i * 60_000_000_000;
            let hold = rng.gen_range(5..=60) * 60_000_000_000;
            Example {
                ts_ns: ts,
                exit_ts_ns: ts + hold,
                x,
                label: rng.gen::<f64>() < p,
            }
        })
        .collect()
}

pub fn tuples(rows: &[Example]) -> Vec<(u64, u64, FeatureVec, bool)> {
    rows.iter()
        .map(|r| (r.ts_ns, r.exit_ts_ns, r.x, r.label))
        .collect()
}

/// Fisher–Yates with a seed.
pub fn shuffle_labels(rows: &mut [Example], seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for i in (1..rows.len()).rev() {
        let j = rng.gen_range(0..=i);
        let (a, b) = (rows[i].label, rows[j].label);
        rows[i].label = b;
        rows[j].label = a;
    }
}
