//! What the market-data client subscribes to and where: paths, streams, timings, and
//! the validation that refuses a configuration that cannot work.

use std::time::Duration;

use crate::error::{ExchangeError, Result};

/// Where streams live under the websocket base URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathCategory {
    /// Everything directly under the base (`/ws/...`, `/stream?...`): the pre-2026 layout
    /// and what most testnets still serve.
    Legacy,
    /// Binance's 2026 split: `aggTrade` (and mark price) under `/market`, `bookTicker`
    /// and depth under `/public`.
    Split,
}

/// Update speed of the diff-depth stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthSpeed {
    /// `@depth@100ms`.
    Ms100,
    /// `@depth` (250 ms).
    Ms250,
    /// `@depth@500ms`.
    Ms500,
}

impl DepthSpeed {
    pub(super) fn suffix(self) -> &'static str {
        match self {
            DepthSpeed::Ms100 => "@depth@100ms",
            DepthSpeed::Ms250 => "@depth",
            DepthSpeed::Ms500 => "@depth@500ms",
        }
    }
}

/// Which streams to subscribe for every symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamSet {
    /// `<sym>@aggTrade` → [`super::MarketSink::on_tick`].
    pub agg_trade: bool,
    /// `<sym>@bookTicker` → [`super::MarketSink::on_book`].
    pub book_ticker: bool,
    /// `<sym>@depth...` → a local [`crate::book::OrderBook`] → [`super::MarketSink::on_depth`].
    pub depth: bool,
    /// `<sym>@markPrice@1s` → [`super::MarketSink::on_mark`].
    pub mark_price: bool,
}

impl Default for StreamSet {
    fn default() -> Self {
        StreamSet {
            agg_trade: true,
            book_ticker: true,
            depth: false,
            mark_price: false,
        }
    }
}

/// Configuration of the market-data client. Plain data; build with
/// `..Default::default()` (live Binance URLs, per-symbol connections).
#[derive(Debug, Clone)]
pub struct MarketWsConfig {
    /// Websocket base, no trailing path: `wss://fstream.binance.com`, `ws://127.0.0.1:PORT`.
    pub ws_base_url: String,
    /// Legacy or split (`/market`, `/public`) paths.
    pub paths: PathCategory,
    /// REST base for backfill and depth snapshots: `https://fapi.binance.com`.
    pub rest_base_url: String,
    /// Symbols (uppercase, as in REST); the symbol id of each is its index here.
    pub symbols: Vec<String>,
    /// Streams per symbol.
    pub streams: StreamSet,
    /// Speed of the depth stream.
    pub depth_speed: DepthSpeed,
    /// `limit` of the depth snapshot (5, 10, 20, 50, 100, 500 or 1000).
    pub depth_snapshot_limit: u32,
    /// One combined connection (`/stream?streams=`) for all symbols, or (default) one
    /// raw connection per symbol, so one slow or dropped symbol does not stall the others.
    pub combined: bool,
    /// First reconnect delay; doubles per consecutive failure (with jitter).
    pub backoff_base_ms: u64,
    /// Reconnect delay cap.
    pub backoff_max_ms: u64,
    /// Replace a connection after this long (Binance cuts them at 24 h).
    pub max_connection_age: Duration,
    /// A connection with no frame at all (data, ping) for this long is reopened.
    pub idle_timeout: Duration,
    /// TCP + TLS + websocket handshake timeout.
    pub connect_timeout: Duration,
    /// Timeout of one REST request.
    pub rest_timeout: Duration,
    /// REST retries per backfill or snapshot before giving up and reporting.
    pub rest_retries: u32,
    /// Largest gap backfilled, in aggregate ids. Each 1000 ids cost a weight-20 request
    /// and live trades are held meanwhile, so a gap after a long outage is not replayed
    /// whole: its oldest part is reported lost ([`super::WsEvent::GapUnfilled`]) and only the
    /// most recent `max_backfill_ids` are fetched.
    pub max_backfill_ids: u64,
    /// Streams per connection (Binance allows 200 to 1024; design for 200).
    pub max_streams_per_connection: usize,
}

