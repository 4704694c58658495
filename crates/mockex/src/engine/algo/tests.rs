#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use super::super::testkit::{kit, ps, Kit};
use super::super::Endpoint;

const BTC: usize = 0;
const ETH: usize = 1;

fn algo(k: &mut Kit, kv: &[(&str, &str)]) -> Result<Value, i64> {
    let mut p = ps(&[("algoType", "CONDITIONAL"), ("symbol", "BTCUSDT")]);
    p.extend(ps(kv));
    k.e.new_algo(&p).map_err(|e| e.code)
}

/// BTCUSDT at 60000.00 / 60000.10 with a 0.002 long; ETHUSDT at 3000.00.
fn long_btc() -> Kit {
    let mut k = kit(&["BTCUSDT", "ETHUSDT"]);
    k.book(BTC, 6_000_000, 50, 20);
    k.book(ETH, 300_000, 5_000, 20);
    k.trade(BTC, 6_000_000, 1, true);
    k.market("BTCUSDT", "BUY", "0.002").unwrap();
    k.events();
    k
}

fn sl(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut v = vec![
        ("side", "SELL"),
        ("type", "STOP_MARKET"),
        ("triggerPrice", "59000.00"),
    ];
    v.extend_from_slice(extra);
    v
}

#[test]
fn close_position_stop_runs_new_triggering_triggered_order_finished_in_that_order() {
    let mut k = long_btc();
    let placed = algo(
        &mut k,
        &sl(&[("closePosition", "true"), ("clientAlgoId", "sl-1")]),
    )
    .unwrap();
    assert_eq!(placed["algoStatus"], "NEW");
    let aid = placed["algoId"].as_u64().unwrap();
    assert_eq!(k.trace(), ["ALGO:NEW"]);
    // The market falls through the trigger: the book first, then a print.
    k.book(BTC, 5_898_000, 50, 20);
    k.trade(BTC, 5_898_000, 1, true);
    let ev = k.events();
    let trace: Vec<String> = ev
        .iter()
        .map(|v| match v["e"].as_str().unwrap() {
            "ALGO_UPDATE" => format!("ALGO:{}", v["o"]["X"].as_str().unwrap()),
            "ORDER_TRADE_UPDATE" => format!("OTU:{}", v["o"]["x"].as_str().unwrap()),
            e => e.to_string(),
        })
        .collect();
    assert_eq!(
        trace,
        [
            "ALGO:TRIGGERING",
            "ALGO:TRIGGERED",
            "OTU:NEW",
            "OTU:TRADE",
            "ACCOUNT_UPDATE",
            "ALGO:FINISHED"
        ]
    );
    let triggered = &ev[1]["o"];
    let new = &ev[2]["o"];
    assert_eq!(
        triggered["ai"].as_str().unwrap(),
        new["i"].as_u64().unwrap().to_string()
    );
    assert_eq!(triggered["caid"], "sl-1");
    assert!(triggered["tt"].as_u64().unwrap() > 0);
    assert_ne!(new["c"], "sl-1", "the placed order has its own client id");
    assert_eq!(
        (new["o"].as_str(), new["ot"].as_str()),
        (Some("MARKET"), Some("STOP_MARKET"))
    );
    assert_eq!(new["sp"], "59000.00");
    assert_eq!(
        (new["R"].as_bool(), new["cp"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(ev[3]["o"]["X"], "FILLED");
    assert_eq!(ev[5]["o"]["aq"], "0.002");
    assert_eq!(k.e.positions()[BTC]["positionAmt"], "0.000");
    let q = k.e.query_algo(&ps(&[("clientAlgoId", "sl-1")])).unwrap();
    assert_eq!(q["algoStatus"], "FINISHED");
    assert_eq!(q["actualOrderId"], triggered["ai"]);
    assert_eq!(q["algoId"].as_u64(), Some(aid));
    // The attempt log: the algo order, then the order its trigger placed.
    let log = k.e.attempts();
    let last = &log[log.len() - 1];
    assert_eq!(last.endpoint, Endpoint::AlgoTrigger);
    assert_eq!(last.algo_id, Some(aid));
    assert!(last.accepted());
    assert_eq!(log[log.len() - 2].endpoint, Endpoint::AlgoOrder);
}

#[test]
fn mark_price_stop_triggers_at_the_next_mark_not_on_a_trade() {
    let mut k = long_btc();
    algo(
        &mut k,
        &sl(&[("closePosition", "true"), ("workingType", "MARK_PRICE")]),
    )
    .unwrap();
    k.events();
    k.book(BTC, 5_898_000, 50, 20);
    k.trade(BTC, 5_898_000, 1, true);
    assert_eq!(
        k.trace(),
        Vec::<String>::new(),
        "a trade does not move a MARK_PRICE stop"
    );
    k.advance(1_000);
    let t = k.trace();
    assert_eq!(
        t.first().map(String::as_str),
        Some("ALGO:TRIGGERING"),
        "{t:?}"
    );
    assert_eq!(t.last().map(String::as_str), Some("ALGO:FINISHED"), "{t:?}");
}

#[test]
fn immediate_trigger_is_refused_with_2021() {
    // (working type, side, type, trigger, expected): last 60000.00, mark 60000.05.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Result<(), i64>,
    );
    let cases: [Case; 6] = [
        (
            "CONTRACT_PRICE",
            "SELL",
            "STOP_MARKET",
            "60000.00",
            Err(-2021),
        ),
        ("CONTRACT_PRICE", "SELL", "STOP_MARKET", "59999.90", Ok(())),
        (
            "CONTRACT_PRICE",
            "SELL",
            "TAKE_PROFIT_MARKET",
            "60000.00",
            Err(-2021),
        ),
        ("MARK_PRICE", "SELL", "STOP_MARKET", "60000.10", Err(-2021)),
        ("MARK_PRICE", "BUY", "STOP_MARKET", "60000.00", Err(-2021)),
        ("MARK_PRICE", "BUY", "STOP_MARKET", "60000.20", Ok(())),
    ];
    for (wt, side, ty, trigger, want) in cases {
        let mut k = long_btc();
        let r = algo(
            &mut k,
            &[
                ("side", side),
                ("type", ty),
                ("triggerPrice", trigger),
                ("quantity", "0.002"),
                ("workingType", wt),
            ],
        );
        assert_eq!(r.map(|_| ()), want, "{wt} {side} {ty} {trigger}");
    }
}

#[test]
fn second_close_position_stop_same_side_is_refused_4130_but_reduce_only_replacement_is_not() {
    let mut k = long_btc();
    algo(&mut k, &sl(&[("closePosition", "true")])).unwrap();
    let again = algo(
        &mut k,
        &sl(&[("closePosition", "true"), ("triggerPrice", "58000.00")]),
    );
    assert_eq!(again.map(|_| ()), Err(-4130));
    // The replacement the executor places before cancelling the old stop.
    let repl = algo(
        &mut k,
        &sl(&[
            ("reduceOnly", "true"),
            ("quantity", "0.002"),
            ("triggerPrice", "59500.00"),
        ]),
    );
    assert!(repl.is_ok(), "{repl:?}");
    // A closePosition take-profit on the same side is another type: allowed.
    let tp = algo(
        &mut k,
        &[
            ("side", "SELL"),
            ("type", "TAKE_PROFIT_MARKET"),
            ("triggerPrice", "61000.00"),
            ("closePosition", "true"),
        ],
    );
    assert!(tp.is_ok(), "{tp:?}");
    // Once the first is cancelled, a new closePosition stop is accepted.
    let first = k.e.open_algos(&ps(&[])).unwrap()[0]["algoId"]
        .as_u64()
        .unwrap();
    k.e.cancel_algo(&ps(&[("algoId", &first.to_string())]))
        .unwrap();
    assert!(algo(&mut k, &sl(&[("closePosition", "true")])).is_ok());
}

#[test]
fn at_most_200_resting_algo_orders_across_all_symbols() {
    let mut k = long_btc();
    for i in 0..200 {
        let (sym, trigger) = if i % 2 == 0 {
            ("BTCUSDT", "61000.00")
        } else {
            ("ETHUSDT", "3100.00")
        };
        let mut p = ps(&[
            ("algoType", "CONDITIONAL"),
            ("symbol", sym),
            ("side", "BUY"),
            ("type", "STOP_MARKET"),
            ("triggerPrice", trigger),
            ("quantity", if sym == "BTCUSDT" { "0.002" } else { "0.010" }),
        ]);
        p.insert("clientAlgoId".into(), format!("s-{i}"));
        k.e.new_algo(&p).unwrap();
    }
    let r = k.e.new_algo(&ps(&[
        ("algoType", "CONDITIONAL"),
        ("symbol", "ETHUSDT"),
        ("side", "BUY"),
        ("type", "STOP_MARKET"),
        ("triggerPrice", "3100.00"),
        ("quantity", "0.010"),
    ]));
    assert_eq!(
        r.map(|_| ()).map_err(|e| (e.code, e.msg)),
        Err((-4045, "Reach max stop order limit.".into()))
    );
    // Resting algo orders count toward MAX_NUM_ORDERS of their symbol.
    for i in 0..100 {
        let p = ps(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "LIMIT"),
            ("timeInForce", "GTC"),
            ("quantity", "0.002"),
            ("price", "59000.00"),
        ]);
        let r =
            k.e.new_order(&p, Endpoint::Order)
                .map(|_| ())
                .map_err(|e| e.code);
        assert_eq!(r.is_ok(), i < 100, "order {i}: {r:?}");
    }
    let p = ps(&[
        ("symbol", "BTCUSDT"),
        ("side", "BUY"),
        ("type", "LIMIT"),
        ("timeInForce", "GTC"),
        ("quantity", "0.002"),
        ("price", "59000.00"),
    ]);
    assert_eq!(
        k.e.new_order(&p, Endpoint::Order)
            .map(|_| ())
            .map_err(|e| e.code),
        Err(-2025)
    );
}

