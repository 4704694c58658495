//! The venue's I/O thread: one current-thread tokio runtime that runs the executor's
//! requests one at a time, in the order given (a later order never overtakes an
//! earlier one), forwards the user-data stream as it arrives (its own task, so no
//! frame waits for a slow request), and does the periodic work: clock re-sync and
//! exchangeInfo reloads. The listenKey is kept alive by the stream task.
//!
//! Every event handed to the executor bumps a counter and rings the executor's
//! doorbell, so its loop polls the channel only when something is there (one atomic
//! load per pass) and wakes at once from a futex wait.

use super::startup::{configure, snapshot, Startup};
use super::{
    AlgoReport, AlgoReq, BalanceReason, Command, OrderReport, OrderReq, Refusal, TradeReport,
    VenueEvent,
};
use crate::error::{Result, StageError};
use shmtrader_core::config::{Config, UserStreamLayout};
use shmtrader_core::instrument::{Instrument, Qty};
use shmtrader_exchange::rest::{
    AlgoOrderRequest, AlgoType, OrderRef, Placement, RestClient, RestConfig, UserTradesQuery,
    WorkingType as WireWorking,
};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::{OrderKind, OrderRequest, TemplateBook};
use shmtrader_exchange::user::{UserStream, UserStreamConfig, UserStreamMsg, UserStreamPath};
use shmtrader_exchange::wire::account::UserEvent;
use shmtrader_exchange::{ApiErrorKind, ExchangeError};
use shmtrader_journal::{AlgoStatus, OrderStatus, WorkingType};
use shmtrader_risk::StopKind;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::mpsc as tmpsc;

/// Wakes the executor's loop (rings its doorbell).
pub type Wake = Arc<dyn Fn() + Send + Sync>;

/// Where and how to connect.
#[derive(Clone)]
pub struct VenueSettings {
    /// `paper`, `demo`, `testnet`, `live`.
    pub mode: &'static str,
    /// REST base URL.
    pub rest_url: String,
    /// User-data stream base URL.
    pub user_ws_url: String,
    /// Its layout.
    pub user_layout: UserStreamLayout,
    /// Credentials (never printed: their Debug is `***`).
    pub credentials: Credentials,
    /// Symbols, in symbol-id order.
    pub symbols: Vec<String>,
    /// Leverage set on every symbol.
    pub leverage: u32,
    /// Margin type set on every symbol.
    pub margin: shmtrader_core::config::MarginMode,
    /// recvWindow (ms).
    pub recv_window_ms: u32,
    /// Refuse beyond this clock offset (ms).
    pub max_time_offset_ms: u64,
    /// Re-sync the clock this often.
    pub time_sync_every: Duration,
    /// Reload exchangeInfo this often.
    pub exchange_info_every: Duration,
    /// listenKey keepalive period.
    pub keepalive_every: Duration,
    /// Reconnect delay of the user stream (first; doubles).
    pub reconnect_min: Duration,
}

impl std::fmt::Debug for VenueSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueSettings")
            .field("mode", &self.mode)
            .field("rest_url", &self.rest_url)
            .field("user_ws_url", &self.user_ws_url)
            .field("credentials", &self.credentials)
            .field("symbols", &self.symbols)
            .finish_non_exhaustive()
    }
}

impl VenueSettings {
    /// From the configuration and the credentials of its mode.
    pub fn from_config(cfg: &Config, credentials: Credentials) -> VenueSettings {
        let v = &cfg.venue;
        VenueSettings {
            mode: cfg.mode.as_str(),
            rest_url: v.rest_url.clone(),
            user_ws_url: v.user_ws_url.clone(),
            user_layout: cfg.user_stream_layout(),
            credentials,
            symbols: cfg.symbols.clone(),
            leverage: cfg.risk.leverage,
            margin: cfg.risk.margin_type,
            recv_window_ms: v.recv_window_ms,
            max_time_offset_ms: v.max_time_offset_ms,
            time_sync_every: Duration::from_secs(v.time_sync_interval_s),
            exchange_info_every: Duration::from_secs(v.exchange_info_refresh_s),
            keepalive_every: Duration::from_secs(v.listen_key_keepalive_s),
            reconnect_min: Duration::from_millis(v.websocket_reconnect_delay_ms.max(10)),
        }
    }
}

