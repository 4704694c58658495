//! Periodic work and control: the stops' actions, late fills, the stream-down REST
//! poll, commands from the control plane (stop entries, resume, flatten, kill switch),
//! and journaling the risk state that must outlive a launch.

use super::{block, qty_dec, Broker, ExecCore, FlattenJob, LiveOrder, Role};
use crate::error::{Result, StageError};
use crate::venue::{AlgoReq, Command};
use shmtrader_core::{ExitReason, Outcome};
use shmtrader_journal::{client_order_id, Intent, OrderType, Record, RiskState};
use shmtrader_risk::{
    stop_target, take_profit_target, OrderClass, StopAction, StopKind, StopTarget,
};
use shmtrader_shm::{Command as ControlCommand, CommandReport, CommandStatus};

fn report(status: CommandStatus, positions_left: u32, message: String) -> CommandReport {
    CommandReport {
        positions_left_open: positions_left,
        ..CommandReport::new(status, message)
    }
}

/// An execution whose order nobody claims within this is someone else's (ns).
const ATTRIBUTION_GRACE_NS: u64 = 1_000_000_000;
/// While the stream is down, open orders and stops are polled over REST this often.
const STREAM_DOWN_POLL_NS: u64 = 1_000_000_000;
/// A flatten that has not finished after this reports what is left.
const FLATTEN_TIMEOUT_NS: u64 = 15_000_000_000;
/// A flatten's exits that did not go (budget, venue refusal) are issued again this often.
const FLATTEN_RETRY_NS: u64 = 1_000_000_000;
/// The peak equity is journaled when it moved by this fraction (and at most every 10 s).
const PEAK_STEP: f64 = 1e-3;

impl ExecCore {
    /// Periodic work (call every ~100 ms): stop timeouts and trailing moves, late
    /// fills, the REST poll while the stream is down, unattributed executions, the
    /// risk state journal.
    pub fn housekeeping(&mut self, now_ns: u64, out: &mut Vec<Outcome>) -> Result<()> {
        self.settle_unattributed(now_ns, ATTRIBUTION_GRACE_NS, out)?;
        for sym in 0..self.cfg.symbols.len() as u32 {
            self.reconcile_stops(sym, now_ns)?;
        }
        self.fetch_late_fills(now_ns)?;
        if !self.stream_up && now_ns.saturating_sub(self.last_poll_ns) >= STREAM_DOWN_POLL_NS {
            self.last_poll_ns = now_ns;
            self.query_open_orders()?;
        }
        self.persist_risk(now_ns, false)
    }

    /// Orders the exchange finished whose fills have not all arrived: ask REST.
    fn fetch_late_fills(&mut self, now_ns: u64) -> Result<()> {
        let timeout = self.cfg.fill_timeout_ns;
        let late: Vec<(u32, u64, String)> = self
            .orders
            .iter()
            .filter(|o| {
                o.missing_fills()
                    && now_ns.saturating_sub(o.final_at_ns) >= timeout
                    && now_ns.saturating_sub(o.fetched_at_ns) >= timeout
            })
            .filter_map(|o| Some((o.symbol_id, o.exchange_id?, o.coid.clone())))
            .collect();
        for (sym, id, coid) in late {
            tracing::warn!(%coid, "fills of a finished order are late on the stream; reading them from REST");
            if let Some(o) = self.orders.get_mut(&coid) {
                o.fetched_at_ns = now_ns;
            }
            self.send(Command::FetchTrades {
                symbol_id: sym,
                order_id: Some(id),
                since_ms: None,
            })?;
        }
        Ok(())
    }

    /// Brings a symbol's exchange-held stops in line with its position.
    pub(super) fn reconcile_stops(&mut self, sym: u32, now_ns: u64) -> Result<()> {
        if self.stops.is_none() {
            return Ok(());
        }
        let (stop, tp) = self.stop_targets(sym);
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(k) = &mut self.stops {
            k.reconcile(sym, stop, tp, now_ns, &mut acts);
        }
        let r = self.run_stop_actions(&mut acts, now_ns);
        self.actions = acts;
        r
    }

    /// The stop and take-profit an own position needs (`None` when flat, when the
    /// position is not this instance's, or while the symbol is diverged).
    fn stop_targets(&self, sym: u32) -> (Option<StopTarget>, Option<StopTarget>) {
        let own = self.origin.get(sym as usize).copied().flatten().is_some();
        let diverged = self
            .blocks
            .get(sym as usize)
            .is_some_and(|b| b & block::DIVERGED != 0);
        let (Some(p), Some(rules), Some(plan), Some(sp)) = (
            self.risk.position(sym),
            self.rules_of(sym),
            self.risk.exit_plan(sym),
            self.stops.as_ref().map(|k| *k.params()),
        ) else {
            return (None, None);
        };
        if !own || diverged || p.is_flat() {
            return (None, None);
        }
        let qty = rules.steps_to_qty(p.abs_steps());
        (
            stop_target(plan, p.size(), qty, rules, &sp),
            take_profit_target(plan, p.size(), qty, rules, &sp),
        )
    }

