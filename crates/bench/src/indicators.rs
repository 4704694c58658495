//! `shmtrader bench indicators`: the full indicator set per tick, incrementally, against
//! recomputing it over a 200-bar window each tick and against the `ta` crate.
//!
//! The tape is a seeded random walk around 60,000 with 200 trades per one-minute bar.
//! Every tick the set answers provisional values ("if the bar closed now"), so each
//! contender does the same job per tick: all of EMA fast/slow, RSI, MACD, Bollinger and
//! ATR for the current price. Per-tick times are measured over batches of ticks (one
//! clock pair per batch, not per tick) and reported as the median/p99 of batch means.
//!
//! Accuracy checks printed with the rows: the incremental committed values against the
//! batch reference (must be bit-identical), the 200-bar recompute against incremental
//! (differs only by the EMA/RSI memory a 200-bar window truncates), and the `ta` crate
//! against incremental (`ta` seeds EMAs with the first value and smooths RSI/ATR with an
//! EMA rather than Wilder's average, so it does not follow TA-Lib's conventions).

use crate::error::{BenchError, Result};
use crate::{percentiles, BenchOptions, Row};
use shmtrader_core::{Side, Tick};
use shmtrader_indicators::{
    atr_batch, bbands_batch, ema_batch, macd_batch, rsi_batch, Bar, Hlc, IndicatorParams,
    IndicatorSet, Snapshot,
};
use shmtrader_strategy::{
    Engine, EngineParams, InlineFitter, SignalEngine, SignalInputs, SignalParams,
};
use std::time::Instant;
use ta::indicators::{
    AverageTrueRange, BollingerBands as TaBb, ExponentialMovingAverage as TaEma,
    MovingAverageConvergenceDivergence as TaMacd, RelativeStrengthIndex as TaRsi,
};
use ta::Next;

const TICKS_PER_BAR: u64 = 200;
const BAR_MS: i64 = 60_000;
const BATCH: usize = 256;

/// A seeded random-walk tape: (ts_ms, price, qty).
fn tape(n: usize, seed: u64) -> Vec<(i64, f64, f64)> {
    let mut s = seed | 1;
    let mut px = 60_000.0f64;
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let u = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            px = (px * (1.0 + u * 0.0004) * 10.0).round() / 10.0;
            let ts = (i as u64 * BAR_MS as u64 / TICKS_PER_BAR) as i64;
            (ts, px, 0.001 + (s % 1000) as f64 * 0.002)
        })
        .collect()
}

fn rel(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// ns per tick over batches of `BATCH` ticks.
fn timed_batches(n: usize, mut f: impl FnMut(usize)) -> Vec<f64> {
    let mut out = Vec::with_capacity(n / BATCH + 1);
    let mut i = 0;
    while i + BATCH <= n {
        let t0 = Instant::now();
        for j in i..i + BATCH {
            f(j);
        }
        out.push(t0.elapsed().as_nanos() as f64 / BATCH as f64);
        i += BATCH;
    }
    out
}

fn row(name: &str, samples: &mut [f64], baseline: Option<(&str, f64)>, acc: String) -> Row {
    Row::latency(name, "ns", samples, baseline, Some(acc))
}

fn err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Invalid(e.to_string())
}

/// The `ta` crate's set, committed at bar close; provisional values by cloning the
/// committed state and stepping the clone (its indicators have no peek).
#[derive(Clone)]
struct TaSet {
    fast: TaEma,
    slow: TaEma,
    rsi: TaRsi,
    macd: TaMacd,
    bb: TaBb,
    atr: AverageTrueRange,
}

struct TaBar {
    h: f64,
    l: f64,
    c: f64,
}
impl ta::High for TaBar {
    fn high(&self) -> f64 {
        self.h
    }
}
impl ta::Low for TaBar {
    fn low(&self) -> f64 {
        self.l
    }
}
impl ta::Close for TaBar {
    fn close(&self) -> f64 {
        self.c
    }
}

