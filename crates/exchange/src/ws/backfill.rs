//! Aggregate-trade order: repeats dropped, gaps detected and backfilled from
//! `GET /fapi/v1/aggTrades`, live trades held until their backfill lands.

use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use serde::de::DeserializeOwned;
use shmtrader_core::Tick;

use super::{now_ns, MarketSink, MarketWs, Op, OpResult, WsEvent};
use crate::error::{ExchangeError, Result};
use crate::wire::market::RestAggTrade;

pub(super) async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<T> {
    let http_err = |e| ExchangeError::HttpGet {
        url: url.to_string(),
        source: e,
    };
    let resp = http.get(url).send().await.map_err(http_err)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(http_err)?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(ExchangeError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| ExchangeError::Malformed {
        what,
        detail: e.to_string(),
    })
}

/// Fetches aggregate trades `from..=to` page by page. Returns what it got plus the error
/// that stopped it early, if any: a partial backfill is still worth emitting.
pub(super) async fn fetch_agg_range(
    http: reqwest::Client,
    rest: String,
    symbol: String,
    from: u64,
    to: u64,
    retries: u32,
    base_ms: u64,
) -> (Vec<RestAggTrade>, Option<ExchangeError>) {
    let mut out: Vec<RestAggTrade> = Vec::new();
    let mut next = from;
    let mut failures = 0u32;
    while next <= to {
        let limit = (to - next + 1).min(1000);
        let url = format!("{rest}/fapi/v1/aggTrades?symbol={symbol}&fromId={next}&limit={limit}");
        let err = match get_json::<Vec<RestAggTrade>>(&http, &url, "aggTrades response").await {
            Ok(mut page) => {
                page.sort_by_key(|t| t.agg_id);
                let before = next;
                for t in page {
                    if t.agg_id < next {
                        continue;
                    }
                    if t.agg_id > to {
                        next = to + 1;
                        break;
                    }
                    next = t.agg_id + 1;
                    out.push(t);
                }
                if next > before {
                    failures = 0;
                    continue;
                }
                // REST has nothing from `next` yet (it can lag the stream by a moment).
                ExchangeError::Malformed {
                    what: "aggTrades response",
                    detail: format!("no trades from id {next} (wanted up to {to})"),
                }
            }
            Err(e) => e,
        };
        failures += 1;
        if failures > retries {
            return (out, Some(err));
        }
        tokio::time::sleep(Duration::from_millis(
            base_ms.saturating_mul(1 << failures.min(10)),
        ))
        .await;
    }
    (out, None)
}

impl MarketWs {
    /// The order/gap/duplicate logic for one live trade.
    pub(super) fn on_live_tick<S: MarketSink + ?Sized>(
        &mut self,
        t: Tick,
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let sym = t.symbol_id;
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        let a = t.agg_id;
        if let Some(held) = st.held.as_mut() {
            let newest = held.last().map_or(st.last_agg, |h| Some(h.agg_id));
            if newest.is_some_and(|n| a <= n) {
                self.stats.duplicates += 1;
            } else {
                held.push(t);
            }
            return;
        }
        match st.last_agg {
            Some(last) if a <= last => self.stats.duplicates += 1,
            Some(last) if a > last + 1 => {
                let (mut from, to) = (last + 1, a - 1);
                st.held = Some(vec![t]);
                self.stats.gaps += 1;
                tracing::info!(symbol_id = sym, from, to, "aggTrade gap; backfilling");
                sink.on_event(WsEvent::GapDetected {
                    symbol_id: sym,
                    from,
                    to,
                });
                let max = self.cfg.max_backfill_ids;
                if to - from + 1 > max {
                    let keep_from = to - max + 1;
                    let lost = keep_from - from;
                    self.stats.lost += lost;
                    tracing::error!(
                        symbol_id = sym,
                        from,
                        lost,
                        "gap too large; oldest part lost"
                    );
                    sink.on_event(WsEvent::GapUnfilled {
                        symbol_id: sym,
                        from,
                        to: keep_from - 1,
                        lost,
                        error: format!("gap larger than max_backfill_ids ({max})"),
                    });
                    from = keep_from;
                    if let Some(st) = self.syms.get_mut(sym as usize) {
                        st.last_agg = Some(from - 1);
                    }
                }
                let name = self.symbols.name(sym).unwrap_or_default().to_string();
                let (http, rest) = (self.http.clone(), self.rest_base());
                let (retries, base) = (self.cfg.rest_retries, self.cfg.backoff_base_ms);
                pending.push(Box::pin(async move {
                    let result = fetch_agg_range(http, rest, name, from, to, retries, base).await;
                    OpResult::Backfill {
                        sym,
                        from,
                        to,
                        result,
                    }
                }));
            }
            _ => {
                st.last_agg = Some(a);
                self.stats.ticks += 1;
                sink.on_tick(&t);
            }
        }
    }

    pub(super) fn rest_base(&self) -> String {
        self.cfg.rest_base_url.trim_end_matches('/').to_string()
    }

    pub(super) fn on_backfill<S: MarketSink + ?Sized>(
        &mut self,
        sym: u32,
        from: u64,
        to: u64,
        (items, err): (Vec<RestAggTrade>, Option<ExchangeError>),
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        let Some(held) = st.held.take() else {
            return; // stopped and restarted meanwhile
        };
        let recv = now_ns();
        let mut n = 0u64;
        let mut first_hole: Option<u64> = None;
        let mut lost = 0u64;
        let mut last = st.last_agg.unwrap_or(from.saturating_sub(1));
        for it in &items {
            if it.agg_id < from || it.agg_id > to || it.agg_id <= last {
                continue;
            }
            let tick = match it.to_tick(sym, recv) {
                Ok(t) => t,
                Err(e) => {
                    self.stats.malformed += 1;
                    tracing::warn!(symbol_id = sym, agg_id = it.agg_id, error = %e, "bad backfilled trade");
                    continue; // reported below as a hole
                }
            };
            if it.agg_id > last + 1 {
                first_hole.get_or_insert(last + 1);
                lost += it.agg_id - last - 1;
            }
            last = it.agg_id;
            n += 1;
            sink.on_tick(&tick);
        }
        if last < to {
            first_hole.get_or_insert(last + 1);
            lost += to - last;
        }
        self.stats.backfilled += n;
        let st = &mut self.syms[sym as usize];
        st.last_agg = Some(to.max(st.last_agg.unwrap_or(0)));
        if n > 0 {
            sink.on_event(WsEvent::GapBackfilled { symbol_id: sym, n });
        }
        if let Some(h) = first_hole {
            self.stats.lost += lost;
            let error = match err {
                Some(e) => e.to_string(),
                None => "REST history does not have these ids".into(),
            };
            tracing::error!(symbol_id = sym, from = h, to, lost, %error, "aggTrades lost");
            sink.on_event(WsEvent::GapUnfilled {
                symbol_id: sym,
                from: h,
                to,
                lost,
                error,
            });
        }
        for t in held {
            self.on_live_tick(t, pending, sink);
        }
    }
}
