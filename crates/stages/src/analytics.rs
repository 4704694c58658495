//! The analytics stage: ticks, book tops and trade outcomes in, signals out. The
//! decisions are [`shmtrader_strategy::Engine`]'s (indicators, microstructure, regime,
//! adaptive threshold); this file is the loop around it. HMM refits run on a worker
//! thread ([`ThreadFitter`]) and are installed at a fixed bar, so they never stall a
//! tick and never change the result.
//!
//! Restart discipline: the tick cursor lives in the control block and is committed only
//! after the tick's signal (if any) is published, so nothing is lost. A tick in flight
//! at the crash is processed again; its signal carries the tick's sequence
//! (`source_seq`) and is dropped if the signals ring already holds it, so nothing is
//! published twice. Before resuming, the indicator state is rebuilt by replaying the
//! ticks still held in the ring up to the cursor, without publishing. Book tops and
//! outcomes are not replayed, so with `strategy.use_book` or `strategy.adaptive` on,
//! the rebuilt state can differ slightly from an uninterrupted run (vetoes and the
//! threshold); with both off it is identical, which the end-to-end test checks.

use crate::error::Result;
use crate::runtime::{counter, hist, mlfig, stage_idx, symfig, StageCtx};
use shmtrader_core::{BarRecord, Config, Signal};
use shmtrader_indicators::IndicatorParams;
use shmtrader_risk::{RiskParams, ShadowBook};
use shmtrader_shm::clock::now_ns;
use shmtrader_shm::control::{ML_FIGURES, SYMBOL_FIELDS};
use shmtrader_shm::{consumer_id, ring_id, Read};
use shmtrader_strategy::{Engine, EngineParams, InlineFitter, ThreadFitter};
use std::sync::atomic::Ordering;

