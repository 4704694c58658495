//! The risk engine: positions, equity, the entry gate and per-tick exits for all symbols.
//!
//! State lives in arrays indexed by symbol id (at most [`MAX_SYMBOLS`]), allocated once in
//! [`RiskEngine::new`]; the set of symbols with a position or a pending entry is a `u64`
//! bit mask, so the gate's per-position checks visit only those symbols. Nothing on the
//! signal → intent path or the tick → exit path allocates.
//!
//! Lifecycle the executor drives:
//! 1. `on_tick` for every trade (marks, bars, exits → `ExitIntent`);
//! 2. `evaluate` for every signal (→ `Approved(OrderIntent)` registers a pending entry);
//! 3. `on_fill` for every execution (→ `Outcome` when a trade closes);
//! 4. `entry_order_done` / `exit_order_done` when an order ends (canceled, rejected,
//!    expired, or fully filled) so its reservation is released;
//! 5. `apply_funding` at each funding time; `set_kill_switch` from the control plane.

use crate::error::{Result, RiskError};
use crate::exits::ExitPlan;
use crate::gate::{Decision, EntryRequest, ExitIntent, FillReport, OrderIntent, RefuseReason};
use crate::market::MarketState;
use crate::params::RiskParams;
use crate::position::Position;
use crate::sizing::{drawdown_scale, size_entry};
use crate::stats::{StatsAggregator, TradingStats};
use shmtrader_core::{ExitReason, Instrument, Outcome, Side, MAX_SYMBOLS};

/// Nanoseconds per UTC day (the Unix epoch is a UTC midnight, so `ts / DAY` is the day).
pub const NS_PER_DAY: u64 = 86_400_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq)]
struct PendingEntry {
    side: Side,
    remaining_steps: u64,
    open_steps: u64,
    atr: f64,
    signal_seq: u64,
    ref_price: f64,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    pos: Position,
    plan: ExitPlan,
    pending: Option<PendingEntry>,
    exit_pending: Option<ExitReason>,
    unrealized: f64,
}

/// Positions, equity and risk state of the whole account.
#[derive(Debug)]
pub struct RiskEngine {
    p: RiskParams,
    n: usize,
    rules: Vec<Instrument>,
    slots: Vec<Slot>,
    market: MarketState,
    /// Bit `i` set: symbol `i` has a position or a pending entry.
    active: u64,
    open_count: u32,
    pending_count: u32,
    kill: bool,
    /// Starting equity + realized − fees + funding.
    cash: f64,
    realized: f64,
    fees: f64,
    funding: f64,
    unrealized: f64,
    peak_equity: f64,
    day: u64,
    day_start_equity: f64,
    stats: StatsAggregator,
    /// Bit `i` set: entries on symbol `i` are blocked (see [`RiskEngine::block_entries`]).
    blocked: u64,
    /// Bit `i` set: symbol `i` is marked by mark prices ([`RiskEngine::on_mark`]), so a
    /// trade print no longer re-marks its position.
    mark_fed: u64,
    /// Last mark price per symbol (0 = none yet).
    marks: Vec<f64>,
    /// Per-symbol notional cap (the venue's leverage bracket), at most
    /// `max_symbol_notional_usd`.
    caps: Vec<f64>,
}

impl RiskEngine {
    /// Validates `params` and builds the engine for `rules.len()` symbols (ids `0..len`).
    pub fn new(params: RiskParams, rules: &[Instrument]) -> Result<RiskEngine> {
        params.validate()?;
        if rules.is_empty() || rules.len() > MAX_SYMBOLS {
            return Err(RiskError::InvalidParam {
                field: "symbols",
                reason: format!("need 1..={MAX_SYMBOLS} symbols, got {}", rules.len()),
            });
        }
        let slots = rules
            .iter()
            .enumerate()
            .map(|(i, r)| Slot {
                pos: Position::new(i as u32, r.step_f64()),
                plan: ExitPlan::default(),
                pending: None,
                exit_pending: None,
                unrealized: 0.0,
            })
            .collect();
        Ok(RiskEngine {
            n: rules.len(),
            rules: rules.to_vec(),
            slots,
            market: MarketState::new(
                rules.len(),
                params.bar_interval_ns,
                params.atr_period,
                params.correlation_window as usize,
                params.correlation_min_samples as usize,
            ),
            active: 0,
            open_count: 0,
            pending_count: 0,
            kill: false,
            cash: params.starting_equity,
            realized: 0.0,
            fees: 0.0,
            funding: 0.0,
            unrealized: 0.0,
            peak_equity: params.starting_equity,
            day: u64::MAX,
            day_start_equity: params.starting_equity,
            stats: StatsAggregator::new(),
            blocked: 0,
            mark_fed: 0,
            marks: vec![0.0; rules.len()],
            caps: vec![params.max_symbol_notional_usd; rules.len()],
            p: params,
        })
    }