impl TaSet {
    fn new(p: &IndicatorParams) -> Result<TaSet> {
        Ok(TaSet {
            fast: TaEma::new(p.ema_fast).map_err(err)?,
            slow: TaEma::new(p.ema_slow).map_err(err)?,
            rsi: TaRsi::new(p.rsi).map_err(err)?,
            macd: TaMacd::new(p.macd_fast, p.macd_slow, p.macd_signal).map_err(err)?,
            bb: TaBb::new(p.bb_period, p.bb_k).map_err(err)?,
            atr: AverageTrueRange::new(p.atr).map_err(err)?,
        })
    }
    /// Steps every indicator with bar `b`; returns (ema_fast, ema_slow, rsi, macd_hist,
    /// bb_mid, atr).
    fn step(&mut self, b: &TaBar) -> [f64; 6] {
        [
            self.fast.next(b.c),
            self.slow.next(b.c),
            self.rsi.next(b.c),
            self.macd.next(b.c).histogram,
            self.bb.next(b.c).average,
            self.atr.next(b),
        ]
    }
}

/// Incremental set over `syms` symbols, ticks round-robin; ns per tick. The tape index
/// and symbol are advanced by counters, not `%`/`/`, so the loop adds no divisions.
/// Every set is first warmed (untimed) with 60 bars, so all indicators are initialized
/// and every tick computes every provisional value.
fn incremental(p: &IndicatorParams, t: &[(i64, f64, f64)], syms: usize) -> Result<Vec<f64>> {
    let warm = (60 * TICKS_PER_BAR as usize).min(t.len() / 2);
    let mut proto = IndicatorSet::new(p).map_err(err)?;
    for &(ts, px, q) in &t[..warm] {
        proto.on_tick(ts, px, q).map_err(err)?;
    }
    if !proto.initialized() {
        return Err(BenchError::Invalid(
            "warm-up did not initialize the set".into(),
        ));
    }
    let mut sets = vec![proto.clone(); syms];
    let t = &t[warm..];
    // Each symbol sees the rest of the tape (its own copy of time), interleaved.
    let n = (t.len() * syms).min(t.len() * 8);
    let (mut sym, mut idx) = (0usize, 0usize);
    let mut sink = 0.0;
    let samples = timed_batches(n, |_| {
        let (ts, px, q) = t[idx];
        if let Ok(v) = sets[sym].on_tick(ts, px, q) {
            sink += v.ema_fast.unwrap_or(0.0);
        }
        sym += 1;
        if sym == syms {
            sym = 0;
            idx += 1;
            if idx == t.len() {
                idx = 0;
                sets.iter_mut().for_each(|s| *s = proto.clone());
            }
        }
    });
    std::hint::black_box(sink);
    Ok(samples)
}

