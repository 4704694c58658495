//! REST behaviour against a live mock: signatures, error codes, order lifecycle,
//! batch orders, rate limits, account settings and faults.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use shmtrader_mockex::rest::sign;
use shmtrader_mockex::MockConfig;

#[tokio::test]
async fn signatures_keys_and_timestamps() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    // Good signature, query string.
    let r = c.signed(Method::GET, "/fapi/v2/balance", &[]).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body[0]["asset"], "USDT");
    assert_eq!(r.body[0]["balance"], "10000.00000000");
    assert!(r.header("x-mbx-used-weight-1m").is_some());
    // Good signature split over query and body: signature covers query + body.
    let ts = now_ms().to_string();
    let q = "symbol=BTCUSDT&leverage=10".to_string();
    let body = format!("timestamp={ts}");
    let sig = sign("paper-secret", &format!("{q}{body}"));
    let r = c
        .raw(
            Method::POST,
            &format!("/fapi/v1/leverage?{q}"),
            Some(format!("{body}&signature={sig}")),
            Some("paper-key"),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["leverage"], 10);
    // Bad signature.
    let r = c
        .raw(
            Method::GET,
            &format!("/fapi/v2/balance?timestamp={}&signature=deadbeef", now_ms()),
            None,
            Some("paper-key"),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1022));
    // Missing signature.
    let r = c
        .raw(
            Method::GET,
            &format!("/fapi/v2/balance?timestamp={}", now_ms()),
            None,
            Some("paper-key"),
        )
        .await;
    assert_eq!((r.status, r.code()), (400, -1102));
    // Missing / unknown API key: 401.
    let r = c
        .raw(
            Method::GET,
            "/fapi/v2/balance?timestamp=1&signature=x",
            None,
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (401, -2014));
    let r = c
        .raw(
            Method::GET,
            "/fapi/v2/balance?timestamp=1&signature=x",
            None,
            Some("other"),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, -2015));
    // Timestamp rules.
    for (ts, rw) in [
        (now_ms() - 6000, None),
        (now_ms() + 1500, None),
        (now_ms() - 3000, Some("2000")),
    ] {
        let mut q = format!("timestamp={ts}");
        if let Some(rw) = rw {
            q.push_str(&format!("&recvWindow={rw}"));
        }
        let sig = sign("paper-secret", &q);
        let r = c
            .raw(
                Method::GET,
                &format!("/fapi/v2/balance?{q}&signature={sig}"),
                None,
                Some("paper-key"),
            )
            .await;
        assert_eq!((r.status, r.code()), (400, -1021), "{q}: {:?}", r.body);
    }
    let q = format!("timestamp={}&recvWindow=10000", now_ms() - 6000);
    let sig = sign("paper-secret", &q);
    let r = c
        .raw(
            Method::GET,
            &format!("/fapi/v2/balance?{q}&signature={sig}"),
            None,
            Some("paper-key"),
        )
        .await;
    assert_eq!(r.status, 200);
    // Missing timestamp.
    let sig = sign("paper-secret", "");
    let r = c
        .raw(
            Method::GET,
            &format!("/fapi/v2/balance?signature={sig}"),
            None,
            Some("paper-key"),
        )
        .await;
    assert_eq!(r.code(), -1102);
    // Public endpoints need nothing.
    assert_eq!(c.public("/fapi/v1/ping", &[]).await.body, json!({}));
    assert!(
        c.public("/fapi/v1/time", &[]).await.body["serverTime"]
            .as_u64()
            .unwrap()
            > 1_600_000_000_000
    );
}