#[test]
fn reduce_only_stop_with_no_position_left_expires_when_it_triggers() {
    let mut k = long_btc();
    algo(
        &mut k,
        &sl(&[
            ("reduceOnly", "true"),
            ("quantity", "0.002"),
            ("clientAlgoId", "ro-1"),
        ]),
    )
    .unwrap();
    k.market("BTCUSDT", "SELL", "0.002").unwrap();
    let attempts = k.e.attempts().len();
    k.events();
    k.book(BTC, 5_898_000, 50, 20);
    k.trade(BTC, 5_898_000, 1, true);
    let ev = k.events();
    let xs: Vec<&str> = ev.iter().map(|v| v["o"]["X"].as_str().unwrap()).collect();
    assert_eq!(xs, ["TRIGGERING", "EXPIRED"]);
    assert!(ev[1]["o"]["rm"].is_string());
    assert!(ev[0]["o"].get("rm").is_none());
    assert_eq!(k.e.attempts().len(), attempts, "no order was placed");
    assert_eq!(
        k.e.query_algo(&ps(&[("clientAlgoId", "ro-1")])).unwrap()["algoStatus"],
        "EXPIRED"
    );
}

#[test]
fn triggered_order_refused_for_margin_rejects_the_algo_order() {
    let mut k = long_btc();
    algo(
        &mut k,
        &[
            ("side", "BUY"),
            ("type", "STOP_MARKET"),
            ("triggerPrice", "60500.00"),
            ("quantity", "4.000"),
        ],
    )
    .unwrap();
    k.events();
    k.book(BTC, 6_060_000, 50, 20);
    k.trade(BTC, 6_060_000, 1, false);
    let ev = k.events();
    let xs: Vec<&str> = ev.iter().map(|v| v["o"]["X"].as_str().unwrap()).collect();
    assert_eq!(xs, ["TRIGGERING", "REJECTED"]);
    assert_eq!(ev[1]["o"]["rm"], "Margin is insufficient.");
    let last = k.e.attempts().last().cloned().unwrap();
    assert_eq!(last.endpoint, Endpoint::AlgoTrigger);
    assert!(!last.accepted());
}

