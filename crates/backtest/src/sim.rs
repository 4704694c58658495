//! The simulation loop: the live analytics engine, the live risk engine and the live
//! paper broker, driven by recorded events in time order, all symbols sharing one
//! account.
//!
//! # Order of operations per trade (mirrors `shmtrader_stages::exec_core`)
//!
//! 1. **Funding**: when the trade is at or past a funding time (00:00, 08:00, 16:00 UTC),
//!    every open position is charged first, at its symbol's last trade price
//!    ([`RiskEngine::apply_funding`]; rate > 0: longs pay, shorts receive).
//! 2. **Exits**: [`RiskEngine::on_tick`] marks the position and checks stop, take profit,
//!    trailing and time stop on *every* trade; an exit becomes a reduce-only market
//!    order for the paper broker.
//! 3. **Fills**: [`PaperBroker::on_tick`] fills every order that has reached the market
//!    (decision time + `latency_ns`) at *this* trade's price plus half-spread and impact,
//!    with the taker fee; each fill goes to [`RiskEngine::on_fill`] and closed trades are
//!    fed back to [`Engine::on_outcome`] (the adaptive threshold learns from them).
//! 4. **Signal**: [`Engine::on_tick`] updates indicators, microstructure and regime and
//!    may fire; the signal (after the variant's filter, if any) goes through
//!    [`RiskEngine::evaluate`]; an approval becomes a market order.
//!
//! **Fill timing, no look-ahead**: an order decided on a trade is submitted to the
//! broker *after* that trade's fills were resolved, so it fills at the earliest on the
//! **next trade of its symbol** at or after `decision + latency` — a price printed after
//! the decision, never one before it and never one not yet printed. With the default
//! 2 ms latency this holds for exits too (they fill on the trade after the one that
//! triggered them); with `latency_ns = 0` an exit fills on its triggering trade, whose
//! price is known at that moment.
//!
//! **Reduce-only** is enforced as the exchange enforces it, by
//! [`RiskEngine::reduce_only_qty`] (the live paper executor calls the same rule; the
//! paper broker carries the flag but does not check it): an exit that would open or add to a position
//! — possible when an exit order is still queued while a reversal entry fills first — is
//! rejected (counted in `reduce_only_rejected`), and one larger than the position is
//! trimmed to it.
//!
//! **End of data**: pending entries are cancelled and open positions are flattened with
//! market orders filled at each symbol's last trade price (with spread, impact and fee),
//! so every position is a closed trade and the sum of trade PnL equals the equity change.

use crate::data::{Event, Market};
use crate::error::{BacktestError, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_core::{ExitReason, Instrument, Outcome, Side, Signal};
use shmtrader_ml::{FeatureVec, FilterParams, OnlineFilter, SignalClock, SignalContext};
use shmtrader_risk::paper::{PaperFill, PaperOrder, PaperOrderKind};
use shmtrader_risk::{
    Decision, EntryRequest, FillReport, PaperBroker, RiskEngine, RiskParams, ShadowBook,
};
use shmtrader_strategy::{
    Engine, EngineParams, Fitter, InlineFitter, Regime, SignalParams, ThreadFitter,
};
use std::collections::HashMap;
use std::sync::Arc;

/// Funding interval: 8 hours (Binance USD-M perpetuals settle at 00:00, 08:00, 16:00 UTC).
pub const FUNDING_INTERVAL_NS: u64 = 8 * 3_600 * 1_000_000_000;
const NS_PER_DAY: u64 = 86_400_000_000_000;

/// Which signals reach the risk gate (the `--compare` variants).
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SignalFilter {
    /// Every signal the engine emits.
    #[default]
    None,
    /// Only signals whose type agrees with the regime (see [`signal_kind`]): trend
    /// signals in trending regimes, mean-reversion signals in ranging regimes; nothing
    /// while the regime is unknown.
    Regime,
    /// Each signal passes with probability `pass_rate`, drawn from a seeded generator.
    Random {
        /// Probability of passing.
        pass_rate: f64,
        /// Seed of the draws.
        seed: u64,
    },
    /// A verdict decided in advance for each signal of the stream, in order (the
    /// walk-forward ML filter, or a random filter over the same signals). The stream
    /// must be the one the verdicts were computed for: each verdict names its signal's
    /// time and symbol and a mismatch is an error, never a silent misalignment.
    Precomputed(Arc<[Verdict]>),
    /// The live ML filter ([`OnlineFilter`] with inline refits), learning from the
    /// outcomes of the trades it passed and the shadow outcomes of those it rejected,
    /// as the analytics stage runs it.
    Online(Box<FilterParams>),
}

/// A precomputed verdict on one signal (see [`SignalFilter::Precomputed`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// Time of the signal's tick (ns).
    pub ts_ns: u64,
    /// Its symbol.
    pub symbol_id: u32,
    /// Whether it passes.
    pub pass: bool,
}

