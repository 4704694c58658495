//! `shmtrader indicators`: the real binary on real klines and on bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_e2e::bin;
use std::process::Command;

const HEADER: &str = "open_time_ms,close,ema_fast,ema_slow,rsi,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,bb_pct_b,atr";

fn data(rel: &str) -> Option<std::path::PathBuf> {
    let d = std::env::var_os("SHMTRADER_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
        });
    let p = d.join(rel);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var("SHMTRADER_REQUIRE_DATA").as_deref() != Ok("1"),
        "{} missing",
        p.display()
    );
    eprintln!("SKIPPED: {} missing", p.display());
    None
}

#[test]
fn prints_the_documented_csv_for_real_klines_of_both_layouts() {
    for rel in [
        "typhonun_DcaTpStrategy/futures/ETH_USDT_USDT-1m-futures.csv.gz",
        "nautechsystems_nautilus_trader/test_kit/ADABTC-1m-2021-11-27.csv",
    ] {
        let Some(p) = data(rel) else { return };
        let out = Command::new(bin())
            .args(["indicators", "--data"])
            .arg(&p)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], HEADER);
        // First row: only time and close; from row 35 (MACD's lookback 33) all cells.
        assert!(lines[1].ends_with(",,,,,,,,,,,"), "{}", lines[1]);
        assert!(lines[35].split(',').all(|c| !c.is_empty()), "{}", lines[35]);
        assert!(lines.len() > 1000);
    }
}

#[test]
fn config_periods_are_used() {
    let Some(p) = data("nautechsystems_nautilus_trader/test_kit/ADABTC-1m-2021-11-27.csv") else {
        return;
    };
    let out = Command::new(bin())
        .args(["indicators", "--data"])
        .arg(&p)
        .env("SHMTRADER_INDICATORS__EMA_FAST", "2")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let row2: Vec<&str> = text.lines().nth(2).unwrap().split(',').collect();
    assert!(
        !row2[2].is_empty(),
        "EMA(2) has a value on the second kline"
    );
}

#[test]
fn bad_row_and_missing_file_are_clear_errors() {
    let dir = std::env::temp_dir().join(format!("shm-ind-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("bad.csv");
    std::fs::write(
        &f,
        "open_time_ms,open,high,low,close,volume\n1,2,3,1,2,1\n2,2,3,1,NaN,1\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["indicators", "--data"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv:3") && err.contains("close"), "{err}");
    let out = Command::new(bin())
        .args(["indicators", "--data", "/nonexistent/klines.csv"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/klines.csv"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn backtest_cli_writes_summary_json_and_html() {
    let Some(p) = data("nautechsystems_nautilus_trader/test_kit/ADABTC-1m-2021-11-27.csv") else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("shm-bt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (json, html) = (dir.join("bt.json"), dir.join("bt.html"));
    let out = Command::new(bin())
        .args(["backtest", "--data"])
        .arg(format!("ADABTC={}", p.display()))
        .arg("--json")
        .arg(&json)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for k in [
        "trades",
        "win_rate",
        "net_pnl",
        "gross_pnl",
        "fees",
        "profit_factor",
        "avg_win",
        "avg_loss",
        "max_drawdown",
        "sharpe",
        "sortino",
        "exposure",
        "ticks",
    ] {
        // Present; a ratio that one day of data cannot define (Sharpe) may be null.
        assert!(
            v["summary"].as_object().unwrap().contains_key(k),
            "summary.{k} missing"
        );
    }
    assert!(v["per_symbol"].is_object() && v["trades"].is_array());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg"), "no inline plot in the report");

    // One account per symbol: a table and {"accounts": {...}}; combined with --compare
    // it is refused with a reason, before any data is read.
    let sep = dir.join("sep.json");
    let out = Command::new(bin())
        .args(["backtest", "--separate", "--data"])
        .arg(format!("ADABTC={}", p.display()))
        .arg("--json")
        .arg(&sep)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 separate accounts"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&sep).unwrap()).unwrap();
    assert!(v["accounts"]["ADABTC"]["summary"].is_object());
    let out = Command::new(bin())
        .args(["backtest", "--separate", "--compare", "--data"])
        .arg(format!("ADABTC={}", p.display()))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--separate"));
    std::fs::remove_dir_all(&dir).unwrap();
}
