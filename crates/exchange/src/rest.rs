//! Binance USD-M REST client: signed requests over one pooled keep-alive connection,
//! clock-offset tracking, rate-limit bookkeeping and order-status reconciliation.
//!
//! What it guarantees, and why:
//! * **One connection pool, warmed.** Every call goes through one `reqwest::Client`
//!   (rustls, keep-alive, `TCP_NODELAY`); [`RestClient::start`] pings so the first order
//!   does not pay for TCP + TLS set-up.
//! * **Server time.** The offset to `/fapi/v1/time` is measured at start (midpoint of the
//!   round trip, best of three) and can be refreshed. A `-1021` answer (timestamp outside
//!   `recvWindow`) triggers one resync and one retry: the request was refused before
//!   execution, so re-sending is safe.
//! * **Rate limits.** `X-MBX-USED-WEIGHT-1M` / `X-MBX-ORDER-COUNT-*` are recorded from
//!   every answer ([`RestClient::rate_limits`]). HTTP 429 returns
//!   [`ExchangeError::RateLimited`] and every later call is refused locally until its
//!   `Retry-After` has passed; HTTP 418 (IP ban) likewise refuses every call until the
//!   ban ends. Continuing past a 429 is what gets an IP banned.
//! * **Unknown outcomes are reconciled, never retried blindly.** A 5xx / 408, a
//!   `-1000`-class code, a transport error after the request may have left, or an
//!   unreadable 200 on an order placement means the order may or may not exist. The
//!   client then queries the order by `origClientOrderId` and returns what the exchange
//!   has ([`Placement::Reconciled`]), or [`ExchangeError::NotPlaced`] when it has
//!   nothing, or [`ExchangeError::ExecutionUnknown`] when it cannot tell.
//! * **Errors are classified** ([`crate::ApiErrorKind`]) and keep code, message, HTTP
//!   status and endpoint.
//! * **Secrets stay secret.** The key header is marked sensitive and every credential
//!   type prints `***`.

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, RETRY_AFTER};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use shmtrader_core::Side;

use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::sign::{Credentials, Signer};
use crate::template::{
    OrderEncoder, OrderKind, OrderRequest, Price, Qty, RespType, SymbolTemplate, TemplateConfig,
};
use crate::wire::account::{
    truncate, Account, AlgoCancelResponse, AlgoOrderResponse, ApiErrorBody, Balance, BatchItem,
    ExchangeInfo, LeverageBrackets, LeverageResponse, ListenKey, OrderResponse, PositionRiskV2,
    PositionRiskV3, ServerTime,
};

/// Live REST base URL.
pub const LIVE_URL: &str = "https://fapi.binance.com";
/// Testnet REST base URL.
pub const TESTNET_URL: &str = "https://testnet.binancefuture.com";

/// Where and how to talk to the exchange.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Scheme + host (+ port), no trailing slash: [`LIVE_URL`], [`TESTNET_URL`] or
    /// `http://127.0.0.1:PORT` for the mock.
    pub base_url: String,
    /// Path prefix of every endpoint (`/fapi`); endpoints append `/v1/order` etc.
    /// Configurable for gateways / proxies that remount the API.
    pub api_prefix: String,
    /// `recvWindow` sent with every signed request (ms).
    pub recv_window_ms: u32,
    /// `newOrderRespType` of orders placed by this client (RESULT: a market order comes
    /// back FILLED with its average price).
    pub resp_type: RespType,
    /// Whole-request timeout. An order that times out is reconciled, not resent.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Queries made to settle an order whose outcome is unknown.
    pub reconcile_attempts: u32,
    /// Pause before each reconciliation query (the order may still be in flight).
    pub reconcile_delay: Duration,
    /// Backoff after a 429 that carries no `Retry-After` header.
    pub default_retry_after: Duration,
    /// Ban assumed after a 418 without `Retry-After` or a parsable "banned until".
    pub default_ban: Duration,
}

