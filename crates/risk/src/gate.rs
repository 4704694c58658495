//! Types crossing the risk gate: requests in, approved intents or refusal reasons out.
//! All `Copy`, no heap, so the signal → order path never allocates.

use shmtrader_core::Qty;
use shmtrader_core::{ExitReason, Side, Signal};
use std::fmt;

/// A proposed entry.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EntryRequest {
    /// Symbol id.
    pub symbol_id: u32,
    /// Direction.
    pub side: Side,
    /// Reference price (last trade) the size is computed at.
    pub price: f64,
    /// Sequence of the signal, carried into the order for deterministic ids.
    pub signal_seq: u64,
}

impl EntryRequest {
    /// From a signal record; `None` if its side code is invalid.
    ///
    /// `signal_seq` is the *signals-ring* sequence of the record, which the caller knows
    /// (the record itself only carries the ticks-ring `source_seq`).
    pub fn from_signal(sig: &Signal, signal_seq: u64) -> Option<EntryRequest> {
        Some(EntryRequest {
            symbol_id: sig.symbol_id,
            side: sig.side()?,
            price: sig.price,
            signal_seq,
        })
    }
}

/// An approved order, ready to be journaled, signed and sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderIntent {
    /// Symbol id.
    pub symbol_id: u32,
    /// Order side.
    pub side: Side,
    /// Total quantity (close part + open part), exact.
    pub qty: Qty,
    /// Total quantity in steps.
    pub qty_steps: u64,
    /// Steps that close an opposite position first (a reversal), else 0.
    pub close_steps: u64,
    /// Steps that open or add.
    pub open_steps: u64,
    /// Reference price the size was computed at.
    pub ref_price: f64,
    /// Notional of the opening part at `ref_price`.
    pub notional_usd: f64,
    /// Always false for entries (a reversal must be allowed to cross zero).
    pub reduce_only: bool,
    /// Signal that caused it.
    pub signal_seq: u64,
    /// Decision time.
    pub ts_ns: u64,
    /// ATR used for sizing; the position's exits are set from it.
    pub atr: f64,
    /// Volatility multiplier applied.
    pub vol_scale: f64,
    /// Drawdown multiplier applied.
    pub drawdown_scale: f64,
}

/// An exit order for an open position (always reduce-only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExitIntent {
    /// Symbol id.
    pub symbol_id: u32,
    /// Order side (opposite of the position).
    pub side: Side,
    /// Quantity: the whole open size, exact.
    pub qty: Qty,
    /// Quantity in steps.
    pub qty_steps: u64,
    /// Always true: an exit must never open a position.
    pub reduce_only: bool,
    /// Why.
    pub reason: ExitReason,
    /// Price that triggered it.
    pub ref_price: f64,
    /// Signal that opened the position.
    pub signal_seq: u64,
    /// Decision time.
    pub ts_ns: u64,
}

/// Why the gate said no. `Copy`, with the numbers that made the decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RefuseReason {
    /// The kill switch is on.
    KillSwitch,
    /// Symbol id out of range, or price not finite and positive.
    InvalidRequest,
    /// An entry order for this symbol is still awaiting its fill.
    EntryPending,
    /// An exit order for this symbol is in flight.
    ExitPending,
    /// Same-direction position open and pyramiding disabled.
    AlreadyPositioned,
    /// Opposite position open and reversal disabled.
    OppositePosition,
    /// Open positions plus pending entries at the limit.
    MaxConcurrentPositions {
        /// Currently open or pending.
        open: u32,
        /// Limit.
        max: u32,
    },
    /// The per-symbol notional cap leaves no room for a valid order.
    MaxSymbolNotional {
        /// Smallest valid order notional that would be needed.
        would_be_usd: f64,
        /// Room left under the cap.
        max_usd: f64,
    },
    /// Too correlated (direction-adjusted) with an open position.
    Correlated {
        /// Symbol of that position.
        other_symbol: u32,
        /// Raw Pearson correlation of returns.
        correlation: f64,
    },
    /// Drawdown from the equity peak at or past `max_drawdown`.
    MaxDrawdown {
        /// Current drawdown (fraction).
        drawdown: f64,
        /// Limit.
        max: f64,
    },
    /// Loss since UTC midnight at or past the daily limit.
    DailyLossLimit {
        /// Loss so far today (positive number).
        loss_usd: f64,
        /// Limit in quote currency.
        limit_usd: f64,
    },
    /// No ATR yet for the symbol (warming up): size and stops are undefined.
    VolatilityUnknown,
    /// Not enough free margin for the smallest valid order.
    InsufficientMargin {
        /// Margin the smallest valid order needs.
        required_usd: f64,
        /// Free margin.
        available_usd: f64,
    },
    /// Rounded quantity below the exchange's minimum quantity.
    BelowMinQty {
        /// Rounded quantity.
        qty: f64,
        /// Exchange minimum.
        min_qty: f64,
    },
    /// Rounded notional below the exchange's minimum notional.
    BelowMinNotional {
        /// Rounded notional.
        notional_usd: f64,
        /// Exchange minimum.
        min_notional_usd: f64,
    },
    /// Entries on this symbol are blocked: the account holds a position this instance
    /// cannot explain (a manual trade), the symbol left TRADING, or entries were stopped
    /// by command.
    SymbolBlocked,
    /// The order budget (orders per 10 s / per minute, request weight) has no room for
    /// an entry: the rest is kept for stops and exits.
    OrderRate,
    /// The account is at the limit of open conditional orders, so the entry could not
    /// get its protective stop.
    NoStopCapacity,
}

