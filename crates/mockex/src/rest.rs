//! REST: parameter merging, API-key and HMAC checks, request-weight and order-count
//! limits with Binance's 429-then-418 escalation, injected faults, and dispatch.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::api_error::ApiError;
use crate::engine::{Endpoint, Params};
use crate::faults::Fault;
use crate::spec::fmt_units;
use crate::Shared;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    None,
    ApiKey,
    Signed,
}

/// Per-IP weight and per-account order counters in Binance's fixed windows.
#[derive(Debug, Default)]
pub struct RateState {
    minute: u64,
    weight: u32,
    warned: bool,
    banned_until: u64,
    bans: u32,
    o10_window: u64,
    o10: u32,
    o1m_window: u64,
    o1m: u32,
}

pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn pct_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let h = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match h {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=2` into pairs; later duplicates do not override earlier ones.
pub fn parse_form(s: &str, into: &mut Params) {
    for part in s.split('&') {
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        into.entry(pct_decode(k)).or_insert_with(|| pct_decode(v));
    }
}

/// Removes the `signature=` pair from a raw parameter string; returns the rest and the
/// signature value.
fn strip_signature(raw: &str) -> (String, Option<String>) {
    let mut sig = None;
    let kept: Vec<&str> = raw
        .split('&')
        .filter(|p| {
            if let Some(v) = p.strip_prefix("signature=") {
                sig = Some(v.to_string());
                false
            } else {
                true
            }
        })
        .collect();
    (kept.join("&"), sig)
}

/// Hex HMAC-SHA256, as clients sign.
pub fn sign(secret: &str, payload: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(payload.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

struct Route {
    weight: u32,
    orders: u32,
    security: Security,
}

fn route(method: &Method, path: &str, p: &Params) -> Option<Route> {
    let has_sym = p.get("symbol").is_some_and(|s| !s.is_empty());
    let (w, o, s) = match (method.as_str(), path) {
        ("GET", "/fapi/v1/ping") | ("GET", "/fapi/v1/time") | ("GET", "/fapi/v1/exchangeInfo") => {
            (1, 0, Security::None)
        }
        ("GET", "/fapi/v1/depth") => {
            let l: u32 = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
            (
                if l <= 50 {
                    2
                } else if l <= 100 {
                    5
                } else if l <= 500 {
                    10
                } else {
                    20
                },
                0,
                Security::None,
            )
        }
        ("GET", "/fapi/v1/aggTrades") => (20, 0, Security::None),
        ("GET", "/fapi/v1/klines") => {
            let l: u32 = p.get("limit").and_then(|l| l.parse().ok()).unwrap_or(500);
            let w = match l {
                0..=99 => 1,
                100..=499 => 2,
                500..=1000 => 5,
                _ => 10,
            };
            (w, 0, Security::None)
        }
        ("GET", "/fapi/v1/ticker/24hr") => (if has_sym { 1 } else { 40 }, 0, Security::None),
        ("GET", "/fapi/v1/ticker/bookTicker") => (if has_sym { 2 } else { 5 }, 0, Security::None),
        ("GET", "/fapi/v1/premiumIndex") => (if has_sym { 1 } else { 10 }, 0, Security::None),
        ("POST", "/fapi/v1/order") => (0, 1, Security::Signed),
        ("POST", "/fapi/v1/batchOrders") => (5, 5, Security::Signed),
        ("DELETE", "/fapi/v1/order")
        | ("DELETE", "/fapi/v1/allOpenOrders")
        | ("GET", "/fapi/v1/order") => (1, 0, Security::Signed),
        ("GET", "/fapi/v1/openOrders") => (if has_sym { 1 } else { 40 }, 0, Security::Signed),
        ("GET", "/fapi/v1/openOrder") => (1, 0, Security::Signed),
        ("POST", "/fapi/v1/leverage")
        | ("GET", "/fapi/v1/leverageBracket")
        | ("POST", "/fapi/v1/marginType") => (1, 0, Security::Signed),
        ("POST", "/fapi/v1/positionSide/dual") => (1, 0, Security::Signed),
        ("GET", "/fapi/v1/positionSide/dual") => (30, 0, Security::Signed),
        ("GET", "/fapi/v2/account") | ("GET", "/fapi/v3/account") => (5, 0, Security::Signed),
        ("GET", "/fapi/v2/balance") | ("GET", "/fapi/v3/balance") => (5, 0, Security::Signed),
        ("GET", "/fapi/v2/positionRisk") | ("GET", "/fapi/v3/positionRisk") => {
            (5, 0, Security::Signed)
        }
        ("POST", "/fapi/v1/algoOrder") => (0, 1, Security::Signed),
        ("GET", "/fapi/v1/userTrades") => (5, 0, Security::Signed),
        ("DELETE", "/fapi/v1/algoOrder")
        | ("GET", "/fapi/v1/algoOrder")
        | ("DELETE", "/fapi/v1/algoOpenOrders") => (1, 0, Security::Signed),
        ("GET", "/fapi/v1/openAlgoOrders") => (if has_sym { 1 } else { 40 }, 0, Security::Signed),
        ("POST", "/fapi/v1/listenKey")
        | ("PUT", "/fapi/v1/listenKey")
        | ("DELETE", "/fapi/v1/listenKey") => (1, 0, Security::ApiKey),
        _ => return None,
    };
    Some(Route {
        weight: w,
        orders: o,
        security: s,
    })
}

fn json_response(status: u16, body: &Value, headers: &[(&'static str, String)]) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    for (k, v) in headers {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(*k, v);
        }
    }
    r
}

fn err_response(e: &ApiError, headers: &[(&'static str, String)]) -> Response {
    json_response(e.status, &e.body(), headers)
}

/// The fallback handler: everything that is not a websocket route.
pub(crate) async fn handle(
    State(sh): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query_raw = uri.query().unwrap_or("").to_string();
    let body_raw = String::from_utf8_lossy(&body).into_owned();
    if let Some(mock) = path.strip_prefix("/mock/") {
        return mock_route(&sh, &method, mock, &query_raw, &body_raw);
    }
    let delay = sh
        .rest_faults
        .lock()
        .map(|f| f.delay_ms + f.path_delay_ms.get(&path).copied().unwrap_or(0))
        .unwrap_or(0);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let mut params = Params::new();
    parse_form(&query_raw, &mut params); // query wins: inserted first
    if method != Method::GET {
        parse_form(&body_raw, &mut params);
    }
    let Some(rt) = route(&method, &path, &params) else {
        let e = ApiError {
            status: 404,
            code: -5000,
            msg: format!("Path {path}, Method {method} is invalid"),
        };
        return err_response(&e, &[]);
    };
    let now = now_ms();
    // Request weight, with the 429 → 418 escalation.
    let (used, limited) = {
        let Ok(mut rs) = sh.rate.lock() else {
            return err_response(&ApiError::new(-1000, "internal lock poisoned"), &[]);
        };
        if rs.banned_until > now {
            (rs.weight, Some(ban_error(rs.banned_until, now)))
        } else {
            let minute = now / 60_000;
            if rs.minute != minute {
                rs.minute = minute;
                rs.weight = 0;
                rs.warned = false;
            }
            rs.weight += rt.weight;
            if rs.weight > sh.cfg.weight_limit_1m {
                if rs.warned {
                    let dur = (120_000u64 << rs.bans.min(11)).min(3 * 86_400_000);
                    rs.bans += 1;
                    rs.banned_until = now + dur;
                    rs.warned = false;
                    (rs.weight, Some(ban_error(rs.banned_until, now)))
                } else {
                    rs.warned = true;
                    let retry = ((minute + 1) * 60_000 - now).div_ceil(1000);
                    let e = ApiError {
                        status: 429,
                        code: -1003,
                        msg: format!(
                            "Too many requests; current limit of IP(127.0.0.1) request weight per minute is {}. Please use WebSocket Streams for live updates to avoid polling the API.",
                            sh.cfg.weight_limit_1m
                        ),
                    };
                    (rs.weight, Some((e, retry)))
                }
            } else {
                (rs.weight, None)
            }
        }
    };
    let mut hdrs: Vec<(&'static str, String)> = vec![("x-mbx-used-weight-1m", used.to_string())];
    if let Some((e, retry)) = limited {
        hdrs.push(("retry-after", retry.to_string()));
        return err_response(&e, &hdrs);
    }
    // Injected statuses.
    let forced = sh
        .rest_faults
        .lock()
        .ok()
        .and_then(|mut f| f.statuses.pop_front());
    match forced {
        Some(429) => {
            hdrs.push(("retry-after", "1".into()));
            let e = ApiError { status: 429, code: -1003, msg: "Too many requests; current limit is 2400 requests per minute. Please use the websocket for live updates to avoid polling the API.".into() };
            return err_response(&e, &hdrs);
        }
        Some(418) => {
            let until = now + 120_000;
            hdrs.push(("retry-after", "120".into()));
            return err_response(&ban_error(until, now).0, &hdrs);
        }
        _ => {}
    }
    if let Err(e) = check_security(
        &sh,
        rt.security,
        &headers,
        &params,
        &query_raw,
        &body_raw,
        now,
    ) {
        return err_response(&e, &hdrs);
    }
    if rt.orders > 0 {
        let Ok(mut rs) = sh.rate.lock() else {
            return err_response(&ApiError::new(-1000, "internal lock poisoned"), &hdrs);
        };
        let w10 = now / 10_000;
        if rs.o10_window != w10 {
            rs.o10_window = w10;
            rs.o10 = 0;
        }
        let w1m = now / 60_000;
        if rs.o1m_window != w1m {
            rs.o1m_window = w1m;
            rs.o1m = 0;
        }
        rs.o10 += rt.orders;
        rs.o1m += if path.ends_with("batchOrders") {
            1
        } else {
            rt.orders
        };
        hdrs.push(("x-mbx-order-count-10s", rs.o10.to_string()));
        hdrs.push(("x-mbx-order-count-1m", rs.o1m.to_string()));
        if rs.o10 > sh.cfg.order_limit_10s {
            let e = ApiError {
                status: 429,
                code: -1015,
                msg: format!(
                    "Too many new orders; current limit is {} orders per TEN_SECONDS.",
                    sh.cfg.order_limit_10s
                ),
            };
            return err_response(&e, &hdrs);
        }
        if rs.o1m > sh.cfg.order_limit_1m {
            let e = ApiError {
                status: 429,
                code: -1015,
                msg: format!(
                    "Too many new orders; current limit is {} orders per MINUTE.",
                    sh.cfg.order_limit_1m
                ),
            };
            return err_response(&e, &hdrs);
        }
    }
    if method == Method::GET && matches!(path.as_str(), "/fapi/v1/klines" | "/fapi/v1/ticker/24hr")
    {
        // The seeded history of what is asked for, generated on first use.
        let syms = crate::seeded::requested(&sh, params.get("symbol").map(String::as_str));
        crate::seeded::ensure(&sh, syms).await;
    }
    let result = dispatch(&sh, &method, &path, &params, &headers);
    if forced == Some(503) {
        // The request was executed; the client cannot know: it must reconcile.
        return err_response(&ApiError::unknown_503(), &hdrs);
    }
    match result {
        Ok(v) => json_response(200, &v, &hdrs),
        Err(e) => err_response(&e, &hdrs),
    }
}

fn ban_error(until: u64, now: u64) -> (ApiError, u64) {
    (
        ApiError {
            status: 418,
            code: -1003,
            msg: format!("Way too much request weight used; IP banned until {until}. Please use WebSocket Streams for live updates to avoid bans."),
        },
        until.saturating_sub(now).div_ceil(1000),
    )
}

fn check_security(
    sh: &Shared,
    sec: Security,
    headers: &HeaderMap,
    p: &Params,
    query_raw: &str,
    body_raw: &str,
    now: u64,
) -> Result<(), ApiError> {
    if sec == Security::None {
        return Ok(());
    }
    let key = headers
        .get("x-mbx-apikey")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if key.is_empty() {
        return Err(ApiError {
            status: 401,
            code: -2014,
            msg: "API-key format invalid.".into(),
        });
    }
    if key != sh.cfg.api_key {
        return Err(ApiError {
            status: 401,
            code: -2015,
            msg: "Invalid API-key, IP, or permissions for action.".into(),
        });
    }
    if sec == Security::ApiKey {
        return Ok(());
    }
    let ts: u64 = p
        .get("timestamp")
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| ApiError::mandatory("timestamp"))?;
    let recv: u64 = match p.get("recvWindow") {
        None => 5000,
        Some(r) => match r.parse::<u64>() {
            Ok(v) if v <= 60_000 => v,
            _ => return Err(ApiError::invalid_param("recvWindow")),
        },
    };
    if ts >= now + 1000 {
        return Err(ApiError::new(
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ));
    }
    if now.saturating_sub(ts) > recv {
        return Err(ApiError::new(
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ));
    }
    let (q, qsig) = strip_signature(query_raw);
    let (b, bsig) = strip_signature(body_raw);
    let sig = qsig
        .or(bsig)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::mandatory("signature"))?;
    let expected = sign(&sh.cfg.api_secret, &format!("{q}{b}"));
    if !expected.eq_ignore_ascii_case(&sig) {
        return Err(ApiError::new(
            -1022,
            "Signature for this request is not valid.",
        ));
    }
    Ok(())
}

fn dispatch(
    sh: &Shared,
    method: &Method,
    path: &str,
    p: &Params,
    headers: &HeaderMap,
) -> Result<Value, ApiError> {
    let now = now_ms();
    match (method.as_str(), path) {
        ("GET", "/fapi/v1/ping") => Ok(json!({})),
        ("GET", "/fapi/v1/time") => Ok(json!({"serverTime": now})),
        ("GET", "/fapi/v1/exchangeInfo") => Ok(exchange_info(sh, now)),
        ("POST", "/fapi/v1/listenKey")
        | ("PUT", "/fapi/v1/listenKey")
        | ("DELETE", "/fapi/v1/listenKey") => listen_key(sh, method, p, headers),
        ("POST", "/fapi/v1/batchOrders") => batch_orders(sh, p),
        _ => {
            let mut e = sh
                .engine
                .lock()
                .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?;
            match (method.as_str(), path) {
                ("GET", "/fapi/v1/depth") => e.depth(p),
                ("GET", "/fapi/v1/aggTrades") => e.agg_trades(p),
                ("GET", "/fapi/v1/klines") => e.klines(p),
                ("GET", "/fapi/v1/ticker/24hr") => e.ticker_24hr(p),
                ("GET", "/fapi/v1/ticker/bookTicker") => e.book_ticker(p),
                ("GET", "/fapi/v1/premiumIndex") => e.premium_index(p),
                ("POST", "/fapi/v1/order") => {
                    let (ack, result) = e.new_order(p, Endpoint::Order)?;
                    Ok(
                        if p.get("newOrderRespType").map(String::as_str) == Some("RESULT") {
                            result
                        } else {
                            ack
                        },
                    )
                }
                ("DELETE", "/fapi/v1/order") => e.cancel(p),
                ("DELETE", "/fapi/v1/allOpenOrders") => e.cancel_all(p),
                ("GET", "/fapi/v1/order") => e.query(p),
                ("GET", "/fapi/v1/openOrders") => e.open_orders(p),
                ("GET", "/fapi/v1/openOrder") => e.query_open(p),
                ("POST", "/fapi/v1/leverage") => e.set_leverage(p),
                ("GET", "/fapi/v1/leverageBracket") => e.leverage_bracket(p),
                ("POST", "/fapi/v1/marginType") => e.set_margin_type(p),
                ("POST", "/fapi/v1/positionSide/dual") => e.set_dual(p),
                ("GET", "/fapi/v1/positionSide/dual") => Ok(e.get_dual()),
                ("GET", "/fapi/v2/account") => Ok(e.account(false)),
                ("GET", "/fapi/v3/account") => Ok(e.account(true)),
                ("GET", "/fapi/v2/balance") | ("GET", "/fapi/v3/balance") => Ok(e.balance()),
                ("GET", "/fapi/v2/positionRisk") => e.position_risk(p, false),
                ("GET", "/fapi/v3/positionRisk") => e.position_risk(p, true),
                ("POST", "/fapi/v1/algoOrder") => e.new_algo(p),
                ("DELETE", "/fapi/v1/algoOrder") => e.cancel_algo(p),
                ("GET", "/fapi/v1/algoOrder") => e.query_algo(p),
                ("DELETE", "/fapi/v1/algoOpenOrders") => e.cancel_all_algos(p),
                ("GET", "/fapi/v1/userTrades") => e.user_trades(p),
                ("GET", "/fapi/v1/openAlgoOrders") => e.open_algos(p),
                _ => Err(ApiError {
                    status: 404,
                    code: -5000,
                    msg: format!("Path {path}, Method {method} is invalid"),
                }),
            }
        }
    }
}

fn batch_orders(sh: &Shared, p: &Params) -> Result<Value, ApiError> {
    let raw = p
        .get("batchOrders")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::mandatory("batchOrders"))?;
    let list: Vec<Value> =
        serde_json::from_str(raw).map_err(|_| ApiError::mandatory("batchOrders"))?;
    if list.is_empty() || list.len() > 5 {
        return Err(ApiError::new(
            -4082,
            "Invalid number of batch place orders.",
        ));
    }
    let mut e = sh
        .engine
        .lock()
        .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?;
    let mut out = Vec::with_capacity(list.len());
    for item in list {
        let Some(obj) = item.as_object() else {
            let err = ApiError::invalid_param("batchOrders");
            e.refuse_attempt(Endpoint::Batch, &Params::new(), &err);
            out.push(err.body());
            continue;
        };
        let mut op = Params::new();
        for (k, v) in obj {
            let s = match v {
                Value::String(s) => s.clone(),
                Value::Null => continue,
                other => other.to_string(),
            };
            op.insert(k.clone(), s);
        }
        match e.new_order(&op, Endpoint::Batch) {
            Ok((ack, result)) => out.push(
                if op.get("newOrderRespType").map(String::as_str) == Some("RESULT") {
                    result
                } else {
                    ack
                },
            ),
            Err(err) => out.push(err.body()),
        }
    }
    Ok(Value::Array(out))
}

fn listen_key(
    sh: &Shared,
    method: &Method,
    p: &Params,
    _headers: &HeaderMap,
) -> Result<Value, ApiError> {
    let ttl = sh.cfg.listen_key_ttl;
    let mut keys = sh
        .listen_keys
        .lock()
        .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?;
    let now = tokio::time::Instant::now();
    if keys.values().any(|exp| *exp <= now) {
        // Lapsed keys are forgotten with their `listenKeyExpired` notice, never silently.
        drop(keys);
        crate::expire_due(sh);
        keys = sh
            .listen_keys
            .lock()
            .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?;
    }
    match method.as_str() {
        "POST" => {
            if let Some((k, exp)) = keys.iter_mut().next() {
                *exp = now + ttl;
                return Ok(json!({"listenKey": k}));
            }
            let k = sh
                .engine
                .lock()
                .map_err(|_| ApiError::new(-1000, "internal lock poisoned"))?
                .gen_listen_key();
            keys.insert(k.clone(), now + ttl);
            Ok(json!({"listenKey": k}))
        }
        "PUT" => {
            let key = p
                .get("listenKey")
                .cloned()
                .or_else(|| keys.keys().next().cloned());
            match key.and_then(|k| keys.get_mut(&k).map(|e| (k.clone(), e))) {
                Some((k, exp)) => {
                    *exp = now + ttl;
                    Ok(json!({"listenKey": k}))
                }
                None => Err(ApiError::new(-1125, "This listenKey does not exist.")),
            }
        }
        _ => {
            match p.get("listenKey") {
                Some(k) => {
                    keys.remove(k);
                }
                None => keys.clear(),
            }
            let _ = sh.key_closed.send(now_ms());
            Ok(json!({}))
        }
    }
}

fn exchange_info(sh: &Shared, now: u64) -> Value {
    let symbols: Vec<Value> = sh
        .specs
        .iter()
        .map(|s| {
            json!({
                "symbol": s.symbol, "pair": s.symbol, "contractType": "PERPETUAL", "deliveryDate": 4_133_404_800_000u64,
                "onboardDate": s.onboard_ms, "status": "TRADING", "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
                "baseAsset": s.base, "quoteAsset": "USDT", "marginAsset": "USDT", "pricePrecision": s.price_dp,
                "quantityPrecision": s.qty_dp, "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
                "underlyingSubType": [], "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500",
                "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": fmt_units(s.tick, s.price_dp),
                     "maxPrice": fmt_units(1_000_000 * 10_i64.pow(s.price_dp), s.price_dp), "tickSize": fmt_units(s.tick, s.price_dp)},
                    {"filterType": "LOT_SIZE", "minQty": fmt_units(s.min_qty, s.qty_dp), "maxQty": fmt_units(s.max_qty, s.qty_dp),
                     "stepSize": fmt_units(s.step, s.qty_dp)},
                    {"filterType": "MARKET_LOT_SIZE", "minQty": fmt_units(s.min_qty, s.qty_dp),
                     "maxQty": fmt_units(s.market_max_qty, s.qty_dp), "stepSize": fmt_units(s.step, s.qty_dp)},
                    {"filterType": "MAX_NUM_ORDERS", "limit": crate::engine::MAX_NUM_ORDERS},
                    {"filterType": "MIN_NOTIONAL", "notional": format!("{}", s.min_notional)},
                    {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500", "multiplierDecimal": "4"}
                ],
                "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
                "permissionSets": ["GRID", "COPY"]
            })
        })
        .collect();
    json!({
        "timezone": "UTC", "serverTime": now, "futuresType": "U_MARGINED",
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": sh.cfg.weight_limit_1m},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": sh.cfg.order_limit_1m},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": sh.cfg.order_limit_10s}
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": true, "autoAssetExchange": "-10000"}],
        "symbols": symbols
    })
}

fn mock_route(sh: &Arc<Shared>, method: &Method, path: &str, query: &str, body: &str) -> Response {
    let mut q = Params::new();
    parse_form(query, &mut q);
    let accepted_only = q.get("accepted").is_some_and(|v| v == "true");
    let r: Result<Value, ApiError> = match (method.as_str(), path) {
        ("GET", "orders") if !accepted_only => sh
            .engine
            .lock()
            .map(|e| e.attempts_json())
            .map_err(|_| ApiError::new(-1000, "lock")),
        ("GET", "orders") | ("GET", "accepted") => sh
            .engine
            .lock()
            .map(|e| e.accepted_json())
            .map_err(|_| ApiError::new(-1000, "lock")),
        ("GET", "algoOrders") => sh
            .engine
            .lock()
            .map(|e| e.all_algos_json())
            .map_err(|_| ApiError::new(-1000, "lock")),
        ("GET", "positions") => sh
            .engine
            .lock()
            .map(|e| e.positions())
            .map_err(|_| ApiError::new(-1000, "lock")),
        ("GET", "status") => sh
            .engine
            .lock()
            .map(|e| {
                json!({"replayDone": e.replay_done, "dataTime": e.data_now(), "wallet": e.wallet(),
                       "symbols": sh.specs.iter().map(|s| s.symbol).collect::<Vec<_>>()})
            })
            .map_err(|_| ApiError::new(-1000, "lock")),
        ("POST", "fault") => match serde_json::from_str::<Fault>(body) {
            Ok(f) => crate::inject(sh, f).map(|()| json!({"ok": true})),
            Err(e) => Err(ApiError::new(-1102, format!("bad fault body: {e}"))),
        },
        ("POST", "liquidate") => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("symbol").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| ApiError::mandatory("symbol"))
            .and_then(|symbol| {
                sh.engine
                    .lock()
                    .map_err(|_| ApiError::new(-1000, "lock"))?
                    .liquidate(&symbol)
            }),
        _ => Err(ApiError {
            status: 404,
            code: -5000,
            msg: format!("Path /mock/{path}, Method {method} is invalid"),
        }),
    };
    match r {
        Ok(v) => json_response(200, &v, &[]),
        Err(e) => err_response(&e, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doc_test_vector() {
        let secret = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9";
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            sign(secret, payload),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    #[test]
    fn query_wins_and_decoding() {
        let mut p = Params::new();
        parse_form("a=1&b=x%20y", &mut p);
        parse_form("a=2&c=%5B%7B%7D%5D&d=1+2", &mut p);
        assert_eq!(p["a"], "1");
        assert_eq!(p["b"], "x y");
        assert_eq!(p["c"], "[{}]");
        assert_eq!(p["d"], "1 2");
        assert_eq!(
            strip_signature("a=1&signature=ab"),
            ("a=1".to_string(), Some("ab".to_string()))
        );
    }
}
