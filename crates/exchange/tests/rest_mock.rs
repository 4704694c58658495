//! The REST client (and the user-data stream) against the in-process mock exchange:
//! every endpoint, every classified error code provoked through the client, rate-limit
//! backoff, IP ban, unknown-outcome reconciliation and exact decimals on the wire.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use shmtrader_core::Side;
use shmtrader_exchange::rest::{
    AlgoOrderRequest, AlgoType, MarginType, OrderRef, Placement, RestClient, RestConfig,
    WorkingType,
};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::{
    OrderKind, OrderRequest, Price, PriceRounding, Qty, SymbolRules, SymbolTemplate, TemplateBook,
    TimeInForce,
};
use shmtrader_exchange::wire::account::{OrderStatus, SymbolFilter};
use shmtrader_exchange::wire::{AlgoStatus, ExecutionType, OrderType};
use shmtrader_exchange::{ApiErrorKind, ExchangeError, RejectReason};
use shmtrader_mockex::{MockConfig, MockHandle};

fn mock_cfg() -> MockConfig {
    MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        symbols: vec![
            "BTCUSDT".into(),
            "ETHUSDT".into(),
            "SOLUSDT".into(),
            "LINKUSDT".into(),
        ],
        ..Default::default()
    }
}

fn creds() -> Credentials {
    Credentials::new("paper-key", "paper-secret").unwrap()
}

struct Env {
    mock: MockHandle,
    client: Arc<RestClient>,
    book: TemplateBook,
}

async fn env_with(cfg: MockConfig, rest: impl FnOnce(RestConfig) -> RestConfig) -> Env {
    let mock = shmtrader_mockex::spawn(cfg).await.unwrap();
    let client = RestClient::new(rest(RestConfig::mock(&mock.http_url())), Some(creds())).unwrap();
    client.start().await.unwrap();
    let info = client.exchange_info().await.unwrap();
    let book = TemplateBook::from_exchange_info(
        &info,
        &["BTCUSDT", "ETHUSDT", "SOLUSDT", "LINKUSDT"],
        &client.template_config(),
    )
    .unwrap();
    Env {
        mock,
        client: Arc::new(client),
        book,
    }
}

async fn env() -> Env {
    env_with(mock_cfg(), |c| c).await
}

impl Env {
    fn tpl(&self, s: &str) -> &SymbolTemplate {
        self.book.get(s).unwrap()
    }
    fn rules(&self, s: &str) -> &SymbolRules {
        self.tpl(s).rules()
    }
    /// (best bid, best ask) from the mock's book ticker.
    async fn touch(&self, symbol: &str) -> (f64, f64) {
        let v: serde_json::Value = reqwest::get(format!(
            "{}/fapi/v1/ticker/bookTicker?symbol={symbol}",
            self.mock.http_url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let f = |k: &str| v[k].as_str().unwrap().parse::<f64>().unwrap();
        (f("bidPrice"), f("askPrice"))
    }
    fn mock_order(&self, coid: &str) -> serde_json::Value {
        self.mock
            .orders_json()
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["clientOrderId"] == coid)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
    fn mock_order_count(&self, coid: &str) -> usize {
        self.mock
            .orders()
            .iter()
            .filter(|o| o.client_id == coid)
            .count()
    }
}

fn market<'a>(side: Side, qty: Qty, coid: &'a str) -> OrderRequest<'a> {
    OrderRequest {
        side,
        kind: OrderKind::Market,
        qty,
        price: Price(0),
        reduce_only: false,
        client_order_id: coid,
        reference_price: None,
    }
}

fn limit<'a>(
    side: Side,
    tif: TimeInForce,
    qty: Qty,
    price: Price,
    coid: &'a str,
) -> OrderRequest<'a> {
    OrderRequest {
        side,
        kind: OrderKind::Limit(tif),
        qty,
        price,
        reduce_only: false,
        client_order_id: coid,
        reference_price: None,
    }
}

