//! What the venue reports: answers to the executor's requests and what the user-data
//! stream pushes. Each event is journaled before it changes state.

use super::{block, qty_dec, ExecCore, Role};
use crate::error::{Result, StageError};
use crate::venue::{AlgoReport, BalanceReason, Command, OrderReport, VenueEvent};
use shmtrader_core::instrument::Qty;
use shmtrader_core::Outcome;
use shmtrader_journal::{AlgoStatus, OrderStatus, Record, Resolution};

/// Binance's "ReduceOnly Order is rejected.": the position the exit was for is gone.
const REDUCE_ONLY_REJECTED: i64 = -2022;

fn terminal(s: OrderStatus) -> bool {
    !matches!(s, OrderStatus::New | OrderStatus::PartiallyFilled)
}

fn algo_status_str(s: AlgoStatus) -> &'static str {
    s.as_binance()
}

impl ExecCore {
    /// Takes every event the venue has for us; returns how many.
    pub fn poll_venue(&mut self, now_ns: u64, out: &mut Vec<Outcome>) -> Result<usize> {
        let mut n = 0;
        loop {
            let ev = match &self.broker {
                super::Broker::Venue(v) => v.poll(),
                super::Broker::Paper(_) => None,
            };
            let Some(ev) = ev else {
                return Ok(n);
            };
            n += 1;
            self.handle_event(ev, now_ns, out)?;
        }
    }

    /// One venue event.
    pub(super) fn handle_event(
        &mut self,
        ev: VenueEvent,
        now_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        match ev {
            VenueEvent::Placed {
                coid,
                order_id,
                status,
                executed,
            } => {
                self.journal.append(&Record::Ack {
                    client_order_id: coid.clone(),
                    exchange_order_id: order_id,
                    status,
                    ts_ns: now_ns,
                })?;
                self.orders.set_exchange_id(&coid, order_id);
                if let Some(o) = self.orders.get_mut(&coid) {
                    o.awaiting_answer = false;
                    if terminal(status) {
                        o.final_qty = Some(executed);
                        o.final_at_ns = now_ns;
                    }
                }
                self.check_complete(&coid, now_ns)
            }
            VenueEvent::Rejected { coid, code, msg } => self.on_rejected(&coid, code, msg, now_ns),
            VenueEvent::Unsettled { coid, cause } => Err(StageError::Unsettled {
                client_order_id: coid,
                cause,
            }),
            VenueEvent::AlgoPlaced { coid, algo_id } => {
                self.journal.append(&Record::Ack {
                    client_order_id: coid.clone(),
                    exchange_order_id: algo_id,
                    status: OrderStatus::New,
                    ts_ns: now_ns,
                })?;
                self.orders.set_exchange_id(&coid, algo_id);
                if let Some(o) = self.orders.get_mut(&coid) {
                    o.awaiting_answer = false;
                }
                let mut acts = std::mem::take(&mut self.actions);
                if let Some(k) = &mut self.stops {
                    k.acked(&coid, &mut acts);
                }
                self.run_stop_actions(&mut acts, now_ns)?;
                self.actions = acts;
                Ok(())
            }
            VenueEvent::AlgoRejected { coid, code, msg } => {
                if code == REDUCE_ONLY_REJECTED {
                    // The position closed before its stop arrived: nothing to protect.
                    tracing::info!(%coid, "a stop found no position left to reduce");
                } else {
                    tracing::error!(%coid, code, %msg, "a protective stop was refused by the exchange");
                    self.alerts += 1;
                }
                self.journal.append(&Record::Rejected {
                    client_order_id: coid.clone(),
                    code: code.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
                    msg,
                    ts_ns: now_ns,
                })?;
                self.orders.remove(&coid);
                let mut acts = std::mem::take(&mut self.actions);
                if let Some(k) = &mut self.stops {
                    k.rejected(&coid, code, now_ns, &mut acts);
                }
                self.run_stop_actions(&mut acts, now_ns)?;
                self.actions = acts;
                Ok(())
            }
            VenueEvent::AlgoCanceled { coid, found } => {
                if let Some(k) = &mut self.stops {
                    k.cancelled(&coid);
                }
                if !found {
                    // No longer resting: ask what became of it (it may have triggered).
                    if let Some(e) = self.journal.state().get(&coid) {
                        let sym = e.intent.symbol_id;
                        self.send(Command::QueryAlgo {
                            symbol_id: sym,
                            coid,
                        })?;
                    }
                } else {
                    self.record_algo_status(&coid, AlgoStatus::Canceled, None, now_ns)?;
                    self.orders.remove(&coid);
                }
                self.flatten_progress(now_ns)
            }
            VenueEvent::Order(r) => self.on_order_report(r, now_ns),
            VenueEvent::NotFound { coid } => self.on_not_found(&coid, now_ns),
            VenueEvent::Trade(t) => self.on_trade(t, now_ns, out),
            VenueEvent::TradesFetched { .. } => Ok(()),
            VenueEvent::Algo(r) => self.on_algo_report(r, now_ns, out),
            VenueEvent::Balance { wallet, reason } => {
                if reason == BalanceReason::Funding {
                    let paid = wallet - self.risk.wallet_balance();
                    tracing::info!(funding = paid, "funding settled");
                    self.risk.book_funding(paid);
                }
                self.risk.set_wallet_balance(wallet);
                Ok(())
            }
            VenueEvent::Stream {
                up,
                reconnect,
                reason,
            } => self.on_stream(up, reconnect, reason, now_ns),
            VenueEvent::Rules {
                symbol_id,
                instrument,
                trading,
            } => {
                self.on_rules(symbol_id, *instrument, trading);
                Ok(())
            }
            VenueEvent::Snapshot(s) => {
                self.risk.set_wallet_balance(s.wallet);
                Ok(())
            }
            VenueEvent::Failed {
                command,
                coid,
                cause,
            } => {
                tracing::warn!(command, coid = ?coid, %cause, "venue request failed; it is retried");
                Ok(())
            }
        }
    }

