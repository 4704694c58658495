//! The executor's decision core: risk engine, paper broker and order journal wired
//! together, with no ring or clock of its own (times are arguments), so it can be
//! driven by the executor process and tested directly.
//!
//! Order discipline: every order gets a deterministic client order id derived from the
//! instance and the signal sequence (`client_order_id(instance, seq, leg)`: leg 0 is the
//! entry, legs 1.. are exits). The intent is appended to the journal and fsynced before
//! the order is handed to the broker; fills are journaled before they change the
//! position. A signal whose entry id is already in the journal is never acted on again,
//! so a restarted executor cannot send the same signal's order twice.
//!
//! Restart: the journal is replayed in file order; every fill is applied to a fresh risk
//! engine, which rebuilds positions, realized PnL and fees exactly. Orders still in
//! flight are then settled: with a venue (the mock exchange or Binance) each is queried
//! by its client order id — filled ones get their fill journaled and applied, open ones
//! are canceled first, unknown ones are resolved `NotFound` — and the positions that
//! result must equal the exchange's, or the executor refuses to trade and names the
//! difference. With the simulated broker (which lived in the dead process) in-flight
//! orders never filled and are resolved `NotFound`.

use crate::error::{Result, StageError};
use crate::venue::{Found, PlaceReq, RestVenue, VenueEvent};
use shmtrader_core::instrument::{catalog, Instrument, Qty};
use shmtrader_core::{Outcome, Side, Signal, Tick};
use shmtrader_journal::{
    client_order_id, read_journal, Decimal, Fill, Intent, Journal, OrderType, Record, Resolution,
};
use shmtrader_risk::paper::{PaperFill, PaperOrder, PaperOrderKind};
use shmtrader_risk::{Decision, EntryRequest, FillReport, PaperBroker, RiskEngine, RiskParams};
use std::collections::HashMap;
use std::path::Path;

/// Why a signal produced no order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalResult {
    /// An entry order was journaled and sent to the broker.
    Ordered,
    /// The journal already holds this signal's order (repeat after a restart).
    Duplicate,
    /// The risk gate refused it (reason code).
    Refused(u8),
    /// The signal was malformed.
    Invalid,
}

/// Refusal code of an entry skipped because the order-rate budget is used up.
pub const REFUSED_ORDER_RATE: u8 = 250;

/// What a replay found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Fills re-applied.
    pub fills: u64,
    /// In-flight orders resolved as never filled.
    pub resolved_lost: u64,
    /// Torn bytes cut from the journal tail.
    pub torn_bytes: u64,
    /// Outcomes re-derived from the journal, oldest first.
    pub outcomes: Vec<Outcome>,
}

/// Exchange rules for the simulated venue: the catalog's real filters (the ones the mock
/// exchange publishes), or the generic rules for symbols it does not list.
pub fn paper_rules(symbols: &[String]) -> Vec<Instrument> {
    symbols
        .iter()
        .map(|s| catalog::instrument_or_generic(s))
        .collect()
}

/// An exact quantity as the journal's decimal.
fn qty_dec(rules: &Instrument, q: Qty) -> Decimal {
    Decimal::new(q.0, rules.qty_dp)
}

/// One order to place (leg 0 = entry, 1.. = exits).
struct OrderSpec {
    coid: String,
    symbol_id: u32,
    side: Side,
    qty: Qty,
    reduce_only: bool,
    signal_seq: u64,
    leg: u8,
}

struct Live {
    coid: String,
    qty: Qty,
    symbol_id: u32,
    side: Side,
    entry: bool,
}

/// Where orders go.
enum Broker {
    /// In-process simulation.
    Paper(Box<PaperBroker>),
    /// A real venue over REST (the mock exchange in paper mode).
    Venue(RestVenue),
}