impl RestConfig {
    fn with_base(base: &str) -> RestConfig {
        RestConfig {
            base_url: base.trim_end_matches('/').to_string(),
            api_prefix: "/fapi".into(),
            recv_window_ms: 5000,
            resp_type: RespType::Result,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            pool_idle_timeout: Duration::from_secs(300),
            reconcile_attempts: 3,
            reconcile_delay: Duration::from_millis(200),
            default_retry_after: Duration::from_secs(10),
            default_ban: Duration::from_secs(120),
        }
    }
    /// Binance live.
    pub fn live() -> RestConfig {
        Self::with_base(LIVE_URL)
    }
    /// Binance futures testnet.
    pub fn testnet() -> RestConfig {
        Self::with_base(TESTNET_URL)
    }
    /// The mock exchange (`http://127.0.0.1:PORT`); short reconciliation pauses.
    pub fn mock(base_url: &str) -> RestConfig {
        RestConfig {
            reconcile_delay: Duration::from_millis(20),
            ..Self::with_base(base_url)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Public.
    None,
    /// API-key header only (listenKey).
    Key,
    /// API key + timestamp + signature.
    Signed,
}

/// One endpoint: method, path under the API prefix, display name, security.
#[derive(Debug, Clone, Copy)]
struct Ep {
    method: &'static str,
    path: &'static str,
    name: &'static str,
    sec: Security,
}

macro_rules! ep {
    ($m:literal, $p:literal, $s:ident) => {
        Ep {
            method: $m,
            path: $p,
            name: concat!($m, " /fapi", $p),
            sec: Security::$s,
        }
    };
}

const PING: Ep = ep!("GET", "/v1/ping", None);
const TIME: Ep = ep!("GET", "/v1/time", None);
const EXCHANGE_INFO: Ep = ep!("GET", "/v1/exchangeInfo", None);
const ORDER_NEW: Ep = ep!("POST", "/v1/order", Signed);
const ORDER_CANCEL: Ep = ep!("DELETE", "/v1/order", Signed);
const ORDER_QUERY: Ep = ep!("GET", "/v1/order", Signed);
const BATCH_ORDERS: Ep = ep!("POST", "/v1/batchOrders", Signed);
const OPEN_ORDERS: Ep = ep!("GET", "/v1/openOrders", Signed);
const CANCEL_ALL: Ep = ep!("DELETE", "/v1/allOpenOrders", Signed);
const LEVERAGE: Ep = ep!("POST", "/v1/leverage", Signed);
const MARGIN_TYPE: Ep = ep!("POST", "/v1/marginType", Signed);
const LEVERAGE_BRACKET: Ep = ep!("GET", "/v1/leverageBracket", Signed);
const POSITION_RISK_V2: Ep = ep!("GET", "/v2/positionRisk", Signed);
const POSITION_RISK_V3: Ep = ep!("GET", "/v3/positionRisk", Signed);
const BALANCE_V2: Ep = ep!("GET", "/v2/balance", Signed);
const ACCOUNT_V2: Ep = ep!("GET", "/v2/account", Signed);
const ACCOUNT_V3: Ep = ep!("GET", "/v3/account", Signed);
const ALGO_NEW: Ep = ep!("POST", "/v1/algoOrder", Signed);
const ALGO_CANCEL: Ep = ep!("DELETE", "/v1/algoOrder", Signed);
const ALGO_QUERY: Ep = ep!("GET", "/v1/algoOrder", Signed);
const ALGO_OPEN: Ep = ep!("GET", "/v1/openAlgoOrders", Signed);
const LISTEN_KEY_NEW: Ep = ep!("POST", "/v1/listenKey", Key);
const LISTEN_KEY_KEEP: Ep = ep!("PUT", "/v1/listenKey", Key);
const LISTEN_KEY_CLOSE: Ep = ep!("DELETE", "/v1/listenKey", Key);

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

/// Result of a successful order placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// The exchange answered the placement itself.
    Accepted(OrderResponse),
    /// The placement's outcome was unknown; this is what a query by
    /// `origClientOrderId` found on the exchange.
    Reconciled {
        /// The order as the exchange has it now.
        order: OrderResponse,
        /// What made the outcome unknown (`HTTP 503 code -1000`, a timeout, ...).
        cause: String,
    },
}

impl Placement {
    /// The order, either way.
    pub fn order(&self) -> &OrderResponse {
        match self {
            Placement::Accepted(o) | Placement::Reconciled { order: o, .. } => o,
        }
    }
    /// True if the answer came from reconciliation.
    pub fn was_reconciled(&self) -> bool {
        matches!(self, Placement::Reconciled { .. })
    }
}

/// Which order a cancel or query refers to.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef<'a> {
    /// Exchange order id.
    Id(u64),
    /// Client order id.
    Client(&'a str),
}

/// Margin mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginType {
    /// Isolated margin.
    Isolated,
    /// Cross margin.
    Crossed,
}

/// Conditional order types (sent through the algo endpoint since Binance's late-2025
/// migration; `/fapi/v1/order` answers them with -4120).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgoType {
    /// Market order when the trigger is hit (protective stop).
    StopMarket,
    /// Market take-profit.
    TakeProfitMarket,
    /// Limit order when the trigger is hit.
    Stop,
    /// Limit take-profit.
    TakeProfit,
}

