//! Start-up against a real account: before the first order, the journal's view is made
//! equal to the exchange's, or the difference is reported and contained.
//!
//! Order of work (each REST answer is an event handled by the same code as at run
//! time; the I/O thread answers in the order asked):
//! 1. every order the journal has in flight is queried by client id, every stop it
//!    has resting is queried by client algo id (a triggered stop names its order);
//! 2. the account's trades of each symbol since the journal's last record are read
//!    from REST and applied once each (fills missed while down, a stop that fired, a
//!    liquidation) — attributed by order id, else journaled as someone else's;
//! 3. a snapshot of positions, balance and resting conditional orders is compared with
//!    the journal: a position the journal cannot explain blocks entries on its symbol
//!    and is not touched; equity becomes the account's;
//! 4. resting stops of own positions are adopted, and every own position without a
//!    live stop gets one — before any entry.

use super::{block, ExecCore, LiveOrder, ReplayReport, Role};
use crate::error::{Result, StageError};
use crate::venue::{Command, OrderReport, Refusal, Startup, VenueEvent};
use shmtrader_journal::{instance_tag, parse_client_order_id, OrderStatus, Record, Resolution};
use shmtrader_risk::{RestingStop, StopKind};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// How long start-up waits for the venue's answers.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// Binance serves at most 7 days of trades per query window.
const MAX_TRADE_LOOKBACK_MS: u64 = 7 * 24 * 3_600_000;

