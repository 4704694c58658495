//! Seeded synthetic markets for tests and benchmarks: random walks as klines or as tick
//! streams, built into the same [`Market`] the file reader produces.
//!
//! A driftless random walk has no edge to find, so any profit a strategy shows on it is
//! noise or a look-ahead bug; the look-ahead guard tests rely on that.

use crate::data::{kline_ticks, Event, IntrabarPath, Market, SymbolSource};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_core::{Side, Tick};
use shmtrader_indicators::Bar;

/// A standard normal draw (Box–Muller; `rand` 0.8 has no normal distribution without
/// `rand_distr`).
pub fn normal(rng: &mut impl Rng) -> f64 {
    let u1: f64 = rng.gen_range(f64::EPSILON..1.0);
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// One-minute bars of a driftless geometric random walk: `n` bars from `start_ms`
/// (aligned down to the minute) and `px`, each bar traced by 12 sub-steps so high and low
/// lie outside open and close as in real bars; per-bar log volatility `vol`.
pub fn random_walk_bars(n: usize, start_ms: i64, px: f64, vol: f64, seed: u64) -> Vec<Bar> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let start = start_ms - start_ms.rem_euclid(60_000);
    let mut p = px;
    let sub = 12;
    let sd = vol / (sub as f64).sqrt();
    (0..n)
        .map(|i| {
            let open = p;
            let (mut hi, mut lo) = (p, p);
            for _ in 0..sub {
                p *= (sd * normal(&mut rng)).exp();
                hi = hi.max(p);
                lo = lo.min(p);
            }
            Bar {
                open_time_ms: start + i as i64 * 60_000,
                open,
                high: hi,
                low: lo,
                close: p,
                volume: rng.gen_range(50.0..150.0),
            }
        })
        .collect()
}

/// A market from bars per symbol (ids in the order given; names must be sorted for the
/// result to match what [`crate::data::load`] would build).
pub fn market_from_bars(series: &[(String, Vec<Bar>)], rule: IntrabarPath) -> Market {
    let mut events = Vec::new();
    let mut sources = Vec::new();
    for (i, (sym, bars)) in series.iter().enumerate() {
        kline_ticks(i as u32, bars, rule, &mut events);
        sources.push(SymbolSource {
            symbol: sym.clone(),
            kind: "klines",
            files: vec!["synthetic".into()],
            records: bars.len() as u64,
            book_tops: 0,
            duplicates: 0,
            conflicts: 0,
            first_ms: bars.first().map_or(0, |b| b.open_time_ms),
            last_ms: bars.last().map_or(0, |b| b.open_time_ms + 59_999),
        });
    }
    events.sort_by_key(Event::ts_ns);
    Market {
        symbols: series.iter().map(|s| s.0.clone()).collect(),
        events,
        sources,
    }
}

/// A tick stream: `symbols` random walks (named `SYN00USDT`, ...) with `per_minute`
/// trades per symbol and minute, evenly spaced, for `minutes` minutes from `start_ms`;
/// per-minute log volatility `vol`, aggressor sides by the tick rule.
pub fn random_walk_ticks(
    symbols: usize,
    minutes: usize,
    per_minute: usize,
    start_ms: i64,
    vol: f64,
    seed: u64,
) -> Market {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let per = per_minute.max(1);
    let sd = vol / (per as f64).sqrt();
    let start = (start_ms - start_ms.rem_euclid(60_000)).max(0) as u64 * 1_000_000;
    let step_ns = 60_000_000_000 / per as u64;
    let mut px: Vec<f64> = (0..symbols).map(|i| 100.0 * (1.0 + i as f64)).collect();
    let mut agg = vec![1u64; symbols];
    let mut events = Vec::with_capacity(symbols * minutes * per);
    for k in 0..(minutes * per) as u64 {
        let ts = start + k * step_ns;
        for (s, p) in px.iter_mut().enumerate() {
            let r = sd * normal(&mut rng);
            *p *= r.exp();
            let side = if r >= 0.0 { Side::Buy } else { Side::Sell };
            events.push(Event::Trade(Tick {
                symbol_id: s as u32,
                side: side.code(),
                exchange_ts_ns: ts + s as u64,
                recv_ts_ns: ts + s as u64,
                price: *p,
                qty: rng.gen_range(0.01..2.0),
                agg_id: agg[s],
                last_trade_id: agg[s],
                ..Tick::default()
            }));
            agg[s] += 1;
        }
    }
    let names: Vec<String> = (0..symbols).map(|i| format!("SYN{i:02}USDT")).collect();
    let sources = names
        .iter()
        .map(|n| SymbolSource {
            symbol: n.clone(),
            kind: "ticks",
            files: vec!["synthetic".into()],
            records: (minutes * per) as u64,
            book_tops: 0,
            duplicates: 0,
            conflicts: 0,
            first_ms: (start / 1_000_000) as i64,
            last_ms: ((start + (minutes * per) as u64 * step_ns) / 1_000_000) as i64,
        })
        .collect();
    Market {
        symbols: names,
        events,
        sources,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_are_seeded_and_well_formed() {
        let a = random_walk_bars(500, 1_000, 100.0, 0.001, 9);
        assert_eq!(a, random_walk_bars(500, 1_000, 100.0, 0.001, 9));
        assert_eq!(a[0].open_time_ms, 0);
        for b in &a {
            assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close));
        }
        let m = random_walk_ticks(3, 10, 20, 0, 0.001, 1);
        assert_eq!(m.trade_count(), 600);
        assert!(m.events.windows(2).all(|w| w[0].ts_ns() <= w[1].ts_ns()));
    }
}
