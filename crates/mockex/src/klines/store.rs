//! One symbol's 1-minute bars: the closed ones (oldest first, one per minute, no gap)
//! and the one in progress, from which every coarser interval is aggregated.
//!
//! Why 1-minute bars and nothing else: every Binance interval is a whole number of
//! minutes on minute boundaries, so one store answers all fifteen, and the trade path
//! only ever touches the bar in progress (a few integer updates, no allocation). Prices
//! and quantities stay in the symbol's integer units and quote volumes are exact
//! (`price units × quantity units`, in `i128`), so a bar's JSON is what Binance would
//! print, digit for digit.
//!
//! The store keeps at most `cap` closed bars (the oldest fall off): memory is bounded
//! however long the mock runs.

use std::collections::VecDeque;

use super::interval::Interval;

/// One minute.
pub const MINUTE: u64 = 60_000;

/// One bar in the symbol's units. A bar without trades is flat at the previous close
/// (as Binance prints a minute nobody traded in) and has no trade ids (`-1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bar {
    /// Open time (ms).
    pub open_time: u64,
    /// First price (price units).
    pub open: i64,
    /// Highest price.
    pub high: i64,
    /// Lowest price.
    pub low: i64,
    /// Last price.
    pub close: i64,
    /// Base volume (quantity units).
    pub volume: i64,
    /// Quote volume in `price units × quantity units`.
    pub quote: i128,
    /// Raw trades (maker fills), Binance's `count` / `n`.
    pub trades: u64,
    /// Base volume bought by takers.
    pub taker_volume: i64,
    /// Quote volume bought by takers.
    pub taker_quote: i128,
    /// First raw trade id (-1: none).
    pub first_id: i64,
    /// Last raw trade id (-1: none).
    pub last_id: i64,
}

impl Bar {
    /// A bar nobody traded in, flat at `price`.
    pub fn empty(open_time: u64, price: i64) -> Bar {
        Bar {
            open_time,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: 0,
            quote: 0,
            trades: 0,
            taker_volume: 0,
            taker_quote: 0,
            first_id: -1,
            last_id: -1,
        }
    }

    /// True if anything traded in the bar.
    pub fn has_trades(&self) -> bool {
        self.trades > 0
    }

    /// Adds one aggTrade: `qty` at `price`, raw trade ids `first..=last`.
    pub fn add(&mut self, price: i64, qty: i64, taker_buy: bool, first: u64, last: u64) {
        if self.has_trades() {
            self.high = self.high.max(price);
            self.low = self.low.min(price);
        } else {
            self.open = price;
            self.high = price;
            self.low = price;
            self.first_id = first as i64;
        }
        self.close = price;
        self.last_id = last as i64;
        self.trades += last.saturating_sub(first) + 1;
        let quote = i128::from(price) * i128::from(qty);
        self.volume += qty;
        self.quote += quote;
        if taker_buy {
            self.taker_volume += qty;
            self.taker_quote += quote;
        }
    }

    /// `self` followed by `later` (the same bucket, later trades): the open of the
    /// first with trades, the close of the last with trades, sums of the rest.
    pub fn then(&self, later: &Bar) -> Bar {
        if !later.has_trades() {
            return *self;
        }
        if !self.has_trades() {
            return Bar {
                open_time: self.open_time,
                ..*later
            };
        }
        Bar {
            open_time: self.open_time,
            open: self.open,
            high: self.high.max(later.high),
            low: self.low.min(later.low),
            close: later.close,
            volume: self.volume + later.volume,
            quote: self.quote + later.quote,
            trades: self.trades + later.trades,
            taker_volume: self.taker_volume + later.taker_volume,
            taker_quote: self.taker_quote + later.taker_quote,
            first_id: self.first_id,
            last_id: later.last_id,
        }
    }
}

/// The 1-minute bars of one symbol.
#[derive(Debug)]
pub struct KlineStore {
    closed: VecDeque<Bar>,
    current: Option<Bar>,
    cap: usize,
    /// The bar in progress changed since the last stream push.
    pub dirty: bool,
    /// Quantity of the last trade (the 24-hour ticker's `lastQty`).
    pub last_qty: i64,
}

