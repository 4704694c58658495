//! The order budget: Binance's order-count and request-weight limits, enforced here
//! before the exchange enforces them, with headroom kept for what protects money.
//!
//! Binance counts orders per account over 10 s and 1 min windows (300 and 1,200) and
//! request weight per IP per minute (2,400); past a limit it answers 429, and continuing
//! past 429s gets the IP banned (418) — with open positions and no way to move their
//! stops. So the executor counts its own orders in the same windows, and also takes the
//! venue's own count (`X-MBX-USED-WEIGHT-1M`, which includes requests this process did
//! not make, such as ingest's REST backfills) into account. New entries may use only
//! `entry_share` of each budget; stops, take-profits and exits (protective orders) may
//! use all of it. Time is an argument (nanoseconds), as everywhere in the logic crates.

use std::collections::VecDeque;

/// What an order is for: entries yield to protective orders when the budget is tight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderClass {
    /// A new position (or an add).
    Entry,
    /// A stop, take-profit, exit or flatten: never crowded out by entries.
    Protective,
}

/// Limits of the budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetLimits {
    /// Orders allowed per 10 s.
    pub orders_10s: u32,
    /// Orders allowed per minute.
    pub orders_1m: u32,
    /// Request weight allowed per minute.
    pub weight_1m: u32,
    /// Share of each limit entries may use (0..1).
    pub entry_share: f64,
}

/// Why the budget refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetExceeded {
    /// `orders_10s`, `orders_1m` or `weight_1m`.
    pub limit: &'static str,
    /// What is used.
    pub used: u32,
    /// What this class may use.
    pub allowed: u32,
}

const NS_10S: u64 = 10_000_000_000;
const NS_1M: u64 = 60_000_000_000;

/// Sliding windows of sent orders plus the venue's weight count.
#[derive(Debug, Clone)]
pub struct OrderBudget {
    limits: BudgetLimits,
    sent: VecDeque<u64>,
    /// Last request weight the venue reported and when (the minute it belongs to).
    venue_weight: u32,
    venue_weight_at_ns: u64,
}

impl OrderBudget {
    /// An empty budget.
    pub fn new(limits: BudgetLimits) -> OrderBudget {
        OrderBudget {
            limits,
            sent: VecDeque::with_capacity(1024),
            venue_weight: 0,
            venue_weight_at_ns: 0,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &BudgetLimits {
        &self.limits
    }

    fn expire(&mut self, now_ns: u64) {
        while self
            .sent
            .front()
            .is_some_and(|&t| t.saturating_add(NS_1M) <= now_ns)
        {
            self.sent.pop_front();
        }
    }

    /// Orders sent in the 10 s and the minute before `now_ns`.
    pub fn used(&mut self, now_ns: u64) -> (u32, u32) {
        self.expire(now_ns);
        let in_10s = self
            .sent
            .iter()
            .rev()
            .take_while(|&&t| t.saturating_add(NS_10S) > now_ns)
            .count() as u32;
        (in_10s, self.sent.len() as u32)
    }

    /// The venue's last reported request weight of the current minute (0 once that
    /// minute has passed: Binance's window is the calendar minute).
    pub fn venue_weight(&self, now_ns: u64) -> u32 {
        if now_ns / NS_1M == self.venue_weight_at_ns / NS_1M {
            self.venue_weight
        } else {
            0
        }
    }

    /// Records the venue's `X-MBX-USED-WEIGHT-1M` seen at `at_ns`.
    pub fn observe_weight(&mut self, used: u32, at_ns: u64) {
        if at_ns >= self.venue_weight_at_ns {
            self.venue_weight = used;
            self.venue_weight_at_ns = at_ns;
        }
    }

    /// May an order of `class` be sent at `now_ns`? (Does not record it.)
    pub fn check(&mut self, class: OrderClass, now_ns: u64) -> Result<(), BudgetExceeded> {
        let share = match class {
            OrderClass::Entry => self.limits.entry_share,
            OrderClass::Protective => 1.0,
        };
        let allowed = |limit: u32| ((limit as f64 * share).floor() as u32).max(1);
        let (o10, o1m) = self.used(now_ns);
        let w = self.venue_weight(now_ns);
        for (name, used, limit) in [
            ("orders_10s", o10, self.limits.orders_10s),
            ("orders_1m", o1m, self.limits.orders_1m),
            ("weight_1m", w, self.limits.weight_1m),
        ] {
            // An order must fit: `used + 1 <= allowed` (weight: the order itself costs
            // 0–1, the check is that the minute is not already at the share).
            if used >= allowed(limit) {
                return Err(BudgetExceeded {
                    limit: name,
                    used,
                    allowed: allowed(limit),
                });
            }
        }
        Ok(())
    }

    /// Records an order sent at `now_ns`.
    pub fn record(&mut self, now_ns: u64) {
        self.sent.push_back(now_ns);
        self.expire(now_ns);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_700_000_000_000_000_000;

    fn budget() -> OrderBudget {
        OrderBudget::new(BudgetLimits {
            orders_10s: 10,
            orders_1m: 30,
            weight_1m: 100,
            entry_share: 0.7,
        })
    }

    #[test]
    fn entries_stop_at_their_share_and_protective_orders_still_go() {
        let mut b = budget();
        for k in 0..7 {
            b.check(OrderClass::Entry, T0 + k).unwrap();
            b.record(T0 + k);
        }
        let e = b.check(OrderClass::Entry, T0 + 8).unwrap_err();
        assert_eq!((e.limit, e.used, e.allowed), ("orders_10s", 7, 7));
        for k in 7..10 {
            b.check(OrderClass::Protective, T0 + k).unwrap();
            b.record(T0 + k);
        }
        assert!(b.check(OrderClass::Protective, T0 + 11).is_err());
        // Ten seconds later the 10 s window is empty again.
        b.check(OrderClass::Entry, T0 + NS_10S + 10).unwrap();
    }

    #[test]
    fn the_minute_window_holds_when_the_10s_one_has_room() {
        let mut b = budget();
        for k in 0..21u64 {
            let t = T0 + k * 2 * NS_10S / 10; // one every 2 s
            b.check(OrderClass::Entry, t).unwrap();
            b.record(t);
        }
        let t = T0 + 21 * 2 * NS_10S / 10;
        let e = b.check(OrderClass::Entry, t).unwrap_err();
        assert_eq!(e.limit, "orders_1m");
        b.check(OrderClass::Protective, t).unwrap();
    }

    #[test]
    fn the_venues_weight_counts_only_within_its_minute() {
        let mut b = budget();
        let minute = T0 - T0 % NS_1M;
        b.observe_weight(80, minute + 1);
        let e = b.check(OrderClass::Entry, minute + 2).unwrap_err();
        assert_eq!(e.limit, "weight_1m");
        b.check(OrderClass::Protective, minute + 2).unwrap();
        assert_eq!(b.venue_weight(minute + NS_1M), 0);
        b.check(OrderClass::Entry, minute + NS_1M).unwrap();
    }
}
