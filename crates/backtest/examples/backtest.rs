//! Runs a backtest from the command line until `shmtrader backtest` is wired:
//! `cargo run --release -p shmtrader-backtest --example backtest -- [--config F]
//! [--json F] [--report F] [--compare] FILE...`

use shmtrader_backtest::{cli, BacktestArgs};
use shmtrader_core::Config;
use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut config: Option<PathBuf> = None;
    let (mut json, mut report, mut compare, mut data) = (None, None, false, Vec::new());
    while let Some(a) = args.next() {
        match a.as_str() {
            "--config" => config = args.next().map(PathBuf::from),
            "--json" => json = args.next().map(PathBuf::from),
            "--report" => report = args.next().map(PathBuf::from),
            "--compare" => compare = true,
            _ => data.push(PathBuf::from(a)),
        }
    }
    let cfg = match config {
        Some(p) => std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                Config::from_toml_str(&t, &p.display().to_string()).map_err(|e| e.to_string())
            }),
        None => Config::embedded_default().map_err(|e| e.to_string()),
    };
    let cfg = match cfg {
        Ok(c) => c,
        Err(e) => {
            eprintln!("config: {e}");
            std::process::exit(2);
        }
    };
    let t0 = std::time::Instant::now();
    match cli(BacktestArgs {
        config: cfg,
        data,
        json,
        report,
        compare,
    }) {
        Ok(code) => {
            eprintln!("done in {:.2} s", t0.elapsed().as_secs_f64());
            std::process::exit(code)
        }
        Err(e) => {
            eprintln!("backtest: {e}");
            std::process::exit(1);
        }
    }
}
