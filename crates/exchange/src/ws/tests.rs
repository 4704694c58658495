//! Unit tests of the market-data client's logic (no sockets).

use futures_util::stream::FuturesUnordered;

use super::connection::backoff_ms;
use super::*;
use crate::wire::market::RestAggTrade;

fn cfg() -> MarketWsConfig {
    MarketWsConfig {
        ws_base_url: "ws://127.0.0.1:9/".into(),
        rest_base_url: "http://127.0.0.1:9".into(),
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        ..Default::default()
    }
}

#[test]
fn urls_per_symbol_and_combined_legacy_and_split() {
    let mut c = cfg();
    c.paths = PathCategory::Legacy;
    assert_eq!(
        c.connection_urls(),
        vec![
            "ws://127.0.0.1:9/ws/btcusdt@aggTrade/btcusdt@bookTicker",
            "ws://127.0.0.1:9/ws/ethusdt@aggTrade/ethusdt@bookTicker",
        ]
    );
    c.paths = PathCategory::Split;
    c.streams.depth = true;
    assert_eq!(
        c.connection_urls(),
        vec![
            "ws://127.0.0.1:9/market/ws/btcusdt@aggTrade",
            "ws://127.0.0.1:9/public/ws/btcusdt@bookTicker/btcusdt@depth@100ms",
            "ws://127.0.0.1:9/market/ws/ethusdt@aggTrade",
            "ws://127.0.0.1:9/public/ws/ethusdt@bookTicker/ethusdt@depth@100ms",
        ]
    );
    c.combined = true;
    c.depth_speed = DepthSpeed::Ms250;
    assert_eq!(
        c.connection_urls(),
        vec![
            "ws://127.0.0.1:9/market/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade",
            "ws://127.0.0.1:9/public/stream?streams=btcusdt@bookTicker/btcusdt@depth/ethusdt@bookTicker/ethusdt@depth",
        ]
    );
    c.max_streams_per_connection = 3;
    let u = c.connection_urls();
    assert_eq!(u.len(), 3);
    assert!(u[2].ends_with("streams=ethusdt@depth"));
}

