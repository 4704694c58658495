//! Warm start end to end: `shmtrader run` on config/default.toml (1-minute bars, ingest
//! from the mock's websockets) with nothing changed but ports and paths.

use shmtrader_e2e::{bin, free_port, instance, poll, port_env, stage, status, Cleanup};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Every symbol's indicators are ready within 10 s of start (the mock's seeded day of
/// klines, fetched and replayed into the engine), `status` says so per symbol, the log
/// names what was loaded, and a restarted executor takes its ATR from the bars ring at
/// once instead of rebuilding bars for 15 minutes.
#[test]
fn default_config_is_ready_within_ten_seconds_and_a_restarted_executor_has_its_atr() {
    let inst = instance("warm");
    let _c = Cleanup(inst.clone());
    let dir = std::env::temp_dir().join(format!("shmtrader-warm-{inst}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut c = Command::new(bin());
    c.args([
        "run",
        "--instance",
        &inst,
        "--duration",
        "40",
        "--keep-segments",
    ])
    .env("RUST_LOG", "info")
    .env("SHMTRADER_EXECUTOR__JOURNAL_DIR", dir.join("journal"))
    .env("SHMTRADER_EXECUTOR__KILL_SWITCH_FILE", dir.join("KILL"))
    .env("SHMTRADER_ML__MODEL_DIR", dir.join("ml"))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in port_env(free_port()) {
        c.env(k, v);
    }
    let t0 = Instant::now();
    let child = c.spawn().expect("spawn shmtrader run");
    let ready = poll(Duration::from_secs(10), || {
        let st = status(&inst)?;
        let m = st["markets"].as_object()?;
        (m.len() == 3 && m.values().all(|x| x["state"] == "ready")).then_some(st)
    });
    let took = t0.elapsed();
    let Some(st) = ready else {
        let _ = shmtrader_shm::send_signal(child.id(), 15);
        let out = shmtrader_e2e::finish(child, Duration::from_secs(30));
        panic!(
            "indicators not ready within 10 s: {:?}\n{}",
            status(&inst).map(|s| s["markets"].clone()),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    eprintln!("all symbols ready {:.2} s after start", took.as_secs_f64());
    for (sym, m) in st["markets"].as_object().unwrap() {
        assert!(
            m["warm_start_bars"].as_f64().unwrap_or(0.0) >= 1000.0,
            "{sym}: {m}"
        );
        assert_ne!(m["regime"], "unknown", "{sym}: regime not warmed: {m}");
    }
    // The executor, killed, comes back with the ATR of the bars still in the ring.
    let pid = stage(&st, "executor")["pid"]
        .as_u64()
        .expect("executor pid") as u32;
    shmtrader_shm::send_signal(pid, 9).unwrap();
    let restarted = poll(Duration::from_secs(15), || {
        let st = status(&inst)?;
        let p = stage(&st, "executor")["pid"].as_u64()?;
        (p != u64::from(pid) && stage(&st, "executor")["state"] == "running").then_some(())
    });
    assert!(restarted.is_some(), "executor not restarted");
    std::thread::sleep(Duration::from_secs(1));
    let _ = shmtrader_shm::send_signal(child.id(), 15);
    let out = shmtrader_e2e::finish(child, Duration::from_secs(60));
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    for sym in ["BTCUSDT", "ETHUSDT", "SOLUSDT"] {
        assert!(
            log.lines()
                .any(|l| l.contains("warm start: klines loaded") && l.contains(sym)),
            "no warm-start line for {sym}:\n{log}"
        );
    }
    let lines: Vec<&str> = log.lines().collect();
    let restart_at = lines
        .iter()
        .rposition(|l| l.contains("stage attached") && l.contains("\"executor\""))
        .expect("executor attached");
    assert!(
        lines[restart_at..]
            .iter()
            .any(|l| l.contains("ATR taken from the bars ring")),
        "the restarted executor did not seed its ATR:\n{log}"
    );
    assert!(
        !log.contains("volatility_unknown"),
        "an entry was refused for want of an ATR:\n{log}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