    /// Parameters in force.
    pub fn params(&self) -> &RiskParams {
        &self.p
    }

    /// Rules of a symbol.
    pub fn rules(&self, symbol_id: u32) -> Option<&Instrument> {
        self.rules.get(symbol_id as usize)
    }

    /// Position of a symbol.
    pub fn position(&self, symbol_id: u32) -> Option<&Position> {
        self.slots.get(symbol_id as usize).map(|s| &s.pos)
    }

    /// How much of a reduce-only order on `side` may fill, as the exchange enforces it:
    /// `None` when it would open or add to a position (the exchange rejects it), else
    /// `qty` trimmed to the position. An exit can meet either case when it was still
    /// queued as a reversal filled first.
    pub fn reduce_only_qty(&self, symbol_id: u32, side: Side, qty: f64) -> Option<f64> {
        let p = self.position(symbol_id)?;
        match p.side() {
            Some(held) if held != side => Some(qty.min(p.size().abs())),
            _ => None,
        }
    }

    /// Exit levels of a symbol's open position.
    pub fn exit_plan(&self, symbol_id: u32) -> Option<&ExitPlan> {
        let s = self.slots.get(symbol_id as usize)?;
        (!s.pos.is_flat()).then_some(&s.plan)
    }

    /// Open positions.
    pub fn open_positions(&self) -> u32 {
        self.open_count
    }

    /// Entries approved but not yet (fully) filled or released, on flat symbols.
    pub fn pending_entries(&self) -> u32 {
        self.pending_count
    }

    /// Mark-to-market equity.
    #[inline]
    pub fn equity(&self) -> f64 {
        self.cash + self.unrealized
    }

    /// Drawdown from the equity peak (fraction).
    #[inline]
    pub fn drawdown(&self) -> f64 {
        if self.peak_equity > 0.0 {
            ((self.peak_equity - self.equity()) / self.peak_equity).max(0.0)
        } else {
            0.0
        }
    }

    /// PnL since the last UTC midnight seen.
    pub fn daily_pnl(&self) -> f64 {
        self.equity() - self.day_start_equity
    }

    /// Kill switch state.
    pub fn kill_switch(&self) -> bool {
        self.kill
    }

    /// Turns the kill switch on or off. While on, `evaluate` refuses everything and
    /// `on_tick` returns a `Flatten` exit for every open position that has no exit in
    /// flight; call [`flatten_all`](Self::flatten_all) to get them all at once.
    pub fn set_kill_switch(&mut self, on: bool) {
        self.kill = on;
    }

    /// Emits a reduce-only `Flatten` exit for every open position without an exit in
    /// flight and marks them in flight. Positions whose exit (stop, take profit...) is
    /// already working are skipped: that order closes them, and a second reduce-only
    /// order could only be rejected. Pending *entries* are the executor's to cancel.
    pub fn flatten_all(&mut self, ts_ns: u64, mut emit: impl FnMut(ExitIntent)) {
        let mut mask = self.active;
        while mask != 0 {
            let i = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if let Some(x) = self.make_exit(i, ExitReason::Flatten, ts_ns, None) {
                emit(x);
            }
        }
    }

    /// Records why a position is being closed by an order the engine did not emit (an
    /// exchange-held stop that triggered), so the trade's outcome carries that reason;
    /// no-op when an exit is already in flight or the symbol is flat.
    pub fn note_exit(&mut self, symbol_id: u32, reason: ExitReason) {
        if let Some(s) = self.slots.get_mut(symbol_id as usize) {
            if !s.pos.is_flat() && s.exit_pending.is_none() {
                s.exit_pending = Some(reason);
            }
        }
    }

    /// A reduce-only exit of the whole position of one symbol now (a stop that could
    /// not be placed, a flatten command), unless one is already in flight.
    pub fn exit_now(
        &mut self,
        symbol_id: u32,
        reason: ExitReason,
        ts_ns: u64,
    ) -> Option<ExitIntent> {
        let i = symbol_id as usize;
        if i >= self.n {
            return None;
        }
        self.make_exit(i, reason, ts_ns, None)
    }

