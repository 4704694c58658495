//! The embedded synthetic market: seeded, deterministic for a given seed.
//!
//! Each symbol's mid follows a geometric random walk whose volatility switches between a
//! calm and a volatile regime (a two-state Markov chain); aggressive orders arrive as a
//! Poisson process (faster in the volatile regime) with log-normal sizes, lean with the
//! latest price move, and walk a shaped multi-level book, so one taker order produces one
//! aggTrade per level it sweeps. Quote-only book updates arrive between trades.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::book::{normal, BookShaper};
use crate::feed::{AggTrade, FeedEvent, FeedKind};
use crate::spec::SymbolSpec;

const MS_PER_YEAR: f64 = 365.25 * 86_400_000.0;
const VOLATILE_VOL_MULT: f64 = 3.0;
const VOLATILE_RATE_MULT: f64 = 2.5;
const CALM_MEAN_MS: f64 = 600_000.0;
const VOLATILE_MEAN_MS: f64 = 120_000.0;

// ---------------------------------------------------------------- the process
//
// One definition of every draw and parameter of the price process, used by the live
// tape below and by the seeded history before it (`klines::history`), so the two are
// the same process by construction, not by copy.

/// Per-ms volatility of `spec`'s mid in the calm regime (its annual volatility).
pub(crate) fn sigma_ms(spec: &SymbolSpec) -> f64 {
    spec.vol_annual / MS_PER_YEAR.sqrt()
}

/// Volatility multiplier of a regime.
pub(crate) fn vol_mult(volatile: bool) -> f64 {
    if volatile {
        VOLATILE_VOL_MULT
    } else {
        1.0
    }
}

/// Mean time the market stays in a regime before it switches (ms).
pub(crate) fn regime_mean_ms(volatile: bool) -> f64 {
    if volatile {
        VOLATILE_MEAN_MS
    } else {
        CALM_MEAN_MS
    }
}

/// Calm-regime taker-order rate of one symbol (per ms): its share of the total rate.
pub(crate) fn base_rate_ms(trades_per_sec: f64, spec: &SymbolSpec, total_activity: f64) -> f64 {
    trades_per_sec.max(0.0) * spec.activity / total_activity / 1000.0
}

/// Taker-order rate (per ms) in a regime.
pub(crate) fn trade_rate(rate_ms: f64, volatile: bool) -> f64 {
    rate_ms * if volatile { VOLATILE_RATE_MULT } else { 1.0 }
}

/// Quote-change rate (per ms) in a regime.
pub(crate) fn quote_rate(rate_ms: f64, volatile: bool) -> f64 {
    rate_ms * 1.5 * if volatile { VOLATILE_RATE_MULT } else { 1.0 } + 0.002
}

/// Log-return of the mid over `dt` ms at per-ms volatility `vol` for the standard
/// normal draw `z` (a martingale in price: the drift term compensates the convexity).
pub(crate) fn log_return(vol: f64, dt: f64, z: f64) -> f64 {
    vol * dt.sqrt() * z - 0.5 * vol * vol * dt
}

/// The takers' lean after an arrival whose mid move was driven by `z`.
pub(crate) fn next_lean(last_z: f64, z: f64) -> f64 {
    0.7 * last_z + z
}

/// Probability that the next taker buys, leaning with the recent moves.
pub(crate) fn p_buy(last_z: f64) -> f64 {
    (0.5 + 0.3 * (last_z * 0.8).tanh()).clamp(0.05, 0.95)
}

/// Size of one taker order in quantity units: log-normal around the median, on the
/// step grid, at least the minimum quantity.
pub(crate) fn taker_units<R: Rng>(spec: &SymbolSpec, rng: &mut R) -> i64 {
    let q = spec.median_qty * (1.1 * normal(rng)).exp();
    let units =
        ((q * 10f64.powi(spec.qty_dp as i32) / spec.step as f64).round() as i64).max(1) * spec.step;
    units.max(spec.min_qty)
}

/// Number of maker fills (raw trades) in one aggTrade: geometric, 1 to 8.
pub(crate) fn makers<R: Rng>(rng: &mut R) -> u64 {
    1 + (rng.gen_range(0.0f64..1.0).ln() / 0.5f64.ln())
        .floor()
        .clamp(0.0, 7.0) as u64
}

/// The spread of the book after a change, in ticks (mostly one).
pub(crate) fn spread_ticks<R: Rng>(rng: &mut R) -> i64 {
    if rng.gen_bool(0.85) {
        1
    } else {
        2
    }
}

/// Where the live market starts, per symbol: what the seeded history must end at.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SynthStart {
    /// The mid at the start.
    pub mid: f64,
    /// The first raw trade id the live tape will use.
    pub first_trade_id: u64,
    /// The calm-regime taker-order rate (per ms).
    pub rate_ms: f64,
}

