//! Construction, the server-clock offset, counters and the maintenance task.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;

use super::endpoints::{ORDER_NEW, TIME};
use super::limits::NO_VALUE;
use super::transport::{decode, Form};
use super::{now_ms, RestClient, RestConfig};
use crate::error::{ExchangeError, Result};
use crate::sign::{Credentials, Signer};
use crate::template::{OrderEncoder, TemplateConfig};
use crate::wire::account::ServerTime;

/// Counters of what the client did on its own (for status output and tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Server-time measurements.
    pub time_syncs: u64,
    /// Requests re-sent after a -1021.
    pub timestamp_retries: u64,
    /// Orders whose unknown outcome was settled by a query.
    pub reconciliations: u64,
    /// Calls refused locally during a 429 backoff or 418 ban.
    pub refused_locally: u64,
    /// Periodic resyncs of the maintenance task that failed.
    pub time_sync_failures: u64,
}

impl RestClient {
    /// A client; `credentials` may be `None` for public endpoints only. Does no I/O:
    /// call [`RestClient::start`] (or `warm` + `sync_time`) before trading.
    pub fn new(cfg: RestConfig, credentials: Option<Credentials>) -> Result<RestClient> {
        if !(cfg.base_url.starts_with("http://") || cfg.base_url.starts_with("https://")) {
            return Err(ExchangeError::Invalid {
                what: "rest base_url",
                reason: format!("{:?} must start with http:// or https://", cfg.base_url),
            });
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.connect_timeout)
            .pool_idle_timeout(cfg.pool_idle_timeout)
            .pool_max_idle_per_host(4)
            .tcp_nodelay(true)
            .tcp_keepalive(Duration::from_secs(30))
            .user_agent(concat!("shmtrader/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ExchangeError::Invalid {
                what: "http client",
                reason: e.to_string(),
            })?;
        let (api_key, signer) = match credentials {
            Some(c) => {
                let mut h =
                    HeaderValue::from_str(c.key.expose()).map_err(|_| ExchangeError::Invalid {
                        what: "api key",
                        reason: "not a valid HTTP header value".into(),
                    })?;
                h.set_sensitive(true);
                (Some(h), Some(Signer::new(&c.secret)?))
            }
            None => (None, None),
        };
        let order_url = reqwest::Url::parse(&format!(
            "{}{}{}",
            cfg.base_url, cfg.api_prefix, ORDER_NEW.path
        ))
        .map_err(|e| ExchangeError::Invalid {
            what: "rest base_url",
            reason: format!("{:?}: {e}", cfg.base_url),
        })?;
        let encoder = signer.clone().map(OrderEncoder::new);
        Ok(RestClient {
            http,
            api_key,
            signer,
            order_url,
            encoder: Mutex::new(encoder),
            time_offset_ms: AtomicI64::new(0),
            last_rtt_us: AtomicU64::new(0),
            gate: Mutex::new(None),
            weight_1m: AtomicU32::new(NO_VALUE),
            orders_10s: AtomicU32::new(NO_VALUE),
            orders_1m: AtomicU32::new(NO_VALUE),
            weight_seen_ms: AtomicU64::new(0),
            orders_seen_ms: AtomicU64::new(0),
            exchange_limits: Mutex::new(None),
            time_syncs: AtomicU64::new(0),
            timestamp_retries: AtomicU64::new(0),
            reconciliations: AtomicU64::new(0),
            refused_locally: AtomicU64::new(0),
            time_sync_failures: AtomicU64::new(0),
            cfg,
        })
    }

    /// Opens the pooled connection (ping) and measures the server-time offset.
    pub async fn start(&self) -> Result<()> {
        self.warm().await?;
        self.sync_time().await?;
        Ok(())
    }

    /// The configuration.
    pub fn config(&self) -> &RestConfig {
        &self.cfg
    }

    /// Template settings matching this client (`recvWindow`, response type).
    pub fn template_config(&self) -> TemplateConfig {
        TemplateConfig {
            recv_window_ms: self.cfg.recv_window_ms,
            resp_type: self.cfg.resp_type,
        }
    }

    // ------------------------------------------------------------ time

    /// Server time minus local time, ms (as last measured).
    pub fn time_offset_ms(&self) -> i64 {
        self.time_offset_ms.load(Ordering::Relaxed)
    }

    /// Overrides the offset (tests simulate clock drift with it).
    pub fn set_time_offset_ms(&self, offset: i64) {
        self.time_offset_ms.store(offset, Ordering::Relaxed);
    }

    /// Round trip of the last time sync.
    pub fn last_rtt(&self) -> Duration {
        Duration::from_micros(self.last_rtt_us.load(Ordering::Relaxed))
    }

    /// The timestamp to sign with: local clock corrected by the measured offset.
    pub fn timestamp_ms(&self) -> u64 {
        (now_ms() + self.time_offset_ms()).max(0) as u64
    }

