//! Local L2 order book, kept in sync with Binance USD-M diff-depth events.
//!
//! Binance's procedure ("How to manage a local order book correctly", futures variant):
//! 1. open the depth stream and **buffer** its events;
//! 2. fetch a REST snapshot (`lastUpdateId`);
//! 3. drop buffered events with `u < lastUpdateId`;
//! 4. the first applied event must satisfy `U <= lastUpdateId <= u`;
//! 5. every later event must have `pu` == the previous event's `u` (on futures `U` is
//!    *not* previous `u` + 1; only `pu` chains).
//!
//! [`OrderBook`] implements exactly that state machine: feed it every diff with
//! [`OrderBook::on_diff`] from the moment the stream opens and the snapshot with
//! [`OrderBook::on_snapshot`] once fetched. Any broken rule returns
//! [`ExchangeError::BookOutOfSync`], clears the book and asks for a new snapshot (the
//! caller resyncs): a trader must never quote off a book that silently missed an update.
//! A crossed book after a diff is treated the same way, since a consistent futures book
//! cannot be crossed.
//!
//! Levels live in two `BTreeMap`s keyed by the bit pattern of the (positive, finite) f64
//! price: for positive doubles the IEEE-754 bit patterns sort exactly like the values,
//! and a decimal string always parses to the same double, so the key is exact without a
//! per-symbol tick size. Best bid/ask are `O(log n)`; depth walks are in price order.

use std::collections::{BTreeMap, VecDeque};

use shmtrader_core::{BookTop, NS_PER_MS};

use crate::error::{ExchangeError, Result};
use crate::wire::market::{DepthSnapshot, DepthUpdate, PriceLevel};

/// Exact ordered key of a positive finite price (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct PxKey(u64);

impl PxKey {
    #[inline]
    fn of(px: f64) -> PxKey {
        PxKey(px.to_bits())
    }
    #[inline]
    fn px(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// Where the book is in the sync procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// No usable snapshot: diffs are buffered; the owner should fetch one.
    NeedSnapshot,
    /// Snapshot applied; waiting for the first diff with `U <= lastUpdateId <= u`.
    AwaitingFirstDiff {
        /// The snapshot's `lastUpdateId`.
        snapshot_id: u64,
    },
    /// In sync: every diff chains by `pu`.
    Synced,
}

/// What happened to one diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffOutcome {
    /// Kept for when the snapshot arrives.
    Buffered,
    /// Already covered by the snapshot or a previous diff (`u` too old, or a duplicate
    /// delivered by an overlapping connection): dropped, nothing changed.
    Stale,
    /// Applied; the book is in sync.
    Applied,
}

/// Diffs kept while waiting for a snapshot. At 10 events/s this is many minutes; beyond
/// it the oldest are dropped, and a snapshot that no longer lines up with what is left
/// is reported as a break (the caller refetches).
pub const DEFAULT_MAX_BUFFER: usize = 8192;

/// A local L2 book for one symbol. See the module docs for the sync rules.
#[derive(Debug, Clone)]
pub struct OrderBook {
    bids: BTreeMap<PxKey, f64>,
    asks: BTreeMap<PxKey, f64>,
    state: SyncState,
    /// Snapshot id, then the `u` of the last applied diff.
    last_update_id: u64,
    /// `T` of the last applied diff or snapshot (ms).
    transaction_time_ms: u64,
    buffer: VecDeque<DepthUpdate>,
    max_buffer: usize,
    /// Breaks seen since creation (resyncs the owner had to do).
    breaks: u64,
}

impl Default for OrderBook {
    fn default() -> Self {
        Self::new()
    }
}

/// Checks levels before anything is applied, so a bad event never half-applies.
fn check_levels(levels: &[PriceLevel], what: &'static str) -> Result<()> {
    for l in levels {
        if !(l.price.is_finite() && l.price > 0.0) {
            return Err(ExchangeError::Rejected {
                what,
                field: "price level",
                reason: "has a price that is not positive and finite",
            });
        }
        if !(l.qty.is_finite() && l.qty >= 0.0) {
            return Err(ExchangeError::Rejected {
                what,
                field: "price level",
                reason: "has a quantity that is negative or not finite",
            });
        }
    }
    Ok(())
}

