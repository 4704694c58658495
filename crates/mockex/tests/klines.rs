//! Klines and the 24-hour ticker over the wire: Binance's documented shapes, the
//! synthetic market's seeded history joined to its live bars, nothing beyond "now"
//! (synthetic and replay), Binance's refusals, and the kline stream.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::Value;
use shmtrader_mockex::{MockConfig, Speed};

const MINUTE: u64 = 60_000;

/// A synthetic market with `history` minutes of seeded bars, at a low trade rate so
/// the history is quick to generate in a debug build.
fn synth_cfg(history: u32) -> MockConfig {
    MockConfig {
        trades_per_sec: 2.0,
        history_minutes: history,
        ..cfg()
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn decimals(s: &str) -> usize {
    s.split_once('.').map_or(0, |(_, f)| f.len())
}

async fn klines(c: &Client, params: &[(&str, &str)]) -> Vec<Value> {
    let r = c.public("/fapi/v1/klines", params).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    r.body.as_array().unwrap().clone()
}

async fn data_time(c: &Client) -> u64 {
    c.raw(reqwest::Method::GET, "/mock/status", None, None)
        .await
        .body["dataTime"]
        .as_u64()
        .unwrap()
}

#[tokio::test]
async fn klines_and_ticker_have_binances_documented_shapes() {
    let h = start(synth_cfg(60)).await;
    let c = Client::new(&h);
    // Binance's documented examples.
    let doc_row: Value = serde_json::from_str(r#"[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","17928899.62484339"]"#).unwrap();
    let doc_ticker: Value = serde_json::from_str(r#"{"symbol":"BTCUSDT","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482","lastPrice":"4.00000200","lastQty":"200.00000000","openPrice":"99.00000000","highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76}"#).unwrap();
    let rows = klines(
        &c,
        &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "5")],
    )
    .await;
    assert_eq!(rows.len(), 5);
    let want: Vec<&str> = doc_row.as_array().unwrap().iter().map(json_type).collect();
    // The venue's own decimals: prices like its book, quantities like its trades.
    let book = c
        .public("/fapi/v1/ticker/bookTicker", &[("symbol", "BTCUSDT")])
        .await
        .body;
    let (pdp, qdp) = (
        decimals(book["bidPrice"].as_str().unwrap()),
        decimals(book["bidQty"].as_str().unwrap()),
    );
    for r in &rows {
        let got: Vec<&str> = r.as_array().unwrap().iter().map(json_type).collect();
        assert_eq!(got, want, "{r}");
        for i in [1, 2, 3, 4] {
            assert_eq!(decimals(r[i].as_str().unwrap()), pdp, "{r}");
        }
        for i in [5, 9] {
            assert_eq!(decimals(r[i].as_str().unwrap()), qdp, "{r}");
        }
        for i in [7, 10] {
            assert_eq!(decimals(r[i].as_str().unwrap()), pdp + qdp, "{r}");
        }
        assert_eq!(r[11], "0");
        let open = r[0].as_u64().unwrap();
        assert_eq!(
            (open % MINUTE, r[6].as_u64().unwrap()),
            (0, open + MINUTE - 1)
        );
    }
    let t = c
        .public("/fapi/v1/ticker/24hr", &[("symbol", "BTCUSDT")])
        .await
        .body;
    let keys = |v: &Value| -> Vec<(String, &'static str)> {
        let mut k: Vec<(String, &'static str)> = v
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), json_type(v)))
            .collect();
        k.sort();
        k
    };
    assert_eq!(keys(&t), keys(&doc_ticker));
    assert_eq!(
        t["closeTime"].as_u64().unwrap() - t["openTime"].as_u64().unwrap(),
        86_400_000
    );
    assert!(
        t["count"].as_u64().unwrap() > 0,
        "an hour of history traded"
    );
    // Without a symbol: every symbol's, as an array (weight 40).
    let all = c.public("/fapi/v1/ticker/24hr", &[]).await;
    assert_eq!(all.body.as_array().unwrap().len(), h.symbols().len());
}

