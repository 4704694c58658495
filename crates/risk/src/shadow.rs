//! Shadow trades: what the risk rules would have done with a signal that was not traded.
//!
//! The ML filter needs a label for every signal, not only for the ones it let through:
//! otherwise it can never learn that a signal it rejects would have won, and its
//! rejected signals' win rate (the figure that says whether rejecting pays) is unknown.
//! A shadow trade is that label: the signal entered as a market order at the first trade
//! of its symbol at or after `decision + latency`, exited by the very [`ExitPlan`] the
//! live position would carry (ATR stop, take profit, trailing stop, time stop), the exit
//! filled at the first trade at or after `trigger + latency`, both fills priced by the
//! paper [`FillModel`] (half-spread from the book when known, impact, taker fee).
//!
//! What a shadow trade leaves out, on purpose: the account. It has a fixed reference
//! notional, is never refused by the gate (drawdown halt, position limits, correlation)
//! and is not closed by a reversal; so it answers "was this signal worth taking?", not
//! "what would the account have done?". Funding is not charged: at most one 8-hour
//! settlement falls in a 30-minute hold, and at 0.01 % it is a tenth of a taker fee.
//!
//! A trade scans every open shadow (all symbols', in one array: O(open shadows), which
//! is a handful at a time with holds of 30 minutes); capacity is reserved up front and a
//! shadow beyond it is refused and counted, so a stream of signals cannot grow memory.

use crate::error::{Result, RiskError};
use crate::exits::ExitPlan;
use crate::paper::{FillModel, HalfSpreads};
use crate::params::RiskParams;
use shmtrader_core::{ExitReason, Outcome, Side, MAX_SYMBOLS};

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    /// Entry order travelling to the market.
    Entering { live_at_ns: u64 },
    /// Position open: exits checked on every trade.
    Open,
    /// Exit triggered; the closing order reaches the market at `live_at_ns`.
    Exiting { live_at_ns: u64, reason: ExitReason },
}

#[derive(Debug, Clone, Copy)]
struct Shadow {
    signal_seq: u64,
    symbol_id: u32,
    side: Side,
    atr: f64,
    state: State,
    entry_ts_ns: u64,
    entry_px: f64,
    qty: f64,
    entry_fee: f64,
    plan: ExitPlan,
}

/// Open shadow trades of every symbol (see the module doc).
#[derive(Debug, Clone)]
pub struct ShadowBook {
    params: RiskParams,
    model: FillModel,
    notional_usd: f64,
    capacity: usize,
    open: Vec<Shadow>,
    half_spread: HalfSpreads,
    refused: u64,
    closed: u64,
}

impl ShadowBook {
    /// A book pricing shadows of `notional_usd` with the exits and fill costs of `p`,
    /// holding at most `capacity` at once.
    pub fn new(p: &RiskParams, notional_usd: f64, capacity: usize) -> Result<ShadowBook> {
        p.validate()?;
        if !(notional_usd.is_finite() && notional_usd > 0.0) {
            return Err(RiskError::InvalidValue {
                what: "shadow notional",
                value: notional_usd,
            });
        }
        Ok(ShadowBook {
            params: *p,
            model: FillModel::from_params(p),
            notional_usd,
            capacity,
            open: Vec::with_capacity(capacity),
            half_spread: HalfSpreads::default(),
            refused: 0,
            closed: 0,
        })
    }

    /// Starts a shadow of signal `signal_seq` decided at `decision_ts_ns`, with the ATR
    /// the gate would have frozen into its stops. False (and counted) when the ATR is not
    /// usable or the book is full.
    pub fn open(
        &mut self,
        signal_seq: u64,
        symbol_id: u32,
        side: Side,
        atr: f64,
        decision_ts_ns: u64,
    ) -> bool {
        if self.open.len() >= self.capacity
            || !(atr.is_finite() && atr > 0.0)
            || symbol_id as usize >= MAX_SYMBOLS
        {
            self.refused += 1;
            return false;
        }
        self.open.push(Shadow {
            signal_seq,
            symbol_id,
            side,
            atr,
            state: State::Entering {
                live_at_ns: decision_ts_ns.saturating_add(self.params.latency_ns),
            },
            entry_ts_ns: 0,
            entry_px: 0.0,
            qty: 0.0,
            entry_fee: 0.0,
            plan: ExitPlan::default(),
        });
        true
    }

