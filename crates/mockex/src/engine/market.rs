//! Market data: the per-symbol book and tape, the depth-stream windows, mark prices
//! and the public REST views of them.

use std::collections::{BTreeMap, VecDeque};

use serde_json::{json, Value};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::params::{opt_u64, param, Params};
use super::{now_ms, Engine, Side};
use crate::api_error::ApiError;
use crate::book::{normal, Book};
use crate::feed::{AggTrade, FeedEvent, FeedKind, Level};
use crate::klines::{self, KlineStore};
use crate::spec::SymbolSpec;

/// Levels a market order may walk when the market quotes only a best bid / ask.
pub(super) const VIRTUAL_LEVELS: i64 = 20;
/// Recent aggTrades kept per symbol for `/fapi/v1/aggTrades`.
const HISTORY: usize = 200_000;

#[derive(Debug)]
pub(super) struct DepthWindow {
    pub(super) ms: u64,
    pub(super) suffix: &'static str,
    pub(super) bids: BTreeMap<i64, i64>,
    pub(super) asks: BTreeMap<i64, i64>,
    pub(super) first: Option<u64>,
    pub(super) last: u64,
    pub(super) prev_u: u64,
    pub(super) tx: u64,
    pub(super) boundary: u64,
}

impl DepthWindow {
    pub(super) fn new(ms: u64, suffix: &'static str) -> Self {
        DepthWindow {
            ms,
            suffix,
            bids: BTreeMap::new(),
            asks: BTreeMap::new(),
            first: None,
            last: 0,
            prev_u: 0,
            tx: 0,
            boundary: 0,
        }
    }
    pub(super) fn record(
        &mut self,
        first: u64,
        last: u64,
        tx: u64,
        bids: &[Level],
        asks: &[Level],
    ) {
        for (p, q) in bids {
            self.bids.insert(*p, *q);
        }
        for (p, q) in asks {
            self.asks.insert(*p, *q);
        }
        self.first = Some(self.first.map_or(first, |f| f.min(first)));
        self.last = self.last.max(last);
        self.tx = tx;
    }
    pub(super) fn reset(&mut self, id: u64) {
        self.bids.clear();
        self.asks.clear();
        self.first = None;
        self.last = id;
        self.prev_u = id;
    }
}

#[derive(Debug)]
pub(super) struct Market {
    pub(super) spec: SymbolSpec,
    pub(super) ssym: String,
    pub(super) book: Book,
    pub(super) has_book: bool,
    /// Highest id of a recorded diff applied (touch ids excluded): stale-diff guard.
    pub(super) data_last: u64,
    pub(super) pre_snapshot: VecDeque<FeedEvent>,
    pub(super) ticker: Option<(Level, Level)>,
    /// Update id of the last bookTicker (seeds the levels behind a bare touch).
    pub(super) ticker_id: u64,
    pub(super) last_price: Option<i64>,
    pub(super) hist: VecDeque<AggTrade>,
    pub(super) windows: [DepthWindow; 3],
    /// aggTrades still to be left off the websocket (REST history keeps them).
    pub(super) drop_agg: u64,
    /// 1-minute bars, every kline interval's source.
    pub(super) klines: KlineStore,
    /// `<symbol>@kline_<interval>` for each of [`klines::interval::ALL`], built once.
    pub(super) kline_streams: Vec<String>,
    /// Next 250 ms boundary of data time at which the kline streams push.
    pub(super) kline_push_at: u64,
}