/// A signal with its features at signal time and the label its shadow trade earned
/// (see [`shmtrader_risk::ShadowBook`]): the ML filter's training and evaluation rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MlExample {
    /// Position of the signal in the engine's signal stream.
    pub signal_seq: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Signal time (ns).
    pub ts_ns: u64,
    /// Shadow exit time (ns): when the label became known.
    pub exit_ts_ns: u64,
    /// Features at signal time.
    pub x: FeatureVec,
    /// Shadow trade's PnL after spread, impact and fees, at the reference notional.
    pub net_pnl: f64,
}

/// Reference notional of shadow trades (USDT): the labels' size. Its only effect is
/// through impact, which the default square-root model keeps small.
pub const SHADOW_NOTIONAL_USD: f64 = 1_000.0;
/// Shadow trades open at once, at most.
const SHADOW_CAPACITY: usize = 4_096;

mod kind;
pub use kind::{regime_agrees, signal_kind, SignalKind};

/// Everything one simulation needs.
#[derive(Debug, Clone)]
pub struct SimSettings {
    /// Strategy engine parameters.
    pub engine: EngineParams,
    /// Risk, sizing, exit and paper-fill parameters.
    pub risk: RiskParams,
    /// Exchange rules, by symbol id.
    pub rules: Vec<Instrument>,
    /// Signal filter of the variant.
    pub filter: SignalFilter,
    /// Funding rate per 8 h charged on open positions (0.0001 = 0.01 %).
    pub funding_rate_8h: f64,
    /// Spacing of the equity-curve samples (ns).
    pub curve_interval_ns: u64,
    /// Show a progress bar (only drawn when stderr is a terminal).
    pub progress: bool,
    /// Label of the progress bar.
    pub label: String,
    /// Record every signal's features and shadow-trade label ([`SimResult::examples`]).
    pub record_examples: bool,
    /// Run HMM refits on a worker thread ([`ThreadFitter`], as the analytics stage
    /// does) instead of the simulation's thread. The result is the same bit for bit: a
    /// refit is installed at a fixed bar wherever it ran.
    pub fit_thread: bool,
}

mod result;
pub use result::{CurvePoint, MlFilterSummary, SimResult, TradeRecord};

#[derive(Debug, Clone, Copy)]
struct PendingSignal {
    ts_ns: u64,
    symbol_id: u32,
    x: Option<FeatureVec>,
    /// Rejected by the online ML filter: its shadow outcome is reported to the filter.
    ml_rejected: bool,
}

#[derive(Debug, Clone, Copy)]
struct LiveOrder {
    symbol: u32,
    side: Side,
    entry: bool,
    regime: u8,
}

#[derive(Debug, Clone, Copy, Default)]
struct SymState {
    last_px: f64,
    funding_acc: f64,
    slip_acc: f64,
    open_regime: u8,
    open_qty: f64,
}

/// The simulator (see the module doc).
struct Sim<'a> {
    symbols: &'a [String],
    engine: Engine,
    signal_params: SignalParams,
    risk: RiskEngine,
    broker: PaperBroker,
    latency_ns: u64,
    filter: SignalFilter,
    rng: ChaCha8Rng,
    funding_rate: f64,
    orders: HashMap<u64, LiveOrder>,
    next_order: u64,
    syms: Vec<SymState>,
    signal_seq: u64,
    next_funding: u64,
    ending: bool,
    fills: Vec<PaperFill>,
    /// Shadow trades (when recording examples or running the online ML filter).
    shadow: Option<ShadowBook>,
    shadow_out: Vec<Outcome>,
    clock: SignalClock,
    pending_signals: HashMap<u64, PendingSignal>,
    record_examples: bool,
    online: Option<OnlineFilter>,
    r: SimResult,
}

