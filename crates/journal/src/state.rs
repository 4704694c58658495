//! Order lifecycle state rebuilt from the journal: what the executor needs after a restart
//! to find in-flight orders and resting stops and reconcile them with the exchange, plus
//! the launch history, the last risk state and the external fills of the account.
//!
//! [`JournalState::check`] refuses any record that contradicts the history, on append
//! (nothing is written) and on replay (the journal is refused with the offset); every
//! rule is listed there. [`JournalState::apply`] never fails.

use crate::coid::{is_algo_leg, is_valid_client_order_id, parse_client_order_id};
use crate::records::{
    AlgoStatus, ExternalFill, Fill, Intent, OrderStatus, Record, Resolution, RiskState,
};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::ops::RangeInclusive;

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Journaled but no evidence it was sent: it may or may not have reached the
    /// exchange (crash between journal and send) — reconcile.
    IntentOnly,
    /// Sent, no acknowledgement.
    Sent,
    /// Acknowledged, nothing filled. For a conditional order: triggered (`TRIGGERING` /
    /// `TRIGGERED`), its market order working in the matching engine.
    Acked,
    /// A conditional order acknowledged (or reported `NEW`) and waiting for its trigger:
    /// working, not unsettled, so not in flight.
    Resting,
    /// Some quantity filled, order still working.
    PartiallyFilled,
    /// Filled completely.
    Filled,
    /// Rejected (for a conditional order also `REJECTED` at trigger time).
    Rejected,
    /// Canceled or expired, possibly after partial fills (for a conditional order also
    /// `FINISHED` with less than its quantity journaled as filled).
    Canceled,
    /// Settled by reconciliation (any resolution but `Open`, which leaves the order
    /// working in its current state).
    Resolved,
}

impl OrderState {
    /// True while the exchange may still act on the order and its outcome is unsettled:
    /// these need reconciliation after a restart. A resting conditional order is not in
    /// flight (see [`JournalState::open_algos`]).
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            OrderState::IntentOnly
                | OrderState::Sent
                | OrderState::Acked
                | OrderState::PartiallyFilled
        )
    }
}

/// Everything the journal knows about one order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEntry {
    /// The intent as journaled.
    pub intent: Intent,
    /// Derived lifecycle state.
    pub state: OrderState,
    /// Sent record seen (or anything proving the exchange has the order).
    pub sent: bool,
    /// Exchange order id from the last ack (`algoId` for a conditional order).
    pub exchange_order_id: Option<u64>,
    /// Last status reported in an ack.
    pub last_status: Option<OrderStatus>,
    /// Conditional orders: status from the algo updates. It only moves forward (`NEW` →
    /// `TRIGGERING` → `TRIGGERED` → a terminal status); the first terminal status stays.
    pub algo_status: Option<AlgoStatus>,
    /// Conditional orders: id of the ordinary order the trigger placed.
    pub actual_order_id: Option<u64>,
    /// Sum of fill quantities.
    pub filled_qty: Decimal,
    /// Sum of fill quantity × price (for the average price).
    pub filled_notional: Decimal,
    /// Sum of fees.
    pub fees: Decimal,
    /// Sum of the realized PnL the exchange reported with the fills (zero if none did).
    pub realized_pnl: Decimal,
    /// Trade ids seen (deduplication).
    pub trade_ids: Vec<u64>,
    /// Rejection code and message.
    pub reject: Option<(i32, String)>,
    /// Canceled or expired.
    pub canceled: bool,
    /// Reconciliation outcome.
    pub resolution: Option<Resolution>,
    /// Time of the last record about this order.
    pub last_ts_ns: u64,
}

impl OrderEntry {
    fn new(intent: Intent) -> OrderEntry {
        OrderEntry {
            last_ts_ns: intent.ts_ns,
            intent,
            state: OrderState::IntentOnly,
            sent: false,
            exchange_order_id: None,
            last_status: None,
            algo_status: None,
            actual_order_id: None,
            filled_qty: Decimal::ZERO,
            filled_notional: Decimal::ZERO,
            fees: Decimal::ZERO,
            realized_pnl: Decimal::ZERO,
            trade_ids: Vec::new(),
            reject: None,
            canceled: false,
            resolution: None,
        }
    }

    /// True for a conditional (algo) order: stop-market or take-profit-market.
    pub fn is_algo(&self) -> bool {
        self.intent.order_type.is_conditional()
    }

