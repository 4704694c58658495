//! The L2 book of one symbol in fixed-point units, and the random book shaper that gives
//! the synthetic market (and trade-only replays) a consistent multi-level book.

use std::collections::BTreeMap;

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::feed::{FeedEvent, FeedKind, Level};

/// Price level maps keyed by price units; values are quantity units (never 0).
#[derive(Debug, Clone, Default)]
pub struct Book {
    /// Bids, best = highest key.
    pub bids: BTreeMap<i64, i64>,
    /// Asks, best = lowest key.
    pub asks: BTreeMap<i64, i64>,
    /// Final update id of the last applied change.
    pub last_id: u64,
}

impl Book {
    /// Sets an absolute quantity; 0 deletes the level (deleting a missing level is fine).
    pub fn set(&mut self, bid: bool, px: i64, qty: i64) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        if qty <= 0 {
            side.remove(&px);
        } else {
            side.insert(px, qty);
        }
    }

    /// Best bid (price, qty).
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.iter().next_back().map(|(p, q)| (*p, *q))
    }

    /// Best ask (price, qty).
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.iter().next().map(|(p, q)| (*p, *q))
    }

    /// Top `n` levels per side, best first.
    pub fn top(&self, n: usize) -> (Vec<Level>, Vec<Level>) {
        let b = self
            .bids
            .iter()
            .rev()
            .take(n)
            .map(|(p, q)| (*p, *q))
            .collect();
        let a = self.asks.iter().take(n).map(|(p, q)| (*p, *q)).collect();
        (b, a)
    }

    /// Resting quantity at a price on one side.
    pub fn qty_at(&self, bid: bool, px: i64) -> i64 {
        let side = if bid { &self.bids } else { &self.asks };
        side.get(&px).copied().unwrap_or(0)
    }

    /// True when there is at least one level on each side.
    pub fn is_two_sided(&self) -> bool {
        !self.bids.is_empty() && !self.asks.is_empty()
    }
}

