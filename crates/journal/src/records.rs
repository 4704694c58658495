//! The journal's record types: what the executor writes, in memory. Their bytes on disk
//! are specified in [`format`](crate::format).

use rust_decimal::Decimal;
use shmtrader_core::Side;

/// Kind of order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// Market order.
    Market,
    /// Limit order (price in [`Intent::limit_price`]).
    Limit,
    /// Conditional market order that triggers when the price reaches
    /// [`Intent::trigger_price`] against the position (a protective stop). Placed through
    /// the algo endpoint.
    StopMarket,
    /// Conditional market order that triggers when the price reaches
    /// [`Intent::trigger_price`] in favour of the position. Placed through the algo
    /// endpoint.
    TakeProfitMarket,
}

impl OrderType {
    /// Binance spelling (`MARKET`, `LIMIT`, `STOP_MARKET`, `TAKE_PROFIT_MARKET`).
    pub const fn as_binance(self) -> &'static str {
        match self {
            OrderType::Market => "MARKET",
            OrderType::Limit => "LIMIT",
            OrderType::StopMarket => "STOP_MARKET",
            OrderType::TakeProfitMarket => "TAKE_PROFIT_MARKET",
        }
    }

    /// True for the conditional types that go through the algo endpoint.
    pub const fn is_conditional(self) -> bool {
        matches!(self, OrderType::StopMarket | OrderType::TakeProfitMarket)
    }
}

/// Which price a conditional order's trigger watches (Binance `workingType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkingType {
    /// `CONTRACT_PRICE`: the last traded price (also the value for non-conditional
    /// orders, where it has no meaning).
    #[default]
    ContractPrice,
    /// `MARK_PRICE`: the mark price.
    MarkPrice,
}

impl WorkingType {
    /// Binance spelling.
    pub const fn as_binance(self) -> &'static str {
        match self {
            WorkingType::ContractPrice => "CONTRACT_PRICE",
            WorkingType::MarkPrice => "MARK_PRICE",
        }
    }

    /// Parses Binance's spelling.
    pub fn from_binance(s: &str) -> Option<WorkingType> {
        match s {
            "CONTRACT_PRICE" => Some(WorkingType::ContractPrice),
            "MARK_PRICE" => Some(WorkingType::MarkPrice),
            _ => None,
        }
    }
}

/// Order status as reported by Binance (`X` / `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// `NEW`
    New,
    /// `PARTIALLY_FILLED`
    PartiallyFilled,
    /// `FILLED`
    Filled,
    /// `CANCELED`
    Canceled,
    /// `REJECTED`
    Rejected,
    /// `EXPIRED`
    Expired,
    /// `EXPIRED_IN_MATCH` (self-trade prevention)
    ExpiredInMatch,
}

impl OrderStatus {
    /// Parses Binance's spelling.
    pub fn from_binance(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "NEW" => OrderStatus::New,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELED" => OrderStatus::Canceled,
            "REJECTED" => OrderStatus::Rejected,
            "EXPIRED" => OrderStatus::Expired,
            "EXPIRED_IN_MATCH" => OrderStatus::ExpiredInMatch,
            _ => return None,
        })
    }
}

/// Status of a conditional (algo) order, as in Binance's `algoStatus` / `ALGO_UPDATE` `X`.
///
/// Lifecycle: `NEW` (resting, not triggered) → `TRIGGERING` (condition met, forwarded to
/// the matching engine) → `TRIGGERED` (placed there as an ordinary order, its id in
/// `actual_order_id`) → `FINISHED` (that order filled or was canceled: its fills tell how
/// much); or `CANCELED` (by us), `REJECTED` (e.g. margin check at trigger), `EXPIRED` (by
/// the system, e.g. after the position closed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgoStatus {
    /// `NEW`: resting on the exchange, waiting for its trigger.
    New,
    /// `TRIGGERING`: condition met, being forwarded to the matching engine.
    Triggering,
    /// `TRIGGERED`: placed in the matching engine as an ordinary order.
    Triggered,
    /// `FINISHED`: the triggered order is done (filled or canceled there).
    Finished,
    /// `CANCELED`: canceled by the user.
    Canceled,
    /// `REJECTED`: refused (at placement or at trigger).
    Rejected,
    /// `EXPIRED`: expired by the system.
    Expired,
}

