//! The live filter: score each signal, learn from each closed trade.
//!
//! - The installed model sits in an [`ArcSwapOption`]: a prediction loads it without a
//!   lock or a reference-count write, and a refit publishes a new `Arc` with one atomic
//!   store, so the hot path never waits for training and never sees half a model.
//! - Every signal's features are stored at signal time ([`PendingStore`]); when its
//!   trade's [`Outcome`] arrives the pair becomes a labelled [`Example`] in a sliding
//!   window (the last `window` trades). The only way to add a training label is
//!   [`OnlineFilter::on_outcome`], which refuses anything but an exited trade
//!   ([`check_exited`](crate::label::check_exited)): an open position can never leak its
//!   unrealized PnL into training.
//! - Every `refit_every` new labels the window is refitted ([`train_auto`]: baseline vs
//!   challenger on a purged split, isotonic calibration) on a background thread
//!   ([`RefitMode::Background`], the analytics process) or inline
//!   ([`RefitMode::Inline`], the backtest: deterministic, like the engine's
//!   `InlineFitter`). Each installed model gets the next version id.
//! - Rejected signals can get shadow outcomes (what the risk rules would have done):
//!   reported through the same [`OnlineFilter::on_outcome`], they feed the rejected win
//!   rate and, by default, training — otherwise the model would only ever see the trades
//!   it let through and could never learn that it rejects good ones.
//! - Before a model exists every signal passes: an untrained filter must not stop the
//!   strategy (`pass_without_model`).

use crate::cache::PredictionCache;
use crate::error::{MlError, Result};
use crate::features::FeatureVec;
use crate::label::{Example, Pending, PendingStore};
use crate::metrics::{MetricsSnapshot, RollingMetrics};
use crate::model::{train_auto, write_atomic, Model, TrainParams};
use arc_swap::ArcSwapOption;
use serde::{Deserialize, Serialize};
use shmtrader_core::Outcome;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;

/// Where refits run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefitMode {
    /// On the caller's thread, inside `on_outcome` (deterministic; backtests, tests).
    Inline,
    /// On a background thread; the new model is swapped in when ready.
    Background,
}

/// Filter settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterParams {
    /// `ml_confidence_threshold`: signals with a lower probability are not traded.
    pub threshold: f64,
    /// Labelled trades kept for training (the most recent).
    pub window: usize,
    /// Refit after this many new labels.
    pub refit_every: usize,
    /// No model is trained before this many labels.
    pub min_examples: usize,
    /// Training settings.
    pub train: TrainParams,
    /// Labelled predictions in the rolling metrics.
    pub metrics_window: usize,
    /// Signals awaiting an outcome (oldest evicted beyond this).
    pub pending_capacity: usize,
    /// Whether shadow outcomes of rejected signals are trained on.
    pub train_on_shadow: bool,
    /// Whether signals pass while no model is installed.
    pub pass_without_model: bool,
    /// Prediction-cache entries; 0 disables the cache (the default: see `cache.rs`).
    pub cache_capacity: usize,
    /// Prediction-cache feature quantum.
    pub cache_quantum: f64,
    /// Where refits run.
    pub mode: RefitMode,
}

impl Default for FilterParams {
    fn default() -> Self {
        FilterParams {
            threshold: 0.5,
            window: 2_000,
            refit_every: 100,
            min_examples: 300,
            train: TrainParams::default(),
            metrics_window: 500,
            pending_capacity: 4_096,
            train_on_shadow: true,
            pass_without_model: true,
            cache_capacity: 0,
            cache_quantum: 1e-6,
            mode: RefitMode::Background,
        }
    }
}

impl FilterParams {
    /// The settings of `[ml]`: the one mapping the analytics stage and the backtest
    /// share, so a backtest filters as the live process does.
    pub fn from_config(c: &shmtrader_core::config::MlConfig, mode: RefitMode) -> FilterParams {
        FilterParams {
            threshold: c.ml_confidence_threshold,
            window: c.window as usize,
            refit_every: c.refit_every as usize,
            min_examples: c.min_examples as usize,
            cache_capacity: c.cache_size as usize,
            mode,
            ..FilterParams::default()
        }
    }

    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<()> {
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return Err(MlError::Param(
                "ml_confidence_threshold must be in [0, 1]".into(),
            ));
        }
        if self.window < 20 || self.refit_every == 0 {
            return Err(MlError::Param(
                "ml.window must be >= 20 and ml.refit_every > 0".into(),
            ));
        }
        if self.min_examples > self.window {
            return Err(MlError::Param(
                "ml.min_examples must be <= ml.window".into(),
            ));
        }
        self.train.validate()
    }
}

