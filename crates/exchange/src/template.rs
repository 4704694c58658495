//! Per-symbol order templates and the allocation-free signed order body.
//!
//! # Exact decimals
//! A symbol's rules are one [`Instrument`] (crates/core: integer units, exact rounding,
//! the exchange's filter checks); this module builds it from exchangeInfo filters
//! ([`instrument_from_filters`]) and prints the wire text from its integers, so the
//! exchange never sees `0.30000000000000004`.
//!
//! # Hot path
//! [`SymbolTemplate`] pre-renders, for every side × order kind, the constant part of the
//! request (`symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&newOrderRespType=RESULT&
//! recvWindow=5000`). [`OrderEncoder::encode`] then appends quantity, price, flags, the
//! client order id and the timestamp, signs, and appends the signature — all into one
//! reused buffer, with integer formatting on the stack: no allocation once the buffer has
//! grown to its working size (checked in the tests by its pointer and capacity).
//!
//! The `newClientOrderId` comes from the caller (the journal's deterministic
//! `client_order_id(instance, signal_seq, leg)`), so a restarted executor re-sends the
//! same id and the exchange's duplicate check (-4116) stops a double order.

use shmtrader_core::instrument::{write_units, DecimalFilters, Instrument};
pub use shmtrader_core::instrument::{Price, Qty};
use shmtrader_core::Side;
use std::collections::HashMap;

use crate::error::{ExchangeError, Result};
use crate::sign::Signer;
use crate::wire::account::{ExchangeInfo, SymbolFilter, SymbolInfo};

/// A symbol's rules from its exchangeInfo entry. Refuses a symbol without PRICE_FILTER
/// or LOT_SIZE, or with a zero tick / step: trading it would be guesswork.
pub fn instrument_from_info(info: &SymbolInfo) -> Result<Instrument> {
    instrument_from_filters(&info.symbol, &info.filters)
}

/// A symbol's rules from its filters (the one place exchangeInfo filters become an
/// [`Instrument`]).
pub fn instrument_from_filters(symbol: &str, filters: &[SymbolFilter]) -> Result<Instrument> {
    let mut f = DecimalFilters::default();
    let (mut price, mut lot) = (false, false);
    for filter in filters {
        match filter {
            SymbolFilter::PriceFilter {
                min_price,
                max_price,
                tick_size,
            } => {
                price = true;
                f.min_price = min_price;
                f.max_price = max_price;
                f.tick_size = tick_size;
            }
            SymbolFilter::LotSize {
                min_qty,
                max_qty,
                step_size,
            } => {
                lot = true;
                f.min_qty = min_qty;
                f.max_qty = max_qty;
                f.step_size = step_size;
            }
            SymbolFilter::MarketLotSize {
                min_qty,
                max_qty,
                step_size,
            } => {
                f.market_min_qty = min_qty;
                f.market_max_qty = max_qty;
                f.market_step_size = step_size;
            }
            SymbolFilter::MinNotional { notional } => f.min_notional = notional,
            _ => {}
        }
    }
    if !price {
        return Err(invalid(symbol, "no PRICE_FILTER in exchangeInfo"));
    }
    if !lot {
        return Err(invalid(symbol, "no LOT_SIZE in exchangeInfo"));
    }
    Ok(Instrument::from_decimals(symbol, &f)?)
}

fn invalid(symbol: &str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Invalid {
        what: "symbol rules",
        reason: format!("{symbol}: {}", reason.into()),
    }
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    write_units(out, v.min(i64::MAX as u64) as i64, 0);
}

/// Time in force of a limit order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeInForce {
    /// Good till cancelled.
    Gtc,
    /// Immediate or cancel.
    Ioc,
    /// Fill or kill.
    Fok,
    /// Post-only (Binance "GTX"): rejected (-5022) instead of taking liquidity.
    Gtx,
}

impl TimeInForce {
    /// Wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimeInForce::Gtc => "GTC",
            TimeInForce::Ioc => "IOC",
            TimeInForce::Fok => "FOK",
            TimeInForce::Gtx => "GTX",
        }
    }
}

/// The order types `/fapi/v1/order` still accepts (conditionals go through the algo
/// endpoint: see [`crate::rest::RestClient::new_algo_order`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// MARKET.
    Market,
    /// LIMIT with a time in force.
    Limit(TimeInForce),
}