    /// Average fill price, if anything filled.
    pub fn avg_fill_price(&self) -> Option<Decimal> {
        if self.filled_qty.is_zero() {
            None
        } else {
            self.filled_notional.checked_div(self.filled_qty)
        }
    }

    /// Quantity not filled yet.
    pub fn remaining_qty(&self) -> Decimal {
        (self.intent.qty - self.filled_qty).max(Decimal::ZERO)
    }

    fn derive_state(&mut self) {
        let algo = self.algo_status;
        self.state = if matches!(self.resolution, Some(r) if r != Resolution::Open) {
            OrderState::Resolved
        } else if self.reject.is_some() || algo == Some(AlgoStatus::Rejected) {
            OrderState::Rejected
        } else if self.filled_qty >= self.intent.qty {
            OrderState::Filled
        } else if self.canceled || algo.is_some_and(AlgoStatus::is_terminal) {
            OrderState::Canceled
        } else if !self.filled_qty.is_zero() {
            OrderState::PartiallyFilled
        } else if self.is_algo() {
            match algo {
                Some(AlgoStatus::Triggering | AlgoStatus::Triggered) => OrderState::Acked,
                Some(_) => OrderState::Resting,
                None if self.exchange_order_id.is_some() => OrderState::Resting,
                None if self.sent => OrderState::Sent,
                None => OrderState::IntentOnly,
            }
        } else if self.exchange_order_id.is_some() {
            OrderState::Acked
        } else if self.sent {
            OrderState::Sent
        } else {
            OrderState::IntentOnly
        };
    }
}

/// All orders of a journal, by client order id, in journal order; launches, risk state and
/// external fills.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalState {
    instance: Option<String>,
    orders: HashMap<String, OrderEntry>,
    sequence: Vec<String>,
    /// (launch, signal sequence, leg) of every intent.
    signal_legs: HashSet<(u32, u64, u8)>,
    max_signal_seq: HashMap<u32, u64>,
    /// Ordinary orders by exchange `orderId` (last ack wins).
    by_exchange_id: HashMap<u64, String>,
    /// Conditional orders by `algoId` (last ack wins).
    by_algo_id: HashMap<u64, String>,
    /// Conditional orders by the `orderId` of the order their trigger placed.
    by_actual_order_id: HashMap<u64, String>,
    last_launch: Option<(u32, u64)>,
    /// Every launch journaled.
    launches: HashSet<u32>,
    risk_state: Option<RiskState>,
    external_fills: Vec<ExternalFill>,
    external_keys: HashSet<(u64, u64)>,
    records: u64,
}

