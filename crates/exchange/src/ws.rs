//! The market-data websocket client: aggTrade, bookTicker and diff-depth streams for a
//! set of symbols, delivered as records to a caller-supplied [`MarketSink`].
//!
//! What it guarantees, because the strategy downstream assumes it:
//! - **Every aggregate trade, once, in order.** The last aggregate id (`a`) is tracked per
//!   symbol. A jump (`a > last + 1`, also across a reconnect or a process restart that
//!   called [`MarketWs::set_last_agg_id`]) is backfilled from
//!   `GET /fapi/v1/aggTrades?fromId=..` and the missing trades are emitted first,
//!   flagged [`Tick::FLAG_BACKFILL`]; live trades that arrive meanwhile are held and
//!   emitted after them. Repeats (`a <= last`, e.g. from an overlapping connection) are
//!   dropped. A gap that cannot be recovered is reported ([`WsEvent::GapUnfilled`]),
//!   never silently skipped.
//! - **Connections stay up.** Dropped or failed connections are reopened with
//!   exponential backoff and jitter; a connection nearing Binance's 24 h limit is
//!   replaced *before* it is cut (the new one is opened first, the old one dropped when
//!   the new one is up, repeats filtered by id); a connection silent for longer than
//!   `idle_timeout` (Binance pings every 3 min) is considered dead. Pings are answered by
//!   tungstenite, which queues the pong and writes it on the next read — this client
//!   reads every connection continuously, so pongs always go out.
//! - **Bad frames never stop the feed.** A frame that fails to parse is counted,
//!   reported and skipped.
//! - **A local book per symbol when depth is on**, synced by the rules in
//!   [`crate::book`], with REST snapshots fetched concurrently and refetched on a break.
//!
//! The client is a single future ([`MarketWs::run`]) that multiplexes all its
//! connections and REST requests itself, so it runs on a current-thread runtime and the
//! sink needs no locking. It stops when [`StopHandle::stop`] is called.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use shmtrader_core::{BookTop, Tick};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::book::{DiffOutcome, OrderBook};
use crate::error::{ExchangeError, Result};
use crate::fast::{self, EventKind, Frame, SymbolLookup, SymbolTable};
use crate::wire::market::{decode_event, DepthSnapshot, DepthUpdate, RestAggTrade};

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
    fn suffix(self) -> &'static str {
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
    /// `<sym>@aggTrade` → [`MarketSink::on_tick`].
    pub agg_trade: bool,
    /// `<sym>@bookTicker` → [`MarketSink::on_book`].
    pub book_ticker: bool,
    /// `<sym>@depth...` → a local [`OrderBook`] → [`MarketSink::on_depth`].
    pub depth: bool,
}

