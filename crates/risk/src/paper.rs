//! Paper fills for paper mode without the mock exchange and for the backtest.
//!
//! Cost model, per fill of `qty` at reference (trade) price `P`, notional `N = qty × P`:
//! * **spread**: a market order crosses half the spread. The half-spread comes from the
//!   latest book top for the symbol ([`PaperBroker::on_book`]), else
//!   `default_half_spread_bps`.
//! * **impact**: `impact_coeff_bps × (N / impact_typical_notional_usd)` (linear) or
//!   `impact_coeff_bps × sqrt(N / impact_typical_notional_usd)` (square-root law, default).
//!   Expressed in notional rather than quantity so one knob fits every symbol.
//! * fill price: `P × (1 + s)` for buys, `P × (1 − s)` for sells, `s = half_spread + impact`.
//! * **fee**: `fill_price × qty × rate`, taker rate for market orders, maker for resting
//!   limits.
//! * **latency**: an order decided at `t` reaches the market at `t + latency_ns`; it fills
//!   on the first trade of its symbol at or after that time, at that trade's price. Orders
//!   wait in a fixed-capacity queue resolved by [`PaperBroker::on_tick`].
//!
//! Limit orders: once live, a buy fills when a trade prints strictly *below* the limit (a
//! print at the limit may be someone else's queue position), at the limit price as maker.
//! A limit that is marketable on arrival fills at once as taker at the slipped price,
//! never worse than the limit.

use crate::error::{Result, RiskError};
use crate::params::{ImpactModel, RiskParams};
use shmtrader_core::{Side, MAX_SYMBOLS};

/// Orders a [`PaperBroker`] can hold at once.
pub const PAPER_QUEUE_CAPACITY: usize = 128;

/// Who provided liquidity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liquidity {
    /// Took liquidity (market order, marketable limit).
    Taker,
    /// Rested on the book.
    Maker,
}

/// Order type of a paper order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PaperOrderKind {
    /// Market order.
    Market,
    /// Limit order at `price`.
    Limit {
        /// Limit price.
        price: f64,
    },
}

/// An order handed to the paper broker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperOrder {
    /// Caller's id (e.g. a hash of the client order id), echoed in the fill.
    pub id: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Quantity (already on the step grid).
    pub qty: f64,
    /// Market or limit.
    pub kind: PaperOrderKind,
    /// Carried through; enforced against the position by
    /// [`crate::RiskEngine::reduce_only_qty`] when the fill is applied.
    pub reduce_only: bool,
}

/// A simulated execution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaperFill {
    /// The order's id.
    pub id: u64,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Quantity.
    pub qty: f64,
    /// Execution price including spread and impact.
    pub price: f64,
    /// Fee in quote currency.
    pub fee: f64,
    /// Maker or taker.
    pub liquidity: Liquidity,
    /// The trade price the fill was based on.
    pub ref_price: f64,
    /// Cost of spread and impact versus `ref_price` (quote currency, >= 0).
    pub slippage_usd: f64,
    /// Fill time (the trade's time).
    pub ts_ns: u64,
}

/// Spread, impact and fee arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillModel {
    /// Taker fee rate.
    pub taker_fee: f64,
    /// Maker fee rate.
    pub maker_fee: f64,
    /// Fallback half-spread (fraction of price).
    pub default_half_spread: f64,
    /// Impact coefficient (fraction of price).
    pub impact_coeff: f64,
    /// Notional at which impact equals the coefficient.
    pub typical_notional: f64,
    /// Impact shape.
    pub impact_model: ImpactModel,
}

impl FillModel {
    /// From the paper-fill knobs of [`RiskParams`].
    pub fn from_params(p: &RiskParams) -> FillModel {
        FillModel {
            taker_fee: p.taker_fee,
            maker_fee: p.maker_fee,
            default_half_spread: p.default_half_spread_bps * 1e-4,
            impact_coeff: p.impact_coeff_bps * 1e-4,
            typical_notional: p.impact_typical_notional_usd,
            impact_model: p.impact_model,
        }
    }

    /// Impact as a fraction of price for an order of `notional`.
    pub fn impact(&self, notional: f64) -> f64 {
        let x = (notional / self.typical_notional).max(0.0);
        match self.impact_model {
            ImpactModel::Linear => self.impact_coeff * x,
            ImpactModel::SquareRoot => self.impact_coeff * x.sqrt(),
        }
    }