/// The executor's handle on the I/O thread.
pub struct VenueHandle {
    tx: tmpsc::UnboundedSender<Command>,
    rx: mpsc::Receiver<VenueEvent>,
    pending: Arc<AtomicU64>,
    weight: Arc<AtomicU64>,
    stop: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for VenueHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VenueHandle")
            .field("pending", &self.pending.load(Ordering::Relaxed))
            .finish()
    }
}

impl VenueHandle {
    /// Starts the I/O thread and runs the start-up steps; returns when the account is
    /// known and the user-data stream is connected, or with the reason it refuses.
    pub fn connect(s: VenueSettings, wake: Wake) -> Result<(VenueHandle, Startup)> {
        let (ctx, crx) = tmpsc::unbounded_channel::<Command>();
        let (etx, erx) = mpsc::channel::<VenueEvent>();
        let (stx, srx) = mpsc::channel::<std::result::Result<Startup, Refusal>>();
        let pending = Arc::new(AtomicU64::new(0));
        let weight = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(tokio::sync::Notify::new());
        let out = Out {
            tx: etx,
            pending: pending.clone(),
            wake,
        };
        let (w2, st2) = (weight.clone(), stop.clone());
        std::thread::Builder::new()
            .name("venue-io".into())
            .spawn(move || io_main(s, crx, out, stx, w2, st2))
            .map_err(|e| StageError::io("starting the venue I/O thread", e))?;
        let startup =
            srx.recv_timeout(Duration::from_secs(90))
                .map_err(|_| StageError::VenueGone {
                    what: "no answer to the start-up steps within 90 s",
                })??;
        Ok((
            VenueHandle {
                tx: ctx,
                rx: erx,
                pending,
                weight,
                stop,
            },
            startup,
        ))
    }