#[derive(Debug)]
struct SymState {
    spec: SymbolSpec,
    mid: f64,
    sigma_ms: f64,
    volatile: bool,
    rate_ms: f64,
    next_trade: f64,
    next_quote: f64,
    last_move: f64,
    last_z: f64,
    agg_id: u64,
    trade_id: u64,
    shaper: BookShaper,
}

/// The synthetic market generator.
#[derive(Debug)]
pub struct Synth {
    rng: ChaCha8Rng,
    syms: Vec<SymState>,
}

/// An exponential waiting time (ms) at `rate` per ms.
pub(crate) fn exp_sample<R: Rng>(rng: &mut R, rate: f64) -> f64 {
    let u: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    -u.ln() / rate.max(1e-12)
}

impl Synth {
    /// A market over `specs` starting at data time `start_ms`; returns the generator and
    /// the initial book snapshots.
    pub fn new(
        specs: &[SymbolSpec],
        seed: u64,
        trades_per_sec: f64,
        start_ms: u64,
    ) -> (Self, Vec<FeedEvent>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let total_activity: f64 = specs.iter().map(|s| s.activity).sum::<f64>().max(1e-9);
        let mut syms = Vec::new();
        let mut init = Vec::new();
        let t0 = start_ms as f64;
        for (i, spec) in specs.iter().enumerate() {
            let mid = spec.base_price * (0.02 * normal(&mut rng)).exp();
            let rate_ms = base_rate_ms(trades_per_sec, spec, total_activity);
            let level_qty = spec.median_qty * 10f64.powi(spec.qty_dp as i32) * 3.0;
            let first_id = 4_000_000_000_000 + rng.gen_range(0..1_000_000_000_000u64);
            let mut shaper = BookShaper::new(i, spec.tick, spec.step, level_qty, first_id);
            let bid = bid_for(spec, mid);
            let _ = shaper.reshape(&mut rng, start_ms, bid, 1);
            init.push(shaper.snapshot(start_ms));
            let agg_id = 1_000_000_000 + rng.gen_range(0..1_500_000_000u64);
            let trade_id = agg_id * 2 + rng.gen_range(0..100_000_000u64);
            let next_trade = t0 + exp_sample(&mut rng, rate_ms);
            let next_quote = t0 + exp_sample(&mut rng, rate_ms * 1.5 + 0.002);
            syms.push(SymState {
                spec: *spec,
                mid,
                sigma_ms: sigma_ms(spec),
                volatile: false,
                rate_ms,
                next_trade,
                next_quote,
                last_move: t0,
                last_z: 0.0,
                agg_id,
                trade_id,
                shaper,
            });
        }
        (Synth { rng, syms }, init)
    }

    /// Where each symbol's live market starts (mid, first raw trade id, calm trade
    /// rate), in symbol order. Read it before the first [`Synth::next_batch`]: the
    /// seeded history (`klines::history`) ends exactly there.
    pub fn starts(&self) -> Vec<SynthStart> {
        self.syms
            .iter()
            .map(|s| SynthStart {
                mid: s.mid,
                first_trade_id: s.trade_id,
                rate_ms: s.rate_ms,
            })
            .collect()
    }

    /// Data time (ms) of the next batch, if any symbol is active.
    pub fn peek_time(&self) -> Option<u64> {
        self.syms
            .iter()
            .map(|s| s.next_trade.min(s.next_quote))
            .min_by(f64::total_cmp)
            .map(|t| t as u64)
    }

    /// The events of the next arrival (one trade or one quote change), in time order.
    pub fn next_batch(&mut self) -> Vec<FeedEvent> {
        let Some(i) = (0..self.syms.len()).min_by(|a, b| {
            let ta = self.syms[*a].next_trade.min(self.syms[*a].next_quote);
            let tb = self.syms[*b].next_trade.min(self.syms[*b].next_quote);
            ta.total_cmp(&tb)
        }) else {
            return Vec::new();
        };
        let rng = &mut self.rng;
        let s = &mut self.syms[i];
        let is_trade = s.next_trade <= s.next_quote;
        let t = if is_trade { s.next_trade } else { s.next_quote };
        let time = t as u64;
        // Diffuse the mid over the elapsed time, switching regime on the way.
        let dt = (t - s.last_move).max(0.0);
        let mean = regime_mean_ms(s.volatile);
        if rng.gen_bool((1.0 - (-dt / mean).exp()).clamp(0.0, 1.0)) {
            s.volatile = !s.volatile;
        }
        let vol = s.sigma_ms * vol_mult(s.volatile);
        let z = normal(rng);
        s.mid *= log_return(vol, dt, z).exp();
        s.last_move = t;
        s.last_z = next_lean(s.last_z, z);
        let mut out = Vec::new();
        if is_trade {
            let taker_buy = rng.gen_bool(p_buy(s.last_z));
            let units = taker_units(&s.spec, rng);
            for (px, qty) in s.shaper.take(taker_buy, units) {
                let makers = makers(rng);
                let first = s.trade_id;
                s.trade_id += makers;
                let trade = AggTrade {
                    id: s.agg_id,
                    price: px,
                    qty,
                    first,
                    last: first + makers - 1,
                    time,
                    event_time: time,
                    buyer_maker: !taker_buy,
                };
                s.agg_id += 1;
                out.push(FeedEvent {
                    time,
                    kind: FeedKind::AggTrade { sym: i, trade },
                });
            }
            s.next_trade = t + exp_sample(rng, trade_rate(s.rate_ms, s.volatile));
        } else {
            s.next_quote = t + exp_sample(rng, quote_rate(s.rate_ms, s.volatile));
        }
        let spread = spread_ticks(rng);
        let bid = bid_for(&s.spec, s.mid);
        out.extend(s.shaper.reshape(rng, time, bid, spread));
        out
    }
}