/// What the filter said about one signal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Verdict {
    /// P(profitable after costs); `None` when no model is installed.
    pub prob: Option<f64>,
    /// Whether the signal may be traded.
    pub pass: bool,
    /// Version of the model that answered (0 = none).
    pub version: u64,
}

impl Verdict {
    /// The probability as `Signal::ml_prob_ppm` (0 = not scored; a scored probability is
    /// at least 1 ppm so it is never mistaken for "not scored").
    pub fn prob_ppm(&self) -> u32 {
        self.prob
            .map_or(0, |p| ((p * 1e6).round() as u32).clamp(1, 1_000_000))
    }
}

/// Counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilterStats {
    /// Installed model version (0 = none).
    pub version: u64,
    /// Outcomes that became labels.
    pub labelled: u64,
    /// Outcomes with no pending signal (unknown seq, restart, evicted).
    pub unmatched: u64,
    /// Outcomes refused as not exited.
    pub refused: u64,
    /// Models installed by refits.
    pub refits: u64,
    /// Refits that failed (the old model stays).
    pub refit_failures: u64,
    /// The last refit error.
    pub last_error: Option<String>,
    /// Labelled trades in the window.
    pub window: usize,
    /// Signals awaiting outcomes.
    pub pending: usize,
    /// Signals evicted from the pending store.
    pub pending_evicted: u64,
    /// Prediction-cache hits and misses.
    pub cache_hits: u64,
    /// See `cache_hits`.
    pub cache_misses: u64,
}

#[derive(Debug, Default)]
struct Shared {
    model: ArcSwapOption<Model>,
    next_version: AtomicU64,
    refits: AtomicU64,
    failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Shared {
    fn install(&self, mut m: Model) -> u64 {
        let v = self.next_version.fetch_add(1, Ordering::AcqRel) + 1;
        m.set_version(v);
        self.model.store(Some(Arc::new(m)));
        v
    }

    fn refit(&self, rows: &[Example], p: &TrainParams) {
        match train_auto(rows, p) {
            Ok(m) => {
                self.install(m);
                self.refits.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut g) = self.last_error.lock() {
                    *g = Some(e.to_string());
                }
            }
        }
    }
}

struct Worker {
    tx: mpsc::Sender<Vec<Example>>,
    handle: JoinHandle<()>,
}

/// The online filter (see the module doc).
pub struct OnlineFilter {
    p: FilterParams,
    shared: Arc<Shared>,
    worker: Option<Worker>,
    pending: PendingStore,
    window: VecDeque<Example>,
    since_refit: usize,
    metrics: RollingMetrics,
    cache: Option<PredictionCache>,
    labelled: u64,
    unmatched: u64,
    refused: u64,
}

