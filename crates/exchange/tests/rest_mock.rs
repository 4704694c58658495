//! The REST client against the in-process mock exchange, endpoint by endpoint: time
//! sync and rate headers, orders, batches, account settings and views, conditional
//! orders, listenKeys, maintenance. Exact decimals on the wire throughout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::mock::*;
use shmtrader_core::instrument::PriceRounding;
use shmtrader_core::Side;
use shmtrader_exchange::rest::{
    AlgoOrderRequest, AlgoType, MarginType, OrderRef, Placement, WorkingType,
};
use shmtrader_exchange::template::{OrderRequest, TimeInForce};
use shmtrader_exchange::wire::account::OrderStatus;
use shmtrader_exchange::wire::{AlgoStatus, OrderType};
use shmtrader_exchange::{ApiErrorKind, ExchangeError, RejectReason};

// ------------------------------------------------------------------ endpoints

#[tokio::test]
async fn public_endpoints_time_sync_and_rate_headers() {
    let e = env().await;
    let c = &e.client;
    c.ping().await.unwrap();
    let st = c.server_time().await.unwrap();
    let local = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((st as i64 - local).abs() < 2_000);
    // Same host clock: the measured offset is about zero.
    assert!(c.time_offset_ms().abs() < 50, "{}", c.time_offset_ms());
    assert!(c.stats().time_syncs >= 1);
    let info = c.exchange_info().await.unwrap();
    assert!(info
        .rate_limits
        .iter()
        .any(|r| r.rate_limit_type == "ORDERS"));
    let btc = e.rules("BTCUSDT");
    assert_eq!(btc.fmt_price(btc.parse_price("0.1").unwrap()), "0.1");
    assert_eq!(
        btc.min_notional,
        100 * 10i128.pow(btc.price_dp + btc.qty_dp)
    );
    assert!(c.rate_limits().used_weight_1m.unwrap() > 0);
    // A resync can be requested at any time.
    c.sync_time().await.unwrap();
    assert!(c.last_rtt() < Duration::from_secs(1));
}

#[tokio::test]
async fn market_orders_carry_exact_decimals_and_report_order_counts() {
    let e = env().await;
    let eth = e.rules("ETHUSDT");
    // 0.1 + 0.2 = 0.30000000000000004 in f64; the wire must say 0.300.
    let qty = eth.round_qty_down(0.1 + 0.2).unwrap();
    let p = e
        .client
        .new_order(e.tpl("ETHUSDT"), &market(Side::Buy, qty, "t-mkt-1"))
        .await
        .unwrap();
    let Placement::Accepted(o) = &p else {
        panic!("{p:?}")
    };
    assert_eq!(o.status, OrderStatus::Filled);
    assert_eq!(o.orig_qty, "0.300");
    assert_eq!(o.executed_qty, "0.300");
    assert_eq!(o.client_order_id, "t-mkt-1");
    let seen = &e.mock.orders()[0];
    assert_eq!((seen.qty, seen.client_id.as_str()), (300, "t-mkt-1"));
    assert_eq!(e.mock_order("t-mkt-1")["origQty"], "0.300");
    let rl = e.client.rate_limits();
    assert_eq!(rl.order_count_10s, Some(1));
    assert_eq!(rl.order_count_1m, Some(1));
    // A limit price from a float lands exactly on the tick grid.
    let (bid, _) = e.touch("BTCUSDT").await;
    let btc = e.rules("BTCUSDT");
    let px = btc
        .price_from_f64(bid * 0.98 + 0.1 + 0.2, Side::Buy, PriceRounding::Passive)
        .unwrap();
    let q = btc.round_qty_down(0.0021 + 0.0009).unwrap();
    assert_eq!(btc.fmt_qty(q), "0.003");
    let p = e
        .client
        .new_order(
            e.tpl("BTCUSDT"),
            &limit(Side::Buy, TimeInForce::Gtc, q, px, "t-lim-1"),
        )
        .await
        .unwrap();
    assert_eq!(p.order().status, OrderStatus::New);
    let wire = e.mock_order("t-lim-1");
    assert_eq!(wire["origQty"], "0.003");
    assert_eq!(
        btc.parse_price(wire["price"].as_str().unwrap()).unwrap(),
        px
    );
    let mock_o = e
        .mock
        .orders()
        .into_iter()
        .find(|o| o.client_id == "t-lim-1")
        .unwrap();
    // The mock keeps BTC prices in cents; ours are in ticks of 0.1.
    assert_eq!(mock_o.price, px.0 * 10);
}

