//! Websocket connections: market streams (raw and combined, live SUBSCRIBE and friends)
//! and user-data streams (legacy `/ws/<listenKey>` and `/private/ws?listenKey=..`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::engine::Params;
use crate::rest::parse_form;
use crate::Shared;

/// Symbol part lowercase, stream type as sent (`BTCUSDT@aggTrade` → `btcusdt@aggTrade`).
fn normalize(stream: &str) -> String {
    match stream.split_once('@') {
        Some((s, rest)) => format!("{}@{}", s.to_ascii_lowercase(), rest),
        None => stream.to_string(),
    }
}

#[derive(Debug, Default)]
struct Conn {
    combined: bool,
    streams: Vec<String>,
    keys: Vec<Arc<str>>,
    events: Option<HashSet<String>>,
}

fn bad_request(code: i64, msg: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [("content-type", "application/json")],
        json!({"code": code, "msg": msg}).to_string(),
    )
        .into_response()
}

/// Every websocket route lands here; the path decides what the connection carries.
pub async fn upgrade(State(sh): State<Arc<Shared>>, uri: Uri, ws: WebSocketUpgrade) -> Response {
    let path = uri.path();
    let path = ["/public", "/market", "/private"]
        .iter()
        .find_map(|p| path.strip_prefix(p))
        .unwrap_or(path);
    let mut q = Params::new();
    parse_form(uri.query().unwrap_or(""), &mut q);
    let mut conn = Conn::default();
    let mut key_names: Vec<String> = Vec::new();
    if let Some(rest) = path.strip_prefix("/ws") {
        for part in rest.split('/').filter(|s| !s.is_empty()) {
            if part.contains('@') {
                conn.streams.push(normalize(part));
            } else {
                key_names.push(part.to_string());
            }
        }
    } else {
        conn.combined = true;
        if let Some(s) = q.get("streams") {
            for part in s.split('/').filter(|s| !s.is_empty()) {
                if part.contains('@') {
                    conn.streams.push(normalize(part));
                } else {
                    key_names.push(part.to_string());
                }
            }
        }
    }
    if let Some(k) = q.get("listenKey") {
        key_names.extend(k.split('/').filter(|s| !s.is_empty()).map(str::to_string));
    }
    if let Some(ev) = q.get("events") {
        conn.events = Some(ev.split('/').map(str::to_string).collect());
    }
    if conn.streams.len() > 1024 {
        return bad_request(-1000, "Too many streams on one connection (max 1024).");
    }
    if !key_names.is_empty() {
        let now = Instant::now();
        let Ok(keys) = sh.listen_keys.lock() else {
            return bad_request(-1000, "internal error");
        };
        for k in key_names {
            if keys.get(&k).is_some_and(|e| *e > now) {
                conn.keys.push(Arc::from(k));
            } else {
                return bad_request(-1125, "This listenKey does not exist.");
            }
        }
    }
    ws.on_upgrade(move |socket| run(sh, socket, conn))
}

fn wrap(conn: &Conn, stream: &str, payload: &str) -> String {
    if conn.combined {
        format!("{{\"stream\":\"{stream}\",\"data\":{payload}}}")
    } else {
        payload.to_string()
    }
}

