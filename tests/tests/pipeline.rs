//! End-to-end: the launcher and its stages as real processes over real segments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_e2e::*;
use shmtrader_shm::{consumer_id, ring_id, Instance};
use std::process::Stdio;
use std::time::{Duration, Instant};

#[test]
fn run_with_duration_exits_zero_with_records_at_every_stage() {
    let inst = instance("dur");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(&inst, 8, &[]);
    // While it runs, status answers with the documented JSON shape.
    let live = poll(Duration::from_secs(6), || {
        status(&inst).filter(|v| stage(v, "analytics")["records_in"].as_u64().unwrap_or(0) > 1000)
    })
    .expect("status while running");
    for name in ["ingest", "analytics", "executor", "mock-exchange"] {
        let s = stage(&live, name);
        for key in ["pid", "state", "restarts", "records_in", "records_out"] {
            assert!(!s[key].is_null(), "{name}.{key} missing in {s}");
        }
        assert_eq!(s["state"], "running", "{name}: {s}");
    }
    assert!(live["venue"]["rest_url"]
        .as_str()
        .unwrap()
        .starts_with("http://127.0.0.1"));
    let out = finish(child, Duration::from_secs(40));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(stderr.contains("ticks"), "no summary line:\n{stderr}");

    // After a clean stop every stage consumed everything it was given.
    let i = Instance::open(&inst).expect("kept segments");
    let ticks = i.ticks.write_seq();
    assert!(ticks > 10_000, "ticks published: {ticks}");
    let ctl = &i.control;
    let an_cursor = ctl
        .cursor_ref(ring_id::TICKS, consumer_id::ANALYTICS)
        .unwrap();
    let ex_cursor = ctl
        .cursor_ref(ring_id::TICKS, consumer_id::EXECUTOR_TICKS)
        .unwrap();
    assert_eq!(
        an_cursor.cursor.load(std::sync::atomic::Ordering::Acquire),
        ticks
    );
    assert_eq!(
        ex_cursor.cursor.load(std::sync::atomic::Ordering::Acquire),
        ticks
    );
    let sigs = i.signals.write_seq();
    assert!(sigs > 0, "no signals");
    let sig_cursor = ctl
        .cursor_ref(ring_id::SIGNALS, consumer_id::EXECUTOR_SIGNALS)
        .unwrap();
    assert_eq!(
        sig_cursor.cursor.load(std::sync::atomic::Ordering::Acquire),
        sigs
    );
    let figs = ctl.trading().expect("executor published trading figures");
    assert!(
        figs[shmtrader_stages::runtime::fig::ORDERS] > 0.0,
        "no orders"
    );
    for s in 0..3 {
        assert_eq!(
            ctl.stage(s)
                .unwrap()
                .restarts
                .load(std::sync::atomic::Ordering::Relaxed),
            0,
            "stage {s} restarted:\n{stderr}"
        );
    }
}

