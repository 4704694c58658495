//! Fills: replaying the journal's, applying the exchange's and the paper broker's —
//! each execution journaled durably before it changes a position, and applied once.

use super::{block, f64_dec, qty_dec, Broker, ExecCore, ReplayReport, Role, STOP_EXIT};
use crate::error::{Result, StageError};
use crate::venue::TradeReport;
use shmtrader_core::instrument::{catalog, Instrument, Qty};
use shmtrader_core::{Outcome, Side};
use shmtrader_journal::{ExternalFill, ExternalKind, Fill, Record, Resolution};
use shmtrader_risk::paper::PaperFill;
use shmtrader_risk::FillReport;

/// Binance's code for a rejected reduce-only order (-2022 ReduceOnly Order is rejected).
const REDUCE_ONLY_REJECTED: i32 = -2022;

/// Exchange rules for the simulated venue: the catalog's real filters (the ones the mock
/// exchange publishes), or the generic rules for symbols it does not list.
pub fn paper_rules(symbols: &[String]) -> Vec<Instrument> {
    symbols
        .iter()
        .map(|s| catalog::instrument_or_generic(s))
        .collect()
}

fn dec_f64(d: shmtrader_journal::Decimal) -> f64 {
    use std::str::FromStr;
    f64::from_str(&d.to_string()).unwrap_or(f64::NAN)
}

impl ExecCore {
    /// Re-applies every journaled fill (own and external) in file order to the fresh
    /// risk engine, and restores the risk state that outlives a launch.
    pub(super) fn replay(
        &mut self,
        records: &[(u64, Record)],
        report: &mut ReplayReport,
    ) -> Result<()> {
        let mut risk_state = None;
        for (_, rec) in records {
            match rec {
                Record::Fill(fl) => {
                    let Some(e) = self.journal.state().get(&fl.client_order_id) else {
                        return Err(StageError::OrphanFill {
                            client_order_id: fl.client_order_id.clone(),
                        });
                    };
                    let (sym, side) = (e.intent.symbol_id, e.intent.side);
                    let origin = (e.intent.launch, e.intent.signal_seq);
                    let fr = FillReport {
                        symbol_id: sym,
                        side,
                        qty: dec_f64(fl.qty),
                        price: dec_f64(fl.price),
                        fee: dec_f64(fl.fee),
                        ts_ns: fl.ts_ns,
                        realized_pnl: fl.realized_pnl.map(dec_f64),
                    };
                    self.seen.insert((sym, fl.trade_id));
                    if let Some(o) = self.apply_to_risk(&fr, Some(origin), false)? {
                        report.outcomes.push(o);
                    }
                    report.fills += 1;
                }
                Record::ExternalFill(x) => {
                    let fr = FillReport {
                        symbol_id: x.symbol_id,
                        side: x.side,
                        qty: dec_f64(x.qty),
                        price: dec_f64(x.price),
                        fee: dec_f64(x.fee),
                        ts_ns: x.ts_ns,
                        realized_pnl: Some(dec_f64(x.realized_pnl)),
                    };
                    self.seen.insert((x.symbol_id, x.trade_id));
                    if let Some(o) = self.apply_to_risk(&fr, None, false)? {
                        report.outcomes.push(o);
                    }
                    report.external_fills += 1;
                }
                Record::RiskState(s) => risk_state = Some(*s),
                _ => {}
            }
        }
        if let Some(s) = risk_state {
            self.restored = Some(shmtrader_risk::PersistedRisk {
                peak_equity: s.peak_equity,
                day: s.day,
                day_start_equity: s.day_start_equity,
                kill_switch: s.kill_switch,
                drawdown_halted: s.halted,
            });
            self.cmd_kill = s.kill_switch;
        }
        // Remember which exchange ids are ours.
        let known: Vec<(u64, String)> = self
            .journal
            .state()
            .orders()
            .flat_map(|e| {
                let c = e.intent.client_order_id.clone();
                [e.exchange_order_id, e.actual_order_id]
                    .into_iter()
                    .flatten()
                    .map(move |id| (id, c.clone()))
            })
            .collect();
        for (id, c) in known {
            self.orders.remember(id, &c);
        }
        Ok(())
    }