impl AlgoType {
    fn as_str(self) -> &'static str {
        match self {
            AlgoType::StopMarket => "STOP_MARKET",
            AlgoType::TakeProfitMarket => "TAKE_PROFIT_MARKET",
            AlgoType::Stop => "STOP",
            AlgoType::TakeProfit => "TAKE_PROFIT",
        }
    }
    fn is_limit(self) -> bool {
        matches!(self, AlgoType::Stop | AlgoType::TakeProfit)
    }
}

/// Which price triggers a conditional order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkingType {
    /// Mark price (resists wicks on the last price).
    MarkPrice,
    /// Last traded price.
    ContractPrice,
}

/// A conditional (algo) order.
#[derive(Debug, Clone, Copy)]
pub struct AlgoOrderRequest<'a> {
    /// Side of the order the trigger creates.
    pub side: Side,
    /// Type.
    pub algo_type: AlgoType,
    /// Trigger price (on the tick grid).
    pub trigger_price: Price,
    /// Limit price for `Stop` / `TakeProfit`.
    pub price: Option<Price>,
    /// Quantity; `None` with `close_position`.
    pub qty: Option<Qty>,
    /// Close the whole position when triggered.
    pub close_position: bool,
    /// reduceOnly.
    pub reduce_only: bool,
    /// Trigger source.
    pub working_type: WorkingType,
    /// Refuse to trigger in a price spike beyond the exchange's protect threshold.
    pub price_protect: bool,
    /// Deterministic client id.
    pub client_algo_id: &'a str,
}

/// Form-encoded parameters for the cold endpoints.
#[derive(Debug, Default, Clone)]
struct Form(String);