#[tokio::test]
async fn exchange_info_filters() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let r = c.public("/fapi/v1/exchangeInfo", &[]).await;
    let syms = r.body["symbols"].as_array().unwrap();
    let names: Vec<&str> = syms.iter().map(|s| s["symbol"].as_str().unwrap()).collect();
    assert_eq!(names, ["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
    let btc = &syms[0];
    let f = |t: &str| {
        btc["filters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["filterType"] == t)
            .unwrap()
            .clone()
    };
    assert_eq!(f("PRICE_FILTER")["tickSize"], "0.10");
    assert_eq!(f("LOT_SIZE")["stepSize"], "0.001");
    assert_eq!(f("MIN_NOTIONAL")["notional"], "100");
    assert_eq!(f("PERCENT_PRICE")["multiplierUp"], "1.0500");
    assert_eq!(r.body["rateLimits"][0]["limit"], 2400);
    assert!(btc["orderTypes"]
        .as_array()
        .unwrap()
        .contains(&json!("STOP_MARKET")));
    // MAX_NUM_ORDERS stays; MAX_NUM_ALGO_ORDERS went away with Binance's 2025-12-29 change.
    assert_eq!(f("MAX_NUM_ORDERS")["limit"], 200);
    assert!(!btc["filters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["filterType"] == "MAX_NUM_ALGO_ORDERS"));
}

#[tokio::test]
async fn order_error_codes() {
    let mut cf = cfg();
    cf.symbols.push("LINKUSDT".into());
    cf.starting_balance = 1000.0;
    let h = start(cf).await;
    let c = Client::new(&h);
    let o = |extra: &[(&'static str, &'static str)]| {
        let mut v = vec![
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.002"),
        ];
        for (k, val) in extra {
            if let Some(slot) = v.iter_mut().find(|(kk, _)| kk == k) {
                slot.1 = val;
            } else {
                v.push((k, val));
            }
        }
        v
    };
    let cases: Vec<(Vec<(&str, &str)>, i64)> = vec![
        (o(&[("symbol", "FOOUSDT")]), -1121),
        (
            vec![("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET")],
            -1102,
        ),
        (o(&[("quantity", "abc")]), -1102),
        (o(&[("quantity", "0.0001")]), -1111),
        (
            o(&[
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("price", "60000.05"),
            ]),
            -4014,
        ),
        (
            o(&[
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("price", "60000.123"),
            ]),
            -1111,
        ),
        (o(&[("symbol", "LINKUSDT"), ("quantity", "1.05")]), -4023),
        (o(&[("quantity", "0.001")]), -4164),
        (o(&[("reduceOnly", "true")]), -2022),
        (o(&[("quantity", "1")]), -2019),
        (o(&[("type", "STOP_MARKET")]), -4120),
        (o(&[("type", "TAKE_PROFIT")]), -4120),
        (o(&[("type", "LIMIT"), ("price", "60000.00")]), -1102),
        (o(&[("side", "HOLD")]), -1117),
    ];
    for (params, code) in cases {
        let r = c.signed(Method::POST, "/fapi/v1/order", &params).await;
        assert_eq!(
            (r.status, r.code()),
            (400, code),
            "{params:?} → {:?}",
            r.body
        );
    }
    // -4116: a client order id is unique among open orders only. A filled order frees it.
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &o(&[("newClientOrderId", "dup-1")]),
        )
        .await;
    assert_eq!(r.body["status"], "NEW", "{:?}", r.body);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &o(&[("newClientOrderId", "dup-1")]),
        )
        .await;
    assert_eq!(
        r.status, 200,
        "a filled order's id may be sent again: {:?}",
        r.body
    );
    // A resting order holds its id until it is cancelled.
    let mark = c.mark("BTCUSDT").await;
    let low = passive_buy_price(mark);
    let rest = |cid: &'static str, px: &str| {
        vec![
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.002"),
            ("price", px),
            ("newClientOrderId", cid),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect::<Vec<_>>()
    };
    let send = |p: Vec<(&'static str, String)>| {
        let c = &c;
        async move {
            let p: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
            c.signed(Method::POST, "/fapi/v1/order", &p).await
        }
    };
    let r = send(rest("dup-2", &low)).await;
    assert_eq!(r.body["status"], "NEW", "{:?}", r.body);
    assert_eq!(send(rest("dup-2", &low)).await.code(), -4116);
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "dup-2")],
        )
        .await;
    assert_eq!(r.body["status"], "CANCELED");
    assert_eq!(send(rest("dup-2", &low)).await.status, 200);
    // -2013 / -2011.
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", "12345")],
        )
        .await;
    assert_eq!(r.code(), -2013);
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", "12345")],
        )
        .await;
    assert_eq!(r.code(), -2011);
    // GTX that would cross: -5022.
    let mark = c.mark("BTCUSDT").await;
    let px = format!("{:.2}", ((mark * 1.01) * 10.0).floor() / 10.0);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("quantity", "0.002"),
                ("timeInForce", "GTX"),
                ("price", &px),
            ],
        )
        .await;
    assert_eq!(r.code(), -5022, "{:?}", r.body);
}