impl AlgoStatus {
    /// Parses Binance's spelling.
    pub fn from_binance(s: &str) -> Option<AlgoStatus> {
        Some(match s {
            "NEW" => AlgoStatus::New,
            "TRIGGERING" => AlgoStatus::Triggering,
            "TRIGGERED" => AlgoStatus::Triggered,
            "FINISHED" => AlgoStatus::Finished,
            "CANCELED" => AlgoStatus::Canceled,
            "REJECTED" => AlgoStatus::Rejected,
            "EXPIRED" => AlgoStatus::Expired,
            _ => return None,
        })
    }

    /// Binance spelling.
    pub const fn as_binance(self) -> &'static str {
        match self {
            AlgoStatus::New => "NEW",
            AlgoStatus::Triggering => "TRIGGERING",
            AlgoStatus::Triggered => "TRIGGERED",
            AlgoStatus::Finished => "FINISHED",
            AlgoStatus::Canceled => "CANCELED",
            AlgoStatus::Rejected => "REJECTED",
            AlgoStatus::Expired => "EXPIRED",
        }
    }

    /// True once the algo order can no longer act: `FINISHED`, `CANCELED`, `REJECTED`,
    /// `EXPIRED`.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            AlgoStatus::Finished
                | AlgoStatus::Canceled
                | AlgoStatus::Rejected
                | AlgoStatus::Expired
        )
    }

    /// Position in the lifecycle; a status never moves back (see
    /// [`JournalState::apply`](crate::JournalState::apply)).
    pub(crate) const fn rank(self) -> u8 {
        match self {
            AlgoStatus::New => 0,
            AlgoStatus::Triggering => 1,
            AlgoStatus::Triggered => 2,
            _ => 3,
        }
    }
}

/// How reconciliation with the exchange settled an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The exchange never received it (unknown order): safe to forget.
    NotFound,
    /// Fully filled (its fills are journaled).
    Filled,
    /// Canceled or expired, possibly after partial fills.
    Canceled,
    /// Rejected.
    Rejected,
    /// Still open on the exchange and adopted as a working order.
    Open,
}

/// Who caused an execution on the account that this instance did not order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExternalKind {
    /// A liquidation (client order id `autoclose-…`).
    Liquidation,
    /// Auto-deleveraging (client order id `adl_autoclose…`).
    Adl,
    /// A delivery/settlement close (client order id `settlement_autoclose-…`).
    Settlement,
    /// Anything else: a manual trade, another program, another instance.
    Unknown,
}

impl ExternalKind {
    /// Classifies by the client order id the exchange sent.
    pub fn from_client_order_id(id: &str) -> ExternalKind {
        if id.starts_with("autoclose-") {
            ExternalKind::Liquidation
        } else if id.starts_with("adl_autoclose") {
            ExternalKind::Adl
        } else if id.starts_with("settlement_autoclose-") {
            ExternalKind::Settlement
        } else {
            ExternalKind::Unknown
        }
    }
}

/// An order the executor is about to send. Quantities and prices are the exact decimals
/// that go into the signed request. For a conditional order ([`OrderType::is_conditional`])
/// the client order id is the `clientAlgoId`.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Deterministic client order id (see [`crate::client_order_id`]).
    pub client_order_id: String,
    /// Launch the order belongs to (0 for intents read from a version-1 journal).
    pub launch: u32,
    /// Symbol id in the instance's table.
    pub symbol_id: u32,
    /// Exchange symbol (e.g. `BTCUSDT`), so the journal stands alone.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Order type.
    pub order_type: OrderType,
    /// Quantity.
    pub qty: Decimal,
    /// Limit price (limit orders).
    pub limit_price: Option<Decimal>,
    /// Trigger price (conditional orders; `None` for market and limit).
    pub trigger_price: Option<Decimal>,
    /// Price the trigger watches (conditional orders; `ContractPrice` for the others).
    pub working_type: WorkingType,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Signal sequence the order came from (restarts at 0 each launch).
    pub signal_seq: u64,
    /// Leg index within that signal (see [`crate::coid`] for the convention).
    pub leg: u8,
    /// Decision time (ns).
    pub ts_ns: u64,
}

