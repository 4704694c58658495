//! The REST client against the in-process mock exchange, when things go wrong: every
//! classified error code provoked through the client, stale rules, bad credentials,
//! clock drift, rate-limit backoff, IP ban, and unknown-outcome reconciliation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::mock::*;
use shmtrader_core::instrument::PriceRounding;
use shmtrader_core::Side;
use shmtrader_exchange::rest::{Placement, RestClient, RestConfig};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::{OrderRequest, Price, Qty, SymbolTemplate, TimeInForce};
use shmtrader_exchange::wire::account::{OrderStatus, SymbolFilter};
use shmtrader_exchange::{ApiErrorKind, ExchangeError, RejectReason};
use shmtrader_mockex::MockConfig;

// ------------------------------------------------------------------ error codes

#[tokio::test]
async fn order_rejections_are_classified() {
    let e = env_with(
        MockConfig {
            starting_balance: 50.0,
            ..mock_cfg()
        },
        |c| c,
    )
    .await;
    let c = &e.client;
    let btc = e.tpl("BTCUSDT");
    let r = btc.rules();
    let (bid, _) = e.touch("BTCUSDT").await;
    // -2019: 0.5 BTC at 20x needs ~1600 USDT of margin; the account has 50.
    let err = c
        .new_order(
            btc,
            &market(Side::Buy, r.round_qty_down(0.5).unwrap(), "t-2019"),
        )
        .await
        .unwrap_err();
    assert_api(
        &err,
        -2019,
        ApiErrorKind::OrderRejected(RejectReason::InsufficientMargin),
    );
    // -2022: reduce-only with no position.
    let ro = OrderRequest {
        reduce_only: true,
        ..market(Side::Sell, r.round_qty_down(0.002).unwrap(), "t-2022")
    };
    let err = c.new_order(btc, &ro).await.unwrap_err();
    assert_api(
        &err,
        -2022,
        ApiErrorKind::OrderRejected(RejectReason::ReduceOnly),
    );
    // -4164: a market order whose notional the client was not asked to judge.
    let err = c
        .new_order(btc, &market(Side::Buy, Qty(1), "t-4164"))
        .await
        .unwrap_err();
    assert_api(
        &err,
        -4164,
        ApiErrorKind::OrderRejected(RejectReason::MinNotional),
    );
    // ... while with a reference price the client refuses it locally, naming the filter.
    let with_ref = OrderRequest {
        reference_price: Some(
            r.price_from_f64(bid, Side::Buy, PriceRounding::Nearest)
                .unwrap(),
        ),
        ..market(Side::Buy, Qty(1), "t-4164b")
    };
    let err = c.new_order(btc, &with_ref).await.unwrap_err();
    assert!(
        matches!(
            err,
            ExchangeError::Rules(shmtrader_core::CoreError::Filter {
                filter: "MIN_NOTIONAL",
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(e.mock_order_count("t-4164b"), 0);
    // -4116: the same client order id while the first order is still open (what a
    // restart that re-sends looks like). Binance requires uniqueness among *open*
    // orders only, so the first one rests: a passive limit well below the bid.
    let e2 = env().await;
    let sol = e2.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    let (bid, _) = e2.touch("SOLUSDT").await;
    let px = sol
        .rules()
        .price_from_f64(bid * 0.98, Side::Buy, PriceRounding::Passive)
        .unwrap();
    e2.client
        .new_order(sol, &limit(Side::Buy, TimeInForce::Gtc, q, px, "t-dup"))
        .await
        .unwrap();
    let err = e2
        .client
        .new_order(sol, &market(Side::Buy, q, "t-dup"))
        .await
        .unwrap_err();
    assert_api(
        &err,
        -4116,
        ApiErrorKind::OrderRejected(RejectReason::DuplicateClientOrderId),
    );
    assert_eq!(e2.mock_order_count("t-dup"), 1);
}

/// Rules that disagree with the exchange (stale exchangeInfo): the exchange's own checks
/// fire and come back classified.
#[tokio::test]
async fn stale_rules_provoke_tick_step_precision_and_symbol_errors() {
    let e = env().await;
    let c = &e.client;
    let cfg = c.template_config();
    let (bid, _) = e.touch("BTCUSDT").await;
    let filters = |tick: &str, step: &str| {
        vec![
            SymbolFilter::PriceFilter {
                min_price: tick.into(),
                max_price: "1000000".into(),
                tick_size: tick.into(),
            },
            SymbolFilter::LotSize {
                min_qty: step.into(),
                max_qty: "1000".into(),
                step_size: step.into(),
            },
        ]
    };
    // -4014: BTCUSDT's tick is 0.10; a template believing 0.01 sends 0.05 steps.
    let fine_tick = SymbolTemplate::new(
        shmtrader_exchange::template::instrument_from_filters("BTCUSDT", &filters("0.01", "0.001"))
            .unwrap(),
        &cfg,
    )
    .unwrap();
    let px = Price(((bid * 0.99 * 10.0).floor() as i64) * 10 + 5);
    let err = c
        .new_order(
            &fine_tick,
            &limit(Side::Buy, TimeInForce::Gtc, Qty(2), px, "t-4014"),
        )
        .await
        .unwrap_err();
    assert_api(
        &err,
        -4014,
        ApiErrorKind::OrderRejected(RejectReason::TickSize),
    );
    // -1111: a quantity with more decimals than the asset allows.
    let fine_step = SymbolTemplate::new(
        shmtrader_exchange::template::instrument_from_filters("BTCUSDT", &filters("0.1", "0.0001"))
            .unwrap(),
        &cfg,
    )
    .unwrap();
    let err = c
        .new_order(&fine_step, &market(Side::Buy, Qty(15), "t-1111"))
        .await
        .unwrap_err();
    assert_api(&err, -1111, ApiErrorKind::BadParam);
    // -4023: LINKUSDT's step is 0.10; a template believing 0.01 sends 1.05.
    let link = SymbolTemplate::new(
        shmtrader_exchange::template::instrument_from_filters(
            "LINKUSDT",
            &filters("0.001", "0.01"),
        )
        .unwrap(),
        &cfg,
    )
    .unwrap();
    let err = c
        .new_order(&link, &market(Side::Buy, Qty(105), "t-4023"))
        .await
        .unwrap_err();
    assert_api(
        &err,
        -4023,
        ApiErrorKind::OrderRejected(RejectReason::StepSize),
    );
    // -1121: a symbol the exchange does not list.
    let foo = SymbolTemplate::new(
        shmtrader_exchange::template::instrument_from_filters("FOOUSDT", &filters("0.1", "0.001"))
            .unwrap(),
        &cfg,
    )
    .unwrap();
    let err = c
        .new_order(&foo, &market(Side::Buy, Qty(10), "t-1121"))
        .await
        .unwrap_err();
    assert_api(&err, -1121, ApiErrorKind::BadParam);
    // -1102: a mandatory parameter missing (quantity), through the escape hatch.
    let err = c
        .signed_json(
            "POST",
            "/v1/order",
            &[("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "MARKET")],
        )
        .await
        .unwrap_err();
    assert_api(&err, -1102, ApiErrorKind::BadParam);
    assert!(err.to_string().contains("quantity"), "{err}");
}

#[tokio::test]
async fn wrong_credentials_are_a_clear_authentication_error() {
    let mock = shmtrader_mockex::spawn(mock_cfg()).await.unwrap();
    let bad_secret = RestClient::new(
        RestConfig::mock(&mock.http_url()),
        Some(Credentials::new("paper-key", "not-the-secret").unwrap()),
    )
    .unwrap();
    bad_secret.start().await.unwrap(); // public endpoints work
    let err = bad_secret.balance().await.unwrap_err();
    assert_api(&err, -1022, ApiErrorKind::Auth);
    assert!(err.is_auth());
    let text = err.to_string();
    assert!(text.contains("authentication rejected"), "{text}");
    assert!(text.contains("-1022"), "{text}");
    assert!(!text.contains("not-the-secret"));
    let bad_key = RestClient::new(
        RestConfig::mock(&mock.http_url()),
        Some(Credentials::new("other-key", "paper-secret").unwrap()),
    )
    .unwrap();
    let err = bad_key.account().await.unwrap_err();
    assert_api(&err, -2015, ApiErrorKind::Auth);
    let dbg = format!("{bad_key:?}");
    assert!(
        !dbg.contains("other-key") && !dbg.contains("paper-secret"),
        "{dbg}"
    );
    // No credentials at all: refused locally with a clear reason.
    let anon = RestClient::new(RestConfig::mock(&mock.http_url()), None).unwrap();
    let err = anon.balance().await.unwrap_err();
    assert!(err.to_string().contains("needs an API key"), "{err}");
}

#[tokio::test]
async fn timestamp_drift_is_resynced_and_retried_once() {
    let e = env().await;
    let c = &e.client;
    // A clock 30 s behind: -1021, resync, retry, success.
    c.set_time_offset_ms(-30_000);
    let bal = c.balance().await.unwrap();
    assert_eq!(bal[0].asset, "USDT");
    assert_eq!(c.stats().timestamp_retries, 1);
    assert!(c.time_offset_ms().abs() < 50);
    // Same on the order hot path (re-signed with the new timestamp).
    c.set_time_offset_ms(5_000); // ahead of the server: also -1021
    let sol = e.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    let p = c
        .new_order(sol, &market(Side::Buy, q, "t-drift"))
        .await
        .unwrap();
    assert!(!p.was_reconciled());
    assert_eq!(c.stats().timestamp_retries, 2);
    assert_eq!(e.mock_order_count("t-drift"), 1);
}

#[tokio::test]
async fn timestamp_error_surfaces_when_a_retry_cannot_help() {
    // Every request waits 300 ms inside the exchange before its timestamp is checked; a
    // 100 ms recvWindow cannot fit. (The resync assumes symmetric latency and so absorbs
    // half of the delay: 150 ms, still more than the window.)
    let e = env_with(mock_cfg(), |c| RestConfig {
        recv_window_ms: 100,
        ..c
    })
    .await;
    e.mock.set_delay(Duration::from_millis(300));
    let err = e.client.balance().await.unwrap_err();
    assert_api(&err, -1021, ApiErrorKind::Timestamp);
    assert_eq!(e.client.stats().timestamp_retries, 1, "exactly one retry");
}

// ------------------------------------------------------------------ limits and faults

#[tokio::test]
async fn http_429_backs_off_until_retry_after() {
    let e = env().await;
    let c = &e.client;
    e.mock.fail_next(429, 1);
    let err = c.ping().await.unwrap_err();
    match &err {
        ExchangeError::RateLimited {
            retry_after, code, ..
        } => {
            assert_eq!(*retry_after, Duration::from_secs(1));
            assert_eq!(*code, -1003);
        }
        other => panic!("{other}"),
    }
    // No request leaves until Retry-After has passed: refused locally.
    let sol = e.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    let err = c
        .new_order(sol, &market(Side::Buy, q, "t-429"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ExchangeError::BackingOff { reason, .. } if reason.contains("429")),
        "{err}"
    );
    assert_eq!(e.mock_order_count("t-429"), 0);
    assert!(c.blocked_for().is_some());
    assert!(!c.is_banned());
    assert!(c.stats().refused_locally >= 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(c.blocked_for().is_none());
    c.new_order(sol, &market(Side::Buy, q, "t-429"))
        .await
        .unwrap();
    assert_eq!(e.mock_order_count("t-429"), 1);
}

#[tokio::test]
async fn http_418_stops_every_call_until_the_ban_ends() {
    let e = env().await;
    let c = &e.client;
    e.mock.fail_next(418, 1);
    let err = c.balance().await.unwrap_err();
    match &err {
        ExchangeError::Banned { retry_after, .. } => {
            assert_eq!(*retry_after, Duration::from_secs(120))
        }
        other => panic!("{other}"),
    }
    assert!(c.is_banned());
    let left = c.blocked_for().unwrap();
    assert!(left > Duration::from_secs(115), "{left:?}");
    // Every call refuses, public ones too, and nothing reaches the exchange.
    let sol = e.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    for _ in 0..3 {
        let err = c.ping().await.unwrap_err();
        assert!(matches!(err, ExchangeError::BackingOff { reason, .. } if reason.contains("418")));
        let err = c
            .new_order(sol, &market(Side::Buy, q, "t-418"))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("IP banned"), "{err}");
    }
    assert_eq!(e.mock_order_count("t-418"), 0);
    assert!(e.mock.orders().is_empty());
}

#[tokio::test]
async fn http_503_on_placement_is_reconciled_by_client_order_id() {
    let e = env().await;
    let c = &e.client;
    let sol = e.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    // The mock executes the order, then answers 503 / -1000.
    e.mock.fail_next(503, 1);
    let p = c
        .new_order(sol, &market(Side::Buy, q, "t-503"))
        .await
        .unwrap();
    match &p {
        Placement::Reconciled { order, cause } => {
            assert_eq!(order.status, OrderStatus::Filled);
            assert_eq!(order.client_order_id, "t-503");
            assert!(cause.contains("503") && cause.contains("-1000"), "{cause}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.mock_order_count("t-503"), 1, "not re-sent");
    assert_eq!(c.stats().reconciliations, 1);
    // A resting limit order comes back NEW.
    let (bid, _) = e.touch("SOLUSDT").await;
    let px = sol
        .rules()
        .price_from_f64(bid * 0.98, Side::Buy, PriceRounding::Passive)
        .unwrap();
    e.mock.fail_next(503, 1);
    let p = c
        .new_order(sol, &limit(Side::Buy, TimeInForce::Gtc, q, px, "t-503b"))
        .await
        .unwrap();
    assert!(p.was_reconciled());
    assert_eq!(p.order().status, OrderStatus::New);
    // An order the exchange refused behind the 503 is reported as not placed.
    e.mock.fail_next(503, 1);
    let ro = OrderRequest {
        reduce_only: true,
        ..market(Side::Sell, Qty(500), "t-503c")
    };
    let err = c.new_order(e.tpl("ETHUSDT"), &ro).await.unwrap_err();
    assert!(
        matches!(&err, ExchangeError::NotPlaced { client_order_id, .. } if client_order_id == "t-503c"),
        "{err}"
    );
    // A batch whose answer is lost is reconciled item by item.
    e.mock.fail_next(503, 1);
    let res = c
        .new_orders_batch(&[
            (sol, market(Side::Buy, q, "t-503d")),
            (sol, market(Side::Sell, q, "t-503e")),
        ])
        .await
        .unwrap();
    assert!(res.iter().all(|r| r.as_ref().unwrap().was_reconciled()));
    assert_eq!(e.mock_order_count("t-503d"), 1);
}

#[tokio::test]
async fn a_timed_out_order_is_reconciled_not_resent() {
    let e = env_with(mock_cfg(), |c| RestConfig {
        request_timeout: Duration::from_millis(300),
        reconcile_delay: Duration::from_millis(250),
        ..c
    })
    .await;
    let sol = e.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    e.mock.set_delay(Duration::from_millis(600));
    // The exchange gets faster again while the client waits to reconcile.
    let mock_fast = {
        let url = e.mock.http_url();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(350)).await;
            reqwest::Client::new()
                .post(format!("{url}/mock/fault"))
                .body(r#"{"kind":"delay","ms":0}"#)
                .send()
                .await
                .unwrap();
        })
    };
    let res = e
        .client
        .new_order(sol, &market(Side::Buy, q, "t-timeout"))
        .await;
    mock_fast.await.unwrap();
    // Whatever the client reports must be what the exchange has, and the order must not
    // have been sent twice. (The mock drops a request whose client hung up before the
    // injected delay ended, so "not placed" is the usual truth here.)
    tokio::time::sleep(Duration::from_millis(700)).await;
    let count = e.mock_order_count("t-timeout");
    match &res {
        Ok(Placement::Reconciled { order, cause }) => {
            assert_eq!(order.status, OrderStatus::Filled);
            assert!(cause.contains("transport"), "{cause}");
            assert_eq!(count, 1);
        }
        Err(ExchangeError::NotPlaced { cause, .. }) => {
            assert!(cause.contains("transport"), "{cause}");
            assert_eq!(count, 0);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.client.stats().reconciliations >= 1);
}