    pub(super) fn send(&self, cmd: Command) -> Result<()> {
        match &self.broker {
            super::Broker::Venue(v) => v.send(cmd),
            super::Broker::Paper(_) => Ok(()),
        }
    }

    fn on_rejected(&mut self, coid: &str, code: i64, msg: String, now_ns: u64) -> Result<()> {
        tracing::warn!(%coid, code, %msg, "order rejected");
        self.journal.append(&Record::Rejected {
            client_order_id: coid.to_string(),
            code: code.clamp(i32::MIN as i64, i32::MAX as i64) as i32,
            msg,
            ts_ns: now_ns,
        })?;
        let Some(o) = self.orders.remove(coid) else {
            return Ok(());
        };
        match o.role {
            Role::Entry => self.risk.entry_order_done(o.symbol_id),
            Role::Exit(_) if code == REDUCE_ONLY_REJECTED => {
                // Nothing left to reduce (a stop or a liquidation got there first).
                self.risk.exit_order_done(o.symbol_id);
            }
            Role::Exit(_) => {
                // Retry a second of market time later, not on the next tick.
                self.exit_backoff
                    .push((o.symbol_id, self.last_tick_ns.saturating_add(1_000_000_000)));
            }
            Role::Protective => {}
        }
        if let Some(k) = &mut self.stops {
            k.close_failed(o.symbol_id);
        }
        Ok(())
    }