impl RefuseReason {
    /// Stable small integer for counters in the control segment.
    pub const fn code(&self) -> u8 {
        match self {
            RefuseReason::KillSwitch => 1,
            RefuseReason::InvalidRequest => 2,
            RefuseReason::EntryPending => 3,
            RefuseReason::ExitPending => 4,
            RefuseReason::AlreadyPositioned => 5,
            RefuseReason::OppositePosition => 6,
            RefuseReason::MaxConcurrentPositions { .. } => 7,
            RefuseReason::MaxSymbolNotional { .. } => 8,
            RefuseReason::Correlated { .. } => 9,
            RefuseReason::MaxDrawdown { .. } => 10,
            RefuseReason::DailyLossLimit { .. } => 11,
            RefuseReason::VolatilityUnknown => 12,
            RefuseReason::InsufficientMargin { .. } => 13,
            RefuseReason::BelowMinQty { .. } => 14,
            RefuseReason::BelowMinNotional { .. } => 15,
            RefuseReason::SymbolBlocked => 16,
            RefuseReason::OrderRate => 17,
            RefuseReason::NoStopCapacity => 18,
        }
    }

    /// One reason of each kind, in code order (codes 1..=18): lets a reader of the
    /// control segment name a code without a second table.
    pub const ALL: [RefuseReason; 18] = [
        RefuseReason::KillSwitch,
        RefuseReason::InvalidRequest,
        RefuseReason::EntryPending,
        RefuseReason::ExitPending,
        RefuseReason::AlreadyPositioned,
        RefuseReason::OppositePosition,
        RefuseReason::MaxConcurrentPositions { open: 0, max: 0 },
        RefuseReason::MaxSymbolNotional {
            would_be_usd: 0.0,
            max_usd: 0.0,
        },
        RefuseReason::Correlated {
            other_symbol: 0,
            correlation: 0.0,
        },
        RefuseReason::MaxDrawdown {
            drawdown: 0.0,
            max: 0.0,
        },
        RefuseReason::DailyLossLimit {
            loss_usd: 0.0,
            limit_usd: 0.0,
        },
        RefuseReason::VolatilityUnknown,
        RefuseReason::InsufficientMargin {
            required_usd: 0.0,
            available_usd: 0.0,
        },
        RefuseReason::BelowMinQty {
            qty: 0.0,
            min_qty: 0.0,
        },
        RefuseReason::BelowMinNotional {
            notional_usd: 0.0,
            min_notional_usd: 0.0,
        },
        RefuseReason::SymbolBlocked,
        RefuseReason::OrderRate,
        RefuseReason::NoStopCapacity,
    ];