impl Market {
    /// A symbol with no book, no tape and empty depth windows.
    pub(super) fn new(spec: SymbolSpec) -> Self {
        Market {
            spec,
            ssym: spec.stream_sym(),
            book: Book::default(),
            has_book: false,
            data_last: 0,
            pre_snapshot: VecDeque::new(),
            ticker: None,
            ticker_id: 0,
            last_price: None,
            hist: VecDeque::new(),
            windows: [
                DepthWindow::new(100, "@100ms"),
                DepthWindow::new(250, ""),
                DepthWindow::new(500, "@500ms"),
            ],
            drop_agg: 0,
            klines: KlineStore::new(klines::MAX_BARS),
            kline_streams: klines::interval::ALL
                .iter()
                .map(|iv| format!("{}@kline_{}", spec.stream_sym(), iv.name()))
                .collect(),
            kline_push_at: 0,
        }
    }
    pub(super) fn best(&self) -> (Option<Level>, Option<Level>) {
        if self.has_book && self.book.is_two_sided() {
            (self.book.best_bid(), self.book.best_ask())
        } else if let Some((b, a)) = self.ticker {
            (Some(b), Some(a))
        } else {
            (None, None)
        }
    }
    /// The liquidity a taker on `taker` side meets, best first: the opposite side of the
    /// L2 book (1000 levels at most), or, for a market with only a best bid / ask, the
    /// touch at its quoted size and [`VIRTUAL_LEVELS`]` - 1` levels one tick apart behind
    /// it, sized like the synthetic book's levels (about three median trades, growing
    /// with depth, log-normal). The sizes are drawn from `seed` and the bookTicker's
    /// update id, so the same quote always offers the same depth.
    pub(super) fn liquidity(&self, taker: Side, seed: u64) -> Vec<Level> {
        if self.has_book && self.book.is_two_sided() {
            return match taker {
                Side::Buy => self
                    .book
                    .asks
                    .iter()
                    .take(1000)
                    .map(|(p, q)| (*p, *q))
                    .collect(),
                Side::Sell => self
                    .book
                    .bids
                    .iter()
                    .rev()
                    .take(1000)
                    .map(|(p, q)| (*p, *q))
                    .collect(),
            };
        }
        let Some((bid, ask)) = self.ticker else {
            return Vec::new();
        };
        let (touch, dir) = match taker {
            Side::Buy => (ask, 1),
            Side::Sell => (bid, -1),
        };
        let spec = &self.spec;
        let mut rng = ChaCha8Rng::seed_from_u64(
            seed ^ self.ticker_id.rotate_left(17) ^ ((dir + 2) as u64) << 60,
        );
        let unit = spec.median_qty * 10f64.powi(spec.qty_dp as i32) * 3.0;
        let mut out = vec![(touch.0, touch.1.max(spec.step))];
        for d in 1..VIRTUAL_LEVELS {
            let px = touch.0 + dir * d * spec.tick;
            if px <= 0 {
                break;
            }
            let q = unit * (1.0 + d as f64 * 0.15) * (0.9 * normal(&mut rng)).exp();
            let units = ((q / spec.step as f64).round() as i64).max(1) * spec.step;
            out.push((px, units));
        }
        out
    }

    /// Mark price: mid of the touch, else last trade.
    pub(super) fn mark(&self) -> Option<f64> {
        match self.best() {
            (Some(b), Some(a)) => Some(self.spec.px(b.0 + a.0) / 2.0),
            _ => self.last_price.map(|p| self.spec.px(p)),
        }
    }
}

pub(super) fn levels_json(spec: &SymbolSpec, lv: &[(i64, i64)]) -> Value {
    Value::Array(
        lv.iter()
            .map(|(p, q)| json!([spec.fmt_px(*p), spec.fmt_qty(*q)]))
            .collect(),
    )
}

impl Engine {
    // ------------------------------------------------------------------ market feed

    /// Moves the data clock forward, closing depth windows and publishing mark prices.
    pub fn advance(&mut self, t: u64) {
        if t < self.data_now {
            return;
        }
        self.data_now = t;
        self.roll_klines(t);
        for i in 0..self.mk.len() {
            for w in 0..3 {
                let win = &self.mk[i].windows[w];
                if win.boundary == 0 {
                    self.mk[i].windows[w].boundary = (t / win.ms + 1) * win.ms;
                } else if t >= win.boundary {
                    self.flush_window(i, w, t);
                }
            }
        }
        if self.next_mark_1s == 0 {
            self.next_mark_1s = (t / 1000 + 1) * 1000;
            self.next_mark_3s = (t / 3000 + 1) * 3000;
        }
        // One mark per whole second of data time, even across a jump of the clock (a
        // long lull is skipped to its last hour), each followed by the MARK_PRICE
        // trigger check.
        if t >= self.next_mark_1s + 3_600_000 {
            self.next_mark_1s = (t / 1000 - 3599) * 1000;
        }
        while t >= self.next_mark_1s {
            let at = self.next_mark_1s;
            self.next_mark_1s += 1000;
            let three = at >= self.next_mark_3s;
            if three {
                self.next_mark_3s = (at / 3000 + 1) * 3000;
            }
            for i in 0..self.mk.len() {
                self.publish_mark(i, at, three);
            }
            self.check_algos_all(true);
        }
    }

