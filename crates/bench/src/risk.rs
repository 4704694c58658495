//! `shmtrader bench risk`: signal in → risk-approved order ready to sign.
//!
//! Times `RiskEngine::evaluate` (sizing from ATR, every gate rule, exact decimal rounding
//! to the step size) on a warmed engine with 16 symbols and a correlation window, one
//! clock read pair per sample (included in the figure, ~2 × 20 ns). The reservation is
//! released after each approval so every sample walks the full approval path. Baseline:
//! the same request recomputed the naive way — building the symbol rules and a fresh
//! engine per signal, as a stateless service would.

use crate::error::{BenchError, Result};
use crate::{BenchOptions, Row};
use shmtrader_core::Instrument;
use shmtrader_core::Side;
use shmtrader_risk::{Decision, EntryRequest, RiskEngine, RiskParams};
use std::time::Instant;

const SYMBOLS: usize = 16;

fn engine() -> Result<(RiskEngine, Vec<Instrument>)> {
    let rules: Vec<Instrument> = (0..SYMBOLS)
        .map(|s| Instrument::from_basic(&format!("S{s}USDT"), "0.01", "0.001", "0.001", "5"))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| BenchError::Invalid(format!("rules: {e}")))?;
    let p = RiskParams {
        bar_interval_ns: 1_000_000_000,
        ..RiskParams::default()
    };
    let mut e =
        RiskEngine::new(p, &rules).map_err(|e| BenchError::Invalid(format!("risk: {e}")))?;
    // Warm ATR and correlation with 200 one-second bars per symbol.
    let mut px = [100.0f64; SYMBOLS];
    for bar in 0..200u64 {
        for (s, p) in px.iter_mut().enumerate() {
            *p *= 1.0 + 0.001 * (((bar * 7 + s as u64 * 13) % 11) as f64 - 5.0) / 5.0;
            let _ = e.on_tick(s as u32, *p, bar * 1_000_000_000 + s as u64);
        }
    }
    Ok((e, rules))
}

/// Runs the risk benchmark.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let n = if opts.quick { 20_000 } else { 500_000 };
    let (mut e, rules) = engine()?;
    let ts = 201 * 1_000_000_000u64;
    let mut samples = Vec::with_capacity(n);
    let mut approved = 0u64;
    for i in 0..n {
        let req = EntryRequest {
            symbol_id: (i % SYMBOLS) as u32,
            side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
            price: 100.0,
            signal_seq: i as u64,
        };
        let t0 = Instant::now();
        let d = e.evaluate(&req, ts);
        let dt = t0.elapsed().as_nanos() as f64;
        if let Decision::Approved(o) = d {
            approved += 1;
            std::hint::black_box(o);
            e.entry_order_done(req.symbol_id);
        }
        samples.push(dt);
    }
    // Every sample must have walked the full approval path, or the figure is not the
    // one the row names.
    if approved != n as u64 {
        return Err(BenchError::Invalid(format!(
            "the risk gate approved {approved} of {n} requests"
        )));
    }
    // Baseline: stateless recompute per signal.
    let m = if opts.quick { 200 } else { 2_000 };
    let mut base = Vec::with_capacity(m);
    for i in 0..m {
        let t0 = Instant::now();
        let (mut fresh, _) = engine()?;
        let req = EntryRequest {
            symbol_id: (i % SYMBOLS) as u32,
            side: Side::Buy,
            price: 100.0,
            signal_seq: i as u64,
        };
        std::hint::black_box(fresh.evaluate(&req, ts));
        base.push(t0.elapsed().as_nanos() as f64);
    }
    drop(rules);
    let base = Row::latency("risk.stateless_recompute", "ns", &mut base, None, None);
    let check = Row::latency(
        "risk.check_and_build",
        "ns",
        &mut samples,
        Some((&base.name, base.value)),
        None,
    );
    Ok(vec![check, base])
}
