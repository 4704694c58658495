//! The REST client against canned answers from a tiny local HTTP server: the endpoints
//! the mock exchange does not serve (userTrades, algoOpenOrders, a position-mode change),
//! Binance's documented bodies byte for byte, and what the client sends (method, path,
//! parameter order, signature, API-key header). The server (`common`) is a few lines of
//! tokio, so the crate needs no HTTP-server dependency for it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{err, ok, Answer, Canned};
use shmtrader_exchange::rest::{RateLimits, UserTradesQuery};
use shmtrader_exchange::wire::Fee;
use shmtrader_exchange::{ApiErrorKind, ExchangeError};

/// Binance's documented userTrades example.
const USER_TRADES: &str = r#"[{"buyer":false,"commission":"-0.07819010","commissionAsset":"USDT","id":698759,"maker":false,"orderId":25851813,"price":"7819.01","qty":"0.002","quoteQty":"15.63802","realizedPnl":"-0.91539999","side":"SELL","positionSide":"SHORT","symbol":"BTCUSDT","time":1569514978020}]"#;

#[tokio::test]
async fn user_trades_sends_a_signed_get_and_reads_the_documented_answer() {
    let c = Canned::start().await;
    c.answer("GET", "/fapi/v1/userTrades", ok(USER_TRADES));
    let q = UserTradesQuery {
        order_id: Some(25_851_813),
        limit: Some(50),
        ..Default::default()
    };
    let trades = c.client.user_trades("BTCUSDT", q).await.unwrap();
    assert_eq!(trades.len(), 1);
    let t = &trades[0];
    assert_eq!((t.id, t.order_id), (698_759, 25_851_813));
    assert_eq!(
        t.fee().unwrap(),
        Fee {
            asset: "USDT".into(),
            paid: 0.0781901
        }
    );
    assert_eq!(t.realized_profit().unwrap(), -0.91539999);
    let seen = c.last("/fapi/v1/userTrades");
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.unsigned(), "symbol=BTCUSDT&orderId=25851813&limit=50");
    assert!(seen.signature_is_valid(), "{seen:?}");
    assert_eq!(seen.api_key.as_deref(), Some("canned-key"));
    // Weight from the answer is counted.
    assert_eq!(c.client.rate_limits().used_weight_1m, Some(7));
    // An invalid query never reaches the server.
    let before = c.server.seen.lock().unwrap().len();
    let bad = UserTradesQuery {
        from_id: Some(1),
        start_time: Some(1),
        ..Default::default()
    };
    assert!(matches!(
        c.client.user_trades("BTCUSDT", bad).await,
        Err(ExchangeError::Invalid { .. })
    ));
    assert_eq!(c.server.seen.lock().unwrap().len(), before);
}