impl JournalState {
    /// Instance named in the header record.
    pub fn instance(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    /// Records applied.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// One order.
    pub fn get(&self, client_order_id: &str) -> Option<&OrderEntry> {
        self.orders.get(client_order_id)
    }

    /// Number of orders.
    pub fn len(&self) -> usize {
        self.sequence.len()
    }

    /// True without orders.
    pub fn is_empty(&self) -> bool {
        self.sequence.is_empty()
    }

    /// All orders in the order their intents were journaled.
    pub fn orders(&self) -> impl Iterator<Item = &OrderEntry> {
        self.sequence.iter().filter_map(|id| self.orders.get(id))
    }

    /// Orders the exchange may still act on with an unsettled outcome: reconcile these
    /// after a restart. Includes a conditional order with no ack (it may or may not exist
    /// on the exchange) and a triggered one; not a resting one.
    pub fn in_flight(&self) -> impl Iterator<Item = &OrderEntry> {
        self.orders().filter(|o| o.state.in_flight())
    }

    /// Conditional (algo) orders that may still be on the exchange: journaled, not
    /// settled by reconciliation, not canceled, rejected, finished, expired or filled —
    /// resting, triggered, or unacknowledged.
    pub fn open_algos(&self) -> impl Iterator<Item = &OrderEntry> {
        self.orders()
            .filter(|o| o.is_algo() && (o.state.in_flight() || o.state == OrderState::Resting))
    }

    /// The ordinary order the exchange knows by `orderId` (from the acks).
    pub fn by_exchange_id(&self, exchange_order_id: u64) -> Option<&OrderEntry> {
        self.lookup(self.by_exchange_id.get(&exchange_order_id))
    }

    /// The conditional order the exchange knows by `algoId` (from the acks).
    pub fn by_algo_id(&self, algo_id: u64) -> Option<&OrderEntry> {
        self.lookup(self.by_algo_id.get(&algo_id))
    }

    /// The conditional order whose trigger placed the ordinary order `actual_order_id`.
    pub fn by_actual_order_id(&self, actual_order_id: u64) -> Option<&OrderEntry> {
        self.lookup(self.by_actual_order_id.get(&actual_order_id))
    }

    fn lookup(&self, id: Option<&String>) -> Option<&OrderEntry> {
        id.and_then(|id| self.orders.get(id))
    }

    /// The last launch journaled: (launch nonce, segments' creation time).
    pub fn last_launch(&self) -> Option<(u32, u64)> {
        self.last_launch
    }

    /// The last launch journaled, or 0 if none was (a journal of version 1, or an
    /// executor that does not use launches).
    pub fn current_launch(&self) -> u32 {
        self.last_launch.map_or(0, |(l, _)| l)
    }

    /// True if an intent may carry `launch`: 0 (no launch) or a launch journaled by a
    /// launch record. An earlier launch stays usable, so a position that outlives its
    /// launch gets its exits and replacement stops as further legs of the signal that
    /// opened it.
    pub fn is_known_launch(&self, launch: u32) -> bool {
        launch == 0 || self.launches.contains(&launch)
    }

    /// The last risk state journaled.
    pub fn risk_state(&self) -> Option<&RiskState> {
        self.risk_state.as_ref()
    }

    /// Highest signal sequence of `launch` with an intent.
    pub fn max_signal_seq(&self, launch: u32) -> Option<u64> {
        self.max_signal_seq.get(&launch).copied()
    }

    /// True if an intent exists for this launch, signal and leg.
    pub fn has_signal(&self, launch: u32, signal_seq: u64, leg: u8) -> bool {
        self.signal_legs.contains(&(launch, signal_seq, leg))
    }

    /// First unused exit leg (1..=127) of a signal, `None` when all are used.
    pub fn next_exit_leg(&self, launch: u32, signal_seq: u64) -> Option<u8> {
        self.free_leg(launch, signal_seq, 1..=crate::coid::FIRST_ALGO_LEG - 1)
    }

    /// First unused conditional-order leg (128..=255) of a signal, `None` when all are
    /// used.
    pub fn next_algo_leg(&self, launch: u32, signal_seq: u64) -> Option<u8> {
        self.free_leg(launch, signal_seq, crate::coid::FIRST_ALGO_LEG..=u8::MAX)
    }

    fn free_leg(&self, launch: u32, signal_seq: u64, legs: RangeInclusive<u8>) -> Option<u8> {
        legs.into_iter()
            .find(|l| !self.has_signal(launch, signal_seq, *l))
    }

    /// True if this trade id is already journaled for the order.
    pub fn has_fill(&self, client_order_id: &str, trade_id: u64) -> bool {
        self.orders
            .get(client_order_id)
            .is_some_and(|o| o.trade_ids.contains(&trade_id))
    }

    /// True if this external execution is already journaled.
    pub fn has_external_fill(&self, exchange_order_id: u64, trade_id: u64) -> bool {
        self.external_keys.contains(&(exchange_order_id, trade_id))
    }

    /// External fills in journal order.
    pub fn external_fills(&self) -> impl Iterator<Item = &ExternalFill> {
        self.external_fills.iter()
    }

    /// Refuses a record that contradicts the history; `Ok` means `apply` will accept it.
    ///
    /// Rules: one header, first; an intent has a valid, new client order id, a positive
    /// quantity, a journaled launch ([`is_known_launch`](Self::is_known_launch)), the launch,
    /// sequence and leg its id encodes (when the id parses), and a positive trigger price
    /// and an algo leg if and only if it is conditional; sent, ack, rejected, canceled
    /// and resolved refer to a known order; an algo update to a known conditional order;
    /// a fill to a known order, with positive quantity and price, a new trade id, no
    /// overfill and no overflow; a launch nonce is not 0 and exceeds every earlier one; a
    /// risk state has finite equities; an external fill has positive quantity and price,
    /// is not a duplicate (exchange order id, trade id) and is not for an order of ours.
    pub fn check(&self, rec: &Record) -> std::result::Result<(), String> {
        if self.instance.is_none() && !matches!(rec, Record::Header { .. }) {
            return Err(format!("{} record before the header record", rec.kind()));
        }
        let known = |id: &str| {
            self.orders
                .get(id)
                .ok_or_else(|| format!("{} for unknown client order id {id:?}", rec.kind()))
        };
        match rec {
            Record::Header { .. } => {
                if self.instance.is_some() {
                    return Err("second header record".into());
                }
            }
            Record::Intent(i) => self.check_intent(i)?,
            Record::Fill(f) => self.check_fill(known(&f.client_order_id)?, f)?,
            Record::AlgoUpdate {
                client_order_id, ..
            } => {
                if !known(client_order_id)?.is_algo() {
                    return Err(format!(
                        "algo_update for {client_order_id:?}, which is not a conditional order"
                    ));
                }
            }
            Record::Launch { launch, .. } => {
                if *launch == 0 {
                    return Err("launch 0 is reserved for intents of version-1 journals".into());
                }
                if let Some((last, _)) = self.last_launch {
                    if *launch <= last {
                        return Err(format!(
                            "launch {launch} is not above the last launch {last}"
                        ));
                    }
                }
            }
            Record::RiskState(r) => {
                if !r.peak_equity.is_finite() || !r.day_start_equity.is_finite() {
                    return Err(format!(
                        "risk state with peak equity {} and day-start equity {}",
                        r.peak_equity, r.day_start_equity
                    ));
                }
            }
            Record::ExternalFill(x) => {
                if x.qty <= Decimal::ZERO || x.price <= Decimal::ZERO {
                    return Err(format!(
                        "external fill {} of order {} with qty {} price {}",
                        x.trade_id, x.exchange_order_id, x.qty, x.price
                    ));
                }
                if self.has_external_fill(x.exchange_order_id, x.trade_id) {
                    return Err(format!(
                        "duplicate external fill: order {} trade {} already journaled",
                        x.exchange_order_id, x.trade_id
                    ));
                }
                if self.orders.contains_key(&x.client_order_id) {
                    return Err(format!(
                        "external fill for {:?}, an order of this journal (journal it as a fill)",
                        x.client_order_id
                    ));
                }
            }
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
            } => {
                known(client_order_id)?;
            }
        }
        Ok(())
    }