#[tokio::test]
async fn seeded_history_joins_the_live_bars_and_nothing_is_beyond_now() {
    let h = start(synth_cfg(120)).await;
    let c = Client::new(&h);
    let before = data_time(&c).await;
    let r = c
        .public(
            "/fapi/v1/klines",
            &[("symbol", "ETHUSDT"), ("interval", "1m"), ("limit", "1500")],
        )
        .await;
    // Weight 10 for a limit above 1000.
    assert_eq!(r.header("x-mbx-used-weight-1m").as_deref(), Some("10"));
    let rows = r.body.as_array().unwrap().clone();
    let after = data_time(&c).await;
    let opens: Vec<u64> = rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
    // 120 closed minutes of history, the start minute, and any live minute since.
    assert!(opens.len() >= 121, "{}", opens.len());
    assert!(
        opens.windows(2).all(|w| w[1] == w[0] + MINUTE),
        "contiguous"
    );
    let last = rows.last().unwrap();
    let last_open = last[0].as_u64().unwrap();
    assert!(last_open <= after && last_open >= before - before % MINUTE);
    assert!(
        last[6].as_u64().unwrap() >= before,
        "the last bar is in progress"
    );
    // Closes and next opens are continuous (no jump at the seam or anywhere).
    for w in rows.windows(2) {
        let (c0, o1): (f64, f64) = (
            w[0][4].as_str().unwrap().parse().unwrap(),
            w[1][1].as_str().unwrap().parse().unwrap(),
        );
        assert!((o1 / c0 - 1.0).abs() < 0.005, "{c0} -> {o1}");
    }
    // An end in the future returns nothing beyond now; a start in the future nothing.
    let future = (after + 3_600_000).to_string();
    let rows2 = klines(
        &c,
        &[
            ("symbol", "ETHUSDT"),
            ("interval", "1m"),
            ("startTime", &last_open.to_string()),
            ("endTime", &future),
        ],
    )
    .await;
    let now = data_time(&c).await;
    assert!(!rows2.is_empty() && rows2.len() <= 2);
    assert!(rows2.iter().all(|r| r[0].as_u64().unwrap() <= now));
    let none = klines(
        &c,
        &[
            ("symbol", "ETHUSDT"),
            ("interval", "1m"),
            ("startTime", &future),
        ],
    )
    .await;
    assert!(none.is_empty());
    // Coarse bars are aggregated on the epoch grid: 15-minute bars of the same minutes.
    let q = klines(
        &c,
        &[("symbol", "ETHUSDT"), ("interval", "15m"), ("limit", "3")],
    )
    .await;
    for r in &q {
        let o = r[0].as_u64().unwrap();
        assert_eq!(o % (15 * MINUTE), 0);
        let minutes: Vec<&Value> = rows
            .iter()
            .filter(|m| (o..o + 15 * MINUTE).contains(&m[0].as_u64().unwrap()))
            .collect();
        let n: u64 = minutes.iter().map(|m| m[8].as_u64().unwrap()).sum();
        // The bar in progress may have traded since the 1m query.
        assert!(r[8].as_u64().unwrap() >= n);
    }
}

#[tokio::test]
async fn bad_symbol_interval_limit_and_window_get_binances_codes() {
    let h = start(synth_cfg(0)).await;
    let c = Client::new(&h);
    let cases: [(&[(&str, &str)], i64); 6] = [
        (&[("symbol", "NOPEUSDT"), ("interval", "1m")], -1121),
        (&[("symbol", "BTCUSDT"), ("interval", "7m")], -1120),
        (&[("symbol", "BTCUSDT")], -1102),
        (
            &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "1501")],
            -1130,
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("interval", "1m"),
                ("startTime", "10"),
                ("endTime", "9"),
            ],
            -1023,
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("interval", "1m"),
                ("startTime", "x"),
            ],
            -1102,
        ),
    ];
    for (p, code) in cases {
        let r = c.public("/fapi/v1/klines", p).await;
        assert_eq!((r.status, r.code()), (400, code), "{p:?}: {:?}", r.body);
    }
    let r = c
        .public("/fapi/v1/ticker/24hr", &[("symbol", "NOPEUSDT")])
        .await;
    assert_eq!((r.status, r.code()), (400, -1121));
    // No history: the bars start with the live market.
    let rows = klines(&c, &[("symbol", "BTCUSDT"), ("interval", "1m")]).await;
    assert!(rows.len() <= 2, "{}", rows.len());
}