impl OrderKind {
    const ALL: [OrderKind; 5] = [
        OrderKind::Market,
        OrderKind::Limit(TimeInForce::Gtc),
        OrderKind::Limit(TimeInForce::Ioc),
        OrderKind::Limit(TimeInForce::Fok),
        OrderKind::Limit(TimeInForce::Gtx),
    ];
    const fn index(self) -> usize {
        match self {
            OrderKind::Market => 0,
            OrderKind::Limit(TimeInForce::Gtc) => 1,
            OrderKind::Limit(TimeInForce::Ioc) => 2,
            OrderKind::Limit(TimeInForce::Fok) => 3,
            OrderKind::Limit(TimeInForce::Gtx) => 4,
        }
    }
    /// `MARKET` / `LIMIT`.
    pub const fn type_str(self) -> &'static str {
        match self {
            OrderKind::Market => "MARKET",
            OrderKind::Limit(_) => "LIMIT",
        }
    }
}

/// `newOrderRespType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespType {
    /// Answer once accepted (status NEW, nothing filled as far as the answer says).
    Ack,
    /// Answer after immediate matching (a market order comes back FILLED).
    Result,
}

/// What every template of a client shares.
#[derive(Debug, Clone, Copy)]
pub struct TemplateConfig {
    /// `recvWindow` in ms (Binance default 5000).
    pub recv_window_ms: u32,
    /// `newOrderRespType`.
    pub resp_type: RespType,
}

impl Default for TemplateConfig {
    fn default() -> Self {
        TemplateConfig {
            recv_window_ms: 5000,
            resp_type: RespType::Result,
        }
    }
}

const KINDS: usize = 5;

/// Rules plus the pre-rendered request prefixes of one symbol.
#[derive(Debug, Clone)]
pub struct SymbolTemplate {
    rules: Instrument,
    /// `[side][kind]` → constant request prefix.
    prefixes: [[Box<[u8]>; KINDS]; 2],
}

impl SymbolTemplate {
    /// Pre-renders every side × kind prefix of `rules`.
    pub fn new(rules: Instrument, cfg: &TemplateConfig) -> Result<SymbolTemplate> {
        if rules.symbol.is_empty()
            || !rules
                .symbol
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        {
            return Err(invalid(&rules.symbol, "symbol must be [A-Z0-9]+"));
        }
        let render = |side: Side, kind: OrderKind| -> Box<[u8]> {
            let mut s = format!(
                "symbol={}&side={}&type={}",
                rules.symbol,
                side.as_str(),
                kind.type_str()
            );
            if let OrderKind::Limit(tif) = kind {
                s.push_str("&timeInForce=");
                s.push_str(tif.as_str());
            }
            s.push_str(match cfg.resp_type {
                RespType::Ack => "&newOrderRespType=ACK",
                RespType::Result => "&newOrderRespType=RESULT",
            });
            s.push_str(&format!("&recvWindow={}", cfg.recv_window_ms));
            s.into_bytes().into_boxed_slice()
        };
        let prefixes = [Side::Buy, Side::Sell].map(|side| OrderKind::ALL.map(|k| render(side, k)));
        Ok(SymbolTemplate { rules, prefixes })
    }

    /// The symbol's rules.
    pub fn rules(&self) -> &Instrument {
        &self.rules
    }

    /// The constant request prefix for `side` and `kind`.
    pub fn prefix(&self, side: Side, kind: OrderKind) -> &[u8] {
        let s = match side {
            Side::Buy => 0,
            Side::Sell => 1,
        };
        &self.prefixes[s][kind.index()]
    }
}

/// Templates of every traded symbol, looked up by name at setup and by index on the hot
/// path.
#[derive(Debug, Clone, Default)]
pub struct TemplateBook {
    templates: Vec<SymbolTemplate>,
    by_name: HashMap<String, usize>,
}

