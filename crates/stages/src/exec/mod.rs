//! The executor's decision core: risk engine, stop keeper, order budget, broker and
//! order journal wired together, with no ring or clock of its own (times are
//! arguments), so the executor process drives it and tests drive it directly.
//!
//! # Order discipline
//! Every order gets a client order id from the instance, the *launch* nonce (journaled
//! at each launch, never reused), the signal sequence and a leg
//! (`shmtrader_journal::client_order_id`: leg 0 the entry, 1..=127 market exits,
//! 128..=255 exchange-held stops). Within a launch the same signal gives the same id, so
//! a restarted executor cannot send a signal's order twice (the journal refuses it, and
//! so does the exchange while the first is open); across launches ids never repeat, and
//! reconciliation never matches an older launch's order. The intent is appended and
//! fsynced before the order leaves; fills are journaled before they change a position.
//!
//! # Fills
//! With a venue, fills come from the exchange: each execution (trade id, quantity,
//! price, commission, realized PnL) is applied once, keyed by (symbol, trade id), from
//! the user-data stream or — while the stream is down, or when an order's fills are
//! late — from REST. An execution of an order this instance did not place (liquidation,
//! ADL, a manual trade) updates the position too, is journaled as such, raises an
//! alert, and its stop is fixed or cancelled.
//!
//! # Stops
//! Outside the simulated venue every own position keeps a protective stop resting on
//! the exchange ([`shmtrader_risk::StopKeeper`] decides; this module carries it out).
//!
//! # Restart
//! The journal is replayed into a fresh risk engine (positions, realized PnL, fees, and
//! the risk state that outlives a launch: peak equity, the day's starting equity, the
//! kill switch). With a venue, in-flight orders are queried, resting stops checked, the
//! account's trades since the journal's last record applied, positions compared with the
//! exchange's (a position the journal cannot explain blocks entries on its symbol and
//! is left alone), equity taken from the account, and every own position without a
//! live stop gets one before any entry.

mod events;
mod fills;
mod orders;
mod reconcile;
mod upkeep;

pub use orders::{LiveOrder, OrderBook, Role};

use crate::error::{Result, StageError};
use crate::venue::{Command, OrderReq, Startup, VenueHandle};
use shmtrader_core::instrument::{Instrument, Qty};
use shmtrader_core::{ExitReason, Outcome, Side, Signal, Tick};
use shmtrader_journal::{
    client_order_id, next_launch, parse_client_order_id, read_journal, Decimal, Intent, Journal,
    OrderType, Record, WorkingType,
};
use shmtrader_risk::{
    BudgetLimits, Decision, EntryRequest, OrderBudget, OrderClass, PaperBroker, PersistedRisk,
    RefuseReason, RiskEngine, RiskParams, StopAction, StopKeeper, StopParams,
};
use std::collections::HashSet;
use std::path::PathBuf;

/// Why a signal produced no order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SignalResult {
    /// An entry order was journaled and sent to the broker.
    Ordered,
    /// The journal already holds this signal's order (repeat after a restart).
    Duplicate,
    /// Refused, with the reason (the risk gate's, the budget's, a block, a command).
    Refused(RefuseReason),
    /// The signal was malformed.
    Invalid,
}

/// Entries blocked on a symbol, and why (bits).
pub mod block {
    /// The account holds a position on it that the journal cannot explain.
    pub const FOREIGN: u8 = 1;
    /// The symbol is not TRADING on the venue.
    pub const NOT_TRADING: u8 = 2;
    /// The journal and the exchange disagree on its position: exits and stops are
    /// suspended too until an operator looks.
    pub const DIVERGED: u8 = 4;
    /// Its step size changed under an open position.
    pub const RULES_CHANGED: u8 = 8;
}

/// Everything the core needs to know, from the configuration.
#[derive(Debug, Clone)]
pub struct ExecSettings {
    /// Instance name.
    pub instance: String,
    /// Symbols, in symbol-id order.
    pub symbols: Vec<String>,
    /// Journal directory.
    pub journal_dir: PathBuf,
    /// Risk parameters.
    pub risk: RiskParams,
    /// Order budget (`None`: the simulated venue, which has no request limits to keep).
    pub budget: Option<BudgetLimits>,
    /// Exchange-held stops (`None`: the simulated venue, which has none).
    pub stops: Option<StopParams>,
    /// Price the exchange stops trigger on.
    pub working_type: WorkingType,
    /// Fills of a finished order missing this long are asked of REST (ns).
    pub fill_timeout_ns: u64,
    /// Creation time of the instance's segments: identifies the launch.
    pub segments_created_ns: u64,
}

