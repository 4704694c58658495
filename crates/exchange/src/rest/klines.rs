//! Historical klines and the 24-hour ticker: what a warm start reads from the venue
//! before it trades.
//!
//! * [`RestClient::klines`] is one `GET /fapi/v1/klines` page, checked before it is
//!   sent (interval, limit, time window) so a bad call costs no weight.
//! * [`RestClient::klines_range`] pages forward through a whole range with the largest
//!   page (1500 bars, weight 10). Pages are joined on the open time: each next page
//!   starts one ms after the last bar received, and a bar already held is dropped, so a
//!   server that repeats the boundary bar causes no duplicate and none is skipped.
//!   Before each page it checks the client's own view of the minute's weight
//!   ([`RestClient::rate_view`]) and sleeps into the next minute when the page would
//!   leave less than 10 % of the limit ([`weight_wait`]): a warm start of 20 symbols
//!   × a week of 1m bars is 140 pages (1400 weight) and must not get the IP banned, nor
//!   starve the order path that shares the IP's budget.
//! * A failed page (a 429, a transport error) ends the range with
//!   [`ExchangeError::KlinesIncomplete`], which carries every bar fetched so far and the
//!   open time to resume from: nothing fetched is dropped, and the caller decides
//!   whether to wait out the backoff and resume.

use std::time::Duration;

use super::endpoints::{KLINES, TICKER_24HR};
use super::limits::RateView;
use super::transport::Form;
use super::RestClient;
use crate::error::{ExchangeError, Result};
use crate::wire::kline::{is_kline_interval, parse_klines, Kline, Ticker24h};

/// Largest `limit` of `GET /fapi/v1/klines`.
pub const KLINES_MAX_LIMIT: u32 = 1500;

/// Percent of the minute's weight limit [`RestClient::klines_range`] leaves free for
/// everything else on the IP (orders, listenKey, the other stages).
pub const WEIGHT_RESERVE_PCT: u32 = 10;

/// Added to a wait for the minute to roll: the server's minute and ours differ by the
/// clock-offset error.
const ROLL_MARGIN_MS: u64 = 250;

/// Request weight of `GET /fapi/v1/klines` for a `limit` (Binance's table: [1, 100) 1,
/// [100, 500) 2, [500, 1000] 5, above 1000 10).
pub fn klines_weight(limit: u32) -> u32 {
    match limit {
        0..=99 => 1,
        100..=499 => 2,
        500..=1000 => 5,
        _ => 10,
    }
}

/// How long to wait before a call costing `cost` weight so that at least
/// [`WEIGHT_RESERVE_PCT`] % of the minute's limit stays free; `None`: send now.
///
/// The wait runs to the start of the next minute on the server clock (Binance counts
/// weight per clock minute), plus a small margin. Nothing is waited for when no limit is
/// known or nothing has been used this minute (waiting could not free anything).
pub fn weight_wait(view: &RateView, cost: u32) -> Option<Duration> {
    let limit = view.limits.request_weight_1m?;
    let used = view.weight_used();
    let reserve = (limit * WEIGHT_RESERVE_PCT).div_ceil(100);
    if used == 0 || used + cost + reserve <= limit {
        return None;
    }
    let into_minute = view.now_ms % 60_000;
    Some(Duration::from_millis(60_000 - into_minute + ROLL_MARGIN_MS))
}

fn check_interval(interval: &str) -> Result<()> {
    if is_kline_interval(interval) {
        Ok(())
    } else {
        Err(ExchangeError::UnknownInterval {
            interval: interval.to_string(),
        })
    }
}