    fn on_order_report(&mut self, r: OrderReport, now_ns: u64) -> Result<()> {
        let coid = if self.journal.state().get(&r.coid).is_some() {
            Some(r.coid.clone())
        } else {
            self.orders.coid_of(r.order_id).map(str::to_string)
        };
        let Some(coid) = coid else {
            // Someone else's order (a liquidation, a manual order): its fills say
            // what it did.
            return Ok(());
        };
        let known = self
            .journal
            .state()
            .get(&coid)
            .and_then(|e| e.exchange_order_id);
        let conditional = self
            .journal
            .state()
            .get(&coid)
            .is_some_and(|e| e.intent.order_type.is_conditional());
        if conditional {
            // The matching-engine order of a triggered stop: its trades are attributed
            // by order id; the stop's own state comes from ALGO_UPDATE.
            self.orders.set_actual_id(&coid, r.order_id);
            return Ok(());
        }
        if known.is_none() {
            self.journal.append(&Record::Ack {
                client_order_id: coid.clone(),
                exchange_order_id: r.order_id,
                status: r.status,
                ts_ns: now_ns,
            })?;
            self.orders.set_exchange_id(&coid, r.order_id);
        }
        if terminal(r.status) {
            let ordered = self.journal.state().get(&coid).map(|e| e.intent.qty);
            if let Some(o) = self.orders.get_mut(&coid) {
                o.awaiting_answer = false;
                if o.final_qty.is_none() {
                    o.final_qty = Some(r.executed);
                    o.final_at_ns = now_ns;
                }
            }
            let rules = self.rules_of(r.symbol_id).cloned();
            let short = match (ordered, rules) {
                (Some(q), Some(rules)) => qty_dec(&rules, r.executed) < q,
                _ => false,
            };
            let already = self
                .journal
                .state()
                .get(&coid)
                .is_some_and(|e| e.canceled || e.resolution.is_some());
            if short && !already && r.status != OrderStatus::Rejected {
                // The remainder expired (a market order out of liquidity) or was
                // cancelled: the order is over with what it executed.
                self.journal.append(&Record::Canceled {
                    client_order_id: coid.clone(),
                    ts_ns: now_ns,
                })?;
            }
            if r.status == OrderStatus::Rejected && r.executed == Qty(0) {
                return self.on_rejected(
                    &coid,
                    0,
                    "rejected by the matching engine".into(),
                    now_ns,
                );
            }
        }
        self.check_complete(&coid, now_ns)
    }

    fn on_not_found(&mut self, coid: &str, now_ns: u64) -> Result<()> {
        let Some(e) = self.journal.state().get(coid) else {
            return Ok(());
        };
        if !e.state.in_flight() {
            return Ok(());
        }
        let sym = e.intent.symbol_id;
        let role = self.orders.get(coid).map(|o| o.role);
        self.journal.append(&Record::Resolved {
            client_order_id: coid.to_string(),
            resolution: Resolution::NotFound,
            ts_ns: now_ns,
        })?;
        self.orders.remove(coid);
        match role {
            Some(Role::Entry) => self.risk.entry_order_done(sym),
            Some(Role::Exit(_)) => self.risk.exit_order_done(sym),
            _ => {}
        }
        Ok(())
    }

    pub(super) fn record_algo_status(
        &mut self,
        coid: &str,
        status: AlgoStatus,
        actual: Option<u64>,
        now_ns: u64,
    ) -> Result<()> {
        let Some(e) = self.journal.state().get(coid) else {
            return Ok(());
        };
        if !e.intent.order_type.is_conditional() {
            return Ok(());
        }
        let changed =
            e.algo_status != Some(status) || (actual.is_some() && e.actual_order_id != actual);
        let ended = e.algo_status.is_some_and(AlgoStatus::is_terminal);
        if changed && !ended {
            self.journal.append(&Record::AlgoUpdate {
                client_order_id: coid.to_string(),
                status,
                actual_order_id: actual,
                ts_ns: now_ns,
            })?;
        }
        Ok(())
    }