    fn check_intent(&self, i: &Intent) -> std::result::Result<(), String> {
        let id = &i.client_order_id;
        if !is_valid_client_order_id(id) {
            return Err(format!("invalid client order id {id:?}"));
        }
        if self.orders.contains_key(id) {
            return Err(format!(
                "duplicate client order id {id:?}: this order was already journaled"
            ));
        }
        if i.qty <= Decimal::ZERO {
            return Err(format!("intent {id:?} with qty {}", i.qty));
        }
        if !self.is_known_launch(i.launch) {
            return Err(format!(
                "intent {id:?} of launch {}, which was never journaled (the current launch is {}): journal the launch record first",
                i.launch,
                self.current_launch()
            ));
        }
        if let Some(p) = parse_client_order_id(id) {
            if (p.launch, p.signal_seq, p.leg) != (i.launch, i.signal_seq, i.leg) {
                return Err(format!(
                    "intent {id:?} with launch {} signal {} leg {}, but its id says launch {} signal {} leg {}",
                    i.launch, i.signal_seq, i.leg, p.launch, p.signal_seq, p.leg
                ));
            }
        }
        if i.order_type.is_conditional() {
            if i.trigger_price.is_none_or(|p| p <= Decimal::ZERO) {
                return Err(format!(
                    "conditional intent {id:?} without a positive trigger price"
                ));
            }
            if !is_algo_leg(i.leg) {
                return Err(format!(
                    "conditional intent {id:?} on leg {} (conditional orders use legs 128..=255)",
                    i.leg
                ));
            }
        } else if i.trigger_price.is_some() {
            return Err(format!(
                "{} intent {id:?} with a trigger price",
                i.order_type.as_binance()
            ));
        }
        Ok(())
    }

    fn check_fill(&self, o: &OrderEntry, f: &Fill) -> std::result::Result<(), String> {
        let id = &f.client_order_id;
        if f.qty <= Decimal::ZERO || f.price <= Decimal::ZERO {
            return Err(format!(
                "fill {} of {id:?} with qty {} price {}",
                f.trade_id, f.qty, f.price
            ));
        }
        if o.trade_ids.contains(&f.trade_id) {
            return Err(format!(
                "duplicate fill: trade id {} already journaled for {id:?}",
                f.trade_id
            ));
        }
        let total = o
            .filled_qty
            .checked_add(f.qty)
            .ok_or_else(|| format!("fill qty {} overflows", f.qty))?;
        let overflows = f
            .qty
            .checked_mul(f.price)
            .and_then(|n| o.filled_notional.checked_add(n))
            .is_none()
            || f.fee.checked_add(o.fees).is_none()
            || f.realized_pnl
                .is_some_and(|p| p.checked_add(o.realized_pnl).is_none());
        if overflows {
            return Err(format!("fill {} of {id:?} overflows", f.trade_id));
        }
        if total > o.intent.qty {
            return Err(format!(
                "overfill of {id:?}: {} filled + {} > order qty {}",
                o.filled_qty, f.qty, o.intent.qty
            ));
        }
        Ok(())
    }

