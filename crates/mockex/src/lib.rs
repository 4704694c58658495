//! The mock Binance USD-M futures exchange: the offline default venue.
//!
//! One loopback port serves the REST API (`/fapi/...`), the market streams (`/ws/...`,
//! `/stream?streams=...`, also under `/public`, `/market`, `/private`) and the user-data
//! stream, speaking the wire protocol of `shared/binance-usdm.md`. The market is either a
//! replay of recorded data (`MockConfig::data`) or a seeded synthetic market; orders fill
//! against that tape and book, with fees, positions and margin checks.
//!
//! # Klines
//!
//! `GET /fapi/v1/klines`, `GET /fapi/v1/ticker/24hr` and `<symbol>@kline_<interval>`
//! are aggregated from the mock's own tape (see [`klines`]); the synthetic market adds
//! [`MockConfig::history_minutes`] of seeded history before its start, drawn from its own
//! price process and generated on first use ([`MockHandle::klines_ready`]).
//!
//! # Test hooks
//!
//! Under `/mock/` (no key, no signature) and on [`MockHandle`]:
//!
//! - `GET /mock/orders` ([`MockHandle::attempts_json`]): the **attempt log**, every
//!   order attempt the exchange judged, accepted or refused, in attempt order: each
//!   `POST /fapi/v1/order`, each item of `POST /fapi/v1/batchOrders`, each
//!   `POST /fapi/v1/algoOrder`, and the orders the exchange generates itself (the order
//!   a triggered algo order places, a liquidation). One entry:
//!   ```json
//!   {"time":1784621536001,"endpoint":"POST /fapi/v1/order","accepted":true,
//!    "clientOrderId":"x-1","symbol":"BTCUSDT","side":"BUY","type":"MARKET",
//!    "quantity":"0.002","price":null,"reduceOnly":false,"closePosition":false,
//!    "orderId":8389765500000000007}
//!   ```
//!   A refused attempt has `"accepted":false` and `"code"`/`"msg"` (Binance's) instead
//!   of `"orderId"`. `endpoint` is `POST /fapi/v1/order`, `POST /fapi/v1/batchOrders`,
//!   `POST /fapi/v1/algoOrder`, `ALGO_TRIGGER` or `LIQUIDATION`. An algo attempt also
//!   has `"clientAlgoId"` (equal to `clientOrderId`), `"triggerPrice"` and, accepted,
//!   `"algoId"`; an `ALGO_TRIGGER` attempt names its algo order in `"algoId"`. Text
//!   fields are as sent (`null` when not sent); a request without a client id is logged
//!   under the id the exchange generated. Requests refused before the matching engine
//!   (rate limit, signature, timestamp) are not attempts and are not logged.
//!
//!   **A client order id can appear more than once**: a refused attempt (e.g. -4116, or
//!   -2019 then a retry) and, as on Binance, a new order reusing the id of an order that
//!   is already filled, cancelled or expired. A test that asserts "no duplicate send"
//!   should look at `accepted` entries (or at `GET /mock/accepted`) and decide whether a
//!   reuse after completion is a fault for it.
//! - `GET /mock/accepted`, also `GET /mock/orders?accepted=true`
//!   ([`MockHandle::accepted_json`], [`MockHandle::orders_json`],
//!   [`MockHandle::orders`]): every accepted order as it is now (the `GET
//!   /fapi/v1/order` shape), in acceptance order: the shape `GET /mock/orders` had
//!   before the attempt log.
//! - `GET /mock/algoOrders`: every algo order ever placed, in the
//!   `GET /fapi/v1/algoOrder` shape (with `algoStatus`, `actualOrderId`).
//! - `POST /mock/liquidate` `{"symbol":"BTCUSDT"}` ([`MockHandle::liquidate`]): closes
//!   the whole position at the current (mark) price like Binance's liquidation engine:
//!   an order with client id `autoclose-<ms>`, `o`/`ot` `LIQUIDATION`, one
//!   ORDER_TRADE_UPDATE `x:"TRADE"`, `X:"FILLED"` (no NEW) with the clearance fee
//!   (1.25 %) as commission, then ACCOUNT_UPDATE `m:"ORDER"`. Answers the order (REST
//!   order shape); -1000 when there is no position, -1121 for an unknown symbol. Resting
//!   orders and algo orders stay: a reduce-only / closePosition stop that triggers later
//!   EXPIRES (ALGO_UPDATE with `rm`).
//! - `POST /mock/fault` (see [`Fault`]), among them:
//!   - `{"kind":"move_price","symbol":"BTCUSDT","pct":-2.0}` ([`MockHandle::move_price`]):
//!     shifts the synthetic market's price level by `pct` % from now on — the book is
//!     re-centred at once, trades and marks follow — so a resting stop triggers
//!     deterministically (CONTRACT_PRICE on the next trade, MARK_PRICE at the next whole
//!     second of data time). Replay mode answers -1000.
//!   - `{"kind":"funding","rate":0.0001}` ([`MockHandle::settle_funding`]): settles
//!     funding now on every open position at the mark price, one ACCOUNT_UPDATE
//!     `m:"FUNDING_FEE"` each (balance only for cross margin).
//!   - `{"kind":"expire_listen_keys"}`: every listenKey lapses now.
//! - `GET /mock/positions`, `GET /mock/status`.
//!
//! # listenKeys
//!
//! A key lives [`MockConfig::listen_key_ttl`] after its last `POST` / `PUT`. When it
//! lapses its connections get `{"e":"listenKeyExpired","E":..,"listenKey":..}` and are
//! closed; a keepalive `PUT` then answers -1125 and a `POST` creates a new key.

