//! Per-symbol order templates: exact decimal rounding, local filter checks and the
//! allocation-free signed order body.
//!
//! # Exact decimals
//! Every price and quantity is an integer count of units of `10^-dp`, where `dp` is the
//! number of decimals of the symbol's tick (price) or step (quantity) filter with
//! trailing zeros dropped. Rounding to the tick / step grid is integer arithmetic and the
//! wire text is printed from the integer, so the exchange never sees
//! `0.30000000000000004`: `0.1 + 0.2` rounded down to step `0.001` is written `0.300`.
//! Floats enter only at the boundary ([`SymbolRules::qty_from_f64`],
//! [`SymbolRules::price_from_f64`]) where a relative tolerance of 1e-12 absorbs binary
//! representation error (so `0.3 / 0.1`-style artefacts do not lose a whole step).
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

use shmtrader_core::Side;
use std::collections::HashMap;

use crate::error::{ExchangeError, Result};
use crate::sign::Signer;
use crate::wire::account::{ExchangeInfo, SymbolFilter, SymbolInfo};

/// Largest number of decimals a filter may have (keeps `units` well inside `i64`).
pub const MAX_DP: u32 = 16;

/// Which way to round onto a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    /// Toward zero / down.
    Down,
    /// Up.
    Up,
    /// Nearest; halves go up.
    Nearest,
}

/// How to round a limit price onto the tick grid, relative to the order's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceRounding {
    /// Away from the market: a buy rounds down, a sell up (never pays more than asked).
    Passive,
    /// Into the market: a buy rounds up, a sell down (more likely to fill).
    Aggressive,
    /// Nearest tick.
    Nearest,
}

/// A quantity in units of `10^-qty_dp` of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Qty(pub i64);

/// A price in units of `10^-price_dp` of its symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Price(pub i64);