    /// Supplies an ATR for a symbol from outside (e.g. analytics after a warm-up replay);
    /// 0 returns to the engine's own estimate.
    pub fn set_atr(&mut self, symbol_id: u32, atr: f64) {
        self.market.set_atr(symbol_id as usize, atr);
    }

    /// A closed bar from the analytics engine (the bars ring live, the engine itself
    /// in the backtest): its ATR is the one sizes and stops use, so strategy and risk
    /// share one ATR. A bar without an ATR yet changes nothing.
    pub fn on_bar(&mut self, b: &shmtrader_core::BarRecord) {
        if let Some(atr) = b.atr() {
            self.set_atr(b.symbol_id, atr);
        }
    }

    /// ATR in use for a symbol.
    pub fn atr(&self, symbol_id: u32) -> Option<f64> {
        self.market.atr(symbol_id as usize)
    }

    /// Direction-agnostic correlation of two symbols' bar returns.
    pub fn correlation(&self, a: u32, b: u32) -> Option<f64> {
        self.market
            .correlation()
            .correlation(a as usize, b as usize)
    }

    /// Closes finished bars up to `ts_ns` (optional: `on_tick` does it too, but doing it
    /// from an idle moment keeps the O(symbols²) bar close off the tick path).
    pub fn roll_bars(&mut self, ts_ns: u64) {
        self.market.roll_to(ts_ns);
    }

    fn roll_day(&mut self, ts_ns: u64) {
        let day = ts_ns / NS_PER_DAY;
        if day != self.day && (self.day == u64::MAX || day > self.day) {
            self.day = day;
            self.day_start_equity = self.equity();
        }
    }

    #[inline]
    fn refresh_unrealized(&mut self, i: usize) {
        let s = &mut self.slots[i];
        let u = s.pos.unrealized_pnl();
        self.unrealized += u - s.unrealized;
        s.unrealized = u;
        let eq = self.cash + self.unrealized;
        if eq > self.peak_equity {
            self.peak_equity = eq;
        }
    }

    /// One trade print: marks the position, feeds bars/ATR/correlation, and checks the
    /// exits of the symbol's position. O(1) and allocation-free, except the once-per-bar
    /// close described on [`roll_bars`](Self::roll_bars). An exit, once emitted, is not
    /// emitted again until [`exit_order_done`](Self::exit_order_done) or the position
    /// closes.
    #[inline]
    pub fn on_tick(&mut self, symbol_id: u32, price: f64, ts_ns: u64) -> Option<ExitIntent> {
        let i = symbol_id as usize;
        if i >= self.n || !price.is_finite() || price <= 0.0 {
            return None;
        }
        self.market.observe(i, price, ts_ns);
        self.roll_day(ts_ns);
        if self.slots[i].pos.is_flat() {
            return None;
        }
        if self.mark_fed & (1u64 << i) == 0 {
            self.slots[i].pos.mark(price);
            self.refresh_unrealized(i);
        }
        if self.slots[i].exit_pending.is_some() {
            return None;
        }
        let reason = if self.kill {
            ExitReason::Flatten
        } else {
            self.slots[i].plan.check(price, ts_ns)?
        };
        self.make_exit(i, reason, ts_ns, Some(price))
    }

    fn make_exit(
        &mut self,
        i: usize,
        reason: ExitReason,
        ts_ns: u64,
        price: Option<f64>,
    ) -> Option<ExitIntent> {
        let s = &mut self.slots[i];
        if s.pos.is_flat() || s.exit_pending.is_some() {
            return None;
        }
        let side = s.pos.side()?.opposite();
        let steps = s.pos.abs_steps();
        s.exit_pending = Some(reason);
        Some(ExitIntent {
            symbol_id: i as u32,
            side,
            qty: self.rules[i].steps_to_qty(steps),
            qty_steps: steps,
            reduce_only: true,
            reason,
            ref_price: price.unwrap_or_else(|| s.pos.mark_px()),
            signal_seq: s.pos.signal_seq(),
            ts_ns,
        })
    }