fn agg_csv(name: &str, first_ms: u64, n: u64, every_ms: u64) -> (PathBuf, Vec<(u64, f64)>) {
    let mut body = String::new();
    let mut trades = Vec::new();
    for i in 0..n {
        let t = first_ms + i * every_ms;
        let q = 0.001 * (1 + i % 5) as f64;
        body.push_str(&format!(
            "{},{:.1},{q:.3},{},{},{t},{}\n",
            1_000 + i,
            64_000.0 + (i % 17) as f64,
            5_000 + i,
            5_000 + i,
            i % 2 == 0
        ));
        trades.push((t, q));
    }
    let dir = std::env::temp_dir().join(format!("mockex-klines-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    (p, trades)
}

#[tokio::test]
async fn replay_bars_never_run_ahead_of_the_replay_clock() {
    // 20 minutes of trades every 5 s, played 300x faster: 4 s of wall time.
    let t0 = 1_682_899_200_000; // a minute boundary
    let (file, trades) = agg_csv("BTCUSDT-aggTrades-2023-05-01.csv", t0 + 2_500, 240, 5_000);
    let h = start(MockConfig {
        data: vec![file],
        speed: Speed::Factor(300.0),
        symbols: vec![],
        replay_wait_for_client: false,
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    let mut polls = 0;
    while !h.replay_done() {
        let before = data_time(&c).await;
        let rows = klines(
            &c,
            &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "1500")],
        )
        .await;
        let after = data_time(&c).await;
        let vol: f64 = rows
            .iter()
            .map(|r| r[5].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        let upto = |t: u64| -> f64 { trades.iter().filter(|x| x.0 <= t).map(|x| x.1).sum() };
        assert!(
            rows.iter().all(|r| r[0].as_u64().unwrap() <= after),
            "a bar beyond the replay clock {after}"
        );
        assert!(
            vol >= upto(before) - 1e-9 && vol <= upto(after) + 1e-9,
            "volume {vol} outside the trades up to {before}..{after}"
        );
        polls += 1;
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    assert!(polls >= 5, "polled the replay while it ran ({polls})");
    // Done: every minute of the tape, volumes summing to the tape's.
    let rows = klines(
        &c,
        &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "1500")],
    )
    .await;
    assert_eq!(rows[0][0].as_u64().unwrap(), t0);
    assert_eq!(rows.len(), 20);
    let vol: f64 = rows
        .iter()
        .map(|r| r[5].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    let total: f64 = trades.iter().map(|x| x.1).sum();
    assert!((vol - total).abs() < 1e-9);
    let n: u64 = rows.iter().map(|r| r[8].as_u64().unwrap()).sum();
    assert_eq!(n, 240);
}

#[tokio::test]
async fn kline_stream_pushes_the_bar_in_progress_and_its_close() {
    // A minute of data time every 2 s of wall time.
    let h = start(MockConfig {
        trades_per_sec: 40.0,
        speed: Speed::Factor(30.0),
        history_minutes: 0,
        ..cfg()
    })
    .await;
    let mut s = ws(&h, "/market/stream?streams=btcusdt@kline_1m").await;
    let mut running = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let closed = loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let v = next_json(&mut s, left)
            .await
            .expect("a closing kline within 10 s");
        assert_eq!(v["stream"], "btcusdt@kline_1m");
        if v["data"]["k"]["x"].as_bool().unwrap() {
            break v;
        }
        running.push(v["data"]["E"].as_u64().unwrap());
    };
    let d = &closed["data"];
    assert_eq!(
        (d["e"].as_str(), d["s"].as_str()),
        (Some("kline"), Some("BTCUSDT"))
    );
    let k = &d["k"];
    assert_eq!(k["i"], "1m");
    assert_eq!(
        k["T"].as_u64().unwrap(),
        k["t"].as_u64().unwrap() + MINUTE - 1
    );
    let keys: Vec<&String> = k.as_object().unwrap().keys().collect();
    for key in [
        "t", "T", "s", "i", "f", "L", "o", "c", "h", "l", "v", "n", "x", "q", "V", "Q", "B",
    ] {
        assert!(keys.iter().any(|k| *k == key), "missing {key}");
    }
    assert!(!running.is_empty());
    assert!(running.iter().all(|e| e % 250 == 0));
    // The closed bar is what REST has for that minute.
    let c = Client::new(&h);
    let t = k["t"].as_u64().unwrap().to_string();
    let row = klines(
        &c,
        &[
            ("symbol", "BTCUSDT"),
            ("interval", "1m"),
            ("startTime", &t),
            ("limit", "1"),
        ],
    )
    .await;
    assert_eq!(
        (&row[0][1], &row[0][4], &row[0][5], &row[0][8]),
        (&k["o"], &k["c"], &k["v"], &k["n"])
    );
}