/// Where orders go.
#[derive(Debug)]
pub enum Broker {
    /// The in-process simulation.
    Paper(Box<PaperBroker>),
    /// A venue over REST and the user-data stream.
    Venue(VenueHandle),
}

/// What the start-up replay and reconciliation found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReplayReport {
    /// Fills re-applied from the journal.
    pub fills: u64,
    /// Fills of orders this instance did not place, re-applied.
    pub external_fills: u64,
    /// In-flight orders settled at start.
    pub settled: u64,
    /// Fills found on the exchange that the journal did not have.
    pub recovered_fills: u64,
    /// Torn bytes cut from the journal tail.
    pub torn_bytes: u64,
    /// The launch nonce of this run, and whether it is a new launch.
    pub launch: u32,
    /// This start began a new launch (not a restart within one).
    pub new_launch: bool,
    /// Symbols whose position the journal could not explain.
    pub foreign: Vec<String>,
    /// Stops placed at start for positions that had none.
    pub stops_placed: u64,
    /// Resting stops adopted.
    pub stops_adopted: u64,
    /// Outcomes derived during replay, oldest first.
    pub outcomes: Vec<Outcome>,
}

/// A flatten in progress (`shmtrader flatten` or the control mailbox).
#[derive(Debug, Clone, PartialEq)]
pub struct FlattenJob {
    /// Command sequence to answer.
    pub seq: u64,
    /// When it started (ns).
    pub started_ns: u64,
    /// Positions open when it started.
    pub positions: u32,
    /// Stops open when it started.
    pub stops: u32,
    /// When the exits were last (re)issued (ns): an exit the budget held back or the
    /// venue refused is issued again, once a second, until the flatten ends.
    pub pushed_ns: u64,
}

/// Refusal codes are 1..=18 ([`RefuseReason::code`]); slot 0 is unused.
const REFUSE_CODES: usize = RefuseReason::ALL.len() + 1;

/// Risk + stops + budget + broker + journal.
pub struct ExecCore {
    cfg: ExecSettings,
    risk: RiskEngine,
    /// Rules per symbol as the venue has them now (tick changes refresh them).
    rules: Vec<Instrument>,
    journal: Journal,
    launch: u32,
    broker: Broker,
    orders: OrderBook,
    /// Paper broker order id → client order id.
    paper_ids: std::collections::HashMap<u64, String>,
    next_paper_id: u64,
    paper_trade_seq: u64,
    stops: Option<StopKeeper>,
    budget: Option<OrderBudget>,
    /// (symbol, trade id) of every execution applied.
    seen: HashSet<(u32, u64)>,
    /// Per symbol: the (launch, signal) that opened this instance's position.
    origin: Vec<Option<(u32, u64)>>,
    /// Per symbol: [`block`] bits.
    blocks: Vec<u8>,
    /// Executions not yet attributed (order id unknown), with when they arrived.
    unattributed: Vec<(crate::venue::TradeReport, u64)>,
    /// Exits to retry: (symbol, market time at which to retry).
    exit_backoff: Vec<(u32, u64)>,
    last_tick_ns: u64,
    stream_up: bool,
    stream_down_at_ms: u64,
    last_poll_ns: u64,
    alerts: u64,
    /// Executions applied from the venue in this run (own and external).
    fills_applied: u64,
    orders_sent: u64,
    refused: u64,
    /// Refusals by reason code since the last [`take_refusals`](Self::take_refusals),
    /// with the last reason of each code (its numbers).
    refusals: [(u32, Option<RefuseReason>); REFUSE_CODES],
    /// Code of the last refusal (0: none yet).
    last_refusal: u8,
    entries_stopped: bool,
    cmd_kill: bool,
    file_kill: bool,
    flatten: Option<FlattenJob>,
    persisted: PersistedRisk,
    persisted_at_ns: u64,
    /// The risk state the journal held at start.
    restored: Option<PersistedRisk>,
    actions: Vec<StopAction>,
    live_banner: Option<String>,
}

