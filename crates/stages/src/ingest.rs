//! The ingest stage: market data into the ticks and book rings.
//!
//! `ingest.source = "exchange"` (the default) reads the venue's websockets — the mock
//! exchange in paper mode, Binance otherwise — through `shmtrader_exchange::ws`: one
//! connection per symbol (or one combined), aggTrade and bookTicker (and diff depth with
//! a local book), pings answered, reconnects with backoff and before the 24 h cut, gaps
//! in aggregate ids backfilled from REST and duplicates dropped. After a restart it
//! resumes from the last aggregate id of each symbol still in the ticks ring, so the
//! trades it missed while down are backfilled and none is published twice.
//!
//! `ingest.source = "synthetic"` publishes a seeded synthetic tape at
//! `synthetic.ticks_per_sec` (benchmarks, tests).

use crate::error::{Result, StageError};
use crate::runtime::{counter, hist, stage_idx, StageCtx};
use crate::synth::SyntheticMarket;
use shmtrader_core::{BookTop, IngestSource, PathLayout, Tick};
use shmtrader_exchange::ws::{
    MarketSink, MarketWs, MarketWsConfig, PathCategory, StreamSet, WsEvent,
};
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::Producer;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Runs until asked to stop.
pub fn run(ctx: StageCtx) -> Result<()> {
    match ctx.cfg.ingest.source {
        IngestSource::Exchange => run_exchange(ctx),
        IngestSource::Synthetic => run_synthetic(ctx),
    }
}

/// The last aggregate id of every symbol still in the ticks ring (newest first scan).
fn last_agg_ids(ctx: &StageCtx) -> Vec<Option<u64>> {
    let n = ctx.cfg.symbols.len();
    let mut out = vec![None; n];
    let ring = &ctx.inst.ticks;
    let end = ring.write_seq();
    let start = end.saturating_sub(ring.capacity().saturating_sub(1));
    let mut left = n;
    let mut seq = end;
    while seq > start && left > 0 {
        seq -= 1;
        let Some(t) = ring.get(seq) else { break };
        if let Some(slot) = out.get_mut(t.symbol_id as usize) {
            if slot.is_none() && t.agg_id != 0 {
                *slot = Some(t.agg_id);
                left -= 1;
            }
        }
    }
    out
}

struct RingSink {
    ticks: Producer<Tick>,
    book: Producer<BookTop>,
    mark: Producer<shmtrader_core::MarkPrice>,
    inst: shmtrader_shm::Instance,
    idx: usize,
    /// Publish the local depth book's top: the book tops come from depth when the
    /// bookTicker stream is off (with both on, bookTicker is the faster source).
    tops_from_depth: bool,
}

impl MarketSink for RingSink {
    fn on_tick(&mut self, t: &Tick) {
        let mut t = *t;
        t.publish_ts_ns = now_ns();
        let blk = self.inst.control.block();
        blk.histograms[hist::INGEST_PUBLISH].record(t.publish_ts_ns.saturating_sub(t.recv_ts_ns));
        self.ticks.push(&t);
        let slot = &blk.stages[self.idx];
        slot.records_out.fetch_add(1, Ordering::Relaxed);
    }

    fn on_book(&mut self, b: &BookTop) {
        let mut b = *b;
        b.publish_ts_ns = now_ns();
        self.book.push(&b);
    }

    fn on_mark(&mut self, m: &shmtrader_core::MarkPrice) {
        let mut m = *m;
        m.publish_ts_ns = now_ns();
        self.mark.push(&m);
    }

    fn on_depth(&mut self, symbol_id: u32, book: &shmtrader_exchange::book::OrderBook) {
        if !self.tops_from_depth {
            return;
        }
        let now = now_ns();
        if let Some(mut b) = book.book_top(symbol_id, now) {
            b.publish_ts_ns = now;
            self.book.push(&b);
        }
    }

