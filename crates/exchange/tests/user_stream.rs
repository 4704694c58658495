//! The user-data stream against a canned REST server and a scripted websocket server:
//! the cases the mock exchange cannot produce (a keepalive answered -1125 while the
//! socket stays up, a silent half-open socket), both URL layouts as the server sees
//! them, and the listenKey staying out of everything the stream reports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{err, ok, Canned, WsBehaviour, WsServer};
use shmtrader_exchange::user::{UserStream, UserStreamConfig, UserStreamMsg, UserStreamPath};
use shmtrader_exchange::wire::account::UserEvent;
use shmtrader_exchange::wire::AlgoStatus;

const K1: &str = "keyOneAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
const K2: &str = "keyTwoBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

fn key_answer(k: &str) -> common::Answer {
    ok(&format!(r#"{{"listenKey":"{k}"}}"#))
}

async fn next(s: &mut UserStream) -> UserStreamMsg {
    tokio::time::timeout(Duration::from_secs(5), s.recv())
        .await
        .expect("no user-stream message within 5 s")
        .expect("user stream ended")
}

/// Messages up to and including the next `Connected`, checking none leaks a key.
async fn until_connected(s: &mut UserStream) -> (bool, Vec<UserStreamMsg>) {
    let mut before = Vec::new();
    loop {
        let m = next(s).await;
        let text = format!("{m:?}");
        assert!(
            !text.contains(K1) && !text.contains(K2),
            "key leaked: {text}"
        );
        if let UserStreamMsg::Connected { reconnect } = m {
            return (reconnect, before);
        }
        before.push(m);
    }
}

fn reasons(msgs: &[UserStreamMsg]) -> Vec<String> {
    msgs.iter()
        .filter_map(|m| match m {
            UserStreamMsg::Disconnected { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_keepalive_answered_1125_gets_a_new_key_and_announces_a_reconnect() {
    let c = Canned::start().await;
    c.answer_seq(
        "POST",
        "/fapi/v1/listenKey",
        vec![key_answer(K1), key_answer(K2)],
    );
    c.answer_seq(
        "PUT",
        "/fapi/v1/listenKey",
        vec![err(400, -1125, "This listenKey does not exist."), ok("{}")],
    );
    let ws = WsServer::start(WsBehaviour::SendThenPing(vec![], Duration::from_millis(50))).await;
    let mut s = UserStream::spawn(
        c.client.clone(),
        UserStreamConfig {
            keepalive_every: Duration::from_millis(150),
            ..UserStreamConfig::mock(&ws.base)
        },
    )
    .unwrap();
    assert!(!until_connected(&mut s).await.0, "the first connection");
    let (reconnect, between) = until_connected(&mut s).await;
    assert!(
        reconnect,
        "every connection after the first is announced as one"
    );
    let why = reasons(&between);
    assert_eq!(why.len(), 1, "{between:?}");
    assert!(why[0].contains("-1125"), "{why:?}");
    // The second connection uses the second key, on the legacy path.
    assert_eq!(ws.targets(), vec![format!("/ws/{K1}"), format!("/ws/{K2}")]);
    // The keepalive that failed carried the old key; then the new key is kept alive.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s.keepalives() >= 1, "{}", s.keepalives());
    let puts = c.seen("/fapi/v1/listenKey");
    assert!(puts
        .iter()
        .filter(|r| r.method == "PUT")
        .skip(1)
        .all(|r| r.body.contains(K2)));
    assert_eq!(s.connects(), 2);
    s.stop().await;
    // Stopping closes the current key.
    let last = c.last("/fapi/v1/listenKey");
    assert_eq!(last.method, "DELETE");
    assert!(last.query.contains(K2), "{last:?}");
}

#[tokio::test]
async fn a_silent_connection_is_replaced_after_the_idle_timeout() {
    let c = Canned::start().await;
    c.answer("POST", "/fapi/v1/listenKey", key_answer(K1));
    c.answer("DELETE", "/fapi/v1/listenKey", ok("{}"));
    let ws = WsServer::start(WsBehaviour::Silent).await;
    let mut s = UserStream::spawn(
        c.client.clone(),
        UserStreamConfig {
            idle_timeout: Duration::from_millis(300),
            ..UserStreamConfig::mock(&ws.base)
        },
    )
    .unwrap();
    let t0 = tokio::time::Instant::now();
    assert!(!until_connected(&mut s).await.0);
    let (reconnect, between) = until_connected(&mut s).await;
    assert!(reconnect);
    let why = reasons(&between);
    assert!(why.iter().any(|r| r.contains("idle timeout")), "{why:?}");
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(s.idle_timeouts() >= 1);
    s.stop().await;
}

#[tokio::test]
async fn pings_alone_keep_a_quiet_connection_alive() {
    let c = Canned::start().await;
    c.answer("POST", "/fapi/v1/listenKey", key_answer(K1));
    c.answer("DELETE", "/fapi/v1/listenKey", ok("{}"));
    let ws = WsServer::start(WsBehaviour::SendThenPing(
        vec![],
        Duration::from_millis(100),
    ))
    .await;
    let mut s = UserStream::spawn(
        c.client.clone(),
        UserStreamConfig {
            idle_timeout: Duration::from_millis(400),
            ..UserStreamConfig::mock(&ws.base)
        },
    )
    .unwrap();
    assert!(!until_connected(&mut s).await.0);
    let quiet = tokio::time::timeout(Duration::from_millis(1200), s.recv()).await;
    assert!(quiet.is_err(), "nothing should happen: {quiet:?}");
    assert_eq!((s.idle_timeouts(), s.connects()), (0, 1));
    s.stop().await;
}

#[tokio::test]
async fn the_private_layout_carries_the_key_and_filter_and_algo_updates_arrive_typed() {
    let c = Canned::start().await;
    c.answer("POST", "/fapi/v1/listenKey", key_answer(K1));
    c.answer("DELETE", "/fapi/v1/listenKey", ok("{}"));
    let algo = r#"{"e":"ALGO_UPDATE","T":1750515800120,"E":1750515800125,"o":{"caid":"stop-7-1","aid":2148720,"at":"CONDITIONAL","o":"STOP_MARKET","s":"BTCUSDT","S":"SELL","ps":"BOTH","f":"GTC","q":"0.014","X":"TRIGGERED","ai":"8886774","ap":"0.00000","aq":"0.00000","act":"MARKET","tp":"29950.00","p":"0","V":"EXPIRE_MAKER","wt":"MARK_PRICE","pm":"NONE","cp":false,"pP":true,"R":true,"tt":1750515800123,"gtd":0}}"#;
    // Combined form, as a `/private/stream` connection would wrap it.
    let lite = format!(
        r#"{{"stream":"{K1}","data":{{"e":"TRADE_LITE","E":1721895408092,"T":1721895408214,"s":"BTCUSDT","q":"0.001","p":"0","m":false,"c":"z8hcUoOsqEdKMeKPSABslD","S":"BUY","L":"64089.20","l":"0.040","t":109100866,"i":8886774}}}}"#
    );
    let ws = WsServer::start(WsBehaviour::SendThenPing(
        vec![algo.to_string(), lite, "garbage".into()],
        Duration::from_millis(100),
    ))
    .await;
    let mut s = UserStream::spawn(
        c.client.clone(),
        UserStreamConfig {
            path: UserStreamPath::Private {
                events: Some("ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE".into()),
            },
            ..UserStreamConfig::mock(&ws.base)
        },
    )
    .unwrap();
    assert!(!until_connected(&mut s).await.0);
    match next(&mut s).await {
        UserStreamMsg::Event(UserEvent::AlgoUpdate(a)) => {
            assert_eq!(a.algo.status, AlgoStatus::Triggered);
            assert_eq!(a.algo.actual_order_id, Some(8_886_774));
        }
        other => panic!("{other:?}"),
    }
    match next(&mut s).await {
        UserStreamMsg::Event(UserEvent::Other { event, .. }) => assert_eq!(event, "TRADE_LITE"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        ws.targets(),
        vec![format!(
            "/private/ws?listenKey={K1}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/ALGO_UPDATE"
        )]
    );
    // The garbage frame is counted and skipped, the stream stays up.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.malformed_frames(), 1);
    assert_eq!(s.connects(), 1);
    s.stop().await;
}

#[tokio::test]
async fn failures_are_reported_without_the_key() {
    let c = Canned::start().await;
    c.answer("POST", "/fapi/v1/listenKey", key_answer(K1));
    // Nothing listens on this port: every connect fails.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}", closed.local_addr().unwrap());
    drop(closed);
    let mut s = UserStream::spawn(
        c.client.clone(),
        UserStreamConfig {
            reconnect_min: Duration::from_millis(10),
            reconnect_max: Duration::from_millis(20),
            ..UserStreamConfig::mock(&base)
        },
    )
    .unwrap();
    for _ in 0..3 {
        match next(&mut s).await {
            UserStreamMsg::Disconnected { reason } => {
                assert!(reason.starts_with("connect failed"), "{reason}");
                assert!(!reason.contains(K1), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    // listenKey creation refused: reported, retried, still no key anywhere.
    c.answer(
        "POST",
        "/fapi/v1/listenKey",
        err(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ),
    );
    loop {
        if let UserStreamMsg::Disconnected { reason } = next(&mut s).await {
            if reason.contains("listenKey creation failed") {
                assert!(reason.contains("-2015"), "{reason}");
                break;
            }
        }
    }
    s.stop().await;
}

#[test]
fn a_bad_config_is_refused_at_spawn() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = Canned::start().await;
        let r = UserStream::spawn(
            c.client.clone(),
            UserStreamConfig {
                keepalive_every: Duration::from_secs(2 * 3600),
                ..UserStreamConfig::mock("ws://127.0.0.1:9")
            },
        );
        assert!(r.is_err());
    });
}
