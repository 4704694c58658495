#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::super::testkit::{kit, ps, T0};

const BTC: usize = 0;

#[test]
fn mark_is_the_mid_of_the_touch_else_the_last_trade() {
    let mut k = kit(&["BTCUSDT"]);
    assert_eq!(
        k.e.premium_index(&ps(&[("symbol", "BTCUSDT")])).unwrap()["markPrice"],
        "0.00000000"
    );
    k.trade(BTC, 6_000_000, 2, false);
    assert_eq!(
        k.e.premium_index(&ps(&[("symbol", "BTCUSDT")])).unwrap()["markPrice"],
        "60000.00000000"
    );
    k.book(BTC, 6_100_000, 10, 5);
    let p = k.e.premium_index(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(p["markPrice"], "61000.05000000");
    // A market with only a bookTicker takes its touch from it.
    let mut t = kit(&["BTCUSDT"]);
    t.ticker(BTC, (5_999_990, 7), (6_000_000, 9));
    let bt = t.e.book_ticker(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(
        (bt["bidPrice"].as_str(), bt["askQty"].as_str()),
        (Some("59999.90"), Some("0.009"))
    );
}

#[test]
fn mark_prices_are_published_once_per_second_of_data_time() {
    let mut k = kit(&["BTCUSDT"]);
    k.e.out.subs.add("btcusdt@markPrice@1s");
    k.e.out.subs.add("btcusdt@markPrice");
    k.book(BTC, 6_000_000, 10, 5);
    k.advance(5_000);
    let marks: Vec<(String, u64)> = k
        .market_frames()
        .into_iter()
        .map(|(s, v)| (s, v["E"].as_u64().unwrap()))
        .collect();
    let ones = marks
        .iter()
        .filter(|m| m.0 == "btcusdt@markPrice@1s")
        .count();
    let threes = marks.iter().filter(|m| m.0 == "btcusdt@markPrice").count();
    // T0 + 1 .. T0 + 5001 spans five whole seconds (one frame each, even though the
    // clock jumped), and two 3 s boundaries (T0 is 2000 past one: T0 + 1000, T0 + 4000).
    assert_eq!(ones, 5, "{marks:?}");
    assert_eq!(threes, 2, "{marks:?}");
    assert!(marks.iter().all(|m| m.1 % 1000 == 0 && m.1 > T0));
}

#[test]
fn agg_trades_history_by_from_id_time_window_and_limit() {
    let mut k = kit(&["BTCUSDT"]);
    for i in 0..10 {
        k.trade(BTC, 6_000_000 + i * 10, 1, i % 2 == 0);
    }
    let ids = |v: serde_json::Value| -> Vec<u64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t["a"].as_u64().unwrap())
            .collect()
    };
    let all = k.e.agg_trades(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(ids(all.clone()), (1..=10).collect::<Vec<u64>>());
    assert_eq!(all[0]["p"], "60000.00");
    assert_eq!(all[0]["m"], true);
    let from =
        k.e.agg_trades(&ps(&[
            ("symbol", "BTCUSDT"),
            ("fromId", "4"),
            ("limit", "3"),
        ]))
        .unwrap();
    assert_eq!(ids(from), [4, 5, 6]);
    let last =
        k.e.agg_trades(&ps(&[("symbol", "BTCUSDT"), ("limit", "2")]))
            .unwrap();
    assert_eq!(ids(last), [9, 10]);
    // Trades are stamped T0+1 .. T0+10.
    let s = (T0 + 3).to_string();
    let e = (T0 + 5).to_string();
    let win =
        k.e.agg_trades(&ps(&[
            ("symbol", "BTCUSDT"),
            ("startTime", &s),
            ("endTime", &e),
        ]))
        .unwrap();
    assert_eq!(ids(win), [3, 4, 5]);
    let bad = k.e.agg_trades(&ps(&[
        ("symbol", "BTCUSDT"),
        ("startTime", "0"),
        ("endTime", "3600001"),
    ]));
    assert_eq!(bad.map_err(|e| e.code).err(), Some(-1127));
}

#[test]
fn depth_snapshot_is_straddled_by_the_next_diff() {
    let mut k = kit(&["BTCUSDT"]);
    k.e.out.subs.add("btcusdt@depth@100ms");
    k.book(BTC, 6_000_000, 10, 5);
    let snap =
        k.e.depth(&ps(&[("symbol", "BTCUSDT"), ("limit", "5")]))
            .unwrap();
    let last_id = snap["lastUpdateId"].as_u64().unwrap();
    assert_eq!(snap["bids"].as_array().unwrap().len(), 5);
    k.advance(200);
    let diffs: Vec<serde_json::Value> = k.market_frames().into_iter().map(|(_, v)| v).collect();
    let first = diffs.first().expect("a diff after the snapshot");
    assert!(first["U"].as_u64().unwrap() <= last_id && first["u"].as_u64().unwrap() >= last_id);
    assert_eq!(
        k.e.depth(&ps(&[("symbol", "BTCUSDT"), ("limit", "7")]))
            .map_err(|e| e.code)
            .err(),
        Some(-1130)
    );
}
