//! Protective stops that rest on the exchange: what to place, move, cancel, and when to
//! give up and close at market.
//!
//! Client-side exits ([`crate::ExitPlan`], checked on every trade) are the fast path. The
//! exchange-held STOP_MARKET (an algo order, reduce-only with a quantity) is the floor:
//! if the executor or its host dies, the exchange still closes the position. So every
//! open position must have one, acknowledged by the exchange, and anything that leaves a
//! position without one is handled, not logged:
//! - no acknowledgement within `ack_timeout_ns` → close at market;
//! - the stop refused (-2021 "would immediately trigger", -4130 conflicting stop, a
//!   margin check) or reported REJECTED / EXPIRED / CANCELED by the exchange while the
//!   position is open → close at market;
//! - a trailing stop is moved by placing the new stop first and cancelling the old one
//!   only once the new one is acknowledged (never a moment without a stop), at most once
//!   per `replace_min_interval_ns`; a change of side or a larger size is replaced at once;
//! - once the position is flat, its stops are cancelled — after the closing fill, never
//!   before it.
//!
//! The exchange stop sits `extra_atr` ATRs beyond the client stop, so the client exit
//! normally acts first. Pure logic: the executor feeds position changes, acks and status
//! updates with the time as an argument, and carries out the [`StopAction`]s.

use crate::exits::ExitPlan;
use shmtrader_core::instrument::{Instrument, Price, Qty, Rounding};
use shmtrader_core::Side;

/// Binance's "ReduceOnly Order is rejected.".
const REDUCE_ONLY_REJECTED: i64 = -2022;
/// After a -2022, how long no stop is placed on the symbol (ns).
const NOTHING_TO_REDUCE_HOLD_NS: u64 = 1_000_000_000;

/// A stop-market or a take-profit-market.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopKind {
    /// STOP_MARKET at the protective stop.
    Stop,
    /// TAKE_PROFIT_MARKET at the take-profit level.
    TakeProfit,
}

/// The conditional order a position should have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopTarget {
    /// Side of the stop order (opposite of the position).
    pub side: Side,
    /// Quantity: the whole position.
    pub qty: Qty,
    /// Trigger price on the tick grid.
    pub trigger: Price,
}

/// A stop this instance placed (or adopted after a restart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestingStop {
    /// Client algo id.
    pub coid: String,
    /// Stop or take profit.
    pub kind: StopKind,
    /// Order side.
    pub side: Side,
    /// Quantity.
    pub qty: Qty,
    /// Trigger.
    pub trigger: Price,
    /// The exchange acknowledged it.
    pub acked: bool,
    /// When it was sent (ns).
    pub placed_at_ns: u64,
}

/// Why a position is closed at market instead of protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopFailure {
    /// No acknowledgement in time.
    AckTimeout {
        /// The stop.
        coid: String,
    },
    /// The exchange refused the stop.
    Rejected {
        /// The stop.
        coid: String,
        /// The exchange's code (-2021 would trigger now, -4130 conflicting stop...).
        code: i64,
    },
    /// The exchange ended the resting stop without filling it while the position
    /// was open (`REJECTED`, `EXPIRED`, a `CANCELED` nobody here asked for).
    Ended {
        /// The stop.
        coid: String,
        /// The status it ended in.
        status: &'static str,
    },
}

/// What the executor must do.
#[derive(Debug, Clone, PartialEq)]
pub enum StopAction {
    /// Place a conditional order; report it back with [`StopKeeper::placed`].
    Place {
        /// Symbol.
        symbol_id: u32,
        /// Stop or take profit.
        kind: StopKind,
        /// The order.
        target: StopTarget,
    },
    /// Cancel a resting conditional order by its client algo id.
    Cancel {
        /// Symbol.
        symbol_id: u32,
        /// The order.
        coid: String,
    },
    /// The position cannot be protected: close it at market now.
    CloseAtMarket {
        /// Symbol.
        symbol_id: u32,
        /// Why.
        why: StopFailure,
    },
}

/// Settings of the stop keeper.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopParams {
    /// ATRs between the client stop and the exchange stop.
    pub extra_atr: f64,
    /// ...but at least this fraction of the price: in a calm market the ATR can be
    /// smaller than the spread plus slippage, and a stop that close would trigger on
    /// the fill itself.
    pub min_extra_frac: f64,
    /// Also keep a TAKE_PROFIT_MARKET.
    pub take_profit: bool,
    /// A stop must be acknowledged within this (ns).
    pub ack_timeout_ns: u64,
    /// A trailing stop moves at most this often (ns).
    pub replace_min_interval_ns: u64,
}

