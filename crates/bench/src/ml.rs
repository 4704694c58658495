//! `shmtrader bench ml`: the ML signal filter's per-signal costs.
//!
//! - `ml.features`: building the 18-feature vector from the engine's `Features` and the
//!   signal, in batches of 256 (one clock pair per batch; the figure is the batch mean).
//! - `ml.predict`: `OnlineFilter::predict` with the default configuration (no cache) on
//!   a logistic model — lock-free model load, standardize, dot product, isotonic lookup.
//!   Every call gets a different feature vector. Timed per call, so the ~20–40 ns clock
//!   pair is included and the p99 is a real tail (target p99 ≤ 2 µs).
//! - `ml.predict_gbt`: the same with the challenger (100 depth-3 trees).
//! - `ml.predict_cache_miss`: cache enabled, every call a miss — what the cache costs
//!   live, where signals are rare and their features never repeat exactly.
//! - `ml.predict_cached` / `ml.predict_gbt_cached`: cache enabled, every call a hit —
//!   the best case the cache can offer, compared with the uncached row.
//!
//! Models are trained on a seeded synthetic set of labelled trades (a planted linear
//! signal for the logistic model, an interaction for the trees).

use crate::error::{BenchError, Result};
use crate::{percentiles, BenchOptions, Row};
use shmtrader_ml::{
    bench_features, fit, Example, FeatureVec, FilterParams, Kind, Model, OnlineFilter, RefitMode,
    TrainParams, N_FEATURES,
};
use std::time::Instant;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn vectors(n: usize, seed: u64) -> Vec<FeatureVec> {
    let mut r = Rng(seed | 1);
    (0..n)
        .map(|_| std::array::from_fn(|j| (r.next() - 0.5) * 4.0 + j as f64))
        .collect()
}

fn examples(n: usize, interaction: bool, seed: u64) -> Vec<Example> {
    let mut r = Rng(seed | 1);
    vectors(n, seed ^ 0x9e37)
        .into_iter()
        .enumerate()
        .map(|(i, x)| {
            let z = if interaction {
                if (x[2] - 2.0) * (x[3] - 3.0) > 0.0 {
                    1.4
                } else {
                    -1.4
                }
            } else {
                1.2 * x[0] - 0.6 * (x[7] - 7.0)
            };
            let p = 1.0 / (1.0 + (-z).exp());
            let ts = i as u64 * 60_000_000_000;
            Example {
                ts_ns: ts,
                exit_ts_ns: ts + 600_000_000_000,
                x,
                label: r.next() < p,
            }
        })
        .collect()
}

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Invalid(format!("ml: {e}"))
}

fn filter(m: &Model, cache: usize) -> Result<OnlineFilter> {
    let mut f = OnlineFilter::new(FilterParams {
        cache_capacity: cache,
        mode: RefitMode::Inline,
        ..FilterParams::default()
    })
    .map_err(err)?;
    f.install(m.clone());
    Ok(f)
}

/// Per-call ns of `f.predict` over `xs` cycled `n` times.
fn time_predict(f: &mut OnlineFilter, xs: &[FeatureVec], n: usize) -> Result<Vec<f64>> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let x = &xs[i % xs.len()];
        let t0 = Instant::now();
        let r = f.predict(std::hint::black_box(x));
        let dt = t0.elapsed().as_nanos() as f64;
        if r.is_none() {
            return Err(err("no model installed"));
        }
        std::hint::black_box(r);
        out.push(dt);
    }
    Ok(out)
}

fn row(name: &str, samples: &mut [f64], baseline: Option<(&str, f64)>, acc: Option<String>) -> Row {
    Row::latency(name, "ns", samples, baseline, acc)
}

/// Runs the ML benchmark.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let n = if opts.quick { 20_000 } else { 500_000 };
    let tp = TrainParams::default();
    let lin = fit(Kind::Logistic, &examples(2_000, false, 1), &tp).map_err(err)?;
    let gbt = fit(Kind::Gbt, &examples(2_000, true, 2), &tp).map_err(err)?;
    if N_FEATURES != 18 {
        return Err(err("feature width changed"));
    }
    // Distinct vectors: more than any cache would hold, so no two calls repeat soon.
    let many = vectors(n.min(100_000), 3);
    let few = vectors(64, 4);

    let mut feats = bench_features(if opts.quick { 65_536 } else { 1 << 21 });
    let mut rows = vec![row("ml.features", &mut feats, None, None)];

    let mut plain = filter(&lin, 0)?;
    let mut s_lin = time_predict(&mut plain, &many, n)?;
    let mut plain_gbt = filter(&gbt, 0)?;
    let mut s_gbt = time_predict(&mut plain_gbt, &many, n)?;

    let mut miss = filter(&lin, 4_096)?;
    let mut s_miss = time_predict(&mut miss, &many, n)?;
    let (hits_m, misses_m) = (miss.stats().cache_hits, miss.stats().cache_misses);

    let mut hit = filter(&lin, 4_096)?;
    time_predict(&mut hit, &few, few.len())?;
    let mut s_hit = time_predict(&mut hit, &few, n)?;
    let mut hit_gbt = filter(&gbt, 4_096)?;
    time_predict(&mut hit_gbt, &few, few.len())?;
    let mut s_hit_gbt = time_predict(&mut hit_gbt, &few, n)?;

    // Accuracy: the cache answers for the quantized vector.
    let mut max_diff = 0.0f64;
    for x in &few {
        let a = plain.predict(x).map_or(f64::NAN, |p| p.0);
        let b = hit.predict(x).map_or(f64::NAN, |p| p.0);
        max_diff = max_diff.max((a - b).abs());
    }
    let (lin50, _, _) = percentiles(&mut s_lin);
    let (gbt50, _, _) = percentiles(&mut s_gbt);
    rows.push(row(
        "ml.predict",
        &mut s_lin,
        None,
        Some(format!(
            "logistic, no cache (the default), {} distinct vectors; clock pair included",
            many.len()
        )),
    ));
    rows.push(row(
        "ml.predict_gbt",
        &mut s_gbt,
        None,
        Some(format!("gbt, {} trees of depth 3, no cache", 100)),
    ));
    rows.push(row(
        "ml.predict_cache_miss",
        &mut s_miss,
        Some(("ml.predict", lin50)),
        Some(format!(
            "logistic, cache of 4096 enabled, {hits_m} hits / {misses_m} misses: the live case"
        )),
    ));
    rows.push(row(
        "ml.predict_cached",
        &mut s_hit,
        Some(("ml.predict", lin50)),
        Some(format!(
            "logistic, every call a hit; max |cached − uncached| = {max_diff:.1e} (quantum 1e-6)"
        )),
    ));
    rows.push(row(
        "ml.predict_gbt_cached",
        &mut s_hit_gbt,
        Some(("ml.predict_gbt", gbt50)),
        Some("gbt, every call a hit".into()),
    ));
    if rows
        .iter()
        .any(|r| !(r.value.is_finite() && r.value >= 0.0))
    {
        return Err(err("non-finite timing"));
    }
    Ok(rows)
}
