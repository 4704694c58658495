//! The exchange core: books and tapes per symbol, the depth-stream chains, the account,
//! orders, algo orders and the matching of both against the tape.
//!
//! It is plain synchronous code behind one mutex; REST handlers and the feed task call
//! into it and it publishes to the websocket fan-out while still holding the lock, so
//! every stream sees events in the order they happened.
//!
//! The state is one [`Engine`]; its methods are cut along the exchange's seams:
//! - `market`: the feed (books, tapes, depth windows, mark prices, the depth behind a
//!   bare touch) and the public REST views of it;
//! - `params`: request parameters and their exact Binance refusals;
//! - `orders`: validation, new / cancel / query of normal orders and their views;
//! - `attempts`: the log of every order attempt, accepted or refused;
//! - `matching`: taking liquidity, resting orders filled by the tape, fills and their
//!   user-stream events;
//! - `trades`: the account's own fills (`userTrades`) and the commission asset;
//! - `account`: positions, margin, wallet, leverage and margin settings, funding and
//!   liquidation, and the account / balance / positionRisk views;
//! - `algo`: conditional orders, their triggers, ALGO_UPDATE and views;
//! - `klines`: klines and the 24-hour ticker over REST, the kline streams, the merge of
//!   the seeded history (the bars themselves are `crate::klines`).
//!
//! Each module keeps its unit tests in `<module>/tests.rs`, on the scaffolding of
//! `testkit`.

mod account;
mod algo;
mod attempts;
mod klines;
mod market;
mod matching;
mod orders;
mod params;
#[cfg(test)]
mod testkit;
mod trades;

pub use algo::MAX_OPEN_ALGO_ORDERS;
pub use attempts::{Attempt, Endpoint, Outcome};
pub use market::agg_json;
pub use params::Params;

use std::collections::{BTreeSet, HashMap};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::api_error::ApiError;
use crate::bus::Outbox;
use crate::config::MockConfig;
use crate::spec::{fmt_units, SymbolSpec};

use account::Position;
use algo::Algo;
use market::Market;
use trades::Trade;

/// MAX_NUM_ORDERS filter: open orders per symbol, normal and algo orders together.
pub const MAX_NUM_ORDERS: usize = 200;

/// Order side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Buy.
    Buy,
    /// Sell.
    Sell,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
    fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

/// Order status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Resting, nothing filled.
    New,
    /// Resting, partly filled.
    PartiallyFilled,
    /// Done, fully filled.
    Filled,
    /// Cancelled by the user.
    Canceled,
    /// Expired (IOC/market remainder, reduce-only with no position left).
    Expired,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::New => "NEW",
            Status::PartiallyFilled => "PARTIALLY_FILLED",
            Status::Filled => "FILLED",
            Status::Canceled => "CANCELED",
            Status::Expired => "EXPIRED",
        }
    }
    fn is_open(self) -> bool {
        matches!(self, Status::New | Status::PartiallyFilled)
    }
}

/// Time in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tif {
    /// Good till cancel.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post only.
    Gtx,
}

impl Tif {
    fn as_str(self) -> &'static str {
        match self {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
            Tif::Fok => "FOK",
            Tif::Gtx => "GTX",
        }
    }
}

/// One order the mock accepted.
#[derive(Debug, Clone)]
pub struct Order {
    /// Exchange id.
    pub id: u64,
    /// Client id.
    pub client_id: String,
    /// Symbol index.
    pub sym: usize,
    /// Side.
    pub side: Side,
    /// `true` = takes liquidity at any price (MARKET, LIQUIDATION), else LIMIT.
    pub market: bool,
    /// Wire type `o` / `type`: `MARKET`, `LIMIT` or `LIQUIDATION`.
    pub order_type: &'static str,
    /// Type the user sent (`STOP_MARKET` for a triggered algo order).
    pub orig_type: &'static str,
    /// Time in force.
    pub tif: Tif,
    /// Limit price units (0 for market).
    pub price: i64,
    /// Quantity units.
    pub qty: i64,
    /// Filled quantity units.
    pub executed: i64,
    /// Filled notional.
    pub cum_quote: f64,
    /// Status.
    pub status: Status,
    /// reduceOnly flag.
    pub reduce_only: bool,
    /// closePosition (triggered algo orders).
    pub close_position: bool,
    /// Trigger price units of the algo order it came from.
    pub stop_price: i64,
    /// `workingType` of the algo order it came from (`CONTRACT_PRICE` otherwise).
    pub working_type: &'static str,
    /// `priceProtect` of the algo order it came from.
    pub price_protect: bool,
    /// The algo order that placed it.
    pub algo_id: Option<u64>,
    /// Creation time (ms).
    pub time: u64,
    /// Last change (ms).
    pub update_time: u64,
    /// Book quantity ahead of this order at its price (queue model).
    queue_ahead: i64,
}

