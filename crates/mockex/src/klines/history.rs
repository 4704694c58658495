//! The seeded past of the synthetic market: the 1-minute bars of the
//! `mock.history_minutes` before the mock started, so a warm start has a day of venue
//! history to read, as it would on Binance.
//!
//! What it is, exactly:
//! * **The same process as the live tape** (`synth.rs`), drawn through the same
//!   functions: the mid is a geometric random walk at the symbol's volatility, diffused
//!   at every arrival; taker orders arrive as a Poisson process at the symbol's share of
//!   `trades_per_sec` and quote changes at the quote rate, both 2.5× faster in the
//!   volatile regime, whose volatility is 3× (mean stays 10 min calm, 2 min volatile);
//!   each order's size is the same log-normal, its side leans with the recent moves,
//!   its raw trade count is the same geometric, it trades at the touch (bid or bid +
//!   the 1-or-2-tick spread). Not primed: no drift, no planted pattern, nothing that
//!   makes a signal come sooner than it would live.
//! * **Regimes are drawn backwards from the start**, as a two-state Markov chain that is
//!   calm at the start (the live market starts calm): a two-state chain is reversible,
//!   so this is the stationary chain conditioned on the live start, and the history's
//!   volatility joins the live one without a seam.
//! * **It ends exactly at the live market's start price.** The path is simulated in log
//!   space from 0, then shifted so that its last trade sits on the live mid at start
//!   (the walk has no drift, so the shift changes nothing statistically: a random walk
//!   looks the same from any level). Two passes over the same seeded draws do this: the
//!   first finds the log-mid of the last trade and the number of raw trades, the second
//!   prices the trades and builds the bars. The last trade is at the live opening bid or
//!   ask (within a tick), and trade ids run on into the live tape's first id.
//! * **Seeds**: one stream per symbol (xoshiro256++, [`super::rng`]), derived from
//!   `mock.seed` and the symbol's index, separate from the live tape's, so generating
//!   history (lazily, on the first klines request) never changes the live tape.
//!
//! What differs from the live tape: a large order trades at the touch instead of
//! sweeping the shaped book level by level (one aggTrade instead of several; the same
//! volume), and the book itself is not simulated.

use rand::Rng;

use super::rng::Xoshiro;
use super::store::{Bar, MINUTE};
use crate::book::normal;
use crate::spec::SymbolSpec;
use crate::synth::{
    bid_for, exp_sample, log_return, makers, next_lean, p_buy, quote_rate, regime_mean_ms,
    sigma_ms, spread_ticks, taker_units, trade_rate, vol_mult, SynthStart,
};

const SALT_TAPE: u64 = 0x6869_7374_6f72_7921; // "history!"
const SALT_REGIME: u64 = 0x7265_6769_6d65_7321; // "regimes!"

/// Everything the generator needs, captured when the mock starts so the history can
/// be generated later, off the engine lock.
#[derive(Debug, Clone, Copy)]
pub struct HistorySeed {
    /// The symbol.
    pub spec: SymbolSpec,
    /// The symbol's index in the mock (part of its seed).
    pub sym: usize,
    /// `mock.seed`.
    pub seed: u64,
    /// When the live market started (data time, ms).
    pub start_ms: u64,
    /// Where it started.
    pub start: SynthStart,
    /// Closed minutes of history before the start minute.
    pub minutes: u32,
}

/// The generated past: closed bars, then the start minute's part before the start.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// One bar per minute from `start minute − minutes` to the minute before the start
    /// minute.
    pub bars: Vec<Bar>,
    /// The start minute up to the start instant (flat at the last close when nothing
    /// traded in it).
    pub partial: Bar,
}

impl HistorySeed {
    fn rng(&self, salt: u64) -> Xoshiro {
        let sym = (self.sym as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Xoshiro::seed_from_u64(self.seed ^ salt ^ sym)
    }
    fn start_minute(&self) -> u64 {
        self.start_ms - self.start_ms % MINUTE
    }
    fn first_minute(&self) -> u64 {
        self.start_minute()
            .saturating_sub(u64::from(self.minutes) * MINUTE)
    }
}

/// The regime path: switch times ascending, and the regime before the first switch.
#[derive(Debug)]
struct Regimes {
    switches: Vec<f64>,
    volatile_at_start: bool,
}

impl Regimes {
    /// Drawn backwards from `end` (calm there) to `begin`.
    fn draw(rng: &mut Xoshiro, begin: f64, end: f64) -> Regimes {
        let mut volatile = false;
        let mut t = end;
        let mut switches = Vec::new();
        loop {
            t -= exp_sample(rng, 1.0 / regime_mean_ms(volatile));
            if t <= begin {
                break;
            }
            switches.push(t);
            volatile = !volatile;
        }
        switches.reverse();
        Regimes {
            switches,
            volatile_at_start: volatile,
        }
    }
}

/// Walks the regime path forward.
struct RegimeCursor<'a> {
    r: &'a Regimes,
    next: usize,
    volatile: bool,
}