/// Risk + broker + journal.
pub struct ExecCore {
    instance: String,
    symbols: Vec<String>,
    risk: RiskEngine,
    broker: Broker,
    journal: Journal,
    live: HashMap<u64, Live>,
    /// Venue orders awaiting an answer, by client order id.
    venue_live: HashMap<String, Live>,
    /// Send times of the orders of the last 10 s (order-rate cap).
    order_times: std::collections::VecDeque<u64>,
    /// Orders allowed per 10 s; entries stop at 80 % of it so exits always have room.
    max_orders_per_10s: usize,
    /// Rejected exits wait here before the risk engine may emit them again, so a
    /// rate-limited or refused exit is retried once a second, not on every tick.
    /// Exits to retry: (symbol, market time at which to retry). Market time, because
    /// it is compared with the trades' own timestamps in `on_tick`.
    exit_backoff: Vec<(u32, u64)>,
    /// Exchange time of the last trade seen.
    last_tick_ns: u64,
    next_id: u64,
    fill_seq: u64,
    orders: u64,
    refused: u64,
}

impl std::fmt::Debug for ExecCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecCore")
            .field("instance", &self.instance)
            .field("orders", &self.orders)
            .field("open", &self.risk.open_positions())
            .finish()
    }
}

/// f64 → Decimal through the shortest round-trip text, so a step-rounded 0.132 stays
/// exactly 0.132 (`from_f64_retain` would keep the binary expansion 0.13200000000000000621…).
/// Binance's code for a rejected reduce-only order (-2022 ReduceOnly Order is rejected).
const REDUCE_ONLY_REJECTED: i32 = -2022;

fn dec(v: f64) -> Decimal {
    use std::str::FromStr;
    Decimal::from_str(&v.to_string())
        .or_else(|_| Decimal::from_scientific(&format!("{v:e}")))
        .unwrap_or_default()
}

fn f(d: Decimal) -> f64 {
    use std::str::FromStr;
    f64::from_str(&d.to_string()).unwrap_or(0.0)
}