pub mod api_error;
pub mod book;
pub mod bus;
pub mod config;
pub mod engine;
pub mod error;
pub mod faults;
pub mod feed;
pub mod klines;
pub mod replay;
pub mod rest;
mod seeded;
pub mod spec;
pub mod synth;
mod ws;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

pub use config::{MockConfig, Speed};
pub use engine::{Attempt, Endpoint, Order, Outcome};
pub use error::{MockError, Result};
pub use faults::Fault;
pub use feed::{aggregate_trades, AggTrade, RawTrade};

use api_error::ApiError;
use bus::{Outbox, Subs, UserMsg};
use engine::Engine;
use faults::RestFaults;
use feed::FeedEvent;
use replay::Universe;
use spec::SymbolSpec;
use synth::Synth;

/// Market fan-out capacity; a connection that falls this far behind is dropped, as
/// Binance drops slow consumers.
const MARKET_CAPACITY: usize = 1 << 16;

/// State shared by the HTTP handlers, websocket connections and background tasks.
#[derive(Debug)]
pub(crate) struct Shared {
    pub cfg: MockConfig,
    pub specs: Vec<SymbolSpec>,
    pub engine: Mutex<Engine>,
    pub out: Outbox,
    pub rate: Mutex<rest::RateState>,
    pub rest_faults: Mutex<RestFaults>,
    /// Bumped to close every websocket connection.
    pub drop_gen: watch::Sender<u64>,
    /// Bumped when a listenKey is deleted.
    pub key_closed: watch::Sender<u64>,
    /// listenKey → expiry.
    pub listen_keys: Mutex<HashMap<String, Instant>>,
    /// A market-stream client arrived (starts a waiting replay).
    pub market_client: Notify,
    /// The market is the synthetic one (price moves can be injected).
    pub synthetic: bool,
    /// Price moves injected by tests, (symbol index, percent), for the feed to apply.
    pub moves: Mutex<Vec<(usize, f64)>>,
    /// Wakes the feed when a move is injected.
    pub feed_wake: Notify,
    /// Server stopping.
    pub stop: watch::Sender<bool>,
    /// The synthetic market's seeded kline history, per symbol (empty in replay).
    pub(crate) history: Vec<seeded::HistorySlot>,
}

enum Source {
    Replay(std::vec::IntoIter<FeedEvent>),
    Synth(Box<Synth>),
}