    fn on_algo_report(&mut self, r: AlgoReport, now_ns: u64, out: &mut Vec<Outcome>) -> Result<()> {
        let Some(e) = self.journal.state().get(&r.coid) else {
            return Ok(());
        };
        let sym = e.intent.symbol_id;
        self.record_algo_status(&r.coid, r.status, r.actual_order_id, now_ns)?;
        if let Some(id) = r.actual_order_id {
            self.orders.set_actual_id(&r.coid, id);
            self.orders.remember(id, &r.coid);
        }
        let open = self.risk.position(sym).is_some_and(|p| !p.is_flat());
        let mut acts = std::mem::take(&mut self.actions);
        if let Some(k) = &mut self.stops {
            k.status(&r.coid, algo_status_str(r.status), open, &mut acts);
        }
        match r.status {
            AlgoStatus::Triggering | AlgoStatus::Triggered => {
                tracing::info!(coid = %r.coid, symbol = %self.symbol(sym), "exchange stop triggered");
                self.risk.note_exit(sym, super::STOP_EXIT);
                if let Some(id) = r.actual_order_id {
                    // Its fills may already be waiting for this attribution.
                    self.send(Command::FetchTrades {
                        symbol_id: sym,
                        order_id: Some(id),
                        since_ms: None,
                    })?;
                }
            }
            AlgoStatus::Finished => {
                self.orders.remove(&r.coid);
                self.risk.exit_order_done(sym);
                if let Some(id) = r.actual_order_id {
                    self.send(Command::FetchTrades {
                        symbol_id: sym,
                        order_id: Some(id),
                        since_ms: None,
                    })?;
                }
            }
            AlgoStatus::Canceled | AlgoStatus::Expired | AlgoStatus::Rejected => {
                self.orders.remove(&r.coid);
                if r.status != AlgoStatus::Canceled && open {
                    self.alerts += 1;
                    tracing::error!(coid = %r.coid, status = ?r.status, reason = %r.reason, symbol = %self.symbol(sym), "ALERT: the exchange ended a protective stop while its position is open");
                }
            }
            AlgoStatus::New => {
                if let Some(o) = self.orders.get_mut(&r.coid) {
                    o.awaiting_answer = false;
                }
            }
        }
        self.settle_unattributed(now_ns, u64::MAX, out)?;
        self.run_stop_actions(&mut acts, now_ns)?;
        self.actions = acts;
        self.flatten_progress(now_ns)
    }

    fn on_stream(&mut self, up: bool, reconnect: bool, reason: String, now_ns: u64) -> Result<()> {
        if !up {
            if self.stream_up {
                tracing::warn!(%reason, "user-data stream down; REST covers fills until it is back");
                self.stream_up = false;
                self.stream_down_at_ms = now_ns / 1_000_000;
            }
            return Ok(());
        }
        let was_down = !self.stream_up;
        self.stream_up = true;
        if reconnect || was_down {
            // Events may have been missed: the account's trades since the stream went
            // down (a margin of 10 s before), resting stops and in-flight orders.
            let since = self
                .stream_down_at_ms
                .saturating_sub(10_000)
                .max(now_ns / 1_000_000 - 3_600_000);
            tracing::info!(
                since_ms = since,
                "user-data stream reconnected; reconciling from REST"
            );
            for sym in 0..self.cfg.symbols.len() as u32 {
                self.send(Command::FetchTrades {
                    symbol_id: sym,
                    order_id: None,
                    since_ms: Some(since),
                })?;
            }
            self.query_open_orders()?;
            self.send(Command::Snapshot)?;
        }
        Ok(())
    }

    /// Asks the venue for the state of every order and stop still open here.
    pub(super) fn query_open_orders(&self) -> Result<()> {
        for o in self.orders.iter() {
            let cmd = if o.role == Role::Protective {
                Command::QueryAlgo {
                    symbol_id: o.symbol_id,
                    coid: o.coid.clone(),
                }
            } else {
                Command::QueryOrder {
                    symbol_id: o.symbol_id,
                    coid: o.coid.clone(),
                }
            };
            self.send(cmd)?;
        }
        Ok(())
    }

    fn on_rules(&mut self, sym: u32, inst: shmtrader_core::Instrument, trading: bool) {
        let Some(cur) = self.rules.get(sym as usize) else {
            return;
        };
        if inst != *cur {
            let step_changed =
                inst.market_lot.step != cur.market_lot.step || inst.qty_dp != cur.qty_dp;
            tracing::warn!(symbol = %inst.symbol, step_changed, "the venue changed the symbol's rules");
            if step_changed {
                // Positions are counted in steps of the old size: no new entries until
                // a restart re-reads them.
                self.alerts += 1;
                self.block(sym, block::RULES_CHANGED, true);
            } else if let Some(r) = self.rules.get_mut(sym as usize) {
                *r = inst;
            }
        }
        self.block(sym, block::NOT_TRADING, !trading);
    }
}
