//! The executor's line to a venue (the mock exchange in paper mode, Binance Demo,
//! testnet or production otherwise): the contract between the executor's decision core
//! and the I/O thread that talks to the exchange.
//!
//! The executor never blocks on the network. It hands [`Command`]s to the I/O thread
//! (after journaling them) and takes [`VenueEvent`]s on its next pass: answers to its
//! requests, and everything the user-data stream pushes — fills (`ORDER_TRADE_UPDATE`),
//! balances and positions (`ACCOUNT_UPDATE`), stop states (`ALGO_UPDATE`) — plus the
//! stream's own ups and downs and refreshed symbol rules. The I/O thread owns a
//! current-thread tokio runtime, one pooled and warmed REST client, the user stream and
//! the periodic work (clock re-sync, exchangeInfo refresh, listenKey keepalive).
//!
//! Fills come from the exchange, not from guesses: each `TRADE` execution carries its
//! trade id, quantity, price, commission (converted to USDT when paid in another asset)
//! and realized PnL, and the executor applies each trade id once whether it arrived on
//! the stream or from REST (`userTrades`) while the stream was down.

mod io;
mod requests;
mod startup;

pub use io::{VenueHandle, VenueSettings, Wake};
pub use startup::{AccountSnapshot, AlgoInfo, OpenOrderInfo, PositionInfo, Startup};

use shmtrader_core::instrument::{Instrument, Price, Qty};
use shmtrader_core::Side;
use shmtrader_journal::{AlgoStatus, OrderStatus, WorkingType};
use shmtrader_risk::StopKind;

/// A market order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderReq {
    /// Client order id (journaled before the send).
    pub coid: String,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Exact quantity.
    pub qty: Qty,
    /// reduceOnly.
    pub reduce_only: bool,
}

/// A conditional order through the algo endpoint (reduce-only with a quantity, never
/// `closePosition`: a replacement placed before the old stop is cancelled would be
/// refused with -4130).
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoReq {
    /// Client algo id (journaled before the send).
    pub coid: String,
    /// Symbol id.
    pub symbol_id: u32,
    /// STOP_MARKET or TAKE_PROFIT_MARKET.
    pub kind: StopKind,
    /// Side.
    pub side: Side,
    /// Exact quantity.
    pub qty: Qty,
    /// Trigger price.
    pub trigger: Price,
    /// Mark or last price.
    pub working_type: WorkingType,
}

/// What the executor asks of the I/O thread.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Place a market order → [`VenueEvent::Placed`], `Rejected` or `Unsettled`.
    Place(OrderReq),
    /// Place a conditional order → [`VenueEvent::AlgoPlaced`] or `AlgoRejected`.
    PlaceAlgo(AlgoReq),
    /// Cancel a conditional order by client algo id → [`VenueEvent::AlgoCanceled`].
    CancelAlgo {
        /// Symbol id.
        symbol_id: u32,
        /// Client algo id.
        coid: String,
    },
    /// The order's state → [`VenueEvent::Order`] (or `NotFound`).
    QueryOrder {
        /// Symbol id.
        symbol_id: u32,
        /// Client order id.
        coid: String,
    },
    /// A conditional order's state → [`VenueEvent::Algo`] (or `NotFound`).
    QueryAlgo {
        /// Symbol id.
        symbol_id: u32,
        /// Client algo id.
        coid: String,
    },
    /// The account's trades of a symbol (of one order, or since a time) from REST
    /// (`userTrades`) → [`VenueEvent::Trade`]s, then [`VenueEvent::TradesFetched`].
    FetchTrades {
        /// Symbol id.
        symbol_id: u32,
        /// One order only.
        order_id: Option<u64>,
        /// Trades at or after this time (ms).
        since_ms: Option<u64>,
    },
    /// Positions, balance and resting conditional orders → [`VenueEvent::Snapshot`].
    Snapshot,
}

/// Terminal or working state of an order, as the exchange reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderReport {
    /// Client order id.
    pub coid: String,
    /// Exchange order id.
    pub order_id: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Status.
    pub status: OrderStatus,
    /// Executed quantity so far.
    pub executed: Qty,
    /// Original quantity.
    pub orig_qty: Qty,
    /// reduceOnly.
    pub reduce_only: bool,
    /// Original type (`MARKET`, `STOP_MARKET` for a triggered stop, `LIQUIDATION`).
    pub orig_type: String,
    /// Exchange time (ms).
    pub ts_ms: u64,
}

/// One execution.
#[derive(Debug, Clone, PartialEq)]
pub struct TradeReport {
    /// Client order id (absent when the trade came from REST `userTrades`, which does
    /// not carry it: the order id identifies it).
    pub coid: Option<String>,
    /// Exchange order id.
    pub order_id: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side of the order.
    pub side: Side,
    /// Trade id: unique per symbol; the deduplication key.
    pub trade_id: u64,
    /// Quantity of this execution.
    pub qty: Qty,
    /// Price.
    pub price: f64,
    /// Commission in USDT (converted at the asset's mark price when paid in another
    /// asset), positive when paid.
    pub fee_usdt: f64,
    /// The exchange's realized PnL of this execution.
    pub realized_pnl: f64,
    /// Maker execution.
    pub maker: bool,
    /// Trade time (ms).
    pub ts_ms: u64,
    /// Arrived from REST, not the stream.
    pub from_rest: bool,
    /// Original order type (`LIQUIDATION` for the liquidation engine).
    pub orig_type: String,
}

