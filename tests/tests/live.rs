//! End-to-end: the live pipeline in `demo` mode against the mock exchange posing as
//! Binance Demo Trading — real processes, keys from a 0600 `.env`, orders and stops on
//! the venue, fills from its user-data stream. Each test runs its own mock (started by
//! the test, not the launcher, so it outlives launches and killed executors, as a real
//! venue does).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_e2e::*;
use shmtrader_journal::{ExternalKind, Record};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A mock venue with its own keys, and a directory for one instance's files.
struct Demo {
    inst: String,
    port: u16,
    dir: PathBuf,
    key: String,
    secret: String,
    mock: Child,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.mock.kill();
        let _ = self.mock.wait();
        let _ = shmtrader_shm::Instance::remove(&self.inst);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn random_hex(n: usize) -> String {
    let mut x = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (std::process::id() as u64) << 32;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from_digit((x % 16) as u32, 16).unwrap()
        })
        .collect()
}

impl Demo {
    /// Starts the mock (keys through the environment, never on a command line) and
    /// writes the instance's `.env` with mode 0600.
    fn new(tag: &str, mock_env: &[(&str, &str)]) -> Demo {
        let inst = instance(tag);
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("shmtrader-live-{inst}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let key = format!("demokey{}", random_hex(24));
        let secret = format!("demosecret{}", random_hex(48));
        let env_file = dir.join(".env");
        std::fs::write(
            &env_file,
            format!("BINANCE_TESTNET_API_KEY={key}\nBINANCE_TESTNET_API_SECRET={secret}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut c = Command::new(bin());
        c.args(["mock-exchange", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .env("SHMTRADER_MOCK__API_KEY", &key)
            .env("SHMTRADER_MOCK__API_SECRET", &secret)
            .env("SHMTRADER_MOCK__TRADES_PER_SEC", "1500")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in mock_env {
            c.env(k, v);
        }
        let mock = c.spawn().unwrap();
        let up = poll(Duration::from_secs(10), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        assert!(up.is_some(), "mock did not start");
        Demo {
            inst,
            port,
            dir,
            key,
            secret,
            mock,
        }
    }

    fn journal(&self) -> PathBuf {
        self.dir
            .join("journal")
            .join(format!("{}.journal", self.inst))
    }

    /// `shmtrader run` in demo mode against this venue.
    fn command(&self, args: &[&str], extra: &[(&str, &str)]) -> Command {
        let mut c = cmd(args);
        c.env_remove("BINANCE_API_KEY")
            .env_remove("BINANCE_API_SECRET")
            .env_remove("BINANCE_TESTNET_API_KEY")
            .env_remove("BINANCE_TESTNET_API_SECRET")
            .env("SHMTRADER_MODE", "demo")
            .env(
                "SHMTRADER_VENUE__REST_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .env(
                "SHMTRADER_VENUE__WS_URL",
                format!("ws://127.0.0.1:{}", self.port),
            )
            .env("SHMTRADER_VENUE__USER_WS_URL", "")
            .env("SHMTRADER_VENUE__ENV_FILE", self.dir.join(".env"))
            .env("SHMTRADER_INGEST__SOURCE", "exchange")
            .env("SHMTRADER_EXECUTOR__JOURNAL_DIR", self.dir.join("journal"))
            .env(
                "SHMTRADER_EXECUTOR__KILL_SWITCH_FILE",
                self.dir.join("KILL"),
            )
            // Wide client stops and no target: positions live long enough to be seen
            // with their exchange stop; the time stop turns them over.
            .env("SHMTRADER_RISK__STOP_ATR_MULT", "40")
            .env("SHMTRADER_RISK__TAKE_PROFIT_ATR_MULT", "0")
            .env("SHMTRADER_RISK__TRAIL_ACTIVATION_ATR_MULT", "0")
            .env("SHMTRADER_RISK__MAX_HOLD_MS", "4000");
        for (k, v) in extra {
            c.env(k, v);
        }
        c
    }

    fn run(&self, duration_s: u32, extra: &[(&str, &str)]) -> Child {
        let d = duration_s.to_string();
        self.command(
            &[
                "run",
                "--instance",
                &self.inst,
                "--duration",
                &d,
                "--keep-segments",
            ],
            extra,
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
    }

    fn get(&self, path: &str) -> serde_json::Value {
        http_get_json(self.port, path).unwrap_or_else(|| panic!("GET {path}"))
    }

    /// Open positions on the venue: (symbol, signed amount).
    fn positions(&self) -> Vec<(String, f64)> {
        self.get("/mock/positions")
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["symbol"].as_str().unwrap().to_string(),
                    p["positionAmt"].as_str().unwrap().parse::<f64>().unwrap(),
                )
            })
            .filter(|(_, a)| *a != 0.0)
            .collect()
    }

    /// Conditional orders resting on the venue: (symbol, side, quantity, client id).
    fn resting_stops(&self) -> Vec<(String, String, f64, String)> {
        self.get("/mock/algoOrders")
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["algoStatus"] == "NEW")
            .map(|a| {
                (
                    a["symbol"].as_str().unwrap().to_string(),
                    a["side"].as_str().unwrap().to_string(),
                    a["quantity"].as_str().unwrap().parse::<f64>().unwrap(),
                    a["clientAlgoId"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// A position with its protective stop resting: (symbol, amount).
    fn protected_position(&self) -> Option<(String, f64)> {
        let stops = self.resting_stops();
        self.positions().into_iter().find(|(s, a)| {
            let side = if *a > 0.0 { "SELL" } else { "BUY" };
            stops
                .iter()
                .any(|(ss, sd, q, _)| ss == s && sd == side && (*q - a.abs()).abs() < 1e-9)
        })
    }

    /// Fees the venue charged this account: start + realized − wallet.
    fn venue_fees(&self) -> f64 {
        let v = self.get("/mock/positions");
        let rows = v.as_array().unwrap();
        let wallet: f64 = rows[0]["walletBalance"].as_str().unwrap().parse().unwrap();
        let realized: f64 = rows
            .iter()
            .map(|p| p["realizedPnl"].as_str().unwrap().parse::<f64>().unwrap())
            .sum();
        10_000.0 + realized - wallet
    }

    fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        http_post_json(self.port, path, body).unwrap_or_else(|| panic!("POST {path}"))
    }
}

fn journal_records(path: &std::path::Path) -> Vec<Record> {
    shmtrader_journal::read_journal(path)
        .expect("journal readable")
        .records
        .into_iter()
        .map(|(_, r)| r)
        .collect()
}

/// The journal's net position per symbol (own fills and fills of others' orders).
fn journal_positions(path: &std::path::Path) -> std::collections::HashMap<String, f64> {
    let scan = shmtrader_journal::read_journal(path).expect("journal readable");
    let mut net = std::collections::HashMap::<String, f64>::new();
    for o in scan.state.orders() {
        let q: f64 = o.filled_qty.to_string().parse().unwrap();
        let s = if o.intent.side == shmtrader_core::Side::Buy {
            1.0
        } else {
            -1.0
        };
        *net.entry(o.intent.symbol.clone()).or_default() += s * q;
    }
    for x in scan.state.external_fills() {
        let q: f64 = x.qty.to_string().parse().unwrap();
        let s = if x.side == shmtrader_core::Side::Buy {
            1.0
        } else {
            -1.0
        };
        *net.entry(x.symbol.clone()).or_default() += s * q;
    }
    net
}

fn trading_figs(inst: &str) -> [f64; 32] {
    let i = shmtrader_shm::Instance::open(inst).expect("segments kept");
    i.control.trading().expect("executor published figures")
}

/// Waits until the journal and the venue agree on every position (they move while the
/// executor trades: sampled at a quiet moment).
fn positions_agree(d: &Demo, within: Duration) -> Result<(), String> {
    let mut last = String::new();
    poll(within, || {
        let before = d.positions();
        let j = journal_positions(&d.journal());
        let after = d.positions();
        if before != after {
            return None;
        }
        for sym in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
            let ours = j.get(sym).copied().unwrap_or(0.0);
            let theirs = after
                .iter()
                .find(|(s, _)| s == sym)
                .map_or(0.0, |(_, a)| *a);
            if (ours - theirs).abs() > 1e-9 {
                last = format!("{sym}: journal {ours}, venue {theirs}");
                return None;
            }
        }
        Some(())
    })
    .ok_or(last)
}

#[test]
fn demo_mode_trades_with_stops_resting_on_the_venue_and_fees_from_its_commissions() {
    let d = Demo::new("demo", &[]);
    let child = d.run(25, &[]);
    // Entries fill, and each open position has its stop resting on the venue.
    let protected = poll(Duration::from_secs(20), || d.protected_position());
    assert!(
        protected.is_some(),
        "no position with a resting stop; positions {:?}, stops {:?}",
        d.positions(),
        d.resting_stops()
    );
    // Mid-run, `status` shows the account's figures.
    let st = status(&d.inst).expect("status");
    assert_eq!(st["trading"]["user_stream_up"], true, "{}", st["trading"]);
    let status_text = cmd(&["status", "--instance", &d.inst, "--json"])
        .output()
        .unwrap();
    let out = finish(child, Duration::from_secs(60));
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(
        stderr.contains("about to trade the demo account"),
        "no start-up summary:\n{stderr}"
    );
    // Fees in `status` are the venue's commissions (the executor never guesses them).
    let figs = trading_figs(&d.inst);
    let fees = figs[shmtrader_stages::runtime::fig::FEES];
    let venue = d.venue_fees();
    assert!(fees > 0.0, "no fees: {fees}");
    assert!(
        (fees - venue).abs() < 1e-4,
        "status fees {fees} vs venue commissions {venue}"
    );
    // The journal's positions are the venue's.
    positions_agree(&d, Duration::from_secs(5)).unwrap();
    // Keys appear in no output of the run: logs, status, journal, shared memory.
    let mut haystacks: Vec<(String, Vec<u8>)> = vec![
        ("stderr".into(), out.stderr.clone()),
        ("stdout".into(), out.stdout.clone()),
        ("status".into(), status_text.stdout.clone()),
        ("status stderr".into(), status_text.stderr.clone()),
        ("journal".into(), std::fs::read(d.journal()).unwrap()),
    ];
    for seg in std::fs::read_dir("/dev/shm").unwrap() {
        let seg = seg.unwrap();
        let name = seg.file_name().to_string_lossy().to_string();
        if name.starts_with(&format!("shmtrader-{}-", d.inst)) {
            haystacks.push((name, std::fs::read(seg.path()).unwrap()));
        }
    }
    for (what, bytes) in &haystacks {
        for secret in [&d.secret, &d.key] {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "a key appears in {what}"
            );
        }
    }
}

#[test]
fn an_executor_killed_with_an_open_position_leaves_it_to_the_venues_stop() {
    let d = Demo::new("kill9", &[]);
    // No reversals and no time stop: a position stays as it is until its stop.
    let child = d.run(
        60,
        &[
            ("SHMTRADER_RISK__MAX_HOLD_MS", "60000"),
            ("SHMTRADER_RISK__ALLOW_REVERSE", "false"),
        ],
    );
    poll(Duration::from_secs(20), || d.protected_position())
        .expect("a position with its stop resting");
    // Kill the launcher and the executor at once: nothing restarts it, and the other
    // stages stop when their launcher is gone.
    let v = status(&d.inst).expect("status");
    let exec_pid = stage(&v, "executor")["pid"].as_u64().unwrap() as u32;
    shmtrader_shm::send_signal(child.id(), 9).unwrap();
    shmtrader_shm::send_signal(exec_pid, 9).unwrap();
    let _ = finish(child, Duration::from_secs(10));
    // A position is still open on the venue, protected by its stop alone.
    let (sym, amt) = d
        .protected_position()
        .unwrap_or_else(|| panic!("no protected position after the kill: {:?}", d.positions()));
    // The market moves through the stop: the venue closes the position.
    let pct = if amt > 0.0 { -5.0 } else { 5.0 };
    let (code, body) = d.post(
        "/mock/fault",
        &format!(r#"{{"kind":"move_price","symbol":"{sym}","pct":{pct}}}"#),
    );
    assert_eq!(code, 200, "{body}");
    let closed = poll(Duration::from_secs(10), || {
        d.positions().iter().all(|(s, _)| *s != sym).then_some(())
    });
    assert!(
        closed.is_some(),
        "the venue's stop did not close {sym}: positions {:?}, stops {:?}",
        d.positions(),
        d.get("/mock/algoOrders")
    );
    let fired = d
        .get("/mock/algoOrders")
        .as_array()
        .unwrap()
        .iter()
        .any(|a| {
            a["symbol"] == sym.as_str()
                && matches!(a["algoStatus"].as_str(), Some("FINISHED" | "TRIGGERED"))
        });
    assert!(fired, "no stop of {sym} triggered");
}

#[test]
fn an_executor_killed_between_a_fill_and_its_stops_ack_places_the_stop_on_restart() {
    let d = Demo::new("nostop", &[]);
    // Hold every stop placement for 4 s: the executor dies while its first stop is in
    // flight, the held request dies with its connection, and the position is naked.
    let (code, body) = d.post(
        "/mock/fault",
        r#"{"kind":"delay_path","path":"/fapi/v1/algoOrder","ms":4000}"#,
    );
    assert_eq!(code, 200, "{body}");
    let child = d.run(40, &[("SHMTRADER_RISK__MAX_HOLD_MS", "60000")]);
    let (sym, _) =
        poll(Duration::from_secs(20), || d.positions().into_iter().next()).expect("a position");
    let v = status(&d.inst).expect("status");
    let pid = stage(&v, "executor")["pid"].as_u64().unwrap();
    shmtrader_shm::send_signal(pid as u32, 9).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        d.resting_stops().iter().all(|(s, ..)| *s != sym),
        "the stop was placed before the kill"
    );
    let (code, _) = d.post(
        "/mock/fault",
        r#"{"kind":"delay_path","path":"/fapi/v1/algoOrder","ms":0}"#,
    );
    assert_eq!(code, 200);
    // The restarted executor gives every own position without a live stop its stop.
    let restored = poll(Duration::from_secs(20), || {
        let v = status(&d.inst)?;
        let s = stage(&v, "executor");
        (s["pid"].as_u64()? != pid && s["state"] == "running").then_some(())?;
        d.protected_position()
    });
    assert!(
        restored.is_some(),
        "no stop after the restart: positions {:?}, stops {:?}",
        d.positions(),
        d.resting_stops()
    );
    shmtrader_shm::send_signal(child.id(), 15).unwrap();
    let out = finish(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn two_launches_never_repeat_a_client_order_id_and_keep_the_drawdown_state() {
    let d = Demo::new("twice", &[]);
    for _ in 0..2 {
        let out = finish(d.run(12, &[]), Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = shmtrader_shm::Instance::remove(&d.inst);
    }
    // Every attempt the venue saw (accepted or refused) has its own client id.
    let attempts = d.get("/mock/orders");
    let attempts = attempts.as_array().unwrap();
    assert!(attempts.len() > 4, "too few orders: {}", attempts.len());
    let mut ids = std::collections::HashSet::new();
    for a in attempts {
        if a["endpoint"] == "ALGO_TRIGGER" || a["endpoint"] == "LIQUIDATION" {
            continue; // the venue's own orders
        }
        let id = a["clientOrderId"].as_str().unwrap().to_string();
        assert!(ids.insert(id.clone()), "client id {id} sent twice: {a}");
    }
    // Two launches, two nonces; every order of the second carries the second's.
    let recs = journal_records(&d.journal());
    let launches: Vec<u32> = recs
        .iter()
        .filter_map(|r| match r {
            Record::Launch { launch, .. } => Some(*launch),
            _ => None,
        })
        .collect();
    assert_eq!(launches.len(), 2, "{launches:?}");
    assert!(launches[1] > launches[0]);
    // The risk state outlives the launch: the second launch starts from the first's
    // peak equity, not from a fresh allowance.
    let mut peak_end_first = None;
    let mut peak_start_second = None;
    let mut seen_second = false;
    for r in &recs {
        match r {
            Record::Launch { launch, .. } if *launch == launches[1] => seen_second = true,
            Record::RiskState(s) if !seen_second => peak_end_first = Some(s.peak_equity),
            Record::RiskState(s) if seen_second && peak_start_second.is_none() => {
                peak_start_second = Some(s.peak_equity)
            }
            _ => {}
        }
    }
    let (a, b) = (peak_end_first.unwrap(), peak_start_second.unwrap());
    assert!(b >= a - 1e-9, "peak fell across launches: {a} -> {b}");
    positions_agree(&d, Duration::from_secs(5)).unwrap();
}

#[test]
fn a_listen_key_that_expires_mid_run_loses_no_fill() {
    // Keys live 3 s and are never kept alive: the stream dies and reconnects several
    // times while orders fill; REST covers each gap.
    let d = Demo::new("lkey", &[("SHMTRADER_MOCK__LISTEN_KEY_TTL_S", "3")]);
    let out = finish(
        d.run(20, &[("SHMTRADER_VENUE__LISTEN_KEY_KEEPALIVE_S", "3000")]),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    let reconnects = stderr.matches("user-data stream reconnected").count();
    assert!(
        reconnects >= 2,
        "the key never expired ({reconnects}):\n{stderr}"
    );
    positions_agree(&d, Duration::from_secs(5)).unwrap();
    let fees = trading_figs(&d.inst)[shmtrader_stages::runtime::fig::FEES];
    let venue = d.venue_fees();
    assert!(fees > 0.0);
    assert!(
        (fees - venue).abs() < 1e-4,
        "fees {fees} vs venue {venue}: a fill was lost or counted twice"
    );
}

#[test]
fn a_liquidation_by_the_venue_is_reconciled_and_its_stop_cancelled() {
    let d = Demo::new("liq", &[]);
    let child = d.run(
        40,
        &[
            ("SHMTRADER_RISK__MAX_HOLD_MS", "60000"),
            ("SHMTRADER_RISK__ALLOW_REVERSE", "false"),
        ],
    );
    poll(Duration::from_secs(20), || d.protected_position())
        .expect("a position with its stop resting");
    // No new entries from here, so the symbol's stop can only go because its position
    // went.
    let out = cmd(&["stop-entries", "--instance", &d.inst, "--timeout", "20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (sym, _) = d.protected_position().expect("still protected");
    let (code, body) = d.post("/mock/liquidate", &format!(r#"{{"symbol":"{sym}"}}"#));
    assert_eq!(code, 200, "{body}");
    // The executor applies the venue's fill, raises an alert and cancels the stop of a
    // position that no longer exists.
    let done = poll(Duration::from_secs(10), || {
        let figs = trading_figs(&d.inst);
        let stop_gone = d.resting_stops().iter().all(|(s, ..)| *s != sym);
        (figs[shmtrader_stages::runtime::fig::ALERTS] >= 1.0 && stop_gone).then_some(())
    });
    assert!(
        done.is_some(),
        "no alert ({}) or the stop stayed: stops {:?}",
        trading_figs(&d.inst)[shmtrader_stages::runtime::fig::ALERTS],
        d.resting_stops()
    );
    let liquidated = journal_records(&d.journal()).iter().any(|r| {
        matches!(r, Record::ExternalFill(x) if x.symbol == sym && x.kind == ExternalKind::Liquidation)
    });
    assert!(liquidated, "no liquidation fill journaled for {sym}");
    positions_agree(&d, Duration::from_secs(10)).unwrap();
    shmtrader_shm::send_signal(child.id(), 15).unwrap();
    let out = finish(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_env_file_readable_by_others_and_a_missing_key_fail_clearly_at_start() {
    let d = Demo::new("keys", &[]);
    let env_file = d.dir.join(".env");
    let run = |extra: &[(&str, &str)]| {
        let t = Instant::now();
        let out = d
            .command(&["run", "--instance", &d.inst, "--duration", "5"], extra)
            .output()
            .unwrap();
        (out, t.elapsed())
    };
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (out, took) = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "a 0644 .env was accepted");
    assert!(stderr.contains("chmod 600"), "{stderr}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    std::fs::write(&env_file, format!("BINANCE_TESTNET_API_KEY={}\n", d.key)).unwrap();
    std::fs::set_permissions(&env_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (out, _) = run(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "a missing secret was accepted");
    assert!(stderr.contains("BINANCE_TESTNET_API_SECRET"), "{stderr}");
    assert!(!stderr.contains(&d.key), "the key was printed:\n{stderr}");
}

#[test]
fn live_needs_both_the_mode_and_the_flag() {
    let live = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/live.toml");
    let out = cmd(&["run", "--config", live.to_str().unwrap(), "--duration", "1"])
        .env_remove("BINANCE_API_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("--live"), "{e}");
    let out = cmd(&["run", "--live", "--duration", "1"]).output().unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("mode = \"live\""), "{e}");
}

#[test]
fn flatten_asks_the_executor_to_close_every_position_and_cancel_its_stops() {
    let d = Demo::new("flat", &[]);
    let child = d.run(
        60,
        &[
            ("SHMTRADER_RISK__MAX_HOLD_MS", "60000"),
            ("SHMTRADER_RISK__ALLOW_REVERSE", "false"),
        ],
    );
    poll(Duration::from_secs(20), || d.protected_position())
        .expect("a position with its stop resting");
    let out = cmd(&["flatten", "--instance", &d.inst, "--timeout", "20"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        // What the venue and the executor saw, for the failure message.
        let venue = (d.positions(), d.resting_stops());
        shmtrader_shm::send_signal(child.id(), 15).unwrap();
        let run = finish(child, Duration::from_secs(60));
        let log: Vec<String> = String::from_utf8_lossy(&run.stderr)
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("flatten"))
            .map(str::to_string)
            .collect();
        panic!(
            "flatten failed:\n{text}\nvenue positions and stops: {venue:?}\nrun log:\n{}",
            log.join("\n")
        );
    }
    assert!(text.contains("closed"), "{text}");
    // Flat on the venue, nothing resting, and no new entries until `resume`.
    assert!(
        d.positions().is_empty(),
        "positions left: {:?}",
        d.positions()
    );
    assert!(
        d.resting_stops().is_empty(),
        "stops left: {:?}",
        d.resting_stops()
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        d.positions().is_empty(),
        "an entry after flatten: {:?}",
        d.positions()
    );
    let st = status(&d.inst).expect("status");
    assert_eq!(st["trading"]["entries_stopped"], true, "{}", st["trading"]);
    let out = cmd(&["resume", "--instance", &d.inst, "--timeout", "20"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let resumed = poll(Duration::from_secs(3), || {
        let st = status(&d.inst)?;
        (st["trading"]["entries_stopped"] == false).then_some(())
    });
    assert!(resumed.is_some());
    shmtrader_shm::send_signal(child.id(), 15).unwrap();
    let out = finish(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