    pub(super) fn flush_window(&mut self, i: usize, w: usize, t: u64) {
        let m = &mut self.mk[i];
        let spec = m.spec;
        let ms = m.windows[w].ms;
        let boundary = m.windows[w].boundary;
        m.windows[w].boundary = (t / ms + 1) * ms;
        let Some(first) = m.windows[w].first else {
            return;
        };
        let win = &mut m.windows[w];
        let bids: Vec<Level> = win.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
        let asks: Vec<Level> = win.asks.iter().map(|(p, q)| (*p, *q)).collect();
        let (u, pu, tx) = (win.last, win.prev_u, win.tx);
        win.prev_u = u;
        win.bids.clear();
        win.asks.clear();
        win.first = None;
        let suffix = win.suffix;
        let e = boundary.max(tx);
        let sym = spec.symbol;
        let diff_name = format!("{}@depth{}", m.ssym, suffix);
        self.out.market(&diff_name, || {
            json!({"e":"depthUpdate","E":e,"T":tx,"s":sym,"U":first,"u":u,"pu":pu,
                   "b":levels_json(&spec,&bids),"a":levels_json(&spec,&asks)})
            .to_string()
        });
        for n in [5usize, 10, 20] {
            let name = format!("{}@depth{}{}", m.ssym, n, suffix);
            let book = &m.book;
            self.out.market(&name, || {
                let (b, a) = book.top(n);
                json!({"e":"depthUpdate","E":e,"T":tx,"s":sym,"U":first,"u":u,"pu":pu,
                       "b":levels_json(&spec,&b),"a":levels_json(&spec,&a)})
                .to_string()
            });
        }
    }

    pub(super) fn publish_mark(&mut self, i: usize, at: u64, three: bool) {
        let m = &self.mk[i];
        let Some(mark) = m.mark() else { return };
        let spec = m.spec;
        // Funding every 8 h at 00:00, 08:00, 16:00 UTC.
        let next_funding = (at / 28_800_000 + 1) * 28_800_000;
        let mk = |e: u64| {
            json!({"e":"markPriceUpdate","E":e,"s":spec.symbol,"p":spec.fmt_fpx(mark, 6),
                   "i":spec.fmt_fpx(mark * 0.99995, 6),"P":spec.fmt_fpx(mark, 6),"r":"0.00010000",
                   "T":next_funding})
            .to_string()
        };
        self.out
            .market(&format!("{}@markPrice@1s", m.ssym), || mk(at));
        if three {
            self.out.market(&format!("{}@markPrice", m.ssym), || mk(at));
        }
    }

    /// Applies one market event.
    pub fn apply(&mut self, ev: FeedEvent) {
        self.advance(ev.time);
        match ev.kind {
            FeedKind::AggTrade { sym, trade } => self.on_agg_trade(sym, trade),
            FeedKind::Depth {
                sym,
                first,
                last,
                prev,
                tx_time,
                bids,
                asks,
            } => {
                let m = &mut self.mk[sym];
                if !m.has_book {
                    if m.pre_snapshot.len() >= 5000 {
                        m.pre_snapshot.pop_front();
                    }
                    m.pre_snapshot.push_back(FeedEvent {
                        time: ev.time,
                        kind: FeedKind::Depth {
                            sym,
                            first,
                            last,
                            prev,
                            tx_time,
                            bids,
                            asks,
                        },
                    });
                    return;
                }
                self.apply_depth(sym, first, last, tx_time, &bids, &asks);
            }
            FeedKind::Snapshot {
                sym,
                last_id,
                bids,
                asks,
            } => {
                let m = &mut self.mk[sym];
                m.book = Book::default();
                for (p, q) in &bids {
                    m.book.set(true, *p, *q);
                }
                for (p, q) in &asks {
                    m.book.set(false, *p, *q);
                }
                m.book.last_id = last_id;
                m.data_last = last_id;
                m.has_book = true;
                for w in m.windows.iter_mut() {
                    w.reset(last_id);
                }
                let buffered: Vec<FeedEvent> = m.pre_snapshot.drain(..).collect();
                for b in buffered {
                    if let FeedKind::Depth {
                        first,
                        last,
                        tx_time,
                        bids,
                        asks,
                        ..
                    } = b.kind
                    {
                        self.apply_depth(sym, first, last, tx_time, &bids, &asks);
                    }
                }
            }
            FeedKind::BookTicker {
                sym,
                update_id,
                tx_time,
                bid,
                ask,
            } => {
                let m = &mut self.mk[sym];
                m.ticker = Some((bid, ask));
                m.ticker_id = update_id;
                let spec = m.spec;
                let e = ev.time;
                self.out.market(&format!("{}@bookTicker", m.ssym), || {
                    json!({"e":"bookTicker","u":update_id,"s":spec.symbol,"b":spec.fmt_px(bid.0),
                           "B":spec.fmt_qty(bid.1),"a":spec.fmt_px(ask.0),"A":spec.fmt_qty(ask.1),
                           "T":tx_time,"E":e})
                    .to_string()
                });
            }
        }
    }

