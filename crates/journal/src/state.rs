//! Order lifecycle state rebuilt from the journal: what the executor needs after a restart
//! to find in-flight orders and reconcile them with the exchange.

use crate::coid::is_valid_client_order_id;
use crate::format::{Fill, Intent, OrderStatus, Record, Resolution};
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderState {
    /// Journaled but no evidence it was sent: it may or may not have reached the
    /// exchange (crash between journal and send) — reconcile.
    IntentOnly,
    /// Sent, no acknowledgement.
    Sent,
    /// Acknowledged, nothing filled.
    Acked,
    /// Some quantity filled, order still working.
    PartiallyFilled,
    /// Filled completely.
    Filled,
    /// Rejected.
    Rejected,
    /// Canceled or expired (possibly after partial fills).
    Canceled,
    /// Settled by reconciliation (any resolution but `Open`, which leaves the order
    /// working in its current state).
    Resolved,
}

impl OrderState {
    /// True while the exchange may still act on the order: these need reconciliation.
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
    /// Sent record seen.
    pub sent: bool,
    /// Exchange order id from the ack.
    pub exchange_order_id: Option<u64>,
    /// Last status reported in an ack.
    pub last_status: Option<OrderStatus>,
    /// Sum of fill quantities.
    pub filled_qty: Decimal,
    /// Sum of fill quantity × price (for the average price).
    pub filled_notional: Decimal,
    /// Sum of fees.
    pub fees: Decimal,
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
            filled_qty: Decimal::ZERO,
            filled_notional: Decimal::ZERO,
            fees: Decimal::ZERO,
            trade_ids: Vec::new(),
            reject: None,
            canceled: false,
            resolution: None,
        }
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
        self.state = if matches!(self.resolution, Some(r) if r != Resolution::Open) {
            OrderState::Resolved
        } else if self.reject.is_some() {
            OrderState::Rejected
        } else if self.filled_qty >= self.intent.qty {
            OrderState::Filled
        } else if self.canceled {
            OrderState::Canceled
        } else if !self.filled_qty.is_zero() {
            OrderState::PartiallyFilled
        } else if self.exchange_order_id.is_some() {
            OrderState::Acked
        } else if self.sent {
            OrderState::Sent
        } else {
            OrderState::IntentOnly
        };
    }
}

/// All orders of a journal, by client order id, in journal order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalState {
    instance: Option<String>,
    orders: HashMap<String, OrderEntry>,
    sequence: Vec<String>,
    signal_seqs: HashSet<(u64, u8)>,
    max_signal_seq: Option<u64>,
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

    /// Orders the exchange may still act on: reconcile these after a restart.
    pub fn in_flight(&self) -> impl Iterator<Item = &OrderEntry> {
        self.orders().filter(|o| o.state.in_flight())
    }

    /// Highest signal sequence with an intent: signals at or below it were acted on.
    pub fn max_signal_seq(&self) -> Option<u64> {
        self.max_signal_seq
    }

    /// True if an intent exists for this signal and leg.
    pub fn has_signal(&self, signal_seq: u64, leg: u8) -> bool {
        self.signal_seqs.contains(&(signal_seq, leg))
    }

    /// True if this trade id is already journaled for the order.
    pub fn has_fill(&self, client_order_id: &str, trade_id: u64) -> bool {
        self.orders
            .get(client_order_id)
            .is_some_and(|o| o.trade_ids.contains(&trade_id))
    }

    /// Refuses a record that contradicts the history; `Ok` means `apply` will accept it.
    pub fn check(&self, rec: &Record) -> std::result::Result<(), String> {
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
            Record::Intent(i) => {
                if self.instance.is_none() {
                    return Err("intent before the header record".into());
                }
                if !is_valid_client_order_id(&i.client_order_id) {
                    return Err(format!("invalid client order id {:?}", i.client_order_id));
                }
                if self.orders.contains_key(&i.client_order_id) {
                    return Err(format!(
                        "duplicate client order id {:?}: this order was already journaled",
                        i.client_order_id
                    ));
                }
                if i.qty <= Decimal::ZERO {
                    return Err(format!("intent {:?} with qty {}", i.client_order_id, i.qty));
                }
            }
            Record::Fill(f) => {
                let o = known(&f.client_order_id)?;
                if f.qty <= Decimal::ZERO || f.price <= Decimal::ZERO {
                    return Err(format!(
                        "fill {} of {:?} with qty {} price {}",
                        f.trade_id, f.client_order_id, f.qty, f.price
                    ));
                }
                if o.trade_ids.contains(&f.trade_id) {
                    return Err(format!(
                        "duplicate fill: trade id {} already journaled for {:?}",
                        f.trade_id, f.client_order_id
                    ));
                }
                let total = o
                    .filled_qty
                    .checked_add(f.qty)
                    .ok_or_else(|| format!("fill qty {} overflows", f.qty))?;
                if f.qty.checked_mul(f.price).is_none() || f.fee.checked_add(o.fees).is_none() {
                    return Err(format!(
                        "fill {} of {:?} overflows",
                        f.trade_id, f.client_order_id
                    ));
                }
                if total > o.intent.qty {
                    return Err(format!(
                        "overfill of {:?}: {} filled + {} > order qty {}",
                        f.client_order_id, o.filled_qty, f.qty, o.intent.qty
                    ));
                }
            }
            other => {
                if let Some(id) = other.client_order_id() {
                    known(id)?;
                }
            }
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
                self.signal_seqs.insert((i.signal_seq, i.leg));
                self.max_signal_seq = Some(
                    self.max_signal_seq
                        .map_or(i.signal_seq, |m| m.max(i.signal_seq)),
                );
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
            } => touch(&mut self.orders, client_order_id, *ts_ns, &mut |o| {
                o.sent = true;
                o.exchange_order_id = Some(*exchange_order_id);
                o.last_status = Some(*status);
                match status {
                    OrderStatus::Canceled | OrderStatus::Expired | OrderStatus::ExpiredInMatch => {
                        o.canceled = true
                    }
                    OrderStatus::Rejected => {
                        o.reject.get_or_insert((0, "rejected in ack".to_string()));
                    }
                    _ => {}
                }
            }),
            Record::Fill(Fill {
                client_order_id,
                trade_id,
                qty,
                price,
                fee,
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
        }
    }
}