impl ExecCore {
    /// Opens (or creates) the journal under `journal_dir` and replays it.
    pub fn open(
        instance: &str,
        symbols: &[String],
        params: RiskParams,
        journal_dir: &Path,
        now_ns: u64,
        venue: Option<RestVenue>,
    ) -> Result<(ExecCore, ReplayReport)> {
        std::fs::create_dir_all(journal_dir)
            .map_err(|e| StageError::io(format!("creating {}", journal_dir.display()), e))?;
        let path = journal_dir.join(format!("{instance}.journal"));
        let rules = match &venue {
            // The exchange's own filters, so sizes round exactly as it will check them.
            Some(v) => v.rules().to_vec(),
            None => paper_rules(symbols),
        };
        let mut risk = RiskEngine::new(params, &rules)
            .map_err(|e| StageError::Other(format!("risk parameters: {e}")))?;
        let broker = match venue {
            Some(v) => Broker::Venue(v),
            None => Broker::Paper(Box::new(PaperBroker::new(&params))),
        };
        // Replay fills in file order before opening for append (open truncates a torn
        // tail; read_journal reports it without touching the file).
        let mut report = ReplayReport::default();
        let mut next_fill = 0u64;
        if path.exists() {
            let scan =
                read_journal(&path).map_err(|e| StageError::Other(format!("journal: {e}")))?;
            report.torn_bytes = scan.torn_bytes;
            let mut intents: HashMap<String, (u32, Side)> = HashMap::new();
            for (_, rec) in &scan.records {
                match rec {
                    Record::Intent(i) => {
                        intents.insert(i.client_order_id.clone(), (i.symbol_id, i.side));
                    }
                    Record::Fill(fl) => {
                        let Some(&(symbol_id, side)) = intents.get(&fl.client_order_id) else {
                            return Err(StageError::Other(format!(
                                "journal: fill for unknown order {}",
                                fl.client_order_id
                            )));
                        };
                        let fr = FillReport {
                            symbol_id,
                            side,
                            qty: f(fl.qty),
                            price: f(fl.price),
                            fee: f(fl.fee),
                            ts_ns: fl.ts_ns,
                        };
                        // Mark first so the position's mark is the fill price.
                        let _ = risk.on_tick(symbol_id, fr.price, fr.ts_ns);
                        if let Some(o) = risk
                            .on_fill(&fr)
                            .map_err(|e| StageError::Other(format!("journal replay: {e}")))?
                        {
                            report.outcomes.push(o);
                        }
                        report.fills += 1;
                        next_fill = next_fill.max(fl.trade_id + 1);
                    }
                    _ => {}
                }
            }
        }
        let (mut journal, _rec) = Journal::open(&path, instance, now_ns)
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        // Settle every order that was in flight when the last process died.
        let lost: Vec<(String, u32, Side, Decimal)> = journal
            .state()
            .in_flight()
            .map(|o| {
                (
                    o.intent.client_order_id.clone(),
                    o.intent.symbol_id,
                    o.intent.side,
                    o.intent.qty,
                )
            })
            .collect();
        let jerr = |e: shmtrader_journal::JournalError| StageError::Other(format!("journal: {e}"));
        for (coid, symbol_id, side, qty) in lost {
            let found = match &broker {
                // The simulated broker lived in the dead process: nothing filled.
                Broker::Paper(_) => Found::NotFound,
                Broker::Venue(v) => match v.query(symbol_id, &coid)? {
                    Found::Open => v.cancel(symbol_id, &coid)?,
                    f => f,
                },
            };
            let resolution = match found {
                Found::NotFound => Resolution::NotFound,
                Found::Open => {
                    return Err(StageError::Other(format!(
                        "reconciliation: order {coid} is still open on the exchange after a cancel; refusing to trade"
                    )))
                }
                Found::Done { qty: q, price, ts_ns } if q > 0.0 => {
                    let fill = Fill {
                        client_order_id: coid.clone(),
                        trade_id: next_fill.max(1),
                        qty: dec(q),
                        price: dec(price),
                        fee: dec(q * price * params.taker_fee),
                        maker: false,
                        ts_ns,
                    };
                    next_fill = next_fill.max(1) + 1;
                    journal.append_durable(&Record::Fill(fill)).map_err(jerr)?;
                    let fr = FillReport {
                        symbol_id,
                        side,
                        qty: q,
                        price,
                        fee: q * price * params.taker_fee,
                        ts_ns,
                    };
                    let _ = risk.on_tick(symbol_id, price, ts_ns);
                    if let Some(o) = risk
                        .on_fill(&fr)
                        .map_err(|e| StageError::Other(format!("reconciliation: {e}")))?
                    {
                        report.outcomes.push(o);
                    }
                    report.fills += 1;
                    if dec(q) == qty {
                        Resolution::Filled
                    } else {
                        Resolution::Canceled
                    }
                }
                Found::Done { .. } => Resolution::Canceled,
            };
            journal
                .append(&Record::Resolved {
                    client_order_id: coid,
                    resolution,
                    ts_ns: now_ns,
                })
                .map_err(jerr)?;
            report.resolved_lost += 1;
        }
        // The positions the journal implies must be the exchange's.
        if let Broker::Venue(v) = &broker {
            let theirs = v.positions()?;
            let mut diffs = Vec::new();
            for (i, sym) in symbols.iter().enumerate() {
                let ours = risk.position(i as u32).map_or(0.0, |p| p.size());
                let ex = theirs
                    .iter()
                    .find(|(s, _)| s == sym)
                    .map_or(0.0, |(_, q)| *q);
                if (ours - ex).abs() > 1e-9 * ours.abs().max(ex.abs()).max(1.0) {
                    diffs.push(format!("{sym}: journal {ours:+}, exchange {ex:+}"));
                }
            }
            if !diffs.is_empty() {
                return Err(StageError::Other(format!(
                    "reconciliation: positions differ from the exchange ({}); refusing to trade until they agree (flatten on the exchange or restore the journal)",
                    diffs.join("; ")
                )));
            }
        }
        journal
            .sync()
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        let orders = journal.state().len() as u64;
        Ok((
            ExecCore {
                instance: instance.to_string(),
                symbols: symbols.to_vec(),
                risk,
                broker,
                journal,
                live: HashMap::new(),
                venue_live: HashMap::new(),
                order_times: std::collections::VecDeque::with_capacity(512),
                max_orders_per_10s: 240,
                exit_backoff: Vec::new(),
                last_tick_ns: 0,
                next_id: 1,
                fill_seq: next_fill.max(1),
                orders,
                refused: 0,
            },
            report,
        ))
    }

