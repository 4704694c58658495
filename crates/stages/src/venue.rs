//! The executor's line to a real venue (the mock exchange in paper mode, Binance in
//! testnet/live): signed REST orders on an I/O thread, so the executor's loop never
//! blocks on the network.
//!
//! The executor hands a [`PlaceReq`] over a channel (after journaling it) and picks up
//! [`VenueEvent`]s on its next pass. The I/O thread owns a current-thread tokio runtime
//! and one pooled, warmed [`RestClient`]; orders carry the executor's deterministic
//! client order ids, and an order whose outcome is unknown (timeout, 503) is settled by
//! querying that id — never by sending it again.
//!
//! Fees: a MARKET order with `newOrderRespType=RESULT` comes back FILLED with its average
//! price but without the commission; the fee is charged at the configured taker rate
//! (`risk.taker_fee`, the mock's default 0.05 %). The user-data stream carries the
//! exchange's own commission; using it is left for later.

use crate::error::{Result, StageError};
use shmtrader_core::instrument::{Instrument, Price, Qty};
use shmtrader_core::Side;
use shmtrader_exchange::rest::{OrderRef, Placement, RestClient, RestConfig};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::{OrderKind, OrderRequest, TemplateBook};
use shmtrader_exchange::{ApiErrorKind, ExchangeError};
use std::sync::mpsc;
use std::time::Duration;

/// One order to place.
#[derive(Debug, Clone)]
pub struct PlaceReq {
    /// Deterministic client order id.
    pub coid: String,
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Exact quantity on the step grid.
    pub qty: Qty,
    /// reduceOnly.
    pub reduce_only: bool,
}

/// What became of an order.
#[derive(Debug, Clone, PartialEq)]
pub enum VenueEvent {
    /// Filled (possibly partly: `qty` is what executed).
    Filled {
        /// Client order id.
        coid: String,
        /// Executed quantity.
        qty: f64,
        /// Average price.
        price: f64,
        /// Fee charged (USDT).
        fee: f64,
        /// Exchange time of the fill (ns).
        ts_ns: u64,
    },
    /// Not placed, or placed and ended without any fill (rejected, expired).
    Rejected {
        /// Client order id.
        coid: String,
        /// The exchange's reason, verbatim.
        reason: String,
    },
    /// The outcome could not be settled even by querying; the executor must not trade
    /// the symbol blind (it re-queries at start).
    Unsettled {
        /// Client order id.
        coid: String,
        /// Why.
        error: String,
    },
}

/// An order as the exchange has it (reconciliation).
#[derive(Debug, Clone, PartialEq)]
pub enum Found {
    /// No such order on the exchange: it was never placed.
    NotFound,
    /// Done: what executed (0 for canceled/expired without fills), at what average.
    Done {
        /// Executed quantity.
        qty: f64,
        /// Average price (0 if nothing executed).
        price: f64,
        /// Exchange time (ns).
        ts_ns: u64,
    },
    /// Still open on the exchange (e.g. a resting limit order).
    Open,
}

enum Cmd {
    Place(PlaceReq),
    Query {
        symbol_id: u32,
        coid: String,
        reply: mpsc::Sender<std::result::Result<Found, String>>,
    },
    Cancel {
        symbol_id: u32,
        coid: String,
        reply: mpsc::Sender<std::result::Result<Found, String>>,
    },
    Positions {
        reply: mpsc::Sender<std::result::Result<Vec<(String, f64)>, String>>,
    },
}

/// Where and how to connect.
#[derive(Debug, Clone)]
pub struct VenueSettings {
    /// REST base URL.
    pub rest_url: String,
    /// API key and secret.
    pub key: String,
    /// See `key`.
    pub secret: String,
    /// Symbols, in symbol-id order.
    pub symbols: Vec<String>,
    /// Leverage set on every symbol at start.
    pub leverage: u32,
    /// Taker fee rate charged on fills.
    pub taker_fee: f64,
}

/// The I/O thread's handle.
#[derive(Debug)]
pub struct RestVenue {
    tx: mpsc::Sender<Cmd>,
    rx: mpsc::Receiver<VenueEvent>,
    rules: Vec<Instrument>,
    in_flight: usize,
}

/// A decimal the exchange sent (`"0.010"`), refused if it is not a finite number of the
/// expected sign: a quantity or price misread as 0 would turn a fill into "nothing
/// happened" and leave a position nobody tracks.
fn parse_dec(what: &str, s: &str, allow_negative: bool) -> std::result::Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (allow_negative || v >= 0.0) => Ok(v),
        _ => Err(format!(
            "the exchange sent {what} {s:?}, not a usable number"
        )),
    }
}

struct Io {
    client: RestClient,
    book: TemplateBook,
    taker_fee: f64,
}

impl Io {
    fn found(
        &self,
        o: &shmtrader_exchange::wire::account::OrderResponse,
    ) -> std::result::Result<Found, String> {
        if o.status.is_open() {
            return Ok(Found::Open);
        }
        Ok(Found::Done {
            qty: parse_dec("executedQty", &o.executed_qty, false)?,
            price: parse_dec("avgPrice", &o.avg_price, false)?,
            ts_ns: o.update_time.saturating_mul(1_000_000),
        })
    }