#[test]
fn cancel_by_client_algo_id_cancel_all_and_client_algo_id_reuse() {
    let mut k = long_btc();
    let trigger = |t: &'static str| {
        sl(&[
            ("reduceOnly", "true"),
            ("quantity", "0.001"),
            ("triggerPrice", t),
            ("clientAlgoId", "c-1"),
        ])
    };
    algo(&mut k, &trigger("59000.00")).unwrap();
    assert_eq!(algo(&mut k, &trigger("58900.00")).map(|_| ()), Err(-4116));
    let c = k.e.cancel_algo(&ps(&[("clientAlgoId", "c-1")])).unwrap();
    assert_eq!(
        (c["code"].as_str(), c["msg"].as_str()),
        (Some("200"), Some("success"))
    );
    assert_eq!(
        k.e.cancel_algo(&ps(&[("clientAlgoId", "c-1")]))
            .map(|_| ())
            .map_err(|e| e.code),
        Err(-2011)
    );
    algo(&mut k, &trigger("58800.00")).unwrap();
    let mut p = ps(&[
        ("algoType", "CONDITIONAL"),
        ("symbol", "ETHUSDT"),
        ("side", "BUY"),
        ("type", "STOP_MARKET"),
    ]);
    p.extend(ps(&[("triggerPrice", "3100.00"), ("quantity", "0.010")]));
    k.e.new_algo(&p).unwrap();
    k.events();
    let r = k.e.cancel_all_algos(&ps(&[("symbol", "BTCUSDT")])).unwrap();
    assert_eq!(r["code"], 200);
    assert_eq!(r["msg"], "The operation of cancel all open order is done.");
    assert_eq!(k.trace(), ["ALGO:CANCELED"]);
    let open = k.e.open_algos(&ps(&[])).unwrap();
    assert_eq!(open.as_array().unwrap().len(), 1);
    assert_eq!(open[0]["symbol"], "ETHUSDT");
    assert_eq!(
        k.e.cancel_all_algos(&ps(&[]))
            .map(|_| ())
            .map_err(|e| e.code),
        Err(-1102)
    );
}
