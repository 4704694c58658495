//! User-data stream: order fills, algo-order changes and account changes pushed by the
//! exchange.
//!
//! [`UserStream::spawn`] runs one task that
//! 1. creates a listenKey over REST (`POST /fapi/v1/listenKey`, through the shared
//!    [`RestClient`], so its weight is counted with everything else),
//! 2. connects `<ws_base>/ws/<listenKey>` (legacy) or
//!    `<ws_base>/private/ws?listenKey=<key>[&events=..]` (the 2026 URL split; which one
//!    Binance serves is configuration, see `shared/binance-usdm.md` §1),
//! 3. keeps the key alive (`PUT`) every `keepalive_every` (Binance: valid 60 min),
//! 4. parses every frame into a typed [`UserEvent`] and delivers it on a channel,
//! 5. replaces the connection — a new key if the old one is gone, then a new socket —
//!    when any of these happens:
//!    * a `listenKeyExpired` event (delivered to the consumer first),
//!    * a keepalive answered -1125 (the key no longer exists),
//!    * the server closes or the socket fails,
//!    * no frame at all (event, ping, pong) for `idle_timeout`: a half-open TCP
//!      connection otherwise looks like a quiet account forever (Binance pings every
//!      3 minutes, so a healthy connection is never silent that long),
//!    * the connection reaches `max_connection_age` (Binance cuts at 24 h).
//!
//!    Failures back off exponentially (`reconnect_min` doubling to `reconnect_max`); a
//!    lost key is replaced at once.
//!
//! Events are lost while disconnected, so every connection after the first is announced
//! with [`UserStreamMsg::Connected`] `{ reconnect: true }`: the consumer must then
//! reconcile orders, algo orders and positions from REST (`openOrders`,
//! `openAlgoOrders`, `positionRisk`, `userTrades`) before trusting its state again.
//!
//! The listenKey grants read access to the account's stream, so it is never logged and
//! never in a [`UserStreamMsg`]: every reason string is scrubbed of it, and the key types
//! print `***` in `Debug`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::rest::RestClient;
use crate::wire::account::UserEvent;

/// Live websocket base.
pub const LIVE_WS: &str = "wss://fstream.binance.com";
/// Testnet websocket base (UNCERTAIN per the wire notes: keep it configurable).
pub const TESTNET_WS: &str = "wss://fstream.binancefuture.com";

/// Binance's listenKey lifetime without a keepalive.
const KEY_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// Which URL layout the user stream uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserStreamPath {
    /// `<base>/ws/<listenKey>` (retired on live on 2026-04-23, still served by the mock).
    Legacy,
    /// `<base>/private/ws?listenKey=<key>[&events=E1/E2]`.
    Private {
        /// Event filter (`ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE`); `None` =
        /// everything. A filter without `ALGO_UPDATE` hides protective-stop changes.
        events: Option<String>,
    },
}

/// User-stream settings. Every period is a plain field, so tests shorten them (a
/// keepalive every 250 ms against a key that lives 1 s, an idle timeout of 300 ms);
/// [`UserStreamConfig::validate`] checks them.
#[derive(Debug, Clone)]
pub struct UserStreamConfig {
    /// `wss://fstream.binance.com`, or `ws://127.0.0.1:PORT` for the mock.
    pub ws_base: String,
    /// URL layout.
    pub path: UserStreamPath,
    /// listenKey keepalive period (Binance keys live 60 min; 30 min leaves a retry).
    /// Must be shorter than 60 min.
    pub keepalive_every: Duration,
    /// Retry delay after a failed keepalive.
    pub keepalive_retry: Duration,
    /// A connection with no frame at all (event, ping, pong) for this long is replaced.
    pub idle_timeout: Duration,
    /// First reconnect delay after a failure; doubles up to `reconnect_max`.
    pub reconnect_min: Duration,
    /// Longest reconnect delay.
    pub reconnect_max: Duration,
    /// Reconnect proactively before the exchange's 24 h cut.
    pub max_connection_age: Duration,
    /// `DELETE` the listenKey when stopped.
    pub close_key_on_stop: bool,
    /// Channel capacity; the reader waits when the consumer lags (no event is dropped).
    pub channel_capacity: usize,
}