impl Default for StreamSet {
    fn default() -> Self {
        StreamSet {
            agg_trade: true,
            book_ticker: true,
            depth: false,
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
    /// whole: its oldest part is reported lost ([`WsEvent::GapUnfilled`]) and only the
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

fn bad(key: &'static str, reason: impl Into<String>) -> ExchangeError {
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
        if !(s.agg_trade || s.book_ticker || s.depth) {
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

/// What the client tells its owner besides data.
#[derive(Debug, Clone, PartialEq)]
pub enum WsEvent {
    /// Connection `conn` is up (also after a reconnect or an age replacement).
    Connected {
        /// Connection index (see [`MarketWsConfig::connection_urls`]).
        conn: usize,
        /// Its URL.
        url: String,
    },
    /// Connection `conn` went down; a reconnect is scheduled.
    Disconnected {
        /// Connection index.
        conn: usize,
        /// Why (close frame, error, idle timeout).
        reason: String,
    },
    /// A (re)connect attempt failed; the next is in `retry_in_ms`.
    ConnectFailed {
        /// Connection index.
        conn: usize,
        /// The error.
        error: String,
        /// Backoff before the next attempt.
        retry_in_ms: u64,
    },
    /// Aggregate ids `from..=to` are missing; a backfill started.
    GapDetected {
        /// Symbol id.
        symbol_id: u32,
        /// First missing id.
        from: u64,
        /// Last missing id.
        to: u64,
    },
    /// A gap was backfilled: `n` trades emitted with [`Tick::FLAG_BACKFILL`].
    GapBackfilled {
        /// Symbol id.
        symbol_id: u32,
        /// Trades recovered.
        n: u64,
    },
    /// Ids `from..=to` could not be recovered (REST failed or no longer has them).
    GapUnfilled {
        /// Symbol id.
        symbol_id: u32,
        /// First lost id (of the first hole).
        from: u64,
        /// Last lost id.
        to: u64,
        /// How many ids in `from..=to` are lost.
        lost: u64,
        /// Why.
        error: String,
    },
    /// A frame was rejected and skipped.
    Malformed {
        /// Connection index.
        conn: usize,
        /// The parse error.
        error: String,
    },
    /// The local book of a symbol is in sync (after a snapshot).
    BookSynced {
        /// Symbol id.
        symbol_id: u32,
        /// Update id it is consistent with.
        last_update_id: u64,
    },
    /// The local book broke and is being resynced from a new snapshot.
    BookResync {
        /// Symbol id.
        symbol_id: u32,
        /// Why.
        reason: String,
    },
}

/// Where the client delivers what it receives. Called on the client's task, in order.
pub trait MarketSink {
    /// An aggregate trade (live, or backfilled with [`Tick::FLAG_BACKFILL`]). Per symbol,
    /// agg ids arrive strictly increasing and, barring a reported
    /// [`WsEvent::GapUnfilled`], consecutive.
    fn on_tick(&mut self, t: &Tick);
    /// A best bid/offer update from `bookTicker`.
    fn on_book(&mut self, _b: &BookTop) {}
    /// The local book of `symbol_id` changed (depth stream enabled, book in sync).
    fn on_depth(&mut self, _symbol_id: u32, _book: &OrderBook) {}
    /// Anything else worth knowing (connections, gaps, bad frames, book resyncs).
    fn on_event(&mut self, _e: WsEvent) {}
}

/// Counters of one client, cumulative since creation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WsStats {
    /// Successful connects (initial, reconnects, age replacements).
    pub connects: u64,
    /// Connections lost.
    pub disconnects: u64,
    /// Failed connect attempts.
    pub connect_failures: u64,
    /// Data frames received (text or binary).
    pub frames: u64,
    /// Live ticks delivered.
    pub ticks: u64,
    /// Backfilled ticks delivered.
    pub backfilled: u64,
    /// Repeated agg ids dropped.
    pub duplicates: u64,
    /// Gaps detected.
    pub gaps: u64,
    /// Agg ids that could not be recovered.
    pub lost: u64,
    /// bookTicker records delivered.
    pub books: u64,
    /// bookTicker frames dropped because their update id was not newer than the last.
    pub stale_books: u64,
    /// Depth diffs applied to a local book.
    pub depth_applied: u64,
    /// Local book resyncs (breaks).
    pub book_resyncs: u64,
    /// Frames rejected by the parser.
    pub malformed: u64,
    /// Well-formed frames without an event type (subscription replies, error frames).
    pub control: u64,
    /// Events of types this client does not use.
    pub other_events: u64,
}

/// Stops a running [`MarketWs::run`] from anywhere (another task or thread).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<watch::Sender<bool>>);

impl StopHandle {
    /// Asks the client to stop; `run` returns promptly (held trades are not emitted, so
    /// a restart resumes from the last delivered id).
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
    /// True once stop was requested.
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }
}

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

enum OpResult {
    Connected {
        conn: usize,
        result: Result<Box<WsStream>>,
    },
    Backfill {
        sym: u32,
        from: u64,
        to: u64,
        result: (Vec<RestAggTrade>, Option<ExchangeError>),
    },
    Snapshot {
        sym: u32,
        result: Result<DepthSnapshot>,
    },
}

type Op = Pin<Box<dyn Future<Output = OpResult> + Send>>;

/// Longest overlap of a retiring connection with its replacement.
const RETIRE_GRACE: Duration = Duration::from_secs(10);

struct Conn {
    url: String,
    ws: Option<Box<WsStream>>,
    /// The connection an age replacement superseded. It is still read until the new
    /// one delivers its first data frame, so the hand-over loses nothing (repeats are
    /// dropped by id); then, or after [`RETIRE_GRACE`], it is closed.
    retiring: Option<(Box<WsStream>, Instant)>,
    /// A connect (first, reconnect or age replacement) is in flight.
    connecting: bool,
    /// Consecutive failures, for the backoff; reset once data flows.
    attempt: u32,
    /// When to open a replacement (ahead of Binance's 24 h cut).
    replace_at: Instant,
    /// Last housekeeping tick at which a frame had arrived (the idle timer's clock).
    last_frame_at: Instant,
    /// A frame arrived since the last housekeeping tick: frames only set this flag, so
    /// the receive path reads no clock for the idle timer.
    saw_frame: bool,
}

impl Conn {
    /// A data frame arrived on the main socket: the connection is healthy.
    fn data_flows(&mut self) {
        self.saw_frame = true;
        self.attempt = 0;
        // The replacement carries data (and the old one was read until now): retire it.
        // Dropping closes the TCP connection; the server needs no close handshake.
        self.retiring = None;
    }
}

#[derive(Debug, Default)]
struct SymState {
    last_agg: Option<u64>,
    /// `u` of the last bookTicker delivered.
    last_book_u: Option<u64>,
    /// Live ticks held while a backfill is in flight (`Some` = backfilling).
    held: Option<Vec<Tick>>,
    book: Option<OrderBook>,
    snapshot_inflight: bool,
    snapshot_attempt: u32,
}

/// The market-data client. See the module docs.
#[derive(Debug)]
pub struct MarketWs {
    cfg: MarketWsConfig,
    symbols: SymbolTable,
    urls: Vec<String>,
    syms: Vec<SymState>,
    http: reqwest::Client,
    stats: WsStats,
    stop_tx: Arc<watch::Sender<bool>>,
    rng: u64,
}

/// Local receive time (CLOCK_REALTIME, ns), as the records want it.
fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn backoff_ms(cfg: &MarketWsConfig, attempt: u32, rng: &mut u64) -> u64 {
    let exp = cfg
        .backoff_base_ms
        .saturating_mul(1u64 << attempt.min(20))
        .min(cfg.backoff_max_ms);
    // xorshift64: jitter in [50 %, 100 %] so a fleet of clients does not reconnect in
    // lockstep after an outage.
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    let frac = 0.5 + 0.5 * ((*rng >> 11) as f64 / (1u64 << 53) as f64);
    ((exp as f64) * frac) as u64
}

async fn connect(url: String, delay: Duration, timeout: Duration) -> Result<Box<WsStream>> {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    // Nagle off: we only ever send pongs, and those should not wait.
    let fut = tokio_tungstenite::connect_async_with_config(url.as_str(), None, true);
    match tokio::time::timeout(timeout, fut).await {
        Ok(Ok((ws, _resp))) => Ok(Box::new(ws)),
        Ok(Err(e)) => Err(ExchangeError::WsConnection {
            url,
            source: Box::new(e),
        }),
        Err(_) => Err(ExchangeError::WsConnection {
            url,
            source: Box::new(tokio_tungstenite::tungstenite::Error::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
            )),
        }),
    }
}

async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<T> {
    let http_err = |e| ExchangeError::HttpGet {
        url: url.to_string(),
        source: e,
    };
    let resp = http.get(url).send().await.map_err(http_err)?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(http_err)?;
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        return Err(ExchangeError::HttpStatus {
            url: url.to_string(),
            status: status.as_u16(),
            body: text.chars().take(300).collect(),
        });
    }
    serde_json::from_slice(&body).map_err(|e| ExchangeError::Malformed {
        what,
        detail: e.to_string(),
    })
}

/// Fetches aggregate trades `from..=to` page by page. Returns what it got plus the error
/// that stopped it early, if any: a partial backfill is still worth emitting.
async fn fetch_agg_range(
    http: reqwest::Client,
    rest: String,
    symbol: String,
    from: u64,
    to: u64,
    retries: u32,
    base_ms: u64,
) -> (Vec<RestAggTrade>, Option<ExchangeError>) {
    let mut out: Vec<RestAggTrade> = Vec::new();
    let mut next = from;
    let mut failures = 0u32;
    while next <= to {
        let limit = (to - next + 1).min(1000);
        let url = format!("{rest}/fapi/v1/aggTrades?symbol={symbol}&fromId={next}&limit={limit}");
        let err = match get_json::<Vec<RestAggTrade>>(&http, &url, "aggTrades response").await {
            Ok(mut page) => {
                page.sort_by_key(|t| t.agg_id);
                let before = next;
                for t in page {
                    if t.agg_id < next {
                        continue;
                    }
                    if t.agg_id > to {
                        next = to + 1;
                        break;
                    }
                    next = t.agg_id + 1;
                    out.push(t);
                }
                if next > before {
                    failures = 0;
                    continue;
                }
                // REST has nothing from `next` yet (it can lag the stream by a moment).
                ExchangeError::Malformed {
                    what: "aggTrades response",
                    detail: format!("no trades from id {next} (wanted up to {to})"),
                }
            }
            Err(e) => e,
        };
        failures += 1;
        if failures > retries {
            return (out, Some(err));
        }
        tokio::time::sleep(Duration::from_millis(
            base_ms.saturating_mul(1 << failures.min(10)),
        ))
        .await;
    }
    (out, None)
}

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
    /// Validates the configuration and prepares the client (nothing is opened yet).
    pub fn new(cfg: MarketWsConfig) -> Result<Self> {
        cfg.validate()?;
        let symbols = SymbolTable::new(&cfg.symbols)?;
        let http = reqwest::Client::builder()
            .timeout(cfg.rest_timeout)
            .build()
            .map_err(|e| ExchangeError::HttpGet {
                url: cfg.rest_base_url.clone(),
                source: e,
            })?;
        let mut syms: Vec<SymState> = (0..symbols.len()).map(|_| SymState::default()).collect();
        if cfg.streams.depth {
            for s in &mut syms {
                s.book = Some(OrderBook::new());
            }
        }
        let urls = cfg.connection_urls();
        let rng = now_ns() | 1;
        Ok(MarketWs {
            cfg,
            symbols,
            urls,
            syms,
            http,
            stats: WsStats::default(),
            stop_tx: Arc::new(watch::channel(false).0),
            rng,
        })
    }