#[tokio::test]
async fn limit_order_lifecycle_query_open_cancel() {
    let e = env().await;
    let (bid, ask) = e.touch("BTCUSDT").await;
    let r = e.rules("BTCUSDT");
    let tpl = e.tpl("BTCUSDT");
    let q = r.round_qty_down(0.002).unwrap();
    let low = r
        .price_from_f64(bid * 0.99, Side::Buy, PriceRounding::Passive)
        .unwrap();
    // GTC rests.
    let gtc = e
        .client
        .new_order(tpl, &limit(Side::Buy, TimeInForce::Gtc, q, low, "t-gtc"))
        .await
        .unwrap();
    let id = gtc.order().order_id;
    assert_eq!(gtc.order().status, OrderStatus::New);
    let open = e.client.open_orders(Some("BTCUSDT")).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(e.client.open_orders(None).await.unwrap().len(), 1);
    let by_id = e
        .client
        .query_order("BTCUSDT", OrderRef::Id(id))
        .await
        .unwrap();
    let by_coid = e
        .client
        .query_order("BTCUSDT", OrderRef::Client("t-gtc"))
        .await
        .unwrap();
    assert_eq!(by_id.order_id, by_coid.order_id);
    assert!(by_id.time.is_some());
    let c = e
        .client
        .cancel_order("BTCUSDT", OrderRef::Id(id))
        .await
        .unwrap();
    assert_eq!(c.status, OrderStatus::Canceled);
    // Cancelling again: -2011 unknown order → NotFound.
    let err = e
        .client
        .cancel_order("BTCUSDT", OrderRef::Client("t-gtc"))
        .await
        .unwrap_err();
    assert_api(&err, -2011, ApiErrorKind::NotFound);
    // IOC that cannot fill expires.
    let ioc = e
        .client
        .new_order(tpl, &limit(Side::Buy, TimeInForce::Ioc, q, low, "t-ioc"))
        .await
        .unwrap();
    assert_eq!(ioc.order().status, OrderStatus::Expired);
    // GTX (post-only) that would take is rejected; one that rests is accepted.
    let high = r
        .price_from_f64(ask * 1.001, Side::Buy, PriceRounding::Aggressive)
        .unwrap();
    let err = e
        .client
        .new_order(tpl, &limit(Side::Buy, TimeInForce::Gtx, q, high, "t-gtx-1"))
        .await
        .unwrap_err();
    assert_api(
        &err,
        -5022,
        ApiErrorKind::OrderRejected(RejectReason::PostOnly),
    );
    let gtx = e
        .client
        .new_order(tpl, &limit(Side::Buy, TimeInForce::Gtx, q, low, "t-gtx-2"))
        .await
        .unwrap();
    assert_eq!(gtx.order().status, OrderStatus::New);
    assert_eq!(gtx.order().time_in_force, "GTX");
    let done = e.client.cancel_all_open_orders("BTCUSDT").await.unwrap();
    assert_eq!(done.code, 200);
    assert!(e
        .client
        .open_orders(Some("BTCUSDT"))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn reduce_only_closes_a_position_and_positions_show_it() {
    let e = env().await;
    let r = e.rules("SOLUSDT");
    let tpl = e.tpl("SOLUSDT");
    let q = r.round_qty_down(2.0).unwrap();
    e.client
        .new_order(tpl, &market(Side::Buy, q, "t-open"))
        .await
        .unwrap();
    let v2 = e.client.position_risk_v2(Some("SOLUSDT")).await.unwrap();
    assert_eq!(v2.len(), 1);
    assert_eq!(v2[0].position_amt, "2");
    let v3 = e.client.position_risk_v3(None).await.unwrap();
    assert_eq!(v3.len(), 1, "v3 lists only open positions");
    assert_eq!(v3[0].symbol, "SOLUSDT");
    let close = OrderRequest {
        reduce_only: true,
        ..market(Side::Sell, q, "t-close")
    };
    let p = e.client.new_order(tpl, &close).await.unwrap();
    assert_eq!(p.order().status, OrderStatus::Filled);
    assert!(p.order().reduce_only);
    assert!(e.client.position_risk_v3(None).await.unwrap().is_empty());
    assert_eq!(e.mock_order("t-close")["reduceOnly"], true);
}

#[tokio::test]
async fn batch_orders_return_per_item_results() {
    let e = env().await;
    let (bid, _) = e.touch("BTCUSDT").await;
    let btc = e.tpl("BTCUSDT");
    let eth = e.tpl("ETHUSDT");
    let px = btc
        .rules()
        .price_from_f64(bid * 0.99, Side::Buy, PriceRounding::Passive)
        .unwrap();
    let q = btc.rules().round_qty_down(0.002).unwrap();
    let eq = eth.rules().round_qty_down(0.01).unwrap();
    let reduce = OrderRequest {
        reduce_only: true,
        ..market(Side::Sell, eq, "t-b3")
    };
    let res = e
        .client
        .new_orders_batch(&[
            (btc, limit(Side::Buy, TimeInForce::Gtc, q, px, "t-b1")),
            (eth, market(Side::Buy, eq, "t-b2")),
            (eth, reduce),
        ])
        .await
        .unwrap();
    assert_eq!(res.len(), 3);
    assert_eq!(res[0].as_ref().unwrap().order().status, OrderStatus::New);
    assert_eq!(res[1].as_ref().unwrap().order().status, OrderStatus::Filled);
    // The reduce-only sell reduces the position the market buy opened *only if* the
    // buy ran first; either way its answer is per item.
    match &res[2] {
        Ok(p) => assert!(p.order().reduce_only),
        Err(err) => assert_api(
            err,
            -2022,
            ApiErrorKind::OrderRejected(RejectReason::ReduceOnly),
        ),
    }
    assert_eq!(e.mock_order("t-b1")["origQty"], "0.002");
    let six: Vec<_> = (0..6)
        .map(|_| (btc, limit(Side::Buy, TimeInForce::Gtc, q, px, "t-b9")))
        .collect();
    let err = e.client.new_orders_batch(&six).await.unwrap_err();
    assert!(
        matches!(err, ExchangeError::Invalid { what: "batch", .. }),
        "{err}"
    );
    // A batch item rejected by the exchange.
    let res = e
        .client
        .new_orders_batch(&[(
            btc,
            OrderRequest {
                reduce_only: true,
                ..market(Side::Sell, q, "t-b4")
            },
        )])
        .await
        .unwrap();
    assert_api(
        res[0].as_ref().unwrap_err(),
        -2022,
        ApiErrorKind::OrderRejected(RejectReason::ReduceOnly),
    );
}

#[tokio::test]
async fn account_settings_and_views() {
    let e = env().await;
    let c = &e.client;
    let lev = c.set_leverage("BTCUSDT", 10).await.unwrap();
    assert_eq!((lev.leverage, lev.symbol.as_str()), (10, "BTCUSDT"));
    assert!(c.set_leverage("BTCUSDT", 0).await.is_err());
    assert!(c
        .set_margin_type("BTCUSDT", MarginType::Isolated)
        .await
        .unwrap());
    // Already isolated: -4046 is a success that changed nothing.
    assert!(!c
        .set_margin_type("BTCUSDT", MarginType::Isolated)
        .await
        .unwrap());
    assert!(c
        .set_margin_type("BTCUSDT", MarginType::Crossed)
        .await
        .unwrap());
    let one = c.leverage_brackets(Some("BTCUSDT")).await.unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].brackets[0].initial_leverage, 125);
    assert_eq!(c.leverage_brackets(None).await.unwrap().len(), 4);
    let v2 = c.position_risk_v2(None).await.unwrap();
    assert_eq!(v2.len(), 4);
    let btc = v2.iter().find(|p| p.symbol == "BTCUSDT").unwrap();
    assert_eq!(btc.leverage, "10");
    assert!(c.position_risk_v3(None).await.unwrap().is_empty());
    let bal = c.balance().await.unwrap();
    assert_eq!(bal[0].asset, "USDT");
    assert_eq!(bal[0].balance, "10000.00000000");
    let acct = c.account().await.unwrap();
    assert_eq!(acct.total_wallet_balance, "10000.00000000");
    assert_eq!(acct.positions.len(), 4);
    let acct3 = c.account_v3().await.unwrap();
    assert!(acct3.positions.is_empty());
    // Typed values of the account views.
    assert_eq!(acct.total_wallet().unwrap(), 10_000.0);
    assert_eq!(acct.total_margin().unwrap(), 10_000.0);
    assert_eq!(acct.total_unrealized().unwrap(), 0.0);
    assert!(acct.available().unwrap() > 0.0);
    assert_eq!(acct.asset("USDT").unwrap().wallet().unwrap(), 10_000.0);
    let p = acct.position("BTCUSDT").unwrap();
    assert_eq!(p.amount().unwrap(), 0.0);
    assert!(p.entry().unwrap().is_some(), "v2 rows carry entryPrice");
    assert_eq!(bal[0].wallet().unwrap(), 10_000.0);
    // Position mode: one-way, and asking for one-way again changes nothing (-4059).
    assert!(!c.position_mode().await.unwrap());
    assert!(!c.set_position_mode(false).await.unwrap());
    // The same endpoint through the signed escape hatch.
    let dual = c
        .signed_json("GET", "/v1/positionSide/dual", &[])
        .await
        .unwrap();
    assert_eq!(dual["dualSidePosition"], false);
}

