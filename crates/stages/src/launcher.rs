//! `shmtrader run`: creates the instance's segments, spawns the stages as child
//! processes of the same executable, watches exits and heartbeats, restarts failures
//! with exponential backoff, prints a one-line summary, and stops everything in order.

use crate::error::{Result, StageError};
use crate::runtime::{counter, fig, stage_idx};
use shmtrader_core::{Config, Mode, STAGES};
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::{Capacities, Instance, StageState};
use std::collections::VecDeque;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How to launch.
#[derive(Debug, Clone)]
pub struct LaunchOptions {
    /// The `shmtrader` executable (normally `current_exe()`).
    pub exe: PathBuf,
    /// Arguments appended after the stage name (`--config F --instance N`).
    pub child_args: Vec<String>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Leave the segments in /dev/shm after exit (debugging, tests).
    pub keep_segments: bool,
    /// Stages left to processes started by hand (`--manual`): neither started nor
    /// restarted, shown as manual in `status`.
    pub manual: Vec<String>,
}

struct Managed {
    name: &'static str,
    idx: usize,
    child: Option<Child>,
    spawned_at: Instant,
    restart_at: Option<Instant>,
    consecutive: u32,
    history: VecDeque<Instant>,
}

/// Heartbeat timeout of a stage still starting: longer than the venue client's own
/// timeouts (30 s to connect, 60 s per reconciliation request), so only a start-up that
/// is really stuck is killed.
const STARTUP_HEARTBEAT_TIMEOUT_NS: u64 = 120 * 1_000_000_000;

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => "exited".to_string(),
    }
}

fn spawn(opts: &LaunchOptions, name: &str) -> Result<Child> {
    let mut cmd = Command::new(&opts.exe);
    cmd.arg(name).args(&opts.child_args);
    if name == "mock-exchange" {
        // Register in the control block so it is supervised and shown like a stage.
        cmd.arg("--attach");
    }
    cmd.spawn()
        .map_err(|e| StageError::io(format!("spawning stage {name}"), e))
}

/// Waits until the mock exchange accepts connections on `listen`, so ingest and the
/// executor do not start with a round of refused connections and backoffs. Gives up
/// (with a warning) after `timeout` or if the mock exits; the supervisor handles that.
fn wait_listening(listen: &str, child: &mut Child, timeout: Duration) {
    let Ok(addr) = listen.parse::<std::net::SocketAddr>() else {
        return;
    };
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    tracing::warn!(%addr, "the mock exchange is not listening yet; starting the stages anyway");
}

fn send(child: &Child, sig: i32) {
    // Our own un-reaped child: its pid cannot have been reused yet.
    let _ = shmtrader_shm::send_signal(child.id(), sig);
}

