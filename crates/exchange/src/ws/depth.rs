//! Local order books: diff-depth events applied on REST snapshots, resynced on a break.

use std::time::Duration;

use futures_util::stream::FuturesUnordered;

use super::backfill::get_json;
use super::connection::backoff_ms;
use super::{MarketSink, MarketWs, Op, OpResult, WsEvent};
use crate::book::DiffOutcome;
use crate::error::Result;
use crate::wire::market::{DepthSnapshot, DepthUpdate};

async fn fetch_snapshot(
    http: reqwest::Client,
    url: String,
    delay: Duration,
) -> Result<DepthSnapshot> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    get_json(&http, &url, "depth snapshot").await
}

impl MarketWs {
    pub(super) fn request_snapshot(&mut self, sym: u32, pending: &mut FuturesUnordered<Op>) {
        let cfg = &self.cfg;
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        if st.snapshot_inflight {
            return;
        }
        st.snapshot_inflight = true;
        // First request at once; after failures or breaks back off (weight 20 each).
        let delay = if st.snapshot_attempt == 0 {
            0
        } else {
            backoff_ms(cfg, st.snapshot_attempt - 1, &mut self.rng)
        };
        st.snapshot_attempt = st.snapshot_attempt.saturating_add(1);
        let url = format!(
            "{}/fapi/v1/depth?symbol={}&limit={}",
            cfg.rest_base_url.trim_end_matches('/'),
            self.symbols.name(sym).unwrap_or_default(),
            cfg.depth_snapshot_limit
        );
        let http = self.http.clone();
        pending.push(Box::pin(async move {
            OpResult::Snapshot {
                sym,
                result: fetch_snapshot(http, url, Duration::from_millis(delay)).await,
            }
        }));
    }

    pub(super) fn on_depth_diff<S: MarketSink + ?Sized>(
        &mut self,
        sym: u32,
        d: DepthUpdate,
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let Some(book) = self
            .syms
            .get_mut(sym as usize)
            .and_then(|s| s.book.as_mut())
        else {
            return;
        };
        match book.on_diff(d) {
            Ok(DiffOutcome::Applied) => {
                self.stats.depth_applied += 1;
                sink.on_depth(sym, book);
            }
            Ok(DiffOutcome::Stale) => {}
            Ok(DiffOutcome::Buffered) => self.request_snapshot(sym, pending),
            Err(e) => {
                self.stats.book_resyncs += 1;
                tracing::warn!(symbol_id = sym, error = %e, "local book broke; resyncing");
                sink.on_event(WsEvent::BookResync {
                    symbol_id: sym,
                    reason: e.to_string(),
                });
                self.request_snapshot(sym, pending);
            }
        }
    }

    pub(super) fn on_snapshot<S: MarketSink + ?Sized>(
        &mut self,
        sym: u32,
        result: Result<DepthSnapshot>,
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        st.snapshot_inflight = false;
        let Some(book) = st.book.as_mut() else {
            return;
        };
        let reason = match result {
            Ok(s) => match book.on_snapshot(&s) {
                Ok(applied) => {
                    st.snapshot_attempt = 0;
                    self.stats.depth_applied += applied as u64;
                    sink.on_event(WsEvent::BookSynced {
                        symbol_id: sym,
                        last_update_id: book.last_update_id(),
                    });
                    if book.is_synced() {
                        sink.on_depth(sym, book);
                    }
                    return;
                }
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        self.stats.book_resyncs += 1;
        tracing::warn!(symbol_id = sym, %reason, "depth snapshot unusable; retrying");
        sink.on_event(WsEvent::BookResync {
            symbol_id: sym,
            reason,
        });
        self.request_snapshot(sym, pending);
    }
}