    /// The exchange's name of a symbol id.
    fn symbol(&self, symbol_id: u32) -> std::result::Result<String, String> {
        self.book
            .at(symbol_id as usize)
            .map(|t| t.rules().symbol.clone())
            .ok_or_else(|| format!("unknown symbol id {symbol_id}"))
    }

    async fn place(&self, r: &PlaceReq) -> VenueEvent {
        let Some(tpl) = self.book.at(r.symbol_id as usize) else {
            return VenueEvent::Rejected {
                coid: r.coid.clone(),
                reason: format!("unknown symbol id {}", r.symbol_id),
            };
        };
        let qty = r.qty;
        let req = OrderRequest {
            side: r.side,
            kind: OrderKind::Market,
            qty,
            price: Price(0),
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
                match self.found(o) {
                    // The order exists but its report cannot be read: settle it by a
                    // later query, never assume it did not fill.
                    Err(error) => VenueEvent::Unsettled {
                        coid: r.coid.clone(),
                        error,
                    },
                    Ok(Found::Done { qty, price, ts_ns }) if qty > 0.0 => VenueEvent::Filled {
                        coid: r.coid.clone(),
                        qty,
                        price,
                        fee: qty * price * self.taker_fee,
                        ts_ns,
                    },
                    Ok(Found::Open) => VenueEvent::Unsettled {
                        coid: r.coid.clone(),
                        error: format!("market order still {:?}", o.status),
                    },
                    _ => VenueEvent::Rejected {
                        coid: r.coid.clone(),
                        reason: format!("ended {:?} without a fill", o.status),
                    },
                }
            }
            Err(e) if e.api_kind() == Some(ApiErrorKind::Unknown) => VenueEvent::Unsettled {
                coid: r.coid.clone(),
                error: e.to_string(),
            },
            Err(ExchangeError::Transport { .. }) => VenueEvent::Unsettled {
                coid: r.coid.clone(),
                error: "transport failure; outcome unknown".into(),
            },
            Err(e) => VenueEvent::Rejected {
                coid: r.coid.clone(),
                reason: e.to_string(),
            },
        }
    }

    async fn query(&self, symbol_id: u32, coid: &str) -> std::result::Result<Found, String> {
        let sym = self.symbol(symbol_id)?;
        match self.client.query_order(&sym, OrderRef::Client(coid)).await {
            Ok(o) => self.found(&o),
            Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => Ok(Found::NotFound),
            Err(e) => Err(e.to_string()),
        }
    }

    async fn cancel(&self, symbol_id: u32, coid: &str) -> std::result::Result<Found, String> {
        let sym = self.symbol(symbol_id)?;
        match self.client.cancel_order(&sym, OrderRef::Client(coid)).await {
            Ok(o) => self.found(&o),
            Err(e) if e.api_kind() == Some(ApiErrorKind::NotFound) => {
                self.query(symbol_id, coid).await
            }
            Err(e) => Err(e.to_string()),
        }
    }

    async fn positions(&self) -> std::result::Result<Vec<(String, f64)>, String> {
        let v = self
            .client
            .position_risk_v2(None)
            .await
            .map_err(|e| e.to_string())?;
        v.iter()
            .map(|p| {
                Ok((
                    p.symbol.clone(),
                    parse_dec("positionAmt", &p.position_amt, true)?,
                ))
            })
            .collect()
    }
}