/// Runs the launcher until the duration elapses, a signal arrives, or it gives up.
/// Returns the process exit code.
pub fn run(cfg: &Config, opts: LaunchOptions) -> Result<i32> {
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, term.clone())
            .map_err(|e| StageError::io("installing signal handler", e))?;
    }
    // Keys are checked before anything starts: a `.env` readable by others or a missing
    // key fails here, clearly, not in a restarting executor.
    if cfg.mode != Mode::Paper {
        crate::keys::load_from_process(cfg.mode, std::path::Path::new(&cfg.venue.env_file))?;
    }
    let caps = Capacities {
        ticks: cfg.rings.ticks,
        book: cfg.rings.book,
        signals: cfg.rings.signals,
        outcomes: cfg.rings.outcomes,
        mark: cfg.rings.mark,
        bars: cfg.rings.bars,
    };
    let (inst, stale) = Instance::create(&cfg.instance, &cfg.symbols, caps, now_ns())?;
    if stale {
        tracing::warn!(instance = %cfg.instance, "removed a stale instance left by a dead launcher");
    }
    tracing::info!(instance = %cfg.instance, mode = ?cfg.mode, symbols = ?cfg.symbols, "segments created");
    if cfg.mode == Mode::Paper && cfg.executor.venue == shmtrader_core::ExecVenue::Exchange {
        archive_paper_journal(cfg)?;
    }
    let sup = &cfg.supervisor;
    // Stop order is vector order: ingest, analytics, executor, then the venue.
    let mut names: Vec<&'static str> = STAGES.to_vec();
    if cfg.mode == Mode::Paper {
        names.push("mock-exchange");
    }
    // Start order: the venue first, so ingest finds it listening.
    let mut start_order = names.clone();
    start_order.rotate_right(usize::from(cfg.mode == Mode::Paper));
    for m in &opts.manual {
        if !names.iter().any(|n| n == m) {
            return Err(StageError::UnknownStage { name: m.clone() });
        }
    }
    let mut stages: Vec<Managed> = Vec::new();
    for name in start_order {
        let idx = stage_idx::of(name).ok_or_else(|| StageError::UnknownStage {
            name: name.to_string(),
        })?;
        if opts.manual.iter().any(|m| m == name) {
            if let Some(slot) = inst.control.stage(idx) {
                slot.manual.store(1, Ordering::Release);
                slot.set_state(StageState::Manual);
            }
            let hint = format!(
                "stage {name} is left to you: start it with `shmtrader {name} --instance {}{}` (under a debugger or perf if you like); it resumes from the stage's cursors, and this launcher will not restart it",
                cfg.instance,
                opts.child_args
                    .windows(2)
                    .find(|w| w[0] == "--config")
                    .map(|w| format!(" --config {}", w[1]))
                    .unwrap_or_default()
            );
            tracing::warn!("{hint}");
            eprintln!("shmtrader: {hint}");
            stages.push(Managed {
                name,
                idx,
                child: None,
                spawned_at: Instant::now(),
                restart_at: None,
                consecutive: 0,
                history: VecDeque::new(),
            });
            continue;
        }
        let mut child = spawn(&opts, name)?;
        tracing::info!(stage = name, pid = child.id(), "spawned");
        if name == "mock-exchange" {
            wait_listening(&cfg.mock.listen, &mut child, Duration::from_secs(10));
        }
        stages.push(Managed {
            name,
            idx,
            child: Some(child),
            spawned_at: Instant::now(),
            restart_at: None,
            consecutive: 0,
            history: VecDeque::new(),
        });
    }
    stages.sort_by_key(|m| names.iter().position(|n| *n == m.name));
    let started = Instant::now();
    let mut last_summary = Instant::now();
    let mut last_ticks = (Instant::now(), 0u64);
    let mut exit_code = 0;
    let mut give_up: Option<String> = None;
    let hb_timeout_ns = sup.heartbeat_timeout_ms * 1_000_000;
    'outer: loop {
        if term.load(Ordering::Relaxed) {
            tracing::info!("stop requested");
            break;
        }
        if opts.duration.is_some_and(|d| started.elapsed() >= d) {
            tracing::info!("duration reached");
            break;
        }
        for m in stages.iter_mut() {
            let Some(slot) = inst.control.stage(m.idx) else {
                continue;
            };
            let mut failure: Option<String> = None;
            if let Some(child) = m.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => failure = Some(describe(status)),
                    Ok(None) => {
                        let hb = slot.heartbeat_ns.load(Ordering::Acquire);
                        let age = mono_ns().saturating_sub(hb);
                        let alive_long_enough =
                            m.spawned_at.elapsed() > Duration::from_nanos(hb_timeout_ns);
                        // Start-up (connecting to the venue, reconciling orders with it)
                        // may block on the network between heartbeats for longer than
                        // the loop's timeout; it gets its own, wider limit.
                        let limit = if slot.state() == StageState::Starting {
                            hb_timeout_ns.max(STARTUP_HEARTBEAT_TIMEOUT_NS)
                        } else {
                            hb_timeout_ns
                        };
                        if alive_long_enough
                            && slot.pid.load(Ordering::Relaxed) == child.id()
                            && age > limit
                        {
                            send(child, libc::SIGKILL);
                            let _ = child.wait();
                            failure =
                                Some(format!("hung: no heartbeat for {} ms", age / 1_000_000));
                        } else if alive_long_enough
                            && slot.pid.load(Ordering::Relaxed) != child.id()
                        {
                            // Never attached (e.g. stuck before opening the instance).
                            send(child, libc::SIGKILL);
                            let _ = child.wait();
                            failure = Some("never attached to the instance".into());
                        }
                    }
                    Err(e) => failure = Some(format!("wait failed: {e}")),
                }
            }
            if let Some(reason) = failure {
                m.child = None;
                slot.set_state(StageState::Failed);
                slot.set_reason(&reason);
                let now = Instant::now();
                let window = Duration::from_secs(sup.restart_window_s);
                while m
                    .history
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > window)
                {
                    m.history.pop_front();
                }
                m.history.push_back(now);
                if m.history.len() as u32 > sup.max_restarts {
                    give_up = Some(format!(
                        "stage {} failed {} times within {} s (last: {reason}); stopping everything",
                        m.name,
                        m.history.len(),
                        sup.restart_window_s
                    ));
                    break 'outer;
                }
                // A stage that ran well for a while starts its backoff afresh.
                if m.spawned_at.elapsed() > Duration::from_millis(sup.restart_backoff_max_ms * 2) {
                    m.consecutive = 0;
                }
                let delay = sup
                    .restart_backoff_min_ms
                    .saturating_mul(1u64 << m.consecutive.min(20))
                    .min(sup.restart_backoff_max_ms);
                m.consecutive += 1;
                m.restart_at = Some(now + Duration::from_millis(delay));
                tracing::warn!(stage = m.name, %reason, restart_in_ms = delay, "stage failed");
            }
            if m.child.is_none() && m.restart_at.is_some_and(|t| Instant::now() >= t) {
                match spawn(&opts, m.name) {
                    Ok(child) => {
                        slot.restarts.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(stage = m.name, pid = child.id(), "restarted");
                        m.child = Some(child);
                        m.spawned_at = Instant::now();
                        m.restart_at = None;
                    }
                    Err(e) => {
                        tracing::error!(stage = m.name, error = %e, "restart failed");
                        m.restart_at = Some(
                            Instant::now() + Duration::from_millis(sup.restart_backoff_max_ms),
                        );
                    }
                }
            }
        }
        if sup.summary_interval_s > 0
            && last_summary.elapsed() >= Duration::from_secs(sup.summary_interval_s)
        {
            let ws = inst.ticks.write_seq();
            let dt = last_ticks.0.elapsed().as_secs_f64().max(1e-9);
            let rate = (ws - last_ticks.1) as f64 / dt;
            last_ticks = (Instant::now(), ws);
            eprintln!("{}", summary_line(&inst, started.elapsed(), rate));
            last_summary = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    if let Some(msg) = &give_up {
        tracing::error!("{msg}");
        eprintln!("shmtrader: {msg}");
        exit_code = 1;
    }
    shutdown(
        &inst,
        &mut stages,
        Duration::from_millis(sup.stop_timeout_ms),
    );
    eprintln!("{}", summary_line(&inst, started.elapsed(), 0.0));
    if opts.keep_segments {
        tracing::info!(instance = %cfg.instance, "segments kept (--keep-segments)");
    } else {
        Instance::remove(&cfg.instance)?;
        tracing::info!(instance = %cfg.instance, "segments removed");
    }
    Ok(exit_code)
}