impl TemplateBook {
    /// Templates for `symbols` from exchangeInfo; every requested symbol must be listed,
    /// `TRADING` and have usable filters, or the whole build fails (refuse to start
    /// rather than trade a symbol on guessed rules).
    pub fn from_exchange_info(
        info: &ExchangeInfo,
        symbols: &[&str],
        cfg: &TemplateConfig,
    ) -> Result<TemplateBook> {
        let mut book = TemplateBook::default();
        for name in symbols {
            let s = info
                .symbol(name)
                .ok_or_else(|| invalid(name, "not listed in exchangeInfo"))?;
            if s.status != "TRADING" {
                return Err(invalid(
                    name,
                    format!("status is {:?}, not TRADING", s.status),
                ));
            }
            book.insert(SymbolTemplate::new(instrument_from_info(s)?, cfg)?);
        }
        Ok(book)
    }

    /// Adds (or replaces) a symbol; returns its index.
    pub fn insert(&mut self, t: SymbolTemplate) -> usize {
        if let Some(&i) = self.by_name.get(&t.rules.symbol) {
            self.templates[i] = t;
            return i;
        }
        let i = self.templates.len();
        self.by_name.insert(t.rules.symbol.clone(), i);
        self.templates.push(t);
        i
    }

    /// Index of a symbol.
    pub fn index(&self, symbol: &str) -> Option<usize> {
        self.by_name.get(symbol).copied()
    }

    /// Template by name.
    pub fn get(&self, symbol: &str) -> Option<&SymbolTemplate> {
        self.index(symbol).and_then(|i| self.templates.get(i))
    }

    /// Template by index.
    pub fn at(&self, index: usize) -> Option<&SymbolTemplate> {
        self.templates.get(index)
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// No symbols.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

/// The variable part of a new order.
#[derive(Debug, Clone, Copy)]
pub struct OrderRequest<'a> {
    /// Side.
    pub side: Side,
    /// MARKET or LIMIT + time in force.
    pub kind: OrderKind,
    /// Quantity on the step grid.
    pub qty: Qty,
    /// Limit price on the tick grid (ignored for MARKET).
    pub price: Price,
    /// reduceOnly.
    pub reduce_only: bool,
    /// Deterministic client order id (`^[.A-Z:/a-z0-9_-]{1,36}$`).
    pub client_order_id: &'a str,
    /// Price to judge a MARKET order's notional by (mark price); `None` leaves that
    /// check to the exchange.
    pub reference_price: Option<Price>,
}

impl OrderRequest<'_> {
    /// The limit price, `None` for market orders.
    pub fn limit_price(&self) -> Option<Price> {
        match self.kind {
            OrderKind::Market => None,
            OrderKind::Limit(_) => Some(self.price),
        }
    }
}

/// True if `id` matches Binance's `^[\.A-Z\:/a-z0-9_-]{1,36}$`.
pub fn is_valid_client_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-'))
}

/// Appends a client order id form-encoded (`:` and `/` are reserved in forms).
fn write_coid(out: &mut Vec<u8>, id: &str) {
    for b in id.bytes() {
        match b {
            b':' => out.extend_from_slice(b"%3A"),
            b'/' => out.extend_from_slice(b"%2F"),
            _ => out.push(b),
        }
    }
}

/// Builds signed order bodies into one reused buffer.
pub struct OrderEncoder {
    signer: Signer,
    buf: Vec<u8>,
}

impl std::fmt::Debug for OrderEncoder {
    /// The last body is not printed: it is a complete signed request.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderEncoder")
            .field("signer", &self.signer)
            .field("buffered_bytes", &self.buf.len())
            .finish()
    }
}

impl OrderEncoder {
    /// An encoder signing with `signer`; its buffer starts at 512 bytes, more than any
    /// single order needs, so it never grows on the hot path.
    pub fn new(signer: Signer) -> OrderEncoder {
        OrderEncoder {
            signer,
            buf: Vec::with_capacity(512),
        }
    }

