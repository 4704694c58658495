//! `shmtrader bench parse`: websocket frame bytes → record, the first step of ingest.
//!
//! Times the zero-allocation scanner of `shmtrader_exchange::fast` on aggTrade and
//! bookTicker frames against the serde_json reference path (derive-based structs, then
//! the same conversion to the record) on the same frames in the same run.
//!
//! The frames are realistic: Binance's field order and string formats, BTC/ETH/SOL-like
//! prices from a random walk with their real tick sizes, quantities on their step sizes,
//! 10-digit ids and 13-digit ms times, half of them wrapped in the combined-stream
//! envelope. Both paths must produce bit-identical records on every frame before
//! anything is timed, or the run is invalid.
//!
//! One parse takes ~100 ns, close to the cost of the two clock reads around it, so each
//! sample times a batch of [`BATCH`] frames and reports ns per frame; the percentiles are
//! over batches.

use std::hint::black_box;
use std::time::Instant;

use shmtrader_core::{BookTop, Tick};
use shmtrader_exchange::fast::{parse_agg_trade, parse_book_ticker, SymbolLookup, SymbolTable};
use shmtrader_exchange::wire::market::{AggTrade, BookTicker, Envelope};

use crate::error::{BenchError, Result};
use crate::{percentiles, BenchOptions, Row};

/// Frames per timed sample.
pub const BATCH: usize = 32;
/// Distinct frames cycled through: enough variety that the branch predictor cannot
/// memorise one frame, few enough (~40 KB) to stay cache-resident like a socket receive
/// buffer that the kernel has just written.
const FRAMES: usize = 256;

const SYMS: [(&str, f64, f64, u32, f64, u32); 3] = [
    // symbol, start price, tick, price decimals, qty step, qty decimals
    ("BTCUSDT", 63_943.9, 0.1, 1, 0.001, 3),
    ("ETHUSDT", 3_424.57, 0.01, 2, 0.001, 3),
    ("SOLUSDT", 158.432, 0.001, 3, 1.0, 0),
];

/// Deterministic xorshift64 (no RNG dependency; same frames every run).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Frames {
    agg: Vec<(Vec<u8>, bool)>,
    book: Vec<(Vec<u8>, bool)>,
}

fn fmt_dec(units: i64, dp: u32) -> String {
    if dp == 0 {
        return units.to_string();
    }
    let p = 10i64.pow(dp);
    format!("{}.{:0width$}", units / p, units % p, width = dp as usize)
}

fn build_frames() -> Frames {
    let mut rng = Rng(0x5eed_0fb1_7c0f_fe01);
    let mut px_units: Vec<i64> = SYMS.iter().map(|s| (s.1 / s.2).round() as i64).collect();
    let mut agg_id = 2_330_012_345u64;
    let mut trade_id = 5_182_005_737u64;
    let mut t_ms = 1_721_347_022_956u64;
    let mut update_id = 4_984_028_370_881u64;
    let mut agg = Vec::with_capacity(FRAMES);
    let mut book = Vec::with_capacity(FRAMES);
    for i in 0..FRAMES {
        let k = (rng.below(3)) as usize;
        let (sym, _, _, pdp, step, qdp) = SYMS[k];
        px_units[k] += rng.below(5) as i64 - 2;
        let px = fmt_dec(px_units[k], pdp);
        // Log-normal-ish sizes: mostly small, sometimes large.
        let lots = 1 + rng.below(20) * (1 + rng.below(4) * rng.below(30));
        let qty = fmt_dec((lots as f64 * step * 10f64.powi(qdp as i32)) as i64, qdp);
        let fills = 1 + rng.below(3);
        t_ms += rng.below(40);
        agg_id += 1;
        let m = rng.below(2) == 0;
        let raw = format!(
            r#"{{"e":"aggTrade","E":{},"s":"{sym}","a":{agg_id},"p":"{px}","q":"{qty}","f":{trade_id},"l":{},"T":{t_ms},"m":{m}}}"#,
            t_ms + 2,
            trade_id + fills - 1
        );
        trade_id += fills;
        let enveloped = i % 2 == 1;
        let frame = if enveloped {
            format!(
                r#"{{"stream":"{}@aggTrade","data":{raw}}}"#,
                sym.to_ascii_lowercase()
            )
        } else {
            raw
        };
        agg.push((frame.into_bytes(), enveloped));

        update_id += 1 + rng.below(500);
        let bid = px_units[k] - rng.below(2) as i64;
        let ask = bid + 1 + rng.below(2) as i64;
        let bq = fmt_dec((1 + rng.below(50_000)) as i64, qdp.max(3));
        let aq = fmt_dec((1 + rng.below(50_000)) as i64, qdp.max(3));
        let raw = format!(
            r#"{{"e":"bookTicker","u":{update_id},"s":"{sym}","b":"{}","B":"{bq}","a":"{}","A":"{aq}","T":{t_ms},"E":{}}}"#,
            fmt_dec(bid, pdp),
            fmt_dec(ask, pdp),
            t_ms + 1
        );
        let frame = if enveloped {
            format!(
                r#"{{"stream":"{}@bookTicker","data":{raw}}}"#,
                sym.to_ascii_lowercase()
            )
        } else {
            raw
        };
        book.push((frame.into_bytes(), enveloped));
    }
    Frames { agg, book }
}