    /// `q` of symbol `symbol_id` as the journal's exact decimal.
    fn qty_dec(&self, symbol_id: u32, q: Qty) -> Decimal {
        self.risk
            .rules(symbol_id)
            .map_or(Decimal::ZERO, |r| qty_dec(r, q))
    }

    /// `q` of symbol `symbol_id` as a float (paper fills, risk maths).
    fn qty_f64(&self, symbol_id: u32, q: Qty) -> f64 {
        self.risk.rules(symbol_id).map_or(0.0, |r| r.qty_f64(q))
    }

    /// The risk engine (positions, stats).
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// Orders journaled so far (including earlier runs).
    pub fn orders(&self) -> u64 {
        self.orders
    }

    /// Signals refused by the risk gate in this run.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Turns the kill switch on or off; on: every open position gets a flatten order.
    pub fn set_kill_switch(&mut self, on: bool, ts_ns: u64) -> Result<()> {
        if on == self.risk.kill_switch() {
            return Ok(());
        }
        self.risk.set_kill_switch(on);
        if on {
            let mut exits = Vec::new();
            self.risk.flatten_all(ts_ns, |x| exits.push(x));
            for x in exits {
                self.send_exit(x.symbol_id, x.side, x.qty, x.signal_seq, ts_ns)?;
            }
        }
        Ok(())
    }

    /// Journals the intent durably, then hands the order to the broker.
    fn place(&mut self, o: OrderSpec, ts_ns: u64) -> Result<()> {
        let intent = Intent {
            client_order_id: o.coid.clone(),
            symbol_id: o.symbol_id,
            symbol: self
                .symbols
                .get(o.symbol_id as usize)
                .cloned()
                .unwrap_or_default(),
            side: o.side,
            order_type: OrderType::Market,
            qty: self.qty_dec(o.symbol_id, o.qty),
            limit_price: None,
            reduce_only: o.reduce_only,
            signal_seq: o.signal_seq,
            leg: o.leg,
            ts_ns,
        };
        self.order_times.push_back(ts_ns);
        // Durable before the order leaves: a crash after this line finds the intent.
        self.journal
            .append_durable(&Record::Intent(intent))
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        self.orders += 1;
        let entry = o.leg == 0;
        let live = Live {
            coid: o.coid.clone(),
            qty: o.qty,
            symbol_id: o.symbol_id,
            side: o.side,
            entry,
        };
        let qty_f = self.qty_f64(o.symbol_id, o.qty);
        match &mut self.broker {
            Broker::Paper(b) => {
                let id = self.next_id;
                self.next_id += 1;
                let order = PaperOrder {
                    id,
                    symbol_id: o.symbol_id,
                    side: o.side,
                    qty: qty_f,
                    kind: PaperOrderKind::Market,
                    reduce_only: o.reduce_only,
                };
                b.submit(order, ts_ns)
                    .map_err(|e| StageError::Other(format!("paper broker: {e}")))?;
                self.live.insert(id, live);
            }
            Broker::Venue(v) => {
                v.place(PlaceReq {
                    coid: o.coid.clone(),
                    symbol_id: o.symbol_id,
                    side: o.side,
                    qty: o.qty,
                    reduce_only: o.reduce_only,
                })?;
                self.venue_live.insert(o.coid.clone(), live);
            }
        }
        self.journal
            .append(&Record::Sent {
                client_order_id: o.coid,
                ts_ns,
            })
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        Ok(())
    }

    /// Sets the order-rate cap (orders per 10 s; Binance allows 300).
    pub fn set_max_orders_per_10s(&mut self, n: usize) {
        self.max_orders_per_10s = n.max(1);
    }

    /// Orders sent in the 10 s before `ts_ns`.
    fn recent_orders(&mut self, ts_ns: u64) -> usize {
        while self
            .order_times
            .front()
            .is_some_and(|&t| t + 10_000_000_000 <= ts_ns)
        {
            self.order_times.pop_front();
        }
        self.order_times.len()
    }