    /// Checks `req` against the symbol's filters, then renders
    /// `<prefix>&quantity=..[&price=..][&reduceOnly=true]&newClientOrderId=..&timestamp=..&signature=..`
    /// and returns it (the form body of `POST /fapi/v1/order`).
    pub fn encode(
        &mut self,
        tpl: &SymbolTemplate,
        req: &OrderRequest<'_>,
        timestamp_ms: u64,
    ) -> Result<&[u8]> {
        let rules = &tpl.rules;
        if !is_valid_client_order_id(req.client_order_id) {
            return Err(ExchangeError::Invalid {
                what: "newClientOrderId",
                reason: format!(
                    "{:?} does not match ^[.A-Z:/a-z0-9_-]{{1,36}}$",
                    req.client_order_id
                ),
            });
        }
        rules.check(
            req.qty,
            req.limit_price(),
            req.reference_price,
            req.reduce_only,
        )?;
        let b = &mut self.buf;
        b.clear();
        b.extend_from_slice(tpl.prefix(req.side, req.kind));
        b.extend_from_slice(b"&quantity=");
        write_units(b, req.qty.0, rules.qty_dp);
        if let OrderKind::Limit(_) = req.kind {
            b.extend_from_slice(b"&price=");
            write_units(b, req.price.0, rules.price_dp);
        }
        if req.reduce_only {
            b.extend_from_slice(b"&reduceOnly=true");
        }
        b.extend_from_slice(b"&newClientOrderId=");
        write_coid(b, req.client_order_id);
        b.extend_from_slice(b"&timestamp=");
        write_u64(b, timestamp_ms);
        self.signer.append_signature(b);
        Ok(&self.buf)
    }

    /// The last encoded body.
    pub fn body(&self) -> &[u8] {
        &self.buf
    }