    /// Price and fee of a taker fill of `qty` against trade price `ref_price`.
    pub fn taker_fill(
        &self,
        side: Side,
        qty: f64,
        ref_price: f64,
        half_spread: Option<f64>,
    ) -> (f64, f64) {
        let hs = half_spread.unwrap_or(self.default_half_spread);
        let s = hs + self.impact(qty * ref_price);
        let price = ref_price * (1.0 + side.sign() * s);
        (price, price * qty * self.taker_fee)
    }

    /// Fee of a maker fill at `price`.
    pub fn maker_fee(&self, qty: f64, price: f64) -> f64 {
        price * qty * self.maker_fee
    }
}

/// The latest half-spread of each symbol (fraction of the mid), from book tops; `None`
/// until a usable top arrives, and then the fill model's default applies. Shared by the
/// paper broker and the shadow trades so both price a fill the same way.
#[derive(Debug, Clone)]
pub struct HalfSpreads([f64; MAX_SYMBOLS]);

impl Default for HalfSpreads {
    fn default() -> Self {
        HalfSpreads([f64::NAN; MAX_SYMBOLS])
    }
}

impl HalfSpreads {
    /// Records a book top; a crossed, empty or non-finite one is ignored.
    pub fn update(&mut self, symbol_id: u32, bid: f64, ask: f64) {
        if let Some(h) = self.0.get_mut(symbol_id as usize) {
            let mid = 0.5 * (bid + ask);
            if bid > 0.0 && ask >= bid && mid.is_finite() {
                *h = 0.5 * (ask - bid) / mid;
            }
        }
    }

    /// The symbol's half-spread, if a book top was seen.
    pub fn get(&self, symbol_id: u32) -> Option<f64> {
        self.0
            .get(symbol_id as usize)
            .copied()
            .filter(|h| h.is_finite())
    }
}

#[derive(Debug, Clone, Copy)]
struct Queued {
    order: PaperOrder,
    live_at_ns: u64,
    arrived: bool,
}

/// Latency-delayed paper execution of market and limit orders.
#[derive(Debug, Clone)]
pub struct PaperBroker {
    model: FillModel,
    latency_ns: u64,
    queue: [Option<Queued>; PAPER_QUEUE_CAPACITY],
    len: usize,
    half_spread: HalfSpreads,
}

impl PaperBroker {
    /// Broker with the paper knobs of `p`.
    pub fn new(p: &RiskParams) -> PaperBroker {
        PaperBroker {
            model: FillModel::from_params(p),
            latency_ns: p.latency_ns,
            queue: [None; PAPER_QUEUE_CAPACITY],
            len: 0,
            half_spread: HalfSpreads::default(),
        }
    }

    /// The cost model.
    pub fn model(&self) -> &FillModel {
        &self.model
    }

    /// Orders waiting.
    pub fn pending(&self) -> usize {
        self.len
    }

    /// Latest book top of a symbol: its half-spread replaces the default.
    pub fn on_book(&mut self, symbol_id: u32, bid: f64, ask: f64) {
        self.half_spread.update(symbol_id, bid, ask);
    }

    /// Queues an order decided at `decision_ts_ns`.
    pub fn submit(&mut self, order: PaperOrder, decision_ts_ns: u64) -> Result<()> {
        if !(order.qty.is_finite() && order.qty > 0.0) {
            return Err(RiskError::InvalidValue {
                what: "paper order qty",
                value: order.qty,
            });
        }
        if let PaperOrderKind::Limit { price } = order.kind {
            if !(price.is_finite() && price > 0.0) {
                return Err(RiskError::InvalidValue {
                    what: "paper limit price",
                    value: price,
                });
            }
        }
        let free = self
            .queue
            .iter_mut()
            .find(|q| q.is_none())
            .ok_or(RiskError::QueueFull {
                capacity: PAPER_QUEUE_CAPACITY,
            })?;
        *free = Some(Queued {
            order,
            live_at_ns: decision_ts_ns.saturating_add(self.latency_ns),
            arrived: false,
        });
        self.len += 1;
        Ok(())
    }

