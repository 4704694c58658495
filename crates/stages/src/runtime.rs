//! What every stage process does around its loop: attach to the instance, pin itself,
//! publish pid/cpu/state, heartbeat, and notice stop requests.

use crate::error::{Result, StageError};
use shmtrader_core::Config;
use shmtrader_shm::clock::{current_cpu, mono_ns, pin_to_cpu};
use shmtrader_shm::{Instance, StageSlot, StageState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Stage indices in the control block (also their doorbell index).
pub mod stage_idx {
    /// Market data in.
    pub const INGEST: usize = 0;
    /// Indicators and signals.
    pub const ANALYTICS: usize = 1;
    /// Orders and positions.
    pub const EXECUTOR: usize = 2;
    /// The mock exchange (paper mode).
    pub const MOCK: usize = 3;
    /// Index by name.
    pub fn of(name: &str) -> Option<usize> {
        match name {
            "ingest" => Some(INGEST),
            "analytics" => Some(ANALYTICS),
            "executor" => Some(EXECUTOR),
            "mock-exchange" => Some(MOCK),
            _ => None,
        }
    }
    /// Names by index.
    pub const NAMES: [&str; 4] = ["ingest", "analytics", "executor", "mock-exchange"];
}

/// Meaning of the stage-specific counters (`StageSlot::counters`).
pub mod counter {
    /// analytics: signals suppressed as repeats of already-published ones after a restart.
    pub const DUPLICATES_DROPPED: usize = 0;
    /// analytics: ticks replayed to rebuild state after a (re)start.
    pub const REWARMED: usize = 1;
    /// analytics: book records consumed. executor: signals consumed.
    pub const AUX_IN: usize = 2;
    /// executor: orders (paper fills) made.
    pub const ORDERS: usize = 3;
    /// analytics: outcomes consumed. executor: outcomes published.
    pub const OUTCOMES: usize = 4;
    /// gaps seen by this stage's consumers. ingest: aggregate-id gaps detected.
    pub const GAPS: usize = 5;
    /// ingest: trades recovered by REST backfill. analytics: signals the ML filter
    /// rejected.
    pub const BACKFILLED: usize = 6;
    /// analytics: signals the ML filter rejected (same slot as ingest's BACKFILLED).
    pub const ML_REJECTED: usize = 6;
    /// ingest: websocket (re)connects.
    pub const CONNECTS: usize = 7;
}

/// Latency histograms in the control block.
pub mod hist {
    /// ingest: receive → publish.
    pub const INGEST_PUBLISH: usize = 0;
    /// tick published by ingest → seen by analytics (cross-process hop).
    pub const TICK_TO_ANALYTICS: usize = 1;
    /// tick published → signal published (hop + decision).
    pub const TICK_TO_SIGNAL: usize = 2;
    /// signal published → seen by the executor (cross-process hop).
    pub const SIGNAL_TO_EXECUTOR: usize = 3;
    /// tick received by ingest → order decided by the executor (end to end).
    pub const TICK_TO_ORDER: usize = 4;
    /// Names by index.
    pub const NAMES: [&str; 5] = [
        "ingest_publish",
        "tick_to_analytics",
        "tick_to_signal",
        "signal_to_executor",
        "tick_to_order",
    ];
}

/// A running stage's view of the world.
#[derive(Debug)]
pub struct StageCtx {
    /// Effective configuration.
    pub cfg: Config,
    /// The attached instance.
    pub inst: Instance,
    /// Stage index.
    pub idx: usize,
    /// Stage name.
    pub name: &'static str,
    term: Arc<AtomicBool>,
    hb_interval_ns: u64,
    last_hb: u64,
}

impl StageCtx {
    /// Attaches to the instance (waiting up to 5 s for the launcher to create it),
    /// installs SIGTERM/SIGINT handling, pins to the configured CPU and marks the stage
    /// `Starting`.
    pub fn start(cfg: Config, name: &'static str) -> Result<StageCtx> {
        let idx = stage_idx::of(name).ok_or_else(|| StageError::UnknownStage {
            name: name.to_string(),
        })?;
        let deadline = Instant::now() + Duration::from_secs(5);
        let inst = loop {
            match Instance::open(&cfg.instance) {
                Ok(i) => break i,
                Err(e) if Instant::now() < deadline => {
                    tracing::debug!(error = %e, "instance not ready yet");
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e.into()),
            }
        };
        let term = Arc::new(AtomicBool::new(false));
        for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
            signal_hook::flag::register(sig, term.clone())
                .map_err(|e| StageError::io("installing signal handler", e))?;
        }
        let slot = inst.control.stage(idx).ok_or(StageError::NoSlot { idx })?;
        // One process per stage: a second one (started by hand beside a running
        // launcher, or twice by hand) is refused here, before it writes anything.
        let running = slot.pid.load(Ordering::Acquire);
        if running != 0
            && running != std::process::id()
            && matches!(
                slot.state(),
                StageState::Starting | StageState::Running | StageState::Stopping
            )
            && shmtrader_shm::pid_alive(running)
        {
            return Err(StageError::StageRunning {
                stage: name.to_string(),
                instance: cfg.instance.clone(),
                pid: running,
            });
        }
        let mut cpu = -1i32;
        if let Some(want) = cfg.stage(name).and_then(|s| s.cpu) {
            match pin_to_cpu(want) {
                Ok(()) => cpu = want as i32,
                Err(e) => {
                    tracing::warn!(stage = name, cpu = want, error = %e, "cannot pin to CPU; running unpinned")
                }
            }
        }
        if cpu < 0 {
            tracing::debug!(stage = name, on = ?current_cpu(), "unpinned");
        }
        let now = mono_ns();
        slot.pid.store(std::process::id(), Ordering::Release);
        slot.cpu.store(cpu, Ordering::Release);
        slot.started_ns.store(now, Ordering::Release);
        slot.heartbeat_ns.store(now, Ordering::Release);
        slot.set_state(StageState::Starting);
        let hb_interval_ns = cfg.supervisor.heartbeat_interval_ms * 1_000_000;
        tracing::info!(stage = name, pid = std::process::id(), cpu, instance = %cfg.instance, "stage attached");
        Ok(StageCtx {
            cfg,
            inst,
            idx,
            name,
            term,
            hb_interval_ns,
            last_hb: now,
        })
    }

    /// This stage's control slot.
    pub fn slot(&self) -> &StageSlot {
        // `start` checked the index exists.
        &self.inst.control.block().stages[self.idx]
    }

    /// Marks the stage running (after state was rebuilt).
    pub fn running(&self) {
        self.slot().set_state(StageState::Running);
    }

    /// Stamps the heartbeat if due. Cheap enough to call every loop iteration. Returns
    /// the (monotonic) time when it stamped, so other periodic work can ride on the
    /// same clock read.
    #[inline]
    pub fn heartbeat(&mut self) -> Option<u64> {
        let now = mono_ns();
        if now.saturating_sub(self.last_hb) < self.hb_interval_ns / 2 {
            return None;
        }
        {
            self.slot().heartbeat_ns.store(now, Ordering::Release);
            self.last_hb = now;
            // A stage whose launcher died (SIGKILL, a crashed test) must not run on as an
            // orphan: nobody supervises it and it holds a core. Checked at heartbeat
            // rate, not per record.
            if !self.inst.control.owner_alive() && !self.term.load(Ordering::Relaxed) {
                tracing::warn!(stage = self.name, "the launcher is gone; stopping");
                self.term.store(true, Ordering::Relaxed);
            }
        }
        Some(now)
    }

    /// Whether the stage was asked to stop (signal or launcher shutdown flag).
    #[inline]
    pub fn should_stop(&self) -> bool {
        self.term.load(Ordering::Relaxed) || self.inst.control.shutdown_requested()
    }

    /// How long a waiting stage sleeps at most between heartbeats.
    pub fn wait_timeout(&self) -> Duration {
        Duration::from_nanos((self.hb_interval_ns / 2).max(1_000_000))
    }

    /// Marks a clean exit.
    pub fn stopped(&self) {
        self.slot().set_state(StageState::Stopped);
        tracing::info!(stage = self.name, "stage stopped cleanly");
    }
}