#[tokio::test]
async fn limit_order_lifecycle_and_market_fill_with_user_stream() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;
    let mark = c.mark("BTCUSDT").await;
    let px = passive_buy_price(mark);
    let r = c
        .signed_body(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "LIMIT"),
                ("timeInForce", "GTC"),
                ("quantity", "0.002"),
                ("price", &px),
                ("newClientOrderId", "life-1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "NEW");
    assert_eq!(r.body["clientOrderId"], "life-1");
    assert!(
        r.header("x-mbx-order-count-10s").is_some() && r.header("x-mbx-order-count-1m").is_some()
    );
    let id = r.body["orderId"].as_u64().unwrap();
    assert!(id > (1u64 << 53), "order ids exceed 2^53 on purpose");
    let ev = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ORDER_TRADE_UPDATE"
    })
    .await
    .unwrap();
    assert_eq!(ev["o"]["x"], "NEW");
    assert_eq!(ev["o"]["i"].as_u64(), Some(id));
    let ids = id.to_string();
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", &ids)],
        )
        .await;
    assert_eq!(r.body["status"], "NEW");
    assert_eq!(r.body["price"], px.as_str());
    assert!(r.body["time"].as_u64().is_some());
    let r = c
        .signed(Method::GET, "/fapi/v1/openOrders", &[("symbol", "BTCUSDT")])
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/openOrder",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "life-1")],
        )
        .await;
    assert_eq!(r.body["orderId"].as_u64(), Some(id));
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", &ids)],
        )
        .await;
    assert_eq!(r.body["status"], "CANCELED");
    let ev = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ORDER_TRADE_UPDATE"
    })
    .await
    .unwrap();
    assert_eq!(ev["o"]["x"], "CANCELED");
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/openOrder",
            &[("symbol", "BTCUSDT"), ("orderId", &ids)],
        )
        .await;
    assert_eq!(r.code(), -2013);
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("orderId", &ids)],
        )
        .await;
    assert_eq!(r.code(), -2011);

    // MARKET with RESULT: filled at the book.
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
                ("newOrderRespType", "RESULT"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["status"], "FILLED");
    assert_eq!(r.body["executedQty"], "0.002");
    assert_eq!(r.body["cumQty"], "0.002");
    let avg: f64 = r.body["avgPrice"].as_str().unwrap().parse().unwrap();
    assert!((avg / mark - 1.0).abs() < 0.01, "avg {avg} mark {mark}");
    let ev = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ORDER_TRADE_UPDATE" && v["o"]["x"] == "NEW"
    })
    .await
    .unwrap();
    assert_eq!(ev["o"]["o"], "MARKET");
    let tr = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ORDER_TRADE_UPDATE"
    })
    .await
    .unwrap();
    let o = &tr["o"];
    assert_eq!(o["x"], "TRADE");
    for k in ["l", "z", "L", "n", "N", "rp", "m", "t", "ap", "X"] {
        assert!(!o[k].is_null(), "missing {k} in {o}");
    }
    assert_eq!(o["N"], "USDT");
    assert_eq!(o["m"], false);
    let acc = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ACCOUNT_UPDATE"
    })
    .await
    .unwrap();
    assert_eq!(acc["a"]["m"], "ORDER");
    assert_eq!(acc["a"]["B"][0]["a"], "USDT");
    assert_eq!(acc["a"]["P"][0]["s"], "BTCUSDT");
    // Fees were charged: 0.05 % of ~128 USDT.
    let wb: f64 = acc["a"]["B"][0]["wb"].as_str().unwrap().parse().unwrap();
    assert!(wb < 10_000.0 && wb > 9_999.0, "{wb}");

    // Positions: v2 lists every symbol with leverage, v3 only the open one, without it.
    let r = c.signed(Method::GET, "/fapi/v2/positionRisk", &[]).await;
    assert_eq!(r.body.as_array().unwrap().len(), 3);
    assert_eq!(r.body[0]["positionAmt"], "0.002");
    assert!(r.body[0]["leverage"].is_string());
    let r = c.signed(Method::GET, "/fapi/v3/positionRisk", &[]).await;
    let rows = r.body.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert!(rows[0].get("leverage").is_none());
    let r = c.signed(Method::GET, "/fapi/v3/account", &[]).await;
    assert_eq!(r.body["positions"].as_array().unwrap().len(), 1);
    let r = c.signed(Method::GET, "/fapi/v2/account", &[]).await;
    assert_eq!(r.body["positions"].as_array().unwrap().len(), 3);

    // Close with reduceOnly: realized PnL booked, position flat.
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
                ("reduceOnly", "true"),
                ("newOrderRespType", "RESULT"),
            ],
        )
        .await;
    assert_eq!(r.body["status"], "FILLED", "{:?}", r.body);
    let pos = h.positions_json();
    assert_eq!(pos[0]["positionAmt"], "0.000");
    // /mock/accepted: the accepted orders as they are now.
    let all = c.public("/mock/accepted", &[]).await.body;
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        c.public("/mock/orders", &[("accepted", "true")])
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        3
    );
    for k in [
        "symbol",
        "orderId",
        "clientOrderId",
        "side",
        "type",
        "origQty",
        "executedQty",
        "avgPrice",
        "status",
        "reduceOnly",
        "time",
    ] {
        assert!(!all[0][k].is_null(), "{k}");
    }
    // /mock/orders: the attempt log, here all accepted.
    let log = c.public("/mock/orders", &[]).await.body;
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert!(log
        .iter()
        .all(|a| a["accepted"] == true && a["endpoint"] == "POST /fapi/v1/order"));
    assert_eq!(log[0]["clientOrderId"], "life-1");
    assert_eq!(log[0]["orderId"].as_u64(), Some(id));
    assert_eq!(log[2]["reduceOnly"], true);
    assert_eq!(h.orders().len(), 3);
}