impl KlineStore {
    /// An empty store keeping at most `cap` closed bars.
    pub fn new(cap: usize) -> KlineStore {
        KlineStore {
            closed: VecDeque::new(),
            current: None,
            cap: cap.max(1),
            dirty: false,
            last_qty: 0,
        }
    }

    /// Opens the bar of minute `t` flat at `price` if the store has none yet, so a
    /// market with a known price (the synthetic one) has bars before its first trade.
    pub fn open_at(&mut self, t: u64, price: i64) {
        if self.current.is_none() {
            self.current = Some(Bar::empty(t - t % MINUTE, price));
        }
    }

    fn push_closed(&mut self, b: Bar) {
        if self.closed.len() >= self.cap {
            self.closed.pop_front();
        }
        self.closed.push_back(b);
    }

    /// Moves to the minute of `t`: closes the bar in progress and every minute since
    /// (flat at the last close), and opens the bar of `t`'s minute. Returns how many
    /// bars closed. A jump longer than the store keeps only its last `cap` minutes.
    pub fn roll(&mut self, t: u64) -> usize {
        let minute = t - t % MINUTE;
        let Some(cur) = self.current else { return 0 };
        if cur.open_time >= minute {
            return 0;
        }
        self.push_closed(cur);
        let mut closed = 1;
        let mut next = cur.open_time + MINUTE;
        let gap = ((minute - next) / MINUTE) as usize;
        if gap >= self.cap {
            self.closed.clear();
            next = minute - self.cap as u64 * MINUTE;
        }
        while next < minute {
            self.push_closed(Bar::empty(next, cur.close));
            closed += 1;
            next += MINUTE;
        }
        self.current = Some(Bar::empty(minute, cur.close));
        self.dirty = true;
        closed
    }

    /// Adds one aggTrade at trade time `t` to its minute's bar (the bar in progress, or
    /// the last closed one for a trade stamped just before the minute rolled).
    pub fn on_trade(&mut self, t: u64, price: i64, qty: i64, taker_buy: bool, ids: (u64, u64)) {
        self.last_qty = qty;
        self.dirty = true;
        let minute = t - t % MINUTE;
        match self.current.as_mut() {
            None => {
                let mut b = Bar::empty(minute, price);
                b.add(price, qty, taker_buy, ids.0, ids.1);
                self.current = Some(b);
                return;
            }
            Some(cur) if cur.open_time <= minute => {}
            Some(_) => {
                if let Some(last) = self.closed.back_mut().filter(|b| b.open_time == minute) {
                    last.add(price, qty, taker_buy, ids.0, ids.1);
                    return;
                }
            }
        }
        self.roll(t);
        if let Some(cur) = self.current.as_mut() {
            cur.add(price, qty, taker_buy, ids.0, ids.1);
        }
    }

    /// Number of bars (closed and in progress).
    pub fn len(&self) -> usize {
        self.closed.len() + usize::from(self.current.is_some())
    }

    /// True when the store has no bar at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bar `i`, oldest first; the last is the one in progress.
    pub fn get(&self, i: usize) -> Option<&Bar> {
        if i < self.closed.len() {
            self.closed.get(i)
        } else if i == self.closed.len() {
            self.current.as_ref()
        } else {
            None
        }
    }

    /// The bar in progress.
    pub fn current(&self) -> Option<&Bar> {
        self.current.as_ref()
    }

    /// The closed bars, oldest first.
    pub fn closed(&self) -> impl Iterator<Item = &Bar> {
        self.closed.iter()
    }