fn set_levels(side: &mut BTreeMap<PxKey, f64>, levels: &[PriceLevel]) {
    for l in levels {
        if l.qty == 0.0 {
            // Removing a level we do not have is normal (Binance docs).
            side.remove(&PxKey::of(l.price));
        } else {
            side.insert(PxKey::of(l.price), l.qty);
        }
    }
}

impl OrderBook {
    /// An empty book waiting for its snapshot.
    pub fn new() -> Self {
        Self::with_max_buffer(DEFAULT_MAX_BUFFER)
    }

    /// Same, with a custom diff-buffer bound.
    pub fn with_max_buffer(max_buffer: usize) -> Self {
        OrderBook {
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            state: SyncState::NeedSnapshot,
            last_update_id: 0,
            transaction_time_ms: 0,
            buffer: VecDeque::new(),
            max_buffer: max_buffer.max(1),
            breaks: 0,
        }
    }

    /// Current sync state.
    pub fn state(&self) -> SyncState {
        self.state
    }

    /// True when the owner should fetch a snapshot.
    pub fn needs_snapshot(&self) -> bool {
        self.state == SyncState::NeedSnapshot
    }

    /// True once the book is consistent with the stream (safe to read).
    pub fn is_synced(&self) -> bool {
        self.state == SyncState::Synced
    }

    /// Snapshot `lastUpdateId`, then the `u` of the last applied diff.
    pub fn last_update_id(&self) -> u64 {
        self.last_update_id
    }

    /// Exchange transaction time of the last applied event (ms).
    pub fn transaction_time_ms(&self) -> u64 {
        self.transaction_time_ms
    }

    /// Diffs waiting for a snapshot.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Sync breaks seen so far.
    pub fn breaks(&self) -> u64 {
        self.breaks
    }

    /// Drops everything and waits for a new snapshot (diffs keep being buffered).
    pub fn reset(&mut self) {
        self.bids.clear();
        self.asks.clear();
        self.state = SyncState::NeedSnapshot;
        self.last_update_id = 0;
    }

    fn fail(&mut self, detail: &'static str, expected: u64, got: u64) -> ExchangeError {
        self.reset();
        self.breaks += 1;
        ExchangeError::BookOutOfSync {
            detail,
            expected,
            got,
        }
    }

    /// Feeds one diff event (in stream order). Buffers it while no snapshot is applied;
    /// otherwise applies or drops it per the sync rules. An `Err` means the book broke
    /// and was cleared; the diff is kept in the buffer so a fresh snapshot can pick up
    /// from it, and the owner must fetch that snapshot.
    pub fn on_diff(&mut self, d: DepthUpdate) -> Result<DiffOutcome> {
        if self.state == SyncState::NeedSnapshot {
            if self.buffer.len() >= self.max_buffer {
                self.buffer.pop_front();
            }
            self.buffer.push_back(d);
            return Ok(DiffOutcome::Buffered);
        }
        match self.apply(&d) {
            Ok(o) => Ok(o),
            Err(e) => {
                self.buffer.push_back(d);
                Err(e)
            }
        }
    }

    /// Applies a REST snapshot and then every buffered diff, per the rules. Returns how
    /// many buffered diffs were applied (the others were stale). On `Err` the book is
    /// cleared and a newer snapshot is needed (the remaining diffs stay buffered).
    pub fn on_snapshot(&mut self, s: &DepthSnapshot) -> Result<usize> {
        check_levels(&s.bids, "depth snapshot")?;
        check_levels(&s.asks, "depth snapshot")?;
        self.bids.clear();
        self.asks.clear();
        set_levels(&mut self.bids, &s.bids);
        set_levels(&mut self.asks, &s.asks);
        self.last_update_id = s.last_update_id;
        self.transaction_time_ms = s.transaction_time;
        self.state = SyncState::AwaitingFirstDiff {
            snapshot_id: s.last_update_id,
        };
        if self.is_crossed() {
            let (b, a) = (self.best_bid_key(), self.best_ask_key());
            return Err(self.fail("crossed snapshot", a, b));
        }
        let mut applied = 0;
        while let Some(d) = self.buffer.pop_front() {
            match self.apply(&d) {
                Ok(DiffOutcome::Applied) => applied += 1,
                Ok(_) => {}
                Err(e) => {
                    // Keep what is left: a newer snapshot may line up with it.
                    self.buffer.push_front(d);
                    return Err(e);
                }
            }
        }
        Ok(applied)
    }