impl std::fmt::Debug for ExecCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecCore")
            .field("instance", &self.cfg.instance)
            .field("launch", &self.launch)
            .field("orders", &self.orders_sent)
            .field("open", &self.risk.open_positions())
            .finish()
    }
}

/// An exact quantity as the journal's decimal.
pub fn qty_dec(rules: &Instrument, q: Qty) -> Decimal {
    Decimal::new(q.0, rules.qty_dp)
}

/// f64 → Decimal through the shortest round-trip text (`0.132` stays `0.132`), for
/// prices and fees the exchange sent as decimals; an unusable value becomes an error,
/// never 0.
pub fn f64_dec(what: &'static str, v: f64) -> Result<Decimal> {
    use std::str::FromStr;
    if !v.is_finite() {
        return Err(StageError::Risk(shmtrader_risk::RiskError::InvalidValue {
            what,
            value: v,
        }));
    }
    Decimal::from_str(&v.to_string())
        .or_else(|_| Decimal::from_scientific(&format!("{v:e}")))
        .map_err(|_| StageError::Risk(shmtrader_risk::RiskError::InvalidValue { what, value: v }))
}

impl ExecCore {
    /// Opens (or creates) the journal, replays it into a fresh risk engine, starts or
    /// resumes the launch, and — with a venue — reconciles with the account (see the
    /// module docs). `startup` is what the venue's start-up checks found.
    pub fn open(
        cfg: ExecSettings,
        broker: Broker,
        startup: Option<Startup>,
        now_ns: u64,
    ) -> Result<(ExecCore, ReplayReport)> {
        std::fs::create_dir_all(&cfg.journal_dir)
            .map_err(|e| StageError::io(format!("creating {}", cfg.journal_dir.display()), e))?;
        let path = cfg.journal_dir.join(format!("{}.journal", cfg.instance));
        let rules: Vec<Instrument> = match &startup {
            // The exchange's own filters, so sizes round exactly as it will check them.
            Some(s) => s.instruments.clone(),
            None => crate::exec::fills::paper_rules(&cfg.symbols),
        };
        let mut params = cfg.risk;
        if let Some(s) = &startup {
            params.starting_equity = s.account.wallet.max(f64::MIN_POSITIVE);
        }
        let risk = RiskEngine::new(params, &rules)?;
        let n = cfg.symbols.len();
        let mut report = ReplayReport::default();
        let scan = if path.exists() {
            Some(read_journal(&path)?)
        } else {
            None
        };
        let (journal, _rec) = Journal::open(&path, &cfg.instance, now_ns)?;
        let (launch, new_launch) = next_launch(journal.state(), cfg.segments_created_ns, now_ns);
        let stops = cfg.stops.map(|p| StopKeeper::new(p, n));
        let budget = cfg.budget.map(OrderBudget::new);
        let mut core = ExecCore {
            risk,
            rules,
            journal,
            launch,
            broker,
            orders: OrderBook::default(),
            paper_ids: Default::default(),
            next_paper_id: 1,
            paper_trade_seq: 1,
            stops,
            budget,
            seen: HashSet::new(),
            origin: vec![None; n],
            blocks: vec![0; n],
            unattributed: Vec::new(),
            exit_backoff: Vec::new(),
            last_tick_ns: 0,
            stream_up: true,
            stream_down_at_ms: 0,
            last_poll_ns: 0,
            alerts: 0,
            fills_applied: 0,
            orders_sent: 0,
            refused: 0,
            refusals: [(0, None); REFUSE_CODES],
            last_refusal: 0,
            entries_stopped: false,
            cmd_kill: false,
            file_kill: false,
            flatten: None,
            persisted: PersistedRisk {
                peak_equity: 0.0,
                day: 0,
                day_start_equity: 0.0,
                kill_switch: false,
                drawdown_halted: false,
            },
            persisted_at_ns: 0,
            restored: None,
            actions: Vec::with_capacity(8),
            live_banner: None,
            cfg,
        };
        if let Some(scan) = scan {
            report.torn_bytes = scan.torn_bytes;
            core.replay(&scan.records, &mut report)?;
        }
        report.launch = launch;
        report.new_launch = new_launch;
        if new_launch {
            core.journal.append_durable(&Record::Launch {
                launch,
                segments_created_ns: core.cfg.segments_created_ns,
                ts_ns: now_ns,
            })?;
        }
        core.orders_sent = core.journal.state().len() as u64;
        match startup {
            Some(s) => core.reconcile_at_start(s, now_ns, &mut report)?,
            None => {
                core.settle_paper_in_flight(now_ns, &mut report)?;
                let restored = core.restored;
                core.risk.rebase(None, restored.as_ref(), now_ns);
            }
        }
        core.journal.sync()?;
        core.persist_risk(now_ns, true)?;
        Ok((core, report))
    }