    /// Buffer identity and capacity (tests check that encoding never reallocates).
    pub fn buffer_stats(&self) -> (usize, usize) {
        (self.buf.as_ptr() as usize, self.buf.capacity())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sign::ApiSecret;
    use shmtrader_core::instrument::PriceRounding;

    fn btc() -> Instrument {
        instrument_from_filters(
            "BTCUSDT",
            &[
                SymbolFilter::PriceFilter {
                    min_price: "0.10".into(),
                    max_price: "1000000".into(),
                    tick_size: "0.10".into(),
                },
                SymbolFilter::LotSize {
                    min_qty: "0.001".into(),
                    max_qty: "1000".into(),
                    step_size: "0.001".into(),
                },
                SymbolFilter::MarketLotSize {
                    min_qty: "0.001".into(),
                    max_qty: "120".into(),
                    step_size: "0.001".into(),
                },
                SymbolFilter::MinNotional {
                    notional: "100".into(),
                },
            ],
        )
        .unwrap()
    }

    fn link() -> Instrument {
        instrument_from_filters(
            "LINKUSDT",
            &[
                SymbolFilter::PriceFilter {
                    min_price: "0.001".into(),
                    max_price: "100000".into(),
                    tick_size: "0.001".into(),
                },
                SymbolFilter::LotSize {
                    min_qty: "0.10".into(),
                    max_qty: "200000".into(),
                    step_size: "0.10".into(),
                },
                SymbolFilter::MinNotional {
                    notional: "5".into(),
                },
            ],
        )
        .unwrap()
    }

    #[test]
    fn rules_from_filters() {
        let r = btc();
        assert_eq!((r.price_dp, r.tick, r.min_price), (1, 1, 1));
        assert_eq!(r.max_price, 10_000_000);
        assert_eq!(
            (r.qty_dp, r.lot.step, r.lot.min, r.lot.max),
            (3, 1, 1, 1_000_000)
        );
        assert_eq!(r.market_lot.max, 120_000);
        assert_eq!(r.min_notional, 100 * 10_000);
        let l = link();
        assert_eq!((l.qty_dp, l.lot.step, l.lot.min), (1, 1, 1));
        assert!(instrument_from_filters("X", &[]).is_err());
    }

    fn encoder() -> OrderEncoder {
        OrderEncoder::new(Signer::new(&ApiSecret::new("paper-secret").unwrap()).unwrap())
    }

    #[test]
    fn encoded_body_is_exact_and_signed() {
        let tpl = SymbolTemplate::new(btc(), &TemplateConfig::default()).unwrap();
        let mut enc = encoder();
        let req = OrderRequest {
            side: Side::Sell,
            kind: OrderKind::Limit(TimeInForce::Gtx),
            qty: tpl.rules().round_qty_down(0.1 + 0.2).unwrap(),
            price: tpl
                .rules()
                .price_from_f64(64_000.123, Side::Sell, PriceRounding::Passive)
                .unwrap(),
            reduce_only: true,
            client_order_id: "prodeu1:fm47ecxk8q-9ix-0",
            reference_price: None,
        };
        let body =
            String::from_utf8(enc.encode(&tpl, &req, 1_700_000_000_123).unwrap().to_vec()).unwrap();
        let (unsigned, sig) = body.rsplit_once("&signature=").unwrap();
        assert_eq!(
            unsigned,
            "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTX&newOrderRespType=RESULT&recvWindow=5000\
             &quantity=0.300&price=64000.2&reduceOnly=true&newClientOrderId=prodeu1%3Afm47ecxk8q-9ix-0\
             &timestamp=1700000000123"
        );
        let signer = Signer::new(&ApiSecret::new("paper-secret").unwrap()).unwrap();
        assert_eq!(sig, signer.sign(unsigned));
        // market: no price, no timeInForce
        let m = OrderRequest {
            kind: OrderKind::Market,
            side: Side::Buy,
            reduce_only: false,
            client_order_id: "paper-1-0",
            ..req
        };
        let body = String::from_utf8(enc.encode(&tpl, &m, 5).unwrap().to_vec()).unwrap();
        assert!(body.starts_with(
            "symbol=BTCUSDT&side=BUY&type=MARKET&newOrderRespType=RESULT&recvWindow=5000&quantity=0.300&newClientOrderId=paper-1-0&timestamp=5&signature="
        ), "{body}");
    }

    #[test]
    fn encoding_refuses_bad_orders_before_anything_is_built() {
        let tpl = SymbolTemplate::new(btc(), &TemplateConfig::default()).unwrap();
        let mut enc = encoder();
        let ok = OrderRequest {
            side: Side::Buy,
            kind: OrderKind::Limit(TimeInForce::Gtc),
            qty: Qty(10),
            price: Price(640_000),
            reduce_only: false,
            client_order_id: "a-1-0",
            reference_price: None,
        };
        enc.encode(&tpl, &ok, 1).unwrap();
        let bad_id = OrderRequest {
            client_order_id: "has space",
            ..ok
        };
        assert!(enc.encode(&tpl, &bad_id, 1).is_err());
        let long = "x".repeat(37);
        let bad_id = OrderRequest {
            client_order_id: &long,
            ..ok
        };
        assert!(enc.encode(&tpl, &bad_id, 1).is_err());
        let small = OrderRequest { qty: Qty(1), ..ok };
        let e = enc.encode(&tpl, &small, 1).unwrap_err();
        assert!(e.to_string().contains("MIN_NOTIONAL"), "{e}");
    }

    #[test]
    fn encoding_does_not_reallocate() {
        let tpl = SymbolTemplate::new(btc(), &TemplateConfig::default()).unwrap();
        let mut enc = encoder();
        let before = enc.buffer_stats();
        for i in 0..10_000u64 {
            let req = OrderRequest {
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                kind: OrderKind::ALL[(i % 5) as usize],
                qty: Qty(119_999),
                price: Price(9_999_999),
                reduce_only: i % 3 == 0,
                client_order_id: "abcdefghijklmnopqrstuvwxyz:/abcdefgh",
                reference_price: None,
            };
            enc.encode(&tpl, &req, u64::MAX / 2).unwrap();
        }
        assert_eq!(enc.buffer_stats(), before);
    }

    #[test]
    fn book_from_exchange_info() {
        let info: ExchangeInfo = serde_json::from_str(
            r#"{"symbols":[{"symbol":"BTCUSDT","status":"TRADING","filters":[
                {"filterType":"PRICE_FILTER","minPrice":"0.10","maxPrice":"1000000","tickSize":"0.10"},
                {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"}]},
               {"symbol":"OLDUSDT","status":"SETTLING","filters":[]}]}"#,
        )
        .unwrap();
        let cfg = TemplateConfig::default();
        let book = TemplateBook::from_exchange_info(&info, &["BTCUSDT"], &cfg).unwrap();
        assert_eq!(book.len(), 1);
        assert_eq!(book.index("BTCUSDT"), Some(0));
        assert_eq!(
            book.get("BTCUSDT").unwrap().rules().market_lot,
            book.at(0).unwrap().rules().lot
        );
        let e = TemplateBook::from_exchange_info(&info, &["OLDUSDT"], &cfg).unwrap_err();
        assert!(e.to_string().contains("SETTLING"), "{e}");
        assert!(TemplateBook::from_exchange_info(&info, &["NOPEUSDT"], &cfg).is_err());
    }
}
