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
            time_syncs: AtomicU64::new(0),
            timestamp_retries: AtomicU64::new(0),
            reconciliations: AtomicU64::new(0),
            refused_locally: AtomicU64::new(0),
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
        }
    }

    /// Spawns a task that pings every `ping_every` (keeps the pooled connection from
    /// idling out) and resyncs the clock every `time_every`. Errors are logged.
    pub fn spawn_maintenance(
        self: &Arc<Self>,
        ping_every: Duration,
        time_every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut ping = tokio::time::interval(ping_every);
            let mut time = tokio::time::interval(time_every);
            ping.tick().await;
            time.tick().await;
            loop {
                tokio::select! {
                    _ = ping.tick() => {
                        if let Err(e) = me.ping().await {
                            tracing::warn!("keep-warm ping failed: {e}");
                        }
                    }
                    _ = time.tick() => {
                        if let Err(e) = me.sync_time().await {
                            tracing::warn!("server time resync failed: {e}");
                        }
                    }
                }
            }
        })
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
