//! The ingest stage (walking skeleton): publishes a seeded synthetic market into the
//! ticks and book rings at the configured rate. The connectivity issue replaces the
//! source with Binance / mock-exchange websockets; the ring side stays.

use crate::error::Result;
use crate::runtime::{hist, stage_idx, StageCtx};
use crate::synth::SyntheticMarket;
use shmtrader_shm::clock::{mono_ns, now_ns};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Runs until asked to stop.
pub fn run(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let mut ticks = inst.producer(&inst.ticks, &[stage_idx::ANALYTICS, stage_idx::EXECUTOR])?;
    let mut book = inst.producer(&inst.book, &[stage_idx::ANALYTICS])?;
    let mut market = SyntheticMarket::new(ctx.cfg.synthetic.seed, &ctx.cfg.symbols);
    // Resume the identical tape after a restart.
    market.skip(ticks.next_seq());
    let rate = ctx.cfg.synthetic.ticks_per_sec as u64;
    let h = &inst.control.block().histograms[hist::INGEST_PUBLISH];
    ctx.running();
    let start = mono_ns();
    let mut emitted = 0u64;
    while !ctx.should_stop() {
        let due = (mono_ns() - start) as u128 * rate as u128 / 1_000_000_000;
        let mut n = 0u64;
        while (emitted as u128) < due && n < 4096 {
            let recv = now_ns();
            let mut t = market.next_trade(recv);
            t.publish_ts_ns = now_ns();
            h.record(t.publish_ts_ns.saturating_sub(recv));
            ticks.push_quiet(&t);
            if emitted.is_multiple_of(4) {
                if let Some(mut b) = market.book(t.symbol_id, recv) {
                    b.publish_ts_ns = t.publish_ts_ns;
                    book.push_quiet(&b);
                }
            }
            emitted += 1;
            n += 1;
        }
        if n > 0 {
            ticks.notify();
            book.notify();
            ctx.slot().records_out.fetch_add(n, Ordering::Relaxed);
        }
        ctx.heartbeat();
        std::thread::sleep(Duration::from_micros(500));
    }
    ctx.stopped();
    Ok(())
}