/// Runs the indicator benchmarks.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let p = IndicatorParams::default();
    let n = if opts.quick { 60_000 } else { 400_000 };
    let t = tape(n, 0x5eed);

    // 1. Incremental, one symbol; keep the committed bars and values for checks.
    let mut set = IndicatorSet::new(&p).map_err(err)?;
    let mut snaps: Vec<Snapshot> = Vec::with_capacity(n);
    for &(ts, px, q) in &t {
        snaps.push(set.on_tick(ts, px, q).map_err(err)?);
    }
    let mut inc1 = incremental(&p, &t, 1)?;

    // Committed bars of the tape, and the batch reference over them.
    let mut bars: Vec<Bar> = Vec::new();
    let mut builder = shmtrader_indicators::BarBuilder::new(BAR_MS).map_err(err)?;
    for &(ts, px, q) in &t {
        bars.extend(builder.on_tick(ts, px, q).map_err(err)?.bars());
    }
    let closes: Vec<f64> = bars.iter().map(|b| b.close).collect();
    let hlc: Vec<Hlc> = bars.iter().map(Bar::hlc).collect();
    let mut check = IndicatorSet::new(&p).map_err(err)?;
    let ema_ref = ema_batch(&closes, p.ema_slow).map_err(err)?;
    let rsi_ref = rsi_batch(&closes, p.rsi).map_err(err)?;
    let atr_ref = atr_batch(&hlc, p.atr).map_err(err)?;
    let mut bitwise = true;
    for (i, b) in bars.iter().enumerate() {
        let s = check.on_bar(b).map_err(err)?;
        let same = |a: Option<f64>, r: f64| a.map_or(r.is_nan(), |a| a.to_bits() == r.to_bits());
        bitwise &=
            same(s.ema_slow, ema_ref[i]) && same(s.rsi, rsi_ref[i]) && same(s.atr, atr_ref[i]);
    }
    if !bitwise {
        return Err(BenchError::Invalid(
            "incremental committed values differ from the batch reference".into(),
        ));
    }

    // 2. Many symbols.
    let multi = &t[..(n / 4).max(16_000)];
    let mut inc100 = incremental(&p, multi, 100)?;
    let mut inc1000 = incremental(&p, multi, 1000)?;

    // 3. Naive: recompute everything over the last 200 bars (199 closed + the bar in
    // progress) every tick.
    let window = 200usize;
    let m = if opts.quick { 2_000 } else { 20_000 };
    let start = (window + 10) * TICKS_PER_BAR as usize;
    let mut recompute = Vec::with_capacity(m / 64);
    let mut worst_re = [0.0f64; 4];
    let mut win_c: Vec<f64> = Vec::with_capacity(window);
    let mut win_b: Vec<Hlc> = Vec::with_capacity(window);
    let mut j = start;
    while j < (start + m).min(n) {
        let t0 = Instant::now();
        let mut last = [0.0f64; 6];
        for &(ts, px, _) in &t[j..j + 64] {
            let bar_idx = (ts / BAR_MS) as usize;
            let cur = &bars[bar_idx];
            // The bar in progress up to tick k: recompute its high/low from its ticks
            // would be even slower; take the committed bar's range, price = tick.
            win_c.clear();
            win_b.clear();
            win_c.extend_from_slice(&closes[bar_idx + 1 - window..bar_idx]);
            win_c.push(px);
            win_b.extend_from_slice(&hlc[bar_idx + 1 - window..bar_idx]);
            win_b.push(Hlc {
                high: cur.high.max(px),
                low: cur.low.min(px),
                close: px,
            });
            let e1 = ema_batch(&win_c, p.ema_fast).map_err(err)?;
            let e2 = ema_batch(&win_c, p.ema_slow).map_err(err)?;
            let r = rsi_batch(&win_c, p.rsi).map_err(err)?;
            let (_, _, h) =
                macd_batch(&win_c, p.macd_fast, p.macd_slow, p.macd_signal).map_err(err)?;
            let bb = bbands_batch(&win_c, p.bb_period, p.bb_k).map_err(err)?;
            let a = atr_batch(&win_b, p.atr).map_err(err)?;
            last = [
                e1[window - 1],
                e2[window - 1],
                r[window - 1],
                h[window - 1],
                bb[window - 1].map_or(f64::NAN, |b| b.middle),
                a[window - 1],
            ];
            std::hint::black_box(&last);
        }
        recompute.push(t0.elapsed().as_nanos() as f64 / 64.0);
        // Compare the last tick of the batch with the incremental provisional values.
        let s = snaps[j + 63];
        let inc = [
            s.ema_slow.unwrap_or(f64::NAN),
            s.rsi.unwrap_or(f64::NAN),
            s.bb.map_or(f64::NAN, |b| b.middle),
            s.ema_fast.unwrap_or(f64::NAN),
        ];
        let re = [last[1], last[2], last[4], last[0]];
        for q in 0..4 {
            worst_re[q] = worst_re[q].max(rel(inc[q], re[q]));
        }
        j += 64;
    }

    // 4. The ta crate: commit at bar close, clone + step for the provisional value.
    let mut ta_set = TaSet::new(&p)?;
    let mut ta_bar = TaBar {
        h: 0.0,
        l: f64::MAX,
        c: 0.0,
    };
    let mut cur_bar = -1i64;
    let mut ta_last = [0.0f64; 6];
    let mut ta_vals: Vec<[f64; 6]> = Vec::with_capacity(n);
    let mut ta_samples = timed_batches(n, |k| {
        let (ts, px, _) = t[k];
        let b = ts / BAR_MS;
        if b != cur_bar {
            if cur_bar >= 0 {
                ta_set.step(&ta_bar);
            }
            cur_bar = b;
            ta_bar = TaBar {
                h: px,
                l: px,
                c: px,
            };
        } else {
            ta_bar.h = ta_bar.h.max(px);
            ta_bar.l = ta_bar.l.min(px);
            ta_bar.c = px;
        }
        let mut prov = ta_set.clone();
        ta_last = prov.step(&ta_bar);
        ta_vals.push(ta_last);
    });
    let mut worst_ta = [0.0f64; 3];
    for (k, v) in ta_vals.iter().enumerate().skip(n / 2) {
        let s = snaps[k];
        worst_ta[0] = worst_ta[0].max(rel(v[1], s.ema_slow.unwrap_or(f64::NAN)));
        worst_ta[1] = worst_ta[1].max(rel(v[2], s.rsi.unwrap_or(f64::NAN)));
        worst_ta[2] = worst_ta[2].max(rel(v[5], s.atr.unwrap_or(f64::NAN)));
    }

    // 5. Signal generation from the indicator values, and the whole engine per tick.
    let inputs: Vec<SignalInputs> = snaps
        .iter()
        .map(|s| SignalInputs {
            price: s.price,
            ema_fast: s.ema_fast,
            ema_slow: s.ema_slow,
            rsi: s.rsi,
            macd_hist: s.macd.map(|m| m.hist),
            bb_pct_b: s.bb.map(|b| b.pct_b),
        })
        .collect();
    let sp = SignalParams {
        cooldown_ns: 0,
        ..SignalParams::default()
    };
    let mut sig = SignalEngine::new(sp.clone(), 1).map_err(err)?;
    let mut fired = 0u64;
    let mut sig_samples = timed_batches(n, |k| {
        if sig.evaluate(0, k as u64, &inputs[k], 0.35).is_some() {
            fired += 1;
        }
    });
    // Accuracy: the same decisions as the strength function evaluated directly.
    let direct = inputs
        .iter()
        .filter(|x| {
            let s = shmtrader_strategy::strength(&sp, x);
            (s.value >= 0.35 && s.long_confirms >= sp.min_confirmations)
                || (s.value <= -0.35 && s.short_confirms >= sp.min_confirmations)
        })
        .count() as u64;
    let runs = (n / BATCH * BATCH) as u64;
    let ticks: Vec<Tick> = t
        .iter()
        .enumerate()
        .map(|(k, &(ts, px, q))| Tick {
            symbol_id: 0,
            side: if k % 3 == 0 {
                Side::Sell.code()
            } else {
                Side::Buy.code()
            },
            exchange_ts_ns: ts as u64 * 1_000_000,
            price: px,
            qty: q,
            agg_id: k as u64 + 1,
            ..Tick::default()
        })
        .collect();
    let mut engine =
        Engine::new(EngineParams::default(), 1, Box::<InlineFitter>::default()).map_err(err)?;
    let mut eng_samples = timed_batches(n, |k| {
        std::hint::black_box(engine.on_tick(k as u64, &ticks[k]));
    });

    let (r50, ..) = percentiles(&mut recompute.clone());
    let (ta50, ..) = percentiles(&mut ta_samples.clone());
    Ok(vec![
        row(
            "indicators.incremental",
            &mut inc1,
            Some(("indicators.recompute", r50)),
            "committed values bit-identical to the batch reference".into(),
        ),
        row(
            "indicators.incremental.100sym",
            &mut inc100,
            Some(("indicators.ta_crate", ta50)),
            "100 symbols round-robin, ns per tick per symbol".into(),
        ),
        row(
            "indicators.incremental.1000sym",
            &mut inc1000,
            Some(("indicators.ta_crate", ta50)),
            "1000 symbols round-robin, ns per tick per symbol".into(),
        ),
        row(
            "indicators.recompute",
            &mut recompute,
            None,
            format!(
                "max rel diff vs incremental: ema_slow {:.1e}, rsi {:.1e}, bb_mid {:.1e} (200-bar window truncates EMA/RSI memory)",
                worst_re[0], worst_re[1], worst_re[2]
            ),
        ),
        row(
            "indicators.ta_crate",
            &mut ta_samples,
            None,
            format!(
                "ta 0.5 vs incremental (2nd half): ema_slow {:.1e}, rsi {:.1e}, atr {:.1e} (ta is not TA-Lib: EMA seeds, EMA-smoothed RSI/ATR)",
                worst_ta[0], worst_ta[1], worst_ta[2]
            ),
        ),
        row(
            "signal.generate",
            &mut sig_samples,
            None,
            format!(
                "{fired} fired of {runs} ticks; strength() directly: {direct} of {n} (equal when both cover the same ticks: {})",
                if runs as usize == n { (fired == direct).to_string() } else { "n/a".into() }
            ),
        ),
        row(
            "analytics.engine_tick",
            &mut eng_samples,
            None,
            format!(
                "whole engine per tick (indicators, micro, regime, signal); {} signals",
                engine.stats().signals
            ),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_run_produces_the_documented_rows() {
        let rows = run(&BenchOptions {
            quick: true,
            ..BenchOptions::default()
        })
        .unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        for want in [
            "indicators.incremental",
            "indicators.recompute",
            "indicators.ta_crate",
            "signal.generate",
        ] {
            assert!(names.contains(&want), "{names:?}");
        }
        assert!(rows.iter().all(|r| r.value > 0.0 && r.accuracy.is_some()));
    }
}
