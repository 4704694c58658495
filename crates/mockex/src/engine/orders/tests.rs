#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use super::super::testkit::{kit, ps, Kit};
use super::super::{Endpoint, Outcome};

const BTC: usize = 0;

fn limit(k: &mut Kit, cid: &str, price: &str) -> Result<Value, i64> {
    k.e.new_order(
        &ps(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.002"),
            ("price", price),
            ("newClientOrderId", cid),
        ]),
        Endpoint::Order,
    )
    .map(|(ack, _)| ack)
    .map_err(|e| e.code)
}

fn with_book() -> Kit {
    let mut k = kit(&["BTCUSDT", "ETHUSDT"]);
    k.book(BTC, 6_000_000, 50, 20);
    k.book(1, 300_000, 5_000, 20);
    k
}

#[test]
fn client_id_is_refused_only_while_its_order_is_open() {
    let mut k = with_book();
    let first = limit(&mut k, "c-1", "59000.00").unwrap();
    assert_eq!(first["status"], "NEW");
    assert_eq!(limit(&mut k, "c-1", "59000.00"), Err(-4116));
    let id = first["orderId"].as_u64().unwrap().to_string();
    k.e.cancel(&ps(&[("symbol", "BTCUSDT"), ("orderId", &id)]))
        .unwrap();
    let again = limit(&mut k, "c-1", "59000.00").unwrap();
    assert_ne!(again["orderId"], first["orderId"]);
    // A filled order frees its id at once.
    let mk = |k: &mut Kit| {
        k.e.new_order(
            &ps(&[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
                ("newClientOrderId", "m-1"),
            ]),
            Endpoint::Order,
        )
        .map(|(_, r)| r["status"].clone())
        .map_err(|e| e.code)
    };
    assert_eq!(mk(&mut k), Ok(Value::from("FILLED")));
    assert_eq!(mk(&mut k), Ok(Value::from("FILLED")));
    // The query by client id finds the latest order that used it.
    let q =
        k.e.query(&ps(&[("symbol", "BTCUSDT"), ("origClientOrderId", "c-1")]))
            .unwrap();
    assert_eq!(q["orderId"], again["orderId"]);
    let log: Vec<(String, bool)> =
        k.e.attempts()
            .iter()
            .map(|a| (a.client_id.clone(), a.accepted()))
            .collect();
    let want = [
        ("c-1", true),
        ("c-1", false),
        ("c-1", true),
        ("m-1", true),
        ("m-1", true),
    ];
    let want: Vec<(String, bool)> = want.iter().map(|(c, a)| (c.to_string(), *a)).collect();
    assert_eq!(log, want);
    assert_eq!(
        k.e.attempts()[1].outcome,
        Outcome::Refused {
            code: -4116,
            msg: "ClientOrderId is duplicated.".into()
        }
    );
}

#[test]
fn max_num_orders_is_counted_per_symbol() {
    let mut k = with_book();
    for i in 0..200 {
        limit(&mut k, &format!("r-{i}"), "59000.00").unwrap();
    }
    assert_eq!(limit(&mut k, "r-200", "59000.00"), Err(-2025));
    let eth = k.e.new_order(
        &ps(&[
            ("symbol", "ETHUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.010"),
            ("price", "2900.00"),
        ]),
        Endpoint::Order,
    );
    assert!(eth.is_ok(), "{eth:?}");
}

#[test]
fn refused_attempts_are_logged_with_their_code_and_fields() {
    let mut k = with_book();
    // (params, code)
    let cases: [(&[(&str, &str)], i64); 4] = [
        (
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "MARKET"),
                ("quantity", "0.002"),
                ("reduceOnly", "true"),
            ],
            -2022,
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "0.001"),
            ],
            -4164,
        ),
        (
            &[
                ("symbol", "NOPEUSDT"),
                ("side", "BUY"),
                ("type", "MARKET"),
                ("quantity", "1"),
            ],
            -1121,
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("side", "BUY"),
                ("type", "STOP_MARKET"),
                ("quantity", "0.002"),
            ],
            -4120,
        ),
    ];
    for (p, code) in cases {
        let r = k.e.new_order(&ps(p), Endpoint::Batch);
        assert_eq!(r.map(|_| ()).map_err(|e| e.code), Err(code), "{p:?}");
    }
    let log = k.e.attempts_json();
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 4);
    for (entry, (p, code)) in log.iter().zip(cases) {
        assert_eq!(entry["accepted"], false);
        assert_eq!(entry["endpoint"], "POST /fapi/v1/batchOrders");
        assert_eq!(entry["code"], code);
        assert!(entry["msg"].is_string());
        assert!(entry["clientOrderId"]
            .as_str()
            .is_some_and(|c| c.len() == 22));
        assert_eq!(entry["symbol"], p[0].1);
        assert_eq!(entry["type"], p[2].1);
        assert_eq!(entry["quantity"], p[3].1);
    }
    assert_eq!(log[0]["reduceOnly"], true);
    assert!(k.e.orders().is_empty(), "nothing was accepted");
}

#[test]
fn accepted_view_shows_orders_as_they_are_now() {
    let mut k = with_book();
    limit(&mut k, "a-1", "59000.00").unwrap();
    k.market("BTCUSDT", "BUY", "0.002").unwrap();
    let v = k.e.accepted_json();
    let v = v.as_array().unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(
        (v[0]["clientOrderId"].as_str(), v[0]["status"].as_str()),
        (Some("a-1"), Some("NEW"))
    );
    assert_eq!(v[1]["status"], "FILLED");
    assert_eq!(v[1]["executedQty"], "0.002");
    assert!(v[1]["time"].is_u64());
    k.e.cancel_all(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(k.e.accepted_json()[0]["status"], "CANCELED");
    assert_eq!(k.e.open_orders(&ps(&[])).unwrap(), Value::Array(vec![]));
}

#[test]
fn market_order_events_are_new_then_trade_then_account() {
    let mut k = with_book();
    k.market("BTCUSDT", "BUY", "0.002").unwrap();
    assert_eq!(k.trace(), ["OTU:NEW:NEW", "OTU:TRADE:FILLED", "ACC:ORDER"]);
}