impl RegimeCursor<'_> {
    /// Variance of the log-mid accumulated from `from` to `to` (ms) at per-ms
    /// volatility `sigma` in the calm regime, across any switch in between.
    fn variance(&mut self, from: f64, to: f64, sigma: f64) -> f64 {
        let mut v = 0.0;
        let mut a = from;
        while let Some(&s) = self.r.switches.get(self.next).filter(|s| **s <= to) {
            let vol = sigma * vol_mult(self.volatile);
            v += vol * vol * (s - a).max(0.0);
            a = s;
            self.volatile = !self.volatile;
            self.next += 1;
        }
        let vol = sigma * vol_mult(self.volatile);
        v + vol * vol * (to - a).max(0.0)
    }
}

/// One simulated taker order.
struct Order {
    time: u64,
    log_mid: f64,
    taker_buy: bool,
    units: i64,
    makers: u64,
    spread: i64,
}

/// Runs the process from the first minute to the start; calls `on` for every order.
fn simulate(h: &HistorySeed, regimes: &Regimes, mut on: impl FnMut(Order)) {
    let mut rng = h.rng(SALT_TAPE);
    let (begin, end) = (h.first_minute() as f64, h.start_ms as f64);
    let rate = h.start.rate_ms;
    let sigma = sigma_ms(&h.spec);
    let mut regime = RegimeCursor {
        r: regimes,
        next: 0,
        volatile: regimes.volatile_at_start,
    };
    let (mut x, mut lean, mut last) = (0.0f64, 0.0f64, begin);
    let mut next_trade = begin + exp_sample(&mut rng, trade_rate(rate, regime.volatile));
    let mut next_quote = begin + exp_sample(&mut rng, quote_rate(rate, regime.volatile));
    loop {
        let is_trade = next_trade <= next_quote;
        let t = next_trade.min(next_quote);
        if t >= end {
            break;
        }
        let v = regime.variance(last, t, sigma);
        let z = normal(&mut rng);
        x += log_return(1.0, v, z);
        lean = next_lean(lean, z);
        last = t;
        if is_trade {
            let taker_buy = rng.gen_bool(p_buy(lean));
            let units = taker_units(&h.spec, &mut rng);
            let makers = makers(&mut rng);
            let spread = spread_ticks(&mut rng);
            on(Order {
                time: t as u64,
                log_mid: x,
                taker_buy,
                units,
                makers,
                spread,
            });
            next_trade = t + exp_sample(&mut rng, trade_rate(rate, regime.volatile));
        } else {
            next_quote = t + exp_sample(&mut rng, quote_rate(rate, regime.volatile));
        }
    }
}

/// Generates the history of one symbol (see the module doc). Deterministic for a
/// given seed.
pub fn generate(h: &HistorySeed) -> History {
    let spec = &h.spec;
    let regimes = Regimes::draw(
        &mut h.rng(SALT_REGIME),
        h.first_minute() as f64,
        h.start_ms as f64,
    );
    // Pass 1: where the last trade is, and how many raw trades there are.
    let (mut orders, mut raw, mut last_x) = (0u64, 0u64, 0.0f64);
    simulate(h, &regimes, |o| {
        orders += 1;
        raw += o.makers;
        last_x = o.log_mid;
    });
    // Pass 2: the same draws, shifted so the last trade sits on the live start mid.
    let shift = h.start.mid.ln() - last_x;
    let start_minute = h.start_minute();
    let mut bars: Vec<Bar> = Vec::with_capacity(h.minutes as usize + 1);
    let mut cur: Option<Bar> = None;
    let mut next_id = h.start.first_trade_id.saturating_sub(raw);
    let mut seen = 0u64;
    simulate(h, &regimes, |o| {
        seen += 1;
        // The last trade exactly at the start mid (no rounding left in the shift).
        let mid = if seen == orders {
            h.start.mid
        } else {
            (o.log_mid + shift).exp()
        };
        let bid = bid_for(spec, mid);
        let price = if o.taker_buy {
            bid + o.spread * spec.tick
        } else {
            bid
        };
        let minute = o.time - o.time % MINUTE;
        let b = cur.get_or_insert_with(|| {
            // Minutes before the first trade are flat at its price.
            let mut t = h.first_minute();
            while t < minute {
                bars.push(Bar::empty(t, price));
                t += MINUTE;
            }
            Bar::empty(minute, price)
        });
        while b.open_time < minute {
            bars.push(*b);
            *b = Bar::empty(b.open_time + MINUTE, b.close);
        }
        let first = next_id;
        next_id += o.makers;
        b.add(price, o.units, o.taker_buy, first, next_id - 1);
    });
    let mut b = cur.unwrap_or_else(|| Bar::empty(h.first_minute(), bid_for(spec, h.start.mid)));
    while b.open_time < start_minute {
        bars.push(b);
        b = Bar::empty(b.open_time + MINUTE, b.close);
    }
    History { bars, partial: b }
}

#[cfg(test)]
mod tests;
