//! Rate-limit bookkeeping: the usage headers of every answer (with when they were seen),
//! the limits from exchangeInfo, the [`RateView`] a caller checks *before* sending so
//! Binance never has to refuse, and the gate that refuses calls locally after a 429 or
//! during a 418 ban.
//!
//! Every call of the client goes through here (orders, algo orders, account, listenKey
//! create / keepalive / close), so the usage is the client's whole footprint. Binance
//! counts weight per IP: another process on the same IP (the ingest stage's backfills,
//! say) uses the same budget, and the header reports it, but only on this client's next
//! answer.
//!
//! Windows: Binance's limits are counted in fixed windows (per clock minute, per 10
//! seconds). A count seen in an earlier window no longer applies, so [`RateView`]
//! compares the window of the moment a header was seen with the window of now, both on
//! the server clock. That the windows are aligned to the epoch (minute boundaries) is
//! what Binance's spot docs describe; for futures it is assumed (UNCERTAIN).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{now_ms, RestClient};
use crate::error::{ExchangeError, Result};
use crate::wire::account::RateLimits;

/// Rate-limit usage as last reported by the exchange's response headers, with the time
/// (server clock, ms) each was seen. Weight comes with every answer, order counts only
/// with order answers (and not always with rejected ones).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitUsage {
    /// `X-MBX-USED-WEIGHT-1M`.
    pub used_weight_1m: Option<u32>,
    /// `X-MBX-ORDER-COUNT-10S`.
    pub order_count_10s: Option<u32>,
    /// `X-MBX-ORDER-COUNT-1M`.
    pub order_count_1m: Option<u32>,
    /// When `used_weight_1m` was seen (server-clock ms).
    pub weight_seen_at_ms: Option<u64>,
    /// When the order counts were seen (server-clock ms).
    pub orders_seen_at_ms: Option<u64>,
}

/// True if `seen_ms` and `now_ms` fall in the same fixed window of `window_ms`.
pub fn same_window(seen_ms: u64, now_ms: u64, window_ms: u64) -> bool {
    window_ms > 0 && seen_ms / window_ms == now_ms / window_ms
}

/// What the client may still spend, computed at one moment ([`RestClient::rate_view`]).
///
/// A count seen in an earlier window reads as 0 (that window has rolled). Check
/// [`RateView::allows`] with the cost of the next call before sending it: an order costs
/// 1 on each order count and 0 (algo, single order) to 5 (batch) weight; see each
/// method's doc for its weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateView {
    /// The raw usage.
    pub usage: RateLimitUsage,
    /// The limits: exchangeInfo's, or [`RateLimits::BINANCE_DEFAULTS`] for any it did
    /// not list (or before it was read).
    pub limits: RateLimits,
    /// True once exchangeInfo supplied the limits.
    pub limits_from_exchange: bool,
    /// "Now" on the server clock (ms).
    pub now_ms: u64,
}