async fn run(sh: Arc<Shared>, mut socket: WebSocket, mut conn: Conn) {
    let mut market_rx = sh.out.market.subscribe();
    let mut user_rx = sh.out.user.subscribe();
    let mut drop_rx = sh.drop_gen.subscribe();
    let mut key_rx = sh.key_closed.subscribe();
    let mut stop_rx = sh.stop.subscribe();
    let mut subscribed: HashSet<String> = HashSet::new();
    for s in std::mem::take(&mut conn.streams) {
        if subscribed.insert(s.clone()) {
            sh.out.subs.add(&s);
            crate::seeded::warm_for_stream(&sh, &s);
        }
    }
    if !subscribed.is_empty() {
        sh.market_client.notify_one();
    }
    let cfg = &sh.cfg;
    let mut ping =
        tokio::time::interval_at(Instant::now() + cfg.ws_ping_interval, cfg.ws_ping_interval);
    let deadline = Instant::now() + cfg.ws_max_lifetime;
    let mut last_pong = Instant::now();
    let mut ping_outstanding: Option<Instant> = None;
    let mut in_window = (Instant::now(), 0u32);
    loop {
        tokio::select! {
            m = market_rx.recv() => match m {
                Ok(msg) => {
                    if msg.raw_all {
                        if !subscribed.is_empty() && socket.send(Message::text(msg.payload.to_string())).await.is_err() {
                            break;
                        }
                    } else if subscribed.contains(&*msg.stream)
                        && socket.send(Message::text(wrap(&conn, &msg.stream, &msg.payload))).await.is_err()
                    {
                        break;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    if !subscribed.is_empty() {
                        tracing::warn!(lost = n, "websocket client too slow; disconnecting it");
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            u = user_rx.recv() => match u {
                Ok(msg) => {
                    if conn.keys.is_empty() {
                        continue;
                    }
                    let target: Option<Arc<str>> = match &msg.only_key {
                        Some(k) => conn.keys.iter().find(|c| c.as_ref() == k.as_ref()).cloned(),
                        None => {
                            let now = Instant::now();
                            let keys = sh.listen_keys.lock().map(|m| m.clone()).unwrap_or_default();
                            conn.keys.iter().find(|c| keys.get(&***c).is_some_and(|e| *e > now)).cloned()
                        }
                    };
                    let Some(key) = target else { continue };
                    if msg.only_key.is_none() && conn.events.as_ref().is_some_and(|ev| !ev.contains(msg.event)) {
                        continue;
                    }
                    if socket.send(Message::text(wrap(&conn, &key, &msg.payload))).await.is_err() {
                        break;
                    }
                    if msg.close_key {
                        conn.keys.retain(|k| k.as_ref() != key.as_ref());
                        if conn.keys.is_empty() && subscribed.is_empty() {
                            let _ = socket.send(Message::Close(None)).await;
                            break;
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    if !conn.keys.is_empty() {
                        tracing::warn!(lost = n, "user-data client too slow; disconnecting it");
                        break;
                    }
                }
                Err(RecvError::Closed) => break,
            },
            inc = socket.recv() => {
                let Some(Ok(msg)) = inc else { break };
                if !matches!(msg, Message::Pong(_)) {
                    let now = Instant::now();
                    if now.duration_since(in_window.0) >= Duration::from_secs(1) {
                        in_window = (now, 0);
                    }
                    in_window.1 += 1;
                    if in_window.1 > cfg.ws_max_incoming_per_sec {
                        tracing::info!("websocket client sent more than {} messages/s; disconnecting", cfg.ws_max_incoming_per_sec);
                        break;
                    }
                }
                match msg {
                    Message::Text(t) => {
                        let reply = handle_request(&sh, &mut conn, &mut subscribed, t.as_str());
                        if socket.send(Message::text(reply.to_string())).await.is_err() {
                            break;
                        }
                    }
                    Message::Pong(_) => {
                        last_pong = Instant::now();
                        ping_outstanding = None;
                    }
                    Message::Close(_) => break,
                    // Pings are answered by the protocol layer with a pong.
                    _ => {}
                }
            },
            _ = ping.tick() => {
                if let Some(sent) = ping_outstanding {
                    if last_pong < sent && sent.elapsed() >= cfg.ws_pong_timeout {
                        tracing::info!("no pong within the timeout; disconnecting");
                        break;
                    }
                } else {
                    ping_outstanding = Some(Instant::now());
                }
                if socket.send(Message::Ping(Bytes::from_static(b"mockex"))).await.is_err() {
                    break;
                }
            },
            _ = tokio::time::sleep_until(deadline) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            },
            _ = drop_rx.changed() => break,
            _ = key_rx.changed() => {
                if !conn.keys.is_empty() {
                    let keys = sh.listen_keys.lock().map(|m| m.clone()).unwrap_or_default();
                    conn.keys.retain(|k| keys.contains_key(&**k));
                    if conn.keys.is_empty() && subscribed.is_empty() {
                        let _ = socket.send(Message::Close(None)).await;
                        break;
                    }
                }
            },
            _ = crate::stopped(&mut stop_rx) => {
                let _ = socket.send(Message::Close(None)).await;
                break;
            },
        }
    }
    for s in &subscribed {
        sh.out.subs.remove(s);
    }
}

const METHODS: &str = "SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET_PROPERTY, GET_PROPERTY";

/// Answers one client frame with Binance's exact reply or error frame.
fn handle_request(
    sh: &Arc<Shared>,
    conn: &mut Conn,
    subscribed: &mut HashSet<String>,
    text: &str,
) -> Value {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => return json!({"code": 3, "msg": format!("Invalid JSON: {e}")}),
    };
    let Some(obj) = v.as_object() else {
        return json!({"code": 3, "msg": "Invalid JSON: expected an object"});
    };
    let Some(method) = obj.get("method") else {
        return json!({"code": 2, "msg": "Invalid request: missing field `method`"});
    };
    let id = match obj.get("id") {
        Some(Value::Number(n)) if n.is_u64() => n.as_u64().unwrap_or(0),
        _ => {
            return json!({"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"})
        }
    };
    let method = method.as_str().unwrap_or("");
    let params = obj.get("params");
    let names = || -> Option<Vec<String>> {
        params?
            .as_array()?
            .iter()
            .map(|p| p.as_str().map(normalize))
            .collect()
    };
    match method {
        "SUBSCRIBE" => {
            let Some(list) = names() else {
                return json!({"code": 2, "msg": "Invalid request: params must be a list of stream names", "id": id});
            };
            if subscribed.len() + list.len() > 1024 {
                return json!({"code": 2, "msg": "Invalid request: too many streams", "id": id});
            }
            let mut any = false;
            for s in list {
                if subscribed.insert(s.clone()) {
                    sh.out.subs.add(&s);
                    crate::seeded::warm_for_stream(sh, &s);
                    any = true;
                }
            }
            if any {
                sh.market_client.notify_one();
            }
            json!({"result": null, "id": id})
        }
        "UNSUBSCRIBE" => {
            let Some(list) = names() else {
                return json!({"code": 2, "msg": "Invalid request: params must be a list of stream names", "id": id});
            };
            for s in list {
                if subscribed.remove(&s) {
                    sh.out.subs.remove(&s);
                }
            }
            json!({"result": null, "id": id})
        }
        "LIST_SUBSCRIPTIONS" => {
            let mut l: Vec<&String> = subscribed.iter().collect();
            l.sort();
            json!({"result": l, "id": id})
        }
        "SET_PROPERTY" => {
            let p = params.and_then(Value::as_array);
            match p.and_then(|p| p.first()).and_then(Value::as_str) {
                None => {
                    json!({"code": 2, "msg": "Invalid request: property name must be a string"})
                }
                Some("combined") => match p.and_then(|p| p.get(1)).and_then(Value::as_bool) {
                    Some(b) => {
                        conn.combined = b;
                        json!({"result": null, "id": id})
                    }
                    None => json!({"code": 1, "msg": "Invalid value type: expected Boolean"}),
                },
                Some(_) => json!({"code": 0, "msg": "Unknown property", "id": id}),
            }
        }
        "GET_PROPERTY" => {
            match params
                .and_then(Value::as_array)
                .and_then(|p| p.first())
                .and_then(Value::as_str)
            {
                None => {
                    json!({"code": 2, "msg": "Invalid request: property name must be a string"})
                }
                Some("combined") => json!({"result": conn.combined, "id": id}),
                Some(_) => json!({"code": 0, "msg": "Unknown property", "id": id}),
            }
        }
        other => {
            json!({"code": 2, "msg": format!("Invalid request: unknown variant `{other}`, expected one of `{}`", METHODS.replace(", ", "`, `"))})
        }
    }
}
