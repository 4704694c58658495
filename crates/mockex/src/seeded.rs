//! The synthetic market's seeded history, generated on first use.
//!
//! A day of history is millions of simulated arrivals; most mocks (every test that
//! never asks for klines) must not pay for it. So each symbol's history is generated
//! the first time something needs it — a `GET /fapi/v1/klines` or
//! `GET /fapi/v1/ticker/24hr` for that symbol (the request waits), or a subscription to
//! one of its kline streams (generated in the background) — on a blocking thread, off
//! the engine lock (the market keeps running meanwhile), then merged into the live bars
//! under the lock in one step. Once per symbol: concurrent requests wait for the same
//! generation.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::klines::{generate, HistorySeed};
use crate::spec::SymbolSpec;
use crate::synth::SynthStart;
use crate::Shared;

/// One symbol's history: how to generate it, and whether it has been merged.
#[derive(Debug)]
pub(crate) struct HistorySlot {
    seed: HistorySeed,
    done: OnceCell<()>,
}

/// The slots of a synthetic market started at `start_ms` (none for `minutes` = 0).
pub(crate) fn slots(
    specs: &[SymbolSpec],
    starts: &[SynthStart],
    seed: u64,
    start_ms: u64,
    minutes: u32,
) -> Vec<HistorySlot> {
    if minutes == 0 {
        return Vec::new();
    }
    specs
        .iter()
        .zip(starts)
        .enumerate()
        .map(|(sym, (spec, start))| HistorySlot {
            seed: HistorySeed {
                spec: *spec,
                sym,
                seed,
                start_ms,
                start: *start,
                minutes,
            },
            done: OnceCell::new(),
        })
        .collect()
}

/// Generates and merges the history of each symbol index in `syms` that has none yet,
/// the symbols in parallel; returns once all of them are merged.
pub(crate) async fn ensure(sh: &Arc<Shared>, syms: impl IntoIterator<Item = usize>) {
    let pending: Vec<usize> = syms
        .into_iter()
        .filter(|i| sh.history.get(*i).is_some_and(|s| !s.done.initialized()))
        .collect();
    if let [one] = pending[..] {
        return ensure_one(sh, one).await;
    }
    let tasks: Vec<_> = pending
        .into_iter()
        .map(|i| {
            let sh = Arc::clone(sh);
            tokio::spawn(async move { ensure_one(&sh, i).await })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}

async fn ensure_one(sh: &Arc<Shared>, sym: usize) {
    let Some(slot) = sh.history.get(sym) else {
        return;
    };
    slot.done
        .get_or_init(|| async {
            let seed = slot.seed;
            let t0 = Instant::now();
            match tokio::task::spawn_blocking(move || generate(&seed)).await {
                Ok(h) => {
                    let bars = h.bars.len();
                    if let Ok(mut e) = sh.engine.lock() {
                        e.merge_history(sym, h);
                    }
                    tracing::info!(
                        symbol = seed.spec.symbol,
                        bars,
                        ms = t0.elapsed().as_millis() as u64,
                        "seeded kline history generated"
                    );
                }
                Err(e) => tracing::warn!(
                    symbol = seed.spec.symbol,
                    "seeded kline history failed: {e}"
                ),
            }
        })
        .await;
}

/// Starts generating, in the background, the history of the symbol of a
/// `<symbol>@kline_<interval>` stream name (anything else is ignored).
pub(crate) fn warm_for_stream(sh: &Arc<Shared>, stream: &str) {
    let Some((sym, kind)) = stream.split_once('@') else {
        return;
    };
    if !kind.starts_with("kline_") {
        return;
    }
    let Some(i) = sh
        .specs
        .iter()
        .position(|s| s.symbol.eq_ignore_ascii_case(sym))
    else {
        return;
    };
    if sh.history.get(i).is_some_and(|s| !s.done.initialized()) {
        let sh = Arc::clone(sh);
        tokio::spawn(async move { ensure(&sh, [i]).await });
    }
}

/// Symbol indexes a klines / 24-hour ticker request reads: its `symbol`, or all.
pub(crate) fn requested(sh: &Shared, symbol: Option<&str>) -> Vec<usize> {
    match symbol {
        Some(s) => sh
            .specs
            .iter()
            .position(|x| x.symbol == s)
            .into_iter()
            .collect(),
        None => (0..sh.specs.len()).collect(),
    }
}