    /// Applies a record that passed [`check`](Self::check).
    pub fn apply(&mut self, rec: &Record) {
        self.records += 1;
        let touch = |orders: &mut HashMap<String, OrderEntry>,
                     id: &str,
                     ts: u64,
                     f: &mut dyn FnMut(&mut OrderEntry)| {
            if let Some(o) = orders.get_mut(id) {
                f(o);
                o.last_ts_ns = o.last_ts_ns.max(ts);
                o.derive_state();
            }
        };
        match rec {
            Record::Header { instance, .. } => self.instance = Some(instance.clone()),
            Record::Intent(i) => {
                self.signal_legs.insert((i.launch, i.signal_seq, i.leg));
                let max = self.max_signal_seq.entry(i.launch).or_insert(i.signal_seq);
                *max = (*max).max(i.signal_seq);
                self.sequence.push(i.client_order_id.clone());
                self.orders
                    .insert(i.client_order_id.clone(), OrderEntry::new(i.clone()));
            }
            Record::Sent {
                client_order_id,
                ts_ns,
            } => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.sent = true
            }),
            Record::Ack {
                client_order_id,
                exchange_order_id,
                status,
                ts_ns,
            } => {
                let index = match self.orders.get(client_order_id) {
                    Some(o) if o.is_algo() => &mut self.by_algo_id,
                    _ => &mut self.by_exchange_id,
                };
                index.insert(*exchange_order_id, client_order_id.clone());
                touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                    o.sent = true;
                    o.exchange_order_id = Some(*exchange_order_id);
                    o.last_status = Some(*status);
                    match status {
                        OrderStatus::Canceled
                        | OrderStatus::Expired
                        | OrderStatus::ExpiredInMatch => o.canceled = true,
                        OrderStatus::Rejected => {
                            o.reject.get_or_insert((0, "rejected in ack".to_string()));
                        }
                        _ => {}
                    }
                })
            }
            Record::Fill(Fill {
                client_order_id,
                trade_id,
                qty,
                price,
                fee,
                realized_pnl,
                ts_ns,
                ..
            }) => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.sent = true;
                o.trade_ids.push(*trade_id);
                // `check` guaranteed these do not overflow; saturate rather than panic anyway.
                o.filled_qty = o.filled_qty.checked_add(*qty).unwrap_or(Decimal::MAX);
                let notional = qty.checked_mul(*price).unwrap_or(Decimal::MAX);
                o.filled_notional = o
                    .filled_notional
                    .checked_add(notional)
                    .unwrap_or(Decimal::MAX);
                o.fees = o.fees.checked_add(*fee).unwrap_or(Decimal::MAX);
                if let Some(p) = realized_pnl {
                    o.realized_pnl = o.realized_pnl.checked_add(*p).unwrap_or(Decimal::MAX);
                }
            }),
            Record::Rejected {
                client_order_id,
                code,
                msg,
                ts_ns,
            } => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.reject = Some((*code, msg.clone()))
            }),
            Record::Canceled {
                client_order_id,
                ts_ns,
            } => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.canceled = true
            }),
            Record::Resolved {
                client_order_id,
                resolution,
                ts_ns,
            } => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.resolution = Some(*resolution)
            }),
            Record::AlgoUpdate {
                client_order_id,
                status,
                actual_order_id,
                ts_ns,
            } => {
                if let Some(actual) = actual_order_id {
                    self.by_actual_order_id
                        .insert(*actual, client_order_id.clone());
                }
                touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                    o.sent = true;
                    if o.algo_status.is_none_or(|s| status.rank() > s.rank()) {
                        o.algo_status = Some(*status);
                    }
                    if actual_order_id.is_some() {
                        o.actual_order_id = *actual_order_id;
                    }
                })
            }
            Record::Launch {
                launch,
                segments_created_ns,
                ..
            } => {
                self.last_launch = Some((*launch, *segments_created_ns));
                self.launches.insert(*launch);
            }
            Record::RiskState(r) => self.risk_state = Some(*r),
            Record::ExternalFill(x) => {
                self.external_keys.insert((x.exchange_order_id, x.trade_id));
                self.external_fills.push(x.clone());
            }
        }
    }
}