    /// Acts on one signal (its ring sequence `seq`).
    pub fn on_signal(&mut self, seq: u64, sig: &Signal, ts_ns: u64) -> Result<SignalResult> {
        if self.journal.state().has_signal(seq, 0) {
            return Ok(SignalResult::Duplicate);
        }
        // Entries use at most 80 % of the order budget; the rest is kept for exits.
        if self.recent_orders(ts_ns) * 5 >= self.max_orders_per_10s * 4 {
            self.refused += 1;
            return Ok(SignalResult::Refused(REFUSED_ORDER_RATE));
        }
        let Some(req) = EntryRequest::from_signal(sig, seq) else {
            return Ok(SignalResult::Invalid);
        };
        match self.risk.evaluate(&req, ts_ns) {
            Decision::Refused(r) => {
                self.refused += 1;
                Ok(SignalResult::Refused(r.code()))
            }
            Decision::Approved(intent) => {
                let spec = OrderSpec {
                    coid: client_order_id(&self.instance, seq, 0),
                    symbol_id: intent.symbol_id,
                    side: intent.side,
                    qty: intent.qty,
                    reduce_only: intent.reduce_only,
                    signal_seq: seq,
                    leg: 0,
                };
                self.place(spec, ts_ns)?;
                Ok(SignalResult::Ordered)
            }
        }
    }

    fn send_exit(
        &mut self,
        symbol_id: u32,
        side: Side,
        qty: Qty,
        signal_seq: u64,
        ts_ns: u64,
    ) -> Result<()> {
        let Some(leg) = (1..=u8::MAX).find(|l| !self.journal.state().has_signal(signal_seq, *l))
        else {
            return Err(StageError::Other(format!(
                "signal {signal_seq}: no exit leg left"
            )));
        };
        let spec = OrderSpec {
            coid: client_order_id(&self.instance, signal_seq, leg),
            symbol_id,
            side,
            qty,
            reduce_only: true,
            signal_seq,
            leg,
        };
        self.place(spec, ts_ns)
    }

    /// Marks, runs exits and paper fills for one trade; returns closed trades.
    pub fn on_tick(&mut self, t: &Tick, out: &mut Vec<Outcome>) -> Result<()> {
        self.last_tick_ns = self.last_tick_ns.max(t.exchange_ts_ns);
        if !self.exit_backoff.is_empty() {
            let now = t.exchange_ts_ns;
            let risk = &mut self.risk;
            self.exit_backoff.retain(|&(sym, at)| {
                if at <= now {
                    risk.exit_order_done(sym);
                    false
                } else {
                    true
                }
            });
        }
        if let Some(x) = self.risk.on_tick(t.symbol_id, t.price, t.exchange_ts_ns) {
            self.send_exit(x.symbol_id, x.side, x.qty, x.signal_seq, t.exchange_ts_ns)?;
        }
        let Broker::Paper(b) = &mut self.broker else {
            return Ok(());
        };
        if b.pending() == 0 {
            return Ok(());
        }
        let mut fills: Vec<PaperFill> = Vec::new();
        b.on_tick(t.symbol_id, t.price, t.exchange_ts_ns, |pf| fills.push(pf));
        for pf in fills {
            let Some(live) = self.live.remove(&pf.id) else {
                continue;
            };
            let (qty_dec, qty, fee) = if live.entry {
                (self.qty_dec(live.symbol_id, live.qty), pf.qty, pf.fee)
            } else {
                // Reduce-only, as the exchange (and the backtest) enforce it.
                match self.risk.reduce_only_qty(live.symbol_id, live.side, pf.qty) {
                    None => {
                        self.journal
                            .append(&Record::Rejected {
                                client_order_id: live.coid.clone(),
                                code: REDUCE_ONLY_REJECTED,
                                msg: "reduce-only order would open or add to a position".into(),
                                ts_ns: pf.ts_ns,
                            })
                            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
                        self.risk.exit_order_done(live.symbol_id);
                        continue;
                    }
                    Some(q) if q < pf.qty => (dec(q), q, pf.fee * q / pf.qty),
                    Some(_) => (self.qty_dec(live.symbol_id, live.qty), pf.qty, pf.fee),
                }
            };
            self.apply_fill(live, qty_dec, qty, pf.price, fee, pf.ts_ns, out)?;
        }
        Ok(())
    }

