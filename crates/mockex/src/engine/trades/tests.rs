#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use super::super::testkit::{kit, ps, Kit};

const BTC: usize = 0;

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_u64().unwrap())
        .collect()
}

/// Three market orders: a 3-level buy, a 1-level buy, a closing sell.
fn traded() -> (Kit, Vec<u64>, Vec<u64>) {
    let mut k = kit(&["BTCUSDT", "ETHUSDT"]);
    k.book(BTC, 6_000_000, 50, 20);
    let mut orders = Vec::new();
    for (side, q) in [("BUY", "0.120"), ("BUY", "0.010"), ("SELL", "0.130")] {
        orders.push(
            k.market("BTCUSDT", side, q).unwrap()["orderId"]
                .as_u64()
                .unwrap(),
        );
    }
    let t: Vec<u64> = k
        .events()
        .iter()
        .filter(|v| v["o"]["x"] == "TRADE")
        .map(|v| v["o"]["t"].as_u64().unwrap())
        .collect();
    (k, orders, t)
}

#[test]
fn user_trades_ids_are_the_stream_trade_ids() {
    let (k, orders, t) = traded();
    let all = k.e.user_trades(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(ids(&all), t);
    assert_eq!(t.len(), 3 + 1 + 3);
    let first = &all[0];
    assert_eq!(first["orderId"].as_u64(), Some(orders[0]));
    assert_eq!(
        (first["price"].as_str(), first["qty"].as_str()),
        (Some("60000.10"), Some("0.050"))
    );
    assert_eq!(first["quoteQty"], "3000.00500");
    assert_eq!(
        (first["buyer"].as_bool(), first["side"].as_str()),
        (Some(true), Some("BUY"))
    );
    assert_eq!(first["positionSide"], "BOTH");
    assert_eq!(first["commissionAsset"], "USDT");
    assert_eq!(first["commission"], "1.50000250");
    let sell = &all[6];
    assert_eq!(
        (sell["buyer"].as_bool(), sell["maker"].as_bool()),
        (Some(false), Some(false))
    );
    let pnl: f64 = all.as_array().unwrap()[4..]
        .iter()
        .map(|t| t["realizedPnl"].as_str().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(pnl < 0.0, "sold below the average buy: {pnl}");
    assert!(k
        .e
        .user_trades(&ps(&[("symbol", "ETHUSDT")]))
        .unwrap()
        .as_array()
        .unwrap()
        .is_empty());
}

#[test]
fn user_trades_filters_from_id_order_id_limit_and_window() {
    let (k, orders, t) = traded();
    let q = |kv: &[(&str, &str)]| {
        let mut p = ps(&[("symbol", "BTCUSDT")]);
        p.extend(ps(kv));
        k.e.user_trades(&p).map_err(|e| e.code)
    };
    let from = t[2].to_string();
    assert_eq!(
        ids(&q(&[("fromId", &from), ("limit", "2")]).unwrap()),
        t[2..4]
    );
    let oid = orders[1].to_string();
    assert_eq!(ids(&q(&[("orderId", &oid)]).unwrap()), t[3..4]);
    assert_eq!(
        ids(&q(&[("limit", "2")]).unwrap()),
        t[5..7],
        "the latest two"
    );
    let now = super::super::now_ms();
    let (s, e) = ((now - 60_000).to_string(), (now + 60_000).to_string());
    assert_eq!(
        ids(&q(&[("startTime", &s), ("endTime", &e), ("limit", "3")]).unwrap()),
        t[0..3]
    );
    // (params, code)
    let bad: [(&[(&str, &str)], i64); 4] = [
        (&[("fromId", "1"), ("startTime", "1")], -1128),
        (&[("startTime", "0"), ("endTime", "604800001")], -1127),
        (&[("limit", "1001")], -1130),
        (&[("orderId", "x")], -1102),
    ];
    for (kv, code) in bad {
        assert_eq!(q(kv).map(|_| ()), Err(code), "{kv:?}");
    }
    assert_eq!(
        k.e.user_trades(&ps(&[])).map(|_| ()).map_err(|e| e.code),
        Err(-1102)
    );
}