    /// The risk gate. Checks, in order: kill switch, request validity, orders in flight
    /// on the symbol, existing position (pyramiding / reversal), max drawdown, daily
    /// loss, concurrent positions, correlation, then sizes (volatility, drawdown scale,
    /// per-symbol cap, margin, exchange minimums). An approval reserves the slot until
    /// the entry fills or [`entry_order_done`](Self::entry_order_done) releases it.
    ///
    /// Correlation: `c` is the Pearson correlation of the two symbols' bar returns and
    /// `d` = +1 for the same direction, −1 for opposite. The entry is refused when
    /// `c × d > correlation_threshold`: same direction on positively correlated symbols
    /// doubles the bet, and so does the *opposite* direction on negatively correlated
    /// ones. Opposite directions on positively correlated symbols are a hedge and pass.
    pub fn evaluate(&mut self, req: &EntryRequest, ts_ns: u64) -> Decision {
        match self.check(req, ts_ns) {
            Ok(intent) => Decision::Approved(intent),
            Err(r) => Decision::Refused(r),
        }
    }

    fn check(
        &mut self,
        req: &EntryRequest,
        ts_ns: u64,
    ) -> std::result::Result<OrderIntent, RefuseReason> {
        self.roll_day(ts_ns);
        if self.kill {
            return Err(RefuseReason::KillSwitch);
        }
        let i = req.symbol_id as usize;
        if i >= self.n || !req.price.is_finite() || req.price <= 0.0 {
            return Err(RefuseReason::InvalidRequest);
        }
        if self.blocked & (1u64 << i) != 0 {
            return Err(RefuseReason::SymbolBlocked);
        }
        let slot = &self.slots[i];
        if slot.pending.is_some() {
            return Err(RefuseReason::EntryPending);
        }
        if slot.exit_pending.is_some() {
            return Err(RefuseReason::ExitPending);
        }
        let held = slot.pos.side();
        let (close_steps, existing_notional) = match held {
            None => (0, 0.0),
            Some(s) if s == req.side => {
                if !self.p.allow_pyramiding {
                    return Err(RefuseReason::AlreadyPositioned);
                }
                (
                    0,
                    slot.pos.abs_steps() as f64 * self.rules[i].step_f64() * req.price,
                )
            }
            Some(_) => {
                if !self.p.allow_reverse {
                    return Err(RefuseReason::OppositePosition);
                }
                (slot.pos.abs_steps(), 0.0)
            }
        };

        let equity = self.equity();
        let dd = self.drawdown();
        if dd >= self.p.max_drawdown {
            return Err(RefuseReason::MaxDrawdown {
                drawdown: dd,
                max: self.p.max_drawdown,
            });
        }
        let limit_usd = self.p.daily_loss_limit * self.day_start_equity;
        let loss = self.day_start_equity - equity;
        if loss >= limit_usd {
            return Err(RefuseReason::DailyLossLimit {
                loss_usd: loss,
                limit_usd,
            });
        }

        let busy = self.open_count + self.pending_count;
        if held.is_none() && busy >= self.p.max_concurrent_positions {
            return Err(RefuseReason::MaxConcurrentPositions {
                open: busy,
                max: self.p.max_concurrent_positions,
            });
        }

        // Correlation and margin in one pass over active symbols (O(open positions)).
        let dir = req.side.sign();
        let mut used_margin = 0.0;
        let lev = self.p.leverage as f64;
        let mut mask = self.active & !(1u64 << i);
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let s = &self.slots[j];
            let (other_dir, notional) = match (s.pos.side(), s.pending) {
                (Some(side), _) => (side.sign(), s.pos.notional()),
                (None, Some(pe)) => (
                    pe.side.sign(),
                    pe.open_steps as f64 * self.rules[j].step_f64() * pe.ref_price,
                ),
                (None, None) => continue,
            };
            used_margin += notional / lev;
            if let Some(c) = self.market.correlation().correlation(i, j) {
                if c * dir * other_dir > self.p.correlation_threshold {
                    return Err(RefuseReason::Correlated {
                        other_symbol: j as u32,
                        correlation: c,
                    });
                }
            }
        }
        if existing_notional > 0.0 {
            used_margin += existing_notional / lev;
        }

        let atr = self.market.atr(i).ok_or(RefuseReason::VolatilityUnknown)?;
        let dd_scale = drawdown_scale(&self.p, dd);
        let cap = self.caps[i];
        let headroom = cap - existing_notional;
        if headroom <= 0.0 {
            return Err(RefuseReason::MaxSymbolNotional {
                would_be_usd: existing_notional,
                max_usd: cap,
            });
        }
        let sized = size_entry(
            &self.p,
            &self.rules[i],
            req.price,
            atr,
            dd_scale,
            headroom,
            equity - used_margin,
        )?;