/// Standard normal via Box-Muller (rand 0.8 has no distributions crate here).
pub fn normal<R: Rng>(rng: &mut R) -> f64 {
    let u1: f64 = rng.gen_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.gen_range(0.0..1.0);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Keeps a plausible book of `levels` levels per side around a moving reference, and
/// turns every change into a depth diff with jumping update ids, so that the depth
/// stream, the snapshot and the bookTicker of a synthetic market always agree.
#[derive(Debug)]
pub struct BookShaper {
    /// Symbol index the events are for.
    pub sym: usize,
    /// The shaper's own copy of the book (what the engine will hold after applying).
    pub book: Book,
    /// The book as last published (diffs are computed against it).
    published: Book,
    levels: usize,
    tick: i64,
    step: i64,
    /// Typical level size in quantity units.
    level_qty: f64,
    last_top: Option<(i64, i64, i64, i64)>,
    ticker_id: u64,
}

impl BookShaper {
    /// A shaper with its first update id (Binance ids are large and only increase).
    pub fn new(sym: usize, tick: i64, step: i64, level_qty: f64, first_id: u64) -> Self {
        BookShaper {
            sym,
            book: Book {
                last_id: first_id,
                ..Book::default()
            },
            published: Book {
                last_id: first_id,
                ..Book::default()
            },
            levels: 20,
            tick,
            step,
            level_qty: level_qty.max(step as f64),
            last_top: None,
            ticker_id: first_id,
        }
    }

    fn rand_qty(&self, rng: &mut ChaCha8Rng, depth: usize) -> i64 {
        let scale = 1.0 + depth as f64 * 0.15;
        let q = self.level_qty * scale * (0.9 * normal(rng)).exp();
        let units = ((q / self.step as f64).round() as i64).max(1) * self.step;
        units.max(self.step)
    }

    /// A REST-style snapshot event of the current shaped book.
    pub fn snapshot(&self, time: u64) -> FeedEvent {
        let (bids, asks) = self.book.top(usize::MAX);
        FeedEvent {
            time,
            kind: FeedKind::Snapshot {
                sym: self.sym,
                last_id: self.book.last_id,
                bids,
                asks,
            },
        }
    }

    /// Removes `qty` from the top of one side, as a taker trade does; returns the fills
    /// (price, qty) the taker got, best first. Used by the synthetic tape.
    pub fn take(&mut self, taker_buy: bool, mut qty: i64) -> Vec<(i64, i64)> {
        let mut fills = Vec::new();
        while qty > 0 {
            let lvl = if taker_buy {
                self.book.best_ask()
            } else {
                self.book.best_bid()
            };
            let Some((px, avail)) = lvl else { break };
            let q = qty.min(avail);
            fills.push((px, q));
            qty -= q;
            self.book.set(!taker_buy, px, avail - q);
        }
        fills
    }

    /// Re-centres the book so the best bid is `bid_px` (ask one or two ticks above),
    /// refills missing levels, trims far ones and jiggles a few sizes. Returns the depth
    /// diff and, if the top changed, a bookTicker, both stamped `time`.
    pub fn reshape(
        &mut self,
        rng: &mut ChaCha8Rng,
        time: u64,
        bid_px: i64,
        spread_ticks: i64,
    ) -> Vec<FeedEvent> {
        let ask_px = bid_px + spread_ticks.max(1) * self.tick;
        // Nothing may cross the new touch.
        let crossed_bids: Vec<i64> = self.book.bids.range(ask_px..).map(|(p, _)| *p).collect();
        for p in crossed_bids {
            self.book.bids.remove(&p);
        }
        let crossed_bids2: Vec<i64> = self
            .book
            .bids
            .range(bid_px + 1..)
            .map(|(p, _)| *p)
            .collect();
        for p in crossed_bids2 {
            self.book.bids.remove(&p);
        }
        let crossed_asks: Vec<i64> = self.book.asks.range(..=bid_px).map(|(p, _)| *p).collect();
        for p in crossed_asks {
            self.book.asks.remove(&p);
        }
        let crossed_asks2: Vec<i64> = self.book.asks.range(..ask_px).map(|(p, _)| *p).collect();
        for p in crossed_asks2 {
            self.book.asks.remove(&p);
        }
        for i in 0..self.levels {
            let bp = bid_px - i as i64 * self.tick;
            if bp > 0 && !self.book.bids.contains_key(&bp) {
                let q = self.rand_qty(rng, i);
                self.book.bids.insert(bp, q);
            }
            let ap = ask_px + i as i64 * self.tick;
            if !self.book.asks.contains_key(&ap) {
                let q = self.rand_qty(rng, i);
                self.book.asks.insert(ap, q);
            }
        }
        // Trim levels far from the touch so the book stays bounded.
        let far = 3 * self.levels as i64 * self.tick;
        let far_bids: Vec<i64> = self
            .book
            .bids
            .range(..bid_px - far)
            .map(|(p, _)| *p)
            .collect();
        for p in far_bids {
            self.book.bids.remove(&p);
        }
        let far_asks: Vec<i64> = self
            .book
            .asks
            .range(ask_px + far + 1..)
            .map(|(p, _)| *p)
            .collect();
        for p in far_asks {
            self.book.asks.remove(&p);
        }
        // Other participants adding and cancelling.
        let jiggles = rng.gen_range(0..4);
        for _ in 0..jiggles {
            let bid = rng.gen_bool(0.5);
            let depth = rng.gen_range(0..self.levels);
            let q = self.rand_qty(rng, depth);
            let px = if bid {
                bid_px - depth as i64 * self.tick
            } else {
                ask_px + depth as i64 * self.tick
            };
            if px > 0 {
                self.book.set(bid, px, q);
            }
        }
        self.diff_events(rng, time)
    }

    fn diff_events(&mut self, rng: &mut ChaCha8Rng, time: u64) -> Vec<FeedEvent> {
        let before = std::mem::take(&mut self.published);
        let mut bids = Vec::new();
        let mut asks = Vec::new();
        for (p, q) in &self.book.bids {
            if before.bids.get(p) != Some(q) {
                bids.push((*p, *q));
            }
        }
        for p in before.bids.keys() {
            if !self.book.bids.contains_key(p) {
                bids.push((*p, 0));
            }
        }
        for (p, q) in &self.book.asks {
            if before.asks.get(p) != Some(q) {
                asks.push((*p, *q));
            }
        }
        for p in before.asks.keys() {
            if !self.book.asks.contains_key(p) {
                asks.push((*p, 0));
            }
        }
        let mut out = Vec::new();
        if bids.is_empty() && asks.is_empty() {
            self.published = before;
            return out;
        }
        bids.sort_by_key(|l| std::cmp::Reverse(l.0));
        asks.sort_by_key(|l| l.0);
        // Other symbols' and hidden updates consume ids too: ids jump between events.
        let prev = self.book.last_id;
        let first = prev + 1 + rng.gen_range(0..40);
        let last = first + (bids.len() + asks.len()) as u64 + rng.gen_range(0..20);
        self.book.last_id = last;
        self.published = self.book.clone();
        out.push(FeedEvent {
            time,
            kind: FeedKind::Depth {
                sym: self.sym,
                first,
                last,
                prev,
                tx_time: time,
                bids,
                asks,
            },
        });
        if let (Some(b), Some(a)) = (self.book.best_bid(), self.book.best_ask()) {
            let top = (b.0, b.1, a.0, a.1);
            if self.last_top != Some(top) {
                self.last_top = Some(top);
                self.ticker_id = self.ticker_id.max(last);
                out.push(FeedEvent {
                    time,
                    kind: FeedKind::BookTicker {
                        sym: self.sym,
                        update_id: last,
                        tx_time: time,
                        bid: b,
                        ask: a,
                    },
                });
            }
        }
        out
    }
}