    /// The handle that stops [`run`](Self::run).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop_tx.clone())
    }

    /// Counters so far.
    pub fn stats(&self) -> WsStats {
        self.stats
    }

    /// The symbol table (ids used in the records).
    pub fn symbols(&self) -> &SymbolTable {
        &self.symbols
    }

    /// URLs of the connections, by connection index.
    pub fn connection_urls(&self) -> &[String] {
        &self.urls
    }

    /// Declares that every trade of `symbol` up to and including `agg_id` was already
    /// delivered (e.g. by a previous run of this process): the first live trade then
    /// triggers a backfill of whatever came in between, and older ids are dropped.
    pub fn set_last_agg_id(&mut self, symbol: &str, agg_id: u64) -> Result<()> {
        let id = self
            .symbols
            .symbol_id(symbol.to_ascii_uppercase().as_bytes())
            .ok_or_else(|| bad("symbols", format!("{symbol:?} is not configured")))?;
        if let Some(s) = self.syms.get_mut(id as usize) {
            s.last_agg = Some(agg_id);
        }
        Ok(())
    }

    /// Last aggregate id delivered for `symbol_id`.
    pub fn last_agg_id(&self, symbol_id: u32) -> Option<u64> {
        self.syms.get(symbol_id as usize).and_then(|s| s.last_agg)
    }

    /// The local book of `symbol_id` (depth enabled).
    pub fn book(&self, symbol_id: u32) -> Option<&OrderBook> {
        self.syms.get(symbol_id as usize)?.book.as_ref()
    }

    /// Runs until stopped: connects everything, delivers to `sink`, reconnects and
    /// backfills as needed. Connection problems are retried forever and reported as
    /// events, never returned; the client can be `run` again after a stop.
    pub async fn run<S: MarketSink + ?Sized>(&mut self, sink: &mut S) -> Result<WsStats> {
        let mut stop = self.stop_tx.subscribe();
        let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
        let now = Instant::now();
        let mut conns: Vec<Conn> = self
            .urls
            .iter()
            .map(|u| Conn {
                url: u.clone(),
                ws: None,
                retiring: None,
                connecting: true,
                attempt: 0,
                replace_at: now + self.cfg.max_connection_age,
                last_frame_at: now,
                saw_frame: false,
            })
            .collect();
        for (i, c) in conns.iter().enumerate() {
            pending.push(Box::pin(self.connect_op(i, c.url.clone(), Duration::ZERO)));
        }
        let mut housekeeping = tokio::time::interval(Duration::from_millis(100));
        housekeeping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut rr = 0usize;
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                r = stop.changed() => {
                    if r.is_err() {
                        break;
                    }
                }
                Some(op) = pending.next(), if !pending.is_empty() => {
                    self.on_op(op, &mut conns, &mut pending, sink);
                }
                (i, retiring, item) = next_message(&mut conns, &mut rr) => {
                    if retiring {
                        self.on_retiring_message(i, item, &mut conns, &mut pending, sink);
                    } else {
                        self.on_message(i, item, &mut conns, &mut pending, sink);
                    }
                }
                _ = housekeeping.tick() => {
                    self.housekeeping(&mut conns, &mut pending, sink);
                }
            }
        }
        // Held live trades are dropped on purpose: emitting them before their backfill
        // would break the order guarantee; a restart resumes from `last_agg_id`.
        for s in &mut self.syms {
            s.held = None;
            s.snapshot_inflight = false;
        }
        for c in &mut conns {
            if let Some(ws) = c.ws.as_mut() {
                let _ = tokio::time::timeout(Duration::from_millis(200), ws.close(None)).await;
            }
        }
        self.stop_tx.send_replace(false);
        Ok(self.stats)
    }

    fn connect_op(&self, conn: usize, url: String, delay: Duration) -> Op {
        let timeout = self.cfg.connect_timeout;
        Box::pin(async move {
            OpResult::Connected {
                conn,
                result: connect(url, delay, timeout).await,
            }
        })
    }

    fn schedule_reconnect(
        &mut self,
        conns: &mut [Conn],
        i: usize,
        pending: &mut FuturesUnordered<Op>,
    ) -> u64 {
        let c = &mut conns[i];
        if c.connecting {
            return 0;
        }
        let delay = backoff_ms(&self.cfg, c.attempt, &mut self.rng);
        c.attempt = c.attempt.saturating_add(1);
        c.connecting = true;
        let url = c.url.clone();
        pending.push(self.connect_op(i, url, Duration::from_millis(delay)));
        delay
    }

    fn disconnected<S: MarketSink + ?Sized>(
        &mut self,
        i: usize,
        reason: String,
        conns: &mut [Conn],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        conns[i].ws = None;
        self.stats.disconnects += 1;
        tracing::warn!(conn = i, url = %conns[i].url, %reason, "market websocket down");
        sink.on_event(WsEvent::Disconnected { conn: i, reason });
        self.schedule_reconnect(conns, i, pending);
    }

    fn on_op<S: MarketSink + ?Sized>(
        &mut self,
        op: OpResult,
        conns: &mut [Conn],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        match op {
            OpResult::Connected { conn, result } => {
                conns[conn].connecting = false;
                match result {
                    Ok(ws) => {
                        let now = Instant::now();
                        let c = &mut conns[conn];
                        // An age replacement: keep reading the old socket until the new
                        // one carries data, so there is no window without a live feed.
                        if let Some(old) = c.ws.replace(ws) {
                            c.retiring = Some((old, now));
                        }
                        c.replace_at = now + self.cfg.max_connection_age;
                        c.last_frame_at = now;
                        self.stats.connects += 1;
                        tracing::info!(conn, url = %c.url, "market websocket connected");
                        sink.on_event(WsEvent::Connected {
                            conn,
                            url: c.url.clone(),
                        });
                    }
                    Err(e) => {
                        self.stats.connect_failures += 1;
                        let error = e.to_string();
                        if conns[conn].ws.is_some() {
                            // A failed age replacement: keep the old one, retry later.
                            let retry_in_ms = self.cfg.backoff_max_ms.min(60_000);
                            conns[conn].replace_at =
                                Instant::now() + Duration::from_millis(retry_in_ms);
                            sink.on_event(WsEvent::ConnectFailed {
                                conn,
                                error,
                                retry_in_ms,
                            });
                            return;
                        }
                        let retry_in_ms = self.schedule_reconnect(conns, conn, pending);
                        tracing::warn!(conn, %error, retry_in_ms, "market websocket connect failed");
                        sink.on_event(WsEvent::ConnectFailed {
                            conn,
                            error,
                            retry_in_ms,
                        });
                    }
                }
            }
            OpResult::Backfill {
                sym,
                from,
                to,
                result,
            } => self.on_backfill(sym, from, to, result, pending, sink),
            OpResult::Snapshot { sym, result } => self.on_snapshot(sym, result, pending, sink),
        }
    }

    fn on_retiring_message<S: MarketSink + ?Sized>(
        &mut self,
        i: usize,
        item: WsItem,
        conns: &mut [Conn],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        match item {
            Some(Ok(Message::Text(t))) => self.on_frame(i, t.as_bytes(), pending, sink),
            Some(Ok(Message::Binary(b))) => self.on_frame(i, &b, pending, sink),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => conns[i].retiring = None,
            Some(Ok(_)) => {}
        }
    }

    fn on_message<S: MarketSink + ?Sized>(
        &mut self,
        i: usize,
        item: WsItem,
        conns: &mut [Conn],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        match item {
            Some(Ok(Message::Text(t))) => {
                conns[i].data_flows();
                self.on_frame(i, t.as_bytes(), pending, sink);
            }
            Some(Ok(Message::Binary(b))) => {
                conns[i].data_flows();
                self.on_frame(i, &b, pending, sink);
            }
            Some(Ok(Message::Close(f))) => {
                let reason = match f {
                    Some(f) => format!("closed by server: {} {}", f.code, f.reason),
                    None => "closed by server".to_string(),
                };
                self.disconnected(i, reason, conns, pending, sink);
            }
            // Pings: tungstenite has queued the pong; it is written on the next poll.
            Some(Ok(_)) => conns[i].saw_frame = true,
            Some(Err(e)) => self.disconnected(i, e.to_string(), conns, pending, sink),
            None => self.disconnected(i, "stream ended".into(), conns, pending, sink),
        }
    }

    fn housekeeping<S: MarketSink + ?Sized>(
        &mut self,
        conns: &mut [Conn],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let now = Instant::now();
        for i in 0..conns.len() {
            if conns[i]
                .retiring
                .as_ref()
                .is_some_and(|(_, since)| now.duration_since(*since) >= RETIRE_GRACE)
            {
                conns[i].retiring = None;
            }
            if conns[i].ws.is_none() {
                continue;
            }
            if std::mem::take(&mut conns[i].saw_frame) {
                conns[i].last_frame_at = now;
            }
            if now.duration_since(conns[i].last_frame_at) >= self.cfg.idle_timeout {
                self.disconnected(
                    i,
                    "idle timeout: no frame, not even a ping".into(),
                    conns,
                    pending,
                    sink,
                );
                continue;
            }
            let c = &mut conns[i];
            if !c.connecting && now >= c.replace_at {
                tracing::info!(
                    conn = i,
                    "replacing a market websocket ahead of the 24 h limit"
                );
                c.connecting = true;
                let url = c.url.clone();
                pending.push(self.connect_op(i, url, Duration::ZERO));
            }
        }
    }

    fn on_frame<S: MarketSink + ?Sized>(
        &mut self,
        conn: usize,
        bytes: &[u8],
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        self.stats.frames += 1;
        let recv = now_ns();
        match fast::parse_frame(bytes, &self.symbols, recv) {
            Ok(Frame::Trade(t)) => self.on_live_tick(t, pending, sink),
            Ok(Frame::Book(b, u)) => {
                // Quotes can repeat or arrive late across a connection hand-over; a
                // strategy must never see the book go back in time.
                match self.syms.get_mut(b.symbol_id as usize) {
                    Some(st) if st.last_book_u.is_some_and(|last| u <= last) => {
                        self.stats.stale_books += 1;
                    }
                    Some(st) => {
                        st.last_book_u = Some(u);
                        self.stats.books += 1;
                        sink.on_book(&b);
                    }
                    None => {}
                }
            }
            Ok(Frame::Event {
                kind: EventKind::DepthUpdate,
                enveloped,
            }) if self.cfg.streams.depth => {
                match decode_event::<DepthUpdate>(bytes, enveloped, "depthUpdate frame") {
                    Ok(d) => match self.symbols.symbol_id(d.symbol.as_bytes()) {
                        Some(sym) => self.on_depth_diff(sym, d, pending, sink),
                        None => self.malformed(
                            conn,
                            ExchangeError::Rejected {
                                what: "depthUpdate frame",
                                field: "s",
                                reason: "is not in the symbol table",
                            },
                            sink,
                        ),
                    },
                    Err(e) => self.malformed(conn, e, sink),
                }
            }
            Ok(Frame::Event { .. }) => self.stats.other_events += 1,
            Ok(Frame::Control) => self.stats.control += 1,
            Err(e) => self.malformed(conn, e, sink),
        }
    }

    fn malformed<S: MarketSink + ?Sized>(&mut self, conn: usize, e: ExchangeError, sink: &mut S) {
        self.stats.malformed += 1;
        tracing::warn!(conn, error = %e, total = self.stats.malformed, "malformed market frame skipped");
        sink.on_event(WsEvent::Malformed {
            conn,
            error: e.to_string(),
        });
    }

    /// The order/gap/duplicate logic for one live trade.
    fn on_live_tick<S: MarketSink + ?Sized>(
        &mut self,
        t: Tick,
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let sym = t.symbol_id;
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        let a = t.agg_id;
        if let Some(held) = st.held.as_mut() {
            let newest = held.last().map_or(st.last_agg, |h| Some(h.agg_id));
            if newest.is_some_and(|n| a <= n) {
                self.stats.duplicates += 1;
            } else {
                held.push(t);
            }
            return;
        }
        match st.last_agg {
            Some(last) if a <= last => self.stats.duplicates += 1,
            Some(last) if a > last + 1 => {
                let (mut from, to) = (last + 1, a - 1);
                st.held = Some(vec![t]);
                self.stats.gaps += 1;
                tracing::info!(symbol_id = sym, from, to, "aggTrade gap; backfilling");
                sink.on_event(WsEvent::GapDetected {
                    symbol_id: sym,
                    from,
                    to,
                });
                let max = self.cfg.max_backfill_ids;
                if to - from + 1 > max {
                    let keep_from = to - max + 1;
                    let lost = keep_from - from;
                    self.stats.lost += lost;
                    tracing::error!(
                        symbol_id = sym,
                        from,
                        lost,
                        "gap too large; oldest part lost"
                    );
                    sink.on_event(WsEvent::GapUnfilled {
                        symbol_id: sym,
                        from,
                        to: keep_from - 1,
                        lost,
                        error: format!("gap larger than max_backfill_ids ({max})"),
                    });
                    from = keep_from;
                    if let Some(st) = self.syms.get_mut(sym as usize) {
                        st.last_agg = Some(from - 1);
                    }
                }
                let name = self.symbols.name(sym).unwrap_or_default().to_string();
                let (http, rest) = (self.http.clone(), self.rest_base());
                let (retries, base) = (self.cfg.rest_retries, self.cfg.backoff_base_ms);
                pending.push(Box::pin(async move {
                    let result = fetch_agg_range(http, rest, name, from, to, retries, base).await;
                    OpResult::Backfill {
                        sym,
                        from,
                        to,
                        result,
                    }
                }));
            }
            _ => {
                st.last_agg = Some(a);
                self.stats.ticks += 1;
                sink.on_tick(&t);
            }
        }
    }

    fn rest_base(&self) -> String {
        self.cfg.rest_base_url.trim_end_matches('/').to_string()
    }

    fn on_backfill<S: MarketSink + ?Sized>(
        &mut self,
        sym: u32,
        from: u64,
        to: u64,
        (items, err): (Vec<RestAggTrade>, Option<ExchangeError>),
        pending: &mut FuturesUnordered<Op>,
        sink: &mut S,
    ) {
        let Some(st) = self.syms.get_mut(sym as usize) else {
            return;
        };
        let Some(held) = st.held.take() else {
            return; // stopped and restarted meanwhile
        };
        let recv = now_ns();
        let mut n = 0u64;
        let mut first_hole: Option<u64> = None;
        let mut lost = 0u64;
        let mut last = st.last_agg.unwrap_or(from.saturating_sub(1));
        for it in &items {
            if it.agg_id < from || it.agg_id > to || it.agg_id <= last {
                continue;
            }
            let tick = match it.to_tick(sym, recv) {
                Ok(t) => t,
                Err(e) => {
                    self.stats.malformed += 1;
                    tracing::warn!(symbol_id = sym, agg_id = it.agg_id, error = %e, "bad backfilled trade");
                    continue; // reported below as a hole
                }
            };
            if it.agg_id > last + 1 {
                first_hole.get_or_insert(last + 1);
                lost += it.agg_id - last - 1;
            }
            last = it.agg_id;
            n += 1;
            sink.on_tick(&tick);
        }
        if last < to {
            first_hole.get_or_insert(last + 1);
            lost += to - last;
        }
        self.stats.backfilled += n;
        let st = &mut self.syms[sym as usize];
        st.last_agg = Some(to.max(st.last_agg.unwrap_or(0)));
        if n > 0 {
            sink.on_event(WsEvent::GapBackfilled { symbol_id: sym, n });
        }
        if let Some(h) = first_hole {
            self.stats.lost += lost;
            let error = match err {
                Some(e) => e.to_string(),
                None => "REST history does not have these ids".into(),
            };
            tracing::error!(symbol_id = sym, from = h, to, lost, %error, "aggTrades lost");
            sink.on_event(WsEvent::GapUnfilled {
                symbol_id: sym,
                from: h,
                to,
                lost,
                error,
            });
        }
        for t in held {
            self.on_live_tick(t, pending, sink);
        }
    }

    fn request_snapshot(&mut self, sym: u32, pending: &mut FuturesUnordered<Op>) {
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

    fn on_depth_diff<S: MarketSink + ?Sized>(
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

    fn on_snapshot<S: MarketSink + ?Sized>(
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

/// One item read from a socket.
type WsItem = Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>;

/// Next item from any live (or retiring) connection, polling them round-robin so one
/// busy connection cannot starve the others. Returns (index, from the retiring socket,
/// item).
async fn next_message(conns: &mut [Conn], rr: &mut usize) -> (usize, bool, WsItem) {
    std::future::poll_fn(|cx| {
        let n = conns.len();
        for k in 0..n {
            let i = (*rr + k) % n;
            let c = &mut conns[i];
            if let Some(ws) = c.ws.as_mut() {
                if let Poll::Ready(item) = ws.poll_next_unpin(cx) {
                    *rr = (i + 1) % n;
                    return Poll::Ready((i, false, item));
                }
            }
            if let Some((ws, _)) = c.retiring.as_mut() {
                if let Poll::Ready(item) = ws.poll_next_unpin(cx) {
                    *rr = (i + 1) % n;
                    return Poll::Ready((i, true, item));
                }
            }
        }
        Poll::Pending
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MarketWsConfig {
        MarketWsConfig {
            ws_base_url: "ws://127.0.0.1:9/".into(),
            rest_base_url: "http://127.0.0.1:9".into(),
            symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
            ..Default::default()
        }
    }

    #[test]
    fn urls_per_symbol_and_combined_legacy_and_split() {
        let mut c = cfg();
        c.paths = PathCategory::Legacy;
        assert_eq!(
            c.connection_urls(),
            vec![
                "ws://127.0.0.1:9/ws/btcusdt@aggTrade/btcusdt@bookTicker",
                "ws://127.0.0.1:9/ws/ethusdt@aggTrade/ethusdt@bookTicker",
            ]
        );
        c.paths = PathCategory::Split;
        c.streams.depth = true;
        assert_eq!(
            c.connection_urls(),
            vec![
                "ws://127.0.0.1:9/market/ws/btcusdt@aggTrade",
                "ws://127.0.0.1:9/public/ws/btcusdt@bookTicker/btcusdt@depth@100ms",
                "ws://127.0.0.1:9/market/ws/ethusdt@aggTrade",
                "ws://127.0.0.1:9/public/ws/ethusdt@bookTicker/ethusdt@depth@100ms",
            ]
        );
        c.combined = true;
        c.depth_speed = DepthSpeed::Ms250;
        assert_eq!(
            c.connection_urls(),
            vec![
                "ws://127.0.0.1:9/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade",
                "ws://127.0.0.1:9/public/stream?streams=btcusdt@bookTicker/btcusdt@depth/ethusdt@bookTicker/ethusdt@depth",
            ]
        );
        c.max_streams_per_connection = 3;
        let u = c.connection_urls();
        assert_eq!(u.len(), 3);
        assert!(u[2].ends_with("streams=ethusdt@depth"));
    }

    #[test]
    fn bad_configs_name_the_key() {
        let key = |c: MarketWsConfig| match MarketWs::new(c) {
            Err(ExchangeError::Config { key, .. }) => key,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            key(MarketWsConfig {
                ws_base_url: "http://x".into(),
                ..cfg()
            }),
            "ws_base_url"
        );
        assert_eq!(
            key(MarketWsConfig {
                symbols: vec![],
                ..cfg()
            }),
            "symbols"
        );
        assert_eq!(
            key(MarketWsConfig {
                symbols: vec!["BTC-USDT".into()],
                ..cfg()
            }),
            "symbols"
        );
        assert_eq!(
            key(MarketWsConfig {
                streams: StreamSet {
                    agg_trade: false,
                    book_ticker: false,
                    depth: false
                },
                ..cfg()
            }),
            "streams"
        );
        assert_eq!(
            key(MarketWsConfig {
                depth_snapshot_limit: 7,
                ..cfg()
            }),
            "depth_snapshot_limit"
        );
        assert_eq!(
            key(MarketWsConfig {
                backoff_base_ms: 0,
                ..cfg()
            }),
            "backoff_base_ms"
        );
        let mut ws = MarketWs::new(cfg()).unwrap();
        assert!(ws.set_last_agg_id("ethusdt", 5).is_ok());
        assert_eq!(ws.last_agg_id(1), Some(5));
        assert!(ws.set_last_agg_id("SOLUSDT", 5).is_err());
    }

    #[test]
    fn backoff_grows_with_jitter_and_caps() {
        let c = MarketWsConfig {
            backoff_base_ms: 100,
            backoff_max_ms: 1000,
            ..cfg()
        };
        let mut rng = 12345u64;
        for attempt in 0..12 {
            let full = (100u64 << attempt).min(1000);
            for _ in 0..50 {
                let d = backoff_ms(&c, attempt, &mut rng);
                assert!(d >= full / 2 && d <= full, "{attempt}: {d}");
            }
        }
    }

    struct Collect(Vec<Tick>, Vec<WsEvent>);
    impl MarketSink for Collect {
        fn on_tick(&mut self, t: &Tick) {
            self.0.push(*t);
        }
        fn on_event(&mut self, e: WsEvent) {
            self.1.push(e);
        }
    }

    fn tick(a: u64) -> Tick {
        Tick {
            agg_id: a,
            price: 1.0,
            qty: 1.0,
            ..Tick::default()
        }
    }

    fn rest(a: u64) -> RestAggTrade {
        RestAggTrade {
            agg_id: a,
            price: 1.0,
            qty: 1.0,
            first_trade_id: a,
            last_trade_id: a,
            trade_time: 1,
            buyer_is_maker: false,
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn gap_logic_holds_live_trades_until_the_backfill_lands() {
        let mut ws = MarketWs::new(cfg()).unwrap();
        let mut sink = Collect(Vec::new(), Vec::new());
        let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
        for a in [10, 11, 11, 9, 15, 14, 16, 16, 17] {
            ws.on_live_tick(tick(a), &mut pending, &mut sink);
        }
        // 10, 11 delivered; 11 and 9 repeats; 15 opened a gap 12..=14; 14 (<15) and
        // the second 16 dropped; 15, 16, 17 held.
        assert_eq!(
            sink.0.iter().map(|t| t.agg_id).collect::<Vec<_>>(),
            vec![10, 11]
        );
        assert_eq!(pending.len(), 1);
        assert_eq!(ws.stats.duplicates, 4);
        assert_eq!(
            sink.1,
            vec![WsEvent::GapDetected {
                symbol_id: 0,
                from: 12,
                to: 14
            }]
        );
        // The backfill lands with 12 and 14 only (13 lost), plus junk outside the range.
        ws.on_backfill(
            0,
            12,
            14,
            (vec![rest(11), rest(12), rest(14), rest(15)], None),
            &mut pending,
            &mut sink,
        );
        let ids: Vec<(u64, u8)> = sink.0.iter().map(|t| (t.agg_id, t.flags)).collect();
        let b = Tick::FLAG_BACKFILL;
        assert_eq!(
            ids,
            vec![
                (10, 0),
                (11, 0),
                (12, b),
                (14, b),
                (15, 0),
                (16, 0),
                (17, 0)
            ]
        );
        assert!(sink
            .1
            .contains(&WsEvent::GapBackfilled { symbol_id: 0, n: 2 }));
        assert!(sink.1.iter().any(|e| matches!(
            e,
            WsEvent::GapUnfilled {
                from: 13,
                to: 14,
                lost: 1,
                ..
            }
        )));
        assert_eq!(ws.last_agg_id(0), Some(17));
        assert_eq!(ws.stats.lost, 1);
    }

    struct Books(Vec<BookTop>, usize);
    impl MarketSink for Books {
        fn on_tick(&mut self, _t: &Tick) {}
        fn on_book(&mut self, b: &BookTop) {
            self.0.push(*b);
        }
        fn on_event(&mut self, e: WsEvent) {
            if matches!(e, WsEvent::Malformed { .. }) {
                self.1 += 1;
            }
        }
    }

    #[test]
    fn older_or_repeated_book_tickers_are_dropped_and_bad_frames_counted() {
        let mut ws = MarketWs::new(cfg()).unwrap();
        let mut sink = Books(Vec::new(), 0);
        let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
        let frame = |u: u64, bid: &str| {
            format!(
                r#"{{"e":"bookTicker","u":{u},"E":1,"T":1,"s":"ETHUSDT","b":"{bid}","B":"1","a":"9","A":"1"}}"#
            )
        };
        for (u, bid) in [(10, "1"), (10, "2"), (9, "3"), (11, "4")] {
            ws.on_frame(0, frame(u, bid).as_bytes(), &mut pending, &mut sink);
        }
        ws.on_frame(0, b"{\"e\":\"bookTicker\"", &mut pending, &mut sink);
        ws.on_frame(0, br#"{"result":null,"id":1}"#, &mut pending, &mut sink);
        let bids: Vec<f64> = sink.0.iter().map(|b| b.bid_px).collect();
        assert_eq!(bids, vec![1.0, 4.0]);
        assert!(sink.0.iter().all(|b| b.symbol_id == 1));
        let st = ws.stats();
        assert_eq!(
            (st.books, st.stale_books, st.malformed, st.control),
            (2, 2, 1, 1)
        );
        assert_eq!(sink.1, 1);
        assert_eq!(st.frames, 6);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_huge_gap_backfills_only_the_most_recent_ids() {
        let mut ws = MarketWs::new(MarketWsConfig {
            max_backfill_ids: 3,
            ..cfg()
        })
        .unwrap();
        let mut sink = Collect(Vec::new(), Vec::new());
        let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
        ws.on_live_tick(tick(100), &mut pending, &mut sink);
        ws.on_live_tick(tick(111), &mut pending, &mut sink);
        assert!(sink.1.contains(&WsEvent::GapUnfilled {
            symbol_id: 0,
            from: 101,
            to: 107,
            lost: 7,
            error: "gap larger than max_backfill_ids (3)".into()
        }));
        ws.on_backfill(
            0,
            108,
            110,
            ((105..=110).map(rest).collect(), None),
            &mut pending,
            &mut sink,
        );
        let ids: Vec<u64> = sink.0.iter().map(|t| t.agg_id).collect();
        assert_eq!(ids, vec![100, 108, 109, 110, 111]);
        assert_eq!(ws.stats.lost, 7);
    }
}