fn iso(ms: u64) -> String {
    crate::util::iso_utc(ms)
}

impl<'a> Sim<'a> {
    fn new(market: &'a Market, s: &SimSettings) -> Result<Sim<'a>> {
        let n = market.symbols.len();
        if s.rules.len() != n {
            return Err(BacktestError::Param(format!(
                "{} symbol rules for {n} symbols",
                s.rules.len()
            )));
        }
        if !s.funding_rate_8h.is_finite() || s.funding_rate_8h.abs() > 0.01 {
            return Err(BacktestError::Param(format!(
                "funding rate {} per 8 h is not in [-1 %, 1 %]",
                s.funding_rate_8h
            )));
        }
        let fitter: Box<dyn Fitter> = if s.fit_thread {
            Box::new(ThreadFitter::spawn()?)
        } else {
            Box::<InlineFitter>::default()
        };
        let engine = Engine::new(s.engine.clone(), n, fitter)?;
        let risk = RiskEngine::new(s.risk, &s.rules)?;
        let (pass, seed) = match s.filter {
            SignalFilter::Random { pass_rate, seed } => (pass_rate, seed),
            _ => (1.0, 0),
        };
        let online = match &s.filter {
            SignalFilter::Online(p) => {
                let mut p = (**p).clone();
                // Refits on the simulation's thread, at the same outcome each run.
                p.mode = shmtrader_ml::RefitMode::Inline;
                Some(OnlineFilter::new(p).map_err(|e| BacktestError::Param(e.to_string()))?)
            }
            _ => None,
        };
        let shadow = if s.record_examples || online.is_some() {
            Some(ShadowBook::new(
                &s.risk,
                SHADOW_NOTIONAL_USD,
                SHADOW_CAPACITY,
            )?)
        } else {
            None
        };
        if !(0.0..=1.0).contains(&pass) {
            return Err(BacktestError::Param(format!(
                "random filter pass rate {pass} is not in [0, 1]"
            )));
        }
        Ok(Sim {
            symbols: &market.symbols,
            engine,
            signal_params: s.engine.signal.clone(),
            broker: PaperBroker::new(&s.risk),
            latency_ns: s.risk.latency_ns,
            risk,
            filter: s.filter.clone(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            funding_rate: s.funding_rate_8h,
            orders: HashMap::new(),
            next_order: 1,
            syms: vec![SymState::default(); n],
            signal_seq: 0,
            next_funding: 0,
            ending: false,
            fills: Vec::with_capacity(8),
            shadow,
            shadow_out: Vec::with_capacity(8),
            clock: SignalClock::new(n),
            pending_signals: HashMap::new(),
            record_examples: s.record_examples,
            online,
            r: SimResult {
                symbols: market.symbols.clone(),
                starting_equity: s.risk.starting_equity,
                ticks_per_symbol: vec![0; n],
                ..SimResult::default()
            },
        })
    }

    fn submit(&mut self, o: LiveOrder, qty: f64, ts: u64) -> Result<()> {
        let id = self.next_order;
        self.next_order += 1;
        self.broker.submit(
            PaperOrder {
                id,
                symbol_id: o.symbol,
                side: o.side,
                qty,
                kind: PaperOrderKind::Market,
                reduce_only: !o.entry,
            },
            ts,
        )?;
        self.orders.insert(id, o);
        Ok(())
    }

    fn charge_funding(&mut self, at: u64) -> Result<()> {
        for i in 0..self.syms.len() {
            let open = self.risk.position(i as u32).is_some_and(|p| !p.is_flat());
            if !open {
                continue;
            }
            let px = self.syms[i].last_px;
            let pnl = self
                .risk
                .apply_funding(i as u32, self.funding_rate, px, at)?;
            self.syms[i].funding_acc += pnl;
            self.r.funding += pnl;
            self.r.funding_events += 1;
        }
        Ok(())
    }

    fn apply_fill(&mut self, mut pf: PaperFill) -> Result<()> {
        let Some(o) = self.orders.remove(&pf.id) else {
            return Ok(());
        };
        let i = o.symbol as usize;
        if !o.entry {
            // Reduce-only, as the exchange enforces it.
            let Some(q) = self.risk.reduce_only_qty(o.symbol, o.side, pf.qty) else {
                self.r.reduce_only_rejected += 1;
                self.risk.exit_order_done(o.symbol);
                return Ok(());
            };
            if q < pf.qty {
                let k = q / pf.qty;
                pf.qty = q;
                pf.fee *= k;
                pf.slippage_usd *= k;
            }
        }
        // Split the fill's slippage between the trade it closes and the one it opens,
        // pro rata by quantity, as the position splits the fee.
        let pos_before = self.risk.position(o.symbol).copied();
        let held = pos_before.map_or(0.0, |p| p.size().abs());
        let closing = pos_before
            .and_then(|p| p.side())
            .is_some_and(|s| s != o.side);
        let (close_part, open_part) = if closing && pf.qty > 0.0 {
            let fc = (held / pf.qty).min(1.0);
            (pf.slippage_usd * fc, pf.slippage_usd * (1.0 - fc))
        } else {
            (0.0, pf.slippage_usd)
        };
        self.r.slippage += pf.slippage_usd;
        self.r.fees += pf.fee;
        let was_flat = self.risk.position(o.symbol).is_none_or(|p| p.is_flat());
        let fr = FillReport {
            symbol_id: o.symbol,
            side: o.side,
            qty: pf.qty,
            price: pf.price,
            fee: pf.fee,
            ts_ns: pf.ts_ns,
            realized_pnl: None,
        };
        let outcome = self.risk.on_fill(&fr)?;
        if o.entry {
            self.risk.entry_order_done(o.symbol);
        } else {
            self.risk.exit_order_done(o.symbol);
        }
        let size_after = self.risk.position(o.symbol).map_or(0.0, |p| p.size().abs());
        match outcome {
            Some(oc) => {
                self.record_trade(&oc, close_part);
                self.engine.on_outcome(&oc);
                if let Some(f) = &mut self.online {
                    // An outcome the filter cannot use is its counter, not a failure.
                    let _ = f.on_outcome(&oc);
                }
                let st = &mut self.syms[i];
                st.slip_acc = open_part;
                st.funding_acc = 0.0;
                st.open_qty = size_after;
                if size_after > 0.0 {
                    st.open_regime = o.regime;
                }
            }
            None => {
                let st = &mut self.syms[i];
                st.slip_acc += close_part + open_part;
                if was_flat && size_after > 0.0 {
                    st.open_regime = o.regime;
                    st.open_qty = 0.0;
                }
                st.open_qty = st.open_qty.max(size_after);
            }
        }
        Ok(())
    }

    fn record_trade(&mut self, oc: &Outcome, close_slip: f64) {
        let i = oc.symbol_id as usize;
        let st = self.syms[i];
        let slippage = st.slip_acc + close_slip;
        let funding = st.funding_acc;
        // Outcome.net_pnl = realized − fees + funding, realized at the fill prices.
        let gross = oc.net_pnl + oc.fees - funding + slippage;
        let reason = if self.ending {
            "end_of_data"
        } else {
            ExitReason::from_code(oc.exit_reason).map_or("unknown", ExitReason::as_str)
        };
        let side = if Side::from_code(oc.side) == Some(Side::Sell) {
            "short"
        } else {
            "long"
        };
        let (entry_ms, exit_ms) = (oc.entry_ts_ns / 1_000_000, oc.exit_ts_ns / 1_000_000);
        self.r.trades.push(TradeRecord {
            symbol: self.symbols.get(i).cloned().unwrap_or_default(),
            side,
            entry_time: iso(entry_ms),
            exit_time: iso(exit_ms),
            entry_ts_ms: entry_ms,
            exit_ts_ms: exit_ms,
            entry_px: oc.entry_px,
            exit_px: oc.exit_px,
            qty: st.open_qty,
            gross_pnl: gross,
            fees: oc.fees,
            slippage,
            funding,
            net_pnl: oc.net_pnl,
            exit_reason: reason,
            regime: Regime::from_code(st.open_regime).as_str(),
            symbol_id: oc.symbol_id,
            regime_code: st.open_regime,
        });
    }

    fn resolve_fills(&mut self, sym: u32, price: f64, ts: u64) -> Result<()> {
        if self.broker.pending() == 0 {
            return Ok(());
        }
        let mut fills = std::mem::take(&mut self.fills);
        fills.clear();
        self.broker.on_tick(sym, price, ts, |f| fills.push(f));
        for f in fills.drain(..) {
            self.apply_fill(f)?;
        }
        self.fills = fills;
        Ok(())
    }

    fn passes_filter(&mut self, sig: &Signal, seq: u64, x: Option<&FeatureVec>) -> Result<bool> {
        Ok(match &self.filter {
            SignalFilter::None => true,
            SignalFilter::Random { pass_rate, .. } => self.rng.gen::<f64>() < *pass_rate,
            SignalFilter::Regime => {
                let (Some(f), Some(side)) =
                    (self.engine.features(sig.symbol_id as usize), sig.side())
                else {
                    return Ok(false);
                };
                let kind = signal_kind(&self.signal_params, f, side);
                regime_agrees(kind, Regime::from_code(sig.regime))
            }
            SignalFilter::Precomputed(v) => {
                let Some(d) = usize::try_from(seq).ok().and_then(|i| v.get(i)) else {
                    return Err(BacktestError::Param(format!(
                        "precomputed filter has {} verdicts; signal {seq} has none",
                        v.len()
                    )));
                };
                if d.ts_ns != sig.exchange_ts_ns || d.symbol_id != sig.symbol_id {
                    return Err(BacktestError::Param(format!(
                        "precomputed filter verdict {seq} is for symbol {} at {} but the \
                         signal is symbol {} at {}: the signal stream differs",
                        d.symbol_id, d.ts_ns, sig.symbol_id, sig.exchange_ts_ns
                    )));
                }
                d.pass
            }
            SignalFilter::Online(_) => match (&mut self.online, x) {
                (Some(f), Some(x)) => f.on_signal(seq, sig.exchange_ts_ns, x).pass,
                _ => true,
            },
        })
    }

    /// The ML features of a signal, as the analytics stage computes them.
    fn features_of(&mut self, sig: &Signal) -> Option<FeatureVec> {
        let sym = sig.symbol_id as usize;
        let since = self.clock.since_and_mark(sym, sig.exchange_ts_ns);
        let f = self.engine.features(sym)?;
        let ctx = SignalContext::from_signal(sig, since, None)?;
        Some(shmtrader_ml::compute_features(f, &ctx))
    }

    /// Feeds a trade to the shadow trades; their outcomes become examples and, for
    /// signals the online filter rejected, its shadow labels.
    fn shadow_tick(&mut self, sym: u32, price: f64, ts: u64) {
        let Some(book) = &mut self.shadow else { return };
        if book.open_count() == 0 {
            return;
        }
        let mut out = std::mem::take(&mut self.shadow_out);
        out.clear();
        book.on_tick(sym, price, ts, |o| out.push(o));
        for o in out.drain(..) {
            let Some(p) = self.pending_signals.remove(&o.signal_seq) else {
                continue;
            };
            if self.record_examples {
                if let Some(x) = p.x {
                    self.r.examples.push(MlExample {
                        signal_seq: o.signal_seq,
                        symbol_id: p.symbol_id,
                        ts_ns: p.ts_ns,
                        exit_ts_ns: o.exit_ts_ns,
                        x,
                        net_pnl: o.net_pnl,
                    });
                }
            }
            if p.ml_rejected {
                if let Some(f) = &mut self.online {
                    let _ = f.on_outcome(&o);
                }
            }
        }
        self.shadow_out = out;
    }

    fn on_signal(&mut self, sig: &Signal, ts: u64) -> Result<()> {
        let seq = self.signal_seq;
        self.signal_seq += 1;
        self.r.signals += 1;
        if self.record_examples {
            self.r.signal_log.push((sig.exchange_ts_ns, sig.symbol_id));
        }
        let x = if self.shadow.is_some() {
            self.features_of(sig)
        } else {
            None
        };
        let pass = self.passes_filter(sig, seq, x.as_ref())?;
        let ml_rejected = !pass && self.online.is_some();
        if self.record_examples || ml_rejected {
            let atr = self.risk.atr(sig.symbol_id);
            if let (Some(book), Some(side), Some(atr)) = (&mut self.shadow, sig.side(), atr) {
                if book.open(seq, sig.symbol_id, side, atr, ts) {
                    self.pending_signals.insert(
                        seq,
                        PendingSignal {
                            ts_ns: sig.exchange_ts_ns,
                            symbol_id: sig.symbol_id,
                            x,
                            ml_rejected,
                        },
                    );
                }
            }
        }
        if !pass {
            self.r.filtered += 1;
            return Ok(());
        }
        let Some(req) = EntryRequest::from_signal(sig, seq) else {
            *self.r.refused.entry("invalid_signal").or_default() += 1;
            return Ok(());
        };
        match self.risk.evaluate(&req, ts) {
            Decision::Refused(why) => {
                *self.r.refused.entry(why.as_str()).or_default() += 1;
            }
            Decision::Approved(intent) => {
                self.r.entries += 1;
                let qty = intent.qty_steps as f64
                    * self
                        .risk
                        .rules(intent.symbol_id)
                        .map_or(0.0, Instrument::step_f64);
                let o = LiveOrder {
                    symbol: intent.symbol_id,
                    side: intent.side,
                    entry: true,
                    regime: sig.regime,
                };
                if let Err(e) = self.submit(o, qty, ts) {
                    // The gate reserved the slot; release it before failing.
                    self.risk.entry_order_done(intent.symbol_id);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn run(&mut self, events: &[Event], settings: &SimSettings) -> Result<()> {
        let Some(first) = events.first() else {
            return Err(BacktestError::Input("no events to replay".into()));
        };
        let first_ts = first.ts_ns();
        self.r.first_ts_ns = first_ts;
        self.next_funding = first_ts.div_ceil(FUNDING_INTERVAL_NS) * FUNDING_INTERVAL_NS;
        let curve_iv = settings.curve_interval_ns.max(1);
        let mut next_curve = first_ts;
        let mut day = first_ts / NS_PER_DAY;
        let mut prev_ts = first_ts;
        let mut peak = self.risk.equity();
        let bar =
            crate::util::progress_bar(settings.progress, events.len() as u64, &settings.label);
        for (seq, ev) in events.iter().enumerate() {
            if seq & 0xFFFF == 0 {
                if let Some(b) = &bar {
                    b.set_position(seq as u64);
                }
            }
            let ts = ev.ts_ns();
            // State since the previous event: exposure and the day boundary.
            if ts > prev_ts {
                if self.risk.open_positions() > 0 {
                    self.r.exposure_ns += ts - prev_ts;
                }
                let d = ts / NS_PER_DAY;
                if d != day {
                    self.r.daily_equity.push((day, self.risk.equity()));
                    day = d;
                }
                prev_ts = ts;
            }
            while ts >= self.next_funding {
                self.charge_funding(self.next_funding)?;
                self.next_funding += FUNDING_INTERVAL_NS;
            }
            match ev {
                Event::Book(b) => {
                    self.r.book_updates += 1;
                    self.engine.on_book(b);
                    self.broker.on_book(b.symbol_id, b.bid_px, b.ask_px);
                    if let Some(sb) = &mut self.shadow {
                        sb.on_book(b.symbol_id, b.bid_px, b.ask_px);
                    }
                    continue;
                }
                Event::Trade(t) => {
                    let sym = t.symbol_id;
                    let i = sym as usize;
                    if i >= self.syms.len() || !(t.price.is_finite() && t.price > 0.0) {
                        continue;
                    }
                    self.r.ticks += 1;
                    self.r.ticks_per_symbol[i] += 1;
                    self.syms[i].last_px = t.price;
                    if let Some(x) = self.risk.on_tick(sym, t.price, ts) {
                        let o = LiveOrder {
                            symbol: sym,
                            side: x.side,
                            entry: false,
                            regime: 0,
                        };
                        let qty = x.qty_steps as f64
                            * self.risk.rules(sym).map_or(0.0, Instrument::step_f64);
                        self.submit(o, qty, ts)?;
                    }
                    self.resolve_fills(sym, t.price, ts)?;
                    self.shadow_tick(sym, t.price, ts);
                    let fired = self.engine.on_tick(seq as u64, t);
                    // The bars the tick closed reach risk before its signal, as they
                    // reach the executor through the bars ring: one ATR for both.
                    let risk = &mut self.risk;
                    self.engine.take_bars(|b| risk.on_bar(b));
                    if let Some(sig) = fired {
                        self.on_signal(&sig, ts)?;
                    }
                }
            }
            let eq = self.risk.equity();
            if eq > peak {
                peak = eq;
            }
            let dd_usd = peak - eq;
            if dd_usd > self.r.max_drawdown_usd {
                self.r.max_drawdown_usd = dd_usd;
            }
            if peak > 0.0 && dd_usd / peak > self.r.max_drawdown {
                self.r.max_drawdown = dd_usd / peak;
            }
            if ts >= next_curve {
                self.r.curve.push(CurvePoint {
                    ts_ms: ts / 1_000_000,
                    equity: eq,
                    drawdown: if peak > 0.0 { dd_usd / peak } else { 0.0 },
                });
                next_curve = (ts / curve_iv + 1) * curve_iv;
            }
        }
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        self.finish(prev_ts)?;
        let eq = self.risk.equity();
        if eq > peak {
            peak = eq;
        }
        let dd_usd = peak - eq;
        self.r.max_drawdown_usd = self.r.max_drawdown_usd.max(dd_usd);
        if peak > 0.0 {
            self.r.max_drawdown = self.r.max_drawdown.max(dd_usd / peak);
        }
        self.r.daily_equity.push((day, eq));
        self.r.curve.push(CurvePoint {
            ts_ms: prev_ts / 1_000_000,
            equity: eq,
            drawdown: if peak > 0.0 { dd_usd / peak } else { 0.0 },
        });
        self.r.final_equity = eq;
        self.r.last_ts_ns = prev_ts;
        self.r.span_ns = prev_ts - first_ts;
        self.r.engine = self.engine.stats();
        if let Some(f) = &self.online {
            self.r.ml = Some(MlFilterSummary {
                stats: f.stats(),
                metrics: f.metrics(),
            });
        }
        Ok(())
    }

    /// Cancels pending entries and flattens every position at its last price.
    fn finish(&mut self, last_ts: u64) -> Result<()> {
        self.ending = true;
        let entries: Vec<(u64, u32)> = {
            let mut v: Vec<(u64, u32)> = self
                .orders
                .iter()
                .filter(|(_, o)| o.entry)
                .map(|(id, o)| (*id, o.symbol))
                .collect();
            v.sort_unstable();
            v
        };
        for (id, sym) in entries {
            self.broker.cancel(id);
            self.orders.remove(&id);
            self.risk.entry_order_done(sym);
        }
        let mut exits = Vec::new();
        self.risk.flatten_all(last_ts, |x| exits.push(x));
        for x in exits {
            let o = LiveOrder {
                symbol: x.symbol_id,
                side: x.side,
                entry: false,
                regime: 0,
            };
            let qty = x.qty_steps as f64
                * self
                    .risk
                    .rules(x.symbol_id)
                    .map_or(0.0, Instrument::step_f64);
            self.submit(o, qty, last_ts)?;
        }
        // A print at each symbol's last price once every order has reached the market.
        let at = last_ts.saturating_add(self.latency_ns);
        for i in 0..self.syms.len() {
            let px = self.syms[i].last_px;
            if px > 0.0 {
                self.resolve_fills(i as u32, px, at)?;
            }
        }
        Ok(())
    }
}

/// Runs one simulation over a loaded market.
pub fn simulate(market: &Market, settings: &SimSettings) -> Result<SimResult> {
    let mut sim = Sim::new(market, settings)?;
    sim.run(&market.events, settings)?;
    Ok(sim.r)
}

#[cfg(test)]
mod tests;