    /// The risk engine (positions, stats).
    pub fn risk(&self) -> &RiskEngine {
        &self.risk
    }

    /// Orders journaled so far (including earlier launches).
    pub fn orders(&self) -> u64 {
        self.orders_sent
    }

    /// Signals refused in this run.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// A closed bar from analytics (the bars ring): see [`RiskEngine::on_bar`].
    pub fn on_bar(&mut self, b: &shmtrader_core::BarRecord) {
        self.risk.on_bar(b);
    }

    /// Code of the last refusal ([`RefuseReason::code`]; 0: none yet).
    pub fn last_refusal(&self) -> u8 {
        self.last_refusal
    }

    /// Refusals since the last call, most frequent first, as
    /// `already_positioned 2000, max_drawdown 12 (max_drawdown: 5.10 % from peak, limit
    /// 5.00 %)`; `None` if there were none. Read every few seconds for the log, so a
    /// trader sees why signals do not become orders.
    pub fn take_refusals(&mut self) -> Option<String> {
        let mut v: Vec<(u32, RefuseReason)> = self
            .refusals
            .iter_mut()
            .filter_map(|(n, r)| {
                let out = r.filter(|_| *n > 0).map(|r| (*n, r));
                *n = 0;
                out
            })
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by_key(|x| std::cmp::Reverse(x.0));
        let parts: Vec<String> = v
            .iter()
            .map(|(n, r)| {
                let detail = r.to_string();
                if detail == r.as_str() {
                    format!("{} {n}", r.as_str())
                } else {
                    format!("{} {n} ({detail})", r.as_str())
                }
            })
            .collect();
        Some(parts.join(", "))
    }

    /// Alerts raised in this run (fills of orders not placed here, stops that failed,
    /// positions the journal could not explain).
    pub fn alerts(&self) -> u64 {
        self.alerts
    }

    /// This run's launch nonce.
    pub fn launch(&self) -> u32 {
        self.launch
    }

    /// The user-data stream is up (always true for the simulated venue).
    pub fn stream_up(&self) -> bool {
        self.stream_up
    }

    /// Conditional orders resting on the exchange (or being placed / cancelled).
    pub fn open_stops(&self) -> usize {
        self.stops.as_ref().map_or(0, StopKeeper::open_count)
    }

    /// Entries are stopped by command (`stop-entries`, `flatten`).
    pub fn entries_stopped(&self) -> bool {
        self.entries_stopped
    }

    /// The per-symbol block bits.
    pub fn blocks(&self) -> &[u8] {
        &self.blocks
    }

    /// The journal's state (tests, status).
    pub fn journal_state(&self) -> &shmtrader_journal::JournalState {
        self.journal.state()
    }

    /// A summary to print before the first order of a real account, once.
    pub fn take_live_banner(&mut self) -> Option<String> {
        self.live_banner.take()
    }

    fn symbol(&self, symbol_id: u32) -> String {
        self.cfg
            .symbols
            .get(symbol_id as usize)
            .cloned()
            .unwrap_or_default()
    }

    fn rules_of(&self, symbol_id: u32) -> Option<&Instrument> {
        self.rules.get(symbol_id as usize)
    }

    /// Whether the order budget lets an order of this class go now (always, on the
    /// simulated venue).
    fn budget_allows(&mut self, class: OrderClass, now_ns: u64) -> bool {
        self.budget
            .as_mut()
            .is_none_or(|b| b.check(class, now_ns).is_ok())
    }

    /// Counts an order sent against the budget.
    fn budget_record(&mut self, now_ns: u64) {
        if let Some(b) = &mut self.budget {
            b.record(now_ns);
        }
    }

