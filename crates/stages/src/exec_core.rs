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
//! engine, which rebuilds positions, realized PnL and fees exactly. Orders that were
//! in flight in the paper broker when the process died never filled (the simulated
//! broker lived in that process): they are resolved as `NotFound` in the journal.

use crate::error::{Result, StageError};
use shmtrader_core::{Outcome, Side, Signal, Tick};
use shmtrader_journal::{
    client_order_id, read_journal, Decimal, Fill, Intent, Journal, OrderType, Record, Resolution,
};
use shmtrader_risk::paper::{PaperFill, PaperOrder, PaperOrderKind};
use shmtrader_risk::{
    Decision, EntryRequest, FillReport, PaperBroker, RiskEngine, RiskParams, SymbolRules,
};
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

/// Exchange rules for the paper venue: the mock exchange's published filters, or
/// conservative defaults for unknown symbols.
pub fn paper_rules(symbols: &[String]) -> Result<Vec<SymbolRules>> {
    symbols
        .iter()
        .map(|s| {
            let r = match shmtrader_mockex::spec::find_spec(s) {
                Some(sp) => SymbolRules::from_strs(
                    &shmtrader_mockex::spec::fmt_units(sp.tick, sp.price_dp),
                    &shmtrader_mockex::spec::fmt_units(sp.step, sp.qty_dp),
                    &shmtrader_mockex::spec::fmt_units(sp.min_qty, sp.qty_dp),
                    &format!("{}", sp.min_notional),
                ),
                None => SymbolRules::from_strs("0.01", "0.001", "0.001", "5"),
            };
            r.map_err(|e| StageError::Other(format!("symbol rules for {s}: {e}")))
        })
        .collect()
}

/// One order to place (leg 0 = entry, 1.. = exits).
struct OrderSpec {
    coid: String,
    symbol_id: u32,
    side: Side,
    qty: Decimal,
    reduce_only: bool,
    signal_seq: u64,
    leg: u8,
}

struct Live {
    coid: String,
    qty: Decimal,
    symbol_id: u32,
    side: Side,
    entry: bool,
}

/// Risk + broker + journal.
pub struct ExecCore {
    instance: String,
    symbols: Vec<String>,
    risk: RiskEngine,
    broker: PaperBroker,
    journal: Journal,
    live: HashMap<u64, Live>,
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
    ) -> Result<(ExecCore, ReplayReport)> {
        std::fs::create_dir_all(journal_dir)
            .map_err(|e| StageError::io(format!("creating {}", journal_dir.display()), e))?;
        let path = journal_dir.join(format!("{instance}.journal"));
        let rules = paper_rules(symbols)?;
        let mut risk = RiskEngine::new(params, &rules)
            .map_err(|e| StageError::Other(format!("risk parameters: {e}")))?;
        let broker = PaperBroker::new(&params);
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
        // Orders in flight in the dead process's paper broker never filled.
        let lost: Vec<String> = journal
            .state()
            .in_flight()
            .map(|o| o.intent.client_order_id.clone())
            .collect();
        for coid in lost {
            journal
                .append(&Record::Resolved {
                    client_order_id: coid,
                    resolution: Resolution::NotFound,
                    ts_ns: now_ns,
                })
                .map_err(|e| StageError::Other(format!("journal: {e}")))?;
            report.resolved_lost += 1;
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
                next_id: 1,
                fill_seq: next_fill.max(1),
                orders,
                refused: 0,
            },
            report,
        ))
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
            qty: o.qty,
            limit_price: None,
            reduce_only: o.reduce_only,
            signal_seq: o.signal_seq,
            leg: o.leg,
            ts_ns,
        };
        // Durable before the order leaves: a crash after this line finds the intent.
        self.journal
            .append_durable(&Record::Intent(intent))
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        self.orders += 1;
        let id = self.next_id;
        self.next_id += 1;
        let order = PaperOrder {
            id,
            symbol_id: o.symbol_id,
            side: o.side,
            qty: f(o.qty),
            kind: PaperOrderKind::Market,
            reduce_only: o.reduce_only,
        };
        self.broker
            .submit(order, ts_ns)
            .map_err(|e| StageError::Other(format!("paper broker: {e}")))?;
        self.journal
            .append(&Record::Sent {
                client_order_id: o.coid.clone(),
                ts_ns,
            })
            .map_err(|e| StageError::Other(format!("journal: {e}")))?;
        let entry = o.leg == 0;
        self.live.insert(
            id,
            Live {
                coid: o.coid,
                qty: o.qty,
                symbol_id: o.symbol_id,
                side: o.side,
                entry,
            },
        );
        Ok(())
    }

    /// Acts on one signal (its ring sequence `seq`).
    pub fn on_signal(&mut self, seq: u64, sig: &Signal, ts_ns: u64) -> Result<SignalResult> {
        if self.journal.state().has_signal(seq, 0) {
            return Ok(SignalResult::Duplicate);
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
        qty: Decimal,
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
        if let Some(x) = self.risk.on_tick(t.symbol_id, t.price, t.exchange_ts_ns) {
            self.send_exit(x.symbol_id, x.side, x.qty, x.signal_seq, t.exchange_ts_ns)?;
        }
        if self.broker.pending() == 0 {
            return Ok(());
        }
        let mut fills: Vec<PaperFill> = Vec::new();
        self.broker
            .on_tick(t.symbol_id, t.price, t.exchange_ts_ns, |pf| fills.push(pf));
        for pf in fills {
            let Some(live) = self.live.remove(&pf.id) else {
                continue;
            };
            let trade_id = self.fill_seq;
            self.fill_seq += 1;
            let fill = Fill {
                client_order_id: live.coid.clone(),
                trade_id,
                qty: live.qty,
                price: dec(pf.price),
                fee: dec(pf.fee),
                maker: false,
                ts_ns: pf.ts_ns,
            };
            self.journal
                .append_durable(&Record::Fill(fill))
                .map_err(|e| StageError::Other(format!("journal: {e}")))?;
            let fr = FillReport {
                symbol_id: live.symbol_id,
                side: live.side,
                qty: pf.qty,
                price: pf.price,
                fee: pf.fee,
                ts_ns: pf.ts_ns,
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
        }
        Ok(())
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