    /// The snake_case name of a [`code`](Self::code), `None` for an unknown code.
    pub fn name_of_code(code: u8) -> Option<&'static str> {
        RefuseReason::ALL
            .iter()
            .find(|r| r.code() == code)
            .map(|r| r.as_str())
    }

    /// Short snake_case name (metrics label).
    pub const fn as_str(&self) -> &'static str {
        match self {
            RefuseReason::KillSwitch => "kill_switch",
            RefuseReason::InvalidRequest => "invalid_request",
            RefuseReason::EntryPending => "entry_pending",
            RefuseReason::ExitPending => "exit_pending",
            RefuseReason::AlreadyPositioned => "already_positioned",
            RefuseReason::OppositePosition => "opposite_position",
            RefuseReason::MaxConcurrentPositions { .. } => "max_concurrent_positions",
            RefuseReason::MaxSymbolNotional { .. } => "max_symbol_notional",
            RefuseReason::Correlated { .. } => "correlated",
            RefuseReason::MaxDrawdown { .. } => "max_drawdown",
            RefuseReason::DailyLossLimit { .. } => "daily_loss_limit",
            RefuseReason::VolatilityUnknown => "volatility_unknown",
            RefuseReason::InsufficientMargin { .. } => "insufficient_margin",
            RefuseReason::BelowMinQty { .. } => "below_min_qty",
            RefuseReason::BelowMinNotional { .. } => "below_min_notional",
            RefuseReason::SymbolBlocked => "symbol_blocked",
            RefuseReason::OrderRate => "order_rate",
            RefuseReason::NoStopCapacity => "no_stop_capacity",
        }
    }
}

impl fmt::Display for RefuseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            RefuseReason::MaxConcurrentPositions { open, max } => {
                write!(f, "max_concurrent_positions: {open} open or pending, limit {max}")
            }
            RefuseReason::MaxSymbolNotional { would_be_usd, max_usd } => write!(
                f,
                "max_symbol_notional: smallest valid order {would_be_usd:.2} USD, room {max_usd:.2} USD"
            ),
            RefuseReason::Correlated { other_symbol, correlation } => write!(
                f,
                "correlated: {correlation:.3} with open position in symbol {other_symbol}"
            ),
            RefuseReason::MaxDrawdown { drawdown, max } => write!(
                f,
                "max_drawdown: {:.2} % from peak, limit {:.2} %",
                drawdown * 100.0,
                max * 100.0
            ),
            RefuseReason::DailyLossLimit { loss_usd, limit_usd } => write!(
                f,
                "daily_loss_limit: lost {loss_usd:.2} USD today, limit {limit_usd:.2} USD"
            ),
            RefuseReason::InsufficientMargin { required_usd, available_usd } => write!(
                f,
                "insufficient_margin: need {required_usd:.2} USD, free {available_usd:.2} USD"
            ),
            RefuseReason::BelowMinQty { qty, min_qty } => {
                write!(f, "below_min_qty: {qty} < {min_qty}")
            }
            RefuseReason::BelowMinNotional { notional_usd, min_notional_usd } => write!(
                f,
                "below_min_notional: {notional_usd:.2} < {min_notional_usd:.2} USD"
            ),
            other => f.write_str(other.as_str()),
        }
    }
}

/// The gate's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Go: journal it, sign it, send it.
    Approved(OrderIntent),
    /// No, and why.
    Refused(RefuseReason),
}

impl Decision {
    /// The intent, if approved.
    pub fn approved(&self) -> Option<&OrderIntent> {
        match self {
            Decision::Approved(i) => Some(i),
            Decision::Refused(_) => None,
        }
    }
    /// The reason, if refused.
    pub fn refused(&self) -> Option<RefuseReason> {
        match self {
            Decision::Approved(_) => None,
            Decision::Refused(r) => Some(*r),
        }
    }
}

/// An execution report from the exchange (or a paper fill), as the engine needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FillReport {
    /// Symbol id.
    pub symbol_id: u32,
    /// Side of the order that filled.
    pub side: Side,
    /// Filled quantity of this execution (not cumulative).
    pub qty: f64,
    /// Execution price.
    pub price: f64,
    /// Fee paid in quote currency (negative for a rebate).
    pub fee: f64,
    /// Execution time.
    pub ts_ns: u64,
    /// The exchange's realized PnL of this execution (`rp`), when it came from the
    /// venue: the account's own figure replaces the locally computed one.
    pub realized_pnl: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::RefuseReason;

    #[test]
    fn every_refusal_code_is_listed_once_and_named() {
        for (i, r) in RefuseReason::ALL.iter().enumerate() {
            assert_eq!(r.code() as usize, i + 1, "{r:?} out of code order");
            assert_eq!(RefuseReason::name_of_code(r.code()), Some(r.as_str()));
        }
        assert_eq!(RefuseReason::name_of_code(0), None);
        assert_eq!(RefuseReason::name_of_code(19), None);
    }
}