/// Per-symbol figures the analytics stage publishes in the control block (indexes into
/// each row of `Control::symbol_figures`).
pub mod symfig {
    /// Bars committed (history and live).
    pub const BARS: usize = 0;
    /// 1 once every bar indicator has a value (the strategy can signal), else 0.
    pub const READY: usize = 1;
    /// Bars loaded from the venue's klines at start (warm start).
    pub const WARM_BARS: usize = 2;
    /// Last trade price.
    pub const LAST_PRICE: usize = 3;
    /// Signal threshold in force.
    pub const THRESHOLD: usize = 4;
    /// Regime code (`Regime::code`).
    pub const REGIME: usize = 5;
    /// Strength of the last signal published (NaN: none yet).
    pub const LAST_STRENGTH: usize = 6;
    /// Signals published.
    pub const SIGNALS: usize = 7;
}

/// ML filter figures the analytics stage publishes in the control block (indexes);
/// NaN means "not known yet".
pub mod mlfig {
    /// 1 when the filter is enabled.
    pub const ENABLED: usize = 0;
    /// Installed model version (0 = none yet).
    pub const VERSION: usize = 1;
    /// Outcomes that became labels.
    pub const LABELLED: usize = 2;
    /// Labelled trades in the training window.
    pub const WINDOW: usize = 3;
    /// Models installed by refits.
    pub const REFITS: usize = 4;
    /// Refits that failed.
    pub const REFIT_FAILURES: usize = 5;
    /// Scored and labelled signals in the rolling metrics.
    pub const SCORED: usize = 6;
    /// Rolling AUC (NaN: one class only).
    pub const AUC: usize = 7;
    /// Rolling log loss.
    pub const LOG_LOSS: usize = 8;
    /// Rolling Brier score.
    pub const BRIER: usize = 9;
    /// Share of those that won.
    pub const BASE_RATE: usize = 10;
    /// Passed signals with a real outcome in the metrics window.
    pub const PASSED: usize = 11;
    /// Their realized win rate (NaN: none).
    pub const PASSED_WIN_RATE: usize = 12;
    /// Rejected signals with a shadow outcome in the metrics window.
    pub const REJECTED: usize = 13;
    /// Their shadow win rate (NaN: none).
    pub const REJECTED_WIN_RATE: usize = 14;
    /// Prediction-cache hits.
    pub const CACHE_HITS: usize = 15;
    /// Prediction-cache misses.
    pub const CACHE_MISSES: usize = 16;
    /// Signals waiting for an outcome.
    pub const PENDING: usize = 17;
    /// Shadow trades open.
    pub const SHADOW_OPEN: usize = 18;
    /// Shadow trades closed.
    pub const SHADOW_CLOSED: usize = 19;
    /// Signals scored since start.
    pub const SIGNALS: usize = 20;
    /// Signals passed since start.
    pub const SIGNALS_PASSED: usize = 21;
    /// Outcomes with no pending signal.
    pub const UNMATCHED: usize = 22;
    /// `ml_confidence_threshold`.
    pub const THRESHOLD: usize = 23;
}

