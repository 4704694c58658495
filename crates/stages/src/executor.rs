//! The executor stage: signals, ticks and mark prices in; risk gate, journaled orders,
//! exchange-held stops, fills from the venue, exits on every tick; closed trades out
//! to the outcomes ring; trading figures and positions into the control block.
//!
//! With `executor.venue = "exchange"` (the default) orders go to the venue over signed
//! REST and fills come back on its user-data stream (in paper mode the mock exchange
//! the launcher started, so paper trading runs the code that trades live); with
//! `"simulated"` the in-process paper broker fills them. The journal discipline (intent
//! durable before send, ids unique per launch, reconciliation on start) is the same.

use crate::error::Result;
use crate::exec::{Broker, ExecCore, ExecSettings, SignalResult};
use crate::runtime::{counter, fig, hist, stage_idx, StageCtx};
use crate::venue::{VenueHandle, VenueSettings};
use shmtrader_core::config::StopWorkingType;
use shmtrader_core::{Config, ExecVenue, Mode, Outcome};
use shmtrader_journal::WorkingType;
use shmtrader_risk::{BudgetLimits, PaperBroker, RiskParams, StopParams};
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::{consumer_id, ring_id, Read};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Risk parameters from the config (the one mapping, shared with the backtest).
pub fn risk_params(cfg: &Config) -> RiskParams {
    RiskParams::from_config(cfg)
}

/// The executor core's settings from the config.
pub fn exec_settings(cfg: &Config, segments_created_ns: u64) -> ExecSettings {
    let e = &cfg.executor;
    let exchange = e.venue == ExecVenue::Exchange;
    ExecSettings {
        instance: cfg.instance.clone(),
        symbols: cfg.symbols.clone(),
        journal_dir: PathBuf::from(&e.journal_dir),
        risk: risk_params(cfg),
        // The simulated venue has no request limits: the budget guards a real one.
        budget: exchange.then_some(BudgetLimits {
            orders_10s: e.max_orders_per_10s,
            orders_1m: e.max_orders_per_min,
            weight_1m: e.max_weight_per_min,
            entry_share: e.entry_budget,
        }),
        stops: (exchange && e.exchange_stops).then_some(StopParams {
            extra_atr: e.stop_extra_atr,
            min_extra_frac: e.stop_min_distance_bps / 10_000.0,
            take_profit: e.exchange_take_profit,
            ack_timeout_ns: e.stop_ack_timeout_ms.saturating_mul(1_000_000),
            replace_min_interval_ns: e.stop_replace_min_interval_ms.saturating_mul(1_000_000),
        }),
        working_type: match e.stop_working_type {
            StopWorkingType::Mark => WorkingType::MarkPrice,
            StopWorkingType::Contract => WorkingType::ContractPrice,
        },
        fill_timeout_ns: e.fill_timeout_ms.saturating_mul(1_000_000),
        segments_created_ns,
    }
}

/// Applies the closed bars analytics published (their ATR); returns how many.
fn drain_bars(
    bars: &mut shmtrader_shm::Consumer<shmtrader_core::BarRecord>,
    core: &mut ExecCore,
    slot: &shmtrader_shm::control::StageSlot,
) -> u32 {
    let mut n = 0;
    loop {
        match bars.read() {
            Read::Record(_, b) => {
                core.on_bar(&b);
                n += 1;
            }
            Read::Gap(k) => {
                slot.counters[counter::GAPS].fetch_add(k, Ordering::Relaxed);
            }
            Read::Empty => break,
        }
    }
    if n > 0 {
        bars.commit();
    }
    n
}

/// Refused signals are summed up by reason in the log this often.
const REFUSAL_LOG_NS: u64 = 10_000_000_000;