    /// Applies a fill to the risk engine (marking at the fill price first when no
    /// market price is known yet) and keeps the position's origin.
    pub(super) fn apply_to_risk(
        &mut self,
        fr: &FillReport,
        origin: Option<(u32, u64)>,
        from_stop: bool,
    ) -> Result<Option<Outcome>> {
        let sym = fr.symbol_id as usize;
        let was_flat = self.risk.position(fr.symbol_id).is_none_or(|p| p.is_flat());
        if self.last_tick_ns == 0 {
            let _ = self.risk.on_tick(fr.symbol_id, fr.price, fr.ts_ns);
        }
        if from_stop && !was_flat {
            self.risk.note_exit(fr.symbol_id, STOP_EXIT);
        }
        let outcome = self.risk.on_fill(fr)?;
        let now_flat = self.risk.position(fr.symbol_id).is_none_or(|p| p.is_flat());
        if let Some(slot) = self.origin.get_mut(sym) {
            if now_flat {
                *slot = None;
            } else if was_flat || outcome.is_some() {
                // A new trade (from flat, or the far side of a flip) belongs to whoever
                // placed the fill that opened it.
                *slot = origin;
            }
        }
        Ok(outcome)
    }

    /// One execution from the venue: applied once, to this instance's order if it is
    /// one (by client id, order id or a triggered stop's order id), else held briefly
    /// for attribution and then applied as an execution of someone else's order.
    pub(super) fn on_trade(
        &mut self,
        t: TradeReport,
        now_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        if self.seen.contains(&(t.symbol_id, t.trade_id)) {
            return Ok(());
        }
        if let Some(coid) = self.attribute(&t) {
            return self.apply_own_fill(&coid, &t, now_ns, out);
        }
        let liquidation = t.orig_type == "LIQUIDATION"
            || t.coid
                .as_deref()
                .is_some_and(|c| ExternalKind::from_client_order_id(c) != ExternalKind::Unknown);
        if liquidation || t.from_rest {
            return self.apply_external(&t, now_ns, out);
        }
        // The order id may still be learnt (an ALGO_UPDATE naming a stop's order can
        // follow its fill): wait a moment before calling it someone else's.
        if !self
            .unattributed
            .iter()
            .any(|(u, _)| u.symbol_id == t.symbol_id && u.trade_id == t.trade_id)
        {
            self.unattributed.push((t, now_ns));
        }
        Ok(())
    }

    /// This instance's client order id for an execution, if it is ours.
    pub(super) fn attribute(&self, t: &TradeReport) -> Option<String> {
        let st = self.journal.state();
        if let Some(c) = t.coid.as_deref() {
            if st.get(c).is_some() {
                return Some(c.to_string());
            }
        }
        if let Some(c) = self.orders.coid_of(t.order_id) {
            return Some(c.to_string());
        }
        st.by_exchange_id(t.order_id)
            .or_else(|| st.by_actual_order_id(t.order_id))
            .map(|e| e.intent.client_order_id.clone())
    }

    /// Journals and applies an execution of one of this instance's orders.
    pub(super) fn apply_own_fill(
        &mut self,
        coid: &str,
        t: &TradeReport,
        now_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        let Some(sym) = self.journal.state().get(coid).map(|e| e.intent.symbol_id) else {
            return Ok(());
        };
        if self.journal.state().has_fill(coid, t.trade_id) {
            self.seen.insert((sym, t.trade_id));
            return Ok(());
        }
        self.journal_and_apply(coid, t, t.ts_ms.saturating_mul(1_000_000), out)?;
        self.seen.insert((sym, t.trade_id));
        self.fills_applied += 1;
        self.check_complete(coid, now_ns)?;
        self.reconcile_stops(sym, now_ns)
    }

    /// The one way an execution of an own order (venue or paper) becomes a journaled
    /// [`Fill`] and a position change: durable first, then the risk engine.
    fn journal_and_apply(
        &mut self,
        coid: &str,
        t: &TradeReport,
        ts_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        let Some(e) = self.journal.state().get(coid) else {
            return Ok(());
        };
        let (sym, side, origin, conditional) = (
            e.intent.symbol_id,
            e.intent.side,
            (e.intent.launch, e.intent.signal_seq),
            e.intent.order_type.is_conditional(),
        );
        let rules = self
            .rules_of(sym)
            .ok_or(StageError::NoSlot { idx: sym as usize })?
            .clone();
        // The paper broker knows no realized PnL (NaN): the risk engine computes it.
        let realized = t.realized_pnl.is_finite().then_some(t.realized_pnl);
        let fill = Fill {
            client_order_id: coid.to_string(),
            trade_id: t.trade_id,
            qty: qty_dec(&rules, t.qty),
            price: f64_dec("fill price", t.price)?,
            fee: f64_dec("fill fee", t.fee_usdt)?,
            maker: t.maker,
            ts_ns,
            realized_pnl: realized.map(|r| f64_dec("realized pnl", r)).transpose()?,
        };
        self.journal.append_durable(&Record::Fill(fill))?;
        let fr = FillReport {
            symbol_id: sym,
            side,
            qty: rules.qty_f64(t.qty),
            price: t.price,
            fee: t.fee_usdt,
            ts_ns,
            realized_pnl: realized,
        };
        if let Some(o) = self.apply_to_risk(&fr, Some(origin), conditional)? {
            out.push(o);
        }
        if let Some(o) = self.orders.get_mut(coid) {
            o.applied = Qty(o.applied.0 + t.qty.0);
        }
        Ok(())
    }

