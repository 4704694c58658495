//! Market events that drive the mock, whatever their source (replay or synthetic), and
//! Binance's aggTrade aggregation rule.

/// A book level (price units, quantity units; quantity 0 deletes).
pub type Level = (i64, i64);

/// One aggregated trade, as `@aggTrade` and `/fapi/v1/aggTrades` publish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggTrade {
    /// Aggregate trade id `a`.
    pub id: u64,
    /// Price units.
    pub price: i64,
    /// Quantity units.
    pub qty: i64,
    /// First raw trade id `f`.
    pub first: u64,
    /// Last raw trade id `l`.
    pub last: u64,
    /// Trade time `T` (ms).
    pub time: u64,
    /// Event time `E` (ms).
    pub event_time: u64,
    /// `m`: the buyer was the maker, i.e. the taker sold.
    pub buyer_maker: bool,
}

/// One raw fill, as Binance's `@trade` stream and the hftbacktest trade CSVs carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTrade {
    /// Trade id `t`.
    pub id: u64,
    /// Price units.
    pub price: i64,
    /// Quantity units.
    pub qty: i64,
    /// Match time `T` (ms).
    pub time: u64,
    /// Event time `E` (ms).
    pub event_time: u64,
    /// `m`.
    pub buyer_maker: bool,
    /// `X == "MARKET"`; insurance-fund and ADL fills are never aggregated.
    pub market: bool,
}

/// What happened in the market.
#[derive(Debug, Clone)]
pub enum FeedKind {
    /// A finished aggTrade.
    AggTrade {
        /// Symbol index.
        sym: usize,
        /// The trade.
        trade: AggTrade,
    },
    /// A book diff covering update ids `first..=last`.
    Depth {
        /// Symbol index.
        sym: usize,
        /// `U`.
        first: u64,
        /// `u`.
        last: u64,
        /// `pu` as recorded (the engine re-chains it per emitted stream).
        prev: u64,
        /// `T`.
        tx_time: u64,
        /// Changed bid levels.
        bids: Vec<Level>,
        /// Changed ask levels.
        asks: Vec<Level>,
    },
    /// A full book, replacing whatever the engine held.
    Snapshot {
        /// Symbol index.
        sym: usize,
        /// `lastUpdateId`.
        last_id: u64,
        /// Bids, best first.
        bids: Vec<Level>,
        /// Asks, best first.
        asks: Vec<Level>,
    },
    /// Best bid/ask as recorded.
    BookTicker {
        /// Symbol index.
        sym: usize,
        /// `u`.
        update_id: u64,
        /// `T`.
        tx_time: u64,
        /// Best bid (price, qty).
        bid: Level,
        /// Best ask (price, qty).
        ask: Level,
    },
}

/// A market event at data time `time` (ms; Binance `E`).
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// Event time in the data's clock.
    pub time: u64,
    /// The event.
    pub kind: FeedKind,
}

/// Streaming form of Binance's aggregation: consecutive fills of one taker order at one
/// price (same match time, same price, same side, consecutive trade ids) form one
/// aggTrade; non-MARKET fills are dropped and do not break a run.
#[derive(Debug)]
pub struct Aggregator {
    next_id: u64,
    pending: Option<AggTrade>,
}

impl Aggregator {
    /// Aggregate ids start at `first_id`.
    pub fn new(first_id: u64) -> Self {
        Aggregator {
            next_id: first_id,
            pending: None,
        }
    }

    /// Feeds one raw trade; returns the aggTrade it closed, if any.
    pub fn push(&mut self, t: &RawTrade) -> Option<AggTrade> {
        if !t.market {
            return None;
        }
        if let Some(p) = &mut self.pending {
            if p.time == t.time
                && p.price == t.price
                && p.buyer_maker == t.buyer_maker
                && t.id == p.last + 1
            {
                p.qty += t.qty;
                p.last = t.id;
                p.event_time = p.event_time.max(t.event_time);
                return None;
            }
        }
        let done = self.pending.take();
        self.pending = Some(AggTrade {
            id: self.next_id,
            price: t.price,
            qty: t.qty,
            first: t.id,
            last: t.id,
            time: t.time,
            event_time: t.event_time,
            buyer_maker: t.buyer_maker,
        });
        self.next_id += 1;
        done
    }

    /// Closes the open aggTrade at the end of the data.
    pub fn finish(&mut self) -> Option<AggTrade> {
        self.pending.take()
    }
}

/// Aggregates a whole slice of raw trades (in trade-id order).
pub fn aggregate_trades(trades: &[RawTrade], first_id: u64) -> Vec<AggTrade> {
    let mut agg = Aggregator::new(first_id);
    let mut out: Vec<AggTrade> = trades.iter().filter_map(|t| agg.push(t)).collect();
    out.extend(agg.finish());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt(id: u64, price: i64, qty: i64, time: u64, m: bool) -> RawTrade {
        RawTrade {
            id,
            price,
            qty,
            time,
            event_time: time + 1,
            buyer_maker: m,
            market: true,
        }
    }

    #[test]
    fn aggregates_one_taker_order_per_price() {
        let trades = vec![
            rt(100, 6_394_390, 3, 1000, true),
            rt(101, 6_394_390, 17, 1000, true), // same taker, same price
            rt(102, 6_394_380, 5, 1000, true),  // same taker sweeps the next level
            rt(103, 6_394_380, 1, 1001, true),  // new match time: new taker order
            rt(104, 6_394_380, 2, 1001, false), // other side
            RawTrade {
                market: false,
                ..rt(105, 6_394_380, 9, 1001, false)
            },
            rt(106, 6_394_380, 4, 1001, false), // id gap (insurance fill between): new agg
        ];
        let a = aggregate_trades(&trades, 7);
        let got: Vec<(u64, i64, i64, u64, u64, bool)> = a
            .iter()
            .map(|x| (x.id, x.price, x.qty, x.first, x.last, x.buyer_maker))
            .collect();
        assert_eq!(
            got,
            vec![
                (7, 6_394_390, 20, 100, 101, true),
                (8, 6_394_380, 5, 102, 102, true),
                (9, 6_394_380, 1, 103, 103, true),
                (10, 6_394_380, 2, 104, 104, false),
                (11, 6_394_380, 4, 106, 106, false),
            ]
        );
        assert_eq!(a[0].event_time, 1001);
    }
}