#[tokio::test]
async fn mark_price_and_exchange_limits_from_the_mock() {
    let e = env().await;
    let m = e.client.mark_price("BTCUSDT").await.unwrap();
    assert_eq!(m.symbol, "BTCUSDT");
    assert!(m.mark_price > 0.0 && m.index_price > 0.0);
    assert!(m.next_funding_time > m.time);
    let err = e.client.mark_price("NOPEUSDT").await.unwrap_err();
    assert_api(&err, -1121, ApiErrorKind::BadParam);
    // env() read exchangeInfo: its limits are in the view.
    let v = e.client.rate_view();
    assert!(v.limits_from_exchange);
    assert!(v.limits.request_weight_1m.is_some());
    assert!(v.weight_used() > 0);
    assert!(v.allows(1, 1));
}

#[tokio::test]
async fn maintenance_resyncs_the_clock_until_its_handle_is_dropped() {
    use shmtrader_exchange::rest::Maintenance;
    let e = env().await;
    let before = e.client.stats().time_syncs;
    e.client.set_time_offset_ms(-60_000);
    let h = e
        .client
        .spawn_maintenance(Maintenance {
            time_sync_every: Duration::from_millis(100),
            ping_every: Some(Duration::from_millis(40)),
        })
        .unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(h.is_running());
    let during = e.client.stats().time_syncs;
    assert!(during >= before + 3, "{before} -> {during}");
    assert!(
        e.client.time_offset_ms().abs() < 50,
        "the drift was measured away"
    );
    assert_eq!(e.client.stats().time_sync_failures, 0);
    drop(h);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after_stop = e.client.stats().time_syncs;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        e.client.stats().time_syncs,
        after_stop,
        "stopped with its handle"
    );
    assert!(e
        .client
        .spawn_maintenance(Maintenance {
            time_sync_every: Duration::ZERO,
            ping_every: None,
        })
        .is_err());
}

