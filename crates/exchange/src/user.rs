//! User-data stream: order fills and account changes pushed by the exchange.
//!
//! [`UserStream::spawn`] runs one task that
//! 1. creates a listenKey over REST (`POST /fapi/v1/listenKey`),
//! 2. connects `<ws_base>/ws/<listenKey>` (legacy) or
//!    `<ws_base>/private/ws?listenKey=<key>[&events=..]` (the 2026 URL split; which one
//!    Binance serves is configuration, see `shared/binance-usdm.md` §1),
//! 3. keeps the key alive (`PUT`) every `keepalive_every` (Binance: valid 60 min),
//! 4. parses every frame into a typed [`UserEvent`] and delivers it on a channel,
//! 5. on `listenKeyExpired`, a -1125 keepalive answer, a dropped connection or the
//!    connection reaching `max_connection_age` (Binance cuts at 24 h), creates a key
//!    again and reconnects, with exponential backoff on failures.
//!
//! Events are lost while disconnected, so every (re)connection is announced with
//! [`UserStreamMsg::Connected`]: the consumer must then reconcile orders and positions
//! from REST (`openOrders`, `positionRisk`) before trusting its state again.
//!
//! The listenKey grants read access to the account's stream, so it is never logged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use crate::error::ApiErrorKind;
use crate::rest::RestClient;
use crate::wire::account::UserEvent;

/// Live websocket base.
pub const LIVE_WS: &str = "wss://fstream.binance.com";
/// Testnet websocket base (UNCERTAIN per the wire notes: keep it configurable).
pub const TESTNET_WS: &str = "wss://fstream.binancefuture.com";

/// Which URL layout the user stream uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserStreamPath {
    /// `<base>/ws/<listenKey>` (retired on live on 2026-04-23, still served by the mock).
    Legacy,
    /// `<base>/private/ws?listenKey=<key>[&events=E1/E2]`.
    Private {
        /// Event filter (`ORDER_TRADE_UPDATE/ACCOUNT_UPDATE`); `None` = everything.
        events: Option<String>,
    },
}

/// User-stream settings.
#[derive(Debug, Clone)]
pub struct UserStreamConfig {
    /// `wss://fstream.binance.com`, or `ws://127.0.0.1:PORT` for the mock.
    pub ws_base: String,
    /// URL layout.
    pub path: UserStreamPath,
    /// listenKey keepalive period (Binance keys live 60 min; 30 min leaves a retry).
    pub keepalive_every: Duration,
    /// Retry delay after a failed keepalive.
    pub keepalive_retry: Duration,
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

impl UserStreamConfig {
    fn with_base(base: &str, path: UserStreamPath) -> UserStreamConfig {
        UserStreamConfig {
            ws_base: base.trim_end_matches('/').to_string(),
            path,
            keepalive_every: Duration::from_secs(30 * 60),
            keepalive_retry: Duration::from_secs(60),
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
        /// Why.
        reason: String,
    },
}

/// A running user-data stream. Dropping it stops the task (without closing the key).
#[derive(Debug)]
pub struct UserStream {
    rx: mpsc::Receiver<UserStreamMsg>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    malformed: Arc<AtomicU64>,
    keepalives: Arc<AtomicU64>,
}

enum SessionEnd {
    Stop,
    KeyGone(String),
    Closed(String),
}

impl UserStream {
    /// Starts the stream task on the current tokio runtime.
    pub fn spawn(rest: Arc<RestClient>, cfg: UserStreamConfig) -> UserStream {
        let (tx, rx) = mpsc::channel(cfg.channel_capacity.max(1));
        let (stop, stop_rx) = watch::channel(false);
        let malformed = Arc::new(AtomicU64::new(0));
        let keepalives = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(run(
            rest,
            cfg,
            tx,
            stop_rx,
            Arc::clone(&malformed),
            Arc::clone(&keepalives),
        ));
        UserStream {
            rx,
            stop,
            task: Some(task),
            malformed,
            keepalives,
        }
    }

    /// The next message; `None` once the task has ended.
    pub async fn recv(&mut self) -> Option<UserStreamMsg> {
        self.rx.recv().await
    }