/// Trading figures published by the executor (indices into the control block's array).
pub mod fig {
    /// Closed trades.
    pub const TRADES: usize = 0;
    /// Winning trades.
    pub const WINS: usize = 1;
    /// Realized PnL net of fees and funding.
    pub const REALIZED: usize = 2;
    /// Unrealized PnL at the last prices.
    pub const UNREALIZED: usize = 3;
    /// Fees paid.
    pub const FEES: usize = 4;
    /// Gross profit of winners.
    pub const GROSS_WIN: usize = 5;
    /// Gross loss of losers (positive).
    pub const GROSS_LOSS: usize = 6;
    /// Maximum drawdown of equity (fraction of peak).
    pub const MAX_DRAWDOWN: usize = 7;
    /// Open positions.
    pub const OPEN: usize = 8;
    /// Gross notional of open positions.
    pub const EXPOSURE: usize = 9;
    /// Orders journaled.
    pub const ORDERS: usize = 10;
    /// Win rate.
    pub const WIN_RATE: usize = 11;
    /// Profit factor.
    pub const PROFIT_FACTOR: usize = 12;
    /// Average win.
    pub const AVG_WIN: usize = 13;
    /// Average loss.
    pub const AVG_LOSS: usize = 14;
    /// Equity.
    pub const EQUITY: usize = 15;
    /// Signals refused by the risk gate.
    pub const REFUSED: usize = 16;
    /// Maximum drawdown in USD.
    pub const MAX_DRAWDOWN_USD: usize = 17;
    /// Kill switch engaged (1/0).
    pub const KILL_SWITCH: usize = 18;
    /// Alerts raised (fills of orders not placed here, stops that failed, positions
    /// the journal could not explain).
    pub const ALERTS: usize = 19;
    /// The user-data stream is up (1/0; always 1 with the simulated venue).
    pub const STREAM_UP: usize = 20;
    /// Conditional orders (stops, take-profits) resting on the exchange.
    pub const OPEN_STOPS: usize = 21;
    /// This run's launch nonce.
    pub const LAUNCH: usize = 22;
    /// Entries stopped by command (1/0).
    pub const ENTRIES_STOPPED: usize = 23;
    /// Funding received (negative: paid).
    pub const FUNDING: usize = 24;
    /// Wallet balance (the venue's, once known).
    pub const WALLET: usize = 25;
    /// Highest equity seen (journaled: it outlives a launch).
    pub const PEAK_EQUITY: usize = 26;
    /// Symbols whose entries are blocked (foreign position, not trading, diverged).
    pub const BLOCKED_SYMBOLS: usize = 27;
    /// Code of the last refused signal's reason (`RefuseReason::code`; 0: none yet).
    pub const LAST_REFUSAL: usize = 28;
}