    /// Acts on one signal (its ring sequence `seq`).
    pub fn on_signal(
        &mut self,
        seq: u64,
        sig: &Signal,
        ts_ns: u64,
        now_ns: u64,
    ) -> Result<SignalResult> {
        if self.journal.state().has_signal(self.launch, seq, 0) {
            return Ok(SignalResult::Duplicate);
        }
        let Some(req) = EntryRequest::from_signal(sig, seq) else {
            return Ok(SignalResult::Invalid);
        };
        let refuse = |core: &mut ExecCore, r: RefuseReason| {
            core.refused += 1;
            let code = r.code();
            if let Some(slot) = core.refusals.get_mut(code as usize) {
                slot.0 += 1;
                slot.1 = Some(r);
            }
            core.last_refusal = code;
            Ok(SignalResult::Refused(r))
        };
        if self.entries_stopped || self.cmd_kill {
            return refuse(self, RefuseReason::KillSwitch);
        }
        if self
            .blocks
            .get(req.symbol_id as usize)
            .is_some_and(|b| *b != 0)
        {
            return refuse(self, RefuseReason::SymbolBlocked);
        }
        if let (Broker::Venue(v), Some(b)) = (&self.broker, &mut self.budget) {
            let (w, at) = v.used_weight();
            b.observe_weight(w, at);
        }
        if !self.budget_allows(OrderClass::Entry, now_ns) {
            return refuse(self, RefuseReason::OrderRate);
        }
        if let Some(k) = &self.stops {
            // Room for this position's stop and take-profit under the exchange's 200.
            if k.open_count() + 2 > MAX_OPEN_CONDITIONALS {
                return refuse(self, RefuseReason::NoStopCapacity);
            }
        }
        match self.risk.evaluate(&req, ts_ns) {
            Decision::Refused(r) => refuse(self, r),
            Decision::Approved(intent) => {
                let coid = client_order_id(&self.cfg.instance, self.launch, seq, 0);
                self.place(
                    coid,
                    intent.symbol_id,
                    intent.side,
                    intent.qty,
                    Role::Entry,
                    seq,
                    0,
                    ts_ns,
                    now_ns,
                )?;
                Ok(SignalResult::Ordered)
            }
        }
    }

    /// Journals the intent durably, then hands the market order to the broker.
    #[allow(clippy::too_many_arguments)]
    fn place(
        &mut self,
        coid: String,
        symbol_id: u32,
        side: Side,
        qty: Qty,
        role: Role,
        signal_seq: u64,
        leg: u8,
        ts_ns: u64,
        now_ns: u64,
    ) -> Result<()> {
        let rules = self
            .rules_of(symbol_id)
            .ok_or(StageError::NoSlot {
                idx: symbol_id as usize,
            })?
            .clone();
        let launch = parse_client_order_id(&coid).map_or(self.launch, |p| p.launch);
        let reduce_only = !matches!(role, Role::Entry);
        let intent = Intent {
            client_order_id: coid.clone(),
            symbol_id,
            symbol: self.symbol(symbol_id),
            side,
            order_type: OrderType::Market,
            qty: qty_dec(&rules, qty),
            limit_price: None,
            reduce_only,
            signal_seq,
            leg,
            ts_ns,
            launch,
            trigger_price: None,
            working_type: WorkingType::ContractPrice,
        };
        // Durable before the order leaves: a crash after this line finds the intent.
        self.journal.append_durable(&Record::Intent(intent))?;
        self.budget_record(now_ns);
        self.orders_sent += 1;
        self.orders.insert(LiveOrder::sent(
            coid.clone(),
            symbol_id,
            side,
            qty,
            role,
            now_ns,
        ));
        match &mut self.broker {
            Broker::Paper(b) => {
                let id = self.next_paper_id;
                self.next_paper_id += 1;
                let order = shmtrader_risk::PaperOrder {
                    id,
                    symbol_id,
                    side,
                    qty: rules.qty_f64(qty),
                    kind: shmtrader_risk::PaperOrderKind::Market,
                    reduce_only,
                };
                b.submit(order, ts_ns)?;
                self.paper_ids.insert(id, coid.clone());
                if let Some(o) = self.orders.get_mut(&coid) {
                    o.awaiting_answer = false;
                }
            }
            Broker::Venue(v) => v.send(Command::Place(OrderReq {
                coid: coid.clone(),
                symbol_id,
                side,
                qty,
                reduce_only,
            }))?,
        }
        self.journal.append(&Record::Sent {
            client_order_id: coid,
            ts_ns: now_ns,
        })?;
        Ok(())
    }

