#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Runs over the real Binance data in `shared/data` (`SHMTRADER_DATA`, default
//! `../shared/data` from the workspace root). Each test prints a notice and skips when
//! the data is missing, unless `SHMTRADER_REQUIRE_DATA=1` (CI), where it fails.

use shmtrader_backtest::data::{load, IntrabarPath};
use shmtrader_backtest::{run, run_market, BacktestOptions};
use shmtrader_core::Config;
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    std::env::var_os("SHMTRADER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// The files, or `None` (after a visible notice) when the data is absent.
fn files(rel: &[&str]) -> Option<Vec<PathBuf>> {
    let d = data_dir();
    let out: Vec<PathBuf> = rel.iter().map(|r| d.join(r)).collect();
    if let Some(missing) = out.iter().find(|p| !p.exists()) {
        let req = std::env::var("SHMTRADER_REQUIRE_DATA").is_ok_and(|v| v == "1");
        assert!(
            !req,
            "{} missing (SHMTRADER_REQUIRE_DATA=1)",
            missing.display()
        );
        eprintln!("SKIPPED: {} missing", missing.display());
        return None;
    }
    Some(out)
}

fn opts() -> BacktestOptions {
    BacktestOptions {
        progress: false,
        ..BacktestOptions::default()
    }
}

const TYPHONUN: &str = "typhonun_DcaTpStrategy/futures";
const SNOWGURU: &str = "TheSnowGuru_Market-Swarm-Agents-/futures";

/// Three symbols, the first two weeks of May 2025, one account. Tests compile in debug,
/// where the HMM refits dominate, so this run refits every 240 bars instead of 60; the
/// loop, the costs and the accounting are the same code.
#[test]
fn two_weeks_of_real_klines_for_three_symbols() {
    let Some(f) = files(&[
        &format!("{TYPHONUN}/BTC_USDT_USDT-1m-futures.csv.gz"),
        &format!("{TYPHONUN}/ETH_USDT_USDT-1m-futures.csv.gz"),
        &format!("{TYPHONUN}/SOL_USDT_USDT-1m-futures.csv.gz"),
    ]) else {
        return;
    };
    let mut m = load(&f, IntrabarPath::NearestFirst).unwrap();
    assert_eq!(m.symbols, ["BTCUSDT", "ETHUSDT", "SOLUSDT"]);
    let start = m.sources.iter().map(|s| s.first_ms).max().unwrap();
    m.window(start, start + 14 * 86_400_000);
    let cfg = Config::from_toml_str("[strategy]\nregime_refit_every_bars = 240\n", "test").unwrap();
    let r = run_market(&cfg, &m, &opts()).unwrap();
    let s = &r.summary;
    eprint!("{}", r.summary_table());
    assert!(s.ticks > 3 * 14 * 1_400 * 4, "{} ticks", s.ticks);
    assert!(s.days >= 14);
    assert!(s.signals > 0);
    // Every position is closed at the end: the trades explain the whole equity change,
    // and the cost decomposition adds up.
    let st = &s.stats;
    assert!((s.final_equity - s.starting_equity - st.net_pnl).abs() < 1e-6);
    assert!((st.gross_pnl - st.fees - st.slippage + st.funding - st.net_pnl).abs() < 1e-6);
    let per_sym: f64 = r.per_symbol.values().map(|v| v.stats.net_pnl).sum();
    assert!((per_sym - st.net_pnl).abs() < 1e-6);
    let per_regime: u64 = r.per_regime.values().map(|v| v.trades).sum();
    assert_eq!(per_regime, st.trades);
    assert!(s.max_drawdown >= 0.0 && s.exposure >= 0.0 && s.exposure <= 1.0);
    let v: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
    assert_eq!(v["trades"].as_array().unwrap().len() as u64, st.trades);
    // ml.enabled is the default: the run filtered through the live online filter, which
    // saw every signal and learned from the outcomes.
    let ml = &v["ml_filter"];
    assert!(ml["stats"]["labelled"].as_u64().unwrap() > 0, "{ml}");
    assert!(s.filtered <= s.signals);
    let html = r.to_html().unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.matches("<svg").count() >= 5);
}

/// The two download folders hold consecutive, overlapping ranges of the same symbol:
/// joined, they give one gap-free series and the overlap agrees bar for bar.
#[test]
fn the_two_kline_folders_join_into_one_series() {
    let Some(f) = files(&[
        &format!("{TYPHONUN}/BTC_USDT_USDT-1m-futures.csv.gz"),
        &format!("{SNOWGURU}/BTC_USDT_USDT-1m-futures.csv.gz"),
    ]) else {
        return;
    };
    let m = load(&f, IntrabarPath::NearestFirst).unwrap();
    let src = &m.sources[0];
    assert_eq!(m.symbols, ["BTCUSDT"]);
    assert!(src.duplicates > 10_000, "{src:?}");
    assert_eq!(src.conflicts, 0, "the overlap must agree");
    let minutes = (src.last_ms - src.first_ms + 1) / 60_000;
    assert_eq!(src.records as i64, minutes, "gap-free");
    assert_eq!(m.trade_count(), src.records * 4);
}

/// Raw websocket captures: trades aggregated into aggTrades, book tops fed to the
/// engine and the broker; the same JSON twice.
#[test]
fn raw_captures_replay_with_book_tops() {
    let Some(f) = files(&[
        "nkaz001_hftbacktest/usdm/btcusdt_20240719.gz",
        "nkaz001_hftbacktest/usdm/ethusdt_20240719.gz",
    ]) else {
        return;
    };
    let cfg = Config::embedded_default().unwrap();
    let a = run(&cfg, &f, &opts()).unwrap();
    let b = run(&cfg, &f, &opts()).unwrap();
    assert_eq!(a.to_json().unwrap(), b.to_json().unwrap());
    assert_eq!(
        a.per_symbol.keys().collect::<Vec<_>>(),
        ["BTCUSDT", "ETHUSDT"]
    );
    assert!(a.summary.ticks > 1_000, "{}", a.summary.ticks);
    assert!(
        a.summary.book_updates > 10_000,
        "{}",
        a.summary.book_updates
    );
    assert!(a.per_symbol.values().all(|s| s.source == "ticks"));
}

/// hftbacktest trade CSVs: raw fills aggregated (fewer aggTrades than fills).
#[test]
fn trade_csvs_are_aggregated() {
    let Some(f) = files(&["nkaz001_hftbacktest/trades_csv/usdm/btcusdt_20240808.trades.csv"])
    else {
        return;
    };
    let m = load(&f, IntrabarPath::NearestFirst).unwrap();
    let n = m.trade_count();
    assert!(n > 1_000 && n < 21_313, "{n} aggTrades from 21313 fills");
    let r = run_market(&Config::embedded_default().unwrap(), &m, &opts()).unwrap();
    assert_eq!(r.summary.ticks, n);
}