fn build(cfg: MockConfig) -> Result<(Arc<Shared>, Source)> {
    if cfg.api_key.is_empty() || cfg.api_secret.is_empty() {
        return Err(MockError::Config {
            key: "api_key",
            reason: "API key and secret must not be empty".into(),
        });
    }
    if !matches!(cfg.fee_asset.as_str(), "USDT" | "BNB") {
        return Err(MockError::Config {
            key: "fee_asset",
            reason: format!("`{}` is neither USDT nor BNB", cfg.fee_asset),
        });
    }
    if cfg.history_minutes as usize > klines::MAX_BARS {
        return Err(MockError::Config {
            key: "history_minutes",
            reason: format!(
                "{} is more than the {} minutes (7 days) of bars the mock keeps",
                cfg.history_minutes,
                klines::MAX_BARS
            ),
        });
    }
    let mut uni = Universe::from_names(&cfg.symbols)?;
    let mut history = Vec::new();
    let mut opening: Vec<(u64, i64)> = Vec::new();
    let (source, init) = if cfg.data.is_empty() {
        let start = rest::now_ms();
        let (s, init) = Synth::new(&uni.specs, cfg.seed, cfg.trades_per_sec, start);
        let starts = s.starts();
        opening = uni
            .specs
            .iter()
            .zip(&starts)
            .map(|(spec, st)| (start, synth::bid_for(spec, st.mid)))
            .collect();
        history = seeded::slots(&uni.specs, &starts, cfg.seed, start, cfg.history_minutes);
        (Source::Synth(Box::new(s)), init)
    } else {
        let events = replay::load_replay(&cfg.data, &mut uni, cfg.seed)?;
        tracing::info!(
            events = events.len(),
            files = cfg.data.len(),
            "replay data loaded"
        );
        (Source::Replay(events.into_iter()), Vec::new())
    };
    let (market, _) = broadcast::channel(MARKET_CAPACITY);
    let (user, _) = broadcast::channel(4096);
    let out = Outbox {
        market,
        user,
        subs: Arc::new(Subs::default()),
    };
    let mut engine = Engine::new(&uni.specs, &cfg, out.clone());
    for ev in init {
        engine.apply(ev);
    }
    for (i, (t, bid)) in opening.into_iter().enumerate() {
        engine.open_klines(i, t, bid);
    }
    let sh = Shared {
        specs: uni.specs.clone(),
        engine: Mutex::new(engine),
        out,
        rate: Mutex::new(rest::RateState::default()),
        rest_faults: Mutex::new(RestFaults::default()),
        drop_gen: watch::channel(0).0,
        key_closed: watch::channel(0).0,
        listen_keys: Mutex::new(HashMap::new()),
        market_client: Notify::new(),
        synthetic: matches!(source, Source::Synth(_)),
        moves: Mutex::new(Vec::new()),
        feed_wake: Notify::new(),
        stop: watch::channel(false).0,
        history,
        cfg,
    };
    Ok((Arc::new(sh), source))
}

fn router(sh: Arc<Shared>) -> axum::Router {
    use axum::routing::get;
    let mut r = axum::Router::new();
    for prefix in ["", "/public", "/market", "/private"] {
        r = r
            .route(&format!("{prefix}/ws"), get(ws::upgrade))
            .route(&format!("{prefix}/ws/{{*rest}}"), get(ws::upgrade))
            .route(&format!("{prefix}/stream"), get(ws::upgrade));
    }
    r.fallback(rest::handle).with_state(sh)
}

async fn run(
    sh: Arc<Shared>,
    source: Source,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map_err(|e| MockError::Io {
        what: "local_addr".into(),
        source: e,
    })?;
    tracing::info!(%addr, symbols = ?sh.specs.iter().map(|s| s.symbol).collect::<Vec<_>>(), "mock exchange listening");
    let feed = tokio::spawn(run_feed(sh.clone(), source));
    let keys = tokio::spawn(expire_keys(sh.clone()));
    let stop_sh = sh.clone();
    let res = axum::serve(listener, router(sh.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            let _ = stop_sh.stop.send(true);
        })
        .await;
    let _ = sh.stop.send(true);
    feed.abort();
    keys.abort();
    res.map_err(|e| MockError::Io {
        what: format!("serving {addr}"),
        source: e,
    })
}

