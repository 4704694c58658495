//! One-way-mode position accounting: one signed net quantity per symbol.
//!
//! Size is kept as a signed *integer number of exchange steps*, so a position that is
//! closed in pieces lands on exactly zero instead of on `1e-17` (which would leave a ghost
//! position that can never be flattened). Prices and money are `f64`: PnL never goes to
//! the exchange, and the error of double arithmetic on them is far below a cent.
//!
//! Conventions: `fee` is positive when paid; funding PnL is positive when received;
//! realized PnL is gross of fees and funding; `net = realized - fees + funding`.

use shmtrader_core::{ExitReason, Outcome, Side};

/// What a fill did to a position.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FillEffect {
    /// Steps that reduced or closed the previous position.
    pub closed_steps: u64,
    /// Steps that opened or increased a position.
    pub opened_steps: u64,
    /// Gross PnL realized by the closing part.
    pub realized_pnl: f64,
    /// The trade that this fill ended, if it took the position to zero or through it.
    pub closed_trade: Option<ClosedTrade>,
    /// True when the fill started a new trade (from flat, or the far side of a flip).
    pub opened_trade: bool,
}

/// A finished round trip: from flat to flat (or to the flip point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClosedTrade {
    /// Symbol id.
    pub symbol_id: u32,
    /// Direction of the trade.
    pub side: Side,
    /// Signal that opened it.
    pub signal_seq: u64,
    /// First fill time.
    pub entry_ts_ns: u64,
    /// Last (closing) fill time.
    pub exit_ts_ns: u64,
    /// Average entry price.
    pub entry_px: f64,
    /// Quantity-weighted average exit price.
    pub exit_px: f64,
    /// Largest absolute size reached.
    pub max_qty: f64,
    /// Gross realized PnL.
    pub realized_pnl: f64,
    /// Fees paid by this trade (entry and exit share).
    pub fees: f64,
    /// Funding received (negative: paid) while it was open.
    pub funding: f64,
}

impl ClosedTrade {
    /// `realized - fees + funding`.
    pub fn net_pnl(&self) -> f64 {
        self.realized_pnl - self.fees + self.funding
    }