#[derive(Debug, Clone, Default)]
struct KindSlot {
    /// The stop in force (acknowledged or not yet).
    live: Option<RestingStop>,
    /// Its replacement, placed and not yet acknowledged.
    next: Option<RestingStop>,
    /// Cancels sent and not confirmed.
    cancelling: Vec<String>,
    last_move_ns: u64,
    /// No placement before this (ns): the exchange said there is nothing to reduce.
    hold_until_ns: u64,
}

#[derive(Debug, Clone, Default)]
struct SymbolStops {
    stop: KindSlot,
    tp: KindSlot,
    /// A close-at-market was asked for and the position is not flat yet: no new stop.
    closing: bool,
}

/// The stops of every symbol.
#[derive(Debug, Clone)]
pub struct StopKeeper {
    p: StopParams,
    syms: Vec<SymbolStops>,
}

/// How far beyond the client level the exchange order sits: `extra_atr` ATRs, at least
/// `min_extra_frac` of the price.
fn margin(plan: &ExitPlan, level: f64, p: &StopParams) -> f64 {
    (p.extra_atr * plan.atr()).max(p.min_extra_frac * level.abs())
}

/// The stop a position needs: the plan's protective stop moved further away (see
/// [`StopParams`]), on the tick grid, rounded away from the market. `None` when flat.
pub fn stop_target(
    plan: &ExitPlan,
    size: f64,
    qty: Qty,
    rules: &Instrument,
    p: &StopParams,
) -> Option<StopTarget> {
    if size == 0.0 || qty.0 <= 0 || plan.direction() == 0.0 {
        return None;
    }
    let long = size > 0.0;
    let level = plan.protective_stop_px();
    let raw = level - plan.direction() * margin(plan, level, p);
    let trigger = rules
        .round_price(
            raw.max(rules.tick_f64()),
            if long { Rounding::Down } else { Rounding::Up },
        )
        .ok()?;
    Some(StopTarget {
        side: if long { Side::Sell } else { Side::Buy },
        qty,
        trigger,
    })
}

/// The take-profit a position keeps on the exchange (beyond the client target by the
/// same margin), if the plan has one.
pub fn take_profit_target(
    plan: &ExitPlan,
    size: f64,
    qty: Qty,
    rules: &Instrument,
    p: &StopParams,
) -> Option<StopTarget> {
    if size == 0.0 || qty.0 <= 0 || plan.direction() == 0.0 {
        return None;
    }
    let long = size > 0.0;
    let level = plan.take_profit_px()?;
    let raw = level + plan.direction() * margin(plan, level, p);
    let trigger = rules
        .round_price(raw, if long { Rounding::Up } else { Rounding::Down })
        .ok()?;
    Some(StopTarget {
        side: if long { Side::Sell } else { Side::Buy },
        qty,
        trigger,
    })
}

impl StopKeeper {
    /// Keeper for `n` symbols.
    pub fn new(p: StopParams, n: usize) -> StopKeeper {
        StopKeeper {
            p,
            syms: vec![SymbolStops::default(); n],
        }
    }

    /// Settings.
    pub fn params(&self) -> &StopParams {
        &self.p
    }

    fn slot(&mut self, symbol_id: u32, kind: StopKind) -> Option<&mut KindSlot> {
        let s = self.syms.get_mut(symbol_id as usize)?;
        Some(match kind {
            StopKind::Stop => &mut s.stop,
            StopKind::TakeProfit => &mut s.tp,
        })
    }

    /// The acknowledged-or-not stop in force on a symbol.
    pub fn live(&self, symbol_id: u32, kind: StopKind) -> Option<&RestingStop> {
        let s = self.syms.get(symbol_id as usize)?;
        match kind {
            StopKind::Stop => s.stop.live.as_ref(),
            StopKind::TakeProfit => s.tp.live.as_ref(),
        }
    }

    /// Conditional orders this keeper has on the exchange (live, replacements and
    /// cancels not yet confirmed): what counts toward the exchange's 200 limit.
    pub fn open_count(&self) -> usize {
        self.syms
            .iter()
            .flat_map(|s| [&s.stop, &s.tp])
            .map(|k| {
                usize::from(k.live.is_some()) + usize::from(k.next.is_some()) + k.cancelling.len()
            })
            .sum()
    }

    /// Takes over a stop found resting on the exchange after a restart.
    pub fn adopt(&mut self, symbol_id: u32, stop: RestingStop) {
        let kind = stop.kind;
        if let Some(k) = self.slot(symbol_id, kind) {
            match &k.live {
                None => k.live = Some(stop),
                // Two resting stops of ours: keep the tighter-by-trigger one live... any
                // one; the other is cancelled by the next reconcile as a duplicate.
                Some(_) => k.cancelling.push(stop.coid),
            }
        }
    }

