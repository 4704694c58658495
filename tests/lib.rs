//! Helpers for the end-to-end tests: locating the binary, running it, reading status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `shmtrader` binary under test: `$SHMTRADER_BIN`, or the one built next to this
/// test executable (`target/<profile>/shmtrader`).
pub fn bin() -> PathBuf {
    if let Ok(p) = std::env::var("SHMTRADER_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current_exe");
    // target/<profile>/deps/<test> -> target/<profile>/shmtrader
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = dir.join("shmtrader");
    assert!(
        p.exists(),
        "{} not found: build it first (`cargo build -p shmtrader`) or set SHMTRADER_BIN",
        p.display()
    );
    p
}

/// A unique instance name per test.
pub fn instance(tag: &str) -> String {
    format!("e2e-{tag}-{}", std::process::id())
}

/// A free loopback port (for the mock exchange of one test's launcher, so tests can
/// run in parallel).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Where this test process's executors keep their journals.
pub fn journal_dir() -> PathBuf {
    std::env::temp_dir().join(format!("shmtrader-e2e-journal-{}", std::process::id()))
}

/// A command with the test's environment: fast bars so signals flow within seconds,
/// and a private mock-exchange port.
pub fn cmd(args: &[&str]) -> Command {
    let mut c = Command::new(bin());
    let port = free_port();
    c.env("SHMTRADER_MOCK__LISTEN", format!("127.0.0.1:{port}"))
        .env(
            "SHMTRADER_VENUE__REST_URL",
            format!("http://127.0.0.1:{port}"),
        )
        .env("SHMTRADER_VENUE__WS_URL", format!("ws://127.0.0.1:{port}"))
        .env("SHMTRADER_EXECUTOR__JOURNAL_DIR", journal_dir())
        .env(
            "SHMTRADER_EXECUTOR__KILL_SWITCH_FILE",
            journal_dir().join("KILL"),
        );
    c.args(args)
        .env("RUST_LOG", "info")
        .env("SHMTRADER_INDICATORS__BAR_INTERVAL_MS", "50")
        .env("SHMTRADER_INDICATORS__EMA_FAST", "3")
        .env("SHMTRADER_INDICATORS__EMA_SLOW", "8")
        .env("SHMTRADER_STRATEGY__COOLDOWN_MS", "0")
        .env("SHMTRADER_STRATEGY__ADAPTIVE", "false")
        .env("SHMTRADER_INGEST__SOURCE", "synthetic")
        .env("SHMTRADER_ML__ENABLED", "false")
        .env("SHMTRADER_STRATEGY__USE_BOOK", "false")
        .env("SHMTRADER_STRATEGY__THRESHOLD", "0.2")
        .env("SHMTRADER_STRATEGY__THRESHOLD_MIN", "0.1")
        .env("SHMTRADER_STRATEGY__MIN_CONFIRMATIONS", "1")
        .env("SHMTRADER_SYNTHETIC__TICKS_PER_SEC", "5000")
        .env("SHMTRADER_SUPERVISOR__SUMMARY_INTERVAL_S", "1");
    c
}

/// Starts `shmtrader run` in the background.
pub fn spawn_run(instance: &str, duration_s: u32, extra_env: &[(&str, &str)]) -> Child {
    let d = duration_s.to_string();
    let mut c = cmd(&[
        "run",
        "--instance",
        instance,
        "--duration",
        &d,
        "--keep-segments",
    ]);
    for (k, v) in extra_env {
        c.env(k, v);
    }
    c.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn shmtrader run")
}

/// `shmtrader status --json` of a live instance, if it answers.
pub fn status(instance: &str) -> Option<serde_json::Value> {
    let out = cmd(&["status", "--instance", instance, "--json"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Polls `f` until it returns Some or the timeout passes.
pub fn poll<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Waits for a child and returns its output, killing it after `timeout`.
pub fn finish(child: Child, timeout: Duration) -> Output {
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let d2 = done.clone();
    let guard = std::thread::spawn(move || {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if d2.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = shmtrader_shm::send_signal(pid, 9);
    });
    let out = child.wait_with_output().expect("wait");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = guard.join();
    out
}

/// Removes an instance's segments (tests run with --keep-segments to inspect them).
#[derive(Debug)]
pub struct Cleanup(pub String);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = shmtrader_shm::Instance::remove(&self.0);
    }
}

/// The effective config the stages used in these tests.
pub fn test_config(instance: &str) -> shmtrader_core::Config {
    let env = [
        ("SHMTRADER_INDICATORS__BAR_INTERVAL_MS", "50"),
        ("SHMTRADER_INDICATORS__EMA_FAST", "3"),
        ("SHMTRADER_INDICATORS__EMA_SLOW", "8"),
        ("SHMTRADER_STRATEGY__COOLDOWN_MS", "0"),
        ("SHMTRADER_STRATEGY__ADAPTIVE", "false"),
        ("SHMTRADER_INGEST__SOURCE", "synthetic"),
        ("SHMTRADER_ML__ENABLED", "false"),
        ("SHMTRADER_STRATEGY__USE_BOOK", "false"),
        ("SHMTRADER_STRATEGY__THRESHOLD", "0.2"),
        ("SHMTRADER_STRATEGY__THRESHOLD_MIN", "0.1"),
        ("SHMTRADER_STRATEGY__MIN_CONFIRMATIONS", "1"),
    ];
    let mut c = shmtrader_core::Config::from_toml_with_env("", "test", env).unwrap();
    c.instance = instance.to_string();
    c
}

/// Env overrides that put one launcher's mock exchange on `port`.
pub fn port_env(port: u16) -> [(String, String); 3] {
    [
        ("SHMTRADER_MOCK__LISTEN".into(), format!("127.0.0.1:{port}")),
        (
            "SHMTRADER_VENUE__REST_URL".into(),
            format!("http://127.0.0.1:{port}"),
        ),
        (
            "SHMTRADER_VENUE__WS_URL".into(),
            format!("ws://127.0.0.1:{port}"),
        ),
    ]
}

/// `GET path` on 127.0.0.1:`port` (plain HTTP/1.1, `Connection: close`); the body as JSON.
pub fn http_get_json(port: u16, path: &str) -> Option<serde_json::Value> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // De-chunk.
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (len, tail) = rest.split_once("\r\n")?;
            let n = usize::from_str_radix(len.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n)?);
            rest = tail.get(n + 2..)?;
        }
        out
    } else {
        body.to_string()
    };
    serde_json::from_str(&body).ok()
}

/// One stage's entry of `status --json`.
pub fn stage<'a>(v: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &v["stages"][name]
}

/// `POST path` with a JSON body on 127.0.0.1:`port`; the status code and the body as JSON.
pub fn http_post_json(port: u16, path: &str, body: &str) -> Option<(u16, serde_json::Value)> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let code: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        let mut out = String::new();
        let mut rest = body;
        loop {
            let (len, tail) = rest.split_once("\r\n")?;
            let n = usize::from_str_radix(len.trim(), 16).ok()?;
            if n == 0 {
                break;
            }
            out.push_str(tail.get(..n)?);
            rest = tail.get(n + 2..)?;
        }
        out
    } else {
        body.to_string()
    };
    Some((
        code,
        serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
    ))
}
