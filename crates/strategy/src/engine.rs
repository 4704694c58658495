//! The analytics engine: ticks, book tops and trade outcomes in; signals out.
//!
//! One [`Engine`] holds, per symbol, the indicator set (bars + provisional values), the
//! tick microstructure (signed-volume imbalance, VPIN), the book microstructure (top
//! imbalance, microprice, order-flow imbalance), the regime (HMM over log realized
//! volatility and return, efficiency ratio, labels with hysteresis) and the adaptive
//! threshold, and turns each tick into at most one [`Signal`].
//!
//! Pure and deterministic: time comes from the records, and the HMM refit — Baum-Welch
//! on a trailing window, too slow for the tick path — is handed to a [`Fitter`]: the
//! analytics process runs it on a worker thread, the backtest inline. Either way the
//! new model is installed exactly `apply_lag_bars` bars after the data was cut, so a
//! replay of the same ticks gives the same signals bit for bit.

use crate::adaptive::{AdaptiveParams, AdaptiveThreshold};
use crate::error::{Result, StrategyError};
use crate::fitter::Fitter;
use crate::micro::{microprice, top_imbalance, OrderFlowImbalance, SignedVolumeImbalance, Vpin};
use crate::regime::{EfficiencyRatio, Regime, RegimeFilter, RegimeLabeler, DIM};
use crate::signal::{SignalEngine, SignalInputs, SignalParams};
use shmtrader_core::Side;
use shmtrader_core::{BarRecord, BookTop, Outcome, Signal, Tick};
use shmtrader_indicators::{Bar, IndicatorParams, IndicatorSet, IntrabarPath, Snapshot};

/// Regime-model settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RegimeParams {
    /// HMM states (2..=4).
    pub states: usize,
    /// Trailing bars the HMM is fitted on.
    pub window_bars: usize,
    /// Bars needed before the first fit.
    pub min_bars: usize,
    /// Refit every this many bars.
    pub refit_every_bars: u64,
    /// Bars between cutting the data and installing the fitted model.
    pub apply_lag_bars: u64,
    /// Baum-Welch iterations.
    pub iters: usize,
    /// Efficiency-ratio window (bars).
    pub er_bars: usize,
    /// Efficiency ratio above which the market is trending.
    pub er_trending: f64,
    /// Bars a new label must persist before it is adopted.
    pub hold_bars: u32,
}

impl Default for RegimeParams {
    fn default() -> Self {
        RegimeParams {
            states: 2,
            window_bars: 720,
            min_bars: 120,
            refit_every_bars: 60,
            apply_lag_bars: 1,
            iters: 30,
            er_bars: 20,
            er_trending: 0.35,
            hold_bars: 3,
        }
    }
}

/// Microstructure settings.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroParams {
    /// Trades in the signed-volume imbalance window.
    pub svi_trades: usize,
    /// VPIN window in buckets (the paper's 50).
    pub vpin_buckets: usize,
    /// Buckets per day (the paper's 50: bucket = trailing average daily volume / 50).
    pub vpin_buckets_per_day: f64,
    /// Bars of volume needed to estimate the daily volume before VPIN starts.
    pub vpin_calibration_bars: u64,
    /// No new entries while VPIN (toxic flow) is at or above this; 1 disables.
    pub vpin_max: f64,
    /// Use book tops: a signal against a strongly opposed top-of-book imbalance
    /// (|imbalance| ≥ `book_veto`) is dropped. 1 disables the veto.
    pub use_book: bool,
    /// See `use_book`.
    pub book_veto: f64,
    /// Book updates in the order-flow-imbalance window.
    pub ofi_updates: usize,
}

impl Default for MicroParams {
    fn default() -> Self {
        MicroParams {
            svi_trades: 200,
            vpin_buckets: 50,
            vpin_buckets_per_day: 50.0,
            vpin_calibration_bars: 60,
            vpin_max: 0.9,
            use_book: true,
            book_veto: 0.8,
            ofi_updates: 100,
        }
    }
}

/// Everything the engine needs.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EngineParams {
    /// Indicator periods and bar interval.
    pub indicators: IndicatorParams,
    /// Signal strength, confirmations, cooldown, time window.
    pub signal: SignalParams,
    /// Whether the threshold adapts to outcomes and regime.
    pub adaptive_enabled: bool,
    /// Adaptive-threshold settings (`base` is the threshold when disabled too).
    pub adaptive: AdaptiveParams,
    /// Regime model.
    pub regime: RegimeParams,
    /// Microstructure.
    pub micro: MicroParams,
}