impl Default for MarketWsConfig {
    fn default() -> Self {
        MarketWsConfig {
            ws_base_url: "wss://fstream.binance.com".into(),
            paths: PathCategory::Split,
            rest_base_url: "https://fapi.binance.com".into(),
            symbols: Vec::new(),
            streams: StreamSet::default(),
            depth_speed: DepthSpeed::Ms100,
            depth_snapshot_limit: 1000,
            combined: false,
            backoff_base_ms: 250,
            backoff_max_ms: 30_000,
            max_connection_age: Duration::from_secs(23 * 3600 + 30 * 60),
            idle_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(10),
            rest_timeout: Duration::from_secs(10),
            rest_retries: 5,
            max_backfill_ids: 20_000,
            max_streams_per_connection: 200,
        }
    }
}

pub(super) fn bad(key: &'static str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Config {
        key,
        reason: reason.into(),
    }
}

impl MarketWsConfig {
    /// Refuses a configuration that cannot work, naming the key.
    pub fn validate(&self) -> Result<()> {
        let ws = self.ws_base_url.trim_end_matches('/');
        if !(ws.starts_with("ws://") || ws.starts_with("wss://")) {
            return Err(bad(
                "ws_base_url",
                format!("{ws:?} is not a ws:// or wss:// URL"),
            ));
        }
        let rest = self.rest_base_url.trim_end_matches('/');
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            return Err(bad(
                "rest_base_url",
                format!("{rest:?} is not an http(s) URL"),
            ));
        }
        if self.symbols.is_empty() {
            return Err(bad("symbols", "at least one symbol is required"));
        }
        let s = self.streams;
        if !(s.agg_trade || s.book_ticker || s.depth || s.mark_price) {
            return Err(bad("streams", "no stream selected"));
        }
        if ![5, 10, 20, 50, 100, 500, 1000].contains(&self.depth_snapshot_limit) {
            return Err(bad(
                "depth_snapshot_limit",
                "must be 5, 10, 20, 50, 100, 500 or 1000",
            ));
        }
        if self.backoff_base_ms == 0 || self.backoff_max_ms < self.backoff_base_ms {
            return Err(bad(
                "backoff_base_ms",
                "must be > 0 and not above backoff_max_ms",
            ));
        }
        if self.max_connection_age < Duration::from_secs(1) {
            return Err(bad("max_connection_age", "must be at least 1 s"));
        }
        if self.idle_timeout < Duration::from_millis(100) {
            return Err(bad("idle_timeout", "must be at least 100 ms"));
        }
        if self.max_backfill_ids == 0 {
            return Err(bad("max_backfill_ids", "must be at least 1"));
        }
        if self.max_streams_per_connection == 0 || self.max_streams_per_connection > 1024 {
            return Err(bad("max_streams_per_connection", "must be 1..=1024"));
        }
        Ok(())
    }

    /// The connection URLs this configuration opens, in connection-index order.
    pub fn connection_urls(&self) -> Vec<String> {
        let base = self.ws_base_url.trim_end_matches('/');
        let (market, public) = match self.paths {
            PathCategory::Legacy => ("", ""),
            PathCategory::Split => ("/market", "/public"),
        };
        // Combined: one group of all symbols; otherwise one group per symbol.
        let groups: Vec<&[String]> = if self.combined {
            vec![&self.symbols[..]]
        } else {
            self.symbols.chunks(1).collect()
        };
        let mut urls = Vec::new();
        for syms in groups {
            // (path prefix, stream names), in first-use order.
            let mut by_prefix: Vec<(&'static str, Vec<String>)> = Vec::new();
            let mut add = |prefix: &'static str, name: String| match by_prefix
                .iter_mut()
                .find(|(p, _)| *p == prefix)
            {
                Some((_, v)) => v.push(name),
                None => by_prefix.push((prefix, vec![name])),
            };
            for s in syms {
                let l = s.to_ascii_lowercase();
                if self.streams.agg_trade {
                    add(market, format!("{l}@aggTrade"));
                }
                if self.streams.book_ticker {
                    add(public, format!("{l}@bookTicker"));
                }
                if self.streams.depth {
                    add(public, format!("{l}{}", self.depth_speed.suffix()));
                }
                if self.streams.mark_price {
                    add(market, format!("{l}@markPrice@1s"));
                }
            }
            for (prefix, names) in by_prefix {
                for chunk in names.chunks(self.max_streams_per_connection.max(1)) {
                    let joined = chunk.join("/");
                    urls.push(if self.combined {
                        format!("{base}{prefix}/stream?streams={joined}")
                    } else {
                        format!("{base}{prefix}/ws/{joined}")
                    });
                }
            }
        }
        urls
    }
}