#[tokio::test]
async fn batch_orders() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let mark = c.mark("BTCUSDT").await;
    let px = passive_buy_price(mark);
    let batch = json!([
        {"symbol":"BTCUSDT","side":"BUY","type":"LIMIT","timeInForce":"GTC","quantity":"0.002","price":px},
        {"symbol":"BTCUSDT","side":"SELL","type":"MARKET","quantity":"0.002","reduceOnly":"true"},
        {"symbol":"NOPE","side":"BUY","type":"MARKET","quantity":"1"}
    ])
    .to_string();
    let r = c
        .signed_body(
            Method::POST,
            "/fapi/v1/batchOrders",
            &[("batchOrders", &batch)],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let a = r.body.as_array().unwrap();
    assert_eq!(a.len(), 3);
    assert_eq!(a[0]["status"], "NEW");
    assert_eq!(
        a[1],
        json!({"code":-2022,"msg":"ReduceOnly Order is rejected."})
    );
    assert_eq!(a[2]["code"], -1121);
    // Each item is one attempt in the log, refusals included, in request order.
    let log = h.attempts_json();
    let rows: Vec<(bool, i64)> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["accepted"].as_bool().unwrap(),
                e["code"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(rows, [(true, 0), (false, -2022), (false, -1121)]);
    assert!(log
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["endpoint"] == "POST /fapi/v1/batchOrders"));
    assert_eq!(log[2]["symbol"], "NOPE");
    assert_eq!(h.orders().len(), 1);
    let six: Vec<Value> = (0..6)
        .map(|_| json!({"symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.002"}))
        .collect();
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/batchOrders",
            &[("batchOrders", &Value::Array(six).to_string())],
        )
        .await;
    assert_eq!(r.code(), -4082);
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/allOpenOrders",
            &[("symbol", "BTCUSDT")],
        )
        .await;
    assert_eq!(
        r.body,
        json!({"code":200,"msg":"The operation of cancel all open order is done."})
    );
    let r = c.signed(Method::GET, "/fapi/v1/openOrders", &[]).await;
    assert_eq!(r.body, json!([]));
}

