//! The market-data websocket client against the in-process mock exchange: reconnects,
//! gap backfill, malformed frames, both connection layouts, bookTicker, depth sync,
//! pings, resume after restart, age replacement, and a replay of recorded trades.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use shmtrader_core::{BookTop, Side, Tick, NS_PER_MS};
use shmtrader_exchange::book::OrderBook;
use shmtrader_exchange::wire::market::RestAggTrade;
use shmtrader_exchange::ws::{
    MarketSink, MarketWs, MarketWsConfig, PathCategory, StreamSet, WsEvent, WsStats,
};
use shmtrader_mockex::replay::read_raw_trades;
use shmtrader_mockex::{aggregate_trades, MockConfig, MockHandle, Speed};

const SYMS: [&str; 3] = ["BTCUSDT", "ETHUSDT", "SOLUSDT"];

#[derive(Debug, Default)]
struct Seen {
    ticks: Vec<Tick>,
    marks: Vec<shmtrader_core::MarkPrice>,
    books: Vec<BookTop>,
    events: Vec<WsEvent>,
    depth_updates: u64,
    depth_crossed: u64,
    depth_tops: BTreeMap<u32, (f64, f64)>,
    /// Depth updates whose best bid/ask equal the last bookTicker received.
    depth_top_matches_ticker: u64,
}

#[derive(Debug, Clone, Default)]
struct Sink(Rc<RefCell<Seen>>);

impl MarketSink for Sink {
    fn on_tick(&mut self, t: &Tick) {
        self.0.borrow_mut().ticks.push(*t);
    }
    fn on_book(&mut self, b: &BookTop) {
        self.0.borrow_mut().books.push(*b);
    }
    fn on_depth(&mut self, symbol_id: u32, book: &OrderBook) {
        let mut s = self.0.borrow_mut();
        s.depth_updates += 1;
        if book.is_crossed() {
            s.depth_crossed += 1;
        }
        if let (Some(b), Some(a)) = (book.best_bid(), book.best_ask()) {
            s.depth_tops.insert(symbol_id, (b.0, a.0));
            let last = s.books.iter().rev().find(|t| t.symbol_id == symbol_id);
            if last.is_some_and(|t| (t.bid_px, t.ask_px) == (b.0, a.0)) {
                s.depth_top_matches_ticker += 1;
            }
        }
    }
    fn on_event(&mut self, e: WsEvent) {
        self.0.borrow_mut().events.push(e);
        diag(self);
    }
    fn on_mark(&mut self, m: &shmtrader_core::MarkPrice) {
        self.0.borrow_mut().marks.push(*m);
    }
}

impl Sink {
    fn ticks_of(&self, sym: u32) -> Vec<Tick> {
        self.0
            .borrow()
            .ticks
            .iter()
            .filter(|t| t.symbol_id == sym)
            .copied()
            .collect()
    }
    fn count(&self, f: impl Fn(&WsEvent) -> bool) -> usize {
        self.0.borrow().events.iter().filter(|e| f(e)).count()
    }
}

async fn mock(cfg: MockConfig) -> MockHandle {
    shmtrader_mockex::spawn(MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..cfg
    })
    .await
    .unwrap()
}

async fn synth_mock() -> MockHandle {
    mock(MockConfig {
        trades_per_sec: 300.0,
        ..MockConfig::default()
    })
    .await
}

fn client_cfg(h: &MockHandle, combined: bool, paths: PathCategory) -> MarketWsConfig {
    MarketWsConfig {
        ws_base_url: h.ws_url(),
        rest_base_url: h.http_url(),
        paths,
        symbols: SYMS.iter().map(|s| s.to_string()).collect(),
        combined,
        backoff_base_ms: 200,
        backoff_max_ms: 2_000,
        rest_retries: 3,
        ..MarketWsConfig::default()
    }
}

/// Runs the client until `driver` finishes, then stops it.
async fn run_with(ws: &mut MarketWs, sink: &Sink, driver: impl Future<Output = ()>) -> WsStats {
    let stop = ws.stop_handle();
    let mut s = sink.clone();
    let (stats, ()) = tokio::join!(ws.run(&mut s), async {
        driver.await;
        stop.stop();
    });
    stats.unwrap()
}

