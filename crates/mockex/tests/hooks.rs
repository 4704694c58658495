//! The test hooks under `/mock/` against a live mock: price moves that trigger resting
//! stops, funding, liquidation, and the listenKey lifetime.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use shmtrader_mockex::{MockConfig, Speed};

const T: Duration = Duration::from_secs(5);

async fn post_mock(c: &Client, path: &str, body: Value) -> Resp {
    c.raw(Method::POST, path, Some(body.to_string()), None)
        .await
}

async fn buy(c: &Client, sym: &str, qty: &str) {
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", sym),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", qty),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
}

#[tokio::test]
async fn move_price_triggers_resting_stops_of_both_working_types() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;
    buy(&c, "BTCUSDT", "0.002").await;
    buy(&c, "ETHUSDT", "0.050").await;
    // Stops 1 % under the market: the synthetic walk alone will not reach them.
    for (sym, wt, cid) in [
        ("BTCUSDT", "CONTRACT_PRICE", "sl-btc"),
        ("ETHUSDT", "MARK_PRICE", "sl-eth"),
    ] {
        let mark = c.mark(sym).await;
        let trigger = format!("{:.2}", (mark * 0.99 * 10.0).floor() / 10.0);
        let r = c
            .signed(
                Method::POST,
                "/fapi/v1/algoOrder",
                &[
                    ("algoType", "CONDITIONAL"),
                    ("symbol", sym),
                    ("side", "SELL"),
                    ("type", "STOP_MARKET"),
                    ("triggerPrice", &trigger),
                    ("closePosition", "true"),
                    ("workingType", wt),
                    ("clientAlgoId", cid),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    for (sym, cid) in [("BTCUSDT", "sl-btc"), ("ETHUSDT", "sl-eth")] {
        let before = c.mark(sym).await;
        let r = post_mock(
            &c,
            "/mock/fault",
            json!({"kind":"move_price","symbol":sym,"pct":-2.0}),
        )
        .await;
        assert_eq!(r.body, json!({"ok": true}));
        let done = wait_for(&mut user, Duration::from_secs(10), |v| {
            v["e"] == "ALGO_UPDATE" && v["o"]["caid"] == cid && v["o"]["X"] == "FINISHED"
        })
        .await;
        assert!(done.is_some(), "{cid} did not trigger");
        let after = c.mark(sym).await;
        assert!(
            (after / before - 0.98).abs() < 0.003,
            "{sym}: mark {before} -> {after}"
        );
    }
    let pos = h.positions_json();
    assert_eq!(pos[0]["positionAmt"], "0.000");
    assert_eq!(pos[1]["positionAmt"], "0.000");
    // Bad moves are refused.
    let r = post_mock(
        &c,
        "/mock/fault",
        json!({"kind":"move_price","symbol":"NOPE","pct":1.0}),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, -1121));
    assert_eq!(
        h.move_price("BTCUSDT", -100.0).map_err(|e| e.code),
        Err(-1130)
    );
}

#[tokio::test]
async fn move_price_is_refused_in_replay_mode() {
    let dir = std::env::temp_dir().join(format!("mockex-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("btcusdt_hooks.trades.csv");
    std::fs::write(
        &p,
        "local_ts_ns,event_time_ms,trade_time_ms,trade_id,price,qty,is_buyer_maker,order_type\n\
         1,1000,999,10,64000.10,0.003,true,MARKET\n",
    )
    .unwrap();
    let h = start(MockConfig {
        data: vec![p],
        speed: Speed::Max,
        symbols: vec![],
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    let r = post_mock(
        &c,
        "/mock/fault",
        json!({"kind":"move_price","symbol":"BTCUSDT","pct":-2.0}),
    )
    .await;
    assert_eq!((r.status, r.code()), (400, -1000), "{:?}", r.body);
    assert!(h.move_price("BTCUSDT", 1.0).is_err());
}

#[tokio::test]
async fn funding_and_liquidation_hooks_emit_binance_events() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;
    buy(&c, "BTCUSDT", "0.002").await;
    let r = post_mock(&c, "/mock/fault", json!({"kind":"funding","rate":0.0001})).await;
    assert_eq!(r.body, json!({"ok": true}));
    let ev = wait_for(&mut user, T, |v| {
        v["e"] == "ACCOUNT_UPDATE" && v["a"]["m"] == "FUNDING_FEE"
    })
    .await
    .unwrap();
    let bc: f64 = ev["a"]["B"][0]["bc"].as_str().unwrap().parse().unwrap();
    assert!(bc < 0.0, "a long pays a positive rate: {bc}");
    assert!(ev["a"].get("P").is_none());
    let r = post_mock(&c, "/mock/liquidate", json!({"symbol":"BTCUSDT"})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(
        (r.body["type"].as_str(), r.body["status"].as_str()),
        (Some("LIQUIDATION"), Some("FILLED"))
    );
    let ev = wait_for(&mut user, T, |v| {
        v["e"] == "ORDER_TRADE_UPDATE" && v["o"]["ot"] == "LIQUIDATION"
    })
    .await
    .unwrap();
    assert!(ev["o"]["c"].as_str().unwrap().starts_with("autoclose-"));
    assert_eq!(ev["o"]["X"], "FILLED");
    let acc = wait_for(&mut user, T, |v| v["e"] == "ACCOUNT_UPDATE")
        .await
        .unwrap();
    assert_eq!(acc["a"]["P"][0]["pa"], "0.000");
    let r = post_mock(&c, "/mock/liquidate", json!({"symbol":"BTCUSDT"})).await;
    assert_eq!((r.status, r.code()), (400, -1000));
    let r = post_mock(&c, "/mock/liquidate", json!({})).await;
    assert_eq!(r.code(), -1102);
    let log = c.public("/mock/orders", &[]).await.body;
    assert_eq!(
        log.as_array().unwrap().last().unwrap()["endpoint"],
        "LIQUIDATION"
    );
}

#[tokio::test]
async fn listen_key_expiry_notifies_closes_and_needs_a_new_key() {
    let h = start(MockConfig {
        listen_key_ttl: Duration::from_millis(300),
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut legacy = ws(&h, &format!("/ws/{key}")).await;
    let mut private = ws(&h, &format!("/private/ws?listenKey={key}")).await;
    for s in [&mut legacy, &mut private] {
        let v = wait_for(s, Duration::from_secs(3), |v| v["e"] == "listenKeyExpired")
            .await
            .expect("listenKeyExpired");
        assert_eq!(v["listenKey"], key.as_str());
        assert!(v["E"].is_u64());
        // Then the server closes the connection.
        assert!(next_json(s, Duration::from_secs(2)).await.is_none());
    }
    let r = c
        .raw(Method::PUT, "/fapi/v1/listenKey", None, Some("paper-key"))
        .await;
    assert_eq!(r.code(), -1125);
    let put = format!("/fapi/v1/listenKey?listenKey={key}");
    let r = c.raw(Method::PUT, &put, None, Some("paper-key")).await;
    assert_eq!(r.code(), -1125);
    let fresh = c.listen_key().await;
    assert_ne!(fresh, key);
    // The new key works (and is kept alive by PUT).
    let mut s = ws(&h, &format!("/ws/{fresh}")).await;
    let r = c
        .raw(Method::PUT, "/fapi/v1/listenKey", None, Some("paper-key"))
        .await;
    assert_eq!(r.body["listenKey"], fresh.as_str());
    buy(&c, "ETHUSDT", "0.010").await;
    let v = wait_for(&mut s, Duration::from_millis(250), |v| {
        v["e"] == "ORDER_TRADE_UPDATE"
    })
    .await;
    assert!(v.is_some());
}