const POW10: [i64; 19] = {
    let mut t = [1i64; 19];
    let mut i = 1;
    while i < 19 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Number of decimals of a decimal string, trailing zeros ignored (`"0.10"` → 1,
/// `"1000"` → 0, `"0.001"` → 3).
pub fn decimals(s: &str) -> u32 {
    match s.trim().split_once('.') {
        Some((_, frac)) => frac.trim_end_matches('0').len() as u32,
        None => 0,
    }
}

/// Parses a non-negative decimal string into units of `10^-dp`. Digits beyond `dp`
/// are rounded per `round`; `None` on malformed text or overflow.
pub fn parse_units(s: &str, dp: u32, round: Rounding) -> Option<i64> {
    if dp > MAX_DP {
        return None;
    }
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut v: i64 = 0;
    for b in int.bytes() {
        v = v.checked_mul(10)?.checked_add((b - b'0') as i64)?;
    }
    let fb = frac.as_bytes();
    for k in 0..dp as usize {
        let d = fb.get(k).map_or(0, |b| (b - b'0') as i64);
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    let rest = fb.get(dp as usize..).unwrap_or(&[]);
    if rest.iter().any(|b| *b != b'0') {
        let bump = match round {
            Rounding::Down => false,
            Rounding::Up => true,
            Rounding::Nearest => rest.first().is_some_and(|b| *b >= b'5'),
        };
        if bump {
            v = v.checked_add(1)?;
        }
    }
    Some(v)
}

/// Appends `units` as a decimal with `dp` decimals (`(300, 3)` → `0.300`). No allocation
/// beyond `out`'s own growth.
pub fn write_units(out: &mut Vec<u8>, units: i64, dp: u32) {
    let mut digits = [0u8; 24];
    let mut n = 0;
    let mut v = units.unsigned_abs();
    loop {
        digits[n] = b'0' + (v % 10) as u8;
        v /= 10;
        n += 1;
        if v == 0 {
            break;
        }
    }
    let dp = dp as usize;
    while n <= dp {
        digits[n] = b'0';
        n += 1;
    }
    if units < 0 {
        out.push(b'-');
    }
    for i in (0..n).rev() {
        out.push(digits[i]);
        if i == dp && dp > 0 {
            out.push(b'.');
        }
    }
}

/// `units` with `dp` decimals as a `String` (cold paths, messages, tests).
pub fn fmt_units(units: i64, dp: u32) -> String {
    let mut v = Vec::with_capacity(24);
    write_units(&mut v, units, dp);
    String::from_utf8_lossy(&v).into_owned()
}

fn write_u64(out: &mut Vec<u8>, v: u64) {
    write_units(out, v.min(i64::MAX as u64) as i64, 0);
}

/// Float to units with a relative tolerance, then rounded per `r`.
fn f64_to_units(x: f64, dp: u32, r: Rounding) -> Option<i64> {
    if !x.is_finite() || x < 0.0 || dp > MAX_DP {
        return None;
    }
    let scaled = x * POW10[dp as usize] as f64;
    if scaled >= 9.0e18 {
        return None;
    }
    let nearest = scaled.round();
    let tol = (scaled.abs() * 1e-12).max(1e-9);
    let u = if (scaled - nearest).abs() <= tol {
        nearest
    } else {
        match r {
            Rounding::Down => scaled.floor(),
            Rounding::Up => scaled.ceil(),
            Rounding::Nearest => nearest,
        }
    };
    Some(u as i64)
}

/// Rounds `units` onto the grid `anchor + k * step`.
fn snap(units: i64, anchor: i64, step: i64, r: Rounding) -> i64 {
    if step <= 1 {
        return units;
    }
    let off = units - anchor;
    let k = match r {
        Rounding::Down => off.div_euclid(step),
        Rounding::Up => (off + step - 1).div_euclid(step),
        Rounding::Nearest => (off + step / 2).div_euclid(step),
    };
    anchor + k * step
}

/// Quantity bounds and step of LOT_SIZE or MARKET_LOT_SIZE, in quantity units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LotRule {
    /// Minimum quantity.
    pub min: i64,
    /// Maximum quantity (0 = unlimited).
    pub max: i64,
    /// Step (≥ 1).
    pub step: i64,
}

/// A symbol's trading rules in integer units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolRules {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Decimals of a price.
    pub price_dp: u32,
    /// Tick in price units.
    pub tick: i64,
    /// Minimum price (0 = none).
    pub min_price: i64,
    /// Maximum price (0 = none).
    pub max_price: i64,
    /// Decimals of a quantity.
    pub qty_dp: u32,
    /// LOT_SIZE (limit orders).
    pub lot: LotRule,
    /// MARKET_LOT_SIZE (market orders); LOT_SIZE when the symbol has none.
    pub market_lot: LotRule,
    /// MIN_NOTIONAL in units of `10^-(price_dp + qty_dp)` (0 = none).
    pub min_notional: i128,
}

fn invalid(symbol: &str, reason: impl Into<String>) -> ExchangeError {
    ExchangeError::Invalid {
        what: "symbol rules",
        reason: format!("{symbol}: {}", reason.into()),
    }
}

impl SymbolRules {
    /// Rules from an exchangeInfo symbol. Refuses a symbol without PRICE_FILTER or
    /// LOT_SIZE, or with a zero tick / step: trading it would be guesswork.
    pub fn from_symbol_info(info: &SymbolInfo) -> Result<SymbolRules> {
        Self::from_filters(&info.symbol, &info.filters)
    }

    /// Rules from a symbol's filters.
    pub fn from_filters(symbol: &str, filters: &[SymbolFilter]) -> Result<SymbolRules> {
        let mut price = None;
        let mut lot = None;
        let mut mlot = None;
        let mut notional = None;
        for f in filters {
            match f {
                SymbolFilter::PriceFilter {
                    min_price,
                    max_price,
                    tick_size,
                } => price = Some((min_price, max_price, tick_size)),
                SymbolFilter::LotSize {
                    min_qty,
                    max_qty,
                    step_size,
                } => lot = Some((min_qty, max_qty, step_size)),
                SymbolFilter::MarketLotSize {
                    min_qty,
                    max_qty,
                    step_size,
                } => mlot = Some((min_qty, max_qty, step_size)),
                SymbolFilter::MinNotional { notional: n } => notional = Some(n),
                _ => {}
            }
        }
        let (pmin, pmax, tick) =
            price.ok_or_else(|| invalid(symbol, "no PRICE_FILTER in exchangeInfo"))?;
        let (lmin, lmax, lstep) =
            lot.ok_or_else(|| invalid(symbol, "no LOT_SIZE in exchangeInfo"))?;
        let price_dp = decimals(tick).max(decimals(pmin));
        let mut qty_dp = decimals(lstep).max(decimals(lmin));
        if let Some((mmin, _, mstep)) = mlot {
            qty_dp = qty_dp.max(decimals(mstep)).max(decimals(mmin));
        }
        if price_dp > MAX_DP || qty_dp > MAX_DP {
            return Err(invalid(symbol, "more than 16 decimals in a filter"));
        }
        let p = |s: &str, dp: u32, r: Rounding, what: &str| {
            parse_units(s, dp, r)
                .ok_or_else(|| invalid(symbol, format!("{what} {s:?} is not a decimal")))
        };
        let tick_u = p(tick, price_dp, Rounding::Up, "PRICE_FILTER tickSize")?;
        if tick_u <= 0 {
            return Err(invalid(symbol, "PRICE_FILTER tickSize is 0"));
        }
        let lot_rule = |min: &str, max: &str, step: &str, name: &str| -> Result<LotRule> {
            let step_u = p(step, qty_dp, Rounding::Up, name)?;
            if step_u <= 0 {
                return Err(invalid(symbol, format!("{name} stepSize is 0")));
            }
            Ok(LotRule {
                min: p(min, qty_dp, Rounding::Up, name)?,
                max: p(max, qty_dp, Rounding::Down, name)?,
                step: step_u,
            })
        };
        let lot = lot_rule(lmin, lmax, lstep, "LOT_SIZE")?;
        let market_lot = match mlot {
            Some((a, b, c)) => lot_rule(a, b, c, "MARKET_LOT_SIZE")?,
            None => lot,
        };
        let min_notional = match notional {
            Some(n) => {
                // Round up: a notional exactly at the limit must pass, never one below.
                let dp = price_dp + qty_dp;
                if dp > 18 {
                    return Err(invalid(symbol, "price and quantity decimals exceed 18"));
                }
                let v = parse_units(n, dp, Rounding::Up)
                    .or_else(|| {
                        // More than 16 decimals at this scale: whole units, rounded up
                        // (stricter than the exchange, never looser).
                        parse_units(n, 0, Rounding::Up)
                            .and_then(|w| w.checked_mul(POW10[dp as usize]))
                    })
                    .ok_or_else(|| {
                        invalid(symbol, format!("MIN_NOTIONAL {n:?} is not a decimal"))
                    })?;
                v as i128
            }
            None => 0,
        };
        Ok(SymbolRules {
            symbol: symbol.to_string(),
            price_dp,
            tick: tick_u,
            min_price: p(pmin, price_dp, Rounding::Up, "PRICE_FILTER minPrice")?,
            max_price: p(pmax, price_dp, Rounding::Down, "PRICE_FILTER maxPrice")?,
            qty_dp,
            lot,
            market_lot,
            min_notional,
        })
    }

    fn lot_for(&self, market: bool) -> &LotRule {
        if market {
            &self.market_lot
        } else {
            &self.lot
        }
    }

    /// A float quantity onto the LOT_SIZE (or MARKET_LOT_SIZE) step grid.
    pub fn qty_from_f64(&self, qty: f64, r: Rounding, market: bool) -> Result<Qty> {
        let u = f64_to_units(qty, self.qty_dp, r).ok_or_else(|| ExchangeError::Invalid {
            what: "quantity",
            reason: format!(
                "{}: {qty} is not a finite non-negative quantity",
                self.symbol
            ),
        })?;
        let lot = self.lot_for(market);
        Ok(Qty(snap(u, lot.min, lot.step, r).max(0)))
    }

    /// A float quantity rounded down onto the step grid (never more than asked).
    pub fn round_qty_down(&self, qty: f64) -> Result<Qty> {
        self.qty_from_f64(qty, Rounding::Down, false)
    }

    /// A float price onto the tick grid, rounded toward the passive or aggressive side.
    pub fn price_from_f64(&self, price: f64, side: Side, r: PriceRounding) -> Result<Price> {
        let dir = match (r, side) {
            (PriceRounding::Nearest, _) => Rounding::Nearest,
            (PriceRounding::Passive, Side::Buy) | (PriceRounding::Aggressive, Side::Sell) => {
                Rounding::Down
            }
            (PriceRounding::Passive, Side::Sell) | (PriceRounding::Aggressive, Side::Buy) => {
                Rounding::Up
            }
        };
        let u = f64_to_units(price, self.price_dp, dir).ok_or_else(|| ExchangeError::Invalid {
            what: "price",
            reason: format!(
                "{}: {price} is not a finite non-negative price",
                self.symbol
            ),
        })?;
        Ok(Price(snap(u, self.min_price, self.tick, dir).max(0)))
    }

    /// Parses an exact quantity string (refuses digits beyond the step's precision).
    pub fn parse_qty(&self, s: &str) -> Result<Qty> {
        parse_exact(s, self.qty_dp)
            .map(Qty)
            .ok_or_else(|| ExchangeError::Invalid {
                what: "quantity",
                reason: format!(
                    "{}: {s:?} is not a quantity with ≤ {} decimals",
                    self.symbol, self.qty_dp
                ),
            })
    }

    /// Parses an exact price string (refuses digits beyond the tick's precision).
    pub fn parse_price(&self, s: &str) -> Result<Price> {
        parse_exact(s, self.price_dp)
            .map(Price)
            .ok_or_else(|| ExchangeError::Invalid {
                what: "price",
                reason: format!(
                    "{}: {s:?} is not a price with ≤ {} decimals",
                    self.symbol, self.price_dp
                ),
            })
    }

    /// Wire text of a quantity (`0.300`).
    pub fn fmt_qty(&self, q: Qty) -> String {
        fmt_units(q.0, self.qty_dp)
    }

    /// Wire text of a price.
    pub fn fmt_price(&self, p: Price) -> String {
        fmt_units(p.0, self.price_dp)
    }

    /// Quantity as `f64` (display, risk maths).
    pub fn qty_f64(&self, q: Qty) -> f64 {
        q.0 as f64 / POW10[self.qty_dp as usize] as f64
    }

    /// Price as `f64`.
    pub fn price_f64(&self, p: Price) -> f64 {
        p.0 as f64 / POW10[self.price_dp as usize] as f64
    }

    fn filter_err(&self, filter: &'static str, detail: String) -> ExchangeError {
        ExchangeError::Filter {
            symbol: self.symbol.clone(),
            filter,
            detail,
        }
    }

    /// Checks an order against LOT_SIZE / MARKET_LOT_SIZE, PRICE_FILTER and MIN_NOTIONAL
    /// exactly as the exchange will. `price` is the limit price (None for market);
    /// `reference` is the price to judge a market order's notional by (the mark price);
    /// without it a market order's notional is left to the exchange. reduceOnly orders
    /// are exempt from MIN_NOTIONAL, as on Binance. Allocation-free when it passes.
    pub fn check(
        &self,
        qty: Qty,
        price: Option<Price>,
        reference: Option<Price>,
        reduce_only: bool,
    ) -> Result<()> {
        self.check_qty(qty, price.is_none())?;
        if let Some(p) = price {
            self.check_price(p)?;
        }
        if !reduce_only && self.min_notional > 0 {
            if let Some(px) = price.or(reference) {
                let notional = px.0 as i128 * qty.0 as i128;
                if notional < self.min_notional {
                    let dp = self.price_dp + self.qty_dp;
                    return Err(self.filter_err(
                        "MIN_NOTIONAL",
                        format!(
                            "notional {} (price {} x qty {}) below min notional {}",
                            fmt_units(notional.min(i64::MAX as i128) as i64, dp),
                            self.fmt_price(px),
                            self.fmt_qty(qty),
                            fmt_units(self.min_notional.min(i64::MAX as i128) as i64, dp)
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    /// LOT_SIZE (limit) or MARKET_LOT_SIZE (`market`) check of a quantity.
    pub fn check_qty(&self, qty: Qty, market: bool) -> Result<()> {
        let lot = self.lot_for(market);
        let lot_name = if market {
            "MARKET_LOT_SIZE"
        } else {
            "LOT_SIZE"
        };
        if qty.0 <= 0 {
            return Err(self.filter_err(lot_name, "quantity must be > 0".into()));
        }
        if qty.0 < lot.min {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} below min qty {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.min, self.qty_dp)
                ),
            ));
        }
        if lot.max > 0 && qty.0 > lot.max {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} above max qty {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.max, self.qty_dp)
                ),
            ));
        }
        if (qty.0 - lot.min).rem_euclid(lot.step) != 0 {
            return Err(self.filter_err(
                lot_name,
                format!(
                    "quantity {} not on step size {}",
                    self.fmt_qty(qty),
                    fmt_units(lot.step, self.qty_dp)
                ),
            ));
        }
        Ok(())
    }

    /// PRICE_FILTER check of a price (bounds and tick grid).
    pub fn check_price(&self, p: Price) -> Result<()> {
        if p.0 <= 0 || (self.min_price > 0 && p.0 < self.min_price) {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} below min price {}",
                    self.fmt_price(p),
                    fmt_units(self.min_price, self.price_dp)
                ),
            ));
        }
        if self.max_price > 0 && p.0 > self.max_price {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} above max price {}",
                    self.fmt_price(p),
                    fmt_units(self.max_price, self.price_dp)
                ),
            ));
        }
        if (p.0 - self.min_price).rem_euclid(self.tick) != 0 {
            return Err(self.filter_err(
                "PRICE_FILTER",
                format!(
                    "price {} not on tick size {}",
                    self.fmt_price(p),
                    fmt_units(self.tick, self.price_dp)
                ),
            ));
        }
        Ok(())
    }

    /// The smallest quantity on the step grid whose notional at `price` passes
    /// MIN_NOTIONAL and LOT_SIZE (for sizing up to the exchange minimum).
    pub fn min_qty_at(&self, price: Price, market: bool) -> Qty {
        let lot = self.lot_for(market);
        let mut q = lot.min.max(lot.step);
        if self.min_notional > 0 && price.0 > 0 {
            let need = (self.min_notional + price.0 as i128 - 1) / price.0 as i128;
            let need = need.min(i64::MAX as i128) as i64;
            q = q.max(snap(need, lot.min, lot.step, Rounding::Up));
        }
        Qty(q)
    }
}