#[tokio::test]
async fn conditional_orders_go_through_the_algo_endpoint() {
    let e = env().await;
    // A long position for the reduce-only stops to protect.
    let q = e.rules("BTCUSDT").round_qty_down(0.002).unwrap();
    e.client
        .new_order(e.tpl("BTCUSDT"), &market(Side::Buy, q, "t-stop-entry"))
        .await
        .unwrap();
    let (bid, _) = e.touch("BTCUSDT").await;
    let r = e.rules("BTCUSDT").clone();
    let trigger = r
        .price_from_f64(bid * 0.95, Side::Sell, PriceRounding::Nearest)
        .unwrap();
    let req = AlgoOrderRequest {
        side: Side::Sell,
        algo_type: AlgoType::StopMarket,
        trigger_price: trigger,
        price: None,
        qty: Some(r.round_qty_down(0.002).unwrap()),
        close_position: false,
        // A protective stop: reduceOnly with a quantity, not closePosition (-4130).
        reduce_only: true,
        working_type: WorkingType::MarkPrice,
        price_protect: true,
        client_algo_id: "t-stop-1",
    };
    let a = e.client.new_algo_order(&r, &req).await.unwrap();
    assert_eq!(a.algo_status, AlgoStatus::New);
    assert_eq!(a.order_type, OrderType::StopMarket);
    assert_eq!(a.quantity, "0.002");
    assert_eq!(r.parse_price(&a.trigger_price).unwrap(), trigger);
    let q = e.client.query_algo_order(a.algo_id).await.unwrap();
    assert_eq!(q.client_algo_id, "t-stop-1");
    assert_eq!(
        e.client
            .open_algo_orders(Some("BTCUSDT"))
            .await
            .unwrap()
            .len(),
        1
    );
    // By the caller's id: query, then cancel.
    let by_id = e
        .client
        .query_algo_order_by_client_id("t-stop-1")
        .await
        .unwrap();
    assert_eq!(by_id.algo_id, a.algo_id);
    assert_eq!(by_id.actual_order_id, None);
    assert!(by_id.reduce_only && !by_id.close_position);
    assert_eq!(by_id.working_type, Some(WorkingType::MarkPrice));
    assert_eq!(by_id.algo_status, AlgoStatus::New);
    let c = e
        .client
        .cancel_algo_order_by_client_id("t-stop-1")
        .await
        .unwrap();
    assert_eq!((c.algo_id, c.code.as_str()), (a.algo_id, "200"));
    assert!(e.client.open_algo_orders(None).await.unwrap().is_empty());
    let gone = e
        .client
        .query_algo_order_by_client_id("t-never-placed")
        .await
        .unwrap_err();
    assert_eq!(gone.api_kind(), Some(ApiErrorKind::NotFound), "{gone}");
    // A close-position stop with a limit variant.
    let tp = AlgoOrderRequest {
        algo_type: AlgoType::TakeProfit,
        side: Side::Sell,
        trigger_price: r
            .price_from_f64(bid * 1.05, Side::Sell, PriceRounding::Nearest)
            .unwrap(),
        price: Some(
            r.price_from_f64(bid * 1.04, Side::Sell, PriceRounding::Nearest)
                .unwrap(),
        ),
        client_algo_id: "t-tp-1",
        ..req
    };
    let a = e.client.new_algo_order(&r, &tp).await.unwrap();
    assert_eq!(a.order_type, OrderType::TakeProfit);
    let bad = AlgoOrderRequest {
        close_position: true,
        client_algo_id: "t-bad",
        ..req
    };
    assert!(e.client.new_algo_order(&r, &bad).await.is_err());
    // An unknown outcome (503 after execution) is settled by clientAlgoId.
    e.mock.fail_next(503, 1);
    let again = AlgoOrderRequest {
        client_algo_id: "t-stop-503",
        ..req
    };
    let a = e.client.new_algo_order(&r, &again).await.unwrap();
    assert_eq!(
        (a.client_algo_id.as_str(), a.algo_status.as_str()),
        ("t-stop-503", "NEW")
    );
    assert_eq!(e.client.stats().reconciliations, 1);
    // -4120: a STOP_MARKET sent to the plain order endpoint.
    let ts = trigger;
    let err = e
        .client
        .signed_json(
            "POST",
            "/v1/order",
            &[
                ("symbol", "BTCUSDT"),
                ("side", "SELL"),
                ("type", "STOP_MARKET"),
                ("quantity", "0.002"),
                ("stopPrice", &r.fmt_price(ts)),
            ],
        )
        .await
        .unwrap_err();
    assert_api(
        &err,
        -4120,
        ApiErrorKind::OrderRejected(RejectReason::UseAlgoEndpoint),
    );
}

#[tokio::test]
async fn listen_key_create_keepalive_close() {
    let e = env().await;
    let key = e.client.create_listen_key().await.unwrap();
    assert!(!format!("{key:?}").contains(key.expose()));
    let k = key.expose().to_string();
    assert_eq!(k.len(), 64);
    // POST again returns the active key.
    assert_eq!(e.client.create_listen_key().await.unwrap(), key);
    e.client.keepalive_listen_key(&k).await.unwrap();
    e.client.close_listen_key(&k).await.unwrap();
    let err = e.client.keepalive_listen_key(&k).await.unwrap_err();
    assert_api(&err, -1125, ApiErrorKind::InvalidListenKey);
}