#[test]
fn killed_analytics_restarts_fast_rebuilds_state_and_loses_or_repeats_nothing() {
    let inst = instance("kill");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(&inst, 12, &[]);
    // Wait until analytics has published some signals, then kill -9 it mid-stream.
    let pid = poll(Duration::from_secs(8), || {
        let v = status(&inst)?;
        let s = stage(&v, "analytics");
        (s["records_out"].as_u64()? >= 2)
            .then(|| s["pid"].as_u64())
            .flatten()
    })
    .expect("analytics producing signals");
    let killed_at = Instant::now();
    shmtrader_shm::send_signal(pid as u32, 9).unwrap();
    let new_pid = poll(Duration::from_secs(3), || {
        let v = status(&inst)?;
        let s = stage(&v, "analytics");
        let p = s["pid"].as_u64()?;
        (p != pid && s["state"] == "running").then_some(p)
    })
    .expect("analytics restarted");
    let restart_time = killed_at.elapsed();
    assert!(
        restart_time < Duration::from_secs(1),
        "restart took {restart_time:?}"
    );
    assert_ne!(new_pid, pid);

    let out = finish(child, Duration::from_secs(40));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let i = Instance::open(&inst).unwrap();
    let slot = i.control.stage(1).unwrap();
    assert_eq!(slot.restarts.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert!(
        slot.reason().contains("signal 9"),
        "reason: {}",
        slot.reason()
    );
    assert!(
        slot.counters[shmtrader_stages::runtime::counter::REWARMED]
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "state was not rebuilt"
    );
    // No record lost: analytics consumed every tick.
    let ticks = i.ticks.write_seq();
    let cur = i
        .control
        .cursor_ref(ring_id::TICKS, consumer_id::ANALYTICS)
        .unwrap();
    assert_eq!(cur.cursor.load(std::sync::atomic::Ordering::Acquire), ticks);
    // The published signals are exactly those an uninterrupted run computes from the
    // same ticks: none lost, none published twice, same decisions after the rebuild.
    let cfg = test_config(&inst);
    let all: Vec<_> = (0..ticks)
        .map(|s| (s, i.ticks.get(s).expect("tick still in ring")))
        .collect();
    let expected = shmtrader_stages::analytics::expected_signals(&cfg, all).unwrap();
    let published: Vec<_> = (0..i.signals.write_seq())
        .map(|s| i.signals.get(s).expect("signal in ring"))
        .collect();
    let key =
        |s: &shmtrader_core::Signal| (s.source_seq, s.symbol_id, s.side, s.strength.to_bits());
    let exp_keys: Vec<_> = expected.iter().map(key).collect();
    let pub_keys: Vec<_> = published.iter().map(key).collect();
    assert!(!exp_keys.is_empty());
    assert_eq!(
        pub_keys, exp_keys,
        "published signals differ from an uninterrupted run"
    );
}

#[test]
fn hung_stage_is_detected_by_heartbeat_and_restarted() {
    let inst = instance("hung");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(
        &inst,
        8,
        &[("SHMTRADER_SUPERVISOR__HEARTBEAT_TIMEOUT_MS", "400")],
    );
    let pid = poll(Duration::from_secs(6), || {
        let v = status(&inst)?;
        let s = stage(&v, "executor");
        (s["state"] == "running")
            .then(|| s["pid"].as_u64())
            .flatten()
    })
    .expect("executor running");
    // SIGSTOP: the process exists but makes no progress and stops heartbeating.
    shmtrader_shm::send_signal(pid as u32, 19).unwrap();
    let reason = poll(Duration::from_secs(4), || {
        let v = status(&inst)?;
        let s = stage(&v, "executor");
        (s["restarts"].as_u64()? >= 1 && s["state"] == "running")
            .then(|| s["last_reason"].as_str().map(str::to_string))
            .flatten()
    })
    .expect("hung executor restarted");
    assert!(reason.contains("hung"), "reason: {reason}");
    let out = finish(child, Duration::from_secs(40));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn second_launcher_on_a_live_instance_is_refused_and_a_stale_one_is_recreated() {
    let inst = instance("stale");
    let _c = Cleanup(inst.clone());
    let first = spawn_run(&inst, 4, &[]);
    poll(Duration::from_secs(5), || status(&inst)).expect("first launcher up");
    let second = cmd(&["run", "--instance", &inst, "--duration", "1"])
        .output()
        .unwrap();
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("already running"), "{err}");
    let out = finish(first, Duration::from_secs(30));
    assert!(out.status.success());
    // The first run kept its segments (--keep-segments) and its launcher is dead: the
    // next start must detect the stale instance and recreate it.
    let third = cmd(&["run", "--instance", &inst, "--duration", "2"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&third.stderr);
    assert!(third.status.success(), "{err}");
    assert!(err.contains("stale"), "{err}");
    assert!(
        Instance::open(&inst).is_err(),
        "segments removed after a clean run"
    );
}

#[test]
fn bad_config_refuses_to_start_and_names_the_key() {
    let dir = std::env::temp_dir().join(format!("shmtrader-e2e-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases = [
        (
            "unknown.toml",
            "[supervisor]\nmax_restart = 3\n",
            "max_restart",
        ),
        ("badvalue.toml", "[rings]\nticks = 1000\n", "rings.ticks"),
        (
            "badtype.toml",
            "[risk]\nleverage = \"ten\"\n",
            "risk.leverage",
        ),
        ("syntax.toml", "[risk\nleverage = 3\n", "syntax.toml"),
    ];
    for (file, text, key) in cases {
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        let out = cmd(&["run", "--config", p.to_str().unwrap(), "--duration", "1"])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{file} started");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(key),
            "{file}: error does not name {key}: {err}"
        );
    }
    let out = cmd(&["run", "--config", "/nonexistent/shmtrader.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/shmtrader.toml"));
    let out = cmd(&["run", "--duration", "1"])
        .env("SHMTRADER_RISK__LEVERAGE", "500")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("risk.leverage"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn too_many_restarts_stop_everything_with_a_clear_message() {
    let inst = instance("giveup");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(
        &inst,
        30,
        &[
            ("SHMTRADER_SUPERVISOR__MAX_RESTARTS", "2"),
            ("SHMTRADER_SUPERVISOR__RESTART_WINDOW_S", "60"),
        ],
    );
    let mut last_pid = 0;
    for _ in 0..3 {
        let pid = poll(Duration::from_secs(5), || {
            let v = status(&inst)?;
            let s = stage(&v, "analytics");
            let p = s["pid"].as_u64()?;
            (p != last_pid && s["state"] == "running").then_some(p)
        });
        let Some(pid) = pid else { break };
        last_pid = pid;
        shmtrader_shm::send_signal(pid as u32, 9).unwrap();
    }
    let out = finish(child, Duration::from_secs(30));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("stage analytics failed 3 times"), "{err}");
}

#[test]
fn sigterm_stops_stages_in_order_and_removes_segments() {
    let inst = instance("term");
    let child = {
        let mut c = cmd(&["run", "--instance", &inst]);
        c.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c.spawn().unwrap()
    };
    poll(Duration::from_secs(5), || {
        status(&inst).filter(|v| stage(v, "executor")["state"] == "running")
    })
    .expect("running");
    shmtrader_shm::send_signal(child.id(), 15).unwrap();
    let out = finish(child, Duration::from_secs(20));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let pos = |needle: &str| {
        err.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing:\n{err}"))
    };
    assert!(pos("stopped stage=\"ingest\"") < pos("stopped stage=\"analytics\""));
    assert!(pos("stopped stage=\"analytics\"") < pos("stopped stage=\"executor\""));
    assert!(Instance::open(&inst).is_err(), "segments removed");
    let _c = Cleanup(inst);
}

#[test]
fn ring_benchmark_runs_and_writes_the_documented_rows() {
    let p = std::env::temp_dir().join(format!("ring-bench-{}.json", std::process::id()));
    let out = cmd(&["bench", "ring", "--quick", "--json", p.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    let _ = std::fs::remove_file(&p);
    let names: Vec<&str> = rows.iter().filter_map(|r| r["name"].as_str()).collect();
    for want in [
        "ring.spin.latency",
        "ring.futex.latency",
        "ring.throughput",
        "uds.latency",
        "uds.throughput",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    for r in &rows {
        let v = r["value"].as_f64().unwrap();
        assert!(v.is_finite() && v > 0.0, "{r}");
        for k in ["name", "unit", "value", "p99", "p999", "baseline", "ratio"] {
            assert!(r.get(k).is_some(), "{k} missing in {r}");
        }
    }
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("ring.throughput") && table.contains("uds.throughput"),
        "{table}"
    );
}

#[test]
fn ccxt_third_party_client_works_unmodified_against_the_mock() {
    let has_ccxt = std::process::Command::new("python3")
        .args(["-c", "import ccxt"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_ccxt {
        assert!(
            std::env::var("SHMTRADER_REQUIRE_DATA").as_deref() != Ok("1"),
            "python package ccxt missing (CI installs it)"
        );
        println!("SKIPPED: python package ccxt not installed (pip install ccxt)");
        return;
    }
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut mock = cmd(&["mock-exchange", "--listen", &addr])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let up = poll(Duration::from_secs(10), || {
        std::net::TcpStream::connect(&addr).ok()
    });
    assert!(up.is_some(), "mock did not start");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/third_party/ccxt_against_mock.py"
    );
    let out = std::process::Command::new("python3")
        .args([script, &format!("http://{addr}")])
        .output()
        .unwrap();
    let _ = mock.kill();
    let _ = mock.wait();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn executor_killed_repeatedly_never_sends_a_signal_twice_and_rebuilds_positions() {
    // A run on config/stress.toml (orders every second) against the mock exchange; the
    // executor is killed with SIGKILL twenty times at arbitrary moments.
    let inst = instance("chaos");
    let _c = Cleanup(inst.clone());
    let port = free_port();
    let stress = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/stress.toml");
    let mut c = cmd(&[
        "run",
        "--instance",
        &inst,
        "--duration",
        "70",
        "--keep-segments",
        "--config",
        stress.to_str().unwrap(),
    ]);
    for (k, v) in port_env(port) {
        c.env(k, v);
    }
    // The real paper path: market data from the mock's websockets, orders to its REST.
    c.env("SHMTRADER_SUPERVISOR__MAX_RESTARTS", "100")
        .env("SHMTRADER_INGEST__SOURCE", "exchange")
        .env("SHMTRADER_ML__ENABLED", "true")
        .env("SHMTRADER_ML__MODEL_DIR", journal_dir().join("ml"))
        .env("SHMTRADER_MOCK__TRADES_PER_SEC", "1500")
        .env("SHMTRADER_STRATEGY__COOLDOWN_MS", "500")
        .env("SHMTRADER_SUPERVISOR__RESTART_BACKOFF_MAX_MS", "300")
        .env("SHMTRADER_EXECUTOR__JOURNAL_DIR", journal_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = c.spawn().unwrap();
    let mut kills = 0;
    let mut last_pid = 0;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(50) && kills < 20 {
        // The first orders need warm indicators: allow longer before the first kill.
        let wait = if kills == 0 { 25 } else { 8 };
        let pid = poll(Duration::from_secs(wait), || {
            let v = status(&inst)?;
            let s = stage(&v, "executor");
            let p = s["pid"].as_u64()?;
            (p != last_pid && s["state"] == "running" && v["trading"]["orders"].as_f64()? > 0.0)
                .then_some(p)
        });
        let Some(pid) = pid else { break };
        // Let it trade for a moment, then kill -9 at an arbitrary point.
        std::thread::sleep(Duration::from_millis(150 + 37 * (kills % 9)));
        shmtrader_shm::send_signal(pid as u32, 9).unwrap();
        last_pid = pid;
        kills += 1;
    }
    assert_eq!(kills, 20, "only {kills} kills");
    // Let the last executor reconcile and settle, then read the mock's books while it
    // still runs.
    let settled = poll(Duration::from_secs(8), || {
        let v = status(&inst)?;
        let s = stage(&v, "executor");
        (s["pid"].as_u64()? != last_pid && s["state"] == "running").then_some(())
    });
    assert!(settled.is_some(), "executor did not come back");
    std::thread::sleep(Duration::from_millis(1000));
    // Positions move while it trades: sample the mock, the executor's published
    // positions and the journal at a quiet moment (the mock's positions unchanged
    // across the sample) and require all three to agree.
    let cfg = test_config(&inst);
    let path = journal_dir().join(format!("{inst}.journal"));
    let mock_q = |v: &serde_json::Value, sym: &str| -> f64 {
        v.as_array()
            .unwrap()
            .iter()
            .find(|p| p["symbol"] == sym)
            .map_or(0.0, |p| {
                p["positionAmt"].as_str().unwrap().parse::<f64>().unwrap()
            })
    };
    let ctl = Instance::open(&inst).unwrap();
    let mut last_diff = String::new();
    let agreed = poll(Duration::from_secs(15), || {
        let m1 = http_get_json(port, "/mock/positions")?;
        let published = ctl.control.positions()?;
        let scan = shmtrader_journal::read_journal(&path).ok()?;
        let m2 = http_get_json(port, "/mock/positions")?;
        if m1 != m2 {
            return None;
        }
        let mut net = std::collections::HashMap::<u32, f64>::new();
        for o in scan.state.orders() {
            let q: f64 = o.filled_qty.to_string().parse().unwrap();
            let s = if o.intent.side == shmtrader_core::Side::Buy {
                1.0
            } else {
                -1.0
            };
            *net.entry(o.intent.symbol_id).or_default() += s * q;
        }
        for (idx, sym) in cfg.symbols.iter().enumerate() {
            let j = net.get(&(idx as u32)).copied().unwrap_or(0.0);
            let e = published[idx][0];
            let m = mock_q(&m1, sym);
            if (j - e).abs() > 1e-9 || (j - m).abs() > 1e-9 {
                last_diff = format!("{sym}: journal {j}, executor {e}, mock {m}");
                return None;
            }
        }
        Some(())
    });
    assert!(agreed.is_some(), "positions never agreed: {last_diff}");
    let mock_orders = http_get_json(port, "/mock/orders").expect("GET /mock/orders");
    // Stop now rather than at the end of --duration.
    shmtrader_shm::send_signal(child.id(), 15).unwrap();
    let out = finish(child, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let i = Instance::open(&inst).unwrap();
    let slot = i.control.stage(2).unwrap();
    assert_eq!(
        slot.restarts.load(std::sync::atomic::Ordering::Relaxed) as u64,
        kills
    );

    // The mock never saw a client order id twice.
    let orders = mock_orders.as_array().expect("orders array");
    assert!(!orders.is_empty(), "the mock received no orders");
    let mut mock_ids = std::collections::HashSet::new();
    for o in orders {
        let id = o["clientOrderId"].as_str().unwrap().to_string();
        assert!(mock_ids.insert(id.clone()), "mock got {id} twice");
    }
    // The journal: every id unique, one entry (leg 0) per signal at most, nothing left in
    // flight, and every order the mock accepted is one the journal knows.
    let scan = shmtrader_journal::read_journal(&path).expect("journal readable");
    assert!(
        scan.state.in_flight().next().is_none(),
        "orders left in flight"
    );
    let mut seen = std::collections::HashSet::new();
    let mut entries_per_signal = std::collections::HashMap::<u64, u32>::new();
    for o in scan.state.orders() {
        assert!(
            seen.insert(o.intent.client_order_id.clone()),
            "duplicate id"
        );
        if o.intent.leg == 0 {
            *entries_per_signal.entry(o.intent.signal_seq).or_default() += 1;
        }
    }
    assert!(entries_per_signal.values().all(|&n| n == 1));
    for id in &mock_ids {
        assert!(seen.contains(id), "the mock has {id}, the journal does not");
    }
}

/// The ML filter runs inside the analytics process: every signal is scored, closed
/// trades (real outcomes) train a model in the background, rejected signals get shadow
/// trades, and `status` shows the filter's figures. The model is saved at the clean stop.
#[test]
fn ml_filter_runs_in_analytics_and_reports_in_status() {
    let inst = instance("ml");
    let _c = Cleanup(inst.clone());
    let model_dir = std::env::temp_dir().join(format!("shmtrader-ml-{inst}"));
    let _ = std::fs::remove_dir_all(&model_dir);
    let md = model_dir.to_string_lossy().to_string();
    let child = spawn_run(
        &inst,
        16,
        &[
            ("SHMTRADER_ML__ENABLED", "true"),
            ("SHMTRADER_ML__MIN_EXAMPLES", "20"),
            ("SHMTRADER_ML__WINDOW", "200"),
            ("SHMTRADER_ML__REFIT_EVERY", "10"),
            ("SHMTRADER_ML__MODEL_DIR", md.as_str()),
            // Short holds so trades close and become labels within the run, and no
            // fees so that some of them win on the synthetic random walk (a model needs
            // both classes).
            ("SHMTRADER_RISK__MAX_HOLD_MS", "120"),
            ("SHMTRADER_EXECUTOR__VENUE", "simulated"),
            ("SHMTRADER_RISK__TAKER_FEE", "0"),
            ("SHMTRADER_RISK__SLIPPAGE", "0"),
        ],
    );
    let live = poll(Duration::from_secs(12), || {
        status(&inst).filter(|v| v["ml"]["signals_scored"].as_f64().unwrap_or(0.0) > 0.0)
    })
    .expect("status shows scored signals");
    assert_eq!(live["ml"]["enabled"], true, "{}", live["ml"]);
    for key in [
        "rolling",
        "cache",
        "threshold",
        "model_version",
        "shadow_open",
    ] {
        assert!(
            live["ml"].get(key).is_some(),
            "ml.{key} missing: {}",
            live["ml"]
        );
    }
    let out = finish(child, Duration::from_secs(40));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let i = Instance::open(&inst).expect("kept segments");
    let f = i.control.ml().expect("analytics published ML figures");
    use shmtrader_stages::runtime::mlfig;
    eprintln!("ml figures at the end: {f:?}");
    assert_eq!(f[mlfig::ENABLED], 1.0);
    assert!(f[mlfig::SIGNALS] > 0.0);
    assert!(f[mlfig::SIGNALS_PASSED] <= f[mlfig::SIGNALS]);
    // Trades closed and were joined with their signals' features; training needs about
    // 150 labels (fit, calibration and validation holdouts of at least 30).
    assert!(f[mlfig::LABELLED] >= 150.0, "labels: {f:?}\n{stderr}");
    assert!(
        f[mlfig::VERSION] >= 1.0,
        "no model trained: {f:?}\n{stderr}"
    );
    assert!(model_dir.join(format!("{inst}.model.json")).exists());
    let _ = std::fs::remove_dir_all(&model_dir);
}

/// With ingest on the venue's websockets (the default), the launcher starts ingest only
/// once the mock exchange listens: no refused connections and backoffs at start-up.
#[test]
fn ingest_on_the_mock_connects_first_time() {
    let inst = instance("wsfirst");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(&inst, 4, &[("SHMTRADER_INGEST__SOURCE", "exchange")]);
    let out = finish(child, Duration::from_secs(40));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(
        !stderr.contains("connect failed"),
        "refused connections at start:\n{stderr}"
    );
    let i = Instance::open(&inst).expect("kept segments");
    assert!(
        i.ticks.write_seq() > 0,
        "no trades from the mock's websockets"
    );
}

/// With the depth stream on and bookTicker off, the book tops come from the local
/// depth book (they used to be dropped: the book ring stayed empty).
#[test]
fn book_tops_come_from_depth_when_book_ticker_is_off() {
    let inst = instance("depthtops");
    let _c = Cleanup(inst.clone());
    let child = spawn_run(
        &inst,
        5,
        &[
            ("SHMTRADER_INGEST__SOURCE", "exchange"),
            ("SHMTRADER_INGEST__DEPTH", "true"),
            ("SHMTRADER_INGEST__BOOK_TICKER", "false"),
        ],
    );
    let out = finish(child, Duration::from_secs(40));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    let i = Instance::open(&inst).expect("kept segments");
    let n = i.book.write_seq();
    assert!(n > 0, "no book tops from the depth stream\n{stderr}");
    let top = i.book.get(n - 1).expect("last book top");
    assert!(top.bid_px > 0.0 && top.ask_px > top.bid_px, "{top:?}");
}