    /// Measures the server-time offset: best (shortest round trip) of three samples,
    /// each assuming the server stamped the midpoint of the round trip.
    pub async fn sync_time(&self) -> Result<i64> {
        let mut best: Option<(Duration, i64)> = None;
        for _ in 0..3 {
            let local_before = now_ms();
            let t0 = Instant::now();
            let body = self.request_once(&TIME, &Form::new()).await?;
            let rtt = t0.elapsed();
            let st: ServerTime = decode(TIME.name, &body)?;
            let mid = local_before + (rtt.as_millis() as i64) / 2;
            let offset = st.server_time as i64 - mid;
            if best.is_none_or(|(r, _)| rtt < r) {
                best = Some((rtt, offset));
            }
        }
        let (rtt, offset) = best.unwrap_or_default();
        self.time_offset_ms.store(offset, Ordering::Relaxed);
        self.last_rtt_us
            .store(rtt.as_micros() as u64, Ordering::Relaxed);
        self.time_syncs.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(
            offset_ms = offset,
            rtt_us = rtt.as_micros() as u64,
            "server time synced"
        );
        Ok(offset)
    }

    /// What the client did on its own.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            time_syncs: self.time_syncs.load(Ordering::Relaxed),
            timestamp_retries: self.timestamp_retries.load(Ordering::Relaxed),
            reconciliations: self.reconciliations.load(Ordering::Relaxed),
            refused_locally: self.refused_locally.load(Ordering::Relaxed),
            time_sync_failures: self.time_sync_failures.load(Ordering::Relaxed),
        }
    }

    /// The one way to keep the clock (and the pooled connection) fresh while trading:
    /// spawns a task that re-measures the server-clock offset every
    /// `m.time_sync_every` (3 × weight 1 per resync) and, if set, pings every
    /// `m.ping_every` so the pooled connection does not idle out before the next order.
    /// The first resync happens one period after the call (call [`RestClient::start`]
    /// first). Failures are logged and counted ([`ClientStats::time_sync_failures`]);
    /// the task keeps going. Dropping the returned handle (or
    /// [`MaintenanceHandle::stop`]) ends the task.
    ///
    /// # Errors
    /// [`ExchangeError::Invalid`] for a zero period (it would spin).
    pub fn spawn_maintenance(self: &Arc<Self>, m: Maintenance) -> Result<MaintenanceHandle> {
        if m.time_sync_every.is_zero() || m.ping_every.is_some_and(|p| p.is_zero()) {
            return Err(ExchangeError::Invalid {
                what: "maintenance period",
                reason: format!("{m:?}: periods must be above zero"),
            });
        }
        let me = Arc::clone(self);
        let task = tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut time = tokio::time::interval_at(start + m.time_sync_every, m.time_sync_every);
            time.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            // A ping period of `None` never fires (a timer far in the future).
            let ping_every = m.ping_every.unwrap_or(Duration::from_secs(365 * 86_400));
            let mut ping = tokio::time::interval_at(start + ping_every, ping_every);
            ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = time.tick() => {
                        if let Err(e) = me.sync_time().await {
                            me.time_sync_failures.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!("server time resync failed: {e}");
                        }
                    }
                    _ = ping.tick(), if m.ping_every.is_some() => {
                        if let Err(e) = me.ping().await {
                            tracing::warn!("keep-warm ping failed: {e}");
                        }
                    }
                }
            }
        });
        Ok(MaintenanceHandle { task })
    }
}

/// What [`RestClient::spawn_maintenance`] does, and how often.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maintenance {
    /// Resync the server-clock offset this often. Default 60 s: a drifting host clock
    /// stays well inside `recvWindow` (5 s), and the cost is 3 weight a minute.
    pub time_sync_every: Duration,
    /// Ping this often to keep the pooled connection warm (`None`: never). Default 30 s.
    pub ping_every: Option<Duration>,
}

impl Default for Maintenance {
    fn default() -> Maintenance {
        Maintenance {
            time_sync_every: Duration::from_secs(60),
            ping_every: Some(Duration::from_secs(30)),
        }
    }
}

/// The running maintenance task. Dropping it stops the task.
#[derive(Debug)]
pub struct MaintenanceHandle {
    task: tokio::task::JoinHandle<()>,
}

impl MaintenanceHandle {
    /// Stops the task now.
    pub fn stop(self) {
        self.task.abort();
    }
    /// True while the task runs.
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }
}

impl Drop for MaintenanceHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rest::{LIVE_URL, TESTNET_URL};
    #[test]
    fn config_presets() {
        assert_eq!(RestConfig::live().base_url, LIVE_URL);
        assert_eq!(RestConfig::testnet().base_url, TESTNET_URL);
        assert_eq!(
            RestConfig::mock("http://127.0.0.1:9/").base_url,
            "http://127.0.0.1:9"
        );
        assert!(RestClient::new(
            RestConfig {
                base_url: "ftp://x".into(),
                ..RestConfig::live()
            },
            None
        )
        .is_err());
        assert_eq!(ORDER_NEW.name, "POST /fapi/v1/order");
    }
}