fn serde_tick(frame: &[u8], enveloped: bool, t: &SymbolTable) -> Option<Tick> {
    let a: AggTrade = if enveloped {
        serde_json::from_slice::<Envelope<AggTrade>>(frame)
            .ok()?
            .data
    } else {
        serde_json::from_slice(frame).ok()?
    };
    a.to_tick(t.symbol_id(a.symbol.as_bytes())?, 1).ok()
}

fn serde_book(frame: &[u8], enveloped: bool, t: &SymbolTable) -> Option<BookTop> {
    let b: BookTicker = if enveloped {
        serde_json::from_slice::<Envelope<BookTicker>>(frame)
            .ok()?
            .data
    } else {
        serde_json::from_slice(frame).ok()?
    };
    b.to_book_top(t.symbol_id(b.symbol.as_bytes())?, 1).ok()
}

/// Times `f` over the frames in batches; ns per frame per batch.
fn time_batches<T>(
    frames: &[(Vec<u8>, bool)],
    samples: usize,
    mut f: impl FnMut(&[u8], bool) -> T,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(samples);
    let mut i = 0usize;
    for _ in 0..samples {
        let t0 = Instant::now();
        for _ in 0..BATCH {
            let (fr, env) = &frames[i % frames.len()];
            black_box(f(black_box(fr), *env));
            i += 1;
        }
        out.push(t0.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    out
}

fn row(name: &str, s: &mut [f64], baseline: Option<(&str, f64)>) -> Row {
    Row::latency(name, "ns", s, baseline, None)
}

/// Runs the parse benchmark.
pub fn run(opts: &BenchOptions) -> Result<Vec<Row>> {
    let symbols = SymbolTable::new(SYMS.iter().map(|s| s.0))
        .map_err(|e| BenchError::Invalid(format!("symbol table: {e}")))?;
    let frames = build_frames();
    // Same answer from both paths on every frame, or the comparison means nothing.
    for (fr, env) in &frames.agg {
        let fast = parse_agg_trade(fr, &symbols, 1)
            .map_err(|e| BenchError::Invalid(format!("fast aggTrade: {e}")))?;
        if serde_tick(fr, *env, &symbols) != Some(fast) {
            return Err(BenchError::Invalid(format!(
                "fast and serde aggTrade differ on {}",
                String::from_utf8_lossy(fr)
            )));
        }
    }
    for (fr, env) in &frames.book {
        let fast = parse_book_ticker(fr, &symbols, 1)
            .map_err(|e| BenchError::Invalid(format!("fast bookTicker: {e}")))?;
        if serde_book(fr, *env, &symbols) != Some(fast) {
            return Err(BenchError::Invalid(format!(
                "fast and serde bookTicker differ on {}",
                String::from_utf8_lossy(fr)
            )));
        }
    }
    let n = if opts.quick { 2_000 } else { 100_000 };
    // Warm caches and branch predictors for both paths.
    let warm = n / 10;
    time_batches(&frames.agg, warm, |f, _| {
        parse_agg_trade(f, &symbols, 1).ok()
    });
    time_batches(&frames.agg, warm, |f, e| serde_tick(f, e, &symbols));
    let mut agg_fast = time_batches(&frames.agg, n, |f, _| parse_agg_trade(f, &symbols, 1).ok());
    let mut agg_serde = time_batches(&frames.agg, n, |f, e| serde_tick(f, e, &symbols));
    time_batches(&frames.book, warm, |f, _| {
        parse_book_ticker(f, &symbols, 1).ok()
    });
    let mut book_fast = time_batches(&frames.book, n, |f, _| {
        parse_book_ticker(f, &symbols, 1).ok()
    });
    let mut book_serde = time_batches(&frames.book, n, |f, e| serde_book(f, e, &symbols));
    let (a50, _, _) = percentiles(&mut agg_serde.clone());
    let (b50, _, _) = percentiles(&mut book_serde.clone());
    Ok(vec![
        row(
            "parse.aggtrade.fast",
            &mut agg_fast,
            Some(("parse.aggtrade.serde_json", a50)),
        ),
        row("parse.aggtrade.serde_json", &mut agg_serde, None),
        row(
            "parse.bookticker.fast",
            &mut book_fast,
            Some(("parse.bookticker.serde_json", b50)),
        ),
        row("parse.bookticker.serde_json", &mut book_serde, None),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_identically_and_rows_are_produced() {
        let rows = run(&BenchOptions {
            quick: true,
            cpus: (0, 1),
        })
        .unwrap();
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "parse.aggtrade.fast",
                "parse.aggtrade.serde_json",
                "parse.bookticker.fast",
                "parse.bookticker.serde_json"
            ]
        );
        assert!(rows.iter().all(|r| r.value.is_finite() && r.value > 0.0));
        assert!(rows[0].ratio.is_some_and(|x| x > 0.0));
    }

    #[test]
    fn decimal_formatting_of_the_generator() {
        assert_eq!(fmt_dec(639439, 1), "63943.9");
        assert_eq!(fmt_dec(5, 3), "0.005");
        assert_eq!(fmt_dec(12, 0), "12");
    }
}