    /// Frames that were not valid user events (counted and skipped).
    pub fn malformed_frames(&self) -> u64 {
        self.malformed.load(Ordering::Relaxed)
    }

    /// Successful listenKey keepalives.
    pub fn keepalives(&self) -> u64 {
        self.keepalives.load(Ordering::Relaxed)
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

async fn run(
    rest: Arc<RestClient>,
    cfg: UserStreamConfig,
    tx: mpsc::Sender<UserStreamMsg>,
    mut stop: watch::Receiver<bool>,
    malformed: Arc<AtomicU64>,
    keepalives: Arc<AtomicU64>,
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
                tracing::warn!("user stream: connect failed: {e}");
                let reason = format!("connect failed: {e}");
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
        backoff = cfg.reconnect_min;
        tracing::info!(reconnect = !first, "user stream connected");
        if tx
            .send(UserStreamMsg::Connected { reconnect: !first })
            .await
            .is_err()
        {
            return;
        }
        first = false;
        let end = session(
            &rest,
            &cfg,
            ws,
            &key,
            &tx,
            &mut stop,
            &malformed,
            &keepalives,
        )
        .await;
        match end {
            SessionEnd::Stop => {
                if cfg.close_key_on_stop {
                    if let Err(e) = rest.close_listen_key(&key).await {
                        tracing::warn!("user stream: closing the listenKey failed: {e}");
                    }
                }
                return;
            }
            SessionEnd::KeyGone(reason) => {
                // A fresh key right away: nothing is wrong with the network.
                tracing::info!("user stream: {reason}; creating a new listenKey");
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            SessionEnd::Closed(reason) => {
                tracing::warn!("user stream: {reason}; reconnecting");
                if tx
                    .send(UserStreamMsg::Disconnected { reason })
                    .await
                    .is_err()
                    || sleep_or_stop(backoff, &mut stop).await
                {
                    return;
                }
                backoff = (backoff * 2).min(cfg.reconnect_max);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn session<S>(
    rest: &RestClient,
    cfg: &UserStreamConfig,
    ws: tokio_tungstenite::WebSocketStream<S>,
    key: &str,
    tx: &mpsc::Sender<UserStreamMsg>,
    stop: &mut watch::Receiver<bool>,
    malformed: &AtomicU64,
    keepalives: &AtomicU64,
) -> SessionEnd
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut write, mut read) = ws.split();
    let start = tokio::time::Instant::now();
    let mut keepalive = tokio::time::interval_at(start + cfg.keepalive_every, cfg.keepalive_every);
    keepalive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let age = tokio::time::sleep_until(start + cfg.max_connection_age);
    tokio::pin!(age);
    loop {
        tokio::select! {
            msg = read.next() => match msg {
                Some(Ok(Message::Text(t))) => match UserEvent::parse(t.as_str()) {
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
                        malformed.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!("user stream: skipped a malformed frame: {e}");
                    }
                },
                Some(Ok(Message::Ping(p))) => {
                    // tungstenite queues the pong; flushing sends it now.
                    let _ = p;
                    if write.flush().await.is_err() {
                        return SessionEnd::Closed("write failed".into());
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    return SessionEnd::Closed(format!("closed by the server ({frame:?})"));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return SessionEnd::Closed(format!("websocket error: {e}")),
                None => return SessionEnd::Closed("connection ended".into()),
            },
            _ = keepalive.tick() => match rest.keepalive_listen_key(key).await {
                Ok(()) => {
                    keepalives.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.api_kind() == Some(ApiErrorKind::InvalidListenKey) => {
                    let _ = write.send(Message::Close(None)).await;
                    return SessionEnd::KeyGone("keepalive: listenKey no longer exists".into());
                }
                Err(e) => {
                    tracing::warn!("user stream: keepalive failed, retrying soon: {e}");
                    keepalive.reset_after(cfg.keepalive_retry);
                }
            },
            _ = &mut age => {
                let _ = write.send(Message::Close(None)).await;
                return SessionEnd::Closed("max connection age reached".into());
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
}
