//! Test helpers shared by the integration tests: a canned-answer HTTP server (for the
//! endpoints the mock exchange does not serve) and a scriptable websocket server.
#![allow(
    dead_code,
    reason = "each test crate uses a different part of the helpers"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use shmtrader_exchange::rest::{RestClient, RestConfig};
use shmtrader_exchange::sign::{ApiSecret, Credentials, Signer};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio_tungstenite::tungstenite::Message;

pub mod mock;

pub const SECRET: &str = "canned-secret";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    pub api_key: Option<String>,
}

impl Seen {
    /// Query and body as one parameter string (Binance signs their concatenation).
    pub fn params(&self) -> String {
        format!("{}{}", self.query, self.body)
    }
    /// The parameters without `recvWindow`, `timestamp` and `signature`.
    pub fn unsigned(&self) -> String {
        self.params()
            .split('&')
            .filter(|kv| {
                !(kv.starts_with("recvWindow=")
                    || kv.starts_with("timestamp=")
                    || kv.starts_with("signature="))
            })
            .collect::<Vec<_>>()
            .join("&")
    }
    /// True if `signature` is the HMAC of everything before it.
    pub fn signature_is_valid(&self) -> bool {
        let p = self.params();
        let Some((payload, sig)) = p.rsplit_once("&signature=") else {
            return false;
        };
        let signer = Signer::new(&ApiSecret::new(SECRET).unwrap()).unwrap();
        signer.sign(payload) == sig
    }
}

/// A canned answer: status, body, extra headers.
#[derive(Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

pub fn ok(body: &str) -> Answer {
    Answer {
        status: 200,
        body: body.to_string(),
        headers: vec![("x-mbx-used-weight-1m", "7".into())],
    }
}

pub fn err(status: u16, code: i64, msg: &str) -> Answer {
    Answer {
        status,
        body: format!(r#"{{"code":{code},"msg":"{msg}"}}"#),
        headers: Vec::new(),
    }
}

/// Answers by (method, path): a queue; the last one repeats.
#[derive(Default)]
pub struct Server {
    answers: Mutex<HashMap<(String, String), VecDeque<Answer>>>,
    pub seen: Mutex<Vec<Seen>>,
}

impl Server {
    /// Records the request and picks its canned answer.
    fn respond(&self, seen: Seen) -> Answer {
        let key = (seen.method.clone(), seen.path.clone());
        self.seen.lock().unwrap().push(seen);
        let mut answers = self.answers.lock().unwrap();
        match answers.get_mut(&key) {
            Some(q) if q.len() > 1 => q.pop_front().unwrap(),
            Some(q) => q.front().cloned().unwrap(),
            None => err(404, -1, "no canned answer"),
        }
    }
}

/// A minimal HTTP/1.1 keep-alive server: request line, headers, `Content-Length` body;
/// enough for reqwest, and no dependency beyond tokio.
async fn serve_conn(sv: Arc<Server>, stream: tokio::net::TcpStream) -> std::io::Result<()> {
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    loop {
        let mut line = String::new();
        if rd.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut len = 0usize;
        let mut api_key = None;
        loop {
            let mut h = String::new();
            rd.read_line(&mut h).await?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                match k.trim().to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse().unwrap_or(0),
                    "x-mbx-apikey" => api_key = Some(v.trim().to_string()),
                    _ => {}
                }
            }
        }
        let mut body = vec![0u8; len];
        rd.read_exact(&mut body).await?;
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let answer = sv.respond(Seen {
            method,
            path: path.to_string(),
            query: query.to_string(),
            body: String::from_utf8_lossy(&body).to_string(),
            api_key,
        });
        let mut head = format!(
            "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
            answer.status,
            answer.body.len()
        );
        for (k, v) in &answer.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        wr.write_all(head.as_bytes()).await?;
        wr.write_all(answer.body.as_bytes()).await?;
    }
}

pub struct Canned {
    pub server: Arc<Server>,
    pub client: Arc<RestClient>,
}

impl Canned {
    pub async fn start() -> Canned {
        let server = Arc::new(Server::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let sv = Arc::clone(&server);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_conn(Arc::clone(&sv), stream));
            }
        });
        let client = RestClient::new(
            RestConfig::mock(&format!("http://{addr}")),
            Some(Credentials::new("canned-key", SECRET).unwrap()),
        )
        .unwrap();
        Canned {
            server,
            client: Arc::new(client),
        }
    }
    /// Always answer `a`.
    pub fn answer(&self, method: &str, path: &str, a: Answer) {
        self.answer_seq(method, path, vec![a]);
    }
    /// Answer these in turn; the last one repeats.
    pub fn answer_seq(&self, method: &str, path: &str, a: Vec<Answer>) {
        self.server
            .answers
            .lock()
            .unwrap()
            .insert((method.to_string(), path.to_string()), a.into());
    }
    /// Requests seen on `path`, in order.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.server
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
    /// The last request to `path`.
    pub fn last(&self, path: &str) -> Seen {
        self.server
            .seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|s| s.path == path)
            .cloned()
            .unwrap_or_else(|| panic!("no request to {path}"))
    }
}

/// What the websocket server does on each connection.
#[derive(Debug, Clone)]
pub enum WsBehaviour {
    /// Accepts and never sends anything (a half-open connection, as far as the client
    /// can tell).
    Silent,
    /// Sends these text frames, then a ping every period.
    SendThenPing(Vec<String>, Duration),
}

/// A websocket server that records each connection's request target (path and query).
pub struct WsServer {
    pub base: String,
    pub targets: Arc<Mutex<Vec<String>>>,
}

impl WsServer {
    pub async fn start(behaviour: WsBehaviour) -> WsServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let targets = Arc::new(Mutex::new(Vec::new()));
        let t = Arc::clone(&targets);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let t = Arc::clone(&t);
                let behaviour = behaviour.clone();
                tokio::spawn(async move {
                    #[allow(clippy::result_large_err, reason = "tungstenite's callback signature")]
                    let record =
                        |req: &tokio_tungstenite::tungstenite::handshake::server::Request, resp| {
                            t.lock().unwrap().push(req.uri().to_string());
                            Ok(resp)
                        };
                    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await
                    else {
                        return;
                    };
                    match behaviour {
                        WsBehaviour::Silent => while let Some(Ok(_)) = ws.next().await {},
                        WsBehaviour::SendThenPing(frames, every) => {
                            for f in frames {
                                if ws.send(Message::Text(f.into())).await.is_err() {
                                    return;
                                }
                            }
                            let mut tick = tokio::time::interval(every);
                            loop {
                                tokio::select! {
                                    _ = tick.tick() => {
                                        if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                                            return;
                                        }
                                    }
                                    m = ws.next() => match m {
                                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                                        Some(Ok(_)) => {}
                                    },
                                }
                            }
                        }
                    }
                });
            }
        });
        WsServer {
            base: format!("ws://{addr}"),
            targets,
        }
    }
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}