    /// The executor sent the stop a [`StopAction::Place`] asked for, under `coid`.
    pub fn placed(
        &mut self,
        symbol_id: u32,
        kind: StopKind,
        target: StopTarget,
        coid: String,
        now_ns: u64,
    ) {
        let stop = RestingStop {
            coid,
            kind,
            side: target.side,
            qty: target.qty,
            trigger: target.trigger,
            acked: false,
            placed_at_ns: now_ns,
        };
        if let Some(k) = self.slot(symbol_id, kind) {
            if k.live.is_none() {
                k.live = Some(stop);
            } else {
                k.next = Some(stop);
            }
            k.last_move_ns = now_ns;
        }
    }

    fn find(&mut self, coid: &str) -> Option<(u32, StopKind)> {
        for (i, s) in self.syms.iter().enumerate() {
            for (kind, k) in [(StopKind::Stop, &s.stop), (StopKind::TakeProfit, &s.tp)] {
                let hit = k.live.as_ref().is_some_and(|x| x.coid == coid)
                    || k.next.as_ref().is_some_and(|x| x.coid == coid)
                    || k.cancelling.iter().any(|c| c == coid);
                if hit {
                    return Some((i as u32, kind));
                }
            }
        }
        None
    }

    /// The symbol a stop belongs to, if it is one of ours.
    pub fn symbol_of(&mut self, coid: &str) -> Option<u32> {
        self.find(coid).map(|(s, _)| s)
    }

    /// The exchange acknowledged a stop. A replacement becomes the live stop and the
    /// old one is cancelled now (not before: there is never a moment without a stop).
    pub fn acked(&mut self, coid: &str, out: &mut Vec<StopAction>) {
        let Some((sym, kind)) = self.find(coid) else {
            return;
        };
        let Some(k) = self.slot(sym, kind) else {
            return;
        };
        if let Some(live) = k.live.as_mut().filter(|l| l.coid == coid) {
            live.acked = true;
            return;
        }
        if let Some(mut next) = k.next.take().filter(|n| n.coid == coid) {
            next.acked = true;
            if let Some(old) = k.live.replace(next) {
                k.cancelling.push(old.coid.clone());
                out.push(StopAction::Cancel {
                    symbol_id: sym,
                    coid: old.coid,
                });
            }
        }
    }

    /// The exchange refused a stop (the placement answered an error): the position is
    /// closed at market, unless this was a replacement and the old stop still stands.
    /// -2022 ("ReduceOnly Order is rejected") means the exchange holds nothing to
    /// reduce — the position closed before the stop arrived — so nothing is closed, and
    /// no stop is placed for a second while the fills catch up.
    pub fn rejected(&mut self, coid: &str, code: i64, now_ns: u64, out: &mut Vec<StopAction>) {
        let Some((sym, kind)) = self.find(coid) else {
            return;
        };
        let Some(k) = self.slot(sym, kind) else {
            return;
        };
        if code == REDUCE_ONLY_REJECTED {
            if k.next.as_ref().is_some_and(|n| n.coid == coid) {
                k.next = None;
            }
            if k.live.as_ref().is_some_and(|l| l.coid == coid) {
                k.live = None;
            }
            k.hold_until_ns = now_ns.saturating_add(NOTHING_TO_REDUCE_HOLD_NS);
            return;
        }
        if k.next.as_ref().is_some_and(|n| n.coid == coid) {
            // The old stop is still acknowledged and resting: keep it. A take-profit
            // that cannot move is not a danger either.
            k.next = None;
            if k.live.as_ref().is_some_and(|l| l.acked) {
                return;
            }
        }
        if k.live.as_ref().is_some_and(|l| l.coid == coid) {
            k.live = None;
        }
        if kind == StopKind::TakeProfit {
            return;
        }
        self.close(
            sym,
            StopFailure::Rejected {
                coid: coid.to_string(),
                code,
            },
            out,
        );
    }

    /// A cancel was confirmed (or the order was already gone).
    pub fn cancelled(&mut self, coid: &str) {
        if let Some((sym, kind)) = self.find(coid) {
            if let Some(k) = self.slot(sym, kind) {
                k.cancelling.retain(|c| c != coid);
            }
        }
    }