    /// Sends a reduce-only market exit for an [`shmtrader_risk::ExitIntent`], as the
    /// next exit leg of the signal that opened the position.
    fn send_exit(&mut self, x: shmtrader_risk::ExitIntent, ts_ns: u64, now_ns: u64) -> Result<()> {
        let sym = x.symbol_id;
        let Some((launch, seq)) = self.origin.get(sym as usize).copied().flatten() else {
            // Not a position this instance opened: nothing here may touch it.
            self.risk.exit_order_done(sym);
            return Ok(());
        };
        if !self.budget_allows(OrderClass::Protective, now_ns) {
            self.risk.exit_order_done(sym);
            self.exit_backoff
                .push((sym, self.last_tick_ns.saturating_add(1_000_000_000)));
            return Ok(());
        }
        let Some(leg) = self.journal.state().next_exit_leg(launch, seq) else {
            return Err(StageError::NoLegLeft {
                launch,
                signal_seq: seq,
                kind: "exit",
            });
        };
        let coid = client_order_id(&self.cfg.instance, launch, seq, leg);
        self.place(
            coid,
            sym,
            x.side,
            x.qty,
            Role::Exit(x.reason),
            seq,
            leg,
            ts_ns,
            now_ns,
        )
    }

    /// Marks, runs client-side exits and (simulated venue) paper fills for one trade;
    /// returns closed trades.
    pub fn on_tick(&mut self, t: &Tick, now_ns: u64, out: &mut Vec<Outcome>) -> Result<()> {
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
        let diverged = self
            .blocks
            .get(t.symbol_id as usize)
            .is_some_and(|b| b & block::DIVERGED != 0);
        if let Some(x) = self.risk.on_tick(t.symbol_id, t.price, t.exchange_ts_ns) {
            if diverged {
                self.risk.exit_order_done(t.symbol_id);
            } else {
                self.send_exit(x, t.exchange_ts_ns, now_ns)?;
            }
        }
        self.paper_fills(t, out)
    }

    /// A mark price from the venue's mark-price stream: unrealized PnL at the mark.
    pub fn on_mark(&mut self, symbol_id: u32, mark: f64, ts_ns: u64) {
        self.risk.on_mark(symbol_id, mark, ts_ns);
    }

    /// Turns the kill switch (the file) on or off; on: every own position is closed
    /// at market and entries are refused.
    pub fn set_kill_switch(&mut self, on: bool, ts_ns: u64, now_ns: u64) -> Result<()> {
        self.file_kill = on;
        self.apply_kill(ts_ns, now_ns)
    }

    fn apply_kill(&mut self, ts_ns: u64, now_ns: u64) -> Result<()> {
        let on = self.file_kill || self.cmd_kill;
        if on == self.risk.kill_switch() {
            return Ok(());
        }
        tracing::warn!(on, "kill switch changed");
        self.risk.set_kill_switch(on);
        if on {
            let mut exits = Vec::new();
            self.risk.flatten_all(ts_ns, |x| exits.push(x));
            for x in exits {
                self.send_exit(x, ts_ns, now_ns)?;
            }
        }
        self.persist_risk(now_ns, true)
    }

    /// Positions as control-block rows: signed size, entry, mark, unrealized PnL.
    pub fn position_rows(&self) -> Vec<[f64; 4]> {
        (0..self.cfg.symbols.len() as u32)
            .map(|i| match self.risk.position(i) {
                Some(p) if !p.is_flat() => {
                    [p.size(), p.entry_px(), p.mark_px(), p.unrealized_pnl()]
                }
                _ => [0.0; 4],
            })
            .collect()
    }

    /// Venue events are waiting (one atomic load; the loop polls only then).
    pub fn venue_pending(&self) -> bool {
        match &self.broker {
            Broker::Venue(v) => v.pending(),
            Broker::Paper(_) => false,
        }
    }

    /// Market orders sent and not answered yet.
    pub fn in_flight(&self) -> usize {
        self.orders.len()
    }
}

/// Binance's limit of open conditional orders across all symbols (2025-12-29).
pub const MAX_OPEN_CONDITIONALS: usize = 200;

/// Exit reason for a fill of an exchange-held stop.
pub(crate) const STOP_EXIT: ExitReason = ExitReason::Stop;

#[cfg(test)]
mod tests;
