//! The exchange core: books and tapes per symbol, the depth-stream chains, the account,
//! orders, algo orders and the matching of both against the tape.
//!
//! It is plain synchronous code behind one mutex; REST handlers and the feed task call
//! into it and it publishes to the websocket fan-out while still holding the lock, so
//! every stream sees events in the order they happened.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};

use crate::api_error::ApiError;
use crate::book::Book;
use crate::bus::Outbox;
use crate::config::MockConfig;
use crate::feed::{AggTrade, FeedEvent, FeedKind, Level};
use crate::spec::{fmt_units, parse_request_units, DecimalError, SymbolSpec};

/// Request parameters after merging query string and form body.
pub type Params = HashMap<String, String>;

/// Recent aggTrades kept per symbol for `/fapi/v1/aggTrades`.
const HISTORY: usize = 200_000;
/// MAX_NUM_ORDERS filter (normal and algo orders together).
pub const MAX_NUM_ORDERS: usize = 200;
/// MAX_NUM_ALGO_ORDERS filter.
pub const MAX_NUM_ALGO_ORDERS: usize = 10;
/// PERCENT_PRICE multipliers.
const PCT_UP: f64 = 1.05;
const PCT_DOWN: f64 = 0.95;

fn param<'a>(p: &'a Params, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|s| !s.is_empty())
}

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
    fn parse(s: Option<&str>) -> Result<Side, ApiError> {
        match s {
            None => Err(ApiError::mandatory("side")),
            Some("BUY") => Ok(Side::Buy),
            Some("SELL") => Ok(Side::Sell),
            Some(_) => Err(ApiError::new(-1117, "Invalid side.")),
        }
    }
}

/// Order status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Done, fully filled.
    Filled,
    /// Cancelled by the user.
    Canceled,
    /// Expired (IOC/market remainder, reduce-only with no position left).
    Expired,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::PartiallyFilled => "PARTIALLY_FILLED",
            Status::Filled => "FILLED",
            Status::Canceled => "CANCELED",
            Status::Expired => "EXPIRED",
        }
    }
    fn is_open(self) -> bool {
        matches!(self, Status::New | Status::PartiallyFilled)
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancel.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post only.
    Gtx,
}

impl Tif {
    fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Fok => "FOK",
            Tif::Gtx => "GTX",
        }
    }
}

/// One order the mock accepted.
#[derive(Debug, Clone)]
pub struct Order {
    /// Exchange id.
    pub id: u64,
    /// Client id.
    pub client_id: String,
    /// Symbol index.
    pub sym: usize,
    /// Side.
    pub side: Side,
    /// `true` = MARKET, else LIMIT.
    pub market: bool,
    /// Type the user sent (`STOP_MARKET` for a triggered algo order).
    pub orig_type: &'static str,
    /// Time in force.
    pub tif: Tif,
    /// Limit price units (0 for market).
    pub price: i64,
    /// Quantity units.
    pub qty: i64,
    /// Filled quantity units.
    pub executed: i64,
    /// Filled notional.
    pub cum_quote: f64,
    /// Status.
    pub status: Status,
    /// reduceOnly flag.
    pub reduce_only: bool,
    /// closePosition (triggered algo orders).
    pub close_position: bool,
    /// Trigger price units of the algo order it came from.
    pub stop_price: i64,
    /// Creation time (ms).
    pub time: u64,
    /// Last change (ms).
    pub update_time: u64,
    /// Book quantity ahead of this order at its price (queue model).
    queue_ahead: i64,
}