    /// Journals and applies an execution of an order this instance did not place, and
    /// raises an alert: the position changed under the executor.
    pub(super) fn apply_external(
        &mut self,
        t: &TradeReport,
        now_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        let sym = t.symbol_id;
        if self
            .journal
            .state()
            .has_external_fill(t.order_id, t.trade_id)
        {
            self.seen.insert((sym, t.trade_id));
            return Ok(());
        }
        let rules = self
            .rules_of(sym)
            .ok_or(StageError::NoSlot { idx: sym as usize })?
            .clone();
        let coid = t.coid.clone().unwrap_or_default();
        let kind = if t.orig_type == "LIQUIDATION" {
            ExternalKind::Liquidation
        } else {
            ExternalKind::from_client_order_id(&coid)
        };
        let rec = ExternalFill {
            client_order_id: coid.clone(),
            exchange_order_id: t.order_id,
            symbol_id: sym,
            symbol: self.symbol(sym),
            side: t.side,
            trade_id: t.trade_id,
            qty: qty_dec(&rules, t.qty),
            price: f64_dec("fill price", t.price)?,
            fee: f64_dec("fill fee", t.fee_usdt)?,
            realized_pnl: f64_dec("realized pnl", t.realized_pnl)?,
            kind,
            ts_ns: t.ts_ms.saturating_mul(1_000_000),
        };
        self.journal.append_durable(&Record::ExternalFill(rec))?;
        self.seen.insert((sym, t.trade_id));
        self.fills_applied += 1;
        self.alerts += 1;
        tracing::error!(
            symbol = %self.symbol(sym),
            ?kind,
            side = ?t.side,
            qty = %rules.fmt_qty(t.qty),
            price = t.price,
            order_id = t.order_id,
            client_order_id = %coid,
            "ALERT: an order this instance did not place filled on the account; the position is updated"
        );
        let fr = FillReport {
            symbol_id: sym,
            side: t.side,
            qty: rules.qty_f64(t.qty),
            price: t.price,
            fee: t.fee_usdt,
            ts_ns: t.ts_ms.saturating_mul(1_000_000),
            realized_pnl: Some(t.realized_pnl),
        };
        let own = self.origin.get(sym as usize).copied().flatten();
        if let Some(o) = self.apply_to_risk(&fr, None, false)? {
            out.push(o);
        }
        // A manual trade on a symbol this instance trades: its entries stop, and what
        // it did not open it does not touch. A liquidation or ADL of our own position
        // keeps the position ours (stops follow what is left).
        if kind == ExternalKind::Unknown {
            if own.is_none() {
                self.block(sym, block::FOREIGN, true);
            }
        } else if let Some(slot) = self.origin.get_mut(sym as usize) {
            let flat = self.risk.position(sym).is_none_or(|p| p.is_flat());
            *slot = if flat { None } else { own };
        }
        self.reconcile_stops(sym, now_ns)
    }