impl std::fmt::Debug for OnlineFilter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineFilter")
            .field("version", &self.version())
            .field("window", &self.window.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

const STATE_FORMAT: &str = "shmtrader-ml-filter";
const STATE_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct FilterState {
    format: String,
    format_version: u32,
    model: Option<Model>,
    window: Vec<Example>,
}

impl OnlineFilter {
    /// A filter with no model yet.
    pub fn new(p: FilterParams) -> Result<OnlineFilter> {
        p.validate()?;
        let shared = Arc::new(Shared::default());
        let worker = match p.mode {
            RefitMode::Inline => None,
            RefitMode::Background => {
                let (tx, rx) = mpsc::channel::<Vec<Example>>();
                let sh = Arc::clone(&shared);
                let tp = p.train.clone();
                let handle = std::thread::Builder::new()
                    .name("ml-refit".into())
                    .spawn(move || {
                        while let Ok(mut rows) = rx.recv() {
                            // Only the newest window matters if several queued up.
                            while let Ok(newer) = rx.try_recv() {
                                rows = newer;
                            }
                            sh.refit(&rows, &tp);
                        }
                    })
                    .map_err(|e| MlError::io("starting the ml-refit thread", e))?;
                Some(Worker { tx, handle })
            }
        };
        let cache =
            (p.cache_capacity > 0).then(|| PredictionCache::new(p.cache_capacity, p.cache_quantum));
        Ok(OnlineFilter {
            pending: PendingStore::new(p.pending_capacity),
            window: VecDeque::with_capacity(p.window),
            metrics: RollingMetrics::new(p.metrics_window),
            since_refit: 0,
            cache,
            shared,
            worker,
            labelled: 0,
            unmatched: 0,
            refused: 0,
            p,
        })
    }

    /// The settings.
    pub fn params(&self) -> &FilterParams {
        &self.p
    }

    /// Installs a model (e.g. one loaded at start-up). A model that already has a
    /// version keeps it, and later refits continue after it; a fresh one gets the next.
    pub fn install(&mut self, mut m: Model) -> u64 {
        let v = m.version();
        let v = if v > 0 {
            self.shared.next_version.fetch_max(v, Ordering::AcqRel);
            self.shared.model.store(Some(Arc::new(m)));
            v
        } else {
            m.set_version(0);
            self.shared.install(m)
        };
        if let Some(c) = &mut self.cache {
            c.reset(v);
        }
        v
    }

    /// The installed model, if any (a cheap `Arc` clone; not for the hot path).
    pub fn model(&self) -> Option<Arc<Model>> {
        self.shared.model.load_full()
    }

    /// Version of the installed model (0 = none).
    pub fn version(&self) -> u64 {
        self.shared.model.load().as_ref().map_or(0, |m| m.version())
    }

    /// P(profitable after costs) for a feature vector, with the version that answered;
    /// `None` with no model. The hot path: one lock-free load of the model pointer, the
    /// model's arithmetic, and (if enabled) a cache probe; no allocation, no lock.
    #[inline]
    pub fn predict(&mut self, x: &FeatureVec) -> Option<(f64, u64)> {
        let g = self.shared.model.load();
        let m: &Model = g.as_ref()?;
        let v = m.version();
        let p = match &mut self.cache {
            Some(c) => c.get_or_insert_with(v, x, |q| m.predict(q)),
            None => m.predict(x),
        };
        Some((p, v))
    }

    /// Scores a signal and remembers its features under `seq` — the sequence number its
    /// outcome (real or shadow) will carry in `Outcome::signal_seq`.
    pub fn on_signal(&mut self, seq: u64, ts_ns: u64, x: &FeatureVec) -> Verdict {
        let (prob, version) = match self.predict(x) {
            Some((p, v)) => (Some(p), v),
            None => (None, 0),
        };
        let pass = prob.map_or(self.p.pass_without_model, |p| p >= self.p.threshold);
        self.pending.insert(
            seq,
            Pending {
                ts_ns,
                x: *x,
                prob,
                passed: pass,
            },
        );
        Verdict {
            prob,
            pass,
            version,
        }
    }

    /// Moves the pending signal at key `from` to key `to` (false if there is none). The
    /// analytics stage keys a signal before the verdict and re-keys a passed one with the
    /// signals-ring sequence its real outcome will carry; rejected signals keep keys of
    /// their own, so they never collide with published ones.
    pub fn rekey(&mut self, from: u64, to: u64) -> bool {
        match self.pending.take(from) {
            Some(p) => {
                self.pending.insert(to, p);
                true
            }
            None => false,
        }
    }

    /// A closed trade — real, or the shadow outcome of a rejected signal. Joins it with
    /// its signal's features; returns whether it became a label. Errors (and counts) an
    /// outcome that is not an exited trade. May trigger a refit.
    pub fn on_outcome(&mut self, o: &Outcome) -> Result<bool> {
        let resolved = match self.pending.resolve(o) {
            Ok(r) => r,
            Err(e) => {
                self.refused += 1;
                return Err(e);
            }
        };
        let Some((ex, pend)) = resolved else {
            self.unmatched += 1;
            return Ok(false);
        };
        self.labelled += 1;
        self.metrics.record(pend.prob, ex.label, pend.passed);
        if pend.passed || self.p.train_on_shadow {
            if self.window.len() == self.p.window {
                self.window.pop_front();
            }
            self.window.push_back(ex);
            self.since_refit += 1;
            if self.since_refit >= self.p.refit_every && self.window.len() >= self.p.min_examples {
                self.since_refit = 0;
                self.refit_now()?;
            }
        }
        Ok(true)
    }

    /// Starts a refit on the current window now (inline: done on return).
    pub fn refit_now(&mut self) -> Result<()> {
        let rows: Vec<Example> = self.window.iter().copied().collect();
        match &self.worker {
            None => {
                self.shared.refit(&rows, &self.p.train);
                self.sync_cache();
                Ok(())
            }
            Some(w) => w.tx.send(rows).map_err(|_| MlError::WorkerGone),
        }
    }

    /// Waits until the installed version is at least `v` (tools and tests; the trading
    /// path never waits). Returns whether it got there within `timeout`.
    pub fn wait_for_version(&self, v: u64, timeout: std::time::Duration) -> bool {
        let t0 = std::time::Instant::now();
        while self.version() < v {
            if t0.elapsed() >= timeout {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        true
    }

    /// Brings the cache in line with the installed model (drops entries of an older
    /// version). `predict` does this by itself; this is for status and tests.
    pub fn sync_cache(&mut self) {
        let v = self.version();
        if let Some(c) = &mut self.cache {
            if c.version() != v {
                c.reset(v);
            }
        }
    }

    /// Entries in the prediction cache (0 when disabled).
    pub fn cache_len(&self) -> usize {
        self.cache.as_ref().map_or(0, PredictionCache::len)
    }

    /// Rolling AUC / log loss / Brier and win rates of passed and rejected signals.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.metrics.snapshot()
    }

    /// Counters.
    pub fn stats(&self) -> FilterStats {
        let (cache_hits, cache_misses) = self
            .cache
            .as_ref()
            .map_or((0, 0), PredictionCache::counters);
        FilterStats {
            version: self.version(),
            labelled: self.labelled,
            unmatched: self.unmatched,
            refused: self.refused,
            refits: self.shared.refits.load(Ordering::Relaxed),
            refit_failures: self.shared.failures.load(Ordering::Relaxed),
            last_error: self.shared.last_error.lock().ok().and_then(|g| g.clone()),
            window: self.window.len(),
            pending: self.pending.len(),
            pending_evicted: self.pending.evicted(),
            cache_hits,
            cache_misses,
        }
    }

    /// The labelled window (oldest first).
    pub fn window(&self) -> impl Iterator<Item = &Example> {
        self.window.iter()
    }

    /// Saves the installed model and the labelled window as JSON (atomic replace), so a
    /// restart resumes with the same predictions and the same training data. Signals
    /// still awaiting outcomes are not saved: their outcomes will count as unmatched.
    pub fn save(&self, path: &Path) -> Result<()> {
        let st = FilterState {
            format: STATE_FORMAT.into(),
            format_version: STATE_VERSION,
            model: self.model().map(|m| (*m).clone()),
            window: self.window.iter().copied().collect(),
        };
        let text = serde_json::to_string(&st).map_err(|e| MlError::Format {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes())
    }

    /// A filter restored from [`OnlineFilter::save`]: same model (same version, same
    /// predictions) and window.
    pub fn load(p: FilterParams, path: &Path) -> Result<OnlineFilter> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MlError::io(format!("reading filter state {}", path.display()), e))?;
        let bad = |reason: String| MlError::Format {
            path: path.display().to_string(),
            reason,
        };
        let st: FilterState = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if st.format != STATE_FORMAT || st.format_version != STATE_VERSION {
            return Err(bad(format!(
                "format {:?} v{} is not {STATE_FORMAT:?} v{STATE_VERSION}",
                st.format, st.format_version
            )));
        }
        let mut f = OnlineFilter::new(p)?;
        if let Some(m) = st.model {
            m.validate().map_err(bad)?;
            f.install(m);
        }
        // A damaged row would make every later refit fail: refuse the file instead.
        if let Some((i, why)) = st
            .window
            .iter()
            .enumerate()
            .find_map(|(i, e)| e.problem().map(|w| (i, w)))
        {
            return Err(bad(format!("training row {i}: {why}")));
        }
        let skip = st.window.len().saturating_sub(f.p.window);
        f.window.extend(st.window.into_iter().skip(skip));
        Ok(f)
    }
}

impl Drop for OnlineFilter {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            drop(w.tx);
            let _ = w.handle.join();
        }
    }
}