#[derive(Debug, Clone)]
struct Algo {
    id: u64,
    client_id: String,
    sym: usize,
    side: Side,
    otype: &'static str,
    qty: i64,
    trigger: i64,
    price: i64,
    mark_price: bool,
    reduce_only: bool,
    close_position: bool,
    price_protect: bool,
    tif: Tif,
    status: &'static str,
    create: u64,
    update: u64,
    trigger_time: u64,
    order_id: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct Position {
    amt: i64,
    entry: f64,
    leverage: u32,
    isolated: bool,
    cum_realized: f64,
    update_time: u64,
}

#[derive(Debug)]
struct DepthWindow {
    ms: u64,
    suffix: &'static str,
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
    first: Option<u64>,
    last: u64,
    prev_u: u64,
    tx: u64,
    boundary: u64,
}

impl DepthWindow {
    fn new(ms: u64, suffix: &'static str) -> Self {
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
    fn record(&mut self, first: u64, last: u64, tx: u64, bids: &[Level], asks: &[Level]) {
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
    fn reset(&mut self, id: u64) {
        self.bids.clear();
        self.asks.clear();
        self.first = None;
        self.last = id;
        self.prev_u = id;
    }
}

#[derive(Debug)]
struct Market {
    spec: SymbolSpec,
    ssym: String,
    book: Book,
    has_book: bool,
    /// Highest id of a recorded diff applied (touch ids excluded): stale-diff guard.
    data_last: u64,
    pre_snapshot: VecDeque<FeedEvent>,
    ticker: Option<(Level, Level)>,
    last_price: Option<i64>,
    hist: VecDeque<AggTrade>,
    windows: [DepthWindow; 3],
    /// aggTrades still to be left off the websocket (REST history keeps them).
    drop_agg: u64,
}

impl Market {
    fn best(&self) -> (Option<Level>, Option<Level>) {
        if self.has_book && self.book.is_two_sided() {
            (self.book.best_bid(), self.book.best_ask())
        } else if let Some((b, a)) = self.ticker {
            (Some(b), Some(a))
        } else {
            (None, None)
        }
    }
    /// Mark price: mid of the touch, else last trade.
    fn mark(&self) -> Option<f64> {
        match self.best() {
            (Some(b), Some(a)) => Some(self.spec.px(b.0 + a.0) / 2.0),
            _ => self.last_price.map(|p| self.spec.px(p)),
        }
    }
}

/// The whole exchange state.
#[derive(Debug)]
pub struct Engine {
    mk: Vec<Market>,
    pos: Vec<Position>,
    wallet: f64,
    orders: Vec<Order>,
    by_id: HashMap<u64, usize>,
    client_ids: HashSet<String>,
    algos: Vec<Algo>,
    next_order_id: u64,
    next_algo_id: u64,
    next_trade_id: u64,
    data_now: u64,
    next_mark_1s: u64,
    next_mark_3s: u64,
    taker_fee: f64,
    maker_fee: f64,
    slippage_bps: f64,
    dual_side: bool,
    rng: ChaCha8Rng,
    out: Outbox,
    /// Replay has delivered its last event.
    pub replay_done: bool,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn levels_json(spec: &SymbolSpec, lv: &[(i64, i64)]) -> Value {
    Value::Array(
        lv.iter()
            .map(|(p, q)| json!([spec.fmt_px(*p), spec.fmt_qty(*q)]))
            .collect(),
    )
}

fn f8(x: f64) -> String {
    format!("{x:.8}")
}

impl Engine {
    /// A fresh exchange over `specs`.
    pub fn new(specs: &[SymbolSpec], cfg: &MockConfig, out: Outbox) -> Self {
        let mk = specs
            .iter()
            .map(|s| Market {
                spec: *s,
                ssym: s.stream_sym(),
                book: Book::default(),
                has_book: false,
                data_last: 0,
                pre_snapshot: VecDeque::new(),
                ticker: None,
                last_price: None,
                hist: VecDeque::new(),
                windows: [
                    DepthWindow::new(100, "@100ms"),
                    DepthWindow::new(250, ""),
                    DepthWindow::new(500, "@500ms"),
                ],
                drop_agg: 0,
            })
            .collect();
        let pos = specs
            .iter()
            .map(|_| Position {
                leverage: cfg.default_leverage.max(1),
                ..Position::default()
            })
            .collect();
        Engine {
            mk,
            pos,
            wallet: cfg.starting_balance,
            orders: Vec::new(),
            by_id: HashMap::new(),
            client_ids: HashSet::new(),
            algos: Vec::new(),
            // Beyond 2^53 on purpose: clients must parse order ids as integers.
            next_order_id: 8_389_765_500_000_000_000,
            next_algo_id: 3_000_000_000,
            next_trade_id: 900_000_000,
            data_now: 0,
            next_mark_1s: 0,
            next_mark_3s: 0,
            taker_fee: cfg.taker_fee,
            maker_fee: cfg.maker_fee,
            slippage_bps: cfg.slippage_bps,
            dual_side: false,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0dde_c0de),
            out,
            replay_done: false,
        }
    }

    /// Symbol index by REST name.
    pub fn sym_index(&self, name: &str) -> Option<usize> {
        self.mk.iter().position(|m| m.spec.symbol == name)
    }

    fn sym_param(&self, p: &Params) -> Result<usize, ApiError> {
        let s = param(p, "symbol").ok_or_else(|| ApiError::mandatory("symbol"))?;
        self.sym_index(s).ok_or_else(ApiError::invalid_symbol)
    }

    /// Specs in index order.
    pub fn specs(&self) -> Vec<SymbolSpec> {
        self.mk.iter().map(|m| m.spec).collect()
    }

    /// Current data-clock time.
    pub fn data_now(&self) -> u64 {
        self.data_now
    }

    // ------------------------------------------------------------------ market feed

    /// Moves the data clock forward, closing depth windows and publishing mark prices.
    pub fn advance(&mut self, t: u64) {
        if t < self.data_now {
            return;
        }
        self.data_now = t;
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
        if t >= self.next_mark_1s {
            let at = self.next_mark_1s;
            self.next_mark_1s = (t / 1000 + 1) * 1000;
            let three = t >= self.next_mark_3s;
            if three {
                self.next_mark_3s = (t / 3000 + 1) * 3000;
            }
            for i in 0..self.mk.len() {
                self.publish_mark(i, at, three);
            }
            self.check_algos_all(true);
        }
    }

    fn flush_window(&mut self, i: usize, w: usize, t: u64) {
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

    fn publish_mark(&mut self, i: usize, at: u64, three: bool) {
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

    fn apply_depth(
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

    fn on_agg_trade(&mut self, sym: usize, t: AggTrade) {
        let m = &mut self.mk[sym];
        m.last_price = Some(t.price);
        if m.hist.len() >= HISTORY {
            m.hist.pop_front();
        }
        m.hist.push_back(t.clone());
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
        let num = |k: &str| -> Result<Option<u64>, ApiError> {
            match param(p, k) {
                None => Ok(None),
                Some(v) => v
                    .parse::<u64>()
                    .map(Some)
                    .map_err(|_| ApiError::mandatory(k)),
            }
        };
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

    // ------------------------------------------------------------------ accounting

    fn mark_or_last(&self, sym: usize) -> f64 {
        self.mk[sym].mark().unwrap_or(0.0)
    }

    fn unrealized(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        if p.amt == 0 {
            return 0.0;
        }
        let spec = self.mk[sym].spec;
        (self.mark_or_last(sym) - p.entry) * spec.qty(p.amt)
    }

    fn position_im(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        spec.qty(p.amt.abs()) * self.mark_or_last(sym) / p.leverage.max(1) as f64
    }

    fn position_mm(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        let notional = spec.qty(p.amt.abs()) * self.mark_or_last(sym);
        notional * spec.mmr(notional)
    }

    fn order_im(&self, o: &Order) -> f64 {
        if o.reduce_only || !o.status.is_open() {
            return 0.0;
        }
        let spec = self.mk[o.sym].spec;
        spec.qty(o.qty - o.executed) * spec.px(o.price) / self.pos[o.sym].leverage.max(1) as f64
    }

    fn open_orders_im(&self) -> f64 {
        self.orders
            .iter()
            .filter(|o| o.status.is_open())
            .map(|o| self.order_im(o))
            .sum()
    }

    fn total_unrealized(&self) -> f64 {
        (0..self.mk.len()).map(|i| self.unrealized(i)).sum()
    }

    fn available(&self) -> f64 {
        let im: f64 = (0..self.mk.len()).map(|i| self.position_im(i)).sum();
        self.wallet + self.total_unrealized() - im - self.open_orders_im()
    }

    // ------------------------------------------------------------------ orders

    fn alloc_order_id(&mut self) -> u64 {
        self.next_order_id += 1 + self.rng.gen_range(0..7);
        self.next_order_id
    }

    fn gen_client_id(&mut self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        loop {
            let s: String = (0..22)
                .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())] as char)
                .collect();
            if !self.client_ids.contains(&s) {
                return s;
            }
        }
    }

    /// A random 64-character listenKey.
    pub fn gen_listen_key(&mut self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..64)
            .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())] as char)
            .collect()
    }

    fn parse_qty(spec: &SymbolSpec, s: Option<&str>, market: bool) -> Result<i64, ApiError> {
        let s = s.ok_or_else(|| ApiError::mandatory("quantity"))?;
        let q = parse_request_units(s, spec.qty_dp).map_err(|e| match e {
            DecimalError::Precision => ApiError::precision(),
            DecimalError::Malformed => ApiError::mandatory("quantity"),
        })?;
        if q <= 0 {
            return Err(ApiError::new(-4003, "Quantity less than or equal to zero."));
        }
        if q < spec.min_qty {
            return Err(ApiError::new(-4004, "Quantity less than min qty."));
        }
        let max = if market {
            spec.market_max_qty
        } else {
            spec.max_qty
        };
        if q > max {
            return Err(ApiError::new(-4005, "Quantity greater than max qty."));
        }
        if (q - spec.min_qty) % spec.step != 0 {
            return Err(ApiError::new(-4023, "Qty not increased by step size."));
        }
        Ok(q)
    }

    fn parse_price(spec: &SymbolSpec, s: Option<&str>, name: &str) -> Result<i64, ApiError> {
        let s = s.ok_or_else(|| ApiError::mandatory(name))?;
        let p = parse_request_units(s, spec.price_dp).map_err(|e| match e {
            DecimalError::Precision => ApiError::precision(),
            DecimalError::Malformed => ApiError::mandatory(name),
        })?;
        if p <= 0 {
            return Err(ApiError::new(-4001, "Price less than 0."));
        }
        if p < spec.tick {
            return Err(ApiError::new(-4013, "Price less than min price."));
        }
        if p > 100_000_000 * 10_i64.pow(spec.price_dp) {
            return Err(ApiError::new(-4002, "Price greater than max price."));
        }
        if (p - spec.tick) % spec.tick != 0 {
            return Err(ApiError::new(-4014, "Price not increased by tick size."));
        }
        Ok(p)
    }