#[track_caller]
fn assert_api(e: &ExchangeError, code: i64, kind: ApiErrorKind) {
    match e {
        ExchangeError::Api {
            code: c, kind: k, ..
        } => {
            assert_eq!((*c, *k), (code, kind), "{e}");
        }
        other => panic!("expected API error {code}, got {other}"),
    }
}

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
            ExchangeError::Filter {
                filter: "MIN_NOTIONAL",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(e.mock_order_count("t-4164b"), 0);
    // -4116: the same client order id twice (what a restart that re-sends looks like).
    let e2 = env().await;
    let sol = e2.tpl("SOLUSDT");
    let q = sol.rules().round_qty_down(1.0).unwrap();
    e2.client
        .new_order(sol, &market(Side::Buy, q, "t-dup"))
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
        SymbolRules::from_filters("BTCUSDT", &filters("0.01", "0.001")).unwrap(),
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
        SymbolRules::from_filters("BTCUSDT", &filters("0.1", "0.0001")).unwrap(),
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
        SymbolRules::from_filters("LINKUSDT", &filters("0.001", "0.01")).unwrap(),
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
        SymbolRules::from_filters("FOOUSDT", &filters("0.1", "0.001")).unwrap(),
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

// ------------------------------------------------------------------ user-data stream

mod user_stream {
    use super::*;
    use shmtrader_exchange::user::{UserStream, UserStreamConfig, UserStreamMsg};
    use shmtrader_exchange::wire::account::UserEvent;
    use shmtrader_mockex::Fault;

    async fn next(s: &mut UserStream) -> UserStreamMsg {
        tokio::time::timeout(Duration::from_secs(10), s.recv())
            .await
            .expect("no user-stream message within 10 s")
            .expect("user stream ended")
    }

    async fn until_connected(s: &mut UserStream, reconnect: bool) {
        loop {
            if let UserStreamMsg::Connected { reconnect: r } = next(s).await {
                assert_eq!(r, reconnect);
                return;
            }
        }
    }

    /// Waits for the ORDER_TRADE_UPDATE of `coid` with execution type `x`.
    async fn until_order_event(
        s: &mut UserStream,
        coid: &str,
        x: &str,
    ) -> shmtrader_exchange::wire::account::OrderTradeUpdate {
        loop {
            if let UserStreamMsg::Event(UserEvent::OrderTradeUpdate(u)) = next(s).await {
                if u.order.client_order_id == coid && u.order.execution_type.as_str() == x {
                    return u;
                }
            }
        }
    }

    #[tokio::test]
    async fn receives_order_trade_update_and_account_update_on_a_fill() {
        let e = env().await;
        let mut s = UserStream::spawn(
            Arc::clone(&e.client),
            UserStreamConfig::mock(&e.mock.ws_url()),
        )
        .unwrap();
        until_connected(&mut s, false).await;
        let eth = e.tpl("ETHUSDT");
        let q = eth.rules().round_qty_down(0.1 + 0.2).unwrap();
        e.client
            .new_order(eth, &market(Side::Buy, q, "t-us-1"))
            .await
            .unwrap();
        let new = until_order_event(&mut s, "t-us-1", "NEW").await;
        assert_eq!(new.order.status, OrderStatus::New);
        // A market order may fill across several levels: one TRADE event per fill.
        let r = eth.rules();
        let mut filled = Qty(0);
        let last = loop {
            let fill = until_order_event(&mut s, "t-us-1", "TRADE").await;
            filled.0 += r.parse_qty(&fill.order.last_qty).unwrap().0;
            assert_eq!(fill.order.commission_asset.as_deref(), Some("USDT"));
            assert!(fill.order.trade_id > 0);
            if fill.order.status == OrderStatus::Filled {
                break fill;
            }
            assert_eq!(fill.order.status, OrderStatus::PartiallyFilled);
        };
        assert_eq!(r.fmt_qty(filled), "0.300");
        assert_eq!(last.order.cum_qty, "0.300");
        assert_eq!(last.order.orig_qty, "0.300");
        // The account update that follows the last fill shows the whole position.
        loop {
            if let UserStreamMsg::Event(UserEvent::AccountUpdate(a)) = next(&mut s).await {
                assert_eq!(a.data.reason, "ORDER");
                assert_eq!(a.data.positions[0].symbol, "ETHUSDT");
                assert_eq!(a.data.positions[0].position_amt, "0.300");
                break;
            }
        }
        assert_eq!(s.malformed_frames(), 0);
        s.stop().await;
    }

    #[tokio::test]
    async fn recreates_the_key_when_it_expires() {
        let e = env().await;
        let mut s = UserStream::spawn(
            Arc::clone(&e.client),
            UserStreamConfig::mock(&e.mock.ws_url()),
        )
        .unwrap();
        until_connected(&mut s, false).await;
        e.mock.inject(Fault::ExpireListenKeys);
        let mut saw_expired = false;
        loop {
            match next(&mut s).await {
                UserStreamMsg::Event(UserEvent::ListenKeyExpired(_)) => saw_expired = true,
                UserStreamMsg::Connected { reconnect } => {
                    assert!(reconnect);
                    break;
                }
                _ => {}
            }
        }
        assert!(saw_expired);
        let sol = e.tpl("SOLUSDT");
        let q = sol.rules().round_qty_down(1.0).unwrap();
        e.client
            .new_order(sol, &market(Side::Buy, q, "t-us-2"))
            .await
            .unwrap();
        until_order_event(&mut s, "t-us-2", "TRADE").await;
        s.stop().await;
    }

    #[tokio::test]
    async fn keepalive_holds_a_short_lived_key() {
        let e = env_with(
            MockConfig {
                listen_key_ttl: Duration::from_millis(1000),
                ..mock_cfg()
            },
            |c| c,
        )
        .await;
        let mut s = UserStream::spawn(
            Arc::clone(&e.client),
            UserStreamConfig {
                keepalive_every: Duration::from_millis(250),
                ..UserStreamConfig::mock(&e.mock.ws_url())
            },
        )
        .unwrap();
        until_connected(&mut s, false).await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert!(s.keepalives() >= 5, "{}", s.keepalives());
        let sol = e.tpl("SOLUSDT");
        let q = sol.rules().round_qty_down(1.0).unwrap();
        e.client
            .new_order(sol, &market(Side::Buy, q, "t-us-3"))
            .await
            .unwrap();
        // Everything before the fill must be the fill's own events: no expiry, no reconnect.
        loop {
            match next(&mut s).await {
                UserStreamMsg::Event(UserEvent::OrderTradeUpdate(u))
                    if u.order.client_order_id == "t-us-3"
                        && u.order.execution_type == ExecutionType::Trade =>
                {
                    break
                }
                UserStreamMsg::Event(UserEvent::OrderTradeUpdate(_))
                | UserStreamMsg::Event(UserEvent::AccountUpdate(_)) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        s.stop().await;
    }

    #[tokio::test]
    async fn reconnects_after_the_connection_drops() {
        let e = env().await;
        let mut s = UserStream::spawn(
            Arc::clone(&e.client),
            UserStreamConfig::mock(&e.mock.ws_url()),
        )
        .unwrap();
        until_connected(&mut s, false).await;
        e.mock.drop_connections();
        match next(&mut s).await {
            UserStreamMsg::Disconnected { reason } => assert!(!reason.is_empty()),
            other => panic!("{other:?}"),
        }
        until_connected(&mut s, true).await;
        let sol = e.tpl("SOLUSDT");
        let q = sol.rules().round_qty_down(1.0).unwrap();
        e.client
            .new_order(sol, &market(Side::Buy, q, "t-us-4"))
            .await
            .unwrap();
        until_order_event(&mut s, "t-us-4", "TRADE").await;
        s.stop().await;
    }

    #[tokio::test]
    async fn private_path_with_an_event_filter() {
        let e = env().await;
        let mut s = UserStream::spawn(
            Arc::clone(&e.client),
            UserStreamConfig {
                path: shmtrader_exchange::user::UserStreamPath::Private {
                    events: Some("ORDER_TRADE_UPDATE".into()),
                },
                ..UserStreamConfig::mock(&e.mock.ws_url())
            },
        )
        .unwrap();
        until_connected(&mut s, false).await;
        let sol = e.tpl("SOLUSDT");
        let q = sol.rules().round_qty_down(1.0).unwrap();
        e.client
            .new_order(sol, &market(Side::Buy, q, "t-us-5"))
            .await
            .unwrap();
        loop {
            match next(&mut s).await {
                UserStreamMsg::Event(UserEvent::OrderTradeUpdate(u)) => {
                    if u.order.client_order_id == "t-us-5" && u.order.status == OrderStatus::Filled
                    {
                        break;
                    }
                }
                other => panic!("the filter lets only order updates through: {other:?}"),
            }
        }
        s.stop().await;
    }
}
