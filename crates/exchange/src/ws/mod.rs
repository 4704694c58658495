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
//!
//! Layout: `config` (what to subscribe, URLs, validation), `connection` (opening,
//! reading, reconnecting and replacing sockets; frame dispatch), `backfill` (the
//! aggregate-id order and gap logic, REST history), `depth` (local books and their
//! snapshots). The types below are what callers see.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use shmtrader_core::{BookTop, Tick};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::book::OrderBook;
use crate::error::{ExchangeError, Result};
use crate::fast::{SymbolLookup, SymbolTable};
use crate::wire::market::{DepthSnapshot, RestAggTrade};

mod backfill;
mod config;
mod connection;
mod depth;
#[cfg(test)]
mod tests;

pub use config::{DepthSpeed, MarketWsConfig, PathCategory, StreamSet};

use config::bad;

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
    /// A mark price from `markPrice@1s` (mark, index, funding rate, next funding).
    fn on_mark(&mut self, _m: &shmtrader_core::MarkPrice) {}
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
    /// Mark prices delivered.
    pub marks: u64,
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
}