    /// Carries out what the stop keeper decided.
    pub(super) fn run_stop_actions(
        &mut self,
        acts: &mut Vec<StopAction>,
        now_ns: u64,
    ) -> Result<()> {
        for a in acts.drain(..) {
            match a {
                StopAction::Place {
                    symbol_id,
                    kind,
                    target,
                } => self.place_stop(symbol_id, kind, target, now_ns)?,
                StopAction::Cancel { symbol_id, coid } => {
                    self.send(Command::CancelAlgo { symbol_id, coid })?;
                }
                StopAction::CloseAtMarket { symbol_id, why } => {
                    self.alerts += 1;
                    tracing::error!(symbol = %self.symbol(symbol_id), ?why, "ALERT: the position cannot be protected by an exchange stop; closing it at market");
                    if let Some(x) =
                        self.risk
                            .exit_now(symbol_id, ExitReason::Stop, self.last_tick_ns)
                    {
                        self.send_exit(x, self.last_tick_ns, now_ns)?;
                    } else if let Some(k) = &mut self.stops {
                        // An exit is already in flight: it closes the position.
                        k.close_failed(symbol_id);
                    }
                }
            }
        }
        Ok(())
    }

    /// Journals a conditional order durably, then sends it.
    fn place_stop(
        &mut self,
        sym: u32,
        kind: StopKind,
        target: StopTarget,
        now_ns: u64,
    ) -> Result<()> {
        let Some((launch, seq)) = self.origin.get(sym as usize).copied().flatten() else {
            return Ok(());
        };
        let Some(leg) = self.journal.state().next_algo_leg(launch, seq) else {
            return Err(StageError::NoLegLeft {
                launch,
                signal_seq: seq,
                kind: "stop",
            });
        };
        let rules = self
            .rules_of(sym)
            .ok_or(StageError::NoSlot { idx: sym as usize })?
            .clone();
        let coid = client_order_id(&self.cfg.instance, launch, seq, leg);
        let intent = Intent {
            client_order_id: coid.clone(),
            symbol_id: sym,
            symbol: self.symbol(sym),
            side: target.side,
            order_type: match kind {
                StopKind::Stop => OrderType::StopMarket,
                StopKind::TakeProfit => OrderType::TakeProfitMarket,
            },
            qty: qty_dec(&rules, target.qty),
            limit_price: None,
            reduce_only: true,
            signal_seq: seq,
            leg,
            ts_ns: now_ns,
            launch,
            trigger_price: Some(shmtrader_journal::Decimal::new(
                target.trigger.0,
                rules.price_dp,
            )),
            working_type: self.cfg.working_type,
        };
        if !self.budget_allows(OrderClass::Protective, now_ns) {
            tracing::warn!(%coid, "order budget exhausted; the stop goes anyway (protective orders are never held back)");
        }
        self.journal.append_durable(&Record::Intent(intent))?;
        self.budget_record(now_ns);
        self.orders_sent += 1;
        self.orders.insert(LiveOrder::sent(
            coid.clone(),
            sym,
            target.side,
            target.qty,
            Role::Protective,
            now_ns,
        ));
        if let Some(k) = &mut self.stops {
            k.placed(sym, kind, target, coid.clone(), now_ns);
        }
        self.send(Command::PlaceAlgo(AlgoReq {
            coid: coid.clone(),
            symbol_id: sym,
            kind,
            side: target.side,
            qty: target.qty,
            trigger: target.trigger,
            working_type: self.cfg.working_type,
        }))?;
        self.journal.append(&Record::Sent {
            client_order_id: coid,
            ts_ns: now_ns,
        })?;
        Ok(())
    }

    /// Journals the risk state when it changed in a way a relaunch must know about
    /// (kill switch, day, halt; the peak when it moved by 0.1 %, at most every 10 s),
    /// or always with `force`.
    pub(super) fn persist_risk(&mut self, now_ns: u64, force: bool) -> Result<()> {
        let p = self.risk.persisted();
        let last = self.persisted;
        let peak_moved = last.peak_equity <= 0.0
            || (p.peak_equity - last.peak_equity).abs() > PEAK_STEP * last.peak_equity.abs();
        let changed = p.kill_switch != last.kill_switch
            || p.day != last.day
            || p.drawdown_halted != last.drawdown_halted;
        let due = peak_moved && now_ns.saturating_sub(self.persisted_at_ns) >= 10_000_000_000;
        if !(force || changed || due) || !p.peak_equity.is_finite() {
            return Ok(());
        }
        if p.drawdown_halted && !last.drawdown_halted {
            self.alerts += 1;
            tracing::error!(drawdown = self.risk.drawdown(), peak = p.peak_equity, "ALERT: drawdown limit reached; new entries halted (the peak is journaled: a relaunch keeps the halt)");
        }
        self.journal.append(&Record::RiskState(RiskState {
            peak_equity: p.peak_equity,
            day: p.day,
            day_start_equity: p.day_start_equity,
            kill_switch: p.kill_switch,
            halted: p.drawdown_halted,
            ts_ns: now_ns,
        }))?;
        self.persisted = p;
        self.persisted_at_ns = now_ns;
        Ok(())
    }