#[tokio::test]
async fn set_position_mode_reports_changed_unchanged_and_real_errors() {
    let c = Canned::start().await;
    let path = "/fapi/v1/positionSide/dual";
    c.answer("POST", path, ok(r#"{"code":200,"msg":"success"}"#));
    assert!(c.client.set_position_mode(false).await.unwrap(), "changed");
    let seen = c.last(path);
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.unsigned(), "dualSidePosition=false");
    assert!(seen.signature_is_valid());
    c.answer(
        "POST",
        path,
        err(400, -4059, "No need to change position side."),
    );
    assert!(
        !c.client.set_position_mode(false).await.unwrap(),
        "no change"
    );
    c.answer(
        "POST",
        path,
        err(
            400,
            -4068,
            "Position side cannot be changed if there exists position.",
        ),
    );
    let e = c.client.set_position_mode(true).await.unwrap_err();
    assert_eq!(e.api_code(), Some(-4068));
    c.answer("GET", path, ok(r#"{"dualSidePosition":true}"#));
    assert!(c.client.position_mode().await.unwrap());
}

#[tokio::test]
async fn algo_orders_by_client_id_and_cancel_all_use_the_documented_paths() {
    let c = Canned::start().await;
    let algo = r#"{"algoId":2146760,"clientAlgoId":"stop-7-1","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BTCUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.014","algoStatus":"TRIGGERED","triggerPrice":"29950.0","price":"0","workingType":"MARK_PRICE","closePosition":false,"priceProtect":true,"reduceOnly":true,"actualOrderId":"8886774","createTime":1,"updateTime":2,"triggerTime":2}"#;
    c.answer("GET", "/fapi/v1/algoOrder", ok(algo));
    let a = c
        .client
        .query_algo_order_by_client_id("stop-7-1")
        .await
        .unwrap();
    assert_eq!(a.actual_order_id, Some(8_886_774));
    let seen = c.last("/fapi/v1/algoOrder");
    assert_eq!(
        (seen.method.as_str(), seen.unsigned().as_str()),
        ("GET", "clientAlgoId=stop-7-1")
    );
    c.answer(
        "DELETE",
        "/fapi/v1/algoOrder",
        ok(r#"{"algoId":2146760,"clientAlgoId":"stop-7-1","code":"200","msg":"success"}"#),
    );
    let x = c
        .client
        .cancel_algo_order_by_client_id("stop-7-1")
        .await
        .unwrap();
    assert_eq!((x.algo_id, x.code.as_str()), (2_146_760, "200"));
    let seen = c.last("/fapi/v1/algoOrder");
    assert_eq!(
        (seen.method.as_str(), seen.unsigned().as_str()),
        ("DELETE", "clientAlgoId=stop-7-1")
    );
    assert!(seen.signature_is_valid());
    c.answer(
        "DELETE",
        "/fapi/v1/algoOpenOrders",
        ok(r#"{"code":"200","msg":"The operation of cancel all open order is done."}"#),
    );
    let all = c.client.cancel_all_algo_orders("BTCUSDT").await.unwrap();
    assert_eq!(all.code, 200);
    let seen = c.last("/fapi/v1/algoOpenOrders");
    assert_eq!(
        (seen.method.as_str(), seen.unsigned().as_str()),
        ("DELETE", "symbol=BTCUSDT")
    );
    // An unknown client id is a classified "not found".
    c.answer(
        "GET",
        "/fapi/v1/algoOrder",
        err(400, -2013, "Order does not exist."),
    );
    let e = c
        .client
        .query_algo_order_by_client_id("nope")
        .await
        .unwrap_err();
    assert_eq!(e.api_kind(), Some(ApiErrorKind::NotFound));
}

#[tokio::test]
async fn mark_price_reads_the_documented_premium_index_without_signing() {
    let c = Canned::start().await;
    c.answer(
        "GET",
        "/fapi/v1/premiumIndex",
        ok(r#"{"symbol":"BNBUSDT","markPrice":"612.40000000","indexPrice":"612.31000000","estimatedSettlePrice":"612.35000000","lastFundingRate":"0.00010000","interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}"#),
    );
    let m = c.client.mark_price("BNBUSDT").await.unwrap();
    assert_eq!(m.mark_price, 612.4);
    assert_eq!(m.last_funding_rate, Some(0.0001));
    let seen = c.last("/fapi/v1/premiumIndex");
    assert_eq!(
        seen.query, "symbol=BNBUSDT",
        "public: no timestamp, no signature"
    );
}

#[tokio::test]
async fn listen_key_calls_order_counts_and_exchange_limits_feed_the_rate_view() {
    let c = Canned::start().await;
    let key = "pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1";
    c.answer(
        "POST",
        "/fapi/v1/listenKey",
        Answer {
            headers: vec![("x-mbx-used-weight-1m", "11".into())],
            ..ok(&format!(r#"{{"listenKey":"{key}"}}"#))
        },
    );
    let k = c.client.create_listen_key().await.unwrap();
    assert_eq!(k.expose(), key);
    assert_eq!(
        c.last("/fapi/v1/listenKey").api_key.as_deref(),
        Some("canned-key")
    );
    let u = c.client.rate_limits();
    assert_eq!(u.used_weight_1m, Some(11));
    let seen_at = u.weight_seen_at_ms.unwrap();
    assert!(seen_at.abs_diff(c.client.timestamp_ms()) < 5_000);
    assert_eq!(u.orders_seen_at_ms, None, "no order count seen yet");
    // The keepalive's answer reports its own count (7), which replaces the 11.
    c.answer("PUT", "/fapi/v1/listenKey", ok("{}"));
    c.client.keepalive_listen_key(k.expose()).await.unwrap();
    assert_eq!(c.last("/fapi/v1/listenKey").method, "PUT");
    assert_eq!(c.client.rate_limits().used_weight_1m, Some(7));
    // Order counts come with order answers only, and get their own timestamp.
    c.answer(
        "DELETE",
        "/fapi/v1/allOpenOrders",
        Answer {
            headers: vec![
                ("x-mbx-order-count-10s", "2".into()),
                ("x-mbx-order-count-1m", "9".into()),
            ],
            ..ok(r#"{"code":200,"msg":"The operation of cancel all open order is done."}"#)
        },
    );
    c.client.cancel_all_open_orders("BTCUSDT").await.unwrap();
    let u = c.client.rate_limits();
    assert_eq!((u.order_count_10s, u.order_count_1m), (Some(2), Some(9)));
    assert!(u.orders_seen_at_ms.is_some());
    // The view uses Binance's defaults until exchangeInfo supplied limits.
    let v = c.client.rate_view();
    assert!(!v.limits_from_exchange);
    assert_eq!(v.limits, RateLimits::BINANCE_DEFAULTS);
    assert_eq!(v.weight_used(), 7);
    c.answer(
        "GET",
        "/fapi/v1/exchangeInfo",
        ok(r#"{"timezone":"UTC","serverTime":1,"rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":10},{"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200}],"symbols":[]}"#),
    );
    c.client.exchange_info().await.unwrap();
    let v = c.client.rate_view();
    assert!(v.limits_from_exchange);
    assert_eq!(v.limits.request_weight_1m, Some(10));
    assert_eq!(v.limits.orders_10s, Some(300), "not listed: default kept");
    // 7 of 10 used this minute (unless the minute just rolled).
    if v.weight_used() == 7 {
        assert_eq!(v.weight_left(), Some(3));
        assert!(v.allows(3, 0) && !v.allows(4, 0));
    }
}
