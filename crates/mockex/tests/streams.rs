//! Market and user-data websockets: wrapping, live subscription replies, depth chains,
//! pings, faults, listenKey expiry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::{json, Value};
use shmtrader_mockex::MockConfig;
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(5);

#[tokio::test]
async fn raw_and_combined_wrapping_on_all_paths() {
    let h = start(cfg()).await;
    for prefix in ["", "/market"] {
        let mut raw = ws(
            &h,
            &format!("{prefix}/ws/btcusdt@aggTrade/ethusdt@aggTrade"),
        )
        .await;
        let v = next_json(&mut raw, T).await.unwrap();
        assert_eq!(v["e"], "aggTrade", "{v}");
        assert!(v.get("stream").is_none());
        assert!(v["p"].is_string() && v["q"].is_string() && v["a"].is_u64() && v["m"].is_boolean());
    }
    for prefix in ["", "/public"] {
        let mut comb = ws(
            &h,
            &format!("{prefix}/stream?streams=btcusdt@bookTicker/ethusdt@bookTicker"),
        )
        .await;
        let v = next_json(&mut comb, T).await.unwrap();
        let stream = v["stream"].as_str().unwrap();
        assert!(
            stream == "btcusdt@bookTicker" || stream == "ethusdt@bookTicker",
            "{v}"
        );
        assert_eq!(v["data"]["e"], "bookTicker");
        let b: f64 = v["data"]["b"].as_str().unwrap().parse().unwrap();
        let a: f64 = v["data"]["a"].as_str().unwrap().parse().unwrap();
        assert!(b < a);
    }
    let mut mark = ws(&h, "/stream?streams=solusdt@markPrice@1s").await;
    let v = next_json(&mut mark, Duration::from_secs(3)).await.unwrap();
    assert_eq!(v["stream"], "solusdt@markPrice@1s");
    assert_eq!(v["data"]["e"], "markPriceUpdate");
    assert!(v["data"]["T"].as_u64().unwrap() % 28_800_000 == 0);
}