/// Features of one symbol at the moment of a signal (what the ML filter will see).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Features {
    /// Indicator values (provisional, at the tick).
    pub ind: Snapshot,
    /// Signed-volume imbalance in [-1, 1].
    pub svi: Option<f64>,
    /// VPIN in [0, 1].
    pub vpin: Option<f64>,
    /// Top-of-book imbalance in [-1, 1].
    pub book_imbalance: Option<f64>,
    /// Microprice relative to the mid, in bps.
    pub microprice_bps: Option<f64>,
    /// Order-flow imbalance (normalized).
    pub ofi: Option<f64>,
    /// Regime label.
    pub regime: Regime,
    /// High-volatility state probability.
    pub p_high_vol: Option<f64>,
}

/// Why ticks were not used; counters for status and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Ticks with an unknown symbol, bad price or quantity.
    pub rejected: u64,
    /// Ticks whose aggregate id was not above the last one (duplicates, replays).
    pub duplicates: u64,
    /// Ticks older than the bar in progress.
    pub out_of_order: u64,
    /// Signals dropped by the VPIN or book veto.
    pub vetoed: u64,
    /// Signals emitted.
    pub signals: u64,
    /// HMM models installed.
    pub refits: u64,
}

#[derive(Debug, Clone)]
struct Sym {
    set: IndicatorSet,
    last_agg: Option<u64>,
    bars: u64,
    prev_close: Option<f64>,
    svi: SignedVolumeImbalance,
    vpin: Option<Vpin>,
    vol_sum: f64,
    ofi: OrderFlowImbalance,
    book: Option<BookTop>,
    er: EfficiencyRatio,
    hist: Vec<[f64; DIM]>,
    hist_head: usize,
    filter: Option<RegimeFilter>,
    pending_at: Option<u64>,
    labeler: RegimeLabeler,
    p_high: Option<f64>,
    adaptive: AdaptiveThreshold,
    features: Features,
    /// Tick rule across warm-start bars: last print and its side.
    warm_px: f64,
    warm_side: Side,
}