/// Runs until asked to stop, then drains its inputs.
pub fn run(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let mut signals = inst.consumer(
        &inst.signals,
        ring_id::SIGNALS,
        consumer_id::EXECUTOR_SIGNALS,
    )?;
    let mut ticks = inst.consumer(&inst.ticks, ring_id::TICKS, consumer_id::EXECUTOR_TICKS)?;
    let mut marks = inst.consumer(&inst.mark, ring_id::MARK, consumer_id::EXECUTOR_MARK)?;
    let mut bars = inst.consumer(&inst.bars, ring_id::BARS, consumer_id::EXECUTOR_BARS)?;
    let mut outcomes = inst.producer(&inst.outcomes, &[stage_idx::ANALYTICS])?;
    let bell = inst.control.doorbell_ref(stage_idx::EXECUTOR)?;
    let settings = exec_settings(&ctx.cfg, inst.control.created_ns());
    let (broker, startup) = match ctx.cfg.executor.venue {
        ExecVenue::Simulated => (
            Broker::Paper(Box::new(PaperBroker::new(&settings.risk))),
            None,
        ),
        ExecVenue::Exchange => {
            let b2 = inst.control.doorbell_ref(stage_idx::EXECUTOR)?;
            let wake: crate::venue::Wake = Arc::new(move || b2.ring());
            let (h, s) = connect_venue(&mut ctx, wake)?;
            (Broker::Venue(h), Some(s))
        }
    };
    let (mut core, replay) = ExecCore::open(settings, broker, startup, now_ns())?;
    tracing::info!(
        launch = replay.launch,
        new_launch = replay.new_launch,
        fills = replay.fills,
        external_fills = replay.external_fills,
        settled = replay.settled,
        recovered_fills = replay.recovered_fills,
        stops_adopted = replay.stops_adopted,
        stops_placed = replay.stops_placed,
        foreign = ?replay.foreign,
        torn_bytes = replay.torn_bytes,
        open = core.risk().open_positions(),
        "journal replayed and reconciled"
    );
    if let Some(b) = core.take_live_banner() {
        let line = format!("shmtrader executor: about to trade the {b}");
        tracing::warn!("{line}");
        eprintln!("{line}");
    }
    publish_replayed(&inst, &mut outcomes, &replay.outcomes);
    // The ATR of every symbol from the bars still in the ring: a restarted executor
    // sizes and places stops at once instead of rebuilding bars for 15 minutes.
    let ws = inst.bars.write_seq();
    let mut seeded = 0u64;
    for seq in ws.saturating_sub(inst.bars.capacity())..ws {
        if let Some(b) = inst.bars.get(seq) {
            core.on_bar(&b);
            seeded += 1;
        }
    }
    if seeded > 0 {
        tracing::info!(bars = seeded, "ATR taken from the bars ring");
    }

    let slot = &inst.control.block().stages[ctx.idx];
    let (h_hop, h_e2e) = (
        &inst.control.block().histograms[hist::SIGNAL_TO_EXECUTOR],
        &inst.control.block().histograms[hist::TICK_TO_ORDER],
    );
    let wait = ctx.cfg.stages.executor.clone();
    let spin_only = wait.wait == shmtrader_core::WaitMode::Spin;
    let kill_file = PathBuf::from(&ctx.cfg.executor.kill_switch_file);
    let mut closed: Vec<Outcome> = Vec::with_capacity(16);
    ctx.running();
    let mut last_figs = 0u64;
    let mut last_refusal_log = mono_ns();
    let mut cmd_seq = 0u64;
    let push = |outcomes: &mut shmtrader_shm::Producer<Outcome>, closed: &[Outcome]| {
        for o in closed {
            outcomes.push(o);
            slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
            slot.records_out.fetch_add(1, Ordering::Relaxed);
        }
    };
    loop {
        let mut did = 0u32;
        loop {
            // Bars before signals: analytics publishes the bar a tick closed before
            // that tick's signal, and the signal is sized with the bar's ATR.
            did += drain_bars(&mut bars, &mut core, slot);
            match signals.read() {
                Read::Record(seq, s) => {
                    let now = now_ns();
                    h_hop.record(now.saturating_sub(s.publish_ts_ns));
                    match core.on_signal(seq, &s, s.exchange_ts_ns, now)? {
                        SignalResult::Ordered => {
                            slot.counters[counter::ORDERS].fetch_add(1, Ordering::Relaxed);
                            h_e2e.record(now_ns().saturating_sub(s.recv_ts_ns));
                        }
                        SignalResult::Duplicate => {
                            slot.counters[counter::DUPLICATES_DROPPED]
                                .fetch_add(1, Ordering::Relaxed);
                        }
                        SignalResult::Invalid => {
                            slot.malformed.fetch_add(1, Ordering::Relaxed);
                        }
                        SignalResult::Refused(_) => {}
                    }
                    signals.commit();
                    slot.counters[counter::AUX_IN].fetch_add(1, Ordering::Relaxed);
                    did += 1;
                }
                Read::Gap(n) => {
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                    tracing::error!(lost = n, "executor was lapped on the signals ring");
                    signals.commit();
                }
                Read::Empty => break,
            }
        }
        while did < 1024 {
            match ticks.read() {
                Read::Record(_, t) => {
                    closed.clear();
                    let before = core.orders();
                    core.on_tick(&t, now_ns(), &mut closed)?;
                    if core.orders() > before {
                        slot.counters[counter::ORDERS]
                            .fetch_add(core.orders() - before, Ordering::Relaxed);
                    }
                    push(&mut outcomes, &closed);
                    ticks.commit();
                    slot.records_in.fetch_add(1, Ordering::Relaxed);
                    did += 1;
                }
                Read::Gap(n) => {
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                    tracing::warn!(lost = n, "executor was lapped on the ticks ring");
                    ticks.commit();
                }
                Read::Empty => break,
            }
        }
        loop {
            match marks.read() {
                Read::Record(_, m) => {
                    core.on_mark(m.symbol_id, m.mark_px, m.exchange_ts_ns);
                    marks.commit();
                    did += 1;
                }
                Read::Gap(n) => {
                    // Marks only value positions: the next one replaces a lost one.
                    slot.counters[counter::GAPS].fetch_add(n, Ordering::Relaxed);
                    marks.commit();
                }
                Read::Empty => break,
            }
        }
        // A command from the control plane (`shmtrader flatten`, ...): one relaxed load
        // per pass until one is posted.
        if inst.control.command_waiting(cmd_seq) {
            if let Some((seq, cmd)) = inst.control.pending_command(cmd_seq) {
                cmd_seq = seq;
                tracing::warn!(command = %cmd, seq, "command from the control plane");
                if let Some(report) = core.command(seq, cmd, now_ns())? {
                    complete(&inst, seq, &report);
                }
                did += 1;
            }
        }
        // One atomic load per pass; the channel is read only when something waits.
        if core.venue_pending() {
            closed.clear();
            let before = core.orders();
            did += core.poll_venue(now_ns(), &mut closed)? as u32;
            if core.orders() > before {
                slot.counters[counter::ORDERS].fetch_add(core.orders() - before, Ordering::Relaxed);
            }
            push(&mut outcomes, &closed);
        }
        let now = mono_ns();
        if now.saturating_sub(last_figs) > 100_000_000 {
            let wall = now_ns();
            let kill = kill_file.exists();
            core.set_kill_switch(kill, wall, wall)?;
            closed.clear();
            core.housekeeping(wall, &mut closed)?;
            push(&mut outcomes, &closed);
            if let Some((seq, report)) = core.poll_command(wall)? {
                complete(&inst, seq, &report);
            }
            publish_figures(&ctx, &core);
            last_figs = now;
            if now.saturating_sub(last_refusal_log) >= REFUSAL_LOG_NS {
                if let Some(why) = core.take_refusals() {
                    tracing::info!(
                        "signals refused in the last {} s: {why}",
                        REFUSAL_LOG_NS / 1_000_000_000
                    );
                }
                last_refusal_log = now;
            }
        }
        ctx.heartbeat();
        if did == 0 {
            if ctx.should_stop() {
                break;
            }
            bell.wait_until(
                || {
                    signals.has_data()
                        || bars.has_data()
                        || ticks.has_data()
                        || marks.has_data()
                        || core.venue_pending()
                        || inst.control.command_waiting(cmd_seq)
                },
                wait.spin_iters,
                spin_only,
                ctx.wait_timeout(),
            );
        }
    }
    // A clean stop waits (briefly) for the venue's answers to orders already sent, so
    // the journal ends with every order settled.
    let deadline = mono_ns() + 2_000_000_000;
    while core.in_flight() > 0 && mono_ns() < deadline {
        closed.clear();
        core.poll_venue(now_ns(), &mut closed)?;
        push(&mut outcomes, &closed);
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    core.close(now_ns())?;
    publish_figures(&ctx, &core);
    ctx.stopped();
    Ok(())
}

fn complete(inst: &shmtrader_shm::Instance, seq: u64, report: &shmtrader_shm::CommandReport) {
    tracing::warn!(seq, status = ?report.status, message = %report.message, "command done");
    if let Err(e) = inst.control.complete_command(seq, report) {
        tracing::error!(seq, error = %e, "the command's report could not be published");
    }
}

/// Outcomes derived during replay that the ring does not hold yet (the crash came
/// between the fill and its publication) are published; older ones are not.
fn publish_replayed(
    inst: &shmtrader_shm::Instance,
    outcomes: &mut shmtrader_shm::Producer<Outcome>,
    replayed: &[Outcome],
) {
    let ws = outcomes.next_seq();
    let last_pub = if ws > 0 {
        inst.outcomes.get(ws - 1)
    } else {
        None
    };
    let created = inst.control.created_ns();
    let skip = match last_pub {
        Some(l) => replayed
            .iter()
            .position(|o| o.signal_seq == l.signal_seq && o.exit_ts_ns == l.exit_ts_ns)
            .map(|i| i + 1)
            .unwrap_or(replayed.len()),
        None => replayed
            .iter()
            .take_while(|o| o.exit_ts_ns < created)
            .count(),
    };
    for o in &replayed[skip..] {
        outcomes.push(o);
    }
}

/// Connects to the venue (keys from the environment or the env file outside paper
/// mode), retrying while it is not reachable yet: the launcher starts the mock exchange
/// first, but it may not be listening yet. A refusal by the account (a key refused, a
/// symbol not trading, hedge mode) is final.
fn connect_venue(
    ctx: &mut StageCtx,
    wake: crate::venue::Wake,
) -> Result<(VenueHandle, crate::venue::Startup)> {
    let cfg = ctx.cfg.clone();
    let credentials = match cfg.mode {
        Mode::Paper => shmtrader_exchange::sign::Credentials::new(
            cfg.mock.api_key.clone(),
            cfg.mock.api_secret.clone(),
        )?,
        m => crate::keys::load_from_process(m, std::path::Path::new(&cfg.venue.env_file))?.ok_or(
            crate::error::StageError::MissingKey {
                var: "BINANCE_API_KEY",
                env_file: PathBuf::from(&cfg.venue.env_file),
            },
        )?,
    };
    let settings = VenueSettings::from_config(&cfg, credentials);
    let mut delay = std::time::Duration::from_millis(100);
    let mut attempts = 0;
    loop {
        ctx.heartbeat();
        match VenueHandle::connect(settings.clone(), wake.clone()) {
            Ok(v) => return Ok(v),
            Err(crate::error::StageError::Refused(crate::venue::Refusal::Unreachable {
                url,
                cause,
            })) if attempts < 12 => {
                tracing::warn!(%url, %cause, "venue not reachable yet; retrying");
                attempts += 1;
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
            Err(e) => return Err(e),
        }
    }
}

fn publish_figures(ctx: &StageCtx, core: &ExecCore) {
    let s = core.risk().stats();
    let mut f = [0.0; 32];
    f[fig::TRADES] = s.trades as f64;
    f[fig::WINS] = s.wins as f64;
    f[fig::REALIZED] = s.realized_pnl;
    f[fig::UNREALIZED] = s.unrealized_pnl;
    f[fig::FEES] = s.fees;
    f[fig::GROSS_WIN] = s.gross_profit;
    f[fig::GROSS_LOSS] = s.gross_loss;
    f[fig::MAX_DRAWDOWN] = s.max_drawdown;
    f[fig::OPEN] = core.risk().open_positions() as f64;
    f[fig::EXPOSURE] = s.gross_exposure_usd;
    f[fig::ORDERS] = core.orders() as f64;
    f[fig::WIN_RATE] = s.win_rate;
    f[fig::PROFIT_FACTOR] = s.profit_factor;
    f[fig::AVG_WIN] = s.avg_win;
    f[fig::AVG_LOSS] = s.avg_loss;
    f[fig::EQUITY] = s.equity;
    f[fig::REFUSED] = core.refused() as f64;
    f[fig::MAX_DRAWDOWN_USD] = s.max_drawdown_usd;
    f[fig::KILL_SWITCH] = if core.risk().kill_switch() { 1.0 } else { 0.0 };
    f[fig::ALERTS] = core.alerts() as f64;
    f[fig::STREAM_UP] = if core.stream_up() { 1.0 } else { 0.0 };
    f[fig::OPEN_STOPS] = core.open_stops() as f64;
    f[fig::LAUNCH] = core.launch() as f64;
    f[fig::ENTRIES_STOPPED] = if core.entries_stopped() { 1.0 } else { 0.0 };
    f[fig::FUNDING] = s.funding;
    f[fig::WALLET] = core.risk().wallet_balance();
    f[fig::PEAK_EQUITY] = core.risk().persisted().peak_equity;
    f[fig::BLOCKED_SYMBOLS] = core.blocks().iter().filter(|b| **b != 0).count() as f64;
    f[fig::LAST_REFUSAL] = f64::from(core.last_refusal());
    ctx.inst.control.set_trading(&f);
    ctx.inst.control.set_positions(&core.position_rows());
}