    pub(super) fn apply_depth(
        &mut self,
        sym: usize,
        first: u64,
        last: u64,
        tx: u64,
        bids: &[Level],
        asks: &[Level],
    ) {
        let m = &mut self.mk[sym];
        if last <= m.data_last {
            return;
        }
        m.data_last = last;
        for (p, q) in bids {
            m.book.set(true, *p, *q);
        }
        for (p, q) in asks {
            m.book.set(false, *p, *q);
        }
        m.book.last_id = m.book.last_id.max(last);
        let id = m.book.last_id;
        for w in m.windows.iter_mut() {
            w.record(first, id, tx, bids, asks);
        }
    }

    pub(super) fn on_agg_trade(&mut self, sym: usize, t: AggTrade) {
        let m = &mut self.mk[sym];
        m.last_price = Some(t.price);
        if m.hist.len() >= HISTORY {
            m.hist.pop_front();
        }
        m.hist.push_back(t.clone());
        m.klines
            .on_trade(t.time, t.price, t.qty, !t.buyer_maker, (t.first, t.last));
        if m.drop_agg > 0 {
            m.drop_agg -= 1;
        } else {
            let spec = m.spec;
            let tt = t.clone();
            self.out.market(&format!("{}@aggTrade", m.ssym), || {
                agg_json(&spec, &tt, true).to_string()
            });
        }
        self.match_resting(sym, &t);
        self.check_algos(sym, false);
    }

    /// The websocket skips the next `n` aggTrades of every symbol (a one-shot gap).
    pub fn set_drop_agg_trades(&mut self, n: u64) {
        for m in self.mk.iter_mut() {
            m.drop_agg = n;
        }
    }

    // ------------------------------------------------------------------ public REST

    /// `GET /fapi/v1/depth`. Restates the best level under a fresh update id so the next
    /// diff event of every depth stream straddles the returned lastUpdateId.
    pub fn depth(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let limit = match param(p, "limit") {
            None => 500,
            Some(l) => match l.parse::<usize>() {
                Ok(n @ (5 | 10 | 20 | 50 | 100 | 500 | 1000)) => n,
                _ => return Err(ApiError::invalid_param("limit")),
            },
        };
        let now = now_ms();
        let m = &mut self.mk[sym];
        if m.has_book {
            let id = m.book.last_id + 1;
            m.book.last_id = id;
            let (bids, asks): (Vec<Level>, Vec<Level>) =
                match (m.book.best_bid(), m.book.best_ask()) {
                    (Some(b), _) => (vec![b], vec![]),
                    (None, Some(a)) => (vec![], vec![a]),
                    _ => (vec![], vec![]),
                };
            let tx = m.windows[0].tx.max(self.data_now);
            for w in m.windows.iter_mut() {
                w.record(id, id, tx, &bids, &asks);
            }
        }
        let spec = m.spec;
        let (b, a) = m.book.top(limit);
        Ok(json!({"lastUpdateId": m.book.last_id, "E": now, "T": now,
                  "bids": levels_json(&spec, &b), "asks": levels_json(&spec, &a)}))
    }