async fn wait_until(what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        if tokio::time::Instant::now() > deadline {
            let seen = DIAG.with(|d| d.borrow().clone());
            panic!("timed out after {secs} s waiting for: {what}\n{seen}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

thread_local! {
    /// What the current test's sink saw, for timeout messages.
    static DIAG: RefCell<String> = const { RefCell::new(String::new()) };
}

fn diag(sink: &Sink) {
    let s = sink.0.borrow();
    let mut per: BTreeMap<u32, (usize, u64, u64)> = BTreeMap::new();
    for t in &s.ticks {
        let e = per.entry(t.symbol_id).or_insert((0, t.agg_id, 0));
        e.0 += 1;
        e.2 = t.agg_id;
    }
    let ev: Vec<String> = s
        .events
        .iter()
        .rev()
        .take(30)
        .map(|e| format!("{e:?}"))
        .collect();
    let text = format!(
        "ticks per symbol (n, first, last): {per:?}; books {}; depth {}; last events: {ev:#?}",
        s.books.len(),
        s.depth_updates
    );
    DIAG.with(|d| *d.borrow_mut() = text);
}

/// Every symbol's ids are strictly consecutive, and each delivered trade equals the
/// exchange's REST history for that id. Returns (live, backfilled) counts.
async fn assert_complete_and_true(h: &MockHandle, sink: &Sink, n_syms: usize) -> (usize, usize) {
    let http = reqwest::Client::new();
    let (mut live, mut back) = (0, 0);
    for sym in 0..n_syms as u32 {
        let ticks = sink.ticks_of(sym);
        assert!(!ticks.is_empty(), "no ticks for symbol {sym}");
        for w in ticks.windows(2) {
            assert_eq!(
                w[1].agg_id,
                w[0].agg_id + 1,
                "symbol {sym}: {} followed by {}",
                w[0].agg_id,
                w[1].agg_id
            );
        }
        // Compare with REST, page by page.
        let (first, last) = (ticks[0].agg_id, ticks[ticks.len() - 1].agg_id);
        let mut rest: Vec<RestAggTrade> = Vec::new();
        let mut from = first;
        while from <= last {
            let url = format!(
                "{}/fapi/v1/aggTrades?symbol={}&fromId={from}&limit=1000",
                h.http_url(),
                SYMS[sym as usize]
            );
            let page: Vec<RestAggTrade> = http.get(url).send().await.unwrap().json().await.unwrap();
            assert!(!page.is_empty());
            from = page[page.len() - 1].agg_id + 1;
            rest.extend(page.into_iter().filter(|t| t.agg_id <= last));
        }
        assert_eq!(rest.len(), ticks.len(), "symbol {sym}");
        for (t, r) in ticks.iter().zip(&rest) {
            assert_eq!(t.agg_id, r.agg_id);
            assert_eq!(t.price, r.price, "id {}", t.agg_id);
            assert_eq!(t.qty, r.qty, "id {}", t.agg_id);
            assert_eq!(t.last_trade_id, r.last_trade_id);
            assert_eq!(t.exchange_ts_ns, r.trade_time * NS_PER_MS);
            let side = if r.buyer_is_maker {
                Side::Sell
            } else {
                Side::Buy
            };
            assert_eq!(t.aggressor(), Some(side));
            assert_eq!(t.symbol_id, sym);
            if t.flags & Tick::FLAG_BACKFILL != 0 {
                back += 1;
            } else {
                live += 1;
            }
        }
    }
    (live, back)
}

fn min_ticks(sink: &Sink, n_syms: usize) -> usize {
    (0..n_syms as u32)
        .map(|s| sink.ticks_of(s).len())
        .min()
        .unwrap_or(0)
}

#[tokio::test(flavor = "current_thread")]
async fn reconnects_after_a_drop_and_backfills_without_loss_or_repeat() {
    let h = synth_mock().await;
    let mut ws = MarketWs::new(client_cfg(&h, false, PathCategory::Legacy)).unwrap();
    let conns = ws.connection_urls().len();
    assert_eq!(conns, 3);
    let sink = Sink::default();
    let s = sink.clone();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("20 ticks per symbol", 60, || min_ticks(&s, 3) >= 20).await;
        let before = min_ticks(&s, 3);
        h.drop_connections();
        wait_until("reconnected", 60, || {
            s.count(|e| matches!(e, WsEvent::Connected { .. })) >= 2 * conns
        })
        .await;
        wait_until("20 more ticks per symbol", 60, || {
            min_ticks(&s, 3) >= before + 20
        })
        .await;
    })
    .await;
    let (live, back) = assert_complete_and_true(&h, &sink, 3).await;
    println!("drop test: {live} live, {back} backfilled; {stats:?}");
    assert_eq!(
        sink.count(|e| matches!(e, WsEvent::Disconnected { .. })),
        conns
    );
    assert!(stats.connects >= 2 * conns as u64);
    assert!(
        stats.gaps >= 1,
        "a 100+ ms outage at 300 trades/s leaves a gap"
    );
    assert!(back >= 1);
    assert_eq!(stats.lost, 0);
    assert_eq!(stats.backfilled as usize, back);
}

#[tokio::test(flavor = "current_thread")]
async fn dropped_agg_trades_are_detected_and_backfilled() {
    let h = synth_mock().await;
    let mut ws = MarketWs::new(client_cfg(&h, true, PathCategory::Split)).unwrap();
    let sink = Sink::default();
    let s = sink.clone();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("10 ticks per symbol", 60, || min_ticks(&s, 3) >= 10).await;
        h.drop_agg_trades(5);
        wait_until("a 5-trade gap backfilled on every symbol", 60, || {
            s.count(|e| matches!(e, WsEvent::GapBackfilled { n: 5, .. })) >= 3
        })
        .await;
        let n = min_ticks(&s, 3);
        wait_until("10 more ticks per symbol", 60, || {
            min_ticks(&s, 3) >= n + 10
        })
        .await;
    })
    .await;
    for sym in 0..3u32 {
        assert!(
            sink.count(|e| matches!(e, WsEvent::GapDetected { symbol_id, from, to } if *symbol_id == sym && to - from + 1 == 5))
                == 1,
            "symbol {sym}: {:?}",
            sink.0.borrow().events
        );
    }
    let (live, back) = assert_complete_and_true(&h, &sink, 3).await;
    println!("drop_agg_trades test: {live} live, {back} backfilled; {stats:?}");
    assert_eq!(back, 15);
    assert_eq!(stats.gaps, 3);
    assert_eq!(stats.lost, 0);
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_frames_are_counted_and_skipped() {
    let h = synth_mock().await;
    let mut ws = MarketWs::new(client_cfg(&h, false, PathCategory::Split)).unwrap();
    let conns = ws.connection_urls().len();
    assert_eq!(conns, 6); // per symbol: /market aggTrade + /public bookTicker
    let sink = Sink::default();
    let s = sink.clone();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("ticks and books", 60, || {
            min_ticks(&s, 3) >= 5 && s.0.borrow().books.len() >= 10
        })
        .await;
        h.inject_malformed(4);
        wait_until("4 malformed frames on each connection", 60, || {
            s.count(|e| matches!(e, WsEvent::Malformed { .. })) >= 4 * conns
        })
        .await;
        let n = min_ticks(&s, 3);
        wait_until("the feed goes on", 60, || min_ticks(&s, 3) >= n + 10).await;
    })
    .await;
    assert_eq!(stats.malformed, 4 * conns as u64);
    assert_eq!(
        stats.disconnects, 0,
        "a bad frame must not cost the connection"
    );
    for c in 0..conns {
        assert_eq!(
            sink.count(|e| matches!(e, WsEvent::Malformed { conn, .. } if *conn == c)),
            4
        );
    }
    assert_complete_and_true(&h, &sink, 3).await;
}

