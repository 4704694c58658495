//! The user-data stream against the in-process mock exchange: fills arrive as
//! ORDER_TRADE_UPDATE + ACCOUNT_UPDATE, an expired key is replaced, keepalives hold a
//! short-lived key, a dropped connection is reopened, the `/private/ws` layout filters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::mock::*;
use shmtrader_core::Side;
use shmtrader_exchange::template::Qty;
use shmtrader_exchange::wire::account::OrderStatus;
use shmtrader_exchange::wire::ExecutionType;
use shmtrader_mockex::MockConfig;

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
                if u.order.client_order_id == "t-us-5" && u.order.status == OrderStatus::Filled {
                    break;
                }
            }
            other => panic!("the filter lets only order updates through: {other:?}"),
        }
    }
    s.stop().await;
}