/// The engine (see the module doc).
pub struct Engine {
    p: EngineParams,
    syms: Vec<Sym>,
    signal: SignalEngine,
    fitter: Box<dyn Fitter>,
    stats: EngineStats,
    /// Bars closed since the last [`take_bars`](Engine::take_bars), with their ATR.
    bars_out: Vec<BarRecord>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("symbols", &self.syms.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// Validates everything up front; `fitter` runs the HMM refits.
    pub fn new(p: EngineParams, n_symbols: usize, fitter: Box<dyn Fitter>) -> Result<Engine> {
        let bad = |f: &str, why: &str| Err(StrategyError::Param(format!("{f}: {why}")));
        let r = &p.regime;
        if !(2..=crate::regime::MAX_STATES).contains(&r.states) {
            return bad("regime.states", "must be 2..=4");
        }
        if r.window_bars < 10 * r.states || r.min_bars < 10 * r.states {
            return bad("regime.window_bars", "needs at least 10 bars per state");
        }
        if r.refit_every_bars == 0 || r.apply_lag_bars >= r.refit_every_bars {
            return bad(
                "regime.refit_every_bars",
                "must be > 0 and above apply_lag_bars",
            );
        }
        let m = &p.micro;
        let in_unit = |v: f64| v > 0.0 && v <= 1.0;
        if !(in_unit(m.vpin_max) && in_unit(m.book_veto)) {
            return bad("micro.vpin_max/book_veto", "must be in (0, 1]");
        }
        if !(m.vpin_buckets_per_day.is_finite() && m.vpin_buckets_per_day > 0.0) {
            return bad("micro.vpin_buckets_per_day", "must be > 0");
        }
        let mut set = IndicatorSet::new(&p.indicators)?;
        set.log_bars();
        let proto = Sym {
            set,
            last_agg: None,
            bars: 0,
            prev_close: None,
            svi: SignedVolumeImbalance::new(m.svi_trades)?,
            vpin: None,
            vol_sum: 0.0,
            ofi: OrderFlowImbalance::new(m.ofi_updates)?,
            book: None,
            er: EfficiencyRatio::new(r.er_bars)?,
            hist: Vec::with_capacity(r.window_bars),
            hist_head: 0,
            filter: None,
            pending_at: None,
            labeler: RegimeLabeler::new(r.er_trending, r.hold_bars),
            p_high: None,
            adaptive: AdaptiveThreshold::new(p.adaptive.clone())?,
            features: Features::default(),
            warm_px: f64::NAN,
            warm_side: Side::Buy,
        };
        Ok(Engine {
            signal: SignalEngine::new(p.signal.clone(), n_symbols)?,
            syms: vec![proto; n_symbols],
            p,
            fitter,
            stats: EngineStats::default(),
            bars_out: Vec::with_capacity(64),
        })
    }

    /// Bars closed since the last call, oldest first, each with its ATR: what analytics
    /// publishes on the bars ring and what the backtest hands to the risk engine, so
    /// strategy and risk see the same bars. The buffer keeps its capacity.
    pub fn take_bars(&mut self, mut f: impl FnMut(&BarRecord)) {
        for b in self.bars_out.drain(..) {
            f(&b);
        }
    }

    /// Seeds one closed bar of a symbol from history (the venue's klines, a warm start):
    /// the indicators, the regime's window and HMM schedule, VPIN's volume estimate,
    /// exactly as if the bar had been built from trades. No signal is evaluated. A bar
    /// at or before the last committed one is refused, as is a bad bar.
    pub fn warm_bar(&mut self, symbol: usize, bar: &Bar) -> Result<()> {
        let symbols = self.syms.len();
        let s = self.syms.get_mut(symbol).ok_or(StrategyError::Symbol {
            index: symbol,
            symbols,
        })?;
        if let Some(last) = s.set.last_bar() {
            if bar.open_time_ms <= last.open_time_ms {
                return Err(StrategyError::Input(format!(
                    "history bar {} of symbol {symbol} is not after the last one ({})",
                    bar.open_time_ms, last.open_time_ms
                )));
            }
        }
        s.set.on_bar(bar)?;
        // Tick-level state klines cannot give exactly (VPIN's buckets, signed-volume
        // imbalance) is fed the bar's four prints with tick-rule sides, as the backtest
        // replays a kline, before the bar's close is processed, as in the tick path. So
        // VPIN's veto acts from the first live trade instead of after a day of volume.
        let q = bar.volume / 4.0;
        for px in IntrabarPath::NearestFirst.prices(bar) {
            let side = if px > s.warm_px {
                Side::Buy
            } else if px < s.warm_px {
                Side::Sell
            } else {
                s.warm_side
            };
            s.warm_px = px;
            s.warm_side = side;
            let _ = s.svi.update(q, side);
            if let Some(v) = &mut s.vpin {
                let _ = v.update(px, q, side);
            }
        }
        Self::on_bars_closed(&self.p, &mut *self.fitter, &mut self.stats, symbol, s, 1);
        s.features.ind = *s.set.committed();
        let interval = u32::try_from(self.p.indicators.bar_interval_ms).unwrap_or(u32::MAX);
        let out = &mut self.bars_out;
        s.set
            .take_bars(|b, atr| out.push(bar_record(symbol, interval, b, atr)));
        Ok(())
    }

    /// Whether every bar indicator of a symbol has a value (the strategy can signal).
    pub fn ready(&self, symbol: usize) -> bool {
        self.syms.get(symbol).is_some_and(|s| s.set.initialized())
    }

    /// Bars a symbol has committed (history and live).
    pub fn bars(&self, symbol: usize) -> u64 {
        self.syms.get(symbol).map_or(0, |s| s.bars)
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// Features of a symbol as of its last tick.
    pub fn features(&self, symbol: usize) -> Option<&Features> {
        self.syms.get(symbol).map(|s| &s.features)
    }

    /// Threshold in force for a symbol.
    pub fn threshold(&self, symbol: usize) -> Option<f64> {
        let s = self.syms.get(symbol)?;
        Some(if self.p.adaptive_enabled {
            s.adaptive.value()
        } else {
            self.p.signal.threshold
        })
    }

    /// The last aggregate trade id seen per symbol (ingest resumes from these).
    pub fn last_agg_id(&self, symbol: usize) -> Option<u64> {
        self.syms.get(symbol).and_then(|s| s.last_agg)
    }

    /// Feeds one tick (its ring sequence `seq`); returns a signal if one fires.
    pub fn on_tick(&mut self, seq: u64, t: &Tick) -> Option<Signal> {
        let i = t.symbol_id as usize;
        let Some(aggressor) = t.aggressor() else {
            self.stats.rejected += 1;
            return None;
        };
        let Some(s) = self.syms.get_mut(i) else {
            self.stats.rejected += 1;
            return None;
        };
        if !(t.price.is_finite() && t.price > 0.0 && t.qty.is_finite() && t.qty >= 0.0) {
            self.stats.rejected += 1;
            return None;
        }
        if t.agg_id != 0 && s.last_agg.is_some_and(|l| t.agg_id <= l) {
            self.stats.duplicates += 1;
            return None;
        }
        let ts_ms = (t.exchange_ts_ns / 1_000_000) as i64;
        let bars_before = s.set.bars_closed();
        let snap = match s.set.on_tick(ts_ms, t.price, t.qty) {
            Ok(x) => x,
            Err(shmtrader_indicators::IndicatorError::OutOfOrder { .. }) => {
                self.stats.out_of_order += 1;
                return None;
            }
            Err(_) => {
                self.stats.rejected += 1;
                return None;
            }
        };
        if t.agg_id != 0 {
            s.last_agg = Some(t.agg_id);
        }
        let _ = s.svi.update(t.qty, aggressor);
        if let Some(v) = &mut s.vpin {
            let _ = v.update(t.price, t.qty, aggressor);
        }
        let closed = s.set.bars_closed() - bars_before;
        if closed > 0 {
            Self::on_bars_closed(&self.p, &mut *self.fitter, &mut self.stats, i, s, closed);
            let interval = u32::try_from(self.p.indicators.bar_interval_ms).unwrap_or(u32::MAX);
            let out = &mut self.bars_out;
            s.set
                .take_bars(|b, atr| out.push(bar_record(i, interval, b, atr)));
        }
        // Features at this tick.
        let book = s.book.filter(|b| b.bid_px > 0.0 && b.ask_px > b.bid_px);
        let f = Features {
            ind: snap,
            svi: s.svi.value(),
            vpin: s.vpin.as_ref().and_then(Vpin::value),
            book_imbalance: book.and_then(|b| top_imbalance(b.bid_qty, b.ask_qty)),
            microprice_bps: book.and_then(|b| {
                microprice(b.bid_px, b.bid_qty, b.ask_px, b.ask_qty)
                    .map(|m| (m / b.mid() - 1.0) * 1e4)
            }),
            ofi: s.ofi.value(),
            regime: s.labeler.current(),
            p_high_vol: s.p_high,
        };
        s.features = f;
        let threshold = if self.p.adaptive_enabled {
            s.adaptive.value()
        } else {
            self.p.signal.threshold
        };
        let inputs = SignalInputs {
            price: t.price,
            ema_fast: snap.ema_fast,
            ema_slow: snap.ema_slow,
            rsi: snap.rsi,
            macd_hist: snap.macd.map(|m| m.hist),
            bb_pct_b: snap.bb.map(|b| b.pct_b),
        };
        let fired = self
            .signal
            .evaluate(i, t.exchange_ts_ns, &inputs, threshold)?;
        // Vetoes: toxic flow, or the book leaning hard against the trade.
        let m = &self.p.micro;
        if f.vpin.is_some_and(|v| v >= m.vpin_max) && m.vpin_max < 1.0 {
            self.stats.vetoed += 1;
            return None;
        }
        if m.use_book && m.book_veto < 1.0 {
            if let Some(imb) = f.book_imbalance {
                if imb * fired.side.sign() <= -m.book_veto {
                    self.stats.vetoed += 1;
                    return None;
                }
            }
        }
        self.stats.signals += 1;
        Some(Signal {
            symbol_id: t.symbol_id,
            side: fired.side.code(),
            regime: f.regime.code(),
            _pad: 0,
            source_seq: seq,
            exchange_ts_ns: t.exchange_ts_ns,
            recv_ts_ns: t.recv_ts_ns,
            publish_ts_ns: 0,
            price: t.price,
            strength: fired.strength.value as f32,
            threshold: fired.threshold as f32,
            feature_id: (self.stats.signals & 0xFFFF_FFFF) as u32,
            ml_prob_ppm: 0,
        })
    }

    /// Per closed bar: VPIN calibration, regime features, HMM schedule, labels.
    fn on_bars_closed(
        p: &EngineParams,
        fitter: &mut dyn Fitter,
        stats: &mut EngineStats,
        i: usize,
        s: &mut Sym,
        closed: u64,
    ) {
        let c = *s.set.committed();
        s.bars += closed;
        // Regime features use the committed bar (the last of the closed ones; flat
        // fillers carry no information beyond the count).
        let close = c.price;
        let ret = s.prev_close.map_or(0.0, |pc| (close / pc).ln());
        s.prev_close = Some(close);
        let er = s.er.update(close).ok().flatten();
        if let Some(rv) = c.rv {
            let x = [rv.max(1e-9).ln(), ret];
            let r = &p.regime;
            if s.hist.len() < r.window_bars {
                s.hist.push(x);
            } else {
                s.hist[s.hist_head] = x;
                s.hist_head = (s.hist_head + 1) % r.window_bars;
            }
            if let Some(f) = &mut s.filter {
                if let Ok(post) = f.update(x) {
                    let k = r.states;
                    s.p_high = Some(post[k - 1]);
                }
            }
            // Schedule: cut the data each time the bar count crosses a multiple of
            // `refit_every_bars`; install the model `apply_lag_bars` later.
            if s.hist.len() >= r.min_bars
                && s.pending_at.is_none()
                && s.bars / r.refit_every_bars != (s.bars - closed) / r.refit_every_bars
            {
                let mut data = Vec::with_capacity(s.hist.len());
                data.extend_from_slice(&s.hist[s.hist_head..]);
                data.extend_from_slice(&s.hist[..s.hist_head]);
                fitter.submit(i, data, r.states, r.iters);
                s.pending_at = Some(s.bars + r.apply_lag_bars);
            }
            if s.pending_at.is_some_and(|at| s.bars >= at) {
                s.pending_at = None;
                if let Some(hmm) = fitter.collect(i) {
                    match &mut s.filter {
                        Some(f) => f.swap_model(hmm),
                        None => s.filter = Some(RegimeFilter::new(hmm)),
                    }
                    stats.refits += 1;
                }
            }
        }
        let high_vol = s.p_high.map(|ph| ph >= 0.5);
        let label = s.labeler.update(high_vol, er);
        s.adaptive.set_regime(label.code());
        // VPIN: bucket = trailing average daily volume / buckets_per_day, estimated once
        // enough bars have been seen.
        s.vol_sum = s.set.committed_volume();
        let m = &p.micro;
        if s.vpin.is_none() && s.bars >= m.vpin_calibration_bars && s.vol_sum > 0.0 {
            let bars_per_day = 86_400_000.0 / p.indicators.bar_interval_ms as f64;
            let daily = s.vol_sum / s.bars as f64 * bars_per_day;
            s.vpin = Vpin::new(daily / m.vpin_buckets_per_day, m.vpin_buckets).ok();
        }
    }

    /// Feeds one book top (best bid/ask).
    pub fn on_book(&mut self, b: &BookTop) {
        let Some(s) = self.syms.get_mut(b.symbol_id as usize) else {
            self.stats.rejected += 1;
            return;
        };
        if !(b.bid_px.is_finite() && b.ask_px.is_finite() && b.bid_px > 0.0 && b.ask_px > 0.0) {
            self.stats.rejected += 1;
            return;
        }
        let _ = s.ofi.update(b.bid_px, b.bid_qty, b.ask_px, b.ask_qty);
        s.book = Some(*b);
    }

    /// Feeds one closed trade's outcome (adaptive threshold).
    pub fn on_outcome(&mut self, o: &Outcome) {
        if let Some(s) = self.syms.get_mut(o.symbol_id as usize) {
            s.adaptive.on_outcome(o);
        }
    }

    /// The regime label of a symbol.
    pub fn regime(&self, symbol: usize) -> Option<Regime> {
        self.syms.get(symbol).map(|s| s.labeler.current())
    }
}

/// A committed bar as the bars ring carries it.
fn bar_record(symbol: usize, interval_ms: u32, b: &Bar, atr: Option<f64>) -> BarRecord {
    BarRecord {
        symbol_id: u32::try_from(symbol).unwrap_or(u32::MAX),
        interval_ms,
        open_time_ms: b.open_time_ms,
        open: b.open,
        high: b.high,
        low: b.low,
        close: b.close,
        volume: b.volume,
        atr: atr.unwrap_or(f64::NAN),
    }
}

#[cfg(test)]
mod tests;
