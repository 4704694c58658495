//! Warm start: the closed klines analytics seeds its state with before the first live
//! trade, fetched from the venue's REST (`GET /fapi/v1/klines`, paged and weight-aware
//! in the exchange crate).
//!
//! Real bots load history first: with 1-minute bars the indicators need ~30 bars, VPIN's
//! daily-volume estimate 60, the regime 120 to 720. Without a warm start the first
//! signal came ~20 minutes after start and the regime two hours later. The bars fetched
//! here are the venue's own klines, which the engine's bar builder reproduces from
//! trades, so a warmed engine is the engine that would have run all along (the
//! indicators' test proves it to 1e-9).
//!
//! Only closed klines are used (`close_time < now`); the bar in progress is built from
//! live trades, from its first trade on. Tick-level state that klines cannot give (VPIN
//! buckets, signed-volume and order-flow imbalance) starts from the live stream and
//! stays out of the gate until it has a value, as VPIN's veto and the book veto already
//! do with `None`.

use shmtrader_core::Config;
use shmtrader_exchange::rest::{interval_name, RestClient, RestConfig};
use shmtrader_indicators::Bar;
use std::time::Duration;

/// Symbols fetched at once (each a few requests of weight 10).
const PARALLEL: usize = 4;
/// The whole warm start gives up after this; symbols not loaded by then start cold.
const DEADLINE: Duration = Duration::from_secs(30);
/// Attempts per symbol: a failed page (timeout, 429) resumes where it stopped.
const ATTEMPTS: u32 = 3;

/// What the warm start loaded for one symbol.
#[derive(Debug, Clone, PartialEq)]
pub enum History {
    /// Closed bars, oldest first.
    Bars(Vec<Bar>),
    /// Not fetched, and why (the symbol warms from live trades).
    Cold(String),
}

/// Whether a warm start applies, or why not (logged once).
pub fn plan(cfg: &Config) -> Result<&'static str, String> {
    if cfg.indicators.warmup_bars == 0 {
        return Err("indicators.warmup_bars = 0".into());
    }
    interval_name(cfg.indicators.bar_interval_ms as i64).ok_or_else(|| {
        format!(
            "indicators.bar_interval_ms = {} is not a kline interval",
            cfg.indicators.bar_interval_ms
        )
    })
}

/// Fetches `indicators.warmup_bars` closed bars per symbol ending before the bar in
/// progress at `now_ms`. One entry per configured symbol, in symbol-id order; a symbol
/// whose fetch fails is [`History::Cold`] with the reason (never an invented bar).
pub fn fetch(cfg: &Config, interval: &'static str, now_ms: i64) -> Vec<History> {
    let n = cfg.symbols.len();
    let cold = |why: String| vec![History::Cold(why); n];
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return cold(format!("no async runtime: {e}")),
    };
    // A request may take long on a cold venue (a mock generating its history): the
    // deadline below bounds the whole warm start instead.
    let mut rc = RestConfig::mock(&cfg.venue.rest_url);
    rc.request_timeout = DEADLINE;
    let client = match RestClient::new(rc, None) {
        Ok(c) => c,
        Err(e) => return cold(format!("REST client: {e}")),
    };
    let iv = cfg.indicators.bar_interval_ms as i64;
    let current_open = now_ms - now_ms.rem_euclid(iv);
    let start = current_open - i64::from(cfg.indicators.warmup_bars) * iv;
    let end = current_open - 1;
    let client = std::sync::Arc::new(client);
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, sym) in cfg.symbols.iter().enumerate() {
            let (client, gate, sym) = (client.clone(), gate.clone(), sym.clone());
            set.spawn(async move {
                let _permit = gate.acquire().await;
                (i, fetch_symbol(&client, &sym, interval, start, end).await)
            });
        }
        let mut out = cold("the venue did not answer in time".into());
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, set.join_next()).await {
                Ok(Some(Ok((i, Ok(ks))))) => {
                    out[i] = History::Bars(
                        ks.into_iter()
                            .filter(|k| k.open_time_ms >= start && k.close_time_ms < now_ms)
                            .map(|k| Bar {
                                open_time_ms: k.open_time_ms,
                                open: k.open,
                                high: k.high,
                                low: k.low,
                                close: k.close,
                                volume: k.volume,
                            })
                            .collect(),
                    );
                }
                Ok(Some(Ok((i, Err(e))))) => out[i] = History::Cold(e.to_string()),
                Ok(Some(Err(e))) => tracing::warn!(error = %e, "a warm-start fetch task failed"),
                Ok(None) => break,
                Err(_) => {
                    set.abort_all();
                    break;
                }
            }
        }
        out
    })
}

/// One symbol's range, resuming after a failed page (keeping what was fetched) up to
/// [`ATTEMPTS`] times.
async fn fetch_symbol(
    client: &RestClient,
    sym: &str,
    interval: &str,
    start: i64,
    end: i64,
) -> shmtrader_exchange::Result<Vec<shmtrader_exchange::rest::Kline>> {
    use shmtrader_exchange::ExchangeError;
    let mut got = Vec::new();
    let mut from = start;
    let mut attempt = 1;
    loop {
        match client.klines_range(sym, interval, from, end).await {
            Ok(mut ks) => {
                got.append(&mut ks);
                return Ok(got);
            }
            Err(ExchangeError::KlinesIncomplete {
                mut fetched,
                resume_from_ms,
                source,
                ..
            }) if attempt < ATTEMPTS => {
                tracing::warn!(symbol = sym, attempt, error = %source, fetched = fetched.len(), "warm start: a klines page failed; resuming");
                got.append(&mut fetched);
                from = resume_from_ms;
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e),
        }
    }
}