fn bad(key: &'static str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Config {
        key,
        reason: reason.into(),
    }
}

impl UserStreamConfig {
    fn with_base(base: &str, path: UserStreamPath) -> UserStreamConfig {
        UserStreamConfig {
            ws_base: base.trim_end_matches('/').to_string(),
            path,
            keepalive_every: Duration::from_secs(30 * 60),
            keepalive_retry: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(300),
            reconnect_min: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            max_connection_age: Duration::from_secs(23 * 3600),
            close_key_on_stop: true,
            channel_capacity: 4096,
        }
    }
    /// Binance live, split `/private` path.
    pub fn live() -> UserStreamConfig {
        Self::with_base(LIVE_WS, UserStreamPath::Private { events: None })
    }
    /// Binance testnet, legacy path (the split is unconfirmed there).
    pub fn testnet() -> UserStreamConfig {
        Self::with_base(TESTNET_WS, UserStreamPath::Legacy)
    }
    /// The mock (`ws://127.0.0.1:PORT`), legacy path, fast reconnects.
    pub fn mock(ws_base: &str) -> UserStreamConfig {
        UserStreamConfig {
            reconnect_min: Duration::from_millis(50),
            reconnect_max: Duration::from_secs(1),
            ..Self::with_base(ws_base, UserStreamPath::Legacy)
        }
    }

    /// Refuses a configuration that cannot work, naming the key.
    ///
    /// # Errors
    /// [`ExchangeError::Config`] naming the field.
    pub fn validate(&self) -> Result<()> {
        let base = self.ws_base.as_str();
        if !(base.starts_with("ws://") || base.starts_with("wss://")) {
            return Err(bad(
                "ws_base",
                format!("{base:?} is not a ws:// or wss:// URL"),
            ));
        }
        if self.keepalive_every.is_zero() || self.keepalive_every >= KEY_LIFETIME {
            return Err(bad(
                "keepalive_every",
                "must be above zero and below the 60 min key lifetime",
            ));
        }
        if self.keepalive_retry.is_zero() {
            return Err(bad("keepalive_retry", "must be above zero"));
        }
        if self.idle_timeout < Duration::from_millis(100) {
            return Err(bad("idle_timeout", "must be at least 100 ms"));
        }
        if self.reconnect_min.is_zero() || self.reconnect_max < self.reconnect_min {
            return Err(bad(
                "reconnect_min",
                "must be above zero and not above reconnect_max",
            ));
        }
        if self.max_connection_age < Duration::from_secs(1) {
            return Err(bad("max_connection_age", "must be at least 1 s"));
        }
        if self.channel_capacity == 0 {
            return Err(bad("channel_capacity", "must be at least 1"));
        }
        Ok(())
    }

    fn url(&self, key: &str) -> String {
        match &self.path {
            UserStreamPath::Legacy => format!("{}/ws/{key}", self.ws_base),
            UserStreamPath::Private { events: None } => {
                format!("{}/private/ws?listenKey={key}", self.ws_base)
            }
            UserStreamPath::Private { events: Some(ev) } => {
                format!("{}/private/ws?listenKey={key}&events={ev}", self.ws_base)
            }
        }
    }
}

/// What the stream task delivers.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once through the channel; boxing would allocate
pub enum UserStreamMsg {
    /// A connection is up. `reconnect` is true after the first one: events may have been
    /// missed, reconcile from REST.
    Connected {
        /// Not the first connection.
        reconnect: bool,
    },
    /// An event.
    Event(UserEvent),
    /// The connection (or the key) was lost; the task is reconnecting.
    Disconnected {
        /// Why (never contains the listenKey).
        reason: String,
    },
}

/// Counters shared between the task and the handle.
#[derive(Debug, Default)]
struct Counters {
    malformed: AtomicU64,
    keepalives: AtomicU64,
    connects: AtomicU64,
    idle_timeouts: AtomicU64,
}

