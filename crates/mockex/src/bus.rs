//! Fan-out from the engine to websocket connections.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use tokio::sync::broadcast;

/// One market-stream payload.
#[derive(Debug, Clone)]
pub struct MarketMsg {
    /// Stream name (`btcusdt@aggTrade`), lowercase symbol.
    pub stream: Arc<str>,
    /// The raw (unwrapped) JSON text.
    pub payload: Arc<str>,
    /// Sent verbatim to every market connection with any subscription (fault injection).
    pub raw_all: bool,
}

/// One user-data event.
#[derive(Debug, Clone)]
pub struct UserMsg {
    /// Event type (`ORDER_TRADE_UPDATE`), for the `events=` filter.
    pub event: &'static str,
    /// JSON text.
    pub payload: Arc<str>,
    /// Only for connections on this listenKey (expiry notices); `None` = every live key.
    pub only_key: Option<Arc<str>>,
    /// After this message the connection stops serving `only_key` (and closes if that
    /// was all it served): the key expired.
    pub close_key: bool,
}

/// How many connections want each stream, so the engine only serialises what someone
/// reads (a replay at max speed would otherwise build thousands of unread frames).
#[derive(Debug, Default)]
pub struct Subs {
    map: RwLock<HashMap<String, usize>>,
}

impl Subs {
    /// One more reader of `stream`.
    pub fn add(&self, stream: &str) {
        if let Ok(mut m) = self.map.write() {
            *m.entry(stream.to_string()).or_insert(0) += 1;
        }
    }
    /// One reader fewer.
    pub fn remove(&self, stream: &str) {
        if let Ok(mut m) = self.map.write() {
            if let Some(n) = m.get_mut(stream) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(stream);
                }
            }
        }
    }
    /// Anyone reading `stream`?
    pub fn has(&self, stream: &str) -> bool {
        self.map
            .read()
            .map(|m| m.contains_key(stream))
            .unwrap_or(true)
    }
    /// Any market stream read at all?
    pub fn any(&self) -> bool {
        self.map.read().map(|m| !m.is_empty()).unwrap_or(true)
    }
}

/// The engine's outputs.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Market streams.
    pub market: broadcast::Sender<MarketMsg>,
    /// User-data events.
    pub user: broadcast::Sender<UserMsg>,
    /// Stream subscriptions.
    pub subs: Arc<Subs>,
}

impl Outbox {
    /// Sends on a market stream if anyone listens; `build` runs only then.
    pub fn market(&self, stream: &str, build: impl FnOnce() -> String) {
        if self.subs.has(stream) {
            let _ = self.market.send(MarketMsg {
                stream: Arc::from(stream),
                payload: Arc::from(build()),
                raw_all: false,
            });
        }
    }
    /// Sends a user event (no receivers is fine).
    pub fn user(&self, event: &'static str, payload: String) {
        let _ = self.user.send(UserMsg {
            event,
            payload: Arc::from(payload),
            only_key: None,
            close_key: false,
        });
    }
}