    /// The record published on the outcomes ring.
    pub fn to_outcome(&self, reason: ExitReason) -> Outcome {
        Outcome {
            symbol_id: self.symbol_id,
            side: self.side.code(),
            exit_reason: reason.code(),
            _pad: 0,
            signal_seq: self.signal_seq,
            entry_ts_ns: self.entry_ts_ns,
            exit_ts_ns: self.exit_ts_ns,
            entry_px: self.entry_px,
            exit_px: self.exit_px,
            net_pnl: self.net_pnl(),
            fees: self.fees,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Trade {
    signal_seq: u64,
    open_ts: u64,
    max_abs_steps: u64,
    exit_steps: u64,
    exit_notional: f64,
    realized: f64,
    fees: f64,
    funding: f64,
}

/// Net position of one symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    symbol_id: u32,
    step: f64,
    size_steps: i64,
    entry_px: f64,
    mark_px: f64,
    realized_pnl: f64,
    fees: f64,
    funding: f64,
    trade: Trade,
}

impl Position {
    /// A flat position; `step` is the symbol's step size (for steps → quantity).
    pub fn new(symbol_id: u32, step: f64) -> Position {
        Position {
            symbol_id,
            step,
            size_steps: 0,
            entry_px: 0.0,
            mark_px: 0.0,
            realized_pnl: 0.0,
            fees: 0.0,
            funding: 0.0,
            trade: Trade::default(),
        }
    }

    /// Symbol id.
    pub fn symbol_id(&self) -> u32 {
        self.symbol_id
    }
    /// Signed size in steps (+ long, − short).
    pub fn size_steps(&self) -> i64 {
        self.size_steps
    }
    /// Signed size in base asset.
    pub fn size(&self) -> f64 {
        self.size_steps as f64 * self.step
    }
    /// Absolute size in steps.
    pub fn abs_steps(&self) -> u64 {
        self.size_steps.unsigned_abs()
    }
    /// True when there is no position.
    pub fn is_flat(&self) -> bool {
        self.size_steps == 0
    }
    /// Direction, `None` when flat.
    pub fn side(&self) -> Option<Side> {
        match self.size_steps.signum() {
            1 => Some(Side::Buy),
            -1 => Some(Side::Sell),
            _ => None,
        }
    }
    /// Average entry price (0 when flat).
    pub fn entry_px(&self) -> f64 {
        self.entry_px
    }
    /// Last mark price.
    pub fn mark_px(&self) -> f64 {
        self.mark_px
    }
    /// Lifetime gross realized PnL of this symbol.
    pub fn realized_pnl(&self) -> f64 {
        self.realized_pnl
    }
    /// Lifetime fees paid on this symbol.
    pub fn fees(&self) -> f64 {
        self.fees
    }
    /// Lifetime funding received (negative: paid) on this symbol.
    pub fn funding(&self) -> f64 {
        self.funding
    }
    /// Signal that opened the current trade.
    pub fn signal_seq(&self) -> u64 {
        self.trade.signal_seq
    }
    /// First fill time of the current trade.
    pub fn open_ts_ns(&self) -> u64 {
        self.trade.open_ts
    }
    /// Mark-to-market PnL of the open size at the last mark.
    pub fn unrealized_pnl(&self) -> f64 {
        if self.size_steps == 0 || self.mark_px <= 0.0 {
            0.0
        } else {
            (self.mark_px - self.entry_px) * self.size()
        }
    }
    /// Absolute notional at the mark (at entry before the first mark).
    pub fn notional(&self) -> f64 {
        let px = if self.mark_px > 0.0 {
            self.mark_px
        } else {
            self.entry_px
        };
        (self.size() * px).abs()
    }

    /// Updates the mark price.
    pub fn mark(&mut self, price: f64) {
        self.mark_px = price;
    }

    /// Applies one (possibly partial) fill of `steps` steps at `price`, paying `fee`.
    ///
    /// Adds average the entry price; reduces realize `(price − entry) × qty × sign` and
    /// keep the entry; a fill larger than the position closes it (ending the trade) and
    /// opens the remainder on the other side at the fill price. The fee of a flipping fill
    /// is split pro rata between the closed trade and the new one.
    pub fn apply_fill(
        &mut self,
        side: Side,
        steps: u64,
        price: f64,
        fee: f64,
        ts_ns: u64,
        signal_seq: u64,
    ) -> FillEffect {
        self.apply_fill_realizing(side, steps, price, fee, ts_ns, signal_seq, None)
    }

    /// [`apply_fill`](Self::apply_fill) with the realized PnL of the closing part given
    /// by the venue (Binance's `rp`) instead of computed here.
    #[allow(clippy::too_many_arguments)]
    pub fn apply_fill_realizing(
        &mut self,
        side: Side,
        steps: u64,
        price: f64,
        fee: f64,
        ts_ns: u64,
        signal_seq: u64,
        realized: Option<f64>,
    ) -> FillEffect {
        let mut eff = FillEffect::default();
        if steps == 0 {
            return eff;
        }
        let q = steps as i64;
        let fill_sign: i64 = if side == Side::Buy { 1 } else { -1 };
        self.fees += fee;
        if self.size_steps == 0 {
            self.open_trade(fill_sign * q, price, fee, ts_ns, signal_seq);
            eff.opened_steps = steps;
            eff.opened_trade = true;
        } else if self.size_steps.signum() == fill_sign {
            let held = self.size_steps.unsigned_abs() as f64;
            self.entry_px = (self.entry_px * held + price * steps as f64) / (held + steps as f64);
            self.size_steps += fill_sign * q;
            self.trade.fees += fee;
            self.trade.max_abs_steps = self.trade.max_abs_steps.max(self.abs_steps());
            eff.opened_steps = steps;
        } else {
            let held = self.size_steps.unsigned_abs();
            let close = held.min(steps);
            let open = steps - close;
            let dir = self.size_steps.signum() as f64;
            let pnl = realized
                .filter(|r| r.is_finite())
                .unwrap_or((price - self.entry_px) * close as f64 * self.step * dir);
            let fee_close = fee * close as f64 / steps as f64;
            self.realized_pnl += pnl;
            self.trade.realized += pnl;
            self.trade.fees += fee_close;
            self.trade.exit_steps += close;
            self.trade.exit_notional += price * close as f64 * self.step;
            self.size_steps += fill_sign * close as i64;
            eff.closed_steps = close;
            eff.realized_pnl = pnl;
            if self.size_steps == 0 {
                eff.closed_trade = Some(self.closed_trade(dir, ts_ns));
                self.entry_px = 0.0;
                self.trade = Trade::default();
                if open > 0 {
                    self.open_trade(
                        fill_sign * open as i64,
                        price,
                        fee - fee_close,
                        ts_ns,
                        signal_seq,
                    );
                    eff.opened_steps = open;
                    eff.opened_trade = true;
                }
            }
        }
        eff
    }

    /// Applies a funding payment at `mark_px`: `payment = size × mark × rate`, paid by
    /// longs and received by shorts when `rate > 0`. Returns the PnL (negative = paid).
    pub fn apply_funding(&mut self, rate: f64, mark_px: f64) -> f64 {
        if self.size_steps == 0 {
            return 0.0;
        }
        let pnl = -(self.size() * mark_px * rate);
        self.funding += pnl;
        self.trade.funding += pnl;
        pnl
    }

    fn open_trade(&mut self, signed_steps: i64, price: f64, fee: f64, ts_ns: u64, seq: u64) {
        self.size_steps = signed_steps;
        self.entry_px = price;
        self.trade = Trade {
            signal_seq: seq,
            open_ts: ts_ns,
            max_abs_steps: signed_steps.unsigned_abs(),
            fees: fee,
            ..Trade::default()
        };
    }

    fn closed_trade(&self, dir: f64, ts_ns: u64) -> ClosedTrade {
        let t = &self.trade;
        let exit_qty = t.exit_steps as f64 * self.step;
        ClosedTrade {
            symbol_id: self.symbol_id,
            side: if dir > 0.0 { Side::Buy } else { Side::Sell },
            signal_seq: t.signal_seq,
            entry_ts_ns: t.open_ts,
            exit_ts_ns: ts_ns,
            entry_px: self.entry_px,
            exit_px: if exit_qty > 0.0 {
                t.exit_notional / exit_qty
            } else {
                0.0
            },
            max_qty: t.max_abs_steps as f64 * self.step,
            realized_pnl: t.realized,
            fees: t.fees,
            funding: t.funding,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEP: f64 = 0.001;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn partial_fills_average_the_entry() {
        let mut p = Position::new(0, STEP);
        // 0.010 @ 100, then 0.030 @ 104 -> avg (1.0 + 3.12) / 0.04 = 103
        p.apply_fill(Side::Buy, 10, 100.0, 0.0005, 1, 7);
        p.apply_fill(Side::Buy, 30, 104.0, 0.00156, 2, 8);
        assert_eq!(p.size_steps(), 40);
        assert!(close(p.entry_px(), 103.0));
        assert!(close(p.fees(), 0.00206));
        assert_eq!(p.signal_seq(), 7, "the opening signal owns the trade");
        p.mark(105.0);
        assert!(close(p.unrealized_pnl(), 0.04 * 2.0));
    }

    #[test]
    fn reduce_realizes_and_keeps_entry() {
        let mut p = Position::new(0, STEP);
        p.apply_fill(Side::Buy, 100, 200.0, 0.0, 1, 1);
        // sell 0.040 @ 210: realized = 10 * 0.04 = 0.4
        let e = p.apply_fill(Side::Sell, 40, 210.0, 0.0, 2, 1);
        assert_eq!(e.closed_steps, 40);
        assert!(close(e.realized_pnl, 0.4));
        assert!(e.closed_trade.is_none());
        assert_eq!(p.size_steps(), 60);
        assert!(close(p.entry_px(), 200.0));
        // close the rest at 190: -10 * 0.06 = -0.6
        let e = p.apply_fill(Side::Sell, 60, 190.0, 0.0, 3, 1);
        let t = e.closed_trade.unwrap();
        assert!(p.is_flat());
        assert!(close(t.realized_pnl, -0.2));
        // exit px = (210*0.04 + 190*0.06) / 0.1 = 198
        assert!(close(t.exit_px, 198.0));
        assert!(close(t.entry_px, 200.0));
        assert!(close(t.max_qty, 0.1));
    }

    #[test]
    fn ten_partial_closes_land_exactly_on_zero() {
        let mut p = Position::new(0, 0.1);
        p.apply_fill(Side::Sell, 10, 50.0, 0.0, 1, 1);
        for i in 0..10 {
            p.apply_fill(Side::Buy, 1, 49.0, 0.0, 2 + i, 1);
        }
        assert!(p.is_flat());
        assert_eq!(p.size(), 0.0);
        // short 1.0 from 50 covered at 49: +1.0
        assert!(close(p.realized_pnl(), 1.0));
    }

    #[test]
    fn flip_closes_then_opens_and_splits_the_fee() {
        let mut p = Position::new(3, STEP);
        p.apply_fill(Side::Buy, 10, 100.0, 0.1, 1, 1);
        // sell 0.030 @ 110 with fee 0.3: closes 0.010 (+0.1 pnl, fee share 0.1), opens short 0.020
        let e = p.apply_fill(Side::Sell, 30, 110.0, 0.3, 5, 2);
        let t = e.closed_trade.unwrap();
        assert_eq!(t.side, Side::Buy);
        assert!(close(t.realized_pnl, 0.1));
        assert!(close(t.fees, 0.2), "entry fee 0.1 + close share 0.1");
        assert!(close(t.net_pnl(), -0.1));
        assert_eq!(t.signal_seq, 1);
        assert!(e.opened_trade);
        assert_eq!(p.size_steps(), -20);
        assert!(close(p.entry_px(), 110.0));
        assert_eq!(p.signal_seq(), 2);
        assert_eq!(p.open_ts_ns(), 5);
        let o = t.to_outcome(ExitReason::Reverse);
        assert_eq!(o.exit_reason, ExitReason::Reverse.code());
        assert_eq!(o.entry_ts_ns, 1);
        assert_eq!(o.exit_ts_ns, 5);
        // the remaining 0.2 fee belongs to the new short; closing it at 100 shows it
        let e = p.apply_fill(Side::Buy, 20, 100.0, 0.0, 9, 2);
        let t = e.closed_trade.unwrap();
        assert!(close(t.realized_pnl, 0.2));
        assert!(close(t.fees, 0.2));
        assert!(close(p.fees(), 0.4));
        assert!(close(p.realized_pnl(), 0.3));
    }

    #[test]
    fn funding_longs_pay_shorts_receive() {
        let mut long = Position::new(0, STEP);
        long.apply_fill(Side::Buy, 1000, 100.0, 0.0, 1, 1);
        // 1.0 long, mark 102, rate 0.0001: pays 1 * 102 * 0.0001 = 0.0102
        assert!(close(long.apply_funding(0.0001, 102.0), -0.0102));
        let mut short = Position::new(0, STEP);
        short.apply_fill(Side::Sell, 1000, 100.0, 0.0, 1, 1);
        assert!(close(short.apply_funding(0.0001, 102.0), 0.0102));
        // negative rate: shorts pay
        assert!(close(short.apply_funding(-0.0002, 100.0), -0.02));
        let t = short
            .apply_fill(Side::Buy, 1000, 100.0, 0.0, 2, 1)
            .closed_trade
            .unwrap();
        assert!(close(t.funding, 0.0102 - 0.02));
        assert!(close(t.net_pnl(), -0.0098));
        let mut flat = Position::new(0, STEP);
        assert_eq!(flat.apply_funding(0.01, 100.0), 0.0);
    }
}