#[tokio::test]
async fn rate_limit_429_then_418() {
    // Stay clear of a minute boundary (the weight window is the calendar minute).
    if now_ms() % 60_000 > 55_000 {
        tokio::time::sleep(Duration::from_millis(60_500 - now_ms() % 60_000)).await;
    }
    let h = start(MockConfig {
        weight_limit_1m: 20,
        ..cfg()
    })
    .await;
    let c = Client::new(&h);
    for i in 1..=20 {
        let r = c.public("/fapi/v1/ping", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.header("x-mbx-used-weight-1m").unwrap(), i.to_string());
    }
    let r = c.public("/fapi/v1/ping", &[]).await;
    assert_eq!((r.status, r.code()), (429, -1003), "{:?}", r.body);
    assert!(r.header("retry-after").is_some());
    let r = c.public("/fapi/v1/time", &[]).await;
    assert_eq!((r.status, r.code()), (418, -1003));
    assert!(r.body["msg"].as_str().unwrap().contains("IP banned until"));
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() >= 100);
    let r = c.public("/fapi/v1/ping", &[]).await;
    assert_eq!(r.status, 418);
}

#[tokio::test]
async fn settings_endpoints() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/marginType",
            &[("symbol", "ETHUSDT"), ("marginType", "CROSSED")],
        )
        .await;
    assert_eq!(r.code(), -4046);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/marginType",
            &[("symbol", "ETHUSDT"), ("marginType", "ISOLATED")],
        )
        .await;
    assert_eq!(r.body, json!({"code":200,"msg":"success"}));
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/positionSide/dual",
            &[("dualSidePosition", "false")],
        )
        .await;
    assert_eq!(r.code(), -4059);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/leverage",
            &[("symbol", "ETHUSDT"), ("leverage", "200")],
        )
        .await;
    assert_eq!(r.code(), -4028);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/leverage",
            &[("symbol", "ETHUSDT"), ("leverage", "5")],
        )
        .await;
    assert_eq!(r.body["leverage"], 5);
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/leverageBracket",
            &[("symbol", "BTCUSDT")],
        )
        .await;
    assert_eq!(r.body["brackets"][0]["initialLeverage"], 125);
    let r = c
        .signed(
            Method::GET,
            "/fapi/v2/positionRisk",
            &[("symbol", "ETHUSDT")],
        )
        .await;
    assert_eq!(r.body[0]["marginType"], "isolated");
    assert_eq!(r.body[0]["leverage"], "5");
    // listenKey: API key only, no signature.
    let k1 = c.listen_key().await;
    let k2 = c.listen_key().await;
    assert_eq!(k1, k2);
    assert_eq!(k1.len(), 64);
    let r = c
        .raw(Method::PUT, "/fapi/v1/listenKey", None, Some("paper-key"))
        .await;
    assert_eq!(r.status, 200);
    let r = c.raw(Method::POST, "/fapi/v1/listenKey", None, None).await;
    assert_eq!((r.status, r.code()), (401, -2014));
    let r = c
        .raw(
            Method::DELETE,
            "/fapi/v1/listenKey",
            None,
            Some("paper-key"),
        )
        .await;
    assert_eq!(r.body, json!({}));
    let r = c
        .raw(Method::PUT, "/fapi/v1/listenKey", None, Some("paper-key"))
        .await;
    assert_eq!(r.code(), -1125);
}