/// Runs the mock exchange until `shutdown` completes.
pub async fn serve(
    cfg: MockConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listen = cfg.listen;
    let (sh, source) = build(cfg)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| MockError::Io {
        what: format!("bind {listen}"),
        source: e,
    })?;
    run(sh, source, listener, shutdown).await
}

/// Binds (port 0 allowed) and runs the mock exchange in the background.
pub async fn spawn(cfg: MockConfig) -> Result<MockHandle> {
    let listen = cfg.listen;
    let (sh, source) = build(cfg)?;
    let listener = TcpListener::bind(listen).await.map_err(|e| MockError::Io {
        what: format!("bind {listen}"),
        source: e,
    })?;
    let addr = listener.local_addr().map_err(|e| MockError::Io {
        what: "local_addr".into(),
        source: e,
    })?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(run(sh.clone(), source, listener, async move {
        let _ = rx.await;
    }));
    Ok(MockHandle {
        addr,
        shared: sh,
        stop: Some(tx),
        task: Some(task),
    })
}

/// A running mock exchange. Dropping it stops the server.
#[derive(Debug)]
pub struct MockHandle {
    /// Where it listens.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<()>>>,
}

impl MockHandle {
    /// `http://addr`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// `ws://addr`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }
    /// Stops the server (connections are closed).
    pub fn shutdown(mut self) {
        self.signal_stop();
    }
    /// Stops the server and waits until it has finished.
    pub async fn shutdown_and_wait(mut self) -> Result<()> {
        self.signal_stop();
        match self.task.take() {
            Some(t) => t.await.unwrap_or(Ok(())),
            None => Ok(()),
        }
    }
    fn signal_stop(&mut self) {
        let _ = self.shared.stop.send(true);
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
    /// Injects a fault; one that cannot apply (see [`MockHandle::try_inject`]) is
    /// logged and ignored.
    pub fn inject(&self, f: Fault) {
        if let Err(e) = inject(&self.shared, f) {
            tracing::warn!(code = e.code, "fault refused: {}", e.msg);
        }
    }
    /// Injects a fault, or says why it cannot apply (a price move in replay mode: -1000;
    /// an unknown symbol: -1121).
    pub fn try_inject(&self, f: Fault) -> std::result::Result<(), ApiError> {
        inject(&self.shared, f)
    }
    /// Shifts the synthetic market's price level of `symbol` by `pct` percent
    /// ([`Fault::MovePrice`]).
    pub fn move_price(&self, symbol: &str, pct: f64) -> std::result::Result<(), ApiError> {
        self.try_inject(Fault::MovePrice {
            symbol: symbol.to_string(),
            pct,
        })
    }
    /// Settles funding now at `rate` on every open position ([`Fault::Funding`]).
    pub fn settle_funding(&self, rate: f64) -> std::result::Result<(), ApiError> {
        self.try_inject(Fault::Funding { rate })
    }
    /// Liquidates the whole position on `symbol` at the current price, as Binance's
    /// liquidation engine does (`POST /mock/liquidate`); returns the liquidation order.
    pub fn liquidate(&self, symbol: &str) -> std::result::Result<Value, ApiError> {
        self.shared
            .engine
            .lock()
            .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?
            .liquidate(symbol)
    }
    /// Closes every websocket connection.
    pub fn drop_connections(&self) {
        self.inject(Fault::DropConnections);
    }
    /// The next `count` REST requests answer `status` (429, 418, or 503 after executing).
    pub fn fail_next(&self, status: u16, count: u32) {
        self.inject(Fault::RestStatus { status, count });
    }
    /// Adds latency to every REST request.
    pub fn set_delay(&self, d: Duration) {
        self.inject(Fault::Delay {
            ms: d.as_millis() as u64,
        });
    }
    /// Sends malformed frames on every market connection.
    pub fn inject_malformed(&self, count: u32) {
        self.inject(Fault::MalformedFrames { count });
    }
    /// Leaves the next `count` aggTrades off the websocket (REST history keeps them).
    pub fn drop_agg_trades(&self, count: u64) {
        self.inject(Fault::DropAggTrades { count });
    }
    /// Every order the mock accepted (REST, triggered algo orders, liquidations), as it
    /// is now, in acceptance order.
    pub fn orders(&self) -> Vec<Order> {
        self.shared
            .engine
            .lock()
            .map(|e| e.orders())
            .unwrap_or_default()
    }
    /// The accepted orders as JSON (`GET /mock/accepted`, also
    /// `GET /mock/orders?accepted=true`): the shape `GET /mock/orders` had before it
    /// became the attempt log. Kept under this name for existing callers.
    pub fn orders_json(&self) -> Value {
        self.accepted_json()
    }
    /// `GET /mock/accepted`: every accepted order as it is now.
    pub fn accepted_json(&self) -> Value {
        self.shared
            .engine
            .lock()
            .map(|e| e.accepted_json())
            .unwrap_or(Value::Null)
    }
    /// The attempt log: every order attempt, accepted or refused, in attempt order.
    pub fn attempts(&self) -> Vec<Attempt> {
        self.shared
            .engine
            .lock()
            .map(|e| e.attempts().to_vec())
            .unwrap_or_default()
    }
    /// `GET /mock/orders`: the attempt log as JSON.
    pub fn attempts_json(&self) -> Value {
        self.shared
            .engine
            .lock()
            .map(|e| e.attempts_json())
            .unwrap_or(Value::Null)
    }
    /// `GET /mock/positions` as JSON.
    pub fn positions_json(&self) -> Value {
        self.shared
            .engine
            .lock()
            .map(|e| e.positions())
            .unwrap_or(Value::Null)
    }
    /// USDT wallet balance.
    pub fn wallet_balance(&self) -> f64 {
        self.shared.engine.lock().map(|e| e.wallet()).unwrap_or(0.0)
    }
    /// True once a replay has played its last event.
    pub fn replay_done(&self) -> bool {
        self.shared
            .engine
            .lock()
            .map(|e| e.replay_done)
            .unwrap_or(false)
    }
    /// Generates (once) and merges the seeded kline history of every symbol, as the
    /// first `GET /fapi/v1/klines` would; returns at once in replay or with
    /// `history_minutes` 0.
    pub async fn klines_ready(&self) {
        seeded::ensure(&self.shared, 0..self.shared.specs.len()).await;
    }
    /// The current data-clock time (ms): "now" for klines.
    pub fn data_time(&self) -> u64 {
        self.shared.engine.lock().map(|e| e.data_now()).unwrap_or(0)
    }
    /// Listed symbols.
    pub fn symbols(&self) -> Vec<String> {
        self.shared
            .specs
            .iter()
            .map(|s| s.symbol.to_string())
            .collect()
    }
}

impl Drop for MockHandle {
    fn drop(&mut self) {
        self.signal_stop();
    }
}

/// Applies a fault; refuses one that cannot apply (a price move in replay mode, an
/// unknown symbol) with a Binance-style error.
pub(crate) fn inject(sh: &Shared, f: Fault) -> std::result::Result<(), ApiError> {
    tracing::info!(fault = ?f, "fault injected");
    match f {
        Fault::DropConnections => {
            sh.drop_gen.send_modify(|g| *g += 1);
        }
        Fault::RestStatus { status, count } => {
            if let Ok(mut rf) = sh.rest_faults.lock() {
                rf.statuses
                    .extend(std::iter::repeat_n(status, count as usize));
            }
        }
        Fault::DelayPath { path, ms } => {
            if let Ok(mut rf) = sh.rest_faults.lock() {
                if ms == 0 {
                    rf.path_delay_ms.remove(&path);
                } else {
                    rf.path_delay_ms.insert(path, ms);
                }
            }
        }
        Fault::Delay { ms } => {
            if let Ok(mut rf) = sh.rest_faults.lock() {
                rf.delay_ms = ms;
            }
        }
        Fault::MalformedFrames { count } => {
            for i in 0..count {
                let text = if i % 2 == 0 {
                    r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":17"#.to_string()
                } else {
                    "\u{1}not json at all".to_string()
                };
                let _ = sh.out.market.send(bus::MarketMsg {
                    stream: Arc::from(""),
                    payload: Arc::from(text),
                    raw_all: true,
                });
            }
        }
        Fault::DropAggTrades { count } => {
            if let Ok(mut e) = sh.engine.lock() {
                e.set_drop_agg_trades(count);
            }
        }
        Fault::ExpireListenKeys => {
            if let Ok(mut keys) = sh.listen_keys.lock() {
                let past = Instant::now();
                for exp in keys.values_mut() {
                    *exp = past;
                }
            }
            expire_due(sh);
        }
        Fault::MovePrice { symbol, pct } => {
            if !sh.synthetic {
                return Err(ApiError::new(
                    -1000,
                    "move_price needs the synthetic market; this mock replays recorded data.",
                ));
            }
            let sym = sh
                .specs
                .iter()
                .position(|s| s.symbol.eq_ignore_ascii_case(&symbol))
                .ok_or_else(ApiError::invalid_symbol)?;
            if !(pct.is_finite() && pct > -100.0) {
                return Err(ApiError::invalid_param("pct"));
            }
            sh.moves
                .lock()
                .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?
                .push((sym, pct));
            sh.feed_wake.notify_one();
        }
        Fault::Funding { rate } => {
            if !rate.is_finite() {
                return Err(ApiError::invalid_param("rate"));
            }
            sh.engine
                .lock()
                .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?
                .settle_funding(rate);
        }
        Fault::Clear => {
            if let Ok(mut rf) = sh.rest_faults.lock() {
                *rf = RestFaults::default();
            }
            if let Ok(mut e) = sh.engine.lock() {
                e.set_drop_agg_trades(0);
            }
        }
    }
    Ok(())
}

/// Checks the listenKeys' lifetimes (`MockConfig::listen_key_ttl`) a few times per TTL.
async fn expire_keys(sh: Arc<Shared>) {
    let period =
        (sh.cfg.listen_key_ttl / 4).clamp(Duration::from_millis(20), Duration::from_secs(1));
    let mut tick = tokio::time::interval(period);
    loop {
        tick.tick().await;
        expire_due(&sh);
    }
}

/// Forgets the lapsed listenKeys and sends each one's `listenKeyExpired` on its own
/// connections, which then close (a connection that also reads market streams or
/// another live key stays open). A keepalive for a forgotten key answers -1125; a new
/// `POST` creates a new key.
pub(crate) fn expire_due(sh: &Shared) {
    let now = Instant::now();
    let expired: Vec<String> = match sh.listen_keys.lock() {
        Ok(mut keys) => {
            let gone: Vec<String> = keys
                .iter()
                .filter(|(_, e)| **e <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for k in &gone {
                keys.remove(k);
            }
            gone
        }
        Err(_) => Vec::new(),
    };
    for k in expired {
        tracing::info!("listenKey expired");
        let payload =
            serde_json::json!({"e": "listenKeyExpired", "E": rest::now_ms(), "listenKey": k})
                .to_string();
        let _ = sh.out.user.send(UserMsg {
            event: "listenKeyExpired",
            payload: Arc::from(payload),
            only_key: Some(Arc::from(k)),
            close_key: true,
        });
    }
}

/// Plays the market: paces events by their data time divided by the speed, and ticks
/// the data clock every 50 ms so depth windows and mark prices flush during lulls. The
/// next event is only peeked while waiting for its time, so a price move injected by a
/// test (synthetic market) applies before it and every later event.
async fn run_feed(sh: Arc<Shared>, source: Source) {
    let mut stop = sh.stop.subscribe();
    let replay = matches!(source, Source::Replay(_));
    if replay && sh.cfg.replay_wait_for_client && !sh.out.subs.any() {
        tracing::info!("replay waits for the first market-stream client");
        tokio::select! {
            _ = sh.market_client.notified() => {}
            _ = stopped(&mut stop) => return,
        }
    }
    let factor = match (&source, sh.cfg.speed.factor()) {
        (_, Some(f)) => Some(f),
        (Source::Synth(_), None) => Some(1000.0),
        (Source::Replay(_), None) => None,
    };
    let wake = (!replay).then_some(&sh.feed_wake);
    let mut src = source;
    let wall0 = Instant::now();
    let mut data0: Option<u64> = None;
    let mut clock = 0u64;
    let mut n: u64 = 0;
    'feed: loop {
        if let Source::Synth(s) = &mut src {
            apply_moves(&sh, s, clock);
        }
        let next = match &src {
            Source::Replay(it) => it.as_slice().first().map(|e| e.time),
            Source::Synth(s) => s.peek_time(),
        };
        let Some(t) = next else {
            break;
        };
        let d0 = *data0.get_or_insert(t);
        if clock == 0 {
            clock = t;
        }
        while t > clock + 50 {
            clock += 50;
            match pace(factor, wall0, d0, clock, &mut stop, wake).await {
                Pace::Stop => return,
                Pace::Woken => continue 'feed,
                Pace::Due => {}
            }
            if let Ok(mut e) = sh.engine.lock() {
                e.advance(clock);
            }
        }
        match pace(factor, wall0, d0, t, &mut stop, wake).await {
            Pace::Stop => return,
            Pace::Woken => continue 'feed,
            Pace::Due => {}
        }
        clock = clock.max(t);
        // A synthetic quote update can leave the book unchanged: no events, not the end.
        let batch: Vec<FeedEvent> = match &mut src {
            Source::Replay(it) => it.next().into_iter().collect(),
            Source::Synth(s) => s.next_batch(),
        };
        if let Ok(mut e) = sh.engine.lock() {
            for ev in batch {
                e.apply(ev);
            }
        }
        n += 1;
        if factor.is_none() && n & 63 == 0 {
            // Max speed: as fast as the slowest reader drains, never lapping it.
            while sh.out.market.len() > MARKET_CAPACITY / 2 {
                if *stop.borrow() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            tokio::task::yield_now().await;
        }
    }
    if let Ok(mut e) = sh.engine.lock() {
        e.advance(clock + 1000);
        e.replay_done = true;
    }
    tracing::info!(events = n, "replay finished; the market is now quiet");
}

/// Applies the price moves injected since the last call at data time `clock`.
fn apply_moves(sh: &Shared, synth: &mut Synth, clock: u64) {
    let moves: Vec<(usize, f64)> = match sh.moves.lock() {
        Ok(mut m) => m.drain(..).collect(),
        Err(_) => return,
    };
    for (sym, pct) in moves {
        let Some(events) = synth.shift(sym, pct, clock) else {
            continue;
        };
        tracing::info!(
            symbol = sh.specs[sym].symbol,
            pct,
            "synthetic price level moved"
        );
        if let Ok(mut e) = sh.engine.lock() {
            for ev in events {
                e.apply(ev);
            }
        }
    }
}

enum Pace {
    /// Data time `t` is due.
    Due,
    /// A price move arrived while waiting.
    Woken,
    /// The server is stopping.
    Stop,
}

async fn pace(
    factor: Option<f64>,
    wall0: Instant,
    data0: u64,
    t: u64,
    stop: &mut watch::Receiver<bool>,
    wake: Option<&Notify>,
) -> Pace {
    if *stop.borrow() {
        return Pace::Stop;
    }
    let Some(f) = factor else { return Pace::Due };
    let target = wall0 + Duration::from_secs_f64(t.saturating_sub(data0) as f64 / 1000.0 / f);
    if target > Instant::now() {
        let woken = async {
            match wake {
                Some(w) => w.notified().await,
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::time::sleep_until(target) => {}
            _ = woken => return Pace::Woken,
            _ = stopped(stop) => return Pace::Stop,
        }
    }
    Pace::Due
}

/// Completes once the stop flag is set (the watch guard is dropped inside, so callers'
/// futures stay `Send`).
pub(crate) async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