impl ExecCore {
    pub(super) fn reconcile_at_start(
        &mut self,
        s: Startup,
        now_ns: u64,
        report: &mut ReplayReport,
    ) -> Result<()> {
        for (i, cap) in s.notional_caps.iter().enumerate() {
            self.risk.set_symbol_notional_cap(i as u32, *cap);
        }
        let fills_before = self.fills_applied;
        let mut waiting: HashSet<String> = HashSet::new();
        let mut terminal: HashMap<String, OrderReport> = HashMap::new();
        // 1. In-flight orders and resting stops, as the exchange has them.
        let st = self.journal.state();
        let in_flight: Vec<(String, u32, bool)> = st
            .in_flight()
            .map(|e| {
                (
                    e.intent.client_order_id.clone(),
                    e.intent.symbol_id,
                    e.intent.order_type.is_conditional(),
                )
            })
            .collect();
        let resting: Vec<(String, u32)> = st
            .open_algos()
            .map(|e| (e.intent.client_order_id.clone(), e.intent.symbol_id))
            .collect();
        let last_ns = st
            .orders()
            .map(|e| e.last_ts_ns)
            .chain(st.external_fills().map(|x| x.ts_ns))
            .max();
        for (coid, sym, algo) in &in_flight {
            let cmd = if *algo {
                Command::QueryAlgo {
                    symbol_id: *sym,
                    coid: coid.clone(),
                }
            } else {
                Command::QueryOrder {
                    symbol_id: *sym,
                    coid: coid.clone(),
                }
            };
            self.send(cmd)?;
            waiting.insert(format!("q:{coid}"));
        }
        for (coid, sym) in &resting {
            if in_flight.iter().any(|(c, _, _)| c == coid) {
                continue;
            }
            self.send(Command::QueryAlgo {
                symbol_id: *sym,
                coid: coid.clone(),
            })?;
            waiting.insert(format!("q:{coid}"));
        }
        // 2. The account's trades since the journal's last record, on every symbol where
        // this instance has something at stake (a position, an order in flight, a
        // resting stop): what filled, triggered or was liquidated while it was down. A
        // symbol with nothing of ours can only hold someone else's position, which the
        // snapshot shows.
        if let Some(last) = last_ns {
            let now_ms = now_ns / 1_000_000;
            let since = (last / 1_000_000)
                .saturating_sub(60_000)
                .max(now_ms.saturating_sub(MAX_TRADE_LOOKBACK_MS));
            for sym in 0..self.cfg.symbols.len() as u32 {
                let at_stake = self.risk.position(sym).is_some_and(|p| !p.is_flat())
                    || in_flight.iter().any(|(_, s, _)| *s == sym)
                    || resting.iter().any(|(_, s)| *s == sym);
                if !at_stake {
                    continue;
                }
                self.send(Command::FetchTrades {
                    symbol_id: sym,
                    order_id: None,
                    since_ms: Some(since),
                })?;
                waiting.insert(format!("t:{sym}"));
            }
        }
        let mut snapshot: Option<Box<crate::venue::AccountSnapshot>> = None;
        let mut outcomes = Vec::new();
        let end = Instant::now() + START_TIMEOUT;
        while !waiting.is_empty() {
            let Some(ev) = self.recv_until(end) else {
                return Err(StageError::Refused(Refusal::Step {
                    step: "reconciliation",
                    symbol: None,
                    code: None,
                    detail: format!(
                        "no answer from the venue within {} s for {} request(s)",
                        START_TIMEOUT.as_secs(),
                        waiting.len()
                    ),
                }));
            };
            match &ev {
                VenueEvent::Order(r) => {
                    let asked = waiting.remove(&format!("q:{}", r.coid));
                    let done = !matches!(r.status, OrderStatus::New | OrderStatus::PartiallyFilled);
                    terminal.extend((asked && done).then(|| (r.coid.clone(), r.clone())));
                }
                VenueEvent::NotFound { coid } => {
                    waiting.remove(&format!("q:{coid}"));
                }
                VenueEvent::Algo(r) => {
                    waiting.remove(&format!("q:{}", r.coid));
                }
                VenueEvent::TradesFetched {
                    symbol_id,
                    order_id: None,
                } => {
                    waiting.remove(&format!("t:{symbol_id}"));
                }
                VenueEvent::Snapshot(sn) if waiting.remove("s") => {
                    snapshot = Some(sn.clone());
                }
                VenueEvent::Failed {
                    command,
                    coid,
                    cause,
                } => {
                    return Err(StageError::Refused(Refusal::Step {
                        step: command,
                        symbol: coid.clone(),
                        code: None,
                        detail: cause.clone(),
                    }))
                }
                _ => {}
            }
            self.handle_event(ev, now_ns, &mut outcomes)?;
        }
        // Executions nobody here placed.
        self.settle_unattributed(now_ns, 0, &mut outcomes)?;
        report.outcomes.append(&mut outcomes);
        // In-flight orders the exchange finished: resolved with what they executed.
        for (coid, _, algo) in &in_flight {
            let Some(e) = self.journal.state().get(coid) else {
                continue;
            };
            if !e.state.in_flight() {
                report.settled += 1;
                continue;
            }
            if *algo {
                continue;
            }
            let resolution = match terminal.get(coid) {
                Some(r) if r.executed.0 > 0 && e.filled_qty >= e.intent.qty => Resolution::Filled,
                Some(r) if r.status == OrderStatus::Rejected => Resolution::Rejected,
                Some(_) => Resolution::Canceled,
                None => {
                    return Err(StageError::Refused(Refusal::StillOpen {
                        coid: coid.clone(),
                    }))
                }
            };
            self.journal.append(&Record::Resolved {
                client_order_id: coid.clone(),
                resolution,
                ts_ns: now_ns,
            })?;
            self.orders.remove(coid);
            report.settled += 1;
        }
        // 3. Positions: the journal's against the exchange's (the start-up snapshot; a
        // fresh one if they differ, since a stop may have triggered in between).
        let mismatch = |core: &ExecCore, snap: &crate::venue::AccountSnapshot| {
            (0..core.cfg.symbols.len() as u32).any(|sym| {
                let ours = core.risk.position(sym).map_or(0.0, |p| p.size());
                let theirs = snap
                    .positions
                    .iter()
                    .find(|p| p.symbol_id == sym)
                    .map_or(0.0, |p| p.amt);
                (ours - theirs).abs() > 1e-9 * ours.abs().max(theirs.abs()).max(1.0)
            })
        };
        if mismatch(self, &s.account) {
            self.send(Command::Snapshot)?;
            waiting.insert("s".into());
            while !waiting.is_empty() {
                let Some(ev) = self.recv_until(end) else {
                    return Err(StageError::Refused(Refusal::Step {
                        step: "account snapshot",
                        symbol: None,
                        code: None,
                        detail: "no answer from the venue".into(),
                    }));
                };
                if let VenueEvent::Snapshot(sn) = &ev {
                    if waiting.remove("s") {
                        snapshot = Some(sn.clone());
                    }
                }
                self.handle_event(ev, now_ns, &mut outcomes)?;
            }
            self.settle_unattributed(now_ns, 0, &mut outcomes)?;
            report.outcomes.append(&mut outcomes);
        }
        report.recovered_fills = self.fills_applied - fills_before;
        let snap = snapshot.map_or(s.account.clone(), |b| *b);
        for sym in 0..self.cfg.symbols.len() as u32 {
            let ours = self.risk.position(sym).map_or(0.0, |p| p.size());
            let theirs = snap
                .positions
                .iter()
                .find(|p| p.symbol_id == sym)
                .map_or(0.0, |p| p.amt);
            let tol = 1e-9 * ours.abs().max(theirs.abs()).max(1.0);
            let own = self.origin.get(sym as usize).copied().flatten().is_some();
            let name = self.symbol(sym);
            if (ours - theirs).abs() > tol {
                self.alerts += 1;
                report.foreign.push(name.clone());
                if ours == 0.0 {
                    tracing::error!(symbol = %name, exchange = theirs, "ALERT: the account holds a position this instance did not open (a manual trade?); entries on the symbol are blocked and the position is left alone");
                    self.block(sym, block::FOREIGN, true);
                } else {
                    tracing::error!(symbol = %name, journal = ours, exchange = theirs, "ALERT: the journal's position differs from the exchange's and the account's trades do not explain it; entries, exits and stops on the symbol are suspended — flatten it on the exchange or restore the journal");
                    self.block(sym, block::DIVERGED, true);
                }
            } else if ours != 0.0 && !own {
                report.foreign.push(name.clone());
                self.block(sym, block::FOREIGN, true);
            }
        }
        // Equity is the account's; the peak and the day's start are the journal's.
        let restored = self.restored;
        self.risk
            .rebase(Some(snap.wallet), restored.as_ref(), now_ns);
        // 4. Stops: adopt what rests, then give every own position its stop.
        let resting_now: HashSet<&str> = snap.open_algos.iter().map(|a| a.coid.as_str()).collect();
        let tag = instance_tag(&self.cfg.instance);
        for a in &snap.open_algos {
            let ours = self.journal.state().get(&a.coid).is_some();
            if !ours {
                if parse_client_order_id(&a.coid).is_some_and(|p| p.instance_part == tag) {
                    tracing::warn!(coid = %a.coid, symbol = %self.symbol(a.symbol_id), "a conditional order of this instance rests on the exchange but the journal does not know it; it is left alone");
                }
                continue;
            }
            let Some(e) = self.journal.state().get(&a.coid) else {
                continue;
            };
            let kind = match e.intent.order_type {
                shmtrader_journal::OrderType::TakeProfitMarket => StopKind::TakeProfit,
                _ => StopKind::Stop,
            };
            let Some(rules) = self.rules_of(a.symbol_id).cloned() else {
                continue;
            };
            let (Ok(qty), Ok(trigger)) = (
                rules.parse_qty(&e.intent.qty.to_string()),
                rules.parse_price(&e.intent.trigger_price.unwrap_or_default().to_string()),
            ) else {
                continue;
            };
            let stop = RestingStop {
                coid: a.coid.clone(),
                kind,
                side: e.intent.side,
                qty,
                trigger,
                acked: true,
                placed_at_ns: now_ns,
            };
            if let Some(k) = &mut self.stops {
                k.adopt(a.symbol_id, stop);
            }
            self.orders.insert(LiveOrder {
                exchange_id: e.exchange_order_id,
                awaiting_answer: false,
                ..LiveOrder::sent(
                    a.coid.clone(),
                    a.symbol_id,
                    e.intent.side,
                    qty,
                    Role::Protective,
                    now_ns,
                )
            });
            report.stops_adopted += 1;
        }
        // Journal stops that no longer rest and were not reported ended: ask again
        // at run time (housekeeping); they no longer protect anything.
        for (coid, _) in &resting {
            if !resting_now.contains(coid.as_str()) {
                tracing::info!(%coid, "a stop the journal had resting is no longer on the exchange");
            }
        }
        let before = self.orders_sent;
        for sym in 0..self.cfg.symbols.len() as u32 {
            self.reconcile_stops(sym, now_ns)?;
        }
        report.stops_placed = self.orders_sent - before;
        self.live_banner = Some(format!(
            "{} account: wallet {:.2} USDT, available {:.2} USDT; symbols {}; leverage {}x; base size {:.0} USDT per position, at most {} open; stops rest on the exchange",
            s.mode,
            snap.wallet,
            snap.available,
            self.cfg.symbols.join(","),
            self.cfg.risk.leverage,
            self.cfg.risk.base_position_usd,
            self.cfg.risk.max_concurrent_positions,
        ));
        Ok(())
    }

    fn recv_until(&self, end: Instant) -> Option<VenueEvent> {
        let super::Broker::Venue(v) = &self.broker else {
            return None;
        };
        let left = end.checked_duration_since(Instant::now())?;
        v.recv_timeout(left)
    }
}