    /// Executions whose order nobody claimed within the grace period are someone
    /// else's.
    pub(super) fn settle_unattributed(
        &mut self,
        now_ns: u64,
        grace_ns: u64,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        if self.unattributed.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.unattributed);
        for (t, at) in pending {
            if let Some(coid) = self.attribute(&t) {
                self.apply_own_fill(&coid, &t, now_ns, out)?;
            } else if now_ns.saturating_sub(at) >= grace_ns {
                self.apply_external(&t, now_ns, out)?;
            } else {
                self.unattributed.push((t, at));
            }
        }
        Ok(())
    }

    /// Simulated venue: fills of the paper broker on this trade print.
    pub(super) fn paper_fills(
        &mut self,
        t: &shmtrader_core::Tick,
        out: &mut Vec<Outcome>,
    ) -> Result<()> {
        let Broker::Paper(b) = &mut self.broker else {
            return Ok(());
        };
        if b.pending() == 0 {
            return Ok(());
        }
        let mut fills: Vec<PaperFill> = Vec::new();
        b.on_tick(t.symbol_id, t.price, t.exchange_ts_ns, |pf| fills.push(pf));
        for pf in fills {
            let Some(coid) = self.paper_ids.remove(&pf.id) else {
                continue;
            };
            let Some(o) = self.orders.get(&coid).cloned() else {
                continue;
            };
            let rules = self
                .rules_of(o.symbol_id)
                .ok_or(StageError::NoSlot {
                    idx: o.symbol_id as usize,
                })?
                .clone();
            let mut qty = pf.qty;
            let mut fee = pf.fee;
            if o.role != Role::Entry {
                // Reduce-only, as the exchange (and the backtest) enforce it.
                match self.risk.reduce_only_qty(o.symbol_id, o.side, pf.qty) {
                    None => {
                        self.journal.append(&Record::Rejected {
                            client_order_id: coid.clone(),
                            code: REDUCE_ONLY_REJECTED,
                            msg: "reduce-only order would open or add to a position".into(),
                            ts_ns: pf.ts_ns,
                        })?;
                        self.orders.remove(&coid);
                        self.risk.exit_order_done(o.symbol_id);
                        continue;
                    }
                    Some(q) if q < pf.qty => {
                        fee = pf.fee * q / pf.qty;
                        qty = q;
                    }
                    Some(_) => {}
                }
            }
            let steps = rules.floor_steps(qty);
            let trade = TradeReport {
                coid: Some(coid.clone()),
                order_id: pf.id,
                symbol_id: o.symbol_id,
                side: o.side,
                trade_id: self.paper_trade_seq,
                qty: rules.steps_to_qty(steps),
                price: pf.price,
                fee_usdt: fee,
                realized_pnl: f64::NAN,
                maker: false,
                ts_ms: pf.ts_ns / 1_000_000,
                from_rest: false,
                orig_type: "MARKET".into(),
            };
            self.paper_trade_seq += 1;
            if let Some(o) = self.orders.get_mut(&coid) {
                o.final_qty = Some(trade.qty);
            }
            self.journal_and_apply(&coid, &trade, pf.ts_ns, out)?;
            self.check_complete(&coid, pf.ts_ns)?;
        }
        Ok(())
    }

    /// Simulated venue: orders in flight when the last process died never filled (the
    /// broker lived in that process).
    pub(super) fn settle_paper_in_flight(
        &mut self,
        now_ns: u64,
        report: &mut ReplayReport,
    ) -> Result<()> {
        let lost: Vec<String> = self
            .journal
            .state()
            .in_flight()
            .map(|o| o.intent.client_order_id.clone())
            .collect();
        for coid in lost {
            self.journal.append(&Record::Resolved {
                client_order_id: coid,
                resolution: Resolution::NotFound,
                ts_ns: now_ns,
            })?;
            report.settled += 1;
        }
        Ok(())
    }

    /// An order is done once the exchange finished it and all its fills are applied:
    /// its reservation in the risk engine is released, and a remainder that expired is
    /// journaled.
    pub(super) fn check_complete(&mut self, coid: &str, _now_ns: u64) -> Result<()> {
        let Some(o) = self.orders.get(coid) else {
            return Ok(());
        };
        if o.role == Role::Protective || !o.complete() {
            return Ok(());
        }
        let Some(o) = self.orders.remove(coid) else {
            return Ok(());
        };
        match o.role {
            Role::Entry => self.risk.entry_order_done(o.symbol_id),
            Role::Exit(_) => self.risk.exit_order_done(o.symbol_id),
            Role::Protective => {}
        }
        Ok(())
    }

    /// Sets or clears a block bit of a symbol and the risk engine's entry block.
    pub(super) fn block(&mut self, sym: u32, bit: u8, on: bool) {
        if let Some(b) = self.blocks.get_mut(sym as usize) {
            let before = *b;
            if on {
                *b |= bit;
            } else {
                *b &= !bit;
            }
            if before != *b {
                tracing::warn!(symbol = %self.cfg.symbols.get(sym as usize).cloned().unwrap_or_default(), blocks = *b, "entries on the symbol are {}", if *b != 0 { "blocked" } else { "allowed again" });
            }
            let blocked = *b != 0;
            self.risk.block_entries(sym, blocked);
        }
    }

    /// The side of a position (for tests and status).
    pub fn position_side(&self, symbol_id: u32) -> Option<Side> {
        self.risk.position(symbol_id).and_then(|p| p.side())
    }
}
