//! Unit-test scaffolding: an engine over real catalog symbols with a hand-made book and
//! tape, its user-stream events collected as JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::params::Params;
use super::Engine;
use crate::bus::{MarketMsg, Outbox, Subs, UserMsg};
use crate::config::MockConfig;
use crate::feed::{AggTrade, FeedEvent, FeedKind, Level};
use crate::spec::{find_spec, SymbolSpec};

/// Data time of the first event (ms).
pub(super) const T0: u64 = 1_700_000_000_000;

pub(super) struct Kit {
    pub(super) e: Engine,
    pub(super) rx: broadcast::Receiver<UserMsg>,
    pub(super) mrx: broadcast::Receiver<MarketMsg>,
    pub(super) now: u64,
    agg_id: u64,
}

/// An engine listing `symbols` with the default account (10,000 USDT, leverage 20).
pub(super) fn kit(symbols: &[&str]) -> Kit {
    kit_with(symbols, MockConfig::default())
}

pub(super) fn kit_with(symbols: &[&str], cfg: MockConfig) -> Kit {
    let specs: Vec<SymbolSpec> = symbols.iter().map(|s| find_spec(s).unwrap()).collect();
    let (market, mrx) = broadcast::channel(1 << 16);
    let (user, rx) = broadcast::channel(1 << 16);
    let out = Outbox {
        market,
        user,
        subs: Arc::new(Subs::default()),
    };
    Kit {
        e: Engine::new(&specs, &cfg, out),
        rx,
        mrx,
        now: T0,
        agg_id: 1,
    }
}

/// Request parameters from pairs.
pub(super) fn ps(kv: &[(&str, &str)]) -> Params {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Kit {
    fn tick(&mut self) -> u64 {
        self.now += 1;
        self.now
    }

    /// A full book: `levels` levels per side of `qty` units each, one tick apart, best
    /// bid `bid` and best ask one tick above (price units).
    pub(super) fn book(&mut self, sym: usize, bid: i64, qty: i64, levels: usize) {
        let tick = self.e.mk[sym].spec.tick;
        let bids: Vec<Level> = (0..levels as i64).map(|i| (bid - i * tick, qty)).collect();
        let asks: Vec<Level> = (0..levels as i64)
            .map(|i| (bid + (i + 1) * tick, qty))
            .collect();
        let time = self.tick();
        self.e.apply(FeedEvent {
            time,
            kind: FeedKind::Snapshot {
                sym,
                last_id: time,
                bids,
                asks,
            },
        });
    }

    /// Only a best bid / ask (a replay with bookTicker but no depth).
    pub(super) fn ticker(&mut self, sym: usize, bid: Level, ask: Level) {
        let time = self.tick();
        self.e.apply(FeedEvent {
            time,
            kind: FeedKind::BookTicker {
                sym,
                update_id: time,
                tx_time: time,
                bid,
                ask,
            },
        });
    }

    /// One aggTrade on the tape (`buyer_maker`: the taker sold).
    pub(super) fn trade(&mut self, sym: usize, price: i64, qty: i64, buyer_maker: bool) {
        let time = self.tick();
        let id = self.agg_id;
        self.agg_id += 1;
        self.e.apply(FeedEvent {
            time,
            kind: FeedKind::AggTrade {
                sym,
                trade: AggTrade {
                    id,
                    price,
                    qty,
                    first: id,
                    last: id,
                    time,
                    event_time: time,
                    buyer_maker,
                },
            },
        });
    }

    /// Moves the data clock (closes depth windows, publishes marks, checks MARK_PRICE
    /// triggers at whole seconds).
    pub(super) fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.e.advance(self.now);
    }

    /// The user-stream events sent since the last call, as JSON.
    pub(super) fn events(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(m) = self.rx.try_recv() {
            out.push(serde_json::from_str(&m.payload).unwrap());
        }
        out
    }

    /// Market-stream frames sent since the last call: (stream, JSON). Only streams
    /// someone subscribed to (`self.e.out.subs.add`) are built and sent.
    pub(super) fn market_frames(&mut self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        while let Ok(m) = self.mrx.try_recv() {
            out.push((
                m.stream.to_string(),
                serde_json::from_str(&m.payload).unwrap(),
            ));
        }
        out
    }

    /// `e` / `o.x` / `o.X` of each event: a compact trace for ordering assertions.
    pub(super) fn trace(&mut self) -> Vec<String> {
        self.events()
            .iter()
            .map(|v| {
                let e = v["e"].as_str().unwrap_or("").to_string();
                match e.as_str() {
                    "ORDER_TRADE_UPDATE" => format!(
                        "OTU:{}:{}",
                        v["o"]["x"].as_str().unwrap(),
                        v["o"]["X"].as_str().unwrap()
                    ),
                    "ALGO_UPDATE" => format!("ALGO:{}", v["o"]["X"].as_str().unwrap()),
                    "ACCOUNT_UPDATE" => format!("ACC:{}", v["a"]["m"].as_str().unwrap()),
                    other => other.to_string(),
                }
            })
            .collect()
    }

    /// A MARKET order.
    pub(super) fn market(&mut self, symbol: &str, side: &str, qty: &str) -> Result<Value, i64> {
        self.e
            .new_order(
                &ps(&[
                    ("symbol", symbol),
                    ("side", side),
                    ("type", "MARKET"),
                    ("quantity", qty),
                ]),
                super::Endpoint::Order,
            )
            .map(|(_, r)| r)
            .map_err(|e| e.code)
    }
}