#[tokio::test(flavor = "current_thread")]
async fn combined_and_per_symbol_modes_both_deliver_ticks_and_book_tops() {
    let h = synth_mock().await;
    for (combined, paths) in [
        (false, PathCategory::Legacy),
        (false, PathCategory::Split),
        (true, PathCategory::Legacy),
        (true, PathCategory::Split),
    ] {
        let mut ws = MarketWs::new(client_cfg(&h, combined, paths)).unwrap();
        let urls = ws.connection_urls().to_vec();
        let sink = Sink::default();
        let s = sink.clone();
        let stats = run_with(&mut ws, &sink, async {
            wait_until("ticks and book tops for every symbol", 60, || {
                let seen = s.0.borrow();
                let books_ok =
                    (0..3u32).all(|i| seen.books.iter().filter(|b| b.symbol_id == i).count() >= 3);
                drop(seen);
                min_ticks(&s, 3) >= 10 && books_ok
            })
            .await;
        })
        .await;
        println!("combined={combined} {paths:?}: {urls:?} → {stats:?}");
        assert_eq!(stats.connects as usize, urls.len());
        assert_eq!(stats.malformed, 0);
        assert_complete_and_true(&h, &sink, 3).await;
        // bookTicker → BookTop: sane quotes, stamped, per symbol.
        for b in &sink.0.borrow().books {
            assert!(b.symbol_id < 3);
            assert!(b.bid_px > 0.0 && b.ask_px > b.bid_px, "{b:?}");
            assert!(b.bid_qty > 0.0 && b.ask_qty > 0.0);
            assert!(b.exchange_ts_ns > 1_600_000_000_000 * NS_PER_MS);
            assert!(b.recv_ts_ns > 1_600_000_000_000 * NS_PER_MS);
        }
    }
}