impl RateView {
    fn current(&self, value: Option<u32>, seen: Option<u64>, window_ms: u64) -> u32 {
        match (value, seen) {
            (Some(v), Some(at)) if same_window(at, self.now_ms, window_ms) => v,
            _ => 0,
        }
    }
    /// Weight used in the current minute.
    pub fn weight_used(&self) -> u32 {
        self.current(
            self.usage.used_weight_1m,
            self.usage.weight_seen_at_ms,
            60_000,
        )
    }
    /// Orders counted in the current 10-second window.
    pub fn orders_used_10s(&self) -> u32 {
        self.current(
            self.usage.order_count_10s,
            self.usage.orders_seen_at_ms,
            10_000,
        )
    }
    /// Orders counted in the current minute.
    pub fn orders_used_1m(&self) -> u32 {
        self.current(
            self.usage.order_count_1m,
            self.usage.orders_seen_at_ms,
            60_000,
        )
    }
    /// Weight left this minute (`None`: no known limit).
    pub fn weight_left(&self) -> Option<u32> {
        self.limits
            .request_weight_1m
            .map(|l| l.saturating_sub(self.weight_used()))
    }
    /// Orders left in this 10-second window.
    pub fn orders_left_10s(&self) -> Option<u32> {
        self.limits
            .orders_10s
            .map(|l| l.saturating_sub(self.orders_used_10s()))
    }
    /// Orders left this minute.
    pub fn orders_left_1m(&self) -> Option<u32> {
        self.limits
            .orders_1m
            .map(|l| l.saturating_sub(self.orders_used_1m()))
    }
    /// True if a call costing `weight` and `orders` stays within every known limit.
    pub fn allows(&self, weight: u32, orders: u32) -> bool {
        let fits = |left: Option<u32>, cost: u32| left.is_none_or(|l| cost <= l);
        fits(self.weight_left(), weight)
            && (orders == 0
                || (fits(self.orders_left_10s(), orders) && fits(self.orders_left_1m(), orders)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GateKind {
    RateLimited,
    Banned,
}

#[derive(Debug)]
pub(super) struct Gate {
    pub(super) until: Instant,
    pub(super) kind: GateKind,
}

pub(super) const NO_VALUE: u32 = u32::MAX;

impl RestClient {
    // ------------------------------------------------------------ limits, gate, stats

    /// Usage reported by the latest responses, with when it was seen.
    pub fn rate_limits(&self) -> RateLimitUsage {
        let get = |a: &AtomicU32| match a.load(Ordering::Relaxed) {
            NO_VALUE => None,
            v => Some(v),
        };
        let at = |a: &AtomicU64| match a.load(Ordering::Relaxed) {
            0 => None,
            v => Some(v),
        };
        RateLimitUsage {
            used_weight_1m: get(&self.weight_1m),
            order_count_10s: get(&self.orders_10s),
            order_count_1m: get(&self.orders_1m),
            weight_seen_at_ms: at(&self.weight_seen_ms),
            orders_seen_at_ms: at(&self.orders_seen_ms),
        }
    }

    /// Sets the limits [`RestClient::rate_view`] checks against (done by
    /// [`RestClient::exchange_info`]; limits it does not list keep Binance's defaults).
    pub fn set_exchange_limits(&self, limits: RateLimits) {
        if let Ok(mut l) = self.exchange_limits.lock() {
            *l = Some(limits);
        }
    }

    /// The usage against the limits, now: what a caller checks before sending so the
    /// client stays under Binance's limits instead of being refused (or banned).
    pub fn rate_view(&self) -> RateView {
        let known = self.exchange_limits.lock().ok().and_then(|l| *l);
        RateView {
            usage: self.rate_limits(),
            limits: known.unwrap_or_default().or(RateLimits::BINANCE_DEFAULTS),
            limits_from_exchange: known.is_some(),
            now_ms: self.timestamp_ms(),
        }
    }

    /// Time left of a 429 backoff or 418 ban, if one is in force.
    pub fn blocked_for(&self) -> Option<Duration> {
        let g = self.gate.lock().ok()?;
        g.as_ref()
            .map(|g| g.until.saturating_duration_since(Instant::now()))
            .filter(|d| !d.is_zero())
    }

    /// True while a 418 ban is in force.
    pub fn is_banned(&self) -> bool {
        self.gate
            .lock()
            .ok()
            .and_then(|g| {
                g.as_ref()
                    .map(|g| g.kind == GateKind::Banned && g.until > Instant::now())
            })
            .unwrap_or(false)
    }

    pub(super) fn check_gate(&self, endpoint: &'static str) -> Result<()> {
        let Ok(mut g) = self.gate.lock() else {
            return Ok(());
        };
        if let Some(gate) = g.as_ref() {
            let now = Instant::now();
            if gate.until > now {
                self.refused_locally.fetch_add(1, Ordering::Relaxed);
                return Err(ExchangeError::BackingOff {
                    endpoint,
                    reason: match gate.kind {
                        GateKind::RateLimited => "rate limited (HTTP 429)",
                        GateKind::Banned => "IP banned (HTTP 418)",
                    },
                    remaining: gate.until - now,
                });
            }
            *g = None;
        }
        Ok(())
    }

    pub(super) fn close_gate(&self, kind: GateKind, d: Duration) {
        if let Ok(mut g) = self.gate.lock() {
            let until = Instant::now() + d;
            // Never shorten a ban that is already longer.
            let keep = g
                .as_ref()
                .is_some_and(|old| old.until > until && old.kind == GateKind::Banned);
            if !keep {
                *g = Some(Gate { until, kind });
            }
        }
    }

    pub(super) fn note_headers(&self, h: &HeaderMap) {
        let num = |name: &str| {
            h.get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|s| s.trim().parse::<u32>().ok())
        };
        let seen = self.timestamp_ms().max(1);
        if let Some(v) = num("x-mbx-used-weight-1m") {
            self.weight_1m.store(v, Ordering::Relaxed);
            self.weight_seen_ms.store(seen, Ordering::Relaxed);
        }
        let o10 = num("x-mbx-order-count-10s");
        let o1m = num("x-mbx-order-count-1m");
        if let Some(v) = o10 {
            self.orders_10s.store(v, Ordering::Relaxed);
        }
        if let Some(v) = o1m {
            self.orders_1m.store(v, Ordering::Relaxed);
        }
        if o10.is_some() || o1m.is_some() {
            self.orders_seen_ms.store(seen, Ordering::Relaxed);
        }
    }

    pub(super) fn retry_after(h: &HeaderMap) -> Option<Duration> {
        h.get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// "IP banned until 1660090423228" → time left, judged on the server clock.
    pub(super) fn ban_from_msg(&self, msg: &str) -> Option<Duration> {
        let i = msg.find("until ")? + "until ".len();
        let digits: String = msg[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let until: i64 = digits.parse().ok()?;
        let server_now = now_ms() + self.time_offset_ms();
        (until > server_now).then(|| Duration::from_millis((until - server_now) as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::RestConfig;
    #[test]
    fn ban_until_is_parsed_from_the_message() {
        let c = RestClient::new(RestConfig::live(), None).unwrap();
        let until = now_ms() + 60_000;
        let d = c
            .ban_from_msg(&format!(
                "Way too much request weight used; IP banned until {until}. Please use"
            ))
            .unwrap();
        assert!(
            d > Duration::from_secs(55) && d <= Duration::from_secs(60),
            "{d:?}"
        );
        assert!(c.ban_from_msg("no number").is_none());
    }

    fn view(usage: RateLimitUsage, now_ms: u64) -> RateView {
        RateView {
            usage,
            limits: RateLimits::BINANCE_DEFAULTS,
            limits_from_exchange: false,
            now_ms,
        }
    }

    #[test]
    fn a_count_from_an_earlier_window_no_longer_counts() {
        struct Case {
            seen: u64,
            now: u64,
            weight_used: u32,
            orders_10s: u32,
            orders_1m: u32,
        }
        let minute = 1_700_000_040_000u64; // a minute boundary (divisible by 60 000)
        let cases = [
            // Same second: everything counts.
            Case {
                seen: minute + 1_000,
                now: minute + 1_500,
                weight_used: 2000,
                orders_10s: 250,
                orders_1m: 900,
            },
            // 10 s window rolled, minute did not.
            Case {
                seen: minute + 1_000,
                now: minute + 12_000,
                weight_used: 2000,
                orders_10s: 0,
                orders_1m: 900,
            },
            // Minute rolled (even 1 ms later across the boundary).
            Case {
                seen: minute - 1,
                now: minute,
                weight_used: 0,
                orders_10s: 0,
                orders_1m: 0,
            },
        ];
        for c in cases {
            let v = view(
                RateLimitUsage {
                    used_weight_1m: Some(2000),
                    order_count_10s: Some(250),
                    order_count_1m: Some(900),
                    weight_seen_at_ms: Some(c.seen),
                    orders_seen_at_ms: Some(c.seen),
                },
                c.now,
            );
            assert_eq!(
                (v.weight_used(), v.orders_used_10s(), v.orders_used_1m()),
                (c.weight_used, c.orders_10s, c.orders_1m),
                "seen {} now {}",
                c.seen,
                c.now
            );
        }
    }

    #[test]
    fn allows_refuses_a_call_that_would_cross_any_limit() {
        let now = 1_700_000_045_000u64;
        let v = view(
            RateLimitUsage {
                used_weight_1m: Some(2395),
                order_count_10s: Some(299),
                order_count_1m: Some(1000),
                weight_seen_at_ms: Some(now),
                orders_seen_at_ms: Some(now),
            },
            now,
        );
        assert_eq!(v.weight_left(), Some(5));
        assert_eq!(v.orders_left_10s(), Some(1));
        assert_eq!(v.orders_left_1m(), Some(200));
        assert!(v.allows(5, 0));
        assert!(!v.allows(6, 0));
        assert!(v.allows(0, 1));
        assert!(!v.allows(0, 2), "the 10 s order limit");
        // Nothing seen yet: everything is allowed up to the limits.
        let fresh = view(RateLimitUsage::default(), now);
        assert_eq!(fresh.weight_left(), Some(2400));
        assert!(fresh.allows(2400, 300) && !fresh.allows(2401, 0));
        assert!(same_window(59_999, 0, 60_000) && !same_window(60_000, 0, 60_000));
        assert!(!same_window(1, 1, 0));
    }
}