/// Units of an exact decimal: `None` if it has non-zero digits beyond `dp`.
fn parse_exact(s: &str, dp: u32) -> Option<i64> {
    let down = parse_units(s, dp, Rounding::Down)?;
    (parse_units(s, dp, Rounding::Up)? == down).then_some(down)
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
    rules: SymbolRules,
    /// `[side][kind]` → constant request prefix.
    prefixes: [[Box<[u8]>; KINDS]; 2],
}

impl SymbolTemplate {
    /// Pre-renders every side × kind prefix of `rules`.
    pub fn new(rules: SymbolRules, cfg: &TemplateConfig) -> Result<SymbolTemplate> {
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
    pub fn rules(&self) -> &SymbolRules {
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
            book.insert(SymbolTemplate::new(SymbolRules::from_symbol_info(s)?, cfg)?);
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

    fn btc() -> SymbolRules {
        SymbolRules::from_filters(
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

    fn link() -> SymbolRules {
        SymbolRules::from_filters(
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
    fn decimals_and_parsing() {
        assert_eq!(decimals("0.10"), 1);
        assert_eq!(decimals("0.001"), 3);
        assert_eq!(decimals("1000"), 0);
        assert_eq!(decimals("1.00000000"), 0);
        assert_eq!(parse_units("0.001", 3, Rounding::Down), Some(1));
        assert_eq!(parse_units("64000.15", 1, Rounding::Down), Some(640_001));
        assert_eq!(parse_units("64000.15", 1, Rounding::Up), Some(640_002));
        assert_eq!(parse_units("64000.15", 1, Rounding::Nearest), Some(640_002));
        assert_eq!(parse_units("64000.14", 1, Rounding::Nearest), Some(640_001));
        assert_eq!(parse_units("5", 5, Rounding::Up), Some(500_000));
        assert_eq!(parse_units(".5", 1, Rounding::Up), Some(5));
        for bad in ["", ".", "-1", "1e5", "1.2.3", "abc", "99999999999999999999"] {
            assert_eq!(parse_units(bad, 2, Rounding::Down), None, "{bad}");
        }
    }

    #[test]
    fn formatting_from_integer_units() {
        assert_eq!(fmt_units(300, 3), "0.300");
        assert_eq!(fmt_units(640_001, 1), "64000.1");
        assert_eq!(fmt_units(7, 0), "7");
        assert_eq!(fmt_units(0, 2), "0.00");
        assert_eq!(fmt_units(-1500, 3), "-1.500");
        assert_eq!(fmt_units(i64::MAX, 0), i64::MAX.to_string());
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
        assert!(SymbolRules::from_filters("X", &[]).is_err());
    }

    #[test]
    fn float_artefacts_never_reach_the_wire() {
        let r = btc();
        let q = r.round_qty_down(0.1 + 0.2).unwrap();
        assert_eq!(r.fmt_qty(q), "0.300");
        // 0.3 / 0.1 = 2.9999999999999996: must not lose a step.
        let q = r.round_qty_down(0.3 / 0.1 * 0.001).unwrap();
        assert_eq!(r.fmt_qty(q), "0.003");
        let q = r.round_qty_down(0.0029).unwrap();
        assert_eq!(r.fmt_qty(q), "0.002");
        let q = r.qty_from_f64(0.0021, Rounding::Up, false).unwrap();
        assert_eq!(r.fmt_qty(q), "0.003");
        assert!(r.round_qty_down(f64::NAN).is_err());
        assert!(r.round_qty_down(-1.0).is_err());
    }

    #[test]
    fn step_rounding_on_a_coarse_grid() {
        let tick5 = SymbolRules::from_filters(
            "XUSDT",
            &[
                SymbolFilter::PriceFilter {
                    min_price: "0.05".into(),
                    max_price: "0".into(),
                    tick_size: "0.05".into(),
                },
                SymbolFilter::LotSize {
                    min_qty: "0.5".into(),
                    max_qty: "0".into(),
                    step_size: "0.5".into(),
                },
            ],
        )
        .unwrap();
        let p = |x, side, r| tick5.fmt_price(tick5.price_from_f64(x, side, r).unwrap());
        assert_eq!(p(10.07, Side::Buy, PriceRounding::Passive), "10.05");
        assert_eq!(p(10.07, Side::Buy, PriceRounding::Aggressive), "10.10");
        assert_eq!(p(10.07, Side::Sell, PriceRounding::Passive), "10.10");
        assert_eq!(p(10.07, Side::Sell, PriceRounding::Aggressive), "10.05");
        assert_eq!(p(10.07, Side::Sell, PriceRounding::Nearest), "10.05");
        assert_eq!(p(10.08, Side::Sell, PriceRounding::Nearest), "10.10");
        // exactly on the grid: no direction moves it
        assert_eq!(p(10.1, Side::Buy, PriceRounding::Aggressive), "10.10");
        assert_eq!(p(0.1 + 0.2, Side::Buy, PriceRounding::Aggressive), "0.30");
        let q = tick5.qty_from_f64(1.7, Rounding::Down, false).unwrap();
        assert_eq!(tick5.fmt_qty(q), "1.5");
        // maxPrice / maxQty "0" = no limit
        assert!(tick5
            .check(Qty(1_000_000), Some(Price(1_000_000_000)), None, false)
            .is_ok());
    }

    #[test]
    fn checks_name_the_filter() {
        let r = btc();
        let px = r.parse_price("64000.1").unwrap();
        let e = r.check(Qty(1), Some(px), None, false).unwrap_err();
        assert!(
            matches!(
                e,
                ExchangeError::Filter {
                    filter: "MIN_NOTIONAL",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("min notional 100"), "{e}");
        // reduceOnly is exempt
        r.check(Qty(1), Some(px), None, true).unwrap();
        // min notional at exactly the limit passes
        let p1000 = r.parse_price("100000").unwrap();
        r.check(Qty(1), Some(p1000), None, false).unwrap();
        let e = r.check(Qty(0), Some(px), None, false).unwrap_err();
        assert!(e.to_string().contains("LOT_SIZE"), "{e}");
        let e = r.check(Qty(200_000), None, Some(px), false).unwrap_err();
        assert!(
            matches!(
                e,
                ExchangeError::Filter {
                    filter: "MARKET_LOT_SIZE",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("above max qty 120.000"), "{e}");
        let l = link();
        let e = l
            .check(Qty(0), Some(Price(10_000)), None, true)
            .unwrap_err();
        assert!(e.to_string().contains("quantity must be > 0"), "{e}");
        // min qty
        let lr = SymbolRules {
            lot: LotRule {
                min: 5,
                max: 0,
                step: 1,
            },
            ..link()
        };
        let e = lr
            .check(Qty(3), Some(Price(10_000)), None, true)
            .unwrap_err();
        assert!(e.to_string().contains("below min qty 0.5"), "{e}");
        // market order: notional judged at the reference price when there is one
        let e = r.check(Qty(1), None, Some(px), false).unwrap_err();
        assert!(e.to_string().contains("MIN_NOTIONAL"));
        r.check(Qty(1), None, None, false).unwrap();
        // off the tick grid
        let e = r.check(Qty(10), Some(Price(0)), None, false).unwrap_err();
        assert!(e.to_string().contains("PRICE_FILTER"));
        assert_eq!(r.min_qty_at(px, false), Qty(2));
        assert_eq!(r.fmt_qty(r.min_qty_at(px, false)), "0.002");
    }

    #[test]
    fn exact_string_parsing_refuses_extra_precision() {
        let r = btc();
        assert_eq!(r.parse_price("64000.10").unwrap(), Price(640_001));
        assert!(r.parse_price("64000.15").is_err());
        assert_eq!(r.parse_qty("0.0010").unwrap(), Qty(1));
        assert_eq!(r.parse_qty("1").unwrap(), Qty(1000));
        assert!(r.parse_qty("0.0015").is_err());
        assert!(r.parse_qty("x").is_err());
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
