//! A small Binance client for the tests: signed REST over reqwest and websockets over
//! tokio-tungstenite, written independently of the crate under test.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use reqwest::Method;
use serde_json::Value;
use shmtrader_mockex::{rest::sign, spawn, MockConfig, MockHandle};
use tokio_tungstenite::tungstenite::Message;

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub fn cfg() -> MockConfig {
    MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        trades_per_sec: 200.0,
        ..MockConfig::default()
    }
}

pub async fn start(cfg: MockConfig) -> MockHandle {
    spawn(cfg).await.unwrap()
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or(0)
    }
    pub fn header(&self, k: &str) -> Option<String> {
        self.headers.get(k).map(|v| v.to_str().unwrap().to_string())
    }
}

#[derive(Debug)]
pub struct Client {
    pub http: reqwest::Client,
    pub base: String,
    pub key: String,
    pub secret: String,
}

pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

pub fn enc(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

pub fn qs(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

impl Client {
    pub fn new(h: &MockHandle) -> Self {
        Client {
            http: reqwest::Client::new(),
            base: h.http_url(),
            key: "paper-key".into(),
            secret: "paper-secret".into(),
        }
    }

    pub async fn raw(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<String>,
        key: Option<&str>,
    ) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}{}", self.base, path_and_query));
        if let Some(k) = key {
            rb = rb.header("X-MBX-APIKEY", k);
        }
        if let Some(b) = body {
            rb = rb
                .header("content-type", "application/x-www-form-urlencoded")
                .body(b);
        }
        let r = rb.send().await.unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn public(&self, path: &str, params: &[(&str, &str)]) -> Resp {
        let q = qs(params);
        let pq = if q.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{q}")
        };
        self.raw(Method::GET, &pq, None, None).await
    }

    /// Signed request with every parameter in the query string.
    pub async fn signed(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Resp {
        let ts = now_ms().to_string();
        let mut p: Vec<(&str, &str)> = params.to_vec();
        p.push(("timestamp", &ts));
        let q = qs(&p);
        let sig = sign(&self.secret, &q);
        self.raw(
            method,
            &format!("{path}?{q}&signature={sig}"),
            None,
            Some(&self.key),
        )
        .await
    }

    /// Signed request with the parameters in a form body (signature over query + body).
    pub async fn signed_body(&self, method: Method, path: &str, params: &[(&str, &str)]) -> Resp {
        let ts = now_ms().to_string();
        let mut p: Vec<(&str, &str)> = params.to_vec();
        p.push(("timestamp", &ts));
        let body = qs(&p);
        let sig = sign(&self.secret, &body);
        self.raw(
            method,
            path,
            Some(format!("{body}&signature={sig}")),
            Some(&self.key),
        )
        .await
    }

    pub async fn listen_key(&self) -> String {
        let r = self
            .raw(Method::POST, "/fapi/v1/listenKey", None, Some(&self.key))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        r.body["listenKey"].as_str().unwrap().to_string()
    }

    pub async fn mark(&self, sym: &str) -> f64 {
        let r = self
            .public("/fapi/v1/premiumIndex", &[("symbol", sym)])
            .await;
        r.body["markPrice"].as_str().unwrap().parse().unwrap()
    }
}

pub async fn ws(h: &MockHandle, path: &str) -> Ws {
    let (s, _) = tokio_tungstenite::connect_async(format!("{}{}", h.ws_url(), path))
        .await
        .unwrap();
    s
}

/// Next text frame as JSON (skipping pings), or None on timeout / close.
pub async fn next_json(ws: &mut Ws, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        match tokio::time::timeout(left, ws.next()).await {
            Err(_) => return None,
            Ok(None) => return None,
            Ok(Some(Err(_))) => return None,
            Ok(Some(Ok(Message::Text(t)))) => {
                return Some(
                    serde_json::from_str(t.as_str()).unwrap_or(Value::String(t.to_string())),
                )
            }
            Ok(Some(Ok(Message::Close(_)))) => return None,
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub async fn send_json(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.unwrap();
}

/// Waits for a frame matching `pred`.
pub async fn wait_for(
    ws: &mut Ws,
    timeout: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.checked_duration_since(tokio::time::Instant::now())?;
        let v = next_json(ws, left).await?;
        if pred(&v) {
            return Some(v);
        }
    }
}

/// A LIMIT BUY price 3 % below the mark, on BTCUSDT's 0.10 tick.
pub fn passive_buy_price(mark: f64) -> String {
    format!("{:.2}", ((mark * 0.97) * 10.0).floor() / 10.0)
}

pub fn data_dir() -> Option<std::path::PathBuf> {
    let dir = std::env::var("SHMTRADER_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
        });
    if dir.join("nkaz001_hftbacktest").is_dir() {
        Some(dir)
    } else if std::env::var("SHMTRADER_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!(
            "SHMTRADER_REQUIRE_DATA=1 but the data directory {} is missing",
            dir.display()
        );
    } else {
        println!(
            "SKIPPED: market data not found at {} (set SHMTRADER_DATA)",
            dir.display()
        );
        None
    }
}
