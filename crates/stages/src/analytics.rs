//! The analytics stage: ticks (and book, outcomes) in, signals out.
//!
//! Restart discipline: the tick cursor lives in the control block and is committed only
//! after the tick's signal (if any) is published, so nothing is lost. A tick in flight
//! at the crash is processed again; its signal carries the tick's sequence
//! (`source_seq`) and is dropped if the signals ring already holds it, so nothing is
//! published twice. Before resuming, the indicator state is rebuilt by replaying the
//! ticks still held in the ring up to the cursor, without publishing.

use crate::error::Result;
use crate::runtime::{counter, hist, stage_idx, StageCtx};
use crate::skeleton::EmaCross;
use shmtrader_core::Signal;
use shmtrader_shm::clock::now_ns;
use shmtrader_shm::{consumer_id, ring_id, Read};
use std::sync::atomic::Ordering;

/// Runs until asked to stop, then drains what is left in its input rings.
pub fn run(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let mut ticks = inst.consumer(&inst.ticks, ring_id::TICKS, consumer_id::ANALYTICS)?;
    let mut book = inst.consumer(&inst.book, ring_id::BOOK, consumer_id::ANALYTICS)?;
    let mut outcomes = inst.consumer(&inst.outcomes, ring_id::OUTCOMES, consumer_id::ANALYTICS)?;
    let mut signals = inst.producer(&inst.signals, &[stage_idx::EXECUTOR])?;
    let mut logic = EmaCross::new(&ctx.cfg.strategy, ctx.cfg.symbols.len());
    let slot = &inst.control.block().stages[ctx.idx];

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
                    if let Some(mut sig) = logic.on_tick(seq, &t) {
                        if last_source.is_some_and(|l| l >= sig.source_seq) {
                            slot.counters[counter::DUPLICATES_DROPPED]
                                .fetch_add(1, Ordering::Relaxed);
                        } else {
                            sig.publish_ts_ns = now_ns();
                            signals.push(&sig);
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
                Read::Record(..) => {
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
                Read::Record(..) => {
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
        ctx.heartbeat();
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
    ctx.stopped();
    Ok(())
}

/// Recomputes, from a ticks sequence, the signals analytics must publish: used by the
/// end-to-end test to prove a restart lost and duplicated nothing.
pub fn expected_signals(
    cfg: &shmtrader_core::Config,
    ticks: impl IntoIterator<Item = (u64, shmtrader_core::Tick)>,
) -> Vec<Signal> {
    let mut logic = EmaCross::new(&cfg.strategy, cfg.symbols.len());
    ticks
        .into_iter()
        .filter_map(|(seq, t)| logic.on_tick(seq, &t))
        .collect()
}