/// A conditional order's state.
#[derive(Debug, Clone, PartialEq)]
pub struct AlgoReport {
    /// Client algo id.
    pub coid: String,
    /// Algo id.
    pub algo_id: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Status.
    pub status: AlgoStatus,
    /// The order it placed in the matching engine once triggered.
    pub actual_order_id: Option<u64>,
    /// The exchange's reason on REJECTED / EXPIRED.
    pub reason: String,
}

/// Why a balance changed (`ACCOUNT_UPDATE` `m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BalanceReason {
    /// Fills.
    Order,
    /// A funding settlement.
    Funding,
    /// Anything else (deposit, transfer, insurance clear, ...).
    Other,
}

/// What the I/O thread reports.
#[derive(Debug, Clone, PartialEq)]
pub enum VenueEvent {
    /// A market order was accepted (REST answer).
    Placed {
        /// Client order id.
        coid: String,
        /// Exchange order id.
        order_id: u64,
        /// Status in the answer.
        status: OrderStatus,
        /// Executed quantity in the answer.
        executed: Qty,
    },
    /// The exchange refused an order (nothing was placed).
    Rejected {
        /// Client order id.
        coid: String,
        /// Binance code (0 when refused locally before sending).
        code: i64,
        /// Message.
        msg: String,
    },
    /// The order's outcome could not be settled even by querying it.
    Unsettled {
        /// Client order id.
        coid: String,
        /// Why.
        cause: String,
    },
    /// A conditional order was accepted.
    AlgoPlaced {
        /// Client algo id.
        coid: String,
        /// Algo id.
        algo_id: u64,
    },
    /// The exchange refused a conditional order.
    AlgoRejected {
        /// Client algo id.
        coid: String,
        /// Binance code (-2021 would trigger now, -4130 conflicting stop, ...).
        code: i64,
        /// Message.
        msg: String,
    },
    /// A cancel of a conditional order was answered (`found` false: it was no longer
    /// resting — triggered, expired or cancelled already).
    AlgoCanceled {
        /// Client algo id.
        coid: String,
        /// The exchange had it resting.
        found: bool,
    },
    /// An order's state (stream `ORDER_TRADE_UPDATE` or a query).
    Order(OrderReport),
    /// A query found no such order (it was never placed).
    NotFound {
        /// Client id.
        coid: String,
    },
    /// An execution.
    Trade(TradeReport),
    /// A REST trade fetch finished.
    TradesFetched {
        /// Symbol id.
        symbol_id: u32,
        /// The order asked for, if one.
        order_id: Option<u64>,
    },
    /// A conditional order's state (stream `ALGO_UPDATE` or a query).
    Algo(AlgoReport),
    /// The USDT wallet balance changed (`ACCOUNT_UPDATE`).
    Balance {
        /// New wallet balance.
        wallet: f64,
        /// Why.
        reason: BalanceReason,
    },
    /// The user-data stream connected (`reconnect`: not the first time — events may
    /// have been missed) or went down.
    Stream {
        /// Connected.
        up: bool,
        /// A reconnection.
        reconnect: bool,
        /// Why it went down.
        reason: String,
    },
    /// exchangeInfo was reloaded: a symbol's rules and whether it is TRADING.
    Rules {
        /// Symbol id.
        symbol_id: u32,
        /// Rules.
        instrument: Box<Instrument>,
        /// Status TRADING.
        trading: bool,
    },
    /// The answer to [`Command::Snapshot`].
    Snapshot(Box<AccountSnapshot>),
    /// A command could not be carried out at all (transport, ban): the executor retries.
    Failed {
        /// The command.
        command: &'static str,
        /// Client id involved, if any.
        coid: Option<String>,
        /// Why.
        cause: String,
    },
}

/// Why the start-up checks against the account refuse to trade.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The venue could not be reached or refused the connection.
    #[error("venue {url} not reachable: {cause}")]
    Unreachable {
        /// REST base URL.
        url: String,
        /// Why.
        cause: String,
    },
    /// The key was refused (-2014, -2015, -1022).
    #[error("the venue refused the API key (code {code}): {msg}; check the key, its permissions (futures trading) and its IP whitelist")]
    Auth {
        /// Binance code.
        code: i64,
        /// Message.
        msg: String,
    },
    /// The local clock is too far from the venue's.
    #[error("clock offset to the venue is {offset_ms} ms, above venue.max_time_offset_ms = {max_ms}; fix the host's clock (NTP)")]
    ClockOffset {
        /// Measured offset.
        offset_ms: i64,
        /// Allowed.
        max_ms: u64,
    },
    /// A configured symbol is not listed or not TRADING.
    #[error("{symbol}: {status} on the venue (only TRADING symbols are traded)")]
    SymbolNotTrading {
        /// Symbol.
        symbol: String,
        /// Its status, or "not listed".
        status: String,
    },
    /// The account is in hedge mode and cannot be switched (open positions or orders).
    #[error("the account is in hedge (dual-side) position mode and could not be switched to one-way (code {code}: {msg}); close its positions or switch it by hand")]
    HedgeMode {
        /// Binance code.
        code: i64,
        /// Message.
        msg: String,
    },
    /// A start-up step failed.
    #[error("{step} failed{}: {detail}", symbol.as_ref().map(|s| format!(" for {s}")).unwrap_or_default())]
    Step {
        /// `leverage`, `margin type`, `exchangeInfo`, `account`, ...
        step: &'static str,
        /// Symbol, when per symbol.
        symbol: Option<String>,
        /// Binance code, if the venue answered one.
        code: Option<i64>,
        /// What the venue said.
        detail: String,
    },
    /// An order of this instance was found open on the venue after a cancel.
    #[error("order {coid} is still open on the venue after a cancel")]
    StillOpen {
        /// Client order id.
        coid: String,
    },
}