        let total = sized.steps + close_steps;
        let intent = OrderIntent {
            symbol_id: req.symbol_id,
            side: req.side,
            qty: self.rules[i].steps_to_qty(total),
            qty_steps: total,
            close_steps,
            open_steps: sized.steps,
            ref_price: req.price,
            notional_usd: sized.notional_usd,
            reduce_only: false,
            signal_seq: req.signal_seq,
            ts_ns,
            atr,
            vol_scale: sized.vol_scale,
            drawdown_scale: dd_scale,
        };
        let pending = PendingEntry {
            side: req.side,
            remaining_steps: total,
            open_steps: sized.steps,
            atr,
            signal_seq: req.signal_seq,
            ref_price: req.price,
        };
        let before = self.contribution(i);
        self.slots[i].pending = Some(pending);
        self.recount(i, before);
        Ok(intent)
    }

    /// Releases an entry reservation: the order was canceled, rejected or expired (any
    /// filled part has already been applied through `on_fill`).
    pub fn entry_order_done(&mut self, symbol_id: u32) {
        let i = symbol_id as usize;
        if i >= self.n {
            return;
        }
        let before = self.contribution(i);
        self.slots[i].pending = None;
        self.recount(i, before);
    }

    /// Releases an exit in flight (rejected, canceled, expired with a remainder), so the
    /// next tick re-evaluates the position's exits.
    pub fn exit_order_done(&mut self, symbol_id: u32) {
        if let Some(s) = self.slots.get_mut(symbol_id as usize) {
            s.exit_pending = None;
        }
    }

    /// (open, pending-on-flat) contribution of symbol `i` to the counters.
    fn contribution(&self, i: usize) -> (bool, bool) {
        let s = &self.slots[i];
        (!s.pos.is_flat(), s.pos.is_flat() && s.pending.is_some())
    }

    /// Updates the counters and the active mask after symbol `i` changed from `before`.
    fn recount(&mut self, i: usize, before: (bool, bool)) {
        let after = self.contribution(i);
        self.open_count = (self.open_count + after.0 as u32).saturating_sub(before.0 as u32);
        self.pending_count = (self.pending_count + after.1 as u32).saturating_sub(before.1 as u32);
        if after.0 || after.1 {
            self.active |= 1u64 << i;
        } else {
            self.active &= !(1u64 << i);
        }
    }

    /// Applies one execution. Returns the closed trade's outcome when the fill takes the
    /// position to zero or through it; its exit reason is the exit that was in flight,
    /// `Reverse` for a flip, and `Flatten` for a close nobody here asked for (manual or
    /// reconciliation).
    ///
    /// A fill on a symbol with no pending entry and no position (e.g. found while
    /// reconciling after a restart) is accepted: the position is adopted with exits from
    /// the current ATR, or `target_volatility × price` if none is known yet.
    pub fn on_fill(&mut self, f: &FillReport) -> Result<Option<Outcome>> {
        let i = f.symbol_id as usize;
        if i >= self.n {
            return Err(RiskError::UnknownSymbol {
                symbol_id: f.symbol_id,
                count: self.n,
            });
        }
        if !f.price.is_finite() || f.price <= 0.0 {
            return Err(RiskError::InvalidValue {
                what: "fill price",
                value: f.price,
            });
        }
        if !f.fee.is_finite() {
            return Err(RiskError::InvalidValue {
                what: "fill fee",
                value: f.fee,
            });
        }
        let steps = self.rules[i]
            .exact_steps(f.qty)
            .map_err(|_| RiskError::OffStepQty {
                symbol_id: f.symbol_id,
                qty: f.qty,
                step: self.rules[i].step_f64(),
            })?;
        self.roll_day(f.ts_ns);
        let before = self.contribution(i);
        let pending = self.slots[i].pending;
        let seq = match pending {
            Some(pe) if pe.side == f.side => pe.signal_seq,
            _ => self.slots[i].pos.signal_seq(),
        };
        let eff = self.slots[i].pos.apply_fill_realizing(
            f.side,
            steps,
            f.price,
            f.fee,
            f.ts_ns,
            seq,
            f.realized_pnl,
        );
        self.realized += eff.realized_pnl;
        self.fees += f.fee;
        self.cash += eff.realized_pnl - f.fee;

        // Pending entry bookkeeping.
        if let Some(mut pe) = pending {
            if pe.side == f.side {
                pe.remaining_steps = pe.remaining_steps.saturating_sub(steps);
                self.slots[i].pending = (pe.remaining_steps > 0).then_some(pe);
            }
        }

        let mut outcome = None;
        if let Some(t) = eff.closed_trade {
            let reason = match self.slots[i].exit_pending.take() {
                Some(r) => r,
                None if eff.opened_trade => ExitReason::Reverse,
                None => ExitReason::Flatten,
            };
            let o = t.to_outcome(reason);
            self.stats.record_trade(o.net_pnl);
            outcome = Some(o);
        }
        let slot = &mut self.slots[i];
        if eff.opened_trade {
            let atr = match pending {
                Some(pe) if pe.side == f.side => pe.atr,
                _ => self
                    .market
                    .atr(i)
                    .unwrap_or(f.price * self.p.target_volatility),
            };
            if let Some(side) = slot.pos.side() {
                slot.plan = ExitPlan::new(&self.p, side, slot.pos.entry_px(), atr, f.ts_ns);
            }
        } else if eff.opened_steps > 0 {
            slot.plan.rebase(slot.pos.entry_px());
        }
        if slot.pos.is_flat() {
            slot.plan = ExitPlan::default();
            slot.exit_pending = None;
        }
        // Mark at the last mark price (with a mark feed) or the last trade seen (the fill
        // price before any): a stale mark would misstate the new position's PnL.
        let last = if self.mark_fed & (1u64 << i) != 0 {
            self.marks[i]
        } else {
            self.market.last_price(i)
        };
        slot.pos.mark(if last > 0.0 { last } else { f.price });
        let is_open = !slot.pos.is_flat();
        self.recount(i, before);
        self.refresh_unrealized(i);
        let eq = self.equity();
        self.stats
            .record_equity(f.ts_ns, eq, is_open || self.open_count > 0);
        Ok(outcome)
    }

    /// Applies a funding payment to the symbol's position at `mark_px`; returns the PnL
    /// (negative: paid). Longs pay shorts when `rate > 0`.
    pub fn apply_funding(
        &mut self,
        symbol_id: u32,
        rate: f64,
        mark_px: f64,
        ts_ns: u64,
    ) -> Result<f64> {
        let i = symbol_id as usize;
        if i >= self.n {
            return Err(RiskError::UnknownSymbol {
                symbol_id,
                count: self.n,
            });
        }
        if !rate.is_finite() || !mark_px.is_finite() || mark_px <= 0.0 {
            return Err(RiskError::InvalidValue {
                what: "funding rate or mark price",
                value: if rate.is_finite() { mark_px } else { rate },
            });
        }
        self.roll_day(ts_ns);
        let pnl = self.slots[i].pos.apply_funding(rate, mark_px);
        self.funding += pnl;
        self.cash += pnl;
        self.refresh_unrealized(i);
        Ok(pnl)
    }

    /// Records the current equity on the statistics' equity curve (call periodically,
    /// e.g. once per bar; fills record it themselves).
    pub fn record_equity(&mut self, ts_ns: u64) {
        let eq = self.equity();
        self.stats.record_equity(ts_ns, eq, self.open_count > 0);
    }

    /// Statistics snapshot.
    pub fn stats(&self) -> TradingStats {
        let mut s = self.stats.snapshot();
        let mut gross = 0.0;
        let mut net = 0.0;
        let mut mask = self.active;
        while mask != 0 {
            let j = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            let pos = &self.slots[j].pos;
            gross += pos.notional();
            net += pos.size().signum() * pos.notional();
        }
        let eq = self.equity();
        s.realized_pnl = self.realized;
        s.fees = self.fees;
        s.funding = self.funding;
        s.unrealized_pnl = self.unrealized;
        s.equity = eq;
        s.peak_equity = s.peak_equity.max(self.peak_equity);
        s.drawdown = self.drawdown();
        s.gross_exposure_usd = gross;
        s.net_exposure_usd = net;
        s.exposure_ratio = if eq > 0.0 { gross / eq } else { 0.0 };
        s.open_positions = self.open_count;
        s
    }
}

mod account;
pub use account::PersistedRisk;

#[cfg(test)]
mod tests;