    /// Index of the first bar for which `pred` is false (bars ordered so that `pred`
    /// is true then false), as `slice::partition_point`.
    fn partition_point(&self, pred: impl Fn(&Bar) -> bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.get(mid) {
                Some(b) if pred(b) => lo = mid + 1,
                _ => hi = mid,
            }
        }
        lo
    }

    /// The bars of `iv` with an open time in `start..=end` and not after `now`, as
    /// `GET /fapi/v1/klines` selects them: from `start`, the first `limit`; without a
    /// start, the last `limit` up to `end`. A coarse bar holds every minute of its
    /// bucket the store has, up to `now` (the last one is in progress).
    pub fn query(
        &self,
        iv: Interval,
        start: Option<u64>,
        end: Option<u64>,
        limit: usize,
        now: u64,
    ) -> Vec<Bar> {
        let end = end.unwrap_or(u64::MAX).min(now);
        let bucket = |b: &Bar| iv.open_of(b.open_time);
        // Minutes up to `end`'s bucket (and not beyond now).
        let hi = self.partition_point(|b| bucket(b) <= end && b.open_time <= now);
        let lo = match start {
            Some(s) => self.partition_point(|b| bucket(b) < s),
            None => {
                // Walk back over `limit` distinct buckets.
                let mut lo = hi;
                let mut buckets = 0;
                let mut last = None;
                while lo > 0 {
                    let Some(b) = self.get(lo - 1) else { break };
                    let k = bucket(b);
                    if last != Some(k) {
                        if buckets == limit {
                            break;
                        }
                        buckets += 1;
                        last = Some(k);
                    }
                    lo -= 1;
                }
                lo
            }
        };
        let mut out: Vec<Bar> = Vec::with_capacity(limit.min(hi.saturating_sub(lo)));
        for i in lo..hi {
            let Some(b) = self.get(i) else { break };
            let k = bucket(b);
            match out.last_mut() {
                Some(acc) if acc.open_time == k => *acc = acc.then(b),
                _ => {
                    if out.len() == limit {
                        break;
                    }
                    out.push(Bar { open_time: k, ..*b });
                }
            }
        }
        out
    }

    /// Every minute with an open time in `from..=to`, summed into one bar (open time
    /// `from`); `None` when there is none.
    pub fn window(&self, from: u64, to: u64) -> Option<Bar> {
        let lo = self.partition_point(|b| b.open_time < from);
        let hi = self.partition_point(|b| b.open_time <= to);
        let first = self.get(lo).filter(|_| lo < hi)?;
        let mut acc = Bar {
            open_time: from,
            ..*first
        };
        for i in lo + 1..hi {
            if let Some(b) = self.get(i) {
                acc = acc.then(b);
            }
        }
        Some(acc)
    }

    /// The bar of `iv` that contains the minute `minute_open`, summed from the minutes
    /// the store has (the stream's view of a coarse bar).
    pub fn bucket(&self, iv: Interval, minute_open: u64) -> Option<Bar> {
        let open = iv.open_of(minute_open);
        self.window(open, iv.close_of(open)).map(|b| Bar {
            open_time: open,
            ..b
        })
    }

    /// Puts the seeded history in front of the live bars. `bars` are closed minutes
    /// ending just before `partial`'s minute; `partial` is that minute's part before the
    /// live market started, and is merged into the live bar of the same minute (history
    /// first). Live bars that had no trade since are re-flattened at the new previous
    /// close. History older than what the store keeps is dropped; history that no longer
    /// reaches the live bars (the store moved on past the join) is ignored.
    pub fn merge_history(&mut self, bars: Vec<Bar>, partial: Bar) {
        let join = partial.open_time;
        let front = self
            .closed
            .front()
            .or(self.current.as_ref())
            .map(|b| b.open_time);
        if front.is_some_and(|f| f != join) {
            tracing::warn!(
                join,
                front,
                "seeded history no longer joins the live bars; ignored"
            );
            return;
        }
        // The live bar of the join minute, history first.
        let merged_closed = self.closed.front_mut().filter(|b| b.open_time == join);
        match merged_closed {
            Some(b) => *b = partial.then(b),
            None => {
                self.current = Some(match self.current {
                    Some(cur) => partial.then(&cur),
                    None => partial,
                });
            }
        }
        let room = self.cap.saturating_sub(self.closed.len());
        let skip = bars.len().saturating_sub(room);
        for b in bars.into_iter().skip(skip).rev() {
            self.closed.push_front(b);
        }
        // Flat bars after the join follow the (possibly new) previous close.
        let mut prev: Option<i64> = None;
        let n = self.closed.len();
        for i in 0..=n {
            let b = if i < n {
                self.closed.get_mut(i)
            } else {
                self.current.as_mut()
            };
            let Some(b) = b else { break };
            if b.open_time > join && !b.has_trades() {
                if let Some(p) = prev {
                    *b = Bar::empty(b.open_time, p);
                }
            }
            prev = Some(b.close);
        }
        self.dirty = true;
    }
}

#[cfg(test)]
mod tests;