/// A running user-data stream. Dropping it stops the task (without closing the key).
#[derive(Debug)]
pub struct UserStream {
    rx: mpsc::Receiver<UserStreamMsg>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    counters: Arc<Counters>,
}

enum SessionEnd {
    Stop,
    KeyGone(String),
    Closed(String),
}

impl UserStream {
    /// Validates the configuration and starts the stream task on the current tokio
    /// runtime.
    ///
    /// # Errors
    /// [`ExchangeError::Config`] from [`UserStreamConfig::validate`].
    pub fn spawn(rest: Arc<RestClient>, cfg: UserStreamConfig) -> Result<UserStream> {
        cfg.validate()?;
        let (tx, rx) = mpsc::channel(cfg.channel_capacity);
        let (stop, stop_rx) = watch::channel(false);
        let counters = Arc::new(Counters::default());
        let task = tokio::spawn(run(rest, cfg, tx, stop_rx, Arc::clone(&counters)));
        Ok(UserStream {
            rx,
            stop,
            task: Some(task),
            counters,
        })
    }

    /// The next message; `None` once the task has ended.
    pub async fn recv(&mut self) -> Option<UserStreamMsg> {
        self.rx.recv().await
    }

    /// Frames that were not valid user events (counted and skipped).
    pub fn malformed_frames(&self) -> u64 {
        self.counters.malformed.load(Ordering::Relaxed)
    }

    /// Successful listenKey keepalives.
    pub fn keepalives(&self) -> u64 {
        self.counters.keepalives.load(Ordering::Relaxed)
    }

    /// Connections opened (the first one included).
    pub fn connects(&self) -> u64 {
        self.counters.connects.load(Ordering::Relaxed)
    }

    /// Connections replaced because they were silent for `idle_timeout`.
    pub fn idle_timeouts(&self) -> u64 {
        self.counters.idle_timeouts.load(Ordering::Relaxed)
    }

    /// Stops the task (closing the key if configured) and waits for it.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for UserStream {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Completes once stop is requested (or the handle is gone). The watch guard is dropped
/// inside, so the callers' futures stay `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(d) => false,
        _ = stopped(stop) => true,
    }
}

/// `text` with every occurrence of the listenKey masked.
fn scrub(text: String, key: &str) -> String {
    if key.is_empty() || !text.contains(key) {
        text
    } else {
        text.replace(key, "***")
    }
}