    /// `GET /fapi/v1/aggTrades`.
    pub fn agg_trades(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let limit = match param(p, "limit") {
            None => 500,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => return Err(ApiError::invalid_param("limit")),
            },
        };
        let num = |k: &str| opt_u64(p, k);
        let (from_id, start, end) = (num("fromId")?, num("startTime")?, num("endTime")?);
        if let (Some(s), Some(e)) = (start, end) {
            if e < s || e - s > 3_600_000 {
                return Err(ApiError::new(
                    -1127,
                    "More than 1 hours between startTime and endTime.",
                ));
            }
        }
        let m = &self.mk[sym];
        let spec = m.spec;
        let sel: Vec<&AggTrade> = if let Some(f) = from_id {
            let idx = m.hist.partition_point(|t| t.id < f);
            m.hist
                .iter()
                .skip(idx)
                .filter(|t| end.is_none_or(|e| t.time <= e))
                .take(limit)
                .collect()
        } else if start.is_some() || end.is_some() {
            let s = start.unwrap_or_else(|| end.unwrap_or(0).saturating_sub(3_600_000));
            let e = end.unwrap_or(s + 3_600_000);
            let idx = m.hist.partition_point(|t| t.time < s);
            m.hist
                .iter()
                .skip(idx)
                .take_while(|t| t.time <= e)
                .take(limit)
                .collect()
        } else {
            let n = m.hist.len();
            m.hist.iter().skip(n.saturating_sub(limit)).collect()
        };
        Ok(Value::Array(
            sel.into_iter().map(|t| agg_json(&spec, t, false)).collect(),
        ))
    }

    /// `GET /fapi/v1/ticker/bookTicker`.
    pub fn book_ticker(&self, p: &Params) -> Result<Value, ApiError> {
        let one = |i: usize| {
            let m = &self.mk[i];
            let (b, a) = m.best();
            let (b, a) = (b.unwrap_or((0, 0)), a.unwrap_or((0, 0)));
            json!({"symbol":m.spec.symbol,"bidPrice":m.spec.fmt_px(b.0),"bidQty":m.spec.fmt_qty(b.1),
                   "askPrice":m.spec.fmt_px(a.0),"askQty":m.spec.fmt_qty(a.1),"time":now_ms(),"lastUpdateId":m.book.last_id})
        };
        if param(p, "symbol").is_some() {
            Ok(one(self.sym_param(p)?))
        } else {
            Ok(Value::Array((0..self.mk.len()).map(one).collect()))
        }
    }

    /// `GET /fapi/v1/premiumIndex`.
    pub fn premium_index(&self, p: &Params) -> Result<Value, ApiError> {
        let now = now_ms();
        let one = |i: usize| {
            let m = &self.mk[i];
            let mark = m.mark().unwrap_or(0.0);
            json!({"symbol":m.spec.symbol,"markPrice":m.spec.fmt_fpx(mark, 6),"indexPrice":m.spec.fmt_fpx(mark*0.99995, 6),
                   "estimatedSettlePrice":m.spec.fmt_fpx(mark, 6),"lastFundingRate":"0.00010000","interestRate":"0.00010000",
                   "nextFundingTime":(now / 28_800_000 + 1) * 28_800_000,"time":now})
        };
        if param(p, "symbol").is_some() {
            Ok(one(self.sym_param(p)?))
        } else {
            Ok(Value::Array((0..self.mk.len()).map(one).collect()))
        }
    }
}

/// aggTrade JSON: the stream form (with `e`, `E`, `s`) or the REST form.
pub fn agg_json(spec: &SymbolSpec, t: &AggTrade, stream: bool) -> Value {
    if stream {
        json!({"e":"aggTrade","E":t.event_time,"s":spec.symbol,"a":t.id,"p":spec.fmt_px(t.price),
               "q":spec.fmt_qty(t.qty),"f":t.first,"l":t.last,"T":t.time,"m":t.buyer_maker})
    } else {
        json!({"a":t.id,"p":spec.fmt_px(t.price),"q":spec.fmt_qty(t.qty),"f":t.first,"l":t.last,"T":t.time,"m":t.buyer_maker})
    }
}

#[cfg(test)]
mod tests;