    /// A command from the control plane; `Some(report)` when it is done at once,
    /// `None` when it completes later ([`poll_command`](Self::poll_command)).
    pub fn command(
        &mut self,
        seq: u64,
        cmd: ControlCommand,
        now_ns: u64,
    ) -> Result<Option<CommandReport>> {
        let ts = self.last_tick_ns.max(1);
        match cmd {
            ControlCommand::StopEntries => {
                self.entries_stopped = true;
                tracing::warn!("entries stopped by command");
                Ok(Some(report(
                    CommandStatus::Done,
                    self.risk.open_positions(),
                    "new entries refused until `resume`; positions and their stops stay".into(),
                )))
            }
            ControlCommand::Resume => {
                self.entries_stopped = false;
                self.cmd_kill = false;
                self.apply_kill(ts, now_ns)?;
                let msg = if self.risk.kill_switch() {
                    "entries resumed by command, but the kill-switch file still exists: entries stay refused"
                } else {
                    "entries resumed"
                };
                tracing::warn!("{msg}");
                let status = if self.risk.kill_switch() {
                    CommandStatus::Refused
                } else {
                    CommandStatus::Done
                };
                Ok(Some(report(status, self.risk.open_positions(), msg.into())))
            }
            ControlCommand::KillSwitch { on } => {
                self.cmd_kill = on;
                self.apply_kill(ts, now_ns)?;
                Ok(Some(report(
                    CommandStatus::Done,
                    self.risk.open_positions(),
                    format!(
                        "kill switch {}",
                        if on {
                            "on: closing positions, entries refused"
                        } else {
                            "off by command (the file, if it exists, still holds it on)"
                        }
                    ),
                )))
            }
            ControlCommand::Flatten => {
                self.entries_stopped = true;
                let positions = self.risk.open_positions();
                let stops = self.open_stops() as u32;
                tracing::warn!(positions, stops, "flatten requested");
                let mut exits = Vec::new();
                self.risk.flatten_all(ts, |x| exits.push(x));
                for x in exits {
                    self.send_exit(x, ts, now_ns)?;
                }
                self.flatten = Some(FlattenJob {
                    seq,
                    started_ns: now_ns,
                    positions,
                    stops,
                    pushed_ns: now_ns,
                });
                Ok(None)
            }
        }
    }

    /// Progress of a flatten: `Some((seq, report))` once every own position is closed
    /// and its stops are cancelled, or when it timed out.
    pub fn poll_command(&mut self, now_ns: u64) -> Result<Option<(u64, CommandReport)>> {
        let Some(job) = self.flatten.clone() else {
            return Ok(None);
        };
        let own_open = (0..self.cfg.symbols.len() as u32)
            .filter(|s| self.origin.get(*s as usize).copied().flatten().is_some())
            .count() as u32;
        let stops = self.open_stops() as u32;
        let done = own_open == 0 && stops == 0;
        let timed_out = now_ns.saturating_sub(job.started_ns) > FLATTEN_TIMEOUT_NS;
        if !(done || timed_out) {
            if now_ns.saturating_sub(job.pushed_ns) >= FLATTEN_RETRY_NS {
                // Positions whose exit is in flight are skipped by the engine.
                let ts = self.last_tick_ns.max(1);
                let mut exits = Vec::new();
                self.risk.flatten_all(ts, |x| exits.push(x));
                for x in exits {
                    tracing::warn!(symbol = x.symbol_id, "flatten: issuing the exit again");
                    self.send_exit(x, ts, now_ns)?;
                }
                if let Some(j) = &mut self.flatten {
                    j.pushed_ns = now_ns;
                }
            }
            return Ok(None);
        }
        self.flatten = None;
        let closed = job.positions.saturating_sub(own_open);
        let report = CommandReport {
            status: if done {
                CommandStatus::Done
            } else {
                CommandStatus::Failed
            },
            orders_canceled: 0,
            conditional_canceled: job.stops.saturating_sub(stops),
            positions_closed: closed,
            positions_left_open: own_open,
            message: if done {
                format!("flat: {closed} position(s) closed, {} stop(s) cancelled; entries refused until `resume`", job.stops.saturating_sub(stops))
            } else {
                format!("timed out with {own_open} position(s) and {stops} stop(s) still open; entries refused until `resume`")
            },
        };
        tracing::warn!(message = %report.message, "flatten finished");
        Ok(Some((job.seq, report)))
    }

    /// Re-checks a flatten after a fill or a cancel.
    pub(super) fn flatten_progress(&mut self, _now_ns: u64) -> Result<()> {
        Ok(())
    }

    /// The executor stops: a last risk-state record and a sync.
    pub fn close(&mut self, now_ns: u64) -> Result<()> {
        self.persist_risk(now_ns, true)?;
        self.journal.sync()?;
        if let Broker::Venue(v) = &self.broker {
            v.shutdown();
        }
        Ok(())
    }
}