/// One execution of an order of this instance (also of a triggered conditional order,
/// under the algo order's client order id).
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// Order it belongs to.
    pub client_order_id: String,
    /// Exchange trade id (deduplication key).
    pub trade_id: u64,
    /// Executed quantity.
    pub qty: Decimal,
    /// Execution price.
    pub price: Decimal,
    /// Commission (quote currency; negative for a rebate).
    pub fee: Decimal,
    /// Maker execution.
    pub maker: bool,
    /// Realized PnL reported by the exchange (`rp`), when the fill came from it; `None`
    /// for simulated fills and fills read from a version-1 journal.
    pub realized_pnl: Option<Decimal>,
    /// Trade time (ns).
    pub ts_ns: u64,
}

/// Risk state that must outlive a launch. The `f64`s are stored as their exact bits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskState {
    /// Highest account equity seen (drawdown reference).
    pub peak_equity: f64,
    /// UTC day number (days since 1970-01-01) that `day_start_equity` belongs to.
    pub day: u64,
    /// Equity at the start of that UTC day (daily loss reference).
    pub day_start_equity: f64,
    /// Kill switch engaged.
    pub kill_switch: bool,
    /// Trading halted by a drawdown rule.
    pub halted: bool,
    /// Time (ns).
    pub ts_ns: u64,
}

/// An execution on the account of an order this instance did not place: a liquidation,
/// an ADL, a settlement, a manual trade.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalFill {
    /// Client order id as the exchange sent it (may be empty).
    pub client_order_id: String,
    /// Exchange order id (with `trade_id`, the deduplication key).
    pub exchange_order_id: u64,
    /// Symbol id in the instance's table (the executor's choice for a symbol outside the
    /// table; `symbol` is authoritative).
    pub symbol_id: u32,
    /// Exchange symbol.
    pub symbol: String,
    /// Side of the execution.
    pub side: Side,
    /// Exchange trade id.
    pub trade_id: u64,
    /// Executed quantity.
    pub qty: Decimal,
    /// Execution price.
    pub price: Decimal,
    /// Commission in the quote currency.
    pub fee: Decimal,
    /// Realized PnL reported by the exchange (`rp`).
    pub realized_pnl: Decimal,
    /// Who caused it.
    pub kind: ExternalKind,
    /// Trade time (ns).
    pub ts_ns: u64,
}

