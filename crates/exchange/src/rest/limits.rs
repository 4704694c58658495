//! Rate-limit bookkeeping: the usage headers of every answer, and the gate that refuses
//! calls locally after a 429 or during a 418 ban.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::{now_ms, RestClient};
use crate::error::{ExchangeError, Result};

/// Rate-limit usage as last reported by the exchange's response headers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitUsage {
    /// `X-MBX-USED-WEIGHT-1M`.
    pub used_weight_1m: Option<u32>,
    /// `X-MBX-ORDER-COUNT-10S`.
    pub order_count_10s: Option<u32>,
    /// `X-MBX-ORDER-COUNT-1M`.
    pub order_count_1m: Option<u32>,
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

    /// Usage reported by the latest responses.
    pub fn rate_limits(&self) -> RateLimitUsage {
        let get = |a: &AtomicU32| match a.load(Ordering::Relaxed) {
            NO_VALUE => None,
            v => Some(v),
        };
        RateLimitUsage {
            used_weight_1m: get(&self.weight_1m),
            order_count_10s: get(&self.orders_10s),
            order_count_1m: get(&self.orders_1m),
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
        if let Some(v) = num("x-mbx-used-weight-1m") {
            self.weight_1m.store(v, Ordering::Relaxed);
        }
        if let Some(v) = num("x-mbx-order-count-10s") {
            self.orders_10s.store(v, Ordering::Relaxed);
        }
        if let Some(v) = num("x-mbx-order-count-1m") {
            self.orders_1m.store(v, Ordering::Relaxed);
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
}