/// Stops stages in start order (ingest first, executor last), each draining what it
/// was given before the next is asked.
fn shutdown(inst: &Instance, stages: &mut [Managed], grace: Duration) {
    for m in stages.iter_mut() {
        let Some(mut child) = m.child.take() else {
            continue;
        };
        if let Some(slot) = inst.control.stage(m.idx) {
            if slot.state() != StageState::Stopped {
                slot.set_state(StageState::Stopping);
            }
        }
        send(&child, libc::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            match child.try_wait() {
                Ok(Some(st)) => {
                    tracing::info!(stage = m.name, status = %describe(st), "stopped");
                    break;
                }
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    tracing::warn!(stage = m.name, "did not stop in time; killing");
                    send(&child, libc::SIGKILL);
                    let _ = child.wait();
                    break;
                }
            }
        }
    }
    inst.control.request_shutdown();
}

/// The one-line progress summary.
pub fn summary_line(inst: &Instance, up: Duration, ticks_per_s: f64) -> String {
    let ctl = &inst.control;
    let st = |i: usize| ctl.stage(i);
    let load = |i: usize, f: &dyn Fn(&shmtrader_shm::StageSlot) -> u64| st(i).map(f).unwrap_or(0);
    let ingest_out = load(stage_idx::INGEST, &|s| {
        s.records_out.load(Ordering::Relaxed)
    });
    let an_in = load(stage_idx::ANALYTICS, &|s| {
        s.records_in.load(Ordering::Relaxed)
    });
    let sigs = inst.signals.write_seq();
    let orders = load(stage_idx::EXECUTOR, &|s| {
        s.counters[counter::ORDERS].load(Ordering::Relaxed)
    });
    let figs = ctl.trading().unwrap_or([0.0; 32]);
    let restarts: Vec<String> = STAGES
        .iter()
        .map(|n| {
            let r = stage_idx::of(n)
                .and_then(st)
                .map(|s| s.restarts.load(Ordering::Relaxed))
                .unwrap_or(0);
            format!("{}{}", &n[..1], r)
        })
        .collect();
    // Indicator readiness: a user sees why nothing trades yet.
    let ready = ctl.symbol_figures().map_or_else(
        || "warming".to_string(),
        |rows| {
            let n = ctl.symbols().len();
            let r = rows
                .iter()
                .take(n)
                .filter(|r| r[crate::runtime::symfig::READY] == 1.0)
                .count();
            format!("{r}/{n} ready")
        },
    );
    format!(
        "[{:>5.0}s] ticks {:>7.0}/s | ingest out {} | analytics in {} | indicators {} | signals {} | orders {} | open {} | pnl {:+.2} (unreal {:+.2}) | restarts {}",
        up.as_secs_f64(),
        ticks_per_s,
        ingest_out,
        an_in,
        ready,
        sigs,
        orders,
        figs[fig::OPEN],
        figs[fig::REALIZED],
        figs[fig::UNREALIZED],
        restarts.join(" ")
    )
}

/// Paper mode starts a fresh mock exchange with every launch: no positions, no orders.
/// The previous launch's journal describes an account that no longer exists, and the
/// executor's reconciliation would (rightly) refuse to trade against it, so it is moved
/// aside — never deleted — as `<instance>.journal.<unix-seconds>.prev`. Executor
/// restarts within one launch keep the journal: that is what crash recovery is for.
fn archive_paper_journal(cfg: &shmtrader_core::Config) -> Result<()> {
    let dir = std::path::Path::new(&cfg.executor.journal_dir);
    let path = dir.join(format!("{}.journal", cfg.instance));
    if !path.exists() {
        return Ok(());
    }
    let secs = now_ns() / 1_000_000_000;
    let to = dir.join(format!("{}.journal.{secs}.prev", cfg.instance));
    std::fs::rename(&path, &to)
        .map_err(|e| StageError::io(format!("archiving {}", path.display()), e))?;
    tracing::info!(from = %path.display(), to = %to.display(), "paper mode: the previous launch's journal was archived (fresh mock exchange)");
    Ok(())
}