/// A journal record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// First record of every journal.
    Header {
        /// Instance that owns the journal.
        instance: String,
        /// Creation time (ns).
        created_ts_ns: u64,
    },
    /// Order about to be sent (durable before the send).
    Intent(Intent),
    /// The request left the process.
    Sent {
        /// Order.
        client_order_id: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// The exchange accepted it. For a conditional order, `exchange_order_id` is the
    /// `algoId`.
    Ack {
        /// Order.
        client_order_id: String,
        /// Exchange order id (`orderId`, or `algoId` for a conditional order).
        exchange_order_id: u64,
        /// Status in the acknowledgement.
        status: OrderStatus,
        /// Time (ns).
        ts_ns: u64,
    },
    /// An execution.
    Fill(Fill),
    /// The exchange (or a pre-send check) refused it.
    Rejected {
        /// Order.
        client_order_id: String,
        /// Exchange error code.
        code: i32,
        /// Exchange message.
        msg: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// Canceled or expired.
    Canceled {
        /// Order.
        client_order_id: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// Settled by reconciliation after a restart.
    Resolved {
        /// Order.
        client_order_id: String,
        /// Outcome.
        resolution: Resolution,
        /// Time (ns).
        ts_ns: u64,
    },
    /// An executor start that belongs to a new launch (see [`crate::launch`]).
    Launch {
        /// Launch nonce (in every client order id of the launch).
        launch: u32,
        /// Creation time of the launch's shared-memory segments (ns): stable across
        /// executor restarts within the launch.
        segments_created_ns: u64,
        /// Time (ns).
        ts_ns: u64,
    },
    /// Risk state to restore after a restart or a new launch.
    RiskState(RiskState),
    /// An execution of an order this instance did not place.
    ExternalFill(ExternalFill),
    /// A status change of a conditional (algo) order.
    AlgoUpdate {
        /// The order's `clientAlgoId`.
        client_order_id: String,
        /// New status.
        status: AlgoStatus,
        /// Id of the ordinary order the trigger placed (`actualOrderId`), once known.
        actual_order_id: Option<u64>,
        /// Time (ns).
        ts_ns: u64,
    },
}

impl Record {
    /// Client order id of this instance's order the record refers to; `None` for records
    /// about no order of ours (header, launch, risk state, and an external fill, whose id
    /// belongs to another party: see [`ExternalFill::client_order_id`]).
    pub fn client_order_id(&self) -> Option<&str> {
        match self {
            Record::Header { .. }
            | Record::Launch { .. }
            | Record::RiskState(_)
            | Record::ExternalFill(_) => None,
            Record::Intent(i) => Some(&i.client_order_id),
            Record::Fill(f) => Some(&f.client_order_id),
            Record::Sent {
                client_order_id, ..
            }
            | Record::Ack {
                client_order_id, ..
            }
            | Record::Rejected {
                client_order_id, ..
            }
            | Record::Canceled {
                client_order_id, ..
            }
            | Record::Resolved {
                client_order_id, ..
            }
            | Record::AlgoUpdate {
                client_order_id, ..
            } => Some(client_order_id),
        }
    }

    /// Short kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Header { .. } => "header",
            Record::Intent(_) => "intent",
            Record::Sent { .. } => "sent",
            Record::Ack { .. } => "ack",
            Record::Fill(_) => "fill",
            Record::Rejected { .. } => "rejected",
            Record::Canceled { .. } => "canceled",
            Record::Resolved { .. } => "resolved",
            Record::Launch { .. } => "launch",
            Record::RiskState(_) => "risk_state",
            Record::ExternalFill(_) => "external_fill",
            Record::AlgoUpdate { .. } => "algo_update",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_kind_is_read_from_the_id_prefix() {
        let cases = [
            ("autoclose-1597205373891093000", ExternalKind::Liquidation),
            ("adl_autoclose", ExternalKind::Adl),
            ("adl_autoclose-1597205373891093000", ExternalKind::Adl),
            (
                "settlement_autoclose-1597205373891093000",
                ExternalKind::Settlement,
            ),
            // a prefix is needed, not a substring
            ("x-autoclose-1", ExternalKind::Unknown),
            ("web_2eb8a6c1b3a5", ExternalKind::Unknown),
            ("", ExternalKind::Unknown),
        ];
        for (id, kind) in cases {
            assert_eq!(ExternalKind::from_client_order_id(id), kind, "{id:?}");
        }
    }

    #[test]
    fn binance_spellings_round_trip_and_unknown_ones_are_none() {
        for s in [
            "NEW",
            "TRIGGERING",
            "TRIGGERED",
            "FINISHED",
            "CANCELED",
            "REJECTED",
            "EXPIRED",
        ] {
            assert_eq!(
                AlgoStatus::from_binance(s).map(AlgoStatus::as_binance),
                Some(s)
            );
        }
        assert_eq!(AlgoStatus::from_binance("new"), None);
        assert_eq!(AlgoStatus::from_binance("PARTIALLY_FILLED"), None);
        for w in [WorkingType::ContractPrice, WorkingType::MarkPrice] {
            assert_eq!(WorkingType::from_binance(w.as_binance()), Some(w));
        }
        assert_eq!(WorkingType::from_binance("INDEX_PRICE"), None);
    }

    #[test]
    fn only_stop_and_take_profit_market_are_conditional() {
        assert!(!OrderType::Market.is_conditional());
        assert!(!OrderType::Limit.is_conditional());
        assert!(OrderType::StopMarket.is_conditional());
        assert!(OrderType::TakeProfitMarket.is_conditional());
    }
}
