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
use super::{Command, Refusal, VenueEvent};
use crate::error::{Result, StageError};
use shmtrader_core::config::{Config, UserStreamLayout};
use shmtrader_exchange::rest::{RestClient, RestConfig};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::TemplateBook;
use shmtrader_exchange::user::{UserStream, UserStreamConfig, UserStreamMsg, UserStreamPath};
use shmtrader_exchange::ExchangeError;
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

/// The I/O thread's state: the client, the symbols' templates and a small cache of
/// commission-asset prices. Its request and event handlers are in `requests.rs`.
pub(super) struct Io {
    pub(super) client: Arc<RestClient>,
    pub(super) book: TemplateBook,
    pub(super) symbols: Vec<String>,
    /// Commission assets' USDT prices (asset, price, fetched at).
    pub(super) fee_px: std::collections::HashMap<String, (f64, std::time::Instant)>,
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