    fn best_bid_key(&self) -> u64 {
        self.bids.last_key_value().map_or(0, |(k, _)| k.0)
    }
    fn best_ask_key(&self) -> u64 {
        self.asks.first_key_value().map_or(0, |(k, _)| k.0)
    }

    fn apply(&mut self, d: &DepthUpdate) -> Result<DiffOutcome> {
        let (first, last, prev) = (d.first_update_id, d.final_update_id, d.prev_final_update_id);
        match self.state {
            SyncState::NeedSnapshot => Ok(DiffOutcome::Buffered),
            SyncState::AwaitingFirstDiff { snapshot_id } => {
                if last < snapshot_id {
                    return Ok(DiffOutcome::Stale);
                }
                if first > snapshot_id {
                    // Updates between the snapshot and this event are missing.
                    return Err(self.fail(
                        "first diff after the snapshot starts past lastUpdateId",
                        snapshot_id,
                        first,
                    ));
                }
                self.apply_levels(d)?;
                Ok(DiffOutcome::Applied)
            }
            SyncState::Synced => {
                if last <= self.last_update_id {
                    return Ok(DiffOutcome::Stale);
                }
                if prev != self.last_update_id {
                    let want = self.last_update_id;
                    return Err(self.fail("pu does not chain to the previous u", want, prev));
                }
                self.apply_levels(d)?;
                Ok(DiffOutcome::Applied)
            }
        }
    }

    fn apply_levels(&mut self, d: &DepthUpdate) -> Result<()> {
        if let Err(e) =
            check_levels(&d.bids, "depthUpdate").and_then(|_| check_levels(&d.asks, "depthUpdate"))
        {
            self.reset();
            self.breaks += 1;
            return Err(e);
        }
        set_levels(&mut self.bids, &d.bids);
        set_levels(&mut self.asks, &d.asks);
        self.last_update_id = d.final_update_id;
        self.transaction_time_ms = d.transaction_time;
        self.state = SyncState::Synced;
        if self.is_crossed() {
            return Err(self.fail(
                "book crossed after applying the diff",
                d.final_update_id,
                d.final_update_id,
            ));
        }
        Ok(())
    }

    /// Best bid `(price, qty)`.
    pub fn best_bid(&self) -> Option<(f64, f64)> {
        self.bids.last_key_value().map(|(k, q)| (k.px(), *q))
    }

    /// Best ask `(price, qty)`.
    pub fn best_ask(&self) -> Option<(f64, f64)> {
        self.asks.first_key_value().map(|(k, q)| (k.px(), *q))
    }