#[test]
fn bad_configs_name_the_key() {
    let key = |c: MarketWsConfig| match MarketWs::new(c) {
        Err(ExchangeError::Config { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        key(MarketWsConfig {
            ws_base_url: "http://x".into(),
            ..cfg()
        }),
        "ws_base_url"
    );
    assert_eq!(
        key(MarketWsConfig {
            symbols: vec![],
            ..cfg()
        }),
        "symbols"
    );
    assert_eq!(
        key(MarketWsConfig {
            symbols: vec!["BTC-USDT".into()],
            ..cfg()
        }),
        "symbols"
    );
    assert_eq!(
        key(MarketWsConfig {
            streams: StreamSet {
                agg_trade: false,
                book_ticker: false,
                depth: false,
                mark_price: false,
            },
            ..cfg()
        }),
        "streams"
    );
    assert_eq!(
        key(MarketWsConfig {
            depth_snapshot_limit: 7,
            ..cfg()
        }),
        "depth_snapshot_limit"
    );
    assert_eq!(
        key(MarketWsConfig {
            backoff_base_ms: 0,
            ..cfg()
        }),
        "backoff_base_ms"
    );
    let mut ws = MarketWs::new(cfg()).unwrap();
    assert!(ws.set_last_agg_id("ethusdt", 5).is_ok());
    assert_eq!(ws.last_agg_id(1), Some(5));
    assert!(ws.set_last_agg_id("SOLUSDT", 5).is_err());
}

#[test]
fn backoff_grows_with_jitter_and_caps() {
    let c = MarketWsConfig {
        backoff_base_ms: 100,
        backoff_max_ms: 1000,
        ..cfg()
    };
    let mut rng = 12345u64;
    for attempt in 0..12 {
        let full = (100u64 << attempt).min(1000);
        for _ in 0..50 {
            let d = backoff_ms(&c, attempt, &mut rng);
            assert!(d >= full / 2 && d <= full, "{attempt}: {d}");
        }
    }
}

struct Collect(Vec<Tick>, Vec<WsEvent>);
impl MarketSink for Collect {
    fn on_tick(&mut self, t: &Tick) {
        self.0.push(*t);
    }
    fn on_event(&mut self, e: WsEvent) {
        self.1.push(e);
    }
}

fn tick(a: u64) -> Tick {
    Tick {
        agg_id: a,
        price: 1.0,
        qty: 1.0,
        ..Tick::default()
    }
}

fn rest(a: u64) -> RestAggTrade {
    RestAggTrade {
        agg_id: a,
        price: 1.0,
        qty: 1.0,
        first_trade_id: a,
        last_trade_id: a,
        trade_time: 1,
        buyer_is_maker: false,
    }
}

#[tokio::test(flavor = "current_thread")]
async fn gap_logic_holds_live_trades_until_the_backfill_lands() {
    let mut ws = MarketWs::new(cfg()).unwrap();
    let mut sink = Collect(Vec::new(), Vec::new());
    let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
    for a in [10, 11, 11, 9, 15, 14, 16, 16, 17] {
        ws.on_live_tick(tick(a), &mut pending, &mut sink);
    }
    // 10, 11 delivered; 11 and 9 repeats; 15 opened a gap 12..=14; 14 (<15) and
    // the second 16 dropped; 15, 16, 17 held.
    assert_eq!(
        sink.0.iter().map(|t| t.agg_id).collect::<Vec<_>>(),
        vec![10, 11]
    );
    assert_eq!(pending.len(), 1);
    assert_eq!(ws.stats.duplicates, 4);
    assert_eq!(
        sink.1,
        vec![WsEvent::GapDetected {
            symbol_id: 0,
            from: 12,
            to: 14
        }]
    );
    // The backfill lands with 12 and 14 only (13 lost), plus junk outside the range.
    ws.on_backfill(
        0,
        12,
        14,
        (vec![rest(11), rest(12), rest(14), rest(15)], None),
        &mut pending,
        &mut sink,
    );
    let ids: Vec<(u64, u8)> = sink.0.iter().map(|t| (t.agg_id, t.flags)).collect();
    let b = Tick::FLAG_BACKFILL;
    assert_eq!(
        ids,
        vec![
            (10, 0),
            (11, 0),
            (12, b),
            (14, b),
            (15, 0),
            (16, 0),
            (17, 0)
        ]
    );
    assert!(sink
        .1
        .contains(&WsEvent::GapBackfilled { symbol_id: 0, n: 2 }));
    assert!(sink.1.iter().any(|e| matches!(
        e,
        WsEvent::GapUnfilled {
            from: 13,
            to: 14,
            lost: 1,
            ..
        }
    )));
    assert_eq!(ws.last_agg_id(0), Some(17));
    assert_eq!(ws.stats.lost, 1);
}

struct Books(Vec<BookTop>, usize);
impl MarketSink for Books {
    fn on_tick(&mut self, _t: &Tick) {}
    fn on_book(&mut self, b: &BookTop) {
        self.0.push(*b);
    }
    fn on_event(&mut self, e: WsEvent) {
        if matches!(e, WsEvent::Malformed { .. }) {
            self.1 += 1;
        }
    }
}

#[test]
fn older_or_repeated_book_tickers_are_dropped_and_bad_frames_counted() {
    let mut ws = MarketWs::new(cfg()).unwrap();
    let mut sink = Books(Vec::new(), 0);
    let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
    let frame = |u: u64, bid: &str| {
        format!(
            r#"{{"e":"bookTicker","u":{u},"E":1,"T":1,"s":"ETHUSDT","b":"{bid}","B":"1","a":"9","A":"1"}}"#
        )
    };
    for (u, bid) in [(10, "1"), (10, "2"), (9, "3"), (11, "4")] {
        ws.on_frame(0, frame(u, bid).as_bytes(), &mut pending, &mut sink);
    }
    ws.on_frame(0, b"{\"e\":\"bookTicker\"", &mut pending, &mut sink);
    ws.on_frame(0, br#"{"result":null,"id":1}"#, &mut pending, &mut sink);
    let bids: Vec<f64> = sink.0.iter().map(|b| b.bid_px).collect();
    assert_eq!(bids, vec![1.0, 4.0]);
    assert!(sink.0.iter().all(|b| b.symbol_id == 1));
    let st = ws.stats();
    assert_eq!(
        (st.books, st.stale_books, st.malformed, st.control),
        (2, 2, 1, 1)
    );
    assert_eq!(sink.1, 1);
    assert_eq!(st.frames, 6);
}

#[tokio::test(flavor = "current_thread")]
async fn a_huge_gap_backfills_only_the_most_recent_ids() {
    let mut ws = MarketWs::new(MarketWsConfig {
        max_backfill_ids: 3,
        ..cfg()
    })
    .unwrap();
    let mut sink = Collect(Vec::new(), Vec::new());
    let mut pending: FuturesUnordered<Op> = FuturesUnordered::new();
    ws.on_live_tick(tick(100), &mut pending, &mut sink);
    ws.on_live_tick(tick(111), &mut pending, &mut sink);
    assert!(sink.1.contains(&WsEvent::GapUnfilled {
        symbol_id: 0,
        from: 101,
        to: 107,
        lost: 7,
        error: "gap larger than max_backfill_ids (3)".into()
    }));
    ws.on_backfill(
        0,
        108,
        110,
        ((105..=110).map(rest).collect(), None),
        &mut pending,
        &mut sink,
    );
    let ids: Vec<u64> = sink.0.iter().map(|t| t.agg_id).collect();
    assert_eq!(ids, vec![100, 108, 109, 110, 111]);
    assert_eq!(ws.stats.lost, 7);
}