#[tokio::test]
async fn live_subscribe_protocol() {
    let h = start(cfg()).await;
    let mut s = ws(&h, "/ws").await;
    send_json(
        &mut s,
        json!({"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, |v| v.get("id").is_some())
            .await
            .unwrap(),
        json!({"result":null,"id":1})
    );
    send_json(
        &mut s,
        json!({"method":"UNSUBSCRIBE","params":["btcusdt@depth"],"id":312}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, |v| v.get("id").is_some())
            .await
            .unwrap(),
        json!({"result":null,"id":312})
    );
    send_json(&mut s, json!({"method":"LIST_SUBSCRIPTIONS","id":3})).await;
    assert_eq!(
        wait_for(&mut s, T, |v| v.get("id").is_some())
            .await
            .unwrap(),
        json!({"result":["btcusdt@aggTrade"],"id":3})
    );
    send_json(
        &mut s,
        json!({"method":"GET_PROPERTY","params":["combined"],"id":2}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, |v| v.get("id").is_some())
            .await
            .unwrap(),
        json!({"result":false,"id":2})
    );
    // Raw until told otherwise.
    let v = wait_for(&mut s, T, |v| v.get("e").is_some()).await.unwrap();
    assert_eq!(v["e"], "aggTrade");
    send_json(
        &mut s,
        json!({"method":"SET_PROPERTY","params":["combined",true],"id":5}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, |v| v.get("id").is_some())
            .await
            .unwrap(),
        json!({"result":null,"id":5})
    );
    let v = wait_for(&mut s, T, |v| v.get("stream").is_some())
        .await
        .unwrap();
    assert_eq!(v["stream"], "btcusdt@aggTrade");
    let errs = |v: &Value| v.get("code").is_some();
    send_json(
        &mut s,
        json!({"method":"SET_PROPERTY","params":["combined","yes"],"id":6}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, errs).await.unwrap(),
        json!({"code":1,"msg":"Invalid value type: expected Boolean"})
    );
    send_json(
        &mut s,
        json!({"method":"GET_PROPERTY","params":["colour"],"id":7}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, errs).await.unwrap(),
        json!({"code":0,"msg":"Unknown property","id":7})
    );
    send_json(
        &mut s,
        json!({"method":"SUBSCRIBE","params":["x@aggTrade"],"id":-1}),
    )
    .await;
    assert_eq!(
        wait_for(&mut s, T, errs).await.unwrap(),
        json!({"code":2,"msg":"Invalid request: request ID must be an unsigned integer"})
    );
    send_json(&mut s, json!({"method":"SUBSCRIB","params":[],"id":8})).await;
    let v = wait_for(&mut s, T, errs).await.unwrap();
    assert_eq!(v["code"], 2);
    assert!(v["msg"]
        .as_str()
        .unwrap()
        .starts_with("Invalid request: unknown variant"));
    s.send(Message::Text("{not json".into())).await.unwrap();
    assert_eq!(wait_for(&mut s, T, errs).await.unwrap()["code"], 3);
}

#[tokio::test]
async fn too_many_incoming_messages_disconnects() {
    let h = start(MockConfig {
        ws_max_incoming_per_sec: 3,
        ..cfg()
    })
    .await;
    let mut s = ws(&h, "/ws").await;
    for i in 0..6 {
        let _ = s
            .send(Message::Text(
                json!({"method":"LIST_SUBSCRIPTIONS","id":i})
                    .to_string()
                    .into(),
            ))
            .await;
    }
    let mut closed = false;
    for _ in 0..10 {
        if next_json(&mut s, Duration::from_secs(2)).await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed);
}

#[tokio::test]
async fn depth_diffs_chain_and_sync_with_snapshot() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    for stream in [
        "btcusdt@depth@100ms",
        "btcusdt@depth",
        "btcusdt@depth@500ms",
    ] {
        let mut s = ws(&h, &format!("/market/stream?streams={stream}")).await;
        // Buffer, then snapshot (the Binance procedure).
        let first = next_json(&mut s, T).await.unwrap();
        let snap = c
            .public(
                "/fapi/v1/depth",
                &[("symbol", "BTCUSDT"), ("limit", "1000")],
            )
            .await
            .body;
        let last_id = snap["lastUpdateId"].as_u64().unwrap();
        assert!(!snap["bids"].as_array().unwrap().is_empty());
        let mut events = vec![first["data"].clone()];
        for _ in 0..12 {
            events.push(next_json(&mut s, T).await.unwrap()["data"].clone());
        }
        let mut prev_u: Option<u64> = None;
        let mut jumps = 0;
        let mut synced = false;
        for e in &events {
            assert_eq!(e["e"], "depthUpdate");
            let (u_first, u, pu) = (
                e["U"].as_u64().unwrap(),
                e["u"].as_u64().unwrap(),
                e["pu"].as_u64().unwrap(),
            );
            assert!(u_first <= u);
            if let Some(p) = prev_u {
                assert_eq!(pu, p, "pu chain broken on {stream}");
                if u_first != p + 1 {
                    jumps += 1;
                }
            }
            if !synced && u >= last_id {
                assert!(
                    u_first <= last_id,
                    "first event after the snapshot must straddle it"
                );
                synced = true;
            }
            prev_u = Some(u);
        }
        assert!(synced, "{stream}: no event reached the snapshot id");
        assert!(jumps > 0, "U should jump (not always previous u + 1)");
    }
    // Partial depth.
    let mut s = ws(&h, "/ws/ethusdt@depth5@100ms").await;
    let v = next_json(&mut s, T).await.unwrap();
    assert_eq!(v["b"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn user_stream_paths_events_filter_and_expiry() {
    let h = start(MockConfig {
        listen_key_ttl: Duration::from_millis(800),
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut legacy = ws(&h, &format!("/ws/{key}")).await;
    let mut only_orders = ws(
        &h,
        &format!("/private/ws?listenKey={key}&events=ORDER_TRADE_UPDATE"),
    )
    .await;
    let mut combined = ws(&h, &format!("/private/stream?listenKey={key}")).await;
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "ETHUSDT"),
                ("side", "SELL"),
                ("type", "MARKET"),
                ("quantity", "0.01"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let mut kinds = Vec::new();
    while let Some(v) = next_json(&mut legacy, Duration::from_millis(300)).await {
        kinds.push(format!(
            "{}:{}",
            v["e"].as_str().unwrap(),
            v["o"]["x"].as_str().unwrap_or("")
        ));
    }
    assert_eq!(
        kinds,
        [
            "ORDER_TRADE_UPDATE:NEW",
            "ORDER_TRADE_UPDATE:TRADE",
            "ACCOUNT_UPDATE:"
        ]
    );
    let mut n = 0;
    while let Some(v) = next_json(&mut only_orders, Duration::from_millis(300)).await {
        assert_eq!(v["e"], "ORDER_TRADE_UPDATE");
        n += 1;
    }
    assert_eq!(n, 2);
    let v = next_json(&mut combined, T).await.unwrap();
    assert_eq!(v["stream"], key.as_str());
    assert_eq!(v["data"]["e"], "ORDER_TRADE_UPDATE");
    // No keepalive: the key lapses and the stream says so.
    let v = wait_for(&mut legacy, Duration::from_secs(3), |v| {
        v["e"] == "listenKeyExpired"
    })
    .await
    .unwrap();
    assert_eq!(v["listenKey"], key.as_str());
    let r = c
        .raw(Method::PUT, "/fapi/v1/listenKey", None, Some("paper-key"))
        .await;
    assert_eq!(r.code(), -1125);
    // Unknown key: refused.
    assert!(
        tokio_tungstenite::connect_async(format!("{}/ws/{}", h.ws_url(), "A".repeat(64)))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn pings_and_pongs() {
    let h = start(MockConfig {
        ws_ping_interval: Duration::from_millis(200),
        ..cfg()
    })
    .await;
    let mut s = ws(&h, "/ws/btcusdt@markPrice").await;
    s.send(Message::Ping("hello".into())).await.unwrap();
    let mut got_pong = false;
    let mut got_ping = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline && !(got_ping && got_pong) {
        match tokio::time::timeout(Duration::from_secs(1), s.next()).await {
            Ok(Some(Ok(Message::Pong(p)))) => {
                assert_eq!(&p[..], b"hello");
                got_pong = true;
            }
            Ok(Some(Ok(Message::Ping(_)))) => got_ping = true,
            _ => {}
        }
    }
    assert!(got_ping && got_pong);
}

#[tokio::test]
async fn faults_on_streams() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    // Gap: the websocket skips aggTrades that REST still serves.
    let mut s = ws(&h, "/ws/btcusdt@aggTrade").await;
    let first = next_json(&mut s, T).await.unwrap();
    h.drop_agg_trades(3);
    let mut prev = first["a"].as_u64().unwrap();
    let mut gap = None;
    for _ in 0..200 {
        let v = next_json(&mut s, T).await.unwrap();
        let a = v["a"].as_u64().unwrap();
        if a != prev + 1 {
            gap = Some((prev, a));
            break;
        }
        prev = a;
    }
    let (from, to) = gap.expect("a gap in aggregate ids");
    assert_eq!(to - from - 1, 3);
    let from_s = (from + 1).to_string();
    let r = c
        .public(
            "/fapi/v1/aggTrades",
            &[("symbol", "BTCUSDT"), ("fromId", &from_s), ("limit", "3")],
        )
        .await;
    let ids: Vec<u64> = r
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["a"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![from + 1, from + 2, from + 3]);
    // Malformed frames.
    h.inject_malformed(2);
    let mut bad = 0;
    for _ in 0..200 {
        let v = next_json(&mut s, T).await.unwrap();
        if v.is_string() {
            bad += 1;
            if bad == 2 {
                break;
            }
        }
    }
    assert_eq!(bad, 2);
    // Dropped connections.
    let r = c
        .raw(
            Method::POST,
            "/mock/fault",
            Some(json!({"kind":"drop_connections"}).to_string()),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let mut closed = false;
    for _ in 0..500 {
        if next_json(&mut s, T).await.is_none() {
            closed = true;
            break;
        }
    }
    assert!(closed);
    // And a new connection works.
    let mut s2 = ws(&h, "/ws/btcusdt@aggTrade").await;
    assert!(next_json(&mut s2, T).await.is_some());
}

#[tokio::test]
async fn limit_order_fills_as_maker_when_the_tape_trades_through() {
    let h = start(MockConfig {
        trades_per_sec: 400.0,
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;
    // A buy one tick under the best bid: it fills once sellers take the bid through it.
    let bt = c
        .public("/fapi/v1/ticker/bookTicker", &[("symbol", "BTCUSDT")])
        .await
        .body;
    let bid: f64 = bt["bidPrice"].as_str().unwrap().parse().unwrap();
    let px = format!("{:.2}", bid - 0.1);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.002"),
                ("price", &px),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let tr = wait_for(&mut user, Duration::from_secs(60), |v| {
        v["e"] == "ORDER_TRADE_UPDATE" && v["o"]["x"] == "TRADE"
    })
    .await;
    let tr = tr.expect("the resting order filled");
    assert_eq!(tr["o"]["m"], true);
    assert_eq!(tr["o"]["L"], px.as_str());
    let fee: f64 = tr["o"]["n"].as_str().unwrap().parse().unwrap();
    let notional = bid * 0.002;
    assert!(
        fee < notional * 0.00025 && fee > notional * 0.00015,
        "maker fee {fee}"
    );
}