    /// Latest book top of a symbol: its half-spread prices the fills (as the paper
    /// broker does).
    pub fn on_book(&mut self, symbol_id: u32, bid: f64, ask: f64) {
        self.half_spread.update(symbol_id, bid, ask);
    }

    /// Feeds one trade of `symbol_id`; emits the outcome of every shadow it closes
    /// (`net_pnl` at the reference notional, after spread, impact and fees).
    pub fn on_tick(
        &mut self,
        symbol_id: u32,
        price: f64,
        ts_ns: u64,
        mut emit: impl FnMut(Outcome),
    ) {
        if self.open.is_empty() || !(price.is_finite() && price > 0.0) {
            return;
        }
        let hs = self.half_spread.get(symbol_id);
        let mut i = 0;
        while i < self.open.len() {
            let s = &mut self.open[i];
            if s.symbol_id != symbol_id {
                i += 1;
                continue;
            }
            // Order of a trade, as in the backtest loop: exits are checked on the
            // position, then orders that reached the market fill at this price. A shadow
            // that enters on this trade is checked from the next one.
            if s.state == State::Open {
                if let Some(reason) = s.plan.check(price, ts_ns) {
                    s.state = State::Exiting {
                        live_at_ns: ts_ns.saturating_add(self.params.latency_ns),
                        reason,
                    };
                }
            }
            match s.state {
                State::Entering { live_at_ns } if ts_ns >= live_at_ns => {
                    let qty = self.notional_usd / price;
                    let (px, fee) = self.model.taker_fill(s.side, qty, price, hs);
                    s.entry_ts_ns = ts_ns;
                    s.entry_px = px;
                    s.qty = qty;
                    s.entry_fee = fee;
                    s.plan = ExitPlan::new(&self.params, s.side, px, s.atr, ts_ns);
                    s.state = State::Open;
                }
                State::Exiting { live_at_ns, reason } if ts_ns >= live_at_ns => {
                    let (px, fee) = self.model.taker_fill(s.side.opposite(), s.qty, price, hs);
                    let fees = s.entry_fee + fee;
                    emit(Outcome {
                        symbol_id,
                        side: s.side.code(),
                        exit_reason: reason.code(),
                        _pad: 0,
                        signal_seq: s.signal_seq,
                        entry_ts_ns: s.entry_ts_ns,
                        exit_ts_ns: ts_ns,
                        entry_px: s.entry_px,
                        exit_px: px,
                        net_pnl: s.side.sign() * (px - s.entry_px) * s.qty - fees,
                        fees,
                    });
                    self.open.swap_remove(i);
                    self.closed += 1;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
    }

    /// Shadows not yet closed.
    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    /// Shadows refused (book full or ATR unknown).
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Shadows closed.
    pub fn closed(&self) -> u64 {
        self.closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RiskParams {
        RiskParams {
            stop_atr_mult: 2.0,
            take_profit_atr_mult: 3.0,
            trail_activation_atr_mult: 0.0,
            max_hold_ns: 1_000_000_000,
            latency_ns: 10,
            taker_fee: 0.0005,
            default_half_spread_bps: 1.0,
            impact_coeff_bps: 0.0,
            ..RiskParams::default()
        }
    }

    fn run(book: &mut ShadowBook, ticks: &[(f64, u64)]) -> Vec<Outcome> {
        let mut out = Vec::new();
        for &(px, ts) in ticks {
            book.on_tick(0, px, ts, |o| out.push(o));
        }
        out
    }

    /// A long at 100 with ATR 1: entry on the first trade at or after decision +
    /// latency, take profit at entry + 3, filled on the first trade at or after the
    /// trigger + latency; every price by hand.
    #[test]
    fn take_profit_by_hand() {
        let mut b = ShadowBook::new(&params(), 1_000.0, 8).unwrap();
        assert!(b.open(7, 0, Side::Buy, 1.0, 100));
        // ts 105 is before decision + latency (110): no fill. Entry at 100 on ts 110.
        let out = run(
            &mut b,
            &[
                (99.0, 105),
                (100.0, 110),
                (102.0, 200),
                (103.1, 300),
                (104.0, 305),
                (90.0, 310),
            ],
        );
        assert_eq!(out.len(), 1);
        let o = out[0];
        let qty = 10.0;
        let entry = 100.0 * (1.0 + 1e-4);
        assert_eq!((o.signal_seq, o.entry_ts_ns, o.exit_ts_ns), (7, 110, 310));
        assert_eq!(o.entry_px, entry);
        // TP level = entry + 3 = 103.01: 103.1 at ts 300 triggers; the exit order lives
        // at 310 and fills at that trade's price, 90, less the half-spread.
        assert_eq!(
            ExitReason::from_code(o.exit_reason),
            Some(ExitReason::TakeProfit)
        );
        let exit = 90.0 * (1.0 - 1e-4);
        assert_eq!(o.exit_px, exit);
        let fees = entry * qty * 0.0005 + exit * qty * 0.0005;
        assert!((o.fees - fees).abs() < 1e-12);
        assert!((o.net_pnl - ((exit - entry) * qty - fees)).abs() < 1e-9);
        assert_eq!((b.open_count(), b.closed()), (0, 1));
    }

    #[test]
    fn short_stop_and_time_stop_and_book_spread() {
        let mut b = ShadowBook::new(
            &RiskParams {
                latency_ns: 0,
                ..params()
            },
            500.0,
            8,
        )
        .unwrap();
        b.on_book(0, 49.99, 50.01); // half-spread 2e-4
        assert!(b.open(1, 0, Side::Sell, 0.5, 0));
        assert!(b.open(2, 0, Side::Buy, 0.5, 0));
        // Both enter at 50 on ts 0. The short's stop is 50·(1−2e-4) + 1 ≈ 50.99: 51.5
        // stops it on the same trade (latency 0). The long is held to its time stop.
        let out = run(&mut b, &[(50.0, 0), (51.5, 10), (51.2, 1_000_000_000)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].signal_seq, 1);
        assert_eq!(
            ExitReason::from_code(out[0].exit_reason),
            Some(ExitReason::Stop)
        );
        assert_eq!(out[0].exit_px, 51.5 * (1.0 + 2e-4));
        assert!(out[0].net_pnl < 0.0);
        assert_eq!(out[1].signal_seq, 2);
        assert_eq!(
            ExitReason::from_code(out[1].exit_reason),
            Some(ExitReason::Time)
        );
        assert!(out[1].net_pnl > 0.0);
    }

    #[test]
    fn other_symbols_bad_prices_capacity_and_bad_atr() {
        let mut b = ShadowBook::new(&params(), 1_000.0, 1).unwrap();
        assert!(!b.open(1, 0, Side::Buy, f64::NAN, 0));
        assert!(!b.open(1, 0, Side::Buy, 0.0, 0));
        assert!(b.open(1, 0, Side::Buy, 1.0, 0));
        assert!(!b.open(2, 0, Side::Buy, 1.0, 0));
        assert_eq!(b.refused(), 3);
        let mut n = 0;
        b.on_tick(1, 100.0, 50, |_| n += 1);
        b.on_tick(0, f64::NAN, 50, |_| n += 1);
        b.on_tick(0, -1.0, 50, |_| n += 1);
        assert_eq!(n, 0);
        // Still entering: the symbol-1 trade and the bad prices did not fill it.
        b.on_tick(0, 100.0, 50, |_| n += 1);
        b.on_tick(0, 90.0, 60, |_| n += 1);
        b.on_tick(0, 90.0, 70, |_| n += 1);
        assert_eq!(n, 1);
        assert!(ShadowBook::new(&params(), 0.0, 1).is_err());
    }
}
