//! The executor stage: signals and ticks in; risk gate, journaled orders, paper fills,
//! exits on every tick; closed trades out to the outcomes ring; trading figures and
//! positions into the control block.
//!
//! With `executor.venue = "exchange"` (the default) orders go to the venue over signed
//! REST (in paper mode the mock exchange the launcher started, so paper trading runs
//! the code that trades live); with `"simulated"` the in-process paper broker fills
//! them. The journal discipline (intent durable before send, deterministic ids,
//! reconciliation on start) is the same either way.

use crate::error::Result;
use crate::exec_core::{ExecCore, SignalResult};
use crate::runtime::{counter, fig, hist, stage_idx, StageCtx};
use shmtrader_core::Outcome;
use shmtrader_risk::RiskParams;
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::{consumer_id, ring_id, Read};
use std::path::Path;
use std::sync::atomic::Ordering;

/// Risk parameters from the config (bar interval shared with the strategy).
pub fn risk_params(cfg: &shmtrader_core::Config) -> RiskParams {
    let mut p = RiskParams::from_core(&cfg.risk);
    p.bar_interval_ns = cfg.indicators.bar_interval_ms.saturating_mul(1_000_000);
    p
}

/// Runs until asked to stop, then drains its inputs.
pub fn run(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let mut signals = inst.consumer(
        &inst.signals,
        ring_id::SIGNALS,
        consumer_id::EXECUTOR_SIGNALS,
    )?;
    let mut ticks = inst.consumer(&inst.ticks, ring_id::TICKS, consumer_id::EXECUTOR_TICKS)?;
    let mut outcomes = inst.producer(&inst.outcomes, &[stage_idx::ANALYTICS])?;
    let venue = match ctx.cfg.executor.venue {
        shmtrader_core::ExecVenue::Simulated => None,
        shmtrader_core::ExecVenue::Exchange => Some(connect_venue(&mut ctx)?),
    };
    let (mut core, replay) = ExecCore::open(
        &ctx.cfg.instance,
        &ctx.cfg.symbols,
        risk_params(&ctx.cfg),
        Path::new(&ctx.cfg.executor.journal_dir),
        now_ns(),
        venue,
    )?;
    core.set_max_orders_per_10s(ctx.cfg.executor.max_orders_per_10s as usize);
    tracing::info!(
        fills = replay.fills,
        lost_in_flight = replay.resolved_lost,
        torn_bytes = replay.torn_bytes,
        open = core.risk().open_positions(),
        "journal replayed"
    );
    // Outcomes derived during replay that the ring does not hold yet (the crash came
    // between the fill and its publication) are published now; older ones are not.
    let ws = outcomes.next_seq();
    let last_pub = if ws > 0 {
        inst.outcomes.get(ws - 1)
    } else {
        None
    };
    let created = inst.control.created_ns();
    let skip = match last_pub {
        Some(l) => replay
            .outcomes
            .iter()
            .position(|o| o.signal_seq == l.signal_seq && o.exit_ts_ns == l.exit_ts_ns)
            .map(|i| i + 1)
            .unwrap_or(replay.outcomes.len()),
        None => replay
            .outcomes
            .iter()
            .take_while(|o| o.exit_ts_ns < created)
            .count(),
    };
    for o in &replay.outcomes[skip..] {
        outcomes.push(o);
    }

    let slot = &inst.control.block().stages[ctx.idx];
    let (h_hop, h_e2e) = (
        &inst.control.block().histograms[hist::SIGNAL_TO_EXECUTOR],
        &inst.control.block().histograms[hist::TICK_TO_ORDER],
    );
    let wait = ctx.cfg.stages.executor.clone();
    let spin_only = wait.wait == shmtrader_core::WaitMode::Spin;
    let bell = inst.control.doorbell_ref(stage_idx::EXECUTOR)?;
    let kill_file = std::path::PathBuf::from(&ctx.cfg.executor.kill_switch_file);
    let mut closed: Vec<Outcome> = Vec::with_capacity(16);
    ctx.running();
    let mut last_figs = 0u64;
    loop {
        let mut did = 0u32;
        loop {
            match signals.read() {
                Read::Record(seq, s) => {
                    let now = now_ns();
                    h_hop.record(now.saturating_sub(s.publish_ts_ns));
                    match core.on_signal(seq, &s, s.exchange_ts_ns)? {
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
                    core.on_tick(&t, &mut closed)?;
                    if core.orders() > before {
                        slot.counters[counter::ORDERS]
                            .fetch_add(core.orders() - before, Ordering::Relaxed);
                    }
                    for o in &closed {
                        outcomes.push(o);
                        slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
                        slot.records_out.fetch_add(1, Ordering::Relaxed);
                    }
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
        closed.clear();
        // No clock read or channel poll per loop pass unless an order is out.
        let answered = if core.venue_in_flight() > 0 {
            core.poll_venue(now_ns(), &mut closed)?
        } else {
            0
        };
        for o in &closed {
            outcomes.push(o);
            slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
            slot.records_out.fetch_add(1, Ordering::Relaxed);
        }
        did += answered as u32;
        let now = mono_ns();
        if now.saturating_sub(last_figs) > 100_000_000 {
            let kill = kill_file.exists();
            if kill != core.risk().kill_switch() {
                tracing::warn!(kill, file = %kill_file.display(), "kill switch changed");
                core.set_kill_switch(kill, now_ns())?;
            }
            publish_figures(&ctx, &core);
            last_figs = now;
        }
        ctx.heartbeat();
        if did == 0 {
            if ctx.should_stop() {
                break;
            }
            // Venue answers arrive on a channel, not a ring: poll them every 200 µs
            // while orders are out.
            let timeout = if core.venue_in_flight() > 0 {
                std::time::Duration::from_micros(200)
            } else {
                ctx.wait_timeout()
            };
            bell.wait_until(
                || signals.has_data() || ticks.has_data(),
                wait.spin_iters,
                spin_only,
                timeout,
            );
        }
    }
    // A clean stop waits (briefly) for the venue's answers to orders already sent, so
    // the journal ends with every order settled.
    let deadline = mono_ns() + 2_000_000_000;
    while core.venue_in_flight() > 0 && mono_ns() < deadline {
        closed.clear();
        core.poll_venue(now_ns(), &mut closed)?;
        for o in &closed {
            outcomes.push(o);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    publish_figures(&ctx, &core);
    ctx.stopped();
    Ok(())
}

/// Connects to the venue, retrying for a while: the launcher starts the mock exchange
/// first, but it may not be listening yet.
fn connect_venue(ctx: &mut StageCtx) -> Result<crate::venue::RestVenue> {
    let cfg = ctx.cfg.clone();
    let (key, secret) = match cfg.mode {
        shmtrader_core::Mode::Paper => (cfg.mock.api_key.clone(), cfg.mock.api_secret.clone()),
        _ => {
            return Err(crate::error::StageError::Other(
                "testnet/live order routing needs API keys from the environment; not built yet"
                    .into(),
            ))
        }
    };
    let settings = crate::venue::VenueSettings {
        rest_url: cfg.venue.rest_url.clone(),
        key,
        secret,
        symbols: cfg.symbols.clone(),
        leverage: cfg.risk.leverage,
        taker_fee: cfg.risk.taker_fee,
    };
    let mut delay = std::time::Duration::from_millis(100);
    let mut last = None;
    for _ in 0..12 {
        ctx.heartbeat();
        match crate::venue::RestVenue::connect(settings.clone()) {
            Ok(v) => return Ok(v),
            Err(e) => {
                tracing::warn!(error = %e, url = %settings.rest_url, "venue not reachable yet; retrying");
                last = Some(e);
                std::thread::sleep(delay);
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
            }
        }
    }
    Err(last.unwrap_or_else(|| crate::error::StageError::Other("venue unreachable".into())))
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
    ctx.inst.control.set_trading(&f);
    ctx.inst.control.set_positions(&core.position_rows());
}