impl Synth {
    /// Shifts symbol `sym`'s price level by `pct` percent from now on (test hook): the
    /// mid moves at once and the book is re-centred around it. Returns the book events
    /// (depth diff, bookTicker) stamped `time`, for the engine to apply now; trades and
    /// marks follow from the new level. `None` for an unknown symbol or a shift that
    /// would leave a non-positive price.
    pub fn shift(&mut self, sym: usize, pct: f64, time: u64) -> Option<Vec<FeedEvent>> {
        let factor = 1.0 + pct / 100.0;
        if !factor.is_finite() || factor <= 0.0 {
            return None;
        }
        let s = self.syms.get_mut(sym)?;
        s.mid *= factor;
        s.last_z = 0.0;
        let bid = bid_for(&s.spec, s.mid);
        Some(s.shaper.reshape(&mut self.rng, time, bid, 1))
    }
}

/// The best bid the book keeps under a mid: the tick below `mid` − half a tick.
pub(crate) fn bid_for(spec: &SymbolSpec, mid: f64) -> i64 {
    let units = mid * 10f64.powi(spec.price_dp as i32) - spec.tick as f64 / 2.0;
    ((units / spec.tick as f64).floor() as i64 * spec.tick).max(spec.tick)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::find_spec;

    fn run(seed: u64) -> Vec<String> {
        let specs: Vec<SymbolSpec> = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
            .iter()
            .filter_map(|s| find_spec(s))
            .collect();
        let (mut s, _) = Synth::new(&specs, seed, 50.0, 1_700_000_000_000);
        (0..500)
            .flat_map(|_| s.next_batch())
            .map(|e| format!("{} {:?}", e.time, e.kind))
            .collect()
    }

    #[test]
    fn shift_moves_the_book_and_later_trades_to_the_new_level() {
        let specs: Vec<SymbolSpec> = ["BTCUSDT"].iter().filter_map(|s| find_spec(s)).collect();
        let (mut s, init) = Synth::new(&specs, 3, 20.0, 0);
        let FeedKind::Snapshot { bids, .. } = &init[0].kind else {
            panic!("a snapshot first")
        };
        let before = bids[0].0;
        let ev = s.shift(0, -2.0, 5).expect("a known symbol");
        let ticker = ev
            .iter()
            .find_map(|e| match e.kind {
                FeedKind::BookTicker { bid, .. } => Some(bid.0),
                _ => None,
            })
            .expect("the touch moved");
        let ratio = ticker as f64 / before as f64;
        assert!((ratio - 0.98).abs() < 0.001, "{ratio}");
        let mut prices = Vec::new();
        while prices.len() < 20 {
            for e in s.next_batch() {
                if let FeedKind::AggTrade { trade, .. } = e.kind {
                    prices.push(trade.price as f64 / before as f64);
                }
            }
        }
        assert!(
            prices.iter().all(|r| (r - 0.98).abs() < 0.005),
            "{prices:?}"
        );
        assert!(s.shift(1, 1.0, 6).is_none());
        assert!(s.shift(0, -100.0, 6).is_none());
    }

    #[test]
    fn deterministic_per_seed() {
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }

    #[test]
    fn trades_are_ordered_and_priced_near_base() {
        let specs: Vec<SymbolSpec> = ["BTCUSDT"].iter().filter_map(|s| find_spec(s)).collect();
        let (mut s, _) = Synth::new(&specs, 1, 20.0, 0);
        let mut last_t = 0;
        let mut last_a = 0;
        let mut n = 0;
        for _ in 0..2000 {
            for e in s.next_batch() {
                assert!(e.time >= last_t);
                last_t = e.time;
                if let FeedKind::AggTrade { trade, .. } = e.kind {
                    assert!(trade.id > last_a);
                    last_a = trade.id;
                    let p = specs[0].px(trade.price);
                    assert!(p > 50_000.0 && p < 80_000.0, "{p}");
                    n += 1;
                }
            }
        }
        assert!(n > 100);
    }
}