    fn parse_bool(p: &Params, k: &str) -> Result<bool, ApiError> {
        match param(p, k) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ApiError::invalid_param(k)),
        }
    }

    fn check_client_id(&self, id: &str) -> Result<(), ApiError> {
        let ok = !id.is_empty()
            && id.len() <= 36
            && id.bytes().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'/' | b'_' | b'-')
            });
        if id.len() > 36 {
            return Err(ApiError::new(-4015, "Client order id is not valid."));
        }
        if !ok {
            return Err(ApiError::new(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."));
        }
        if self.client_ids.contains(id) {
            return Err(ApiError::new(-4116, "ClientOrderId is duplicated."));
        }
        Ok(())
    }

    fn open_count(&self) -> usize {
        self.orders.iter().filter(|o| o.status.is_open()).count()
            + self.algos.iter().filter(|a| a.status == "NEW").count()
    }

    /// `POST /fapi/v1/order` (also each item of a batch). Returns the ACK view (the order
    /// as accepted) and the RESULT view (after immediate matching).
    pub fn new_order(&mut self, p: &Params) -> Result<(Value, Value), ApiError> {
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let side = Side::parse(param(p, "side"))?;
        let otype = param(p, "type").ok_or_else(|| ApiError::mandatory("type"))?;
        let market = match otype {
            "MARKET" => true,
            "LIMIT" => false,
            "STOP" | "STOP_MARKET" | "TAKE_PROFIT" | "TAKE_PROFIT_MARKET" | "TRAILING_STOP_MARKET" => {
                return Err(ApiError::new(-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."))
            }
            _ => return Err(ApiError::new(-1116, "Invalid orderType.")),
        };
        match param(p, "positionSide") {
            None | Some("BOTH") => {}
            Some("LONG" | "SHORT") => {
                return Err(ApiError::new(
                    -4061,
                    "Order's position side does not match user's setting.",
                ))
            }
            Some(_) => return Err(ApiError::invalid_param("positionSide")),
        }
        if param(p, "priceMatch").is_some_and(|m| m != "NONE") {
            return Err(ApiError::new(
                -1130,
                "priceMatch is not supported by the mock exchange.",
            ));
        }
        let qty = Self::parse_qty(&spec, param(p, "quantity"), market)?;
        let (price, tif) = if market {
            (0, Tif::Gtc)
        } else {
            let tif = match param(p, "timeInForce") {
                None => return Err(ApiError::mandatory("timeInForce")),
                Some("GTC") => Tif::Gtc,
                Some("IOC") => Tif::Ioc,
                Some("FOK") => Tif::Fok,
                Some("GTX") => Tif::Gtx,
                Some("GTD") => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
                Some(_) => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
            };
            (Self::parse_price(&spec, param(p, "price"), "price")?, tif)
        };
        let reduce_only = Self::parse_bool(p, "reduceOnly")?;
        let client_id = match param(p, "newClientOrderId") {
            Some(c) => {
                self.check_client_id(c)?;
                c.to_string()
            }
            None => self.gen_client_id(),
        };
        self.submit(
            sym,
            side,
            market,
            "",
            tif,
            price,
            qty,
            reduce_only,
            false,
            0,
            client_id,
        )
    }

    fn est_price(&self, sym: usize, side: Side, price: i64) -> f64 {
        let m = &self.mk[sym];
        if price > 0 {
            return m.spec.px(price);
        }
        match (side, m.best()) {
            (Side::Buy, (_, Some(a))) => m.spec.px(a.0),
            (Side::Sell, (Some(b), _)) => m.spec.px(b.0),
            _ => m.mark().unwrap_or(0.0),
        }
    }

    /// Validates and runs an order of either origin (REST or a triggered algo order).
    #[allow(clippy::too_many_arguments)]
    fn submit(
        &mut self,
        sym: usize,
        side: Side,
        market: bool,
        orig_type: &'static str,
        tif: Tif,
        price: i64,
        qty: i64,
        reduce_only: bool,
        close_position: bool,
        stop_price: i64,
        client_id: String,
    ) -> Result<(Value, Value), ApiError> {
        let spec = self.mk[sym].spec;
        if self.open_count() >= MAX_NUM_ORDERS && !market {
            return Err(ApiError::new(-2025, "Reach max open order limit."));
        }
        let est = self.est_price(sym, side, price);
        let mark = self.mk[sym].mark();
        let notional = est * spec.qty(qty);
        if !reduce_only && notional < spec.min_notional {
            return Err(ApiError::new(
                -4164,
                format!("Order's notional must be no smaller than {:.1} (unless you choose reduce only).", spec.min_notional),
            ));
        }
        let pos_amt = self.pos[sym].amt;
        if reduce_only && (pos_amt == 0 || pos_amt.signum() == side.sign()) {
            return Err(ApiError::new(-2022, "ReduceOnly Order is rejected."));
        }
        if !market {
            if let Some(mark) = mark {
                let px = spec.px(price);
                if side == Side::Buy && px > mark * PCT_UP {
                    return Err(ApiError::new(
                        -4016,
                        format!(
                            "Limit price can't be higher than {}.",
                            spec.fmt_fpx(mark * PCT_UP, 0)
                        ),
                    ));
                }
                if side == Side::Sell && px < mark * PCT_DOWN {
                    return Err(ApiError::new(
                        -4024,
                        format!(
                            "Limit price can't be lower than {}.",
                            spec.fmt_fpx(mark * PCT_DOWN, 0)
                        ),
                    ));
                }
            }
        }
        let (bid, ask) = self.mk[sym].best();
        let crosses = match side {
            Side::Buy => market || ask.is_some_and(|a| price >= a.0),
            Side::Sell => market || bid.is_some_and(|b| price <= b.0),
        };
        if !market && tif == Tif::Gtx && crosses {
            return Err(ApiError::new(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
            ));
        }
        if !market && tif == Tif::Fok && self.fillable(sym, side, price) < qty {
            return Err(ApiError::new(
                -5021,
                "Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history",
            ));
        }
        // Margin: only the part that opens or adds exposure needs initial margin.
        let opposite = pos_amt != 0 && pos_amt.signum() != side.sign();
        let increase = if opposite {
            (qty - pos_amt.abs()).max(0)
        } else {
            qty
        };
        if !reduce_only && increase > 0 {
            let lev = self.pos[sym].leverage.max(1) as f64;
            let required = est * spec.qty(increase) / lev + est * spec.qty(qty) * self.taker_fee;
            if required > self.available() + 1e-9 {
                return Err(ApiError::new(-2019, "Margin is insufficient."));
            }
            let new_notional = est * spec.qty((pos_amt + side.sign() * qty).abs());
            if new_notional > spec.max_notional(self.pos[sym].leverage) {
                return Err(ApiError::new(
                    -2027,
                    "Exceeded the maximum allowable position at current leverage.",
                ));
            }
        }
        let now = now_ms();
        let id = self.alloc_order_id();
        self.client_ids.insert(client_id.clone());
        let order = Order {
            id,
            client_id,
            sym,
            side,
            market,
            orig_type: if orig_type.is_empty() {
                if market {
                    "MARKET"
                } else {
                    "LIMIT"
                }
            } else {
                orig_type
            },
            tif,
            price,
            qty,
            executed: 0,
            cum_quote: 0.0,
            status: Status::New,
            reduce_only,
            close_position,
            stop_price,
            time: now,
            update_time: now,
            queue_ahead: 0,
        };
        let idx = self.orders.len();
        self.by_id.insert(id, idx);
        self.orders.push(order);
        let ack = self.order_json(idx, false);
        self.emit_order(idx, "NEW", None);
        // Immediate (taker) part.
        if crosses {
            self.take_liquidity(idx);
        }
        let o = &self.orders[idx];
        if o.status.is_open() {
            if market || o.tif == Tif::Ioc || o.tif == Tif::Fok {
                let reason = if market { "9" } else { "2" };
                self.finish(idx, Status::Expired, reason);
            } else {
                let q = self.mk[sym].book.qty_at(side == Side::Buy, price);
                self.orders[idx].queue_ahead = q;
            }
        }
        let result = self.order_json(idx, false);
        Ok((ack, result))
    }

    /// Quantity available at `price` or better on the opposite side.
    fn fillable(&self, sym: usize, side: Side, price: i64) -> i64 {
        let m = &self.mk[sym];
        if m.has_book && m.book.is_two_sided() {
            match side {
                Side::Buy => m.book.asks.range(..=price).map(|(_, q)| *q).sum(),
                Side::Sell => m.book.bids.range(price..).map(|(_, q)| *q).sum(),
            }
        } else {
            match (side, m.best()) {
                (Side::Buy, (_, Some(a))) if a.0 <= price => i64::MAX,
                (Side::Sell, (Some(b), _)) if b.0 >= price => i64::MAX,
                _ => 0,
            }
        }
    }

    fn slipped(&self, spec: &SymbolSpec, side: Side, px: i64) -> i64 {
        if self.slippage_bps <= 0.0 {
            return px;
        }
        let f = 1.0 + side.sign() as f64 * self.slippage_bps / 10_000.0;
        spec.px_units(spec.px(px) * f)
    }

    /// Walks the opposite side of the book (up to the limit price for limit orders).
    /// The mock's own fills do not consume the recorded/synthetic book.
    fn take_liquidity(&mut self, idx: usize) {
        let o = self.orders[idx].clone();
        let m = &self.mk[o.sym];
        let spec = m.spec;
        let mut levels: Vec<Level> = Vec::new();
        if m.has_book && m.book.is_two_sided() {
            match o.side {
                Side::Buy => levels.extend(m.book.asks.iter().take(1000).map(|(p, q)| (*p, *q))),
                Side::Sell => {
                    levels.extend(m.book.bids.iter().rev().take(1000).map(|(p, q)| (*p, *q)))
                }
            }
        } else {
            match (o.side, m.best()) {
                (Side::Buy, (_, Some(a))) => levels.push((a.0, i64::MAX)),
                (Side::Sell, (Some(b), _)) => levels.push((b.0, i64::MAX)),
                _ => {}
            }
        }
        let mut remaining = o.qty - o.executed;
        for (px, avail) in levels {
            if remaining <= 0 || !self.orders[idx].status.is_open() {
                break;
            }
            if !o.market
                && ((o.side == Side::Buy && px > o.price) || (o.side == Side::Sell && px < o.price))
            {
                break;
            }
            let q = remaining.min(avail);
            let fill_px = if o.market {
                self.slipped(&spec, o.side, px)
            } else {
                px
            };
            let done = self.fill(idx, q, fill_px, false);
            remaining -= done;
            if done == 0 {
                break;
            }
        }
    }

    /// Executes `qty` of order `idx` at `px`; returns what was executed (reduce-only
    /// orders are capped at the position and expire when it is gone).
    fn fill(&mut self, idx: usize, mut qty: i64, px: i64, maker: bool) -> i64 {
        let (sym, side, reduce_only) = {
            let o = &self.orders[idx];
            (o.sym, o.side, o.reduce_only)
        };
        let spec = self.mk[sym].spec;
        let pos_amt = self.pos[sym].amt;
        if reduce_only {
            let closable = if pos_amt != 0 && pos_amt.signum() != side.sign() {
                pos_amt.abs()
            } else {
                0
            };
            qty = qty.min(closable);
            if qty == 0 {
                self.finish(idx, Status::Expired, "0");
                return 0;
            }
        }
        let now = now_ms();
        let price = spec.px(px);
        let qf = spec.qty(qty);
        let notional = price * qf;
        let fee = notional
            * if maker {
                self.maker_fee
            } else {
                self.taker_fee
            };
        let signed = side.sign() * qty;
        let pos = &mut self.pos[sym];
        let mut realized = 0.0;
        if pos.amt == 0 || pos.amt.signum() == signed.signum() {
            let old = spec.qty(pos.amt.abs());
            pos.entry = (pos.entry * old + price * qf) / (old + qf);
            pos.amt += signed;
        } else {
            let close = qty.min(pos.amt.abs());
            realized = (price - pos.entry) * spec.qty(close) * pos.amt.signum() as f64;
            let before = pos.amt;
            pos.amt += signed;
            if pos.amt == 0 {
                pos.entry = 0.0;
            } else if pos.amt.signum() != before.signum() {
                pos.entry = price;
            }
        }
        pos.cum_realized += realized;
        pos.update_time = now;
        self.wallet += realized - fee;
        self.next_trade_id += 1;
        let trade_id = self.next_trade_id;
        let o = &mut self.orders[idx];
        o.executed += qty;
        o.cum_quote += notional;
        o.update_time = now;
        o.status = if o.executed >= o.qty {
            Status::Filled
        } else {
            Status::PartiallyFilled
        };
        self.emit_order(
            idx,
            "TRADE",
            Some(Fill {
                qty,
                px,
                fee,
                realized,
                maker,
                trade_id,
            }),
        );
        self.emit_account(sym, now);
        qty
    }

    fn finish(&mut self, idx: usize, status: Status, reason: &str) {
        let o = &mut self.orders[idx];
        if !o.status.is_open() {
            return;
        }
        o.status = status;
        o.update_time = now_ms();
        let x = if status == Status::Canceled {
            "CANCELED"
        } else {
            "EXPIRED"
        };
        let er = reason.to_string();
        self.emit_order_er(idx, x, None, &er);
    }

    /// Fills resting limit orders that the tape trades through. An order also fills at
    /// its own price once the quantity that was queued ahead of it has traded.
    fn match_resting(&mut self, sym: usize, t: &AggTrade) {
        let cand: Vec<usize> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.sym == sym && !o.market && o.status.is_open())
            .map(|(i, _)| i)
            .collect();
        for idx in cand {
            let o = &self.orders[idx];
            let remaining = o.qty - o.executed;
            // A buy rests on the bid side: only a selling taker (m=true) trades with it.
            let through = match o.side {
                Side::Buy => t.price < o.price,
                Side::Sell => t.price > o.price,
            };
            let at_price = t.price == o.price && (o.side == Side::Buy) == t.buyer_maker;
            let q = if through {
                remaining
            } else if at_price {
                let o = &mut self.orders[idx];
                if o.queue_ahead >= t.qty {
                    o.queue_ahead -= t.qty;
                    0
                } else {
                    let avail = t.qty - o.queue_ahead;
                    o.queue_ahead = 0;
                    remaining.min(avail)
                }
            } else {
                0
            };
            if q > 0 {
                let px = self.orders[idx].price;
                self.fill(idx, q, px, true);
            }
        }
    }

    /// `DELETE /fapi/v1/order`.
    pub fn cancel(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::unknown_order)?;
        if !self.orders[idx].status.is_open() {
            return Err(ApiError::unknown_order());
        }
        self.finish(idx, Status::Canceled, "0");
        Ok(self.order_json(idx, false))
    }

    /// `DELETE /fapi/v1/allOpenOrders`.
    pub fn cancel_all(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let open: Vec<usize> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.sym == sym && o.status.is_open())
            .map(|(i, _)| i)
            .collect();
        for idx in open {
            self.finish(idx, Status::Canceled, "0");
        }
        Ok(json!({"code": 200, "msg": "The operation of cancel all open order is done."}))
    }

    fn find_order(&self, sym: usize, p: &Params) -> Result<Option<usize>, ApiError> {
        if let Some(id) = param(p, "orderId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("orderId"))?;
            Ok(self
                .by_id
                .get(&id)
                .copied()
                .filter(|i| self.orders[*i].sym == sym))
        } else if let Some(c) = param(p, "origClientOrderId") {
            Ok(self
                .orders
                .iter()
                .rposition(|o| o.sym == sym && o.client_id == c))
        } else {
            Err(ApiError::new(
                -1102,
                "Either orderId or origClientOrderId must be sent.",
            ))
        }
    }

    /// `GET /fapi/v1/order`.
    pub fn query(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::no_such_order)?;
        Ok(self.order_json(idx, true))
    }

    /// `GET /fapi/v1/openOrder`.
    pub fn query_open(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::no_such_order)?;
        if !self.orders[idx].status.is_open() {
            return Err(ApiError::no_such_order());
        }
        Ok(self.order_json(idx, true))
    }

    /// `GET /fapi/v1/openOrders`.
    pub fn open_orders(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        Ok(Value::Array(
            self.orders
                .iter()
                .enumerate()
                .filter(|(_, o)| o.status.is_open() && sym.is_none_or(|s| o.sym == s))
                .map(|(i, _)| self.order_json(i, true))
                .collect(),
        ))
    }

    /// Every order the mock accepted (`GET /mock/orders`).
    pub fn all_orders(&self) -> Value {
        Value::Array(
            (0..self.orders.len())
                .map(|i| self.order_json(i, true))
                .collect(),
        )
    }

    /// Copies of every accepted order (test hook).
    pub fn orders(&self) -> Vec<Order> {
        self.orders.clone()
    }

    fn order_json(&self, idx: usize, query: bool) -> Value {
        let o = &self.orders[idx];
        let spec = self.mk[o.sym].spec;
        let avg = if o.executed > 0 {
            o.cum_quote / spec.qty(o.executed)
        } else {
            0.0
        };
        let mut v = json!({
            "orderId": o.id, "symbol": spec.symbol, "status": o.status.as_str(), "clientOrderId": o.client_id,
            "price": spec.fmt_px(o.price), "avgPrice": spec.fmt_fpx(avg, 3), "origQty": spec.fmt_qty(o.qty),
            "executedQty": spec.fmt_qty(o.executed), "cumQuote": format!("{:.*}", (spec.price_dp + spec.qty_dp) as usize, o.cum_quote),
            "timeInForce": o.tif.as_str(), "type": if o.market { "MARKET" } else { "LIMIT" }, "reduceOnly": o.reduce_only,
            "closePosition": o.close_position, "side": o.side.as_str(), "positionSide": "BOTH",
            "stopPrice": spec.fmt_px(o.stop_price), "workingType": "CONTRACT_PRICE", "priceProtect": false,
            "origType": o.orig_type, "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0, "updateTime": o.update_time,
        });
        if let Some(obj) = v.as_object_mut() {
            if query {
                obj.insert("time".into(), json!(o.time));
            } else {
                obj.insert("cumQty".into(), json!(spec.fmt_qty(o.executed)));
            }
        }
        v
    }

    fn emit_order(&mut self, idx: usize, x: &str, fill: Option<Fill>) {
        self.emit_order_er(idx, x, fill, "0");
    }

    fn emit_order_er(&mut self, idx: usize, x: &str, fill: Option<Fill>, er: &str) {
        let o = &self.orders[idx];
        let spec = self.mk[o.sym].spec;
        let now = now_ms();
        let avg = if o.executed > 0 {
            o.cum_quote / spec.qty(o.executed)
        } else {
            0.0
        };
        let mut body = json!({
            "s": spec.symbol, "c": o.client_id, "S": o.side.as_str(), "o": if o.market { "MARKET" } else { "LIMIT" },
            "f": o.tif.as_str(), "q": spec.fmt_qty(o.qty), "p": spec.fmt_px(o.price), "ap": spec.fmt_fpx(avg, 3),
            "sp": spec.fmt_px(o.stop_price), "x": x, "X": o.status.as_str(), "i": o.id,
            "l": "0", "z": spec.fmt_qty(o.executed), "L": "0", "T": now, "t": 0, "b": "0", "a": "0", "m": false,
            "R": o.reduce_only, "wt": "CONTRACT_PRICE", "ot": o.orig_type, "ps": "BOTH", "cp": o.close_position,
            "rp": "0", "pP": false, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0, "er": er,
        });
        if let (Some(f), Some(obj)) = (fill, body.as_object_mut()) {
            obj.insert("l".into(), json!(spec.fmt_qty(f.qty)));
            obj.insert("L".into(), json!(spec.fmt_px(f.px)));
            obj.insert("N".into(), json!("USDT"));
            obj.insert("n".into(), json!(f8(f.fee)));
            obj.insert("t".into(), json!(f.trade_id));
            obj.insert("m".into(), json!(f.maker));
            obj.insert("rp".into(), json!(f8(f.realized)));
        }
        let ev = json!({"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": body});
        self.out.user("ORDER_TRADE_UPDATE", ev.to_string());
    }

    fn position_update_json(&self, sym: usize) -> Value {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        let bep = if p.amt > 0 {
            p.entry * (1.0 + self.taker_fee)
        } else {
            p.entry * (1.0 - self.taker_fee)
        };
        let iw = if p.isolated {
            spec.qty(p.amt.abs()) * p.entry / p.leverage.max(1) as f64
        } else {
            0.0
        };
        json!({"s": spec.symbol, "pa": spec.fmt_qty(p.amt), "ep": spec.fmt_fpx(p.entry, 5),
               "bep": spec.fmt_fpx(if p.amt == 0 { 0.0 } else { bep }, 5), "cr": f8(p.cum_realized),
               "up": f8(self.unrealized(sym)), "mt": if p.isolated { "isolated" } else { "cross" }, "iw": f8(iw), "ps": "BOTH"})
    }

    fn emit_account(&mut self, sym: usize, now: u64) {
        let cw = self.wallet;
        let ev = json!({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER",
            "B": [{"a": "USDT", "wb": f8(self.wallet), "cw": f8(cw), "bc": "0"}],
            "P": [self.position_update_json(sym)]}});
        self.out.user("ACCOUNT_UPDATE", ev.to_string());
    }

    // ------------------------------------------------------------------ settings

    /// `POST /fapi/v1/leverage`.
    pub fn set_leverage(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let lev_s = param(p, "leverage").ok_or_else(|| ApiError::mandatory("leverage"))?;
        let lev: u32 = lev_s.parse().map_err(|_| ApiError::mandatory("leverage"))?;
        if lev == 0 || lev > spec.max_leverage {
            return Err(ApiError::new(-4028, format!("Leverage {lev} is not valid")));
        }
        let notional = spec.qty(self.pos[sym].amt.abs()) * self.mark_or_last(sym);
        if notional > spec.max_notional(lev) {
            return Err(ApiError::new(
                -2027,
                "Exceeded the maximum allowable position at current leverage.",
            ));
        }
        self.pos[sym].leverage = lev;
        Ok(
            json!({"leverage": lev, "maxNotionalValue": format!("{}", spec.max_notional(lev) as u64), "symbol": spec.symbol}),
        )
    }

    /// `GET /fapi/v1/leverageBracket`.
    pub fn leverage_bracket(&self, p: &Params) -> Result<Value, ApiError> {
        let one = |i: usize| {
            let spec = self.mk[i].spec;
            let mut floor = 0.0;
            let mut cum = 0.0;
            let mut prev_mmr = 0.0;
            let br: Vec<Value> = spec
                .brackets()
                .iter()
                .enumerate()
                .map(|(k, (cap, lev, mmr))| {
                    cum += floor * (mmr - prev_mmr);
                    prev_mmr = *mmr;
                    let v = json!({"bracket": k + 1, "initialLeverage": lev, "notionalCap": *cap as u64,
                                   "notionalFloor": floor as u64, "maintMarginRatio": mmr, "cum": cum});
                    floor = *cap;
                    v
                })
                .collect();
            json!({"symbol": spec.symbol, "notionalCoef": 1.0, "brackets": br})
        };
        if param(p, "symbol").is_some() {
            Ok(one(self.sym_param(p)?))
        } else {
            Ok(Value::Array((0..self.mk.len()).map(one).collect()))
        }
    }

    /// `POST /fapi/v1/marginType`.
    pub fn set_margin_type(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let isolated = match param(p, "marginType") {
            None => return Err(ApiError::mandatory("marginType")),
            Some("ISOLATED") => true,
            Some("CROSSED") => false,
            Some(_) => return Err(ApiError::invalid_param("marginType")),
        };
        if self.pos[sym].isolated == isolated {
            return Err(ApiError::new(-4046, "No need to change margin type."));
        }
        if self.pos[sym].amt != 0
            || self
                .orders
                .iter()
                .any(|o| o.sym == sym && o.status.is_open())
        {
            return Err(ApiError::new(
                -4047,
                "Margin type cannot be changed if there exists open orders.",
            ));
        }
        self.pos[sym].isolated = isolated;
        Ok(json!({"code": 200, "msg": "success"}))
    }

    /// `POST /fapi/v1/positionSide/dual`. The mock trades one-way mode only.
    pub fn set_dual(&mut self, p: &Params) -> Result<Value, ApiError> {
        let want = match param(p, "dualSidePosition") {
            None => return Err(ApiError::mandatory("dualSidePosition")),
            Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(ApiError::invalid_param("dualSidePosition")),
        };
        if want == self.dual_side {
            return Err(ApiError::new(-4059, "No need to change position side."));
        }
        Err(ApiError::new(
            -4068,
            "Hedge mode is not supported by the mock exchange.",
        ))
    }

    /// `GET /fapi/v1/positionSide/dual`.
    pub fn get_dual(&self) -> Value {
        json!({"dualSidePosition": self.dual_side})
    }

    // ------------------------------------------------------------------ account views

    fn has_open_orders(&self, sym: usize) -> bool {
        self.orders
            .iter()
            .any(|o| o.sym == sym && o.status.is_open())
    }

    fn liq_price(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        if p.amt == 0 {
            return 0.0;
        }
        let spec = self.mk[sym].spec;
        let q = spec.qty(p.amt.abs());
        let others: f64 = (0..self.mk.len())
            .filter(|i| *i != sym)
            .map(|i| self.unrealized(i) - self.position_mm(i))
            .sum();
        let cushion = self.wallet + others - self.position_mm(sym);
        let liq = if p.amt > 0 {
            p.entry - cushion / q
        } else {
            p.entry + cushion / q
        };
        liq.max(0.0)
    }

    fn totals(&self) -> Value {
        let upnl = self.total_unrealized();
        let pim: f64 = (0..self.mk.len()).map(|i| self.position_im(i)).sum();
        let oim = self.open_orders_im();
        let mm: f64 = (0..self.mk.len()).map(|i| self.position_mm(i)).sum();
        let avail = self.available();
        let now = now_ms();
        json!({
            "totalInitialMargin": f8(pim + oim), "totalMaintMargin": f8(mm), "totalWalletBalance": f8(self.wallet),
            "totalUnrealizedProfit": f8(upnl), "totalMarginBalance": f8(self.wallet + upnl),
            "totalPositionInitialMargin": f8(pim), "totalOpenOrderInitialMargin": f8(oim),
            "totalCrossWalletBalance": f8(self.wallet), "totalCrossUnPnl": f8(upnl),
            "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
            "assets": [{"asset": "USDT", "walletBalance": f8(self.wallet), "unrealizedProfit": f8(upnl),
                "marginBalance": f8(self.wallet + upnl), "maintMargin": f8(mm), "initialMargin": f8(pim + oim),
                "positionInitialMargin": f8(pim), "openOrderInitialMargin": f8(oim), "crossWalletBalance": f8(self.wallet),
                "crossUnPnl": f8(upnl), "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
                "marginAvailable": true, "updateTime": now}],
        })
    }

    fn open_order_im_sym(&self, sym: usize) -> f64 {
        self.orders
            .iter()
            .filter(|o| o.sym == sym)
            .map(|o| self.order_im(o))
            .sum()
    }

    fn side_notional(&self, sym: usize, side: Side) -> f64 {
        let spec = self.mk[sym].spec;
        self.orders
            .iter()
            .filter(|o| o.sym == sym && o.side == side && o.status.is_open())
            .map(|o| spec.qty(o.qty - o.executed) * spec.px(o.price))
            .sum()
    }

    /// `GET /fapi/v2/account` (`v3 == false`) or `/fapi/v3/account`.
    pub fn account(&self, v3: bool) -> Value {
        let mut v = self.totals();
        let positions: Vec<Value> = (0..self.mk.len())
            .filter(|i| !v3 || self.pos[*i].amt != 0 || self.has_open_orders(*i))
            .map(|i| {
                let p = &self.pos[i];
                let spec = self.mk[i].spec;
                let notional = spec.qty(p.amt) * self.mark_or_last(i);
                let mut j = json!({"symbol": spec.symbol, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(p.amt),
                    "unrealizedProfit": f8(self.unrealized(i)), "isolatedMargin": "0.00000000", "notional": f8(notional),
                    "isolatedWallet": "0", "initialMargin": f8(self.position_im(i) + self.open_order_im_sym(i)),
                    "maintMargin": f8(self.position_mm(i)), "updateTime": p.update_time});
                if !v3 {
                    if let Some(o) = j.as_object_mut() {
                        o.insert("positionInitialMargin".into(), json!(f8(self.position_im(i))));
                        o.insert("openOrderInitialMargin".into(), json!(f8(self.open_order_im_sym(i))));
                        o.insert("leverage".into(), json!(p.leverage.to_string()));
                        o.insert("isolated".into(), json!(p.isolated));
                        o.insert("entryPrice".into(), json!(spec.fmt_fpx(p.entry, 5)));
                        o.insert("breakEvenPrice".into(), json!(spec.fmt_fpx(p.entry, 5)));
                        o.insert("maxNotional".into(), json!(format!("{}", spec.max_notional(p.leverage) as u64)));
                        o.insert("bidNotional".into(), json!(f8(self.side_notional(i, Side::Buy))));
                        o.insert("askNotional".into(), json!(f8(self.side_notional(i, Side::Sell))));
                    }
                }
                j
            })
            .collect();
        if let Some(o) = v.as_object_mut() {
            if !v3 {
                for (k, val) in [
                    ("feeTier", json!(0)),
                    ("canTrade", json!(true)),
                    ("canDeposit", json!(true)),
                    ("canWithdraw", json!(true)),
                    ("updateTime", json!(0)),
                    ("multiAssetsMargin", json!(false)),
                    ("tradeGroupId", json!(-1)),
                ] {
                    o.insert(k.into(), val);
                }
            }
            o.insert("positions".into(), Value::Array(positions));
        }
        v
    }

    /// `GET /fapi/v2/balance` and `/fapi/v3/balance`.
    pub fn balance(&self) -> Value {
        let avail = self.available();
        json!([{"accountAlias": "SgsRmYFzAuXq", "asset": "USDT", "balance": f8(self.wallet),
                "crossWalletBalance": f8(self.wallet), "crossUnPnl": f8(self.total_unrealized()),
                "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
                "marginAvailable": true, "updateTime": now_ms()}])
    }

    /// `GET /fapi/v2/positionRisk` (`v3 == false`) or `/fapi/v3/positionRisk`.
    pub fn position_risk(&self, p: &Params, v3: bool) -> Result<Value, ApiError> {
        let only = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        let rows: Vec<Value> = (0..self.mk.len())
            .filter(|i| only.is_none_or(|s| s == *i))
            .filter(|i| !v3 || self.pos[*i].amt != 0 || self.has_open_orders(*i))
            .map(|i| {
                let pos = &self.pos[i];
                let spec = self.mk[i].spec;
                let mark = self.mark_or_last(i);
                let notional = spec.qty(pos.amt) * mark;
                let bep = if pos.amt > 0 { pos.entry * (1.0 + self.taker_fee) } else if pos.amt < 0 { pos.entry * (1.0 - self.taker_fee) } else { 0.0 };
                let iw = if pos.isolated { spec.qty(pos.amt.abs()) * pos.entry / pos.leverage.max(1) as f64 } else { 0.0 };
                let mut j = json!({"symbol": spec.symbol, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(pos.amt),
                    "entryPrice": spec.fmt_fpx(pos.entry, 5), "breakEvenPrice": spec.fmt_fpx(bep, 5),
                    "markPrice": spec.fmt_fpx(mark, 6), "unRealizedProfit": f8(self.unrealized(i)),
                    "liquidationPrice": spec.fmt_fpx(self.liq_price(i), 6),
                    "isolatedMargin": f8(if pos.isolated { iw + self.unrealized(i) } else { 0.0 }),
                    "notional": f8(notional), "isolatedWallet": f8(iw), "updateTime": pos.update_time});
                if let Some(o) = j.as_object_mut() {
                    if v3 {
                        o.insert("marginAsset".into(), json!("USDT"));
                        o.insert("initialMargin".into(), json!(f8(self.position_im(i) + self.open_order_im_sym(i))));
                        o.insert("maintMargin".into(), json!(f8(self.position_mm(i))));
                        o.insert("positionInitialMargin".into(), json!(f8(self.position_im(i))));
                        o.insert("openOrderInitialMargin".into(), json!(f8(self.open_order_im_sym(i))));
                        o.insert("adl".into(), json!(if pos.amt != 0 { 2 } else { 0 }));
                        o.insert("bidNotional".into(), json!(f8(self.side_notional(i, Side::Buy))));
                        o.insert("askNotional".into(), json!(f8(self.side_notional(i, Side::Sell))));
                    } else {
                        o.insert("leverage".into(), json!(pos.leverage.to_string()));
                        o.insert("maxNotionalValue".into(), json!(format!("{}", spec.max_notional(pos.leverage) as u64)));
                        o.insert("marginType".into(), json!(if pos.isolated { "isolated" } else { "cross" }));
                        o.insert("isAutoAddMargin".into(), json!("false"));
                    }
                }
                j
            })
            .collect();
        Ok(Value::Array(rows))
    }

    /// Positions as `GET /mock/positions` shows them.
    pub fn positions(&self) -> Value {
        Value::Array(
            (0..self.mk.len())
                .map(|i| {
                    let p = &self.pos[i];
                    let spec = self.mk[i].spec;
                    json!({"symbol": spec.symbol, "positionAmt": spec.fmt_qty(p.amt), "entryPrice": spec.fmt_fpx(p.entry, 5),
                           "leverage": p.leverage, "marginType": if p.isolated { "isolated" } else { "cross" },
                           "realizedPnl": f8(p.cum_realized), "unrealizedProfit": f8(self.unrealized(i)),
                           "walletBalance": f8(self.wallet)})
                })
                .collect(),
        )
    }

    /// Wallet balance (USDT).
    pub fn wallet(&self) -> f64 {
        self.wallet
    }

    // ------------------------------------------------------------------ algo orders

    /// `POST /fapi/v1/algoOrder` (CONDITIONAL).
    pub fn new_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
        match param(p, "algoType") {
            None => return Err(ApiError::mandatory("algoType")),
            Some("CONDITIONAL") => {}
            Some(_) => return Err(ApiError::invalid_param("algoType")),
        }
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let side = Side::parse(param(p, "side"))?;
        let otype: &'static str = match param(p, "type") {
            None => return Err(ApiError::mandatory("type")),
            Some("STOP_MARKET") => "STOP_MARKET",
            Some("TAKE_PROFIT_MARKET") => "TAKE_PROFIT_MARKET",
            Some("STOP") => "STOP",
            Some("TAKE_PROFIT") => "TAKE_PROFIT",
            Some(_) => return Err(ApiError::new(-1116, "Invalid orderType.")),
        };
        match param(p, "positionSide") {
            None | Some("BOTH") => {}
            Some(_) => {
                return Err(ApiError::new(
                    -4061,
                    "Order's position side does not match user's setting.",
                ))
            }
        }
        let trigger = Self::parse_price(&spec, param(p, "triggerPrice"), "triggerPrice")?;
        let close_position = Self::parse_bool(p, "closePosition")?;
        let reduce_only = Self::parse_bool(p, "reduceOnly")?;
        let limit = otype == "STOP" || otype == "TAKE_PROFIT";
        let price = if limit {
            Self::parse_price(&spec, param(p, "price"), "price")?
        } else {
            0
        };
        let qty = if close_position {
            if param(p, "quantity").is_some() {
                return Err(ApiError::new(
                    -4136,
                    "Target strategy invalid for orderType STOP_MARKET,closePosition true",
                ));
            }
            0
        } else {
            Self::parse_qty(&spec, param(p, "quantity"), !limit)?
        };
        let mark_price = match param(p, "workingType") {
            None | Some("CONTRACT_PRICE") => false,
            Some("MARK_PRICE") => true,
            Some(_) => return Err(ApiError::invalid_param("workingType")),
        };
        let price_protect = Self::parse_bool(p, "priceProtect")?;
        let tif = match param(p, "timeInForce") {
            None | Some("GTC") => Tif::Gtc,
            Some("IOC") => Tif::Ioc,
            Some("FOK") => Tif::Fok,
            Some("GTX") => Tif::Gtx,
            Some(_) => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
        };
        if self.algos.iter().filter(|a| a.status == "NEW").count() >= MAX_NUM_ALGO_ORDERS
            || self.open_count() >= MAX_NUM_ORDERS
        {
            return Err(ApiError::new(-4045, "Reach max stop order limit."));
        }
        let client_id = match param(p, "clientAlgoId") {
            Some(c) => {
                self.check_client_id(c)?;
                c.to_string()
            }
            None => self.gen_client_id(),
        };
        let pos_amt = self.pos[sym].amt;
        if reduce_only && !close_position && (pos_amt == 0 || pos_amt.signum() == side.sign()) {
            return Err(ApiError::new(-2022, "ReduceOnly Order is rejected."));
        }
        let now = now_ms();
        let mut a = Algo {
            id: 0,
            client_id,
            sym,
            side,
            otype,
            qty,
            trigger,
            price,
            mark_price,
            reduce_only,
            close_position,
            price_protect,
            tif,
            status: "NEW",
            create: now,
            update: now,
            trigger_time: 0,
            order_id: None,
        };
        if let Some(cur) = self.ref_price(sym, mark_price) {
            if Self::triggered(&a, cur) {
                return Err(ApiError::new(-2021, "Order would immediately trigger."));
            }
        }
        self.next_algo_id += 1;
        a.id = self.next_algo_id;
        self.client_ids.insert(a.client_id.clone());
        self.algos.push(a);
        Ok(self.algo_json(self.algos.len() - 1))
    }

    fn ref_price(&self, sym: usize, mark: bool) -> Option<i64> {
        let m = &self.mk[sym];
        if mark {
            m.mark().map(|x| m.spec.px_units(x))
        } else {
            m.last_price
        }
    }

    fn triggered(a: &Algo, cur: i64) -> bool {
        let stop = a.otype.starts_with("STOP");
        match (stop, a.side) {
            (true, Side::Buy) | (false, Side::Sell) => cur >= a.trigger,
            (true, Side::Sell) | (false, Side::Buy) => cur <= a.trigger,
        }
    }

    fn check_algos_all(&mut self, mark: bool) {
        for sym in 0..self.mk.len() {
            self.check_algos(sym, mark);
        }
    }

    fn check_algos(&mut self, sym: usize, mark: bool) {
        let Some(cur) = self.ref_price(sym, mark) else {
            return;
        };
        let hits: Vec<usize> = self
            .algos
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.sym == sym && a.status == "NEW" && a.mark_price == mark && Self::triggered(a, cur)
            })
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            self.trigger_algo(i);
        }
    }

    fn trigger_algo(&mut self, i: usize) {
        let now = now_ms();
        let a = self.algos[i].clone();
        self.algos[i].status = "TRIGGERED";
        self.algos[i].trigger_time = now;
        self.algos[i].update = now;
        let pos_amt = self.pos[a.sym].amt;
        let qty = if a.close_position {
            if pos_amt != 0 && pos_amt.signum() != a.side.sign() {
                pos_amt.abs()
            } else {
                0
            }
        } else {
            a.qty
        };
        if qty == 0 {
            self.algos[i].status = "EXPIRED";
            return;
        }
        let limit = a.price > 0;
        let cid = self.gen_client_id();
        let res = self.submit(
            a.sym,
            a.side,
            !limit,
            a.otype,
            if limit { a.tif } else { Tif::Gtc },
            a.price,
            qty,
            a.reduce_only || a.close_position,
            a.close_position,
            a.trigger,
            cid,
        );
        match res {
            Ok((ack, _)) => {
                self.algos[i].status = "FINISHED";
                self.algos[i].order_id = ack.get("orderId").and_then(Value::as_u64);
            }
            Err(e) => {
                tracing::info!(
                    algo = a.id,
                    code = e.code,
                    "triggered algo order rejected: {}",
                    e.msg
                );
                self.algos[i].status = "REJECTED";
            }
        }
    }

    fn algo_json(&self, i: usize) -> Value {
        let a = &self.algos[i];
        let spec = self.mk[a.sym].spec;
        json!({"algoId": a.id, "clientAlgoId": a.client_id, "algoType": "CONDITIONAL", "orderType": a.otype,
               "symbol": spec.symbol, "side": a.side.as_str(), "positionSide": "BOTH", "timeInForce": a.tif.as_str(),
               "quantity": spec.fmt_qty(a.qty), "algoStatus": a.status, "triggerPrice": spec.fmt_px(a.trigger),
               "price": spec.fmt_px(a.price), "icebergQuantity": null, "selfTradePreventionMode": "EXPIRE_MAKER",
               "workingType": if a.mark_price { "MARK_PRICE" } else { "CONTRACT_PRICE" }, "priceMatch": "NONE",
               "closePosition": a.close_position, "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
               "activatePrice": "", "callbackRate": "", "createTime": a.create, "updateTime": a.update,
               "triggerTime": a.trigger_time, "goodTillDate": 0,
               "actualOrderId": a.order_id.map(|x| x.to_string()).unwrap_or_default()})
    }

    /// `DELETE /fapi/v1/algoOrder`.
    pub fn cancel_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
        let i = if let Some(id) = param(p, "algoId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("algoId"))?;
            self.algos.iter().position(|a| a.id == id)
        } else if let Some(c) = param(p, "clientAlgoId") {
            self.algos.iter().rposition(|a| a.client_id == c)
        } else {
            return Err(ApiError::new(
                -1102,
                "Either algoId or clientAlgoId must be sent.",
            ));
        };
        let i = i
            .filter(|i| self.algos[*i].status == "NEW")
            .ok_or_else(ApiError::unknown_order)?;
        self.algos[i].status = "CANCELED";
        self.algos[i].update = now_ms();
        let a = &self.algos[i];
        Ok(json!({"algoId": a.id, "clientAlgoId": a.client_id, "code": "200", "msg": "success"}))
    }

    /// `GET /fapi/v1/openAlgoOrders`.
    pub fn open_algos(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        Ok(Value::Array(
            (0..self.algos.len())
                .filter(|i| {
                    self.algos[*i].status == "NEW" && sym.is_none_or(|s| s == self.algos[*i].sym)
                })
                .map(|i| self.algo_json(i))
                .collect(),
        ))
    }

    /// `GET /fapi/v1/algoOrder`.
    pub fn query_algo(&self, p: &Params) -> Result<Value, ApiError> {
        let i = if let Some(id) = param(p, "algoId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("algoId"))?;
            self.algos.iter().position(|a| a.id == id)
        } else if let Some(c) = param(p, "clientAlgoId") {
            self.algos.iter().rposition(|a| a.client_id == c)
        } else {
            return Err(ApiError::new(
                -1102,
                "Either algoId or clientAlgoId must be sent.",
            ));
        };
        i.map(|i| self.algo_json(i))
            .ok_or_else(ApiError::no_such_order)
    }
}

#[derive(Debug, Clone, Copy)]
struct Fill {
    qty: i64,
    px: i64,
    fee: f64,
    realized: f64,
    maker: bool,
    trade_id: u64,
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

/// Formats a float with fixed decimals (for the exchangeInfo strings).
pub fn fixed(v: i64, dp: u32) -> String {
    fmt_units(v, dp)
}
