//! The executor stage (walking skeleton): signals and ticks in, paper fills, closed
//! trades out to the outcomes ring, trading figures into the control block.
//!
//! Positions live in memory only here; the executor issue adds the journal, exchange
//! orders and restart reconciliation.

use crate::error::Result;
use crate::runtime::{counter, hist, stage_idx, StageCtx};
use crate::skeleton::PaperBook;
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::{consumer_id, ring_id, Read};
use std::sync::atomic::Ordering;

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
    let mut book = PaperBook::new(&ctx.cfg.risk, ctx.cfg.symbols.len());
    let slot = &inst.control.block().stages[ctx.idx];
    let (h_hop, h_e2e) = (
        &inst.control.block().histograms[hist::SIGNAL_TO_EXECUTOR],
        &inst.control.block().histograms[hist::TICK_TO_ORDER],
    );
    let wait = ctx.cfg.stages.executor.clone();
    let spin_only = wait.wait == shmtrader_core::WaitMode::Spin;
    let bell = inst.control.doorbell_ref(stage_idx::EXECUTOR)?;
    ctx.running();
    let mut last_figs = 0u64;
    loop {
        let mut did = 0u32;
        loop {
            match signals.read() {
                Read::Record(seq, s) => {
                    let now = now_ns();
                    h_hop.record(now.saturating_sub(s.publish_ts_ns));
                    let before = book.figures()[crate::skeleton::fig::ORDERS];
                    if let Some(o) = book.on_signal(seq, &s, s.exchange_ts_ns) {
                        outcomes.push(&o);
                        slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
                        slot.records_out.fetch_add(1, Ordering::Relaxed);
                    }
                    let after = book.figures()[crate::skeleton::fig::ORDERS];
                    if after > before {
                        slot.counters[counter::ORDERS]
                            .fetch_add((after - before) as u64, Ordering::Relaxed);
                        h_e2e.record(now_ns().saturating_sub(s.recv_ts_ns));
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
                    if let Some(o) = book.on_tick(&t) {
                        outcomes.push(&o);
                        slot.counters[counter::OUTCOMES].fetch_add(1, Ordering::Relaxed);
                        slot.counters[counter::ORDERS].fetch_add(1, Ordering::Relaxed);
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
        let now = mono_ns();
        if now.saturating_sub(last_figs) > 100_000_000 {
            book.refresh();
            inst.control.set_trading(book.figures());
            last_figs = now;
        }
        ctx.heartbeat();
        if did == 0 {
            if ctx.should_stop() {
                break;
            }
            bell.wait_until(
                || signals.has_data() || ticks.has_data(),
                wait.spin_iters,
                spin_only,
                ctx.wait_timeout(),
            );
        }
    }
    book.refresh();
    inst.control.set_trading(book.figures());
    ctx.stopped();
    Ok(())
}