    fn on_event(&mut self, e: WsEvent) {
        let slot = &self.inst.control.block().stages[self.idx];
        match &e {
            WsEvent::Connected { url, .. } => {
                slot.counters[counter::CONNECTS].fetch_add(1, Ordering::Relaxed);
                tracing::info!(%url, "market websocket connected");
            }
            WsEvent::Disconnected { reason, .. } => {
                tracing::warn!(%reason, "market websocket disconnected; reconnecting");
            }
            WsEvent::ConnectFailed {
                error, retry_in_ms, ..
            } => {
                tracing::warn!(%error, retry_in_ms, "market websocket connect failed");
            }
            WsEvent::GapDetected {
                symbol_id,
                from,
                to,
            } => {
                slot.counters[counter::GAPS].fetch_add(1, Ordering::Relaxed);
                tracing::warn!(
                    symbol_id,
                    from,
                    to,
                    "aggregate trade gap; backfilling from REST"
                );
            }
            WsEvent::GapBackfilled { symbol_id, n } => {
                slot.counters[counter::BACKFILLED].fetch_add(*n, Ordering::Relaxed);
                tracing::info!(symbol_id, n, "gap backfilled");
            }
            WsEvent::GapUnfilled {
                symbol_id,
                lost,
                error,
                ..
            } => {
                tracing::error!(symbol_id, lost, %error, "aggregate trades lost: REST could not backfill them");
            }
            WsEvent::Malformed { error, .. } => {
                slot.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%error, "malformed market frame skipped");
            }
            WsEvent::BookSynced { .. } | WsEvent::BookResync { .. } => {
                tracing::info!(event = ?e, "local order book");
            }
        }
    }
}

fn run_exchange(mut ctx: StageCtx) -> Result<()> {
    let inst = ctx.inst.clone();
    let ticks = inst.producer(&inst.ticks, &[stage_idx::ANALYTICS, stage_idx::EXECUTOR])?;
    let book = inst.producer(&inst.book, &[stage_idx::ANALYTICS])?;
    let mark = inst.producer(&inst.mark, &[stage_idx::EXECUTOR])?;
    let cfg = ctx.cfg.clone();
    let ig = &cfg.ingest;
    let wcfg = MarketWsConfig {
        ws_base_url: cfg.venue.ws_url.clone(),
        paths: match ig.paths {
            PathLayout::Legacy => PathCategory::Legacy,
            PathLayout::Split => PathCategory::Split,
        },
        rest_base_url: cfg.venue.rest_url.clone(),
        symbols: cfg.symbols.clone(),
        streams: StreamSet {
            agg_trade: ig.agg_trade,
            book_ticker: ig.book_ticker,
            depth: ig.depth,
            mark_price: ig.mark_price,
        },
        combined: ig.combined,
        backoff_base_ms: cfg.venue.websocket_reconnect_delay_ms,
        backoff_max_ms: ig.reconnect_max_ms,
        max_connection_age: Duration::from_secs(ig.max_connection_age_s),
        idle_timeout: Duration::from_secs(ig.idle_timeout_s),
        ..MarketWsConfig::default()
    };
    let mut ws = MarketWs::new(wcfg)?;
    let resume = last_agg_ids(&ctx);
    for (sym, id) in cfg.symbols.iter().zip(&resume) {
        if let Some(id) = id {
            ws.set_last_agg_id(sym, *id)?;
            tracing::info!(symbol = %sym, last_agg_id = id, "resuming after the last trade in the ring");
        }
    }
    let stop = ws.stop_handle();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StageError::io("ingest runtime", e))?;
    ctx.running();
    let hb_every = Duration::from_millis(cfg.supervisor.heartbeat_interval_ms.max(1) / 2 + 1);
    let mut sink = RingSink {
        ticks,
        book,
        mark,
        inst: inst.clone(),
        idx: ctx.idx,
        tops_from_depth: ig.depth && !ig.book_ticker,
    };
    let result = {
        let ctx_ref = &mut ctx;
        rt.block_on(async {
            let hb = async {
                let mut iv = tokio::time::interval(hb_every);
                loop {
                    iv.tick().await;
                    ctx_ref.heartbeat();
                    if ctx_ref.should_stop() {
                        stop.stop();
                        break;
                    }
                }
            };
            let (r, ()) = tokio::join!(ws.run(&mut sink), hb);
            r
        })
    };
    let stats = result?;
    tracing::info!(?stats, "market data stopped");
    ctx.stopped();
    Ok(())
}

fn run_synthetic(mut ctx: StageCtx) -> Result<()> {
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