    /// Best bid ≥ best ask. Never true for a book this type reports as synced.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some((b, _)), Some((a, _))) if b >= a)
    }

    /// Bid levels, best (highest) first.
    pub fn bids(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.bids.iter().rev().map(|(k, q)| (k.px(), *q))
    }

    /// Ask levels, best (lowest) first.
    pub fn asks(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.asks.iter().map(|(k, q)| (k.px(), *q))
    }

    /// Number of bid and ask levels.
    pub fn len(&self) -> (usize, usize) {
        (self.bids.len(), self.asks.len())
    }

    /// True when both sides are empty.
    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }

    /// Quantity-weighted imbalance of the best `levels` levels per side, in [-1, 1]:
    /// `(bid_qty - ask_qty) / (bid_qty + ask_qty)`. `None` when unsynced or empty.
    pub fn imbalance(&self, levels: usize) -> Option<f64> {
        if !self.is_synced() {
            return None;
        }
        let b: f64 = self.bids().take(levels).map(|(_, q)| q).sum();
        let a: f64 = self.asks().take(levels).map(|(_, q)| q).sum();
        let t = b + a;
        (t > 0.0).then(|| (b - a) / t)
    }

    /// The top of book as a [`BookTop`] record (exchange time = `T` of the last applied
    /// event). `None` unless synced with both sides present.
    pub fn book_top(&self, symbol_id: u32, recv_ts_ns: u64) -> Option<BookTop> {
        if !self.is_synced() {
            return None;
        }
        let (bid_px, bid_qty) = self.best_bid()?;
        let (ask_px, ask_qty) = self.best_ask()?;
        Some(BookTop {
            symbol_id,
            flags: 0,
            exchange_ts_ns: self.transaction_time_ms.saturating_mul(NS_PER_MS),
            recv_ts_ns,
            publish_ts_ns: 0,
            bid_px,
            bid_qty,
            ask_px,
            ask_qty,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fast::test_data;
    use crate::wire::market::{BookTicker, Envelope};

    fn lv(p: f64, q: f64) -> PriceLevel {
        PriceLevel { price: p, qty: q }
    }

    fn diff(
        first: u64,
        last: u64,
        prev: u64,
        bids: &[(f64, f64)],
        asks: &[(f64, f64)],
    ) -> DepthUpdate {
        DepthUpdate {
            event_type: "depthUpdate".into(),
            event_time: last,
            transaction_time: last,
            symbol: "BTCUSDT".into(),
            first_update_id: first,
            final_update_id: last,
            prev_final_update_id: prev,
            bids: bids.iter().map(|&(p, q)| lv(p, q)).collect(),
            asks: asks.iter().map(|&(p, q)| lv(p, q)).collect(),
        }
    }

    fn snap(id: u64) -> DepthSnapshot {
        DepthSnapshot {
            last_update_id: id,
            event_time: 1,
            transaction_time: 1,
            bids: vec![lv(100.0, 1.0), lv(99.5, 2.0), lv(99.0, 3.0)],
            asks: vec![lv(100.5, 1.5), lv(101.0, 2.5)],
        }
    }

    #[test]
    fn buffers_then_syncs_per_binance_rules() {
        let mut b = OrderBook::new();
        assert!(b.needs_snapshot());
        // Buffered before the snapshot: one stale, one straddling, one chained.
        assert_eq!(
            b.on_diff(diff(90, 95, 80, &[(98.0, 9.0)], &[])).unwrap(),
            DiffOutcome::Buffered
        );
        assert_eq!(
            b.on_diff(diff(96, 105, 95, &[(100.0, 0.0)], &[])).unwrap(),
            DiffOutcome::Buffered
        );
        assert_eq!(
            b.on_diff(diff(106, 110, 105, &[], &[(100.5, 0.0), (102.0, 4.0)]))
                .unwrap(),
            DiffOutcome::Buffered
        );
        assert_eq!(b.buffered(), 3);
        assert_eq!(b.on_snapshot(&snap(100)).unwrap(), 2);
        assert!(b.is_synced());
        assert_eq!(b.last_update_id(), 110);
        // The stale diff (u=95 < 100) was not applied: 98.0 is absent.
        assert!(b.bids().all(|(p, _)| p != 98.0));
        // 100.0 was removed (qty 0), 100.5 too.
        assert_eq!(b.best_bid(), Some((99.5, 2.0)));
        assert_eq!(b.best_ask(), Some((101.0, 2.5)));
        assert_eq!(
            b.asks().collect::<Vec<_>>(),
            vec![(101.0, 2.5), (102.0, 4.0)]
        );
        assert_eq!(b.bids().map(|l| l.0).collect::<Vec<_>>(), vec![99.5, 99.0]);
        // Next diff chains; a duplicate is stale, not a break.
        assert_eq!(
            b.on_diff(diff(111, 120, 110, &[(99.75, 1.0)], &[]))
                .unwrap(),
            DiffOutcome::Applied
        );
        assert_eq!(
            b.on_diff(diff(111, 120, 110, &[], &[])).unwrap(),
            DiffOutcome::Stale
        );
        assert_eq!(b.best_bid(), Some((99.75, 1.0)));
        let top = b.book_top(3, 9).unwrap();
        assert_eq!((top.bid_px, top.ask_px, top.symbol_id), (99.75, 101.0, 3));
        assert_eq!(top.exchange_ts_ns, 120 * NS_PER_MS);
        let imb = b.imbalance(1).unwrap();
        assert!((imb - (1.0 - 2.5) / 3.5).abs() < 1e-12);
    }

    #[test]
    fn a_pu_break_is_detected_and_clears_the_book() {
        let mut b = OrderBook::new();
        b.on_snapshot(&snap(100)).unwrap();
        assert_eq!(b.state(), SyncState::AwaitingFirstDiff { snapshot_id: 100 });
        assert_eq!(
            b.on_diff(diff(99, 104, 97, &[], &[])).unwrap(),
            DiffOutcome::Applied
        );
        assert_eq!(
            b.on_diff(diff(105, 107, 104, &[], &[])).unwrap(),
            DiffOutcome::Applied
        );
        // One event (pu=107 → u=112) went missing.
        let e = b.on_diff(diff(113, 115, 112, &[], &[])).unwrap_err();
        match e {
            ExchangeError::BookOutOfSync { expected, got, .. } => {
                assert_eq!((expected, got), (107, 112));
            }
            other => panic!("{other:?}"),
        }
        assert!(b.needs_snapshot());
        assert!(b.is_empty());
        assert_eq!(b.breaks(), 1);
        assert!(b.book_top(0, 0).is_none());
        assert!(b.imbalance(5).is_none());
        // Resync: the breaking diff stays buffered, later ones too.
        assert_eq!(
            b.on_diff(diff(116, 118, 115, &[], &[])).unwrap(),
            DiffOutcome::Buffered
        );
        assert_eq!(b.on_snapshot(&snap(117)).unwrap(), 1);
        assert!(b.is_synced());
        assert_eq!(b.last_update_id(), 118);
    }

    #[test]
    fn first_diff_must_straddle_the_snapshot() {
        let mut b = OrderBook::new();
        b.on_snapshot(&snap(100)).unwrap();
        assert_eq!(
            b.on_diff(diff(90, 99, 85, &[], &[])).unwrap(),
            DiffOutcome::Stale
        );
        assert!(matches!(
            b.on_diff(diff(101, 104, 100, &[], &[])),
            Err(ExchangeError::BookOutOfSync {
                expected: 100,
                got: 101,
                ..
            })
        ));
        assert!(b.needs_snapshot());
        // A snapshot that is older than everything buffered is also a break.
        let mut b = OrderBook::new();
        b.on_diff(diff(200, 210, 199, &[], &[])).unwrap();
        assert!(b.on_snapshot(&snap(150)).is_err());
        assert_eq!(b.buffered(), 1);
        assert_eq!(b.on_snapshot(&snap(205)).unwrap(), 1);
    }

    #[test]
    fn crossed_or_invalid_updates_break_the_book() {
        let mut b = OrderBook::new();
        b.on_snapshot(&snap(100)).unwrap();
        b.on_diff(diff(100, 101, 99, &[], &[])).unwrap();
        assert!(b
            .on_diff(diff(102, 103, 101, &[(100.6, 1.0)], &[]))
            .is_err());
        assert!(b.needs_snapshot());
        let mut b = OrderBook::new();
        b.on_snapshot(&snap(100)).unwrap();
        assert!(b.on_diff(diff(100, 101, 99, &[(-1.0, 1.0)], &[])).is_err());
        let mut b = OrderBook::new();
        b.on_snapshot(&snap(100)).unwrap();
        assert!(b
            .on_diff(diff(100, 101, 99, &[(99.0, f64::NAN)], &[]))
            .is_err());
    }

    #[test]
    fn the_buffer_is_bounded() {
        let mut b = OrderBook::with_max_buffer(2);
        for i in 0..5u64 {
            b.on_diff(diff(
                i * 10,
                i * 10 + 5,
                i * 10 - 5 * (i > 0) as u64,
                &[],
                &[],
            ))
            .unwrap();
        }
        assert_eq!(b.buffered(), 2);
    }

    /// Rebuilds BTCUSDT's book over the whole 2024-07-18/19 session (one uninterrupted
    /// capture split at midnight, seeded by the snapshot in the first file): no break, no
    /// crossed book, and the top agrees with the captured bookTicker.
    #[test]
    fn real_capture_rebuilds_a_consistent_book() {
        let Some(dir) = test_data::data_dir() else {
            return;
        };
        let base = dir.join("nkaz001_hftbacktest/usdm");
        let mut book = OrderBook::new();
        let mut tickers: Vec<(u64, f64, f64, f64, f64)> = Vec::new();
        let mut diffs: Vec<DepthUpdate> = Vec::new();
        let mut snapshot_at = None;
        for name in ["btcusdt_20240718.gz", "btcusdt_20240719.gz"] {
            for (_, line) in test_data::capture_lines(&base.join(name)) {
                if line.starts_with("{\"lastUpdateId\"") {
                    let s: DepthSnapshot = serde_json::from_str(&line).unwrap();
                    snapshot_at = Some((diffs.len(), s));
                } else if line.contains("@depth") {
                    let e: Envelope<DepthUpdate> = serde_json::from_str(&line).unwrap();
                    diffs.push(e.data);
                } else if line.contains("@bookTicker") {
                    let e: Envelope<BookTicker> = serde_json::from_str(&line).unwrap();
                    let t = e.data;
                    tickers.push((t.update_id, t.bid_px, t.bid_qty, t.ask_px, t.ask_qty));
                }
            }
        }
        tickers.sort_by_key(|t| t.0);
        let (snap_idx, snapshot) = snapshot_at.expect("the capture has a snapshot");
        assert!(snap_idx > 0, "diffs were buffered before the snapshot");
        let (mut applied, mut stale, mut buffered) = (0usize, 0usize, 0usize);
        let (mut exact, mut exact_ok, mut inrange, mut inrange_ok) = (0, 0, 0, 0);
        let mut prev_u = None;
        for (i, d) in diffs.into_iter().enumerate() {
            if i == snap_idx {
                let n = book.on_snapshot(&snapshot).unwrap();
                applied += n;
                stale += buffered - n;
            }
            // The file's own chain: pu == previous u, across the file boundary too.
            if let Some(p) = prev_u {
                assert_eq!(d.prev_final_update_id, p, "pu chain broken in the capture");
            }
            prev_u = Some(d.final_update_id);
            let (pu, u) = (d.prev_final_update_id, d.final_update_id);
            match book.on_diff(d).unwrap() {
                DiffOutcome::Buffered => buffered += 1,
                DiffOutcome::Stale => stale += 1,
                DiffOutcome::Applied => {
                    applied += 1;
                    assert!(!book.is_crossed());
                    let (bb, bq) = book.best_bid().unwrap();
                    let (ba, aq) = book.best_ask().unwrap();
                    // Latest ticker at or before this diff's final id.
                    let k = tickers.partition_point(|t| t.0 <= u);
                    if k == 0 {
                        continue;
                    }
                    let t = tickers[k - 1];
                    if t.0 == u {
                        exact += 1;
                        exact_ok += usize::from((t.1, t.2, t.3, t.4) == (bb, bq, ba, aq));
                    } else if t.0 > pu {
                        inrange += 1;
                        inrange_ok += usize::from((t.1, t.3) == (bb, ba));
                    }
                }
            }
        }
        println!(
            "book rebuild: {applied} diffs applied, {stale} stale, {} levels at the end; \
             top == bookTicker (px and qty) at {exact_ok}/{exact} identical update ids; \
             best px == the last bookTicker inside the diff's id range at {inrange_ok}/{inrange}",
            book.len().0 + book.len().1
        );
        assert!(book.is_synced());
        assert_eq!(book.breaks(), 0);
        assert!(applied > 8000, "{applied}");
        assert!(exact > 100);
        assert_eq!(
            exact_ok, exact,
            "book top differs from bookTicker at the same id"
        );
        assert!(inrange_ok * 100 >= inrange * 90, "{inrange_ok}/{inrange}");
    }
}