/// The whole exchange state.
#[derive(Debug)]
pub struct Engine {
    mk: Vec<Market>,
    pos: Vec<Position>,
    wallet: f64,
    orders: Vec<Order>,
    by_id: HashMap<u64, usize>,
    /// Indices of the orders still open (NEW / PARTIALLY_FILLED), ascending.
    open: BTreeSet<usize>,
    attempts: Vec<Attempt>,
    trades: Vec<Trade>,
    algos: Vec<Algo>,
    next_order_id: u64,
    next_algo_id: u64,
    next_trade_id: u64,
    data_now: u64,
    next_mark_1s: u64,
    next_mark_3s: u64,
    taker_fee: f64,
    maker_fee: f64,
    slippage_bps: f64,
    dual_side: bool,
    /// Commissions are reported in BNB (`MockConfig::fee_asset`).
    fee_bnb: bool,
    seed: u64,
    rng: ChaCha8Rng,
    out: Outbox,
    /// Replay has delivered its last event.
    pub replay_done: bool,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn f8(x: f64) -> String {
    format!("{x:.8}")
}

impl Engine {
    /// A fresh exchange over `specs`.
    pub fn new(specs: &[SymbolSpec], cfg: &MockConfig, out: Outbox) -> Self {
        let mk = specs.iter().map(|s| Market::new(*s)).collect();
        let pos = specs
            .iter()
            .map(|_| Position {
                leverage: cfg.default_leverage.max(1),
                ..Position::default()
            })
            .collect();
        Engine {
            mk,
            pos,
            wallet: cfg.starting_balance,
            orders: Vec::new(),
            by_id: HashMap::new(),
            open: BTreeSet::new(),
            attempts: Vec::new(),
            trades: Vec::new(),
            algos: Vec::new(),
            // Beyond 2^53 on purpose: clients must parse order ids as integers.
            next_order_id: 8_389_765_500_000_000_000,
            next_algo_id: 3_000_000_000,
            next_trade_id: 900_000_000,
            data_now: 0,
            next_mark_1s: 0,
            next_mark_3s: 0,
            taker_fee: cfg.taker_fee,
            maker_fee: cfg.maker_fee,
            slippage_bps: cfg.slippage_bps,
            dual_side: false,
            fee_bnb: cfg.fee_asset == "BNB",
            seed: cfg.seed,
            rng: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x0dde_c0de),
            out,
            replay_done: false,
        }
    }

    /// Symbol index by REST name.
    pub fn sym_index(&self, name: &str) -> Option<usize> {
        self.mk.iter().position(|m| m.spec.symbol == name)
    }

    fn sym_param(&self, p: &Params) -> Result<usize, ApiError> {
        let s = params::param(p, "symbol").ok_or_else(|| ApiError::mandatory("symbol"))?;
        self.sym_index(s).ok_or_else(ApiError::invalid_symbol)
    }

    /// Specs in index order.
    pub fn specs(&self) -> Vec<SymbolSpec> {
        self.mk.iter().map(|m| m.spec).collect()
    }

    /// Current data-clock time.
    pub fn data_now(&self) -> u64 {
        self.data_now
    }
}

/// Formats a float with fixed decimals (for the exchangeInfo strings).
pub fn fixed(v: i64, dp: u32) -> String {
    fmt_units(v, dp)
}
