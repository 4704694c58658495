//! Replay of recorded data through the server: aggregation, ordering, depth and the
//! public-data aggTrades format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use serde_json::Value;
use shmtrader_mockex::replay::read_raw_trades;
use shmtrader_mockex::{aggregate_trades, MockConfig, Speed};

const T: Duration = Duration::from_secs(10);

fn tmp_file(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "mockex-test-{}-{}",
        std::process::id(),
        name.replace('.', "_")
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

fn replay_cfg(files: Vec<PathBuf>) -> MockConfig {
    MockConfig {
        data: files,
        speed: Speed::Max,
        symbols: vec![],
        ..cfg()
    }
}

async fn collect_agg(h: &shmtrader_mockex::MockHandle, stream: &str, n: usize) -> Vec<Value> {
    let mut s = ws(h, &format!("/ws/{stream}")).await;
    let mut out = Vec::new();
    while out.len() < n {
        match next_json(&mut s, T).await {
            Some(v) => out.push(v),
            None => break,
        }
    }
    out
}

#[tokio::test]
async fn hand_made_raw_trades_are_aggregated_like_binance() {
    let csv =
        "local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker,order_type\n\
               1,1000,999,10,64000.10,0.003,true,MARKET\n\
               2,1000,999,11,64000.10,0.017,true,MARKET\n\
               3,1000,999,12,64000.00,0.005,true,MARKET\n\
               4,1001,1000,13,64000.00,0.001,true,MARKET\n\
               5,1001,1000,14,64000.00,0.002,false,MARKET\n\
               6,1001,1000,15,64000.00,0.002,false,INSURANCE_FUND\n\
               7,1002,1000,16,64000.00,0.004,false,MARKET\n";
    let p = tmp_file("btcusdt_hand.trades.csv", csv);
    let h = start(replay_cfg(vec![p])).await;
    let got = collect_agg(&h, "btcusdt@aggTrade", 5).await;
    let rows: Vec<(String, String, u64, u64, bool, u64)> = got
        .iter()
        .map(|v| {
            (
                v["p"].as_str().unwrap().into(),
                v["q"].as_str().unwrap().into(),
                v["f"].as_u64().unwrap(),
                v["l"].as_u64().unwrap(),
                v["m"].as_bool().unwrap(),
                v["T"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("64000.10".into(), "0.020".into(), 10, 11, true, 999),
            ("64000.00".into(), "0.005".into(), 12, 12, true, 999),
            ("64000.00".into(), "0.001".into(), 13, 13, true, 1000),
            ("64000.00".into(), "0.002".into(), 14, 14, false, 1000),
            ("64000.00".into(), "0.004".into(), 16, 16, false, 1000),
        ]
    );
    let ids: Vec<u64> = got.iter().map(|v| v["a"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
    // Event times are the data's, not the wall clock's.
    assert_eq!(got[0]["E"], 1000);
    // A shaped book exists for a trade-only replay, so market data and orders work.
    let c = Client::new(&h);
    let d = c
        .public("/fapi/v1/depth", &[("symbol", "BTCUSDT"), ("limit", "5")])
        .await
        .body;
    assert_eq!(d["bids"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn public_data_agg_trades_csv_with_and_without_header() {
    let body = "1715206948,29223.0,0.639,3643221425,3643221428,1682899200101,false\n\
                1715206949,29223.1,0.001,3643221429,3643221429,1682899200105,true\n";
    let with = tmp_file("BTCUSDT-aggTrades-2023-05-01.csv", &format!("agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n{body}"));
    let without = tmp_file(
        "ETHUSDT-aggTrades-2023-05-01.csv",
        &body
            .replace("29223.0", "1900.00")
            .replace("29223.1", "1900.01"),
    );
    let h = start(replay_cfg(vec![with, without])).await;
    let mut s = ws(&h, "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade").await;
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let v = next_json(&mut s, T).await.unwrap();
        seen.push((
            v["stream"].as_str().unwrap().to_string(),
            v["data"]["a"].as_u64().unwrap(),
            v["data"]["p"].as_str().unwrap().to_string(),
        ));
    }
    assert!(seen.contains(&("btcusdt@aggTrade".into(), 1715206948, "29223.00".into())));
    assert!(seen.contains(&("ethusdt@aggTrade".into(), 1715206949, "1900.01".into())));
    let c = Client::new(&h);
    let r = c
        .public(
            "/fapi/v1/aggTrades",
            &[
                ("symbol", "BTCUSDT"),
                ("startTime", "1682899200100"),
                ("endTime", "1682899200102"),
            ],
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    assert_eq!(r.body[0]["f"], 3643221425u64);
    assert_eq!(r.body[0]["l"], 3643221428u64);
}

#[tokio::test]
async fn real_trades_csv_replays_every_trade_in_order() {
    let Some(dir) = data_dir() else { return };
    let file = dir.join("nkaz001_hftbacktest/trades_csv/usdm/btcusdt_20240718.trades.csv");
    let (sym, raw) = read_raw_trades(&file).unwrap();
    assert_eq!(sym, "BTCUSDT");
    let expected = aggregate_trades(&raw, 0);
    assert!(
        expected.len() < raw.len(),
        "fills of one taker order collapse"
    );
    let h = start(replay_cfg(vec![file])).await;
    let got = collect_agg(&h, "btcusdt@aggTrade", expected.len()).await;
    assert_eq!(got.len(), expected.len());
    let market: Vec<u64> = raw.iter().filter(|t| t.market).map(|t| t.id).collect();
    let mut covered = Vec::new();
    let mut last_t = 0;
    for (g, e) in got.iter().zip(&expected) {
        let (f, l) = (g["f"].as_u64().unwrap(), g["l"].as_u64().unwrap());
        assert_eq!((f, l), (e.first, e.last));
        assert_eq!(g["T"].as_u64().unwrap(), e.time);
        assert!(e.time >= last_t);
        last_t = e.time;
        covered.extend(f..=l);
    }
    assert_eq!(
        covered, market,
        "every MARKET trade delivered once, in order"
    );
    let qty_raw: f64 = raw
        .iter()
        .filter(|t| t.market)
        .map(|t| t.qty as f64)
        .sum::<f64>()
        / 1000.0;
    let qty_got: f64 = got
        .iter()
        .map(|v| v["q"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!((qty_raw - qty_got).abs() < 1e-6);
    // The REST history holds the same tape.
    let c = Client::new(&h);
    let first = got[0]["a"].as_u64().unwrap().to_string();
    let r = c
        .public(
            "/fapi/v1/aggTrades",
            &[("symbol", "BTCUSDT"), ("fromId", &first), ("limit", "1000")],
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), expected.len().min(1000));
}

#[tokio::test]
async fn raw_capture_depth_chain_book_ticker_and_trades() {
    let Some(dir) = data_dir() else { return };
    let file = dir.join("nkaz001_hftbacktest/usdm/btcusdt_20240718.gz");
    let h = start(MockConfig {
        speed: Speed::Factor(20.0),
        ..replay_cfg(vec![file])
    })
    .await;
    let mut s = ws(
        &h,
        "/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@aggTrade",
    )
    .await;
    let c = Client::new(&h);
    let mut prev_u: Option<u64> = None;
    let (mut depth, mut tickers, mut trades) = (0, 0, 0);
    let mut snap_id: Option<u64> = None;
    let mut synced = false;
    while depth < 40 || tickers < 20 || trades < 5 {
        let v = next_json(&mut s, T).await.expect("stream kept flowing");
        let d = &v["data"];
        match v["stream"].as_str().unwrap() {
            "btcusdt@depth@100ms" => {
                let (uf, u, pu) = (
                    d["U"].as_u64().unwrap(),
                    d["u"].as_u64().unwrap(),
                    d["pu"].as_u64().unwrap(),
                );
                if let Some(p) = prev_u {
                    assert_eq!(pu, p, "pu chain");
                }
                prev_u = Some(u);
                if let Some(id) = snap_id {
                    if !synced && u >= id {
                        assert!(uf <= id);
                        synced = true;
                    }
                }
                depth += 1;
                if depth == 5 {
                    let snap = c
                        .public("/fapi/v1/depth", &[("symbol", "BTCUSDT"), ("limit", "100")])
                        .await
                        .body;
                    snap_id = snap["lastUpdateId"].as_u64();
                    // Replayed ids are the recorded ones (13 digits).
                    assert!(snap_id.unwrap() > 4_984_000_000_000);
                }
                // Data times are preserved: July 2024.
                assert!(
                    d["E"].as_u64().unwrap() / 1000 / 86400 == 19922
                        || d["E"].as_u64().unwrap() / 1000 / 86400 == 19923
                );
            }
            "btcusdt@bookTicker" => {
                let b: f64 = d["b"].as_str().unwrap().parse().unwrap();
                let a: f64 = d["a"].as_str().unwrap().parse().unwrap();
                assert!(b < a && b > 63_000.0);
                tickers += 1;
            }
            _ => trades += 1,
        }
    }
    assert!(synced);
}
