//! The executor's own orders while they live: what was asked, what the exchange has
//! said about them, and which fills have been applied — so an order is complete only
//! when its terminal state is known *and* every execution of it has been applied, from
//! whichever source (stream or REST) it came.

use shmtrader_core::instrument::Qty;
use shmtrader_core::{ExitReason, Side};
use std::collections::HashMap;

/// What an order is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Opens, adds to or reverses a position.
    Entry,
    /// Closes a position (reduce-only market order).
    Exit(ExitReason),
    /// An exchange-held protective stop or take-profit (algo order).
    Protective,
}

/// One order this instance placed.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveOrder {
    /// Client order id (client algo id for a conditional).
    pub coid: String,
    /// Symbol id.
    pub symbol_id: u32,
    /// Side.
    pub side: Side,
    /// Ordered quantity.
    pub qty: Qty,
    /// Purpose.
    pub role: Role,
    /// Exchange order id (algo id for a conditional), once known.
    pub exchange_id: Option<u64>,
    /// A triggered conditional's order in the matching engine.
    pub actual_id: Option<u64>,
    /// Quantity of the fills applied so far.
    pub applied: Qty,
    /// Executed quantity at the end, once the order is known to be done.
    pub final_qty: Option<Qty>,
    /// When the final quantity became known (ns).
    pub final_at_ns: u64,
    /// When it was sent (ns).
    pub sent_at_ns: u64,
    /// Last time its fills were asked of REST (ns).
    pub fetched_at_ns: u64,
    /// The send itself is unanswered (REST).
    pub awaiting_answer: bool,
}

impl LiveOrder {
    /// An order just sent: unanswered, nothing filled or finished yet.
    pub fn sent(
        coid: String,
        symbol_id: u32,
        side: Side,
        qty: Qty,
        role: Role,
        now_ns: u64,
    ) -> LiveOrder {
        LiveOrder {
            coid,
            symbol_id,
            side,
            qty,
            role,
            exchange_id: None,
            actual_id: None,
            applied: Qty(0),
            final_qty: None,
            final_at_ns: 0,
            sent_at_ns: now_ns,
            fetched_at_ns: now_ns,
            awaiting_answer: true,
        }
    }

    /// Done: the exchange finished it and all of its fills are applied.
    pub fn complete(&self) -> bool {
        self.final_qty.is_some_and(|f| self.applied >= f) && !self.awaiting_answer
    }

    /// Finished on the exchange but fills still missing.
    pub fn missing_fills(&self) -> bool {
        self.final_qty.is_some_and(|f| self.applied < f)
    }
}

/// Live orders by client id, with lookups by exchange id.
#[derive(Debug, Default)]
pub struct OrderBook {
    by_coid: HashMap<String, LiveOrder>,
    by_exchange: HashMap<u64, String>,
}

impl OrderBook {
    /// Adds an order just sent.
    pub fn insert(&mut self, o: LiveOrder) {
        if let Some(id) = o.exchange_id {
            self.by_exchange.insert(id, o.coid.clone());
        }
        if let Some(id) = o.actual_id {
            self.by_exchange.insert(id, o.coid.clone());
        }
        self.by_coid.insert(o.coid.clone(), o);
    }

    /// By client id.
    pub fn get(&self, coid: &str) -> Option<&LiveOrder> {
        self.by_coid.get(coid)
    }

    /// By client id, mutable.
    pub fn get_mut(&mut self, coid: &str) -> Option<&mut LiveOrder> {
        self.by_coid.get_mut(coid)
    }

    /// The client id of an exchange order id (an order's, or a triggered stop's order).
    pub fn coid_of(&self, exchange_id: u64) -> Option<&str> {
        self.by_exchange.get(&exchange_id).map(String::as_str)
    }

    /// Records the exchange id of an order.
    pub fn set_exchange_id(&mut self, coid: &str, id: u64) {
        if let Some(o) = self.by_coid.get_mut(coid) {
            o.exchange_id = Some(id);
            self.by_exchange.insert(id, coid.to_string());
        }
    }

    /// Records the matching-engine order of a triggered conditional.
    pub fn set_actual_id(&mut self, coid: &str, id: u64) {
        if let Some(o) = self.by_coid.get_mut(coid) {
            o.actual_id = Some(id);
            self.by_exchange.insert(id, coid.to_string());
        }
    }

    /// Removes a finished order (its exchange ids stay known, so a late duplicate of
    /// one of its trades is still recognised as ours).
    pub fn remove(&mut self, coid: &str) -> Option<LiveOrder> {
        self.by_coid.remove(coid)
    }

    /// Every live order.
    pub fn iter(&self) -> impl Iterator<Item = &LiveOrder> {
        self.by_coid.values()
    }

    /// Number of live orders.
    pub fn len(&self) -> usize {
        self.by_coid.len()
    }

    /// No live orders.
    pub fn is_empty(&self) -> bool {
        self.by_coid.is_empty()
    }

    /// Client ids of the live orders matching `f`.
    pub fn select(&self, mut f: impl FnMut(&LiveOrder) -> bool) -> Vec<String> {
        self.by_coid
            .values()
            .filter(|o| f(o))
            .map(|o| o.coid.clone())
            .collect()
    }

    /// Forgets an exchange-id mapping that is known (remembered from the journal).
    pub fn remember(&mut self, exchange_id: u64, coid: &str) {
        self.by_exchange.insert(exchange_id, coid.to_string());
    }
}