    /// Cancels a queued or resting order; false if it is not there (already filled).
    pub fn cancel(&mut self, id: u64) -> bool {
        for q in self.queue.iter_mut() {
            if matches!(q, Some(x) if x.order.id == id) {
                *q = None;
                self.len -= 1;
                return true;
            }
        }
        false
    }

    /// Feeds one trade; emits the fills it causes, in submission-slot order.
    pub fn on_tick(
        &mut self,
        symbol_id: u32,
        price: f64,
        ts_ns: u64,
        mut emit: impl FnMut(PaperFill),
    ) {
        if self.len == 0 || !(price.is_finite() && price > 0.0) {
            return;
        }
        let hs = self.half_spread.get(symbol_id);
        let model = self.model;
        for q in self.queue.iter_mut() {
            let Some(mut x) = *q else { continue };
            if x.order.symbol_id != symbol_id || ts_ns < x.live_at_ns {
                continue;
            }
            let o = x.order;
            let sign = o.side.sign();
            let fill = match o.kind {
                PaperOrderKind::Market => Some(taker(&model, o, price, hs, ts_ns, None)),
                PaperOrderKind::Limit { price: limit } => {
                    if !x.arrived {
                        x.arrived = true;
                        *q = Some(x);
                        // marketable on arrival: buy limit at/above the market
                        if sign * (limit - price) >= 0.0 {
                            Some(taker(&model, o, price, hs, ts_ns, Some(limit)))
                        } else {
                            None
                        }
                    } else if sign * (limit - price) > 0.0 {
                        Some(PaperFill {
                            id: o.id,
                            symbol_id,
                            side: o.side,
                            qty: o.qty,
                            price: limit,
                            fee: model.maker_fee(o.qty, limit),
                            liquidity: Liquidity::Maker,
                            ref_price: price,
                            slippage_usd: 0.0,
                            ts_ns,
                        })
                    } else {
                        None
                    }
                }
            };
            if let Some(f) = fill {
                *q = None;
                self.len -= 1;
                emit(f);
            }
        }
    }
}