impl RestClient {
    /// `GET /fapi/v1/klines` (weight by `limit`: [`klines_weight`]): up to `limit` bars
    /// of `interval` with an open time in `start_ms..=end_ms`, oldest first. Without
    /// a start, the latest bars; the bar in progress, if in range, comes last.
    ///
    /// # Errors
    /// Before sending: [`ExchangeError::UnknownInterval`] for an interval Binance does
    /// not have, [`ExchangeError::LimitOutOfRange`] for a limit outside 1..=1500,
    /// [`ExchangeError::TimeRange`] for a start after the end. After:
    /// [`ExchangeError::BadKline`] for a row that is not a possible bar, and the
    /// client's usual errors (`-1121` invalid symbol comes back as an
    /// [`ExchangeError::Api`]).
    pub async fn klines(
        &self,
        symbol: &str,
        interval: &str,
        start_ms: Option<i64>,
        end_ms: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Kline>> {
        check_interval(interval)?;
        if !(1..=KLINES_MAX_LIMIT).contains(&limit) {
            return Err(ExchangeError::LimitOutOfRange {
                endpoint: KLINES.name,
                limit,
                max: KLINES_MAX_LIMIT,
            });
        }
        if let (Some(s), Some(e)) = (start_ms, end_ms) {
            if s > e {
                return Err(ExchangeError::TimeRange {
                    endpoint: KLINES.name,
                    start_ms: s,
                    end_ms: e,
                });
            }
        }
        let form = Form::new()
            .with("symbol", symbol)
            .with("interval", interval)
            .opt("startTime", start_ms.map(|v| v.to_string()).as_deref())
            .opt("endTime", end_ms.map(|v| v.to_string()).as_deref())
            .with("limit", &limit.to_string());
        let body = self.request(&KLINES, form).await?;
        parse_klines(symbol, &body)
    }

    /// Every bar of `interval` with an open time in `start_ms..=end_ms`, oldest first,
    /// fetched in pages of 1500 (see the module doc): contiguous as the venue has them,
    /// each open time once. A range reaching "now" ends with the bar in progress
    /// ([`Kline::is_closed`] tells it apart).
    ///
    /// Sleeps (tokio) before a page that would leave less than 10 % of the minute's
    /// weight limit, per [`weight_wait`].
    ///
    /// # Errors
    /// The argument errors of [`RestClient::klines`], before anything is sent; a page
    /// that fails returns [`ExchangeError::KlinesIncomplete`] with the bars fetched so
    /// far and the time to resume from (its `api_kind()` is the page error's, so a 429
    /// reads as [`crate::ApiErrorKind::RateLimited`]).
    pub async fn klines_range(
        &self,
        symbol: &str,
        interval: &str,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<Vec<Kline>> {
        check_interval(interval)?;
        if start_ms > end_ms {
            return Err(ExchangeError::TimeRange {
                endpoint: KLINES.name,
                start_ms,
                end_ms,
            });
        }
        let mut out: Vec<Kline> = Vec::new();
        let mut from = start_ms;
        let cost = klines_weight(KLINES_MAX_LIMIT);
        loop {
            while let Some(wait) = weight_wait(&self.rate_view(), cost) {
                tracing::info!(
                    symbol,
                    interval,
                    wait_ms = wait.as_millis() as u64,
                    used = self.rate_view().weight_used(),
                    "klines paging waits for the next minute's request weight"
                );
                tokio::time::sleep(wait).await;
            }
            let page = match self
                .klines(symbol, interval, Some(from), Some(end_ms), KLINES_MAX_LIMIT)
                .await
            {
                Ok(p) => p,
                Err(e) => {
                    return Err(ExchangeError::KlinesIncomplete {
                        symbol: symbol.to_string(),
                        interval: interval.to_string(),
                        fetched: out,
                        resume_from_ms: from,
                        source: Box::new(e),
                    })
                }
            };
            let full = page.len() >= KLINES_MAX_LIMIT as usize;
            let before = out.len();
            for k in page {
                // A bar at or before the last one held is the page boundary repeated.
                if out.last().is_none_or(|l| k.open_time_ms > l.open_time_ms) {
                    out.push(k);
                }
            }
            tracing::debug!(
                symbol,
                interval,
                from,
                new = out.len() - before,
                "klines page"
            );
            match out.last() {
                Some(last) if full && out.len() > before && last.open_time_ms < end_ms => {
                    from = last.open_time_ms + 1;
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// `GET /fapi/v1/ticker/24hr?symbol=` (weight 1): the rolling 24-hour statistics of
    /// one symbol.
    pub async fn ticker_24hr(&self, symbol: &str) -> Result<Ticker24h> {
        self.get_json(&TICKER_24HR, Form::new().with("symbol", symbol))
            .await
    }

    /// `GET /fapi/v1/ticker/24hr` without a symbol (weight **40**): every symbol's.
    pub async fn ticker_24hr_all(&self) -> Result<Vec<Ticker24h>> {
        self.get_json(&TICKER_24HR, Form::new()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::{RateLimitUsage, RateLimits};

    #[test]
    fn weight_follows_binance_table() {
        let cases = [
            (1, 1),
            (99, 1),
            (100, 2),
            (499, 2),
            (500, 5),
            (1000, 5),
            (1001, 10),
            (1500, 10),
        ];
        for (limit, w) in cases {
            assert_eq!(klines_weight(limit), w, "limit {limit}");
        }
    }

    fn view(used: u32, now_ms: u64) -> RateView {
        RateView {
            usage: RateLimitUsage {
                used_weight_1m: Some(used),
                weight_seen_at_ms: Some(now_ms),
                ..Default::default()
            },
            limits: RateLimits::BINANCE_DEFAULTS,
            limits_from_exchange: false,
            now_ms,
        }
    }

    #[test]
    fn paging_waits_for_the_next_minute_only_inside_the_reserve() {
        let minute = 1_700_000_040_000u64;
        // 2400 limit, 240 reserve, page costs 10: 2150 used leaves exactly 240.
        assert_eq!(weight_wait(&view(2150, minute + 1_000), 10), None);
        // One more and the reserve would be touched: wait for the minute to roll.
        assert_eq!(
            weight_wait(&view(2151, minute + 59_000), 10),
            Some(Duration::from_millis(1_000 + ROLL_MARGIN_MS))
        );
        // Nothing used (or a rolled window): never wait.
        assert_eq!(weight_wait(&view(0, minute), 10), None);
        let mut stale = view(2390, minute - 1);
        stale.now_ms = minute + 5;
        assert_eq!(
            weight_wait(&stale, 10),
            None,
            "the count is from the last minute"
        );
        // No known limit: nothing to wait for.
        let mut open = view(2390, minute);
        open.limits.request_weight_1m = None;
        assert_eq!(weight_wait(&open, 10), None);
    }
}