/// The executor values positions and judges stops at the mark price: the client
/// delivers `markPrice@1s` frames as typed records, every symbol, at least once a second.
#[tokio::test(flavor = "current_thread")]
async fn mark_prices_arrive_for_every_symbol_once_a_second() {
    let h = synth_mock().await;
    let mut cfg = client_cfg(&h, false, PathCategory::Split);
    cfg.streams = StreamSet {
        agg_trade: false,
        book_ticker: false,
        depth: false,
        mark_price: true,
    };
    let n = cfg.symbols.len();
    let mut ws = MarketWs::new(cfg).unwrap();
    let sink = Sink::default();
    let s = sink.clone();
    let t0 = std::time::Instant::now();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("three marks per symbol", 30, || {
            let m = &s.0.borrow().marks;
            (0..n as u32).all(|i| m.iter().filter(|x| x.symbol_id == i).count() >= 3)
        })
        .await;
    })
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let marks = sink.0.borrow().marks.clone();
    assert_eq!(stats.marks as usize, marks.len());
    assert!(secs < 10.0, "three marks took {secs:.1} s");
    for m in &marks {
        assert!(m.mark_px > 0.0 && m.mark_px.is_finite(), "{m:?}");
        assert!(m.exchange_ts_ns > 0 && m.recv_ts_ns > 0, "{m:?}");
        assert!(m.next_funding_ms > m.exchange_ts_ns / 1_000_000, "{m:?}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn depth_stream_keeps_a_synced_uncrossed_book() {
    let h = synth_mock().await;
    let mut cfg = client_cfg(&h, false, PathCategory::Split);
    cfg.streams = StreamSet {
        agg_trade: true,
        book_ticker: true,
        depth: true,
        mark_price: false,
    };
    let mut ws = MarketWs::new(cfg).unwrap();
    let sink = Sink::default();
    let s = sink.clone();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("every book synced", 60, || {
            s.count(|e| matches!(e, WsEvent::BookSynced { .. })) >= 3
        })
        .await;
        wait_until("50 depth updates", 60, || s.0.borrow().depth_updates >= 50).await;
        // A drop: the books either chain on or resync, and keep going.
        h.drop_connections();
        let n = s.0.borrow().depth_updates;
        wait_until("depth flows again", 60, || {
            s.0.borrow().depth_updates >= n + 30
        })
        .await;
    })
    .await;
    println!("depth test: {stats:?}");
    let seen = sink.0.borrow();
    assert_eq!(seen.depth_crossed, 0);
    assert!(stats.depth_applied >= 80);
    assert_eq!(stats.malformed, 0);
    for sym in 0..3u32 {
        let (b, a) = seen.depth_tops[&sym];
        assert!(b < a);
        assert!(ws.book(sym).unwrap().is_synced(), "symbol {sym}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn pings_are_answered_so_the_server_keeps_the_connection() {
    let h = mock(MockConfig {
        trades_per_sec: 50.0,
        ws_ping_interval: Duration::from_millis(100),
        ws_pong_timeout: Duration::from_millis(500),
        ..MockConfig::default()
    })
    .await;
    let mut ws = MarketWs::new(client_cfg(&h, true, PathCategory::Legacy)).unwrap();
    let sink = Sink::default();
    let stats = run_with(&mut ws, &sink, async {
        tokio::time::sleep(Duration::from_millis(2_000)).await;
    })
    .await;
    assert_eq!(stats.connects, 1);
    assert_eq!(
        stats.disconnects,
        0,
        "the mock drops connections that do not pong: {:?}",
        sink.0.borrow().events
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_restarted_client_resumes_from_its_last_ids() {
    let h = synth_mock().await;
    let first = Sink::default();
    {
        let mut ws = MarketWs::new(client_cfg(&h, true, PathCategory::Legacy)).unwrap();
        let s = first.clone();
        run_with(&mut ws, &first, async {
            wait_until("10 ticks per symbol", 60, || min_ticks(&s, 3) >= 10).await;
        })
        .await;
    }
    // "Process down" for a while; the market goes on.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let mut ws = MarketWs::new(client_cfg(&h, true, PathCategory::Legacy)).unwrap();
    let mut last = Vec::new();
    for (i, sym) in SYMS.iter().enumerate() {
        let id = first.ticks_of(i as u32).last().unwrap().agg_id;
        ws.set_last_agg_id(sym, id).unwrap();
        last.push(id);
    }
    let second = Sink::default();
    let s = second.clone();
    run_with(&mut ws, &second, async {
        wait_until("10 ticks per symbol", 60, || min_ticks(&s, 3) >= 10).await;
    })
    .await;
    for (i, id) in last.iter().enumerate() {
        let t = second.ticks_of(i as u32);
        assert_eq!(
            t[0].agg_id,
            id + 1,
            "symbol {i} resumes right after its last id"
        );
        assert_ne!(t[0].flags & Tick::FLAG_BACKFILL, 0);
    }
    assert_complete_and_true(&h, &second, 3).await;
}

#[tokio::test(flavor = "current_thread")]
async fn connections_are_replaced_before_their_maximum_age_without_loss() {
    let h = synth_mock().await;
    let mut cfg = client_cfg(&h, false, PathCategory::Legacy);
    cfg.max_connection_age = Duration::from_secs(1);
    let mut ws = MarketWs::new(cfg).unwrap();
    let sink = Sink::default();
    let s = sink.clone();
    let stats = run_with(&mut ws, &sink, async {
        // Each of the 3 connections replaced at least once, then more data.
        wait_until("every connection replaced", 60, || {
            s.count(|e| matches!(e, WsEvent::Connected { .. })) >= 6
        })
        .await;
        let n = min_ticks(&s, 3);
        wait_until("10 more ticks per symbol", 60, || {
            min_ticks(&s, 3) >= n + 10
        })
        .await;
    })
    .await;
    println!("age test: {stats:?}");
    assert!(stats.connects >= 6, "{stats:?}");
    assert_eq!(
        stats.disconnects, 0,
        "replacements are made before the old one goes"
    );
    assert_complete_and_true(&h, &sink, 3).await;
}

#[tokio::test(flavor = "current_thread")]
async fn unreachable_exchange_is_retried_with_backoff_until_stopped() {
    // A port nobody listens on: every connect fails fast.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let mut ws = MarketWs::new(MarketWsConfig {
        ws_base_url: format!("ws://127.0.0.1:{port}"),
        rest_base_url: format!("http://127.0.0.1:{port}"),
        symbols: vec!["BTCUSDT".into()],
        combined: true,
        paths: PathCategory::Legacy, // one connection
        backoff_base_ms: 20,
        backoff_max_ms: 100,
        ..MarketWsConfig::default()
    })
    .unwrap();
    let sink = Sink::default();
    let stats = run_with(&mut ws, &sink, async {
        tokio::time::sleep(Duration::from_millis(800)).await;
    })
    .await;
    assert_eq!(stats.connects, 0);
    // 20, 40, 80, 100, 100 ms ... with jitter: several attempts, but not a hot loop.
    assert!(
        (4..=60).contains(&stats.connect_failures),
        "{}",
        stats.connect_failures
    );
    let delays: Vec<u64> = sink
        .0
        .borrow()
        .events
        .iter()
        .filter_map(|e| match e {
            WsEvent::ConnectFailed { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    // Attempt k waits 20·2^k ms capped at 100, times a jitter in [0.5, 1].
    for (k, d) in delays.iter().enumerate() {
        let full = (20u64 << k.min(10)).min(100);
        assert!(*d >= full / 2 && *d <= full, "attempt {k}: {delays:?}");
    }
}

// ------------------------------------------------------------------- recorded data

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var("SHMTRADER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        });
    if dir.join("nkaz001_hftbacktest").is_dir() {
        Some(dir)
    } else if std::env::var("SHMTRADER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!(
            "SHMTRADER_REQUIRE_DATA=1 but the data directory {} is missing",
            dir.display()
        );
    } else {
        println!(
            "SKIPPED: market data not found at {} (set SHMTRADER_DATA)",
            dir.display()
        );
        None
    }
}

/// Replays the recorded USD-M trades of both symbols over both days (one session split
/// at midnight) at maximum speed: every aggregate trade arrives, in order, exactly as
/// Binance's aggregation of the recorded fills says.
#[tokio::test(flavor = "current_thread")]
async fn replayed_real_trades_all_arrive_in_order() {
    let Some(dir) = data_dir() else {
        return;
    };
    let csv = dir.join("nkaz001_hftbacktest/trades_csv/usdm");
    let syms = ["BTCUSDT", "ETHUSDT"];
    let mut files = Vec::new();
    let mut expected = Vec::new();
    for sym in syms {
        let l = sym.to_ascii_lowercase();
        let pair = [
            csv.join(format!("{l}_20240718.trades.csv")),
            csv.join(format!("{l}_20240719.trades.csv")),
        ];
        let mut raw = Vec::new();
        for p in &pair {
            raw.extend(read_raw_trades(p).unwrap().1);
        }
        raw.sort_by_key(|t| t.id);
        raw.dedup_by_key(|t| t.id);
        expected.push(aggregate_trades(&raw, raw[0].id / 2));
        files.extend(pair);
    }
    let h = mock(MockConfig {
        data: files,
        speed: Speed::Max,
        symbols: vec![],
        ..MockConfig::default()
    })
    .await;
    let mut ws = MarketWs::new(MarketWsConfig {
        ws_base_url: h.ws_url(),
        rest_base_url: h.http_url(),
        paths: PathCategory::Legacy,
        symbols: syms.iter().map(|s| s.to_string()).collect(),
        streams: StreamSet {
            agg_trade: true,
            book_ticker: false,
            depth: false,
            mark_price: false,
        },
        ..MarketWsConfig::default()
    })
    .unwrap();
    // The replay starts when the first connection subscribes; the other symbol's
    // connection may come up a moment later, so declare where each tape starts and let
    // the gap logic fetch anything played before its connection was up.
    for (sym, exp) in syms.iter().zip(&expected) {
        ws.set_last_agg_id(sym, exp[0].id - 1).unwrap();
    }
    let sink = Sink::default();
    let s = sink.clone();
    let exp_last: Vec<u64> = expected.iter().map(|e| e[e.len() - 1].id).collect();
    let t0 = std::time::Instant::now();
    let stats = run_with(&mut ws, &sink, async {
        wait_until("every replayed trade", 120, || {
            (0..2u32).all(|i| s.ticks_of(i).last().map(|t| t.agg_id) == Some(exp_last[i as usize]))
        })
        .await;
    })
    .await;
    let secs = t0.elapsed().as_secs_f64();
    let mut total = 0;
    for (i, exp) in expected.iter().enumerate() {
        let got = sink.ticks_of(i as u32);
        assert_eq!(got.len(), exp.len(), "{}", syms[i]);
        for (t, a) in got.iter().zip(exp) {
            assert_eq!(t.agg_id, a.id);
            assert_eq!(t.last_trade_id, a.last);
            assert_eq!(t.exchange_ts_ns, a.time * NS_PER_MS);
            let side = if a.buyer_maker { Side::Sell } else { Side::Buy };
            assert_eq!(t.aggressor(), Some(side));
            assert!(t.price > 0.0 && t.qty > 0.0);
        }
        total += got.len();
    }
    println!(
        "replay: {total} aggTrades of {} symbols in {secs:.2} s ({:.0}/s); {} backfilled; {stats:?}",
        syms.len(),
        total as f64 / secs,
        stats.backfilled
    );
    assert_eq!(stats.lost, 0);
    assert_eq!(stats.malformed, 0);
}

/// Replays the recorded BTCUSDT capture (trades, bookTicker, depth diffs and the REST
/// snapshot) through the mock at 30× and runs the client with every stream on: all
/// aggregate trades arrive in order, the local book syncs from the mock's snapshot and
/// is never crossed.
#[tokio::test(flavor = "current_thread")]
async fn replayed_real_capture_keeps_the_local_book_in_sync() {
    let Some(dir) = data_dir() else {
        return;
    };
    let base = dir.join("nkaz001_hftbacktest");
    let raw = read_raw_trades(&base.join("trades_csv/usdm/btcusdt_20240718.trades.csv"))
        .unwrap()
        .1;
    let expected = aggregate_trades(&raw, raw[0].id / 2);
    let h = mock(MockConfig {
        data: vec![base.join("usdm/btcusdt_20240718.gz")],
        speed: Speed::Factor(30.0),
        symbols: vec![],
        ..MockConfig::default()
    })
    .await;
    let mut ws = MarketWs::new(MarketWsConfig {
        ws_base_url: h.ws_url(),
        rest_base_url: h.http_url(),
        paths: PathCategory::Split,
        symbols: vec!["BTCUSDT".into()],
        streams: StreamSet {
            agg_trade: true,
            book_ticker: true,
            depth: true,
            mark_price: false,
        },
        ..MarketWsConfig::default()
    })
    .unwrap();
    ws.set_last_agg_id("BTCUSDT", expected[0].id - 1).unwrap();
    let sink = Sink::default();
    let s = sink.clone();
    let last = expected[expected.len() - 1].id;
    let stats = run_with(&mut ws, &sink, async {
        wait_until("the whole capture replayed", 120, || {
            h.replay_done() && s.ticks_of(0).last().map(|t| t.agg_id) == Some(last)
        })
        .await;
    })
    .await;
    let got = sink.ticks_of(0);
    assert_eq!(
        got.iter().map(|t| t.agg_id).collect::<Vec<_>>(),
        expected.iter().map(|a| a.id).collect::<Vec<_>>()
    );
    let seen = sink.0.borrow();
    println!(
        "capture replay: {} trades, {} bookTickers, {} depth updates ({} with the same best \
         bid/ask as the last bookTicker), crossed {}; {stats:?}",
        got.len(),
        seen.books.len(),
        seen.depth_updates,
        seen.depth_top_matches_ticker,
        seen.depth_crossed
    );
    assert!(sink.count(|e| matches!(e, WsEvent::BookSynced { .. })) >= 1);
    assert_eq!(seen.depth_crossed, 0);
    assert!(
        seen.depth_top_matches_ticker * 100 >= seen.depth_updates * 95,
        "the book's top should agree with the replayed bookTicker"
    );
    assert!(seen.depth_updates >= 100, "{}", seen.depth_updates);
    assert!(ws.book(0).unwrap().is_synced());
    assert_eq!(stats.malformed, 0);
    assert_eq!(stats.lost, 0);
}

/// A server that accepts the websocket and then sends nothing, not even a ping: the
/// connection is declared dead after `idle_timeout` and replaced.
#[tokio::test(flavor = "current_thread")]
async fn a_silent_connection_is_dropped_after_the_idle_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold every connection, silent.
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            if let Ok(ws) = tokio_tungstenite::accept_async(tcp).await {
                held.push(ws);
            }
        }
    });
    let mut ws = MarketWs::new(MarketWsConfig {
        ws_base_url: format!("ws://127.0.0.1:{port}"),
        rest_base_url: format!("http://127.0.0.1:{port}"),
        symbols: vec!["BTCUSDT".into()],
        combined: true,
        paths: PathCategory::Legacy, // one connection
        backoff_base_ms: 20,
        backoff_max_ms: 100,
        idle_timeout: Duration::from_millis(300),
        ..MarketWsConfig::default()
    })
    .unwrap();
    let sink = Sink::default();
    let probe = sink.clone();
    let stats = run_with(&mut ws, &sink, async move {
        wait_until("an idle-timeout disconnect", 10, || {
            probe.count(|e| {
                matches!(e, WsEvent::Disconnected { reason, .. } if reason.contains("idle timeout"))
            }) >= 1
        })
        .await;
    })
    .await;
    server.abort();
    assert!(stats.connects >= 1, "{stats:?}");
    assert!(stats.disconnects >= 1, "{stats:?}");
}
