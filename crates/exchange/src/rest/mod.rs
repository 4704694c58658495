//! Binance USD-M REST client: signed requests over one pooled keep-alive connection,
//! clock-offset tracking, rate-limit bookkeeping and order-status reconciliation.
//!
//! What it guarantees, and why:
//! * **One connection pool, warmed.** Every call goes through one `reqwest::Client`
//!   (rustls, keep-alive, `TCP_NODELAY`); [`RestClient::start`] pings so the first order
//!   does not pay for TCP + TLS set-up.
//! * **Server time.** The offset to `/fapi/v1/time` is measured at start (midpoint of the
//!   round trip, best of three); [`RestClient::spawn_maintenance`] is the one way to
//!   refresh it periodically while trading ([`RestClient::sync_time`] does it once). A
//!   `-1021` answer (timestamp outside `recvWindow`) triggers one resync and one retry:
//!   the request was refused before execution, so re-sending is safe.
//! * **Rate limits.** `X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-*` are recorded from
//!   every answer with the time they were seen ([`RestClient::rate_limits`]);
//!   [`RestClient::rate_view`] sets them against exchangeInfo's limits so a caller can
//!   hold a request *before* Binance refuses it. Every call, listenKey calls included,
//!   goes through this client and is counted. HTTP 429 returns
//!   [`crate::ExchangeError::RateLimited`] and every later call is refused locally until its
//!   `Retry-After` has passed; HTTP 418 (IP ban) likewise refuses every call until the
//!   ban ends. Continuing past a 429 is what gets an IP banned.
//! * **Unknown outcomes are reconciled, never retried blindly.** A 5xx / 408, a
//!   `-1000`-class code, a transport error after the request may have left, or an
//!   unreadable 200 on an order placement means the order may or may not exist. The
//!   client then queries the order by `origClientOrderId` and returns what the exchange
//!   has ([`Placement::Reconciled`]), or [`crate::ExchangeError::NotPlaced`] when it
//!   has nothing, or [`crate::ExchangeError::ExecutionUnknown`] when it cannot tell. A
//!   conditional (algo) order is settled the same way, by `clientAlgoId`.
//! * **Errors are classified** ([`crate::ApiErrorKind`]) and keep code, message, HTTP
//!   status and endpoint.
//! * **Secrets stay secret.** The key header is marked sensitive and every credential
//!   type prints `***`.
//!
//! Layout: `config` (URLs, timeouts), `endpoints` (the endpoint table), `transport`
//! (form encoding, signing, sending, status classification), `limits` (rate-limit
//! headers, 429/418 gate), `reconcile` (unknown outcomes), `client` (construction, clock,
//! stats, maintenance), then one file per endpoint group: `market`, `klines` (history
//! and the 24-hour ticker), `orders`, `algo`, `account`, `stream_keys`.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use reqwest::header::HeaderValue;

use crate::sign::Signer;
use crate::template::OrderEncoder;

mod account;
mod algo;
mod client;
mod config;
mod endpoints;
mod klines;
mod limits;
mod market;
mod orders;
mod reconcile;
mod stream_keys;
mod transport;

pub use crate::wire::account::RateLimits;
pub use account::MarginType;
pub use algo::{AlgoOrderRequest, AlgoType};
pub use client::{ClientStats, Maintenance, MaintenanceHandle};
pub use config::{RestConfig, LIVE_URL, TESTNET_URL};
pub use klines::{klines_weight, weight_wait, KLINES_MAX_LIMIT, WEIGHT_RESERVE_PCT};
pub use limits::{same_window, RateLimitUsage, RateView};
pub use orders::{OrderRef, UserTradesQuery};
pub use reconcile::Placement;

/// Re-exported: Binance's kline interval names and lengths.
pub use crate::wire::kline::{interval_ms, interval_name, is_kline_interval, Kline, Ticker24h};

/// Re-exported: the trigger source of conditional orders (also parsed from the wire).
pub use crate::wire::enums::WorkingType;

use limits::Gate;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The REST client. Share it with `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct RestClient {
    http: reqwest::Client,
    cfg: RestConfig,
    api_key: Option<HeaderValue>,
    signer: Option<Signer>,
    /// Pre-parsed order URL: the hot path clones it instead of parsing.
    order_url: reqwest::Url,
    encoder: Mutex<Option<OrderEncoder>>,
    time_offset_ms: AtomicI64,
    last_rtt_us: AtomicU64,
    gate: Mutex<Option<Gate>>,
    weight_1m: AtomicU32,
    orders_10s: AtomicU32,
    orders_1m: AtomicU32,
    /// Server-clock ms when the weight / order-count headers were last seen (0: never).
    weight_seen_ms: AtomicU64,
    orders_seen_ms: AtomicU64,
    /// Limits from exchangeInfo (`None` until it was read).
    exchange_limits: Mutex<Option<RateLimits>>,
    time_syncs: AtomicU64,
    timestamp_retries: AtomicU64,
    reconciliations: AtomicU64,
    refused_locally: AtomicU64,
    time_sync_failures: AtomicU64,
}