    /// A status change from the exchange (ALGO_UPDATE or a query). `triggered` and
    /// `finished` mean the stop did its job: it is dropped, and the position's fills
    /// decide what comes next. `ended` (REJECTED, EXPIRED, or CANCELED while not being
    /// cancelled here) with the position still open closes it at market.
    pub fn status(
        &mut self,
        coid: &str,
        status: &'static str,
        position_open: bool,
        out: &mut Vec<StopAction>,
    ) {
        let Some((sym, kind)) = self.find(coid) else {
            return;
        };
        let Some(k) = self.slot(sym, kind) else {
            return;
        };
        let was_cancelling = k.cancelling.iter().any(|c| c == coid);
        match status {
            "NEW" => {
                if let Some(l) = k.live.as_mut().filter(|l| l.coid == coid) {
                    l.acked = true;
                }
            }
            "TRIGGERING" | "TRIGGERED" | "FINISHED" => {
                if k.live.as_ref().is_some_and(|l| l.coid == coid) {
                    k.live = None;
                }
                if k.next.as_ref().is_some_and(|n| n.coid == coid) {
                    k.next = None;
                }
                k.cancelling.retain(|c| c != coid);
            }
            _ => {
                // CANCELED, EXPIRED, REJECTED.
                k.cancelling.retain(|c| c != coid);
                let was_live = k.live.as_ref().is_some_and(|l| l.coid == coid);
                let was_next = k.next.as_ref().is_some_and(|n| n.coid == coid);
                if was_live {
                    k.live = None;
                }
                if was_next {
                    k.next = None;
                }
                if (was_live || was_next)
                    && !was_cancelling
                    && position_open
                    && kind == StopKind::Stop
                {
                    self.close(
                        sym,
                        StopFailure::Ended {
                            coid: coid.to_string(),
                            status,
                        },
                        out,
                    );
                }
            }
        }
    }

    fn close(&mut self, sym: u32, why: StopFailure, out: &mut Vec<StopAction>) {
        if let Some(s) = self.syms.get_mut(sym as usize) {
            if !s.closing {
                s.closing = true;
                out.push(StopAction::CloseAtMarket {
                    symbol_id: sym,
                    why,
                });
            }
        }
    }

    /// A close-at-market could not be sent or did not close the position: allow
    /// another one.
    pub fn close_failed(&mut self, symbol_id: u32) {
        if let Some(s) = self.syms.get_mut(symbol_id as usize) {
            s.closing = false;
        }
    }

    /// Brings a symbol's stops in line with its position: `stop` / `tp` are what the
    /// position needs now (`None` when flat). Call after every fill of the symbol and
    /// periodically (acknowledgement timeouts, trailing moves).
    pub fn reconcile(
        &mut self,
        symbol_id: u32,
        stop: Option<StopTarget>,
        tp: Option<StopTarget>,
        now_ns: u64,
        out: &mut Vec<StopAction>,
    ) {
        let p = self.p;
        let Some(s) = self.syms.get_mut(symbol_id as usize) else {
            return;
        };
        if stop.is_none() {
            s.closing = false;
        }
        let tp = if p.take_profit { tp } else { None };
        let mut failure = None;
        for (kind, want) in [(StopKind::Stop, stop), (StopKind::TakeProfit, tp)] {
            let k = match kind {
                StopKind::Stop => &mut s.stop,
                StopKind::TakeProfit => &mut s.tp,
            };
            match want {
                None => {
                    for x in [k.live.take(), k.next.take()].into_iter().flatten() {
                        k.cancelling.push(x.coid.clone());
                        out.push(StopAction::Cancel {
                            symbol_id,
                            coid: x.coid,
                        });
                    }
                }
                Some(t) => {
                    // Unacknowledged for too long: the position may be naked.
                    for x in [&k.live, &k.next].into_iter().flatten() {
                        if !x.acked
                            && now_ns.saturating_sub(x.placed_at_ns) > p.ack_timeout_ns
                            && kind == StopKind::Stop
                        {
                            failure = Some(StopFailure::AckTimeout {
                                coid: x.coid.clone(),
                            });
                        }
                    }
                    if k.next.is_some() {
                        continue;
                    }
                    let Some(live) = &k.live else {
                        if !(kind == StopKind::Stop && s.closing) && now_ns >= k.hold_until_ns {
                            out.push(StopAction::Place {
                                symbol_id,
                                kind,
                                target: t,
                            });
                        }
                        continue;
                    };
                    let must = live.side != t.side || live.qty < t.qty;
                    // Only ever tighten a stop (a take-profit follows its target).
                    let better = match (kind, t.side) {
                        (StopKind::Stop, Side::Sell) => t.trigger > live.trigger,
                        (StopKind::Stop, Side::Buy) => t.trigger < live.trigger,
                        (StopKind::TakeProfit, _) => t.trigger != live.trigger,
                    };
                    let may = better
                        && live.acked
                        && now_ns.saturating_sub(k.last_move_ns) >= p.replace_min_interval_ns;
                    if must || may {
                        out.push(StopAction::Place {
                            symbol_id,
                            kind,
                            target: t,
                        });
                    }
                }
            }
        }
        if let Some(why) = failure {
            self.close(symbol_id, why, out);
        }
    }
}

#[cfg(test)]
mod tests;
