//! The sockets: opening, reading round-robin, reconnecting with backoff, replacing a
//! connection ahead of the 24 h cut, the idle timer, and dispatching each frame.

use std::task::Poll;
use std::time::Duration;

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use super::{
    now_ns, MarketSink, MarketWs, MarketWsConfig, Op, OpResult, WsEvent, WsStats, WsStream,
};
use crate::error::{ExchangeError, Result};
use crate::fast::{self, EventKind, Frame, SymbolLookup};
use crate::wire::market::{decode_event, DepthUpdate, MarkPrice};

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

pub(super) fn backoff_ms(cfg: &MarketWsConfig, attempt: u32, rng: &mut u64) -> u64 {
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

impl MarketWs {
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

    pub(super) fn on_frame<S: MarketSink + ?Sized>(
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
            Ok(Frame::Event {
                kind: EventKind::MarkPrice,
                enveloped,
            }) if self.cfg.streams.mark_price => {
                match decode_event::<MarkPrice>(bytes, enveloped, "markPriceUpdate frame") {
                    Ok(m) => match self.symbols.symbol_id(m.symbol.as_bytes()) {
                        Some(sym) if m.mark_price.is_finite() && m.mark_price > 0.0 => {
                            self.stats.marks += 1;
                            let rec = shmtrader_core::MarkPrice {
                                symbol_id: sym,
                                exchange_ts_ns: m.event_time.saturating_mul(1_000_000),
                                recv_ts_ns: recv,
                                mark_px: m.mark_price,
                                index_px: m.index_price,
                                funding_rate: m.funding_rate,
                                next_funding_ms: m.next_funding_time,
                                ..shmtrader_core::MarkPrice::default()
                            };
                            sink.on_mark(&rec);
                        }
                        Some(_) => self.malformed(
                            conn,
                            ExchangeError::Rejected {
                                what: "markPriceUpdate frame",
                                field: "p",
                                reason: "is not a positive price",
                            },
                            sink,
                        ),
                        None => self.malformed(
                            conn,
                            ExchangeError::Rejected {
                                what: "markPriceUpdate frame",
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

    pub(super) fn malformed<S: MarketSink + ?Sized>(
        &mut self,
        conn: usize,
        e: ExchangeError,
        sink: &mut S,
    ) {
        self.stats.malformed += 1;
        tracing::warn!(conn, error = %e, total = self.stats.malformed, "malformed market frame skipped");
        sink.on_event(WsEvent::Malformed {
            conn,
            error: e.to_string(),
        });
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