impl Form {
    fn new() -> Form {
        Form(String::with_capacity(128))
    }
    fn push(&mut self, k: &str, v: &str) -> &mut Form {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(k);
        self.0.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                self.0.push(b as char);
            } else {
                self.0.push_str(&format!("%{b:02X}"));
            }
        }
        self
    }
    fn with(mut self, k: &str, v: &str) -> Form {
        self.push(k, v);
        self
    }
    fn opt(self, k: &str, v: Option<&str>) -> Form {
        match v {
            Some(v) => self.with(k, v),
            None => self,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateKind {
    RateLimited,
    Banned,
}

#[derive(Debug)]
struct Gate {
    until: Instant,
    kind: GateKind,
}

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
    time_syncs: AtomicU64,
    timestamp_retries: AtomicU64,
    reconciliations: AtomicU64,
    refused_locally: AtomicU64,
}

const NO_VALUE: u32 = u32::MAX;

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

    /// What the client did on its own.
    pub fn stats(&self) -> ClientStats {
        ClientStats {
            time_syncs: self.time_syncs.load(Ordering::Relaxed),
            timestamp_retries: self.timestamp_retries.load(Ordering::Relaxed),
            reconciliations: self.reconciliations.load(Ordering::Relaxed),
            refused_locally: self.refused_locally.load(Ordering::Relaxed),
        }
    }

    fn check_gate(&self, endpoint: &'static str) -> Result<()> {
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

    fn close_gate(&self, kind: GateKind, d: Duration) {
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

    fn note_headers(&self, h: &HeaderMap) {
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

    // ------------------------------------------------------------ transport

    fn url(&self, ep: &Ep) -> String {
        format!("{}{}{}", self.cfg.base_url, self.cfg.api_prefix, ep.path)
    }

    fn signer(&self, ep: &Ep) -> Result<&Signer> {
        self.signer.as_ref().ok_or(ExchangeError::Invalid {
            what: "credentials",
            reason: format!(
                "{} needs an API key and secret; this client has none",
                ep.name
            ),
        })
    }

    /// Sends `params` (signed if the endpoint requires it), with one resync-and-retry on
    /// -1021.
    async fn request(&self, ep: &Ep, params: Form) -> Result<Vec<u8>> {
        match self.request_once(ep, &params).await {
            Err(e)
                if ep.sec == Security::Signed && e.api_kind() == Some(ApiErrorKind::Timestamp) =>
            {
                tracing::warn!(
                    endpoint = ep.name,
                    "timestamp rejected (-1021); resyncing server time and retrying once"
                );
                self.sync_time().await?;
                self.timestamp_retries.fetch_add(1, Ordering::Relaxed);
                self.request_once(ep, &params).await
            }
            r => r,
        }
    }

    async fn request_once(&self, ep: &Ep, params: &Form) -> Result<Vec<u8>> {
        self.check_gate(ep.name)?;
        let payload = if ep.sec == Security::Signed {
            let signer = self.signer(ep)?;
            let mut f = params.clone();
            f.push("recvWindow", &self.cfg.recv_window_ms.to_string());
            f.push("timestamp", &self.timestamp_ms().to_string());
            let sig = signer.sign(&f.0);
            f.push("signature", &sig);
            f.0
        } else {
            params.0.clone()
        };
        let method = Method::from_bytes(ep.method.as_bytes()).unwrap_or(Method::GET);
        let body_in_form = matches!(ep.method, "POST" | "PUT");
        let mut url = self.url(ep);
        if !body_in_form && !payload.is_empty() {
            url.push('?');
            url.push_str(&payload);
        }
        let mut rb = self.http.request(method, url);
        if ep.sec != Security::None {
            let key = self.api_key.clone().ok_or(ExchangeError::Invalid {
                what: "credentials",
                reason: format!("{} needs an API key; this client has none", ep.name),
            })?;
            rb = rb.header("X-MBX-APIKEY", key);
        }
        if body_in_form {
            rb = rb
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(payload);
        }
        self.execute(ep.name, rb).await
    }

    async fn execute(
        &self,
        endpoint: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>> {
        let resp = rb.send().await.map_err(|e| transport(endpoint, e))?;
        let status = resp.status();
        self.note_headers(resp.headers());
        // Read before the body consumes the response; only an error needs it, so a
        // successful order does not copy its header map.
        let retry_after = if status.is_success() {
            None
        } else {
            Self::retry_after(resp.headers())
        };
        let body = resp.bytes().await.map_err(|e| transport(endpoint, e))?;
        self.check_status(endpoint, status, retry_after, &body)?;
        Ok(body.to_vec())
    }

    fn retry_after(h: &HeaderMap) -> Option<Duration> {
        h.get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// Turns a non-2xx answer into the right error (and closes the gate on 429 / 418).
    fn check_status(
        &self,
        endpoint: &'static str,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Result<()> {
        if status.is_success() {
            return Ok(());
        }
        let api: Option<ApiErrorBody> = serde_json::from_slice(body).ok();
        let msg = api
            .as_ref()
            .map(|a| a.msg.clone())
            .unwrap_or_else(|| truncate(&String::from_utf8_lossy(body), 300).to_string());
        match status.as_u16() {
            429 => {
                let retry_after = retry_after.unwrap_or(self.cfg.default_retry_after);
                self.close_gate(GateKind::RateLimited, retry_after);
                tracing::warn!(endpoint, ?retry_after, "HTTP 429: backing off");
                Err(ExchangeError::RateLimited {
                    endpoint,
                    code: api.as_ref().map_or(-1003, |a| a.code),
                    retry_after,
                    msg,
                })
            }
            418 => {
                let retry_after = retry_after
                    .or_else(|| self.ban_from_msg(&msg))
                    .unwrap_or(self.cfg.default_ban);
                self.close_gate(GateKind::Banned, retry_after);
                tracing::error!(
                    endpoint,
                    ?retry_after,
                    "HTTP 418: IP banned; every call refused until the ban ends"
                );
                Err(ExchangeError::Banned {
                    endpoint,
                    retry_after,
                    msg,
                })
            }
            s => match api {
                Some(a) => Err(ExchangeError::Api {
                    endpoint,
                    status: s,
                    code: a.code,
                    kind: ApiErrorKind::from_code(a.code),
                    msg: a.msg,
                }),
                None => Err(ExchangeError::Http {
                    endpoint,
                    status: s,
                    body: msg,
                }),
            },
        }
    }

    /// "IP banned until 1660090423228" → time left, judged on the server clock.
    fn ban_from_msg(&self, msg: &str) -> Option<Duration> {
        let i = msg.find("until ")? + "until ".len();
        let digits: String = msg[i..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        let until: i64 = digits.parse().ok()?;
        let server_now = now_ms() + self.time_offset_ms();
        (until > server_now).then(|| Duration::from_millis((until - server_now) as u64))
    }

    async fn get_json<T: DeserializeOwned>(&self, ep: &Ep, params: Form) -> Result<T> {
        let body = self.request(ep, params).await?;
        decode(ep.name, &body)
    }

    /// Any signed endpoint, for what has no typed method (e.g. `positionSide/dual`).
    /// `method` is GET / POST / PUT / DELETE; `path` is relative to the API prefix
    /// (`/v1/positionSide/dual`). Errors are classified like every other call.
    pub async fn signed_json(
        &self,
        method: &'static str,
        path: &'static str,
        params: &[(&str, &str)],
    ) -> Result<serde_json::Value> {
        let ep = Ep {
            method,
            path,
            name: "signed request",
            sec: Security::Signed,
        };
        let mut f = Form::new();
        for (k, v) in params {
            f.push(k, v);
        }
        self.get_json(&ep, f).await
    }

    // ------------------------------------------------------------ public

    /// `GET /fapi/v1/ping`: opens (or keeps) the pooled connection.
    pub async fn ping(&self) -> Result<()> {
        self.request(&PING, Form::new()).await.map(|_| ())
    }

    /// Same as [`RestClient::ping`]; named for intent.
    pub async fn warm(&self) -> Result<()> {
        self.ping().await
    }

    /// `GET /fapi/v1/time`.
    pub async fn server_time(&self) -> Result<u64> {
        let t: ServerTime = self.get_json(&TIME, Form::new()).await?;
        Ok(t.server_time)
    }

    /// `GET /fapi/v1/exchangeInfo`.
    pub async fn exchange_info(&self) -> Result<ExchangeInfo> {
        self.get_json(&EXCHANGE_INFO, Form::new()).await
    }

    // ------------------------------------------------------------ orders

    /// `POST /fapi/v1/order` from a template: checks the filters, signs in the reused
    /// buffer and sends. On an unknown outcome the order is looked up by its client id
    /// (see the module docs); on -1021 the time is resynced and the order re-signed once.
    pub async fn new_order(
        &self,
        tpl: &SymbolTemplate,
        req: &OrderRequest<'_>,
    ) -> Result<Placement> {
        let mut resynced = false;
        loop {
            self.check_gate(ORDER_NEW.name)?;
            let body = self.encode_order(tpl, req)?;
            let rb = self
                .http
                .request(Method::POST, self.order_url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            let rb = match &self.api_key {
                Some(k) => rb.header("X-MBX-APIKEY", k.clone()),
                None => rb,
            };
            let res = self
                .execute(ORDER_NEW.name, rb)
                .await
                .and_then(|b| decode::<OrderResponse>(ORDER_NEW.name, &b));
            match res {
                Ok(o) => return Ok(Placement::Accepted(o)),
                Err(e) if !resynced && e.api_kind() == Some(ApiErrorKind::Timestamp) => {
                    tracing::warn!(
                        coid = req.client_order_id,
                        "order refused with -1021; resyncing time and re-signing once"
                    );
                    resynced = true;
                    self.sync_time().await?;
                    self.timestamp_retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => match unknown_outcome(&e) {
                    Some(cause) => {
                        return self
                            .reconcile(&tpl.rules().symbol, req.client_order_id, cause)
                            .await
                    }
                    None => return Err(e),
                },
            }
        }
    }

    fn encode_order(&self, tpl: &SymbolTemplate, req: &OrderRequest<'_>) -> Result<Vec<u8>> {
        let ts = self.timestamp_ms();
        let mut guard = self.encoder.lock().map_err(|_| ExchangeError::Invalid {
            what: "order encoder",
            reason: "lock poisoned by a panic elsewhere".into(),
        })?;
        let enc = guard.as_mut().ok_or(ExchangeError::Invalid {
            what: "credentials",
            reason: "placing orders needs an API key and secret; this client has none".into(),
        })?;
        // The copy is reqwest's: it needs an owned body.
        Ok(enc.encode(tpl, req, ts)?.to_vec())
    }

    /// Looks an order whose placement outcome is unknown up by its client id.
    async fn reconcile(&self, symbol: &str, coid: &str, cause: String) -> Result<Placement> {
        tracing::warn!(symbol, coid, %cause, "order outcome unknown; reconciling by origClientOrderId");
        let order = self
            .settle(coid, &cause, || {
                self.query_order(symbol, OrderRef::Client(coid))
            })
            .await?;
        tracing::info!(symbol, coid, status = ?order.status, "order reconciled");
        Ok(Placement::Reconciled { order, cause })
    }

    /// Runs `query` up to `reconcile_attempts` times, pausing longer each time (the order
    /// may still be on its way through the exchange). Found → the order; "does not
    /// exist" on the last attempt → [`ExchangeError::NotPlaced`]; anything else →
    /// [`ExchangeError::ExecutionUnknown`].
    async fn settle<T, F, Fut>(&self, coid: &str, cause: &str, query: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.reconciliations.fetch_add(1, Ordering::Relaxed);
        let mut last: Option<ExchangeError> = None;
        for attempt in 0..self.cfg.reconcile_attempts.max(1) {
            tokio::time::sleep(self.cfg.reconcile_delay * (attempt + 1)).await;
            match query().await {
                Ok(found) => return Ok(found),
                Err(e) => last = Some(e),
            }
        }
        match last {
            Some(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                Err(ExchangeError::NotPlaced {
                    client_order_id: coid.to_string(),
                    cause: cause.to_string(),
                })
            }
            other => Err(ExchangeError::ExecutionUnknown {
                client_order_id: coid.to_string(),
                cause: cause.to_string(),
                detail: other.map_or_else(|| "no query made".into(), |e| e.to_string()),
            }),
        }
    }

    /// `POST /fapi/v1/batchOrders`: up to 5 orders in one request. Each item's result is
    /// returned in request order. An unknown outcome of the whole batch is reconciled
    /// order by order.
    pub async fn new_orders_batch(
        &self,
        orders: &[(&SymbolTemplate, OrderRequest<'_>)],
    ) -> Result<Vec<Result<Placement>>> {
        if orders.is_empty() || orders.len() > 5 {
            return Err(ExchangeError::Invalid {
                what: "batch",
                reason: format!("{} orders; Binance takes 1 to 5", orders.len()),
            });
        }
        let mut items = Vec::with_capacity(orders.len());
        for (tpl, req) in orders {
            if !crate::template::is_valid_client_order_id(req.client_order_id) {
                return Err(ExchangeError::Invalid {
                    what: "newClientOrderId",
                    reason: format!("{:?} is not a valid client order id", req.client_order_id),
                });
            }
            let r = tpl.rules();
            r.check(
                req.qty,
                req.limit_price(),
                req.reference_price,
                req.reduce_only,
            )?;
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: String| {
                o.insert(k.to_string(), serde_json::Value::String(v));
            };
            put("symbol", r.symbol.clone());
            put("side", req.side.as_str().into());
            put("type", req.kind.type_str().into());
            if let OrderKind::Limit(tif) = req.kind {
                put("timeInForce", tif.as_str().into());
                put("price", r.fmt_price(req.price));
            }
            put("quantity", r.fmt_qty(req.qty));
            if req.reduce_only {
                put("reduceOnly", "true".into());
            }
            put("newClientOrderId", req.client_order_id.into());
            put(
                "newOrderRespType",
                match self.cfg.resp_type {
                    RespType::Ack => "ACK",
                    RespType::Result => "RESULT",
                }
                .into(),
            );
            items.push(serde_json::Value::Object(o));
        }
        let json = serde_json::Value::Array(items).to_string();
        let res = self
            .request(&BATCH_ORDERS, Form::new().with("batchOrders", &json))
            .await
            .and_then(|b| decode::<Vec<BatchItem>>(BATCH_ORDERS.name, &b));
        match res {
            Ok(list) => {
                if list.len() != orders.len() {
                    return Err(ExchangeError::Malformed {
                        what: "batchOrders answer",
                        detail: format!("{} items for {} orders", list.len(), orders.len()),
                    });
                }
                Ok(list
                    .into_iter()
                    .map(|item| match item {
                        BatchItem::Order(o) => Ok(Placement::Accepted(o)),
                        BatchItem::Error(e) => Err(ExchangeError::Api {
                            endpoint: BATCH_ORDERS.name,
                            status: 200,
                            code: e.code,
                            kind: ApiErrorKind::from_code(e.code),
                            msg: e.msg,
                        }),
                    })
                    .collect())
            }
            Err(e) => match unknown_outcome(&e) {
                Some(cause) => {
                    let mut out = Vec::with_capacity(orders.len());
                    for (tpl, req) in orders {
                        out.push(
                            self.reconcile(&tpl.rules().symbol, req.client_order_id, cause.clone())
                                .await,
                        );
                    }
                    Ok(out)
                }
                None => Err(e),
            },
        }
    }

    fn order_ref(f: Form, r: OrderRef<'_>) -> Form {
        match r {
            OrderRef::Id(id) => f.with("orderId", &id.to_string()),
            OrderRef::Client(c) => f.with("origClientOrderId", c),
        }
    }

    /// `DELETE /fapi/v1/order`.
    pub async fn cancel_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_CANCEL, f).await
    }

    /// `GET /fapi/v1/order`.
    pub async fn query_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_QUERY, f).await
    }

    /// `GET /fapi/v1/openOrders` (weight 1 with a symbol, 40 without).
    pub async fn open_orders(&self, symbol: Option<&str>) -> Result<Vec<OrderResponse>> {
        self.get_json(&OPEN_ORDERS, Form::new().opt("symbol", symbol))
            .await
    }

    /// `DELETE /fapi/v1/allOpenOrders`.
    pub async fn cancel_all_open_orders(&self, symbol: &str) -> Result<ApiErrorBody> {
        self.get_json(&CANCEL_ALL, Form::new().with("symbol", symbol))
            .await
    }

    // ------------------------------------------------------------ account settings

    /// `POST /fapi/v1/leverage`.
    pub async fn set_leverage(&self, symbol: &str, leverage: u32) -> Result<LeverageResponse> {
        if !(1..=125).contains(&leverage) {
            return Err(ExchangeError::Invalid {
                what: "leverage",
                reason: format!("{leverage} is outside 1..=125"),
            });
        }
        let f = Form::new()
            .with("symbol", symbol)
            .with("leverage", &leverage.to_string());
        self.get_json(&LEVERAGE, f).await
    }

    /// `POST /fapi/v1/marginType`. Returns `false` when it already had that value
    /// (Binance's -4046 "No need to change margin type", a success in effect).
    pub async fn set_margin_type(&self, symbol: &str, m: MarginType) -> Result<bool> {
        let v = match m {
            MarginType::Isolated => "ISOLATED",
            MarginType::Crossed => "CROSSED",
        };
        let f = Form::new().with("symbol", symbol).with("marginType", v);
        match self.request(&MARGIN_TYPE, f).await {
            Ok(_) => Ok(true),
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /fapi/v1/leverageBracket` (one object with a symbol, a list without: both
    /// come back as a list).
    pub async fn leverage_brackets(&self, symbol: Option<&str>) -> Result<Vec<LeverageBrackets>> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<LeverageBrackets>),
            One(LeverageBrackets),
        }
        let r: OneOrMany = self
            .get_json(&LEVERAGE_BRACKET, Form::new().opt("symbol", symbol))
            .await?;
        Ok(match r {
            OneOrMany::Many(v) => v,
            OneOrMany::One(b) => vec![b],
        })
    }

    /// `GET /fapi/v2/positionRisk`.
    pub async fn position_risk_v2(&self, symbol: Option<&str>) -> Result<Vec<PositionRiskV2>> {
        self.get_json(&POSITION_RISK_V2, Form::new().opt("symbol", symbol))
            .await
    }

    /// `GET /fapi/v3/positionRisk` (only symbols with a position or open orders).
    pub async fn position_risk_v3(&self, symbol: Option<&str>) -> Result<Vec<PositionRiskV3>> {
        self.get_json(&POSITION_RISK_V3, Form::new().opt("symbol", symbol))
            .await
    }

    /// `GET /fapi/v2/balance`.
    pub async fn balance(&self) -> Result<Vec<Balance>> {
        self.get_json(&BALANCE_V2, Form::new()).await
    }

    /// `GET /fapi/v2/account`.
    pub async fn account(&self) -> Result<Account> {
        self.get_json(&ACCOUNT_V2, Form::new()).await
    }

    /// `GET /fapi/v3/account`.
    pub async fn account_v3(&self) -> Result<Account> {
        self.get_json(&ACCOUNT_V3, Form::new()).await
    }

    // ------------------------------------------------------------ conditional orders

    /// `POST /fapi/v1/algoOrder` with `algoType=CONDITIONAL` (stops and take-profits).
    pub async fn new_algo_order(
        &self,
        rules: &shmtrader_core::Instrument,
        req: &AlgoOrderRequest<'_>,
    ) -> Result<AlgoOrderResponse> {
        if !crate::template::is_valid_client_order_id(req.client_algo_id) {
            return Err(ExchangeError::Invalid {
                what: "clientAlgoId",
                reason: format!("{:?} is not a valid client id", req.client_algo_id),
            });
        }
        rules.check_price(req.trigger_price)?;
        let mut f = Form::new()
            .with("algoType", "CONDITIONAL")
            .with("symbol", &rules.symbol)
            .with("side", req.side.as_str())
            .with("type", req.algo_type.as_str())
            .with("triggerPrice", &rules.fmt_price(req.trigger_price))
            .with(
                "workingType",
                match req.working_type {
                    WorkingType::MarkPrice => "MARK_PRICE",
                    WorkingType::ContractPrice => "CONTRACT_PRICE",
                },
            )
            .with("clientAlgoId", req.client_algo_id);
        if req.algo_type.is_limit() {
            let p = req.price.ok_or(ExchangeError::Invalid {
                what: "algo order",
                reason: format!("{} needs a limit price", req.algo_type.as_str()),
            })?;
            rules.check_price(p)?;
            f = f
                .with("price", &rules.fmt_price(p))
                .with("timeInForce", "GTC");
        }
        match (req.close_position, req.qty) {
            (true, None) => f = f.with("closePosition", "true"),
            (false, Some(q)) => {
                rules.check_qty(q, !req.algo_type.is_limit())?;
                f = f.with("quantity", &rules.fmt_qty(q));
            }
            _ => {
                return Err(ExchangeError::Invalid {
                    what: "algo order",
                    reason: "give either a quantity or closePosition, not both or neither".into(),
                })
            }
        }
        if req.reduce_only && !req.close_position {
            f = f.with("reduceOnly", "true");
        }
        if req.price_protect {
            f = f.with("priceProtect", "true");
        }
        match self.get_json(&ALGO_NEW, f).await {
            Err(e) => match unknown_outcome(&e) {
                // A protective stop that may or may not exist: find out, never resend.
                Some(cause) => {
                    tracing::warn!(symbol = %rules.symbol, id = req.client_algo_id, %cause, "algo order outcome unknown; reconciling by clientAlgoId");
                    self.settle(req.client_algo_id, &cause, || {
                        self.get_json::<AlgoOrderResponse>(
                            &ALGO_QUERY,
                            Form::new().with("clientAlgoId", req.client_algo_id),
                        )
                    })
                    .await
                }
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// `DELETE /fapi/v1/algoOrder` by algo id.
    pub async fn cancel_algo_order(&self, algo_id: u64) -> Result<AlgoCancelResponse> {
        self.get_json(
            &ALGO_CANCEL,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `GET /fapi/v1/algoOrder` by algo id.
    pub async fn query_algo_order(&self, algo_id: u64) -> Result<AlgoOrderResponse> {
        self.get_json(
            &ALGO_QUERY,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `GET /fapi/v1/openAlgoOrders`.
    pub async fn open_algo_orders(&self, symbol: Option<&str>) -> Result<Vec<AlgoOrderResponse>> {
        self.get_json(&ALGO_OPEN, Form::new().opt("symbol", symbol))
            .await
    }

    // ------------------------------------------------------------ user stream keys

    /// `POST /fapi/v1/listenKey` (returns the active key, extended, if there is one).
    pub async fn create_listen_key(&self) -> Result<String> {
        let k: ListenKey = self.get_json(&LISTEN_KEY_NEW, Form::new()).await?;
        Ok(k.listen_key)
    }

    /// `PUT /fapi/v1/listenKey`: extends the key by 60 minutes. -1125 means it expired.
    pub async fn keepalive_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_KEEP, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
    }

    /// `DELETE /fapi/v1/listenKey`: closes the user stream.
    pub async fn close_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_CLOSE, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
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

/// A transport error without its URL: signed query strings and listenKeys stay out of
/// error messages and logs.
fn transport(endpoint: &'static str, e: reqwest::Error) -> ExchangeError {
    ExchangeError::Transport {
        endpoint,
        source: e.without_url(),
    }
}

/// Why an order placement's outcome is unknown, or `None` if the error is definite.
fn unknown_outcome(e: &ExchangeError) -> Option<String> {
    match e {
        ExchangeError::Api {
            kind: ApiErrorKind::Unknown,
            status,
            code,
            ..
        } => Some(format!("HTTP {status} code {code}")),
        ExchangeError::Api { status, code, .. } if *status >= 500 => {
            Some(format!("HTTP {status} code {code}"))
        }
        ExchangeError::Http { status, .. } if *status >= 500 || *status == 408 => {
            Some(format!("HTTP {status}"))
        }
        // Not connected means not sent; anything later (timeout, reset, body) may have
        // reached the matching engine.
        ExchangeError::Transport { source, .. } if !source.is_connect() && !source.is_builder() => {
            Some(format!("transport error: {source}"))
        }
        // A 2xx that does not parse: the exchange did accept something.
        ExchangeError::Malformed { detail, .. } => Some(format!("unreadable answer: {detail}")),
        _ => None,
    }
}

fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ExchangeError::Malformed {
        what: endpoint,
        detail: format!("{e}: {}", truncate(&String::from_utf8_lossy(body), 300)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encodes_reserved_characters() {
        let f = Form::new()
            .with("batchOrders", r#"[{"a":"b c"}]"#)
            .with("x", "a:b/c");
        assert_eq!(
            f.0,
            "batchOrders=%5B%7B%22a%22%3A%22b%20c%22%7D%5D&x=a%3Ab%2Fc"
        );
    }

    #[test]
    fn unknown_outcomes_are_recognised() {
        let api = |status, code| ExchangeError::Api {
            endpoint: "x",
            status,
            code,
            kind: ApiErrorKind::from_code(code),
            msg: String::new(),
        };
        assert!(unknown_outcome(&api(503, -1000)).is_some());
        assert!(unknown_outcome(&api(400, -1000)).is_some());
        assert!(unknown_outcome(&api(502, -1)).is_some());
        assert!(unknown_outcome(&api(400, -2019)).is_none());
        assert!(unknown_outcome(&ExchangeError::Http {
            endpoint: "x",
            status: 504,
            body: String::new()
        })
        .is_some());
        assert!(unknown_outcome(&ExchangeError::Http {
            endpoint: "x",
            status: 404,
            body: String::new()
        })
        .is_none());
    }

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