    /// A handle wired to channels the caller drives (tests: a fake venue).
    pub fn from_parts(
        tx: tmpsc::UnboundedSender<Command>,
        rx: mpsc::Receiver<VenueEvent>,
        pending: Arc<AtomicU64>,
    ) -> VenueHandle {
        VenueHandle {
            tx,
            rx,
            pending,
            weight: Arc::new(AtomicU64::new(0)),
            stop: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Hands a command to the I/O thread (non-blocking).
    pub fn send(&self, cmd: Command) -> Result<()> {
        self.tx.send(cmd).map_err(|_| StageError::VenueGone {
            what: "the I/O thread is gone",
        })
    }

    /// The next event, if any (non-blocking).
    pub fn poll(&self) -> Option<VenueEvent> {
        let ev = self.rx.try_recv().ok()?;
        self.pending.fetch_sub(1, Ordering::AcqRel);
        Some(ev)
    }

    /// The next event, waiting up to `d`.
    pub fn recv_timeout(&self, d: Duration) -> Option<VenueEvent> {
        let ev = self.rx.recv_timeout(d).ok()?;
        self.pending.fetch_sub(1, Ordering::AcqRel);
        Some(ev)
    }

    /// Events are waiting. Acquire pairs with the Release increment in `Out::send`.
    pub fn pending(&self) -> bool {
        self.pending.load(Ordering::Acquire) > 0
    }

    /// The venue's last reported request weight of the minute and when (ns).
    pub fn used_weight(&self) -> (u32, u64) {
        let v = self.weight.load(Ordering::Relaxed);
        ((v >> 44) as u32, (v & ((1 << 44) - 1)) * 1_000_000)
    }

    /// Asks the I/O thread to stop (the user stream closes its key).
    pub fn shutdown(&self) {
        self.stop.notify_one();
    }
}

struct Out {
    tx: mpsc::Sender<VenueEvent>,
    pending: Arc<AtomicU64>,
    wake: Wake,
}

impl Out {
    fn send(&self, ev: VenueEvent) -> bool {
        // Counted before it is visible, so `pending()` never reads 0 with an event in
        // the channel (Release pairs with the Acquire in `VenueHandle::pending`).
        self.pending.fetch_add(1, Ordering::Release);
        if self.tx.send(ev).is_err() {
            self.pending.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        (self.wake)();
        true
    }
}

struct Io {
    client: Arc<RestClient>,
    book: TemplateBook,
    symbols: Vec<String>,
    /// Commission assets' USDT prices (asset, price, fetched at).
    fee_px: std::collections::HashMap<String, (f64, std::time::Instant)>,
}

fn io_main(
    s: VenueSettings,
    crx: tmpsc::UnboundedReceiver<Command>,
    out: Out,
    stx: mpsc::Sender<std::result::Result<Startup, Refusal>>,
    weight: Arc<AtomicU64>,
    stop: Arc<tokio::sync::Notify>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = stx.send(Err(Refusal::Step {
                step: "tokio runtime",
                symbol: None,
                code: None,
                detail: e.to_string(),
            }));
            return;
        }
    };
    rt.block_on(run(s, crx, out, stx, weight, stop));
}

async fn start(s: &VenueSettings) -> std::result::Result<(Io, Startup, UserStream), Refusal> {
    let unreachable = |e: &ExchangeError| Refusal::Unreachable {
        url: s.rest_url.clone(),
        cause: e.to_string(),
    };
    let mut rc = RestConfig::mock(&s.rest_url);
    rc.recv_window_ms = s.recv_window_ms;
    let client = RestClient::new(rc, Some(s.credentials.clone())).map_err(|e| unreachable(&e))?;
    client.start().await.map_err(|e| unreachable(&e))?;
    let offset = client.time_offset_ms();
    if offset.unsigned_abs() > s.max_time_offset_ms {
        return Err(Refusal::ClockOffset {
            offset_ms: offset,
            max_ms: s.max_time_offset_ms,
        });
    }
    let (book, instruments, caps) = configure(&client, &s.symbols, s.leverage, s.margin).await?;
    let client = Arc::new(client);
    // The stream first, then the account: an event between the two is queued, none
    // is missed.
    let path = match s.user_layout {
        UserStreamLayout::Legacy | UserStreamLayout::Auto => UserStreamPath::Legacy,
        UserStreamLayout::Private => UserStreamPath::Private { events: None },
    };
    let mut ucfg = UserStreamConfig::mock(&s.user_ws_url);
    ucfg.path = path;
    ucfg.keepalive_every = s.keepalive_every;
    ucfg.reconnect_min = s.reconnect_min;
    let mut stream = UserStream::spawn(client.clone(), ucfg).map_err(|e| Refusal::Step {
        step: "user-data stream",
        symbol: None,
        code: None,
        detail: e.to_string(),
    })?;
    match tokio::time::timeout(Duration::from_secs(30), stream.recv()).await {
        Ok(Some(UserStreamMsg::Connected { .. })) => {}
        Ok(Some(UserStreamMsg::Disconnected { reason })) => {
            return Err(Refusal::Step {
                step: "user-data stream",
                symbol: None,
                code: None,
                detail: reason,
            })
        }
        _ => {
            return Err(Refusal::Step {
                step: "user-data stream",
                symbol: None,
                code: None,
                detail: format!("not connected to {} within 30 s", s.user_ws_url),
            })
        }
    }
    let account = snapshot(&client, &s.symbols).await?;
    Ok((
        Io {
            client,
            book,
            symbols: s.symbols.clone(),
            fee_px: Default::default(),
        },
        Startup {
            mode: s.mode,
            instruments,
            notional_caps: caps,
            account,
            time_offset_ms: offset,
        },
        stream,
    ))
}

async fn run(
    s: VenueSettings,
    mut crx: tmpsc::UnboundedReceiver<Command>,
    out: Out,
    stx: mpsc::Sender<std::result::Result<Startup, Refusal>>,
    weight: Arc<AtomicU64>,
    stop: Arc<tokio::sync::Notify>,
) {
    let (mut io, startup, mut stream) = match start(&s).await {
        Ok(x) => x,
        Err(r) => {
            let _ = stx.send(Err(r));
            return;
        }
    };
    if stx.send(Ok(startup)).is_err() {
        return;
    }
    // The user stream is forwarded by its own task, so a request in progress never
    // holds an event back.
    let (utx, mut urx) = tmpsc::unbounded_channel::<UserStreamMsg>();
    let forward = tokio::spawn(async move {
        while let Some(m) = stream.recv().await {
            if utx.send(m).is_err() {
                break;
            }
        }
        stream.stop().await;
    });
    let mut resync = tokio::time::interval(s.time_sync_every);
    let mut reinfo = tokio::time::interval(s.exchange_info_every);
    resync.tick().await;
    reinfo.tick().await;
    loop {
        tokio::select! {
            biased;
            _ = stop.notified() => break,
            m = urx.recv() => match m {
                Some(m) => {
                    for ev in io.user_event(m).await {
                        if !out.send(ev) {
                            return;
                        }
                    }
                }
                None => {
                    let _ = out.send(VenueEvent::Stream { up: false, reconnect: false, reason: "the user-data stream task ended".into() });
                }
            },
            c = crx.recv() => match c {
                Some(c) => {
                    for ev in io.command(c).await {
                        if !out.send(ev) {
                            return;
                        }
                    }
                    let r = io.client.rate_view();
                    let ms = now_ms();
                    weight.store(((r.weight_used() as u64) << 44) | (ms & ((1 << 44) - 1)), Ordering::Relaxed);
                }
                None => break,
            },
            _ = resync.tick() => {
                if let Err(e) = io.client.sync_time().await {
                    tracing::warn!(error = %e, "clock re-sync with the venue failed; the last offset stays");
                }
            }
            _ = reinfo.tick() => {
                for ev in io.reload_rules().await {
                    if !out.send(ev) {
                        return;
                    }
                }
            }
        }
    }
    forward.abort();
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A REST order status in the journal's terms (an unknown one is treated as still
/// working, so the order is queried again rather than closed on a guess).
fn rest_status(s: shmtrader_exchange::wire::account::OrderStatus) -> OrderStatus {
    use shmtrader_exchange::wire::account::OrderStatus as W;
    match s {
        W::New | W::Unknown => OrderStatus::New,
        W::PartiallyFilled => OrderStatus::PartiallyFilled,
        W::Filled => OrderStatus::Filled,
        W::Canceled => OrderStatus::Canceled,
        W::Expired => OrderStatus::Expired,
        W::ExpiredInMatch => OrderStatus::ExpiredInMatch,
    }
}

fn journal_algo_status(s: &str) -> Option<AlgoStatus> {
    AlgoStatus::from_binance(s)
}

fn refused(coid: &str, e: &ExchangeError) -> VenueEvent {
    VenueEvent::Rejected {
        coid: coid.to_string(),
        code: e.api_code().unwrap_or(0),
        msg: e.to_string(),
    }
}

impl Io {
    fn symbol_id(&self, s: &str) -> Option<u32> {
        self.symbols.iter().position(|x| x == s).map(|i| i as u32)
    }

    fn rules(&self, symbol_id: u32) -> Option<&Instrument> {
        self.book.at(symbol_id as usize).map(|t| t.rules())
    }

    fn qty(&self, symbol_id: u32, text: &str) -> Option<Qty> {
        self.rules(symbol_id)?.parse_qty(text).ok()
    }

    async fn command(&mut self, c: Command) -> Vec<VenueEvent> {
        match c {
            Command::Place(r) => vec![self.place(&r).await],
            Command::PlaceAlgo(r) => vec![self.place_algo(&r).await],
            Command::CancelAlgo { coid, .. } => {
                match self.client.cancel_algo_order_by_client_id(&coid).await {
                    Ok(_) => vec![VenueEvent::AlgoCanceled { coid, found: true }],
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::AlgoCanceled { coid, found: false }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "cancel stop",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::QueryOrder { symbol_id, coid } => {
                let Some(sym) = self.symbols.get(symbol_id as usize).cloned() else {
                    return Vec::new();
                };
                match self.client.query_order(&sym, OrderRef::Client(&coid)).await {
                    Ok(o) => {
                        let (Some(executed), Some(orig), Some(side)) = (
                            self.qty(symbol_id, &o.executed_qty),
                            self.qty(symbol_id, &o.orig_qty),
                            shmtrader_exchange::wire::enums::parse_side(&o.side),
                        ) else {
                            return vec![VenueEvent::Failed {
                                command: "query order",
                                coid: Some(coid),
                                cause: format!(
                                    "unreadable answer: executedQty {:?}, origQty {:?}, side {:?}",
                                    o.executed_qty, o.orig_qty, o.side
                                ),
                            }];
                        };
                        vec![VenueEvent::Order(OrderReport {
                            coid: o.client_order_id.clone(),
                            order_id: o.order_id,
                            symbol_id,
                            side,
                            status: rest_status(o.status),
                            executed,
                            orig_qty: orig,
                            reduce_only: o.reduce_only,
                            orig_type: o.orig_type.clone(),
                            ts_ms: o.update_time,
                        })]
                    }
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::NotFound { coid }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "query order",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::QueryAlgo { symbol_id, coid } => {
                match self.client.query_algo_order_by_client_id(&coid).await {
                    Ok(a) => match journal_algo_status(a.algo_status.as_str()) {
                        Some(status) => vec![VenueEvent::Algo(AlgoReport {
                            coid,
                            algo_id: a.algo_id,
                            symbol_id,
                            status,
                            actual_order_id: a.actual_order_id,
                            reason: String::new(),
                        })],
                        None => vec![VenueEvent::Failed {
                            command: "query stop",
                            coid: Some(coid),
                            cause: format!("unknown algo status {:?}", a.algo_status.as_str()),
                        }],
                    },
                    Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                        vec![VenueEvent::NotFound { coid }]
                    }
                    Err(e) => vec![VenueEvent::Failed {
                        command: "query stop",
                        coid: Some(coid),
                        cause: e.to_string(),
                    }],
                }
            }
            Command::FetchTrades {
                symbol_id,
                order_id,
                since_ms,
            } => self.fetch_trades(symbol_id, order_id, since_ms).await,
            Command::Snapshot => match snapshot(&self.client, &self.symbols).await {
                Ok(s) => vec![VenueEvent::Snapshot(Box::new(s))],
                Err(r) => vec![VenueEvent::Failed {
                    command: "account snapshot",
                    coid: None,
                    cause: r.to_string(),
                }],
            },
        }
    }

    async fn place(&self, r: &OrderReq) -> VenueEvent {
        let Some(tpl) = self.book.at(r.symbol_id as usize) else {
            return VenueEvent::Rejected {
                coid: r.coid.clone(),
                code: 0,
                msg: format!("unknown symbol id {}", r.symbol_id),
            };
        };
        let req = OrderRequest {
            side: r.side,
            kind: OrderKind::Market,
            qty: r.qty,
            price: shmtrader_core::instrument::Price(0),
            reduce_only: r.reduce_only,
            client_order_id: &r.coid,
            reference_price: None,
        };
        match self.client.new_order(tpl, &req).await {
            Ok(p) => {
                if let Placement::Reconciled { cause, .. } = &p {
                    tracing::warn!(coid = %r.coid, %cause, "order outcome was unknown; settled by query");
                }
                let o = p.order();
                let executed = tpl.rules().parse_qty(&o.executed_qty).unwrap_or(Qty(0));
                VenueEvent::Placed {
                    coid: r.coid.clone(),
                    order_id: o.order_id,
                    status: rest_status(o.status),
                    executed,
                }
            }
            Err(e) if e.api_kind() == Some(ApiErrorKind::Unknown) => VenueEvent::Unsettled {
                coid: r.coid.clone(),
                cause: e.to_string(),
            },
            Err(ExchangeError::ExecutionUnknown { .. }) | Err(ExchangeError::Transport { .. }) => {
                VenueEvent::Unsettled {
                    coid: r.coid.clone(),
                    cause: "transport failure; outcome unknown".into(),
                }
            }
            Err(e) => refused(&r.coid, &e),
        }
    }

    async fn place_algo(&self, r: &AlgoReq) -> VenueEvent {
        let Some(rules) = self.rules(r.symbol_id) else {
            return VenueEvent::AlgoRejected {
                coid: r.coid.clone(),
                code: 0,
                msg: format!("unknown symbol id {}", r.symbol_id),
            };
        };
        let req = AlgoOrderRequest {
            side: r.side,
            algo_type: match r.kind {
                StopKind::Stop => AlgoType::StopMarket,
                StopKind::TakeProfit => AlgoType::TakeProfitMarket,
            },
            trigger_price: r.trigger,
            price: None,
            qty: Some(r.qty),
            close_position: false,
            reduce_only: true,
            working_type: match r.working_type {
                WorkingType::MarkPrice => WireWorking::MarkPrice,
                WorkingType::ContractPrice => WireWorking::ContractPrice,
            },
            price_protect: false,
            client_algo_id: &r.coid,
        };
        match self.client.new_algo_order(rules, &req).await {
            Ok(a) => VenueEvent::AlgoPlaced {
                coid: r.coid.clone(),
                algo_id: a.algo_id,
            },
            Err(e)
                if matches!(e, ExchangeError::Transport { .. })
                    || e.api_kind() == Some(ApiErrorKind::Unknown) =>
            {
                // Placed or not: the stop keeper's acknowledgement timeout decides, and a
                // query settles what the exchange has.
                match self.client.query_algo_order_by_client_id(&r.coid).await {
                    Ok(a) => VenueEvent::AlgoPlaced {
                        coid: r.coid.clone(),
                        algo_id: a.algo_id,
                    },
                    Err(_) => VenueEvent::Failed {
                        command: "place stop",
                        coid: Some(r.coid.clone()),
                        cause: e.to_string(),
                    },
                }
            }
            Err(e) => VenueEvent::AlgoRejected {
                coid: r.coid.clone(),
                code: e.api_code().unwrap_or(0),
                msg: e.to_string(),
            },
        }
    }

    /// The commission in USDT: as is when paid in USDT, else at the asset's mark price
    /// (`<ASSET>USDT`, cached a minute).
    async fn fee_usdt(&mut self, asset: &str, paid: f64) -> f64 {
        if asset.is_empty() || asset == "USDT" || paid == 0.0 {
            return paid;
        }
        let fresh = self
            .fee_px
            .get(asset)
            .filter(|(_, at)| at.elapsed() < Duration::from_secs(60))
            .map(|(p, _)| *p);
        let px = match fresh {
            Some(p) => p,
            None => match self.client.mark_price(&format!("{asset}USDT")).await {
                Ok(m) => {
                    let p = m.mark_price;
                    self.fee_px
                        .insert(asset.to_string(), (p, std::time::Instant::now()));
                    p
                }
                Err(e) => {
                    tracing::warn!(asset, error = %e, "no price to convert a commission to USDT; it is booked at 0");
                    0.0
                }
            },
        };
        paid * px
    }

    async fn fetch_trades(
        &mut self,
        symbol_id: u32,
        order_id: Option<u64>,
        since_ms: Option<u64>,
    ) -> Vec<VenueEvent> {
        let Some(sym) = self.symbols.get(symbol_id as usize).cloned() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut from_id = None;
        // Pages of 1000 trades until a short page.
        for _ in 0..50 {
            let q = UserTradesQuery {
                order_id,
                from_id,
                start_time: if from_id.is_none() { since_ms } else { None },
                end_time: None,
                limit: Some(1000),
            };
            let trades = match self.client.user_trades(&sym, q).await {
                Ok(t) => t,
                Err(e) => {
                    out.push(VenueEvent::Failed {
                        command: "fetch trades",
                        coid: None,
                        cause: e.to_string(),
                    });
                    return out;
                }
            };
            let n = trades.len();
            for t in &trades {
                let (Some(qty), Ok(price)) = (self.qty(symbol_id, &t.qty), t.price.parse::<f64>())
                else {
                    tracing::error!(symbol = %sym, trade = t.id, "a trade from REST has an unreadable quantity or price; skipped");
                    continue;
                };
                let paid = t.commission.parse::<f64>().map(f64::abs).unwrap_or(0.0);
                let fee = self.fee_usdt(&t.commission_asset, paid).await;
                out.push(VenueEvent::Trade(TradeReport {
                    coid: None,
                    order_id: t.order_id,
                    symbol_id,
                    side: t.side,
                    trade_id: t.id,
                    qty,
                    price,
                    fee_usdt: fee,
                    realized_pnl: t.realized_pnl.parse().unwrap_or(0.0),
                    maker: t.maker,
                    ts_ms: t.time,
                    from_rest: true,
                    orig_type: String::new(),
                }));
                from_id = Some(t.id + 1);
            }
            if n < 1000 {
                break;
            }
        }
        out.push(VenueEvent::TradesFetched {
            symbol_id,
            order_id,
        });
        out
    }

    async fn reload_rules(&mut self) -> Vec<VenueEvent> {
        let info = match self.client.exchange_info().await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(error = %e, "exchangeInfo reload failed; the rules in force stay");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, sym) in self.symbols.iter().enumerate() {
            let Some(s) = info.symbol(sym) else {
                continue;
            };
            let Ok(inst) = shmtrader_exchange::template::instrument_from_info(s) else {
                continue;
            };
            out.push(VenueEvent::Rules {
                symbol_id: i as u32,
                instrument: Box::new(inst),
                trading: s.status == "TRADING",
            });
        }
        out
    }

    async fn user_event(&mut self, m: UserStreamMsg) -> Vec<VenueEvent> {
        match m {
            UserStreamMsg::Connected { reconnect } => vec![VenueEvent::Stream {
                up: true,
                reconnect,
                reason: String::new(),
            }],
            UserStreamMsg::Disconnected { reason } => vec![VenueEvent::Stream {
                up: false,
                reconnect: false,
                reason,
            }],
            UserStreamMsg::Event(e) => self.event(e).await,
        }
    }

    async fn event(&mut self, e: UserEvent) -> Vec<VenueEvent> {
        match e {
            UserEvent::OrderTradeUpdate(u) => {
                let o = u.order;
                let Some(sym) = self.symbol_id(&o.symbol) else {
                    return Vec::new();
                };
                let mut out = Vec::new();
                if o.is_fill() {
                    let (Some(qty), Ok(price)) =
                        (self.qty(sym, &o.last_qty), o.last_price.parse::<f64>())
                    else {
                        tracing::error!(symbol = %o.symbol, order = o.order_id, "a fill event has an unreadable quantity or price; REST will settle the order");
                        return Vec::new();
                    };
                    let fee = match o.fee() {
                        Ok(Some(f)) => self.fee_usdt(&f.asset, f.paid).await,
                        Ok(None) => 0.0,
                        Err(err) => {
                            tracing::error!(error = %err, "unreadable commission; REST will settle the order");
                            return Vec::new();
                        }
                    };
                    out.push(VenueEvent::Trade(TradeReport {
                        coid: Some(o.client_order_id.clone()),
                        order_id: o.order_id,
                        symbol_id: sym,
                        side: o.side,
                        trade_id: o.trade_id,
                        qty,
                        price,
                        fee_usdt: fee,
                        realized_pnl: o.realized_profit().unwrap_or(0.0),
                        maker: o.is_maker,
                        ts_ms: o.trade_time,
                        from_rest: false,
                        orig_type: if o.is_liquidation() {
                            "LIQUIDATION".into()
                        } else {
                            o.orig_type.as_str().to_string()
                        },
                    }));
                }
                out.push(VenueEvent::Order(OrderReport {
                    coid: o.client_order_id.clone(),
                    order_id: o.order_id,
                    symbol_id: sym,
                    side: o.side,
                    status: rest_status(o.status),
                    executed: self.qty(sym, &o.cum_qty).unwrap_or(Qty(0)),
                    orig_qty: self.qty(sym, &o.orig_qty).unwrap_or(Qty(0)),
                    reduce_only: o.reduce_only,
                    orig_type: o.orig_type.as_str().to_string(),
                    ts_ms: o.trade_time,
                }));
                out
            }
            UserEvent::AccountUpdate(u) => {
                let reason = match u.data.reason.as_str() {
                    "ORDER" => BalanceReason::Order,
                    "FUNDING_FEE" => BalanceReason::Funding,
                    _ => BalanceReason::Other,
                };
                u.data
                    .balances
                    .iter()
                    .filter(|b| b.asset == "USDT")
                    .filter_map(|b| b.wallet_balance.parse::<f64>().ok())
                    .map(|wallet| VenueEvent::Balance { wallet, reason })
                    .collect()
            }
            UserEvent::AlgoUpdate(u) => {
                let a = u.algo;
                let Some(sym) = self.symbol_id(&a.symbol) else {
                    return Vec::new();
                };
                match journal_algo_status(a.status.as_str()) {
                    Some(status) => vec![VenueEvent::Algo(AlgoReport {
                        coid: a.client_algo_id,
                        algo_id: a.algo_id,
                        symbol_id: sym,
                        status,
                        actual_order_id: a.actual_order_id,
                        reason: a.reason.unwrap_or_default(),
                    })],
                    None => {
                        tracing::warn!(
                            status = a.status.as_str(),
                            "unknown algo status; the stop is queried"
                        );
                        vec![]
                    }
                }
            }
            _ => Vec::new(),
        }
    }
}