impl RestVenue {
    /// Starts the I/O thread: connects, warms the pool, syncs time, loads exchangeInfo
    /// into order templates and sets leverage. Fails with the exchange's reason.
    pub fn connect(s: VenueSettings) -> Result<RestVenue> {
        let (ctx, crx) = mpsc::channel::<Cmd>();
        let (etx, erx) = mpsc::channel::<VenueEvent>();
        let (rtx, rrx) = mpsc::channel::<std::result::Result<Vec<Instrument>, String>>();
        std::thread::Builder::new()
            .name("venue-io".into())
            .spawn(move || io_main(s, crx, etx, rtx))
            .map_err(|e| StageError::io("starting the venue I/O thread", e))?;
        let rules = rrx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| {
                StageError::Other("venue: no answer from the I/O thread within 30 s".into())
            })?
            .map_err(|e| StageError::Other(format!("venue: {e}")))?;
        Ok(RestVenue {
            tx: ctx,
            rx: erx,
            rules,
            in_flight: 0,
        })
    }

    /// The exchange's rules per symbol (symbol-id order).
    pub fn rules(&self) -> &[Instrument] {
        &self.rules
    }

    /// Orders sent and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Hands an order to the I/O thread (non-blocking).
    pub fn place(&mut self, r: PlaceReq) -> Result<()> {
        self.tx
            .send(Cmd::Place(r))
            .map_err(|_| StageError::Other("venue I/O thread is gone".into()))?;
        self.in_flight += 1;
        Ok(())
    }

    /// The next answer, if any (non-blocking).
    pub fn poll(&mut self) -> Option<VenueEvent> {
        let e = self.rx.try_recv().ok()?;
        self.in_flight = self.in_flight.saturating_sub(1);
        Some(e)
    }

    fn ask<T>(
        &self,
        make: impl FnOnce(mpsc::Sender<std::result::Result<T, String>>) -> Cmd,
    ) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        self.tx
            .send(make(tx))
            .map_err(|_| StageError::Other("venue I/O thread is gone".into()))?;
        rx.recv_timeout(Duration::from_secs(60))
            .map_err(|_| StageError::Other("venue: no answer within 60 s".into()))?
            .map_err(|e| StageError::Other(format!("venue: {e}")))
    }

    /// Blocking: the order with this client id as the exchange has it.
    pub fn query(&self, symbol_id: u32, coid: &str) -> Result<Found> {
        let coid = coid.to_string();
        self.ask(|reply| Cmd::Query {
            symbol_id,
            coid,
            reply,
        })
    }

    /// Blocking: cancels the order if open, then reports what executed.
    pub fn cancel(&self, symbol_id: u32, coid: &str) -> Result<Found> {
        let coid = coid.to_string();
        self.ask(|reply| Cmd::Cancel {
            symbol_id,
            coid,
            reply,
        })
    }

    /// Blocking: signed position size per symbol.
    pub fn positions(&self) -> Result<Vec<(String, f64)>> {
        self.ask(|reply| Cmd::Positions { reply })
    }
}

fn io_main(
    s: VenueSettings,
    crx: mpsc::Receiver<Cmd>,
    etx: mpsc::Sender<VenueEvent>,
    rtx: mpsc::Sender<std::result::Result<Vec<Instrument>, String>>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = rtx.send(Err(format!("tokio runtime: {e}")));
            return;
        }
    };
    let io = match rt.block_on(start(&s)) {
        Ok((io, rules)) => {
            let _ = rtx.send(Ok(rules));
            io
        }
        Err(e) => {
            let _ = rtx.send(Err(e));
            return;
        }
    };
    // Commands are handled one at a time, in order: a later order never overtakes an
    // earlier one for the same symbol.
    while let Ok(cmd) = crx.recv() {
        match cmd {
            Cmd::Place(r) => {
                let ev = rt.block_on(io.place(&r));
                if etx.send(ev).is_err() {
                    break;
                }
            }
            Cmd::Query {
                symbol_id,
                coid,
                reply,
            } => {
                let _ = reply.send(rt.block_on(io.query(symbol_id, &coid)));
            }
            Cmd::Cancel {
                symbol_id,
                coid,
                reply,
            } => {
                let _ = reply.send(rt.block_on(io.cancel(symbol_id, &coid)));
            }
            Cmd::Positions { reply } => {
                let _ = reply.send(rt.block_on(io.positions()));
            }
        }
    }
}

async fn start(s: &VenueSettings) -> std::result::Result<(Io, Vec<Instrument>), String> {
    let creds = Credentials::new(s.key.clone(), s.secret.clone()).map_err(|e| e.to_string())?;
    let client =
        RestClient::new(RestConfig::mock(&s.rest_url), Some(creds)).map_err(|e| e.to_string())?;
    client
        .start()
        .await
        .map_err(|e| format!("connecting to {}: {e}", s.rest_url))?;
    let info = client.exchange_info().await.map_err(|e| e.to_string())?;
    // Every symbol listed, TRADING and with usable filters, or no start.
    let names: Vec<&str> = s.symbols.iter().map(String::as_str).collect();
    let book = TemplateBook::from_exchange_info(&info, &names, &client.template_config())
        .map_err(|e| e.to_string())?;
    let mut rules = Vec::with_capacity(s.symbols.len());
    for (i, sym) in s.symbols.iter().enumerate() {
        let r = book
            .at(i)
            .filter(|t| &t.rules().symbol == sym)
            .ok_or_else(|| format!("{sym}: listed twice in the configuration"))?
            .rules();
        rules.push(r.clone());
        match client.set_leverage(sym, s.leverage).await {
            Ok(_) => {}
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => {}
            Err(e) => return Err(format!("setting leverage of {sym}: {e}")),
        }
    }
    Ok((
        Io {
            client,
            book,
            taker_fee: s.taker_fee,
        },
        rules,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number the exchange sent is used only if it is one: never read as 0.
    #[test]
    fn exchange_decimals_are_refused_rather_than_read_as_zero() {
        assert_eq!(parse_dec("executedQty", "0.010", false), Ok(0.01));
        assert_eq!(parse_dec("positionAmt", "-1.5", true), Ok(-1.5));
        for bad in ["", "abc", "NaN", "inf", "1e999"] {
            let e = parse_dec("executedQty", bad, false).unwrap_err();
            assert!(e.contains("executedQty"), "{e}");
        }
        assert!(parse_dec("avgPrice", "-3", false).is_err());
    }
}