/// Runs until asked to stop, then drains what is left in its input rings.
pub fn run(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let mut ticks = inst.consumer(&inst.ticks, ring_id::TICKS, consumer_id::ANALYTICS)?;
    let mut book = inst.consumer(&inst.book, ring_id::BOOK, consumer_id::ANALYTICS)?;
    let mut outcomes = inst.consumer(&inst.outcomes, ring_id::OUTCOMES, consumer_id::ANALYTICS)?;
    let mut signals = inst.producer(&inst.signals, &[stage_idx::EXECUTOR])?;
    let mut bars = inst.producer(&inst.bars, &[stage_idx::EXECUTOR])?;
    let mut logic = Engine::new(
        engine_params(&ctx.cfg)?,
        ctx.cfg.symbols.len(),
        Box::new(ThreadFitter::spawn()?),
    )?;
    let slot = &inst.control.block().stages[ctx.idx];
    let mut ml = MlGate::open(&ctx.cfg)?;
    let mut syms = SymbolView::new(&ctx.cfg, &inst.bars);

    // Warm start from the venue's klines (closed bars only), then the ticks still in
    // the ring: klines for what the ring no longer holds, the ring for the bar in
    // progress (its trades inside already-loaded bars are refused as out of order).
    warm_start(&ctx.cfg, &mut logic, &mut syms);
    // Rebuild: replay history still in the ring, oldest first, up to the cursor.
    let cursor = ticks.cursor();
    let first = inst
        .ticks
        .write_seq()
        .saturating_sub(inst.ticks.capacity() - 1)
        .min(cursor);
    let mut rewarmed = 0u64;
    for seq in first..cursor {
        if let Some(t) = inst.ticks.get(seq) {
            let _ = logic.on_tick(seq, &t);
            rewarmed += 1;
        }
    }
    slot.counters[counter::REWARMED].fetch_add(rewarmed, Ordering::Relaxed);
    // Bars of the warm start and the rebuild the bars ring does not hold yet.
    syms.publish_bars(&mut logic, &mut bars);
    syms.publish(&inst.control, &logic);
    if rewarmed > 0 {
        tracing::info!(
            rewarmed,
            from = first,
            to = cursor,
            "analytics state rebuilt from the ticks ring"
        );
    }
    // Highest tick sequence already turned into a published signal.
    let ws = signals.next_seq();
    let mut last_source: Option<u64> = if ws > 0 {
        inst.signals.get(ws - 1).map(|s| s.source_seq)
    } else {
        None
    };

    let (h_hop, h_sig) = (
        &inst.control.block().histograms[hist::TICK_TO_ANALYTICS],
        &inst.control.block().histograms[hist::TICK_TO_SIGNAL],
    );
    let wait = ctx.cfg.stages.analytics.clone();
    let spin_only = wait.wait == shmtrader_core::WaitMode::Spin;
    let bell = inst.control.doorbell_ref(stage_idx::ANALYTICS)?;
    ctx.running();
    loop {
        let mut did = 0u32;
        while did < 1024 {
            match ticks.read() {
                Read::Record(seq, t) => {
                    let now = now_ns();
                    h_hop.record(now.saturating_sub(t.publish_ts_ns));
                    ml.on_tick(&t);
                    let fired = logic.on_tick(seq, &t);
                    // Bars first: the executor sizes a signal on the bar it closed.
                    syms.publish_bars(&mut logic, &mut bars);
                    syms.on_tick(&t);
                    if let Some(mut sig) = fired {
                        if last_source.is_some_and(|l| l >= sig.source_seq) {
                            slot.counters[counter::DUPLICATES_DROPPED]
                                .fetch_add(1, Ordering::Relaxed);
                        } else if !ml.admit(&logic, &mut sig) {
                            slot.counters[counter::ML_REJECTED].fetch_add(1, Ordering::Relaxed);
                        } else {
                            sig.publish_ts_ns = now_ns();
                            ml.published(signals.next_seq());
                            signals.push(&sig);
                            syms.on_signal(&sig);
                            last_source = Some(sig.source_seq);
                            h_sig.record(sig.publish_ts_ns.saturating_sub(t.publish_ts_ns));
                            slot.records_out.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // Commit after the effect is published (see the module doc).
                    ticks.commit();
                    slot.records_in.fetch_add(1, Ordering::Relaxed);
                    did += 1;
                }
                Read::Gap(n) => {
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(lost = n, "analytics was lapped on the ticks ring");
                    ticks.commit();
                }
                Read::Empty => break,
            }
        }
        loop {
            match book.read() {
                Read::Record(_, b) => {
                    logic.on_book(&b);
                    ml.on_book(&b);
                    slot.counters[counter::AUX_IN].fetch_add(1, Ordering::Relaxed);
                    did += 1;
                }
                Read::Gap(n) => {
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                }
                Read::Empty => break,
            }
        }
        book.commit();
        loop {
            match outcomes.read() {
                Read::Record(_, o) => {
                    logic.on_outcome(&o);
                    ml.on_outcome(&o);
                    slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
                    did += 1;
                }
                Read::Gap(n) => {
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                }
                Read::Empty => break,
            }
        }
        outcomes.commit();
        if let Some(now) = ctx.heartbeat() {
            ml.publish_if_due(&inst.control, now);
            syms.publish_if_due(&inst.control, &logic, now);
        }
        if did == 0 {
            if ctx.should_stop() {
                break;
            }
            bell.wait_until(
                || ticks.has_data() || book.has_data() || outcomes.has_data(),
                wait.spin_iters,
                spin_only,
                ctx.wait_timeout(),
            );
        }
    }
    ml.publish(&inst.control);
    syms.publish(&inst.control, &logic);
    ml.save();
    ctx.stopped();
    Ok(())
}

/// Loads closed klines into the engine (see [`crate::warmup`]); one log line per symbol.
fn warm_start(cfg: &Config, logic: &mut Engine, syms: &mut SymbolView) {
    let interval = match crate::warmup::plan(cfg) {
        Ok(i) => i,
        Err(why) => {
            tracing::info!("no warm start ({why}): indicators warm from live trades");
            return;
        }
    };
    let t0 = std::time::Instant::now();
    let now_ms = (now_ns() / 1_000_000) as i64;
    let hist = crate::warmup::fetch(cfg, interval, now_ms);
    for (i, h) in hist.iter().enumerate() {
        let name = cfg.symbols.get(i).map_or("?", String::as_str);
        match h {
            crate::warmup::History::Bars(bs) => {
                let mut loaded = 0u32;
                for b in bs {
                    match logic.warm_bar(i, b) {
                        Ok(()) => loaded += 1,
                        Err(e) => {
                            tracing::warn!(symbol = name, error = %e, "warm start: a kline was refused");
                        }
                    }
                }
                syms.warm[i] = loaded;
                tracing::info!(
                    symbol = name,
                    bars = loaded,
                    interval,
                    first_open_ms = bs.first().map_or(0, |b| b.open_time_ms),
                    last_open_ms = bs.last().map_or(0, |b| b.open_time_ms),
                    ready = logic.ready(i),
                    "warm start: klines loaded"
                );
            }
            crate::warmup::History::Cold(why) => {
                tracing::warn!(symbol = name, reason = %why, "warm start failed: the symbol warms from live trades");
            }
        }
    }
    tracing::info!(ms = t0.elapsed().as_millis() as u64, "warm start done");
}

/// What analytics shows per symbol in `status` (bars, readiness, price, threshold,
/// regime, last signal) and which bars it has already published on the bars ring.
struct SymbolView {
    warm: Vec<u32>,
    last_price: Vec<f64>,
    last_strength: Vec<f64>,
    signals: Vec<u64>,
    /// Open time of the last bar on the bars ring per symbol (from the ring itself at
    /// start, so a restarted analytics never publishes a bar twice).
    published: Vec<i64>,
    next_publish_ns: u64,
}

impl SymbolView {
    fn new(cfg: &Config, ring: &shmtrader_shm::Ring<BarRecord>) -> SymbolView {
        let n = cfg.symbols.len();
        let mut published = vec![i64::MIN; n];
        let ws = ring.write_seq();
        let first = ws.saturating_sub(ring.capacity());
        for seq in first..ws {
            if let Some(b) = ring.get(seq) {
                if let Some(p) = published.get_mut(b.symbol_id as usize) {
                    *p = (*p).max(b.open_time_ms);
                }
            }
        }
        SymbolView {
            warm: vec![0; n],
            last_price: vec![f64::NAN; n],
            last_strength: vec![f64::NAN; n],
            signals: vec![0; n],
            published,
            next_publish_ns: 0,
        }
    }

    fn on_tick(&mut self, t: &shmtrader_core::Tick) {
        if let Some(p) = self.last_price.get_mut(t.symbol_id as usize) {
            *p = t.price;
        }
    }

    fn on_signal(&mut self, s: &Signal) {
        let i = s.symbol_id as usize;
        if let (Some(st), Some(n)) = (self.last_strength.get_mut(i), self.signals.get_mut(i)) {
            *st = f64::from(s.strength);
            *n += 1;
        }
    }

    /// Publishes the engine's newly closed bars not yet on the ring.
    fn publish_bars(&mut self, logic: &mut Engine, ring: &mut shmtrader_shm::Producer<BarRecord>) {
        let published = &mut self.published;
        logic.take_bars(|b| {
            if let Some(p) = published.get_mut(b.symbol_id as usize) {
                if b.open_time_ms > *p {
                    *p = b.open_time_ms;
                    ring.push(b);
                }
            }
        });
    }

    fn publish_if_due(&mut self, ctl: &shmtrader_shm::Control, logic: &Engine, now: u64) {
        if now >= self.next_publish_ns {
            self.next_publish_ns = now + ML_PUBLISH_EVERY_NS;
            self.publish(ctl, logic);
        }
    }

    fn publish(&self, ctl: &shmtrader_shm::Control, logic: &Engine) {
        let rows: Vec<[f64; SYMBOL_FIELDS]> = (0..self.warm.len())
            .map(|i| {
                let mut r = [f64::NAN; SYMBOL_FIELDS];
                r[symfig::BARS] = logic.bars(i) as f64;
                r[symfig::READY] = f64::from(u8::from(logic.ready(i)));
                r[symfig::WARM_BARS] = f64::from(self.warm[i]);
                r[symfig::LAST_PRICE] = self.last_price[i];
                r[symfig::THRESHOLD] = logic.threshold(i).unwrap_or(f64::NAN);
                r[symfig::REGIME] = logic.regime(i).map_or(f64::NAN, |g| f64::from(g.code()));
                r[symfig::LAST_STRENGTH] = self.last_strength[i];
                r[symfig::SIGNALS] = self.signals[i] as f64;
                r
            })
            .collect();
        ctl.set_symbol_figures(&rows);
    }
}

/// The ML signal filter as the analytics stage uses it: scores each signal with the
/// engine's features at that tick, drops those under `ml.ml_confidence_threshold`, and
/// learns from the outcomes ring on a background thread. The model is saved at a clean
/// stop and reloaded at start.
///
/// A rejected signal gets a shadow trade ([`ShadowBook`]): what the risk rules would
/// have done with it, priced by the paper fill model, with the stop distance from the
/// engine's ATR (the executor sizes from its own ATR of the same period on 1-minute
/// bars, so the two agree up to bar alignment). Its outcome trains the filter (it would
/// otherwise never learn that a rejected kind of signal wins) and gives the rejected
/// signals' win rate in `status`, the figure that says whether rejecting pays. Shadows
/// live in memory: a restart drops the ones still open.
///
/// Keys: a signal is entered in the filter under a key of its own (high bit set, from a
/// counter) before the verdict; a passed one is re-keyed to the signals-ring sequence
/// its real outcome will carry. So a rejected signal never shares a key with the next
/// published one.
struct MlGate {
    filter: Option<shmtrader_ml::OnlineFilter>,
    clock: shmtrader_ml::SignalClock,
    path: std::path::PathBuf,
    shadow: Option<ShadowBook>,
    shadow_out: Vec<shmtrader_core::Outcome>,
    next_key: u64,
    last_key: Option<u64>,
    signals: u64,
    passed: u64,
    threshold: f64,
    next_publish_ns: u64,
    refit_failures_logged: u64,
}

/// Rejected signals' keys: disjoint from signals-ring sequences.
const REJECTED_KEY_BIT: u64 = 1 << 63;
/// Shadow trades open at once, at most (beyond: refused and counted).
const SHADOW_CAPACITY: usize = 1_024;
/// How often the ML figures are published to the control block.
const ML_PUBLISH_EVERY_NS: u64 = 1_000_000_000;

impl MlGate {
    fn open(cfg: &Config) -> Result<MlGate> {
        let path =
            std::path::Path::new(&cfg.ml.model_dir).join(format!("{}.model.json", cfg.instance));
        let clock = shmtrader_ml::SignalClock::new(cfg.symbols.len());
        let mut gate = MlGate {
            filter: None,
            clock,
            path,
            shadow: None,
            shadow_out: Vec::with_capacity(16),
            next_key: REJECTED_KEY_BIT,
            last_key: None,
            signals: 0,
            passed: 0,
            threshold: cfg.ml.ml_confidence_threshold,
            next_publish_ns: 0,
            refit_failures_logged: 0,
        };
        if !cfg.ml.enabled {
            return Ok(gate);
        }
        let p =
            shmtrader_ml::FilterParams::from_config(&cfg.ml, shmtrader_ml::RefitMode::Background);
        let err = |e: shmtrader_ml::MlError| crate::error::StageError::Ml(e);
        let path = &gate.path;
        let filter = if path.exists() {
            match shmtrader_ml::OnlineFilter::load(p.clone(), path) {
                Ok(f) => {
                    tracing::info!(path = %path.display(), version = f.version(), "ML model reloaded");
                    f
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "ML model not reloaded; starting without one");
                    shmtrader_ml::OnlineFilter::new(p).map_err(err)?
                }
            }
        } else {
            shmtrader_ml::OnlineFilter::new(p).map_err(err)?
        };
        let risk = RiskParams::from_core(&cfg.risk);
        gate.shadow = Some(ShadowBook::new(
            &risk,
            cfg.risk.base_position_usd,
            SHADOW_CAPACITY,
        )?);
        gate.filter = Some(filter);
        Ok(gate)
    }

    /// Scores `sig`; false = do not trade (a shadow trade follows it instead).
    fn admit(&mut self, engine: &Engine, sig: &mut Signal) -> bool {
        self.last_key = None;
        let Some(f) = &mut self.filter else {
            return true;
        };
        let sym = sig.symbol_id as usize;
        let since = self.clock.since_and_mark(sym, sig.exchange_ts_ns);
        let (Some(feat), Some(sctx)) = (
            engine.features(sym),
            shmtrader_ml::SignalContext::from_signal(sig, since, None),
        ) else {
            return true;
        };
        let x = shmtrader_ml::compute_features(feat, &sctx);
        let key = self.next_key;
        self.next_key = REJECTED_KEY_BIT | (self.next_key.wrapping_add(1) & !REJECTED_KEY_BIT);
        let v = f.on_signal(key, sig.exchange_ts_ns, &x);
        sig.ml_prob_ppm = v.prob_ppm();
        self.signals += 1;
        if v.pass {
            self.passed += 1;
            self.last_key = Some(key);
        } else if let (Some(book), Some(side), Some(atr)) =
            (&mut self.shadow, sig.side(), feat.ind.atr)
        {
            book.open(key, sig.symbol_id, side, atr, sig.exchange_ts_ns);
        }
        v.pass
    }

    /// The signal just admitted is published at signals-ring sequence `seq`.
    fn published(&mut self, seq: u64) {
        if let (Some(f), Some(key)) = (&mut self.filter, self.last_key.take()) {
            f.rekey(key, seq);
        }
    }

    /// Every tick moves the shadow trades; their outcomes are the filter's shadow labels.
    fn on_tick(&mut self, t: &shmtrader_core::Tick) {
        let (Some(book), Some(f)) = (&mut self.shadow, &mut self.filter) else {
            return;
        };
        if book.open_count() == 0 {
            return;
        }
        let out = &mut self.shadow_out;
        out.clear();
        book.on_tick(t.symbol_id, t.price, t.exchange_ts_ns, |o| out.push(o));
        for o in out.iter() {
            if let Err(e) = f.on_outcome(o) {
                tracing::warn!(error = %e, "ML filter could not use a shadow outcome");
            }
        }
    }

    fn on_book(&mut self, b: &shmtrader_core::BookTop) {
        if let Some(book) = &mut self.shadow {
            book.on_book(b.symbol_id, b.bid_px, b.ask_px);
        }
    }

    fn on_outcome(&mut self, o: &shmtrader_core::Outcome) {
        if let Some(f) = &mut self.filter {
            if let Err(e) = f.on_outcome(o) {
                tracing::warn!(error = %e, "ML filter could not use an outcome");
            }
        }
    }

    /// The figures `status` shows (see [`mlfig`]).
    fn figures(&self) -> [f64; ML_FIGURES] {
        let mut v = [f64::NAN; ML_FIGURES];
        v[mlfig::ENABLED] = f64::from(u8::from(self.filter.is_some()));
        v[mlfig::THRESHOLD] = self.threshold;
        v[mlfig::SIGNALS] = self.signals as f64;
        v[mlfig::SIGNALS_PASSED] = self.passed as f64;
        let Some(f) = &self.filter else { return v };
        let st = f.stats();
        let m = f.metrics();
        let o = |x: Option<f64>| x.unwrap_or(f64::NAN);
        v[mlfig::VERSION] = st.version as f64;
        v[mlfig::LABELLED] = st.labelled as f64;
        v[mlfig::WINDOW] = st.window as f64;
        v[mlfig::REFITS] = st.refits as f64;
        v[mlfig::REFIT_FAILURES] = st.refit_failures as f64;
        v[mlfig::SCORED] = m.scores.n as f64;
        if m.scores.n > 0 {
            v[mlfig::AUC] = o(m.scores.auc);
            v[mlfig::LOG_LOSS] = m.scores.log_loss;
            v[mlfig::BRIER] = m.scores.brier;
            v[mlfig::BASE_RATE] = m.scores.base_rate;
        }
        v[mlfig::PASSED] = m.passed as f64;
        v[mlfig::PASSED_WIN_RATE] = o(m.passed_win_rate);
        v[mlfig::REJECTED] = m.rejected as f64;
        v[mlfig::REJECTED_WIN_RATE] = o(m.rejected_win_rate);
        v[mlfig::CACHE_HITS] = st.cache_hits as f64;
        v[mlfig::CACHE_MISSES] = st.cache_misses as f64;
        v[mlfig::PENDING] = st.pending as f64;
        v[mlfig::UNMATCHED] = st.unmatched as f64;
        if let Some(b) = &self.shadow {
            v[mlfig::SHADOW_OPEN] = b.open_count() as f64;
            v[mlfig::SHADOW_CLOSED] = b.closed() as f64;
        }
        v
    }

    /// Publishes the figures (they cost a pass over the metrics window, so at most once
    /// a second, off the per-tick path); `now` is the heartbeat's monotonic time.
    fn publish_if_due(&mut self, ctl: &shmtrader_shm::Control, now: u64) {
        if now >= self.next_publish_ns {
            self.next_publish_ns = now + ML_PUBLISH_EVERY_NS;
            self.publish(ctl);
        }
    }

    fn publish(&mut self, ctl: &shmtrader_shm::Control) {
        ctl.set_ml(&self.figures());
        if let Some(f) = &self.filter {
            let st = f.stats();
            if st.refit_failures > self.refit_failures_logged {
                self.refit_failures_logged = st.refit_failures;
                tracing::warn!(
                    failures = st.refit_failures,
                    labels = st.window,
                    error = st.last_error.as_deref().unwrap_or(""),
                    "ML refit failed; the previous model (if any) stays"
                );
            }
        }
    }

    fn save(&self) {
        let Some(f) = &self.filter else { return };
        if f.version() == 0 {
            return;
        }
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        match f.save(&self.path) {
            Ok(()) => {
                tracing::info!(path = %self.path.display(), version = f.version(), "ML model saved")
            }
            Err(e) => tracing::warn!(error = %e, "ML model not saved"),
        }
    }
}

/// Recomputes, from a ticks sequence, the signals analytics must publish: used by the
/// end-to-end test to prove a restart lost and duplicated nothing.
pub fn expected_signals(
    cfg: &Config,
    ticks: impl IntoIterator<Item = (u64, shmtrader_core::Tick)>,
) -> Result<Vec<Signal>> {
    let mut logic = Engine::new(
        engine_params(cfg)?,
        cfg.symbols.len(),
        Box::<InlineFitter>::default(),
    )?;
    Ok(ticks
        .into_iter()
        .filter_map(|(seq, t)| {
            let s = logic.on_tick(seq, &t);
            logic.take_bars(|_| {});
            s
        })
        .collect())
}

/// Indicator periods from `[indicators]` (see [`shmtrader_strategy::config`]).
pub fn indicator_params(cfg: &Config) -> IndicatorParams {
    shmtrader_strategy::config::indicator_params(cfg)
}

/// The engine's parameters (see [`shmtrader_strategy::config`]).
pub fn engine_params(cfg: &Config) -> Result<EngineParams> {
    Ok(shmtrader_strategy::config::engine_params(cfg)?)
}