    /// Journals a fill durably, then applies it to the position.
    #[allow(clippy::too_many_arguments)]
    fn apply_fill(
        &mut self,
        live: Live,
        qty_dec: Decimal,
        qty: f64,
        price: f64,
        fee: f64,
        ts_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        let trade_id = self.fill_seq;
        self.fill_seq += 1;
        let fill = Fill {
            client_order_id: live.coid.clone(),
            trade_id,
            qty: qty_dec,
            price: dec(price),
            fee: dec(fee),
            maker: false,
            ts_ns,
        };
        self.journal
            .append_durable(&Record::Fill(fill))
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        let fr = FillReport {
            symbol_id: live.symbol_id,
            side: live.side,
            qty,
            price,
            fee,
            ts_ns,
        };
        if let Some(o) = self
            .risk
            .on_fill(&fr)
            .map_err(|e| StageError::Other(format!("risk: {e}")))?
        {
            out.push(o);
        }
        if live.entry {
            self.risk.entry_order_done(live.symbol_id);
        } else {
            self.risk.exit_order_done(live.symbol_id);
        }
        Ok(())
    }

    /// Venue orders sent and not answered yet.
    pub fn venue_in_flight(&self) -> usize {
        match &self.broker {
            Broker::Venue(v) => v.in_flight(),
            Broker::Paper(_) => 0,
        }
    }

    /// Takes the venue's answers: fills are journaled and applied, rejections journaled
    /// and their reservations released. An order whose outcome stays unknown stops the
    /// executor (the restart reconciles it) rather than trading blind.
    pub fn poll_venue(&mut self, now_ns: u64, out: &mut Vec<Outcome>) -> Result<usize> {
        let mut n = 0;
        loop {
            let Broker::Venue(v) = &mut self.broker else {
                return Ok(n);
            };
            let Some(ev) = v.poll() else {
                return Ok(n);
            };
            n += 1;
            match ev {
                VenueEvent::Filled {
                    coid,
                    qty,
                    price,
                    fee,
                    ts_ns,
                } => {
                    let Some(live) = self.venue_live.remove(&coid) else {
                        tracing::error!(%coid, "fill for an order this executor does not know");
                        continue;
                    };
                    let qd = dec(qty);
                    let partial = qd != self.qty_dec(live.symbol_id, live.qty);
                    self.apply_fill(live, qd, qty, price, fee, ts_ns, out)?;
                    if partial {
                        self.journal
                            .append(&Record::Canceled {
                                client_order_id: coid,
                                ts_ns: now_ns,
                            })
                            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
                    }
                }
                VenueEvent::Rejected { coid, reason } => {
                    tracing::warn!(%coid, %reason, "order rejected");
                    if let Some(live) = self.venue_live.remove(&coid) {
                        if live.entry {
                            self.risk.entry_order_done(live.symbol_id);
                        } else {
                            // Retry the exit a second of market time later, not on
                            // the next tick (the clock `on_tick` compares with: a
                            // replayed market's trades are not stamped with today).
                            self.exit_backoff.push((
                                live.symbol_id,
                                self.last_tick_ns.saturating_add(1_000_000_000),
                            ));
                        }
                    }
                    self.journal
                        .append(&Record::Rejected {
                            client_order_id: coid,
                            code: 0,
                            msg: reason,
                            ts_ns: now_ns,
                        })
                        .map_err(|e| StageError::Other(format!("journal: {e}")))?;
                }
                VenueEvent::Unsettled { coid, error } => {
                    return Err(StageError::Other(format!(
                        "order {coid}: outcome unknown ({error}); stopping so the restart reconciles it"
                    )));
                }
            }
        }
    }

    /// Positions as control-block rows: signed size, entry, mark, unrealized PnL.
    pub fn position_rows(&self) -> Vec<[f64; 4]> {
        (0..self.symbols.len() as u32)
            .map(|i| match self.risk.position(i) {
                Some(p) if !p.is_flat() => {
                    [p.size(), p.entry_px(), p.mark_px(), p.unrealized_pnl()]
                }
                _ => [0.0; 4],
            })
            .collect()
    }
}