#[tokio::test]
async fn algo_orders() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let key = c.listen_key().await;
    let mut user = ws(&h, &format!("/ws/{key}")).await;
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
            ],
        )
        .await;
    assert_eq!(r.status, 200);
    let mark = c.mark("BTCUSDT").await;
    let stop = format!("{:.2}", ((mark * 0.9) * 10.0).floor() / 10.0);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/algoOrder",
            &[
                ("algoType", "CONDITIONAL"),
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "STOP_MARKET"),
                ("triggerPrice", &stop),
                ("closePosition", "true"),
                ("clientAlgoId", "sl-1"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["algoStatus"], "NEW");
    assert_eq!(r.body["orderType"], "STOP_MARKET");
    let algo_id = r.body["algoId"].as_u64().unwrap().to_string();
    let ev = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ALGO_UPDATE"
    })
    .await
    .unwrap();
    assert_eq!(
        (ev["o"]["X"].as_str(), ev["o"]["caid"].as_str()),
        (Some("NEW"), Some("sl-1"))
    );
    assert_eq!(ev["o"]["aid"].as_u64().unwrap().to_string(), algo_id);
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/algoOrder",
            &[("clientAlgoId", "sl-1")],
        )
        .await;
    assert_eq!(
        (
            r.body["algoStatus"].as_str(),
            r.body["actualOrderId"].as_str()
        ),
        (Some("NEW"), Some(""))
    );
    // A stop above the market for a sell would trigger at once.
    let up = format!("{:.2}", ((mark * 1.1) * 10.0).floor() / 10.0);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/algoOrder",
            &[
                ("algoType", "CONDITIONAL"),
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "STOP_MARKET"),
                ("triggerPrice", &up),
                ("closePosition", "true"),
            ],
        )
        .await;
    assert_eq!(r.code(), -2021, "{:?}", r.body);
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/openAlgoOrders",
            &[("symbol", "BTCUSDT")],
        )
        .await;
    assert_eq!(r.body.as_array().unwrap().len(), 1);
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/algoOrder",
            &[("algoId", &algo_id)],
        )
        .await;
    assert_eq!(r.body["msg"], "success");
    let ev = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ALGO_UPDATE"
    })
    .await
    .unwrap();
    assert_eq!(ev["o"]["X"], "CANCELED");
    let r = c.signed(Method::GET, "/fapi/v1/openAlgoOrders", &[]).await;
    assert_eq!(r.body, json!([]));
    // Cancel all resting algo orders of a symbol.
    for t in ["0.90", "0.89"] {
        let px = format!(
            "{:.2}",
            ((mark * t.parse::<f64>().unwrap()) * 10.0).floor() / 10.0
        );
        let r = c
            .signed(
                Method::POST,
                "/fapi/v1/algoOrder",
                &[
                    ("algoType", "CONDITIONAL"),
                    ("symbol", "BTCUSDT"),
                    ("side", "SELL"),
                    ("type", "STOP_MARKET"),
                    ("triggerPrice", &px),
                    ("reduceOnly", "true"),
                    ("quantity", "0.001"),
                ],
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let r = c
        .signed(
            Method::DELETE,
            "/fapi/v1/algoOpenOrders",
            &[("symbol", "BTCUSDT")],
        )
        .await;
    assert_eq!(
        r.body,
        json!({"code":200,"msg":"The operation of cancel all open order is done."})
    );
    let r = c.signed(Method::GET, "/fapi/v1/openAlgoOrders", &[]).await;
    assert_eq!(r.body, json!([]));
    let all = c.public("/mock/algoOrders", &[]).await.body;
    assert_eq!(all.as_array().unwrap().len(), 3);
    assert!(all
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["algoStatus"] == "CANCELED"));
    // Take profit one tick above the last trade: triggered by the tape, closes the position.
    let mut placed = false;
    for _ in 0..20 {
        let last = c
            .public(
                "/fapi/v1/aggTrades",
                &[("symbol", "BTCUSDT"), ("limit", "1")],
            )
            .await
            .body;
        let p: f64 = last[0]["p"].as_str().unwrap().parse().unwrap();
        let tp = format!("{:.2}", p + 0.1);
        let r = c
            .signed(
                Method::POST,
                "/fapi/v1/algoOrder",
                &[
                    ("algoType", "CONDITIONAL"),
                    ("symbol", "BTCUSDT"),
                    ("side", "SELL"),
                    ("type", "TAKE_PROFIT_MARKET"),
                    ("triggerPrice", &tp),
                    ("closePosition", "true"),
                ],
            )
            .await;
        if r.status == 200 {
            placed = true;
            break;
        }
        assert_eq!(r.code(), -2021);
    }
    assert!(placed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while tokio::time::Instant::now() < deadline && h.positions_json()[0]["positionAmt"] != "0.000"
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(h.positions_json()[0]["positionAmt"], "0.000");
    let orders = h.orders();
    let last = orders.last().unwrap();
    assert_eq!(last.orig_type, "TAKE_PROFIT_MARKET");
    assert!(last.reduce_only && last.close_position);
    // The stream told the whole story, TRIGGERED (with the order's id) before its fill.
    let mut seen = Vec::new();
    let mut order_id = String::new();
    while let Some(v) = wait_for(&mut user, Duration::from_secs(3), |v| {
        v["e"] == "ALGO_UPDATE" || v["e"] == "ORDER_TRADE_UPDATE"
    })
    .await
    {
        if v["e"] == "ALGO_UPDATE" {
            let x = v["o"]["X"].as_str().unwrap().to_string();
            if x == "TRIGGERED" {
                order_id = v["o"]["ai"].as_str().unwrap().to_string();
            }
            let done = x == "FINISHED";
            seen.push(format!("ALGO:{x}"));
            if done {
                break;
            }
        } else if v["o"]["ot"] == "TAKE_PROFIT_MARKET" {
            assert_eq!(v["o"]["i"].as_u64().unwrap().to_string(), order_id);
            seen.push(format!("OTU:{}", v["o"]["x"].as_str().unwrap()));
        }
    }
    let tail: Vec<&str> = seen
        .iter()
        .map(String::as_str)
        .skip_while(|s| *s != "ALGO:TRIGGERING")
        .collect();
    assert_eq!(
        tail,
        [
            "ALGO:TRIGGERING",
            "ALGO:TRIGGERED",
            "OTU:NEW",
            "OTU:TRADE",
            "ALGO:FINISHED"
        ],
        "{seen:?}"
    );
    let log = h.attempts();
    let trig = log
        .iter()
        .rev()
        .find(|a| a.endpoint == shmtrader_mockex::Endpoint::AlgoTrigger)
        .unwrap();
    assert!(trig.accepted());
    assert_eq!(trig.client_id, last.client_id);
}

#[tokio::test]
async fn faults_503_executes_and_status_injection() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    h.fail_next(503, 1);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
                ("newClientOrderId", "unknown-fate"),
            ],
        )
        .await;
    assert_eq!(r.status, 503);
    assert_eq!(
        r.body,
        json!({"code":-1000,"msg":"Unknown error, please check your request or try again later."})
    );
    let r = c
        .signed(
            Method::GET,
            "/fapi/v1/order",
            &[("symbol", "BTCUSDT"), ("origClientOrderId", "unknown-fate")],
        )
        .await;
    assert_eq!(
        r.body["status"], "FILLED",
        "the order was executed despite the 503"
    );
    // Through the HTTP fault endpoint.
    let r = c
        .raw(
            Method::POST,
            "/mock/fault",
            Some(json!({"kind":"rest_status","status":429,"count":1}).to_string()),
            None,
        )
        .await;
    assert_eq!(r.body["ok"], true);
    let r = c.public("/fapi/v1/ping", &[]).await;
    assert_eq!((r.status, r.code()), (429, -1003));
    let r = c.public("/fapi/v1/ping", &[]).await;
    assert_eq!(r.status, 200);
    // Added delay.
    h.set_delay(Duration::from_millis(150));
    let t0 = std::time::Instant::now();
    c.public("/fapi/v1/ping", &[]).await;
    assert!(t0.elapsed() >= Duration::from_millis(150));
    h.inject(shmtrader_mockex::Fault::Clear);
    let r = c
        .raw(
            Method::POST,
            "/mock/fault",
            Some("{\"kind\":\"nonsense\"}".into()),
            None,
        )
        .await;
    assert_eq!(r.status, 400);
}

#[tokio::test]
async fn malformed_requests_get_binance_errors() {
    let h = start(cfg()).await;
    let c = Client::new(&h);
    let r = c
        .public("/fapi/v1/depth", &[("symbol", "BTCUSDT"), ("limit", "7")])
        .await;
    assert_eq!(r.status, 400);
    let r = c
        .public(
            "/fapi/v1/aggTrades",
            &[("symbol", "BTCUSDT"), ("limit", "5000")],
        )
        .await;
    assert_eq!(r.status, 400);
    let r = c.public("/fapi/v1/nothing", &[]).await;
    assert_eq!(r.status, 404);
    let r = c
        .signed(
            Method::POST,
            "/fapi/v1/batchOrders",
            &[("batchOrders", "[{not json")],
        )
        .await;
    assert_eq!(r.code(), -1102);
    let r = c
        .raw(
            Method::POST,
            "/fapi/v1/order",
            Some("%%%&&==&signature=%zz".into()),
            Some("paper-key"),
        )
        .await;
    assert_eq!(r.status, 400);
}