fn taker(
    model: &FillModel,
    o: PaperOrder,
    price: f64,
    hs: Option<f64>,
    ts_ns: u64,
    limit: Option<f64>,
) -> PaperFill {
    let (mut px, _) = model.taker_fill(o.side, o.qty, price, hs);
    if let Some(l) = limit {
        px = if o.side == Side::Buy {
            px.min(l)
        } else {
            px.max(l)
        };
    }
    PaperFill {
        id: o.id,
        symbol_id: o.symbol_id,
        side: o.side,
        qty: o.qty,
        price: px,
        fee: px * o.qty * model.taker_fee,
        liquidity: Liquidity::Taker,
        ref_price: price,
        slippage_usd: (px - price).abs() * o.qty,
        ts_ns,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RiskParams {
        RiskParams {
            taker_fee: 0.0005,
            maker_fee: 0.0002,
            default_half_spread_bps: 1.0,
            impact_coeff_bps: 2.0,
            impact_typical_notional_usd: 10_000.0,
            impact_model: ImpactModel::SquareRoot,
            latency_ns: 1_000,
            ..RiskParams::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn market_fill_costs_by_hand() {
        let m = FillModel::from_params(&params());
        // buy 0.25 @ 10_000: notional 2_500 -> impact 2 bps * sqrt(0.25) = 1 bp;
        // half spread 1 bp -> s = 2 bp -> price 10_002; fee 10_002 * 0.25 * 0.0005 = 1.25025
        let (px, fee) = m.taker_fill(Side::Buy, 0.25, 10_000.0, None);
        assert!(close(px, 10_002.0), "{px}");
        assert!(close(fee, 1.25025), "{fee}");
        let (px, fee) = m.taker_fill(Side::Sell, 0.25, 10_000.0, None);
        assert!(close(px, 9_998.0));
        assert!(close(fee, 0.24995 * 5.0));
        let lin = FillModel {
            impact_model: ImpactModel::Linear,
            ..m
        };
        // linear: 2 bps * 0.25 = 0.5 bp -> s = 1.5 bp
        let (px, _) = lin.taker_fill(Side::Buy, 0.25, 10_000.0, None);
        assert!(close(px, 10_001.5));
        // maker fee: 10_000 * 0.25 * 0.0002 = 0.5
        assert!(close(m.maker_fee(0.25, 10_000.0), 0.5));
    }

    #[test]
    fn latency_fills_on_the_first_tick_at_or_after_due() {
        let mut b = PaperBroker::new(&params());
        let o = PaperOrder {
            id: 7,
            symbol_id: 1,
            side: Side::Buy,
            qty: 0.25,
            kind: PaperOrderKind::Market,
            reduce_only: false,
        };
        b.submit(o, 10_000).unwrap();
        let mut fills = Vec::new();
        b.on_tick(1, 9_000.0, 10_500, |f| fills.push(f)); // too early
        b.on_tick(0, 9_000.0, 11_000, |f| fills.push(f)); // other symbol
        assert!(fills.is_empty());
        b.on_tick(1, 10_000.0, 11_000, |f| fills.push(f)); // due: 10_000 + 1_000
        b.on_tick(1, 20_000.0, 12_000, |f| fills.push(f));
        assert_eq!(fills.len(), 1);
        let f = fills[0];
        assert_eq!(f.id, 7);
        assert_eq!(f.ts_ns, 11_000);
        assert!(close(f.price, 10_002.0));
        assert!(close(f.slippage_usd, 0.5));
        assert_eq!(f.liquidity, Liquidity::Taker);
        assert_eq!(b.pending(), 0);
    }

    #[test]
    fn book_spread_replaces_the_default() {
        let mut b = PaperBroker::new(&RiskParams {
            impact_coeff_bps: 0.0,
            ..params()
        });
        // bid 99.9 ask 100.1: half spread 0.1 / 100 = 10 bp
        b.on_book(0, 99.9, 100.1);
        let o = PaperOrder {
            id: 1,
            symbol_id: 0,
            side: Side::Sell,
            qty: 1.0,
            kind: PaperOrderKind::Market,
            reduce_only: true,
        };
        b.submit(o, 0).unwrap();
        let mut got = None;
        b.on_tick(0, 100.0, 1_000, |f| got = Some(f));
        assert!(close(got.unwrap().price, 99.9));
    }

    #[test]
    fn limit_orders_rest_then_fill_as_maker() {
        let mut b = PaperBroker::new(&params());
        let o = PaperOrder {
            id: 2,
            symbol_id: 0,
            side: Side::Buy,
            qty: 1.0,
            kind: PaperOrderKind::Limit { price: 99.0 },
            reduce_only: false,
        };
        b.submit(o, 0).unwrap();
        let mut fills = Vec::new();
        b.on_tick(0, 100.0, 1_000, |f| fills.push(f)); // arrives, not marketable
        b.on_tick(0, 99.0, 2_000, |f| fills.push(f)); // at the limit: not through
        assert!(fills.is_empty());
        b.on_tick(0, 98.9, 3_000, |f| fills.push(f));
        let f = fills[0];
        assert_eq!(f.liquidity, Liquidity::Maker);
        assert!(close(f.price, 99.0));
        assert!(close(f.fee, 99.0 * 0.0002));
        // marketable sell limit on arrival: taker, not worse than the limit
        let s = PaperOrder {
            id: 3,
            side: Side::Sell,
            kind: PaperOrderKind::Limit { price: 99.995 },
            ..o
        };
        b.submit(s, 10_000).unwrap();
        let mut fills = Vec::new();
        b.on_tick(0, 100.0, 11_000, |f| fills.push(f));
        assert_eq!(fills[0].liquidity, Liquidity::Taker);
        assert!(close(fills[0].price, 99.995), "{}", fills[0].price);
    }

    #[test]
    fn cancel_and_capacity() {
        let mut b = PaperBroker::new(&params());
        let o = PaperOrder {
            id: 0,
            symbol_id: 0,
            side: Side::Buy,
            qty: 1.0,
            kind: PaperOrderKind::Market,
            reduce_only: false,
        };
        for k in 0..PAPER_QUEUE_CAPACITY as u64 {
            b.submit(PaperOrder { id: k, ..o }, 0).unwrap();
        }
        assert!(matches!(b.submit(o, 0), Err(RiskError::QueueFull { .. })));
        assert!(b.cancel(5));
        assert!(!b.cancel(5));
        assert_eq!(b.pending(), PAPER_QUEUE_CAPACITY - 1);
        assert!(b.submit(PaperOrder { qty: 0.0, ..o }, 0).is_err());
    }
}