async fn run(
    rest: Arc<RestClient>,
    cfg: UserStreamConfig,
    tx: mpsc::Sender<UserStreamMsg>,
    mut stop: watch::Receiver<bool>,
    counters: Arc<Counters>,
) {
    let mut backoff = cfg.reconnect_min;
    let mut first = true;
    loop {
        if *stop.borrow() {
            return;
        }
        let key = match rest.create_listen_key().await {
            Ok(k) => k.listen_key,
            Err(e) => {
                tracing::warn!("user stream: listenKey creation failed: {e}");
                let reason = format!("listenKey creation failed: {e}");
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                    || sleep_or_stop(backoff, &mut stop).await
                {
                    return;
                }
                backoff = (backoff * 2).min(cfg.reconnect_max);
                continue;
            }
        };
        let connect = tokio::select! {
            r = tokio_tungstenite::connect_async(cfg.url(&key)) => r,
            _ = stopped(&mut stop) => return,
        };
        let ws = match connect {
            Ok((ws, _)) => ws,
            Err(e) => {
                let reason = scrub(format!("connect failed: {e}"), &key);
                tracing::warn!("user stream: {reason}");
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                    || sleep_or_stop(backoff, &mut stop).await
                {
                    return;
                }
                backoff = (backoff * 2).min(cfg.reconnect_max);
                continue;
            }
        };
        counters.connects.fetch_add(1, Ordering::Relaxed);
        tracing::info!(reconnect = !first, "user stream connected");
        if tx
            .send(UserStreamMsg::Connected { reconnect: !first })
            .await
            .is_err()
        {
            return;
        }
        first = false;
        let mut healthy = false;
        let end = session(
            &rest,
            &cfg,
            ws,
            &key,
            &tx,
            &mut stop,
            &counters,
            &mut healthy,
        )
        .await;
        if healthy {
            backoff = cfg.reconnect_min;
        }
        match end {
            SessionEnd::Stop => {
                if cfg.close_key_on_stop {
                    if let Err(e) = rest.close_listen_key(&key).await {
                        tracing::warn!(
                            "user stream: closing the listenKey failed: {}",
                            scrub(e.to_string(), &key)
                        );
                    }
                }
                return;
            }
            SessionEnd::KeyGone(reason) => {
                // A fresh key right away: nothing is wrong with the network.
                let reason = scrub(reason, &key);
                tracing::info!("user stream: {reason}; creating a new listenKey");
                backoff = cfg.reconnect_min;
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            SessionEnd::Closed(reason) => {
                let reason = scrub(reason, &key);
                tracing::warn!("user stream: {reason}; reconnecting");
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                    || sleep_or_stop(backoff, &mut stop).await
                {
                    return;
                }
                // A connection that carried frames reset the backoff above; one that died
                // before its first frame counts as a failure and doubles it.
                backoff = (backoff * 2).min(cfg.reconnect_max);
            }
        }
    }
}

/// One connection's life. Sets `healthy` once a frame arrived (the connection worked, so
/// the reconnect backoff starts over).
#[allow(clippy::too_many_arguments)]
async fn session<S>(
    rest: &RestClient,
    cfg: &UserStreamConfig,
    ws: tokio_tungstenite::WebSocketStream<S>,
    key: &str,
    tx: &mpsc::Sender<UserStreamMsg>,
    stop: &mut watch::Receiver<bool>,
    counters: &Counters,
    healthy: &mut bool,
) -> SessionEnd
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut write, mut read) = ws.split();
    let start = Instant::now();
    let mut keepalive = tokio::time::interval_at(start + cfg.keepalive_every, cfg.keepalive_every);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let age = tokio::time::sleep_until(start + cfg.max_connection_age);
    tokio::pin!(age);
    let idle = tokio::time::sleep_until(start + cfg.idle_timeout);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            msg = read.next() => {
                if matches!(msg, Some(Ok(_))) {
                    idle.as_mut().reset(Instant::now() + cfg.idle_timeout);
                    *healthy = true;
                }
                match msg {
                    Some(Ok(Message::Text(t))) => {
                        match UserEvent::parse(t.as_str()) {
                            Ok(ev) => {
                                let expired = matches!(ev, UserEvent::ListenKeyExpired(_));
                                if tx.send(UserStreamMsg::Event(ev)).await.is_err() {
                                    return SessionEnd::Stop;
                                }
                                if expired {
                                    let _ = write.send(Message::Close(None)).await;
                                    return SessionEnd::KeyGone("listenKey expired".into());
                                }
                            }
                            Err(e) => {
                                counters.malformed.fetch_add(1, Ordering::Relaxed);
                                tracing::warn!("user stream: skipped a malformed frame: {e}");
                            }
                        }
                    }
                    Some(Ok(Message::Ping(_))) => {
                        // tungstenite queued the pong; flushing sends it now.
                        if write.flush().await.is_err() {
                            return SessionEnd::Closed("write failed".into());
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        return SessionEnd::Closed(match frame {
                            Some(f) => format!("closed by the server: {} {}", f.code, f.reason),
                            None => "closed by the server".into(),
                        });
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return SessionEnd::Closed(format!("websocket error: {e}")),
                    None => return SessionEnd::Closed("connection ended".into()),
                }
            },
            _ = &mut idle => {
                counters.idle_timeouts.fetch_add(1, Ordering::Relaxed);
                let _ = write.send(Message::Close(None)).await;
                return SessionEnd::Closed(format!(
                    "idle timeout: no frame, not even a ping, for {:?}",
                    cfg.idle_timeout
                ));
            }
            _ = keepalive.tick() => match rest.keepalive_listen_key(key).await {
                Ok(()) => {
                    counters.keepalives.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.api_kind() == Some(ApiErrorKind::InvalidListenKey) => {
                    let _ = write.send(Message::Close(None)).await;
                    return SessionEnd::KeyGone("keepalive: listenKey no longer exists (-1125)".into());
                }
                Err(e) => {
                    tracing::warn!(
                        "user stream: keepalive failed, retrying soon: {}",
                        scrub(e.to_string(), key)
                    );
                    keepalive.reset_after(cfg.keepalive_retry);
                }
            },
            _ = &mut age => {
                let _ = write.send(Message::Close(None)).await;
                return SessionEnd::KeyGone("max connection age reached".into());
            }
            _ = stopped(stop) => {
                let _ = write.send(Message::Close(None)).await;
                return SessionEnd::Stop;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_follow_the_configured_layout() {
        let mut c = UserStreamConfig::mock("ws://127.0.0.1:9/");
        assert_eq!(c.url("K"), "ws://127.0.0.1:9/ws/K");
        c.path = UserStreamPath::Private { events: None };
        assert_eq!(c.url("K"), "ws://127.0.0.1:9/private/ws?listenKey=K");
        c.path = UserStreamPath::Private {
            events: Some("ORDER_TRADE_UPDATE/ACCOUNT_UPDATE".into()),
        };
        assert_eq!(
            c.url("K"),
            "ws://127.0.0.1:9/private/ws?listenKey=K&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"
        );
        assert!(UserStreamConfig::live().ws_base.starts_with("wss://"));
        let k = UserStreamConfig::live().keepalive_every;
        assert!(k >= Duration::from_secs(30 * 60) && k <= Duration::from_secs(50 * 60));
    }

    #[test]
    fn presets_validate_and_bad_periods_name_their_key() {
        for c in [
            UserStreamConfig::live(),
            UserStreamConfig::testnet(),
            UserStreamConfig::mock("ws://127.0.0.1:9"),
        ] {
            c.validate().unwrap();
        }
        let key = |c: UserStreamConfig| match c.validate() {
            Err(ExchangeError::Config { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        let base = || UserStreamConfig::mock("ws://127.0.0.1:9");
        struct Case {
            cfg: UserStreamConfig,
            key: &'static str,
        }
        let cases = [
            Case {
                cfg: UserStreamConfig {
                    ws_base: "http://x".into(),
                    ..base()
                },
                key: "ws_base",
            },
            // A keepalive slower than the key's lifetime would lose the key.
            Case {
                cfg: UserStreamConfig {
                    keepalive_every: Duration::from_secs(3600),
                    ..base()
                },
                key: "keepalive_every",
            },
            Case {
                cfg: UserStreamConfig {
                    keepalive_every: Duration::ZERO,
                    ..base()
                },
                key: "keepalive_every",
            },
            Case {
                cfg: UserStreamConfig {
                    idle_timeout: Duration::from_millis(10),
                    ..base()
                },
                key: "idle_timeout",
            },
            Case {
                cfg: UserStreamConfig {
                    reconnect_min: Duration::from_secs(5),
                    reconnect_max: Duration::from_secs(1),
                    ..base()
                },
                key: "reconnect_min",
            },
            Case {
                cfg: UserStreamConfig {
                    channel_capacity: 0,
                    ..base()
                },
                key: "channel_capacity",
            },
        ];
        for c in cases {
            assert_eq!(key(c.cfg), c.key);
        }
        // Short test periods are fine.
        UserStreamConfig {
            keepalive_every: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(100),
            ..base()
        }
        .validate()
        .unwrap();
    }

    #[test]
    fn scrub_masks_every_occurrence_of_the_key() {
        assert_eq!(
            scrub("connect failed: ws://h/ws/abc123 (abc123)".into(), "abc123"),
            "connect failed: ws://h/ws/*** (***)"
        );
        assert_eq!(scrub("no key here".into(), "abc123"), "no key here");
        assert_eq!(scrub("x".into(), ""), "x");
    }
}
