//! Indicator values against TA-Lib's C library on real klines.
//!
//! `scripts/talib_reference.py` (run by `scripts/test.sh`) writes TA-Lib's values for
//! several real kline files into `$SHMTRADER_TALIB_REF`; this test computes the same
//! columns with `write_indicator_csv` and requires every cell to agree to 1e-9 relative,
//! with cells empty in exactly the same rows (same lookback). Skips visibly when the
//! references are absent, unless SHMTRADER_REQUIRE_DATA=1 (CI).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_indicators::{read_klines, write_indicator_csv, IndicatorParams, CSV_HEADER};
use std::path::{Path, PathBuf};

fn require() -> bool {
    std::env::var("SHMTRADER_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

fn ref_dir() -> Option<PathBuf> {
    let d = std::env::var_os("SHMTRADER_TALIB_REF").map(PathBuf::from);
    match d {
        Some(d) if d.join("manifest.tsv").exists() => Some(d),
        _ => {
            let msg = "TA-Lib references missing: run scripts/test.sh (needs `pip install ta-lib`) or set SHMTRADER_TALIB_REF";
            assert!(!require(), "{msg}");
            eprintln!("SKIPPED: {msg}");
            None
        }
    }
}

fn parse(csv: &str) -> Vec<Vec<Option<f64>>> {
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some(CSV_HEADER));
    lines
        .map(|l| {
            l.split(',')
                .map(|c| {
                    if c.is_empty() {
                        None
                    } else {
                        Some(c.parse::<f64>().unwrap())
                    }
                })
                .collect()
        })
        .collect()
}

/// Relative difference, with a floor so a value crossing zero (MACD histogram) is
/// judged against the price scale rather than against 0.
fn rel(a: f64, b: f64, scale: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(scale)
}

#[test]
fn matches_talib_to_1e_9_on_real_klines() {
    let Some(dir) = ref_dir() else { return };
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let cols: Vec<&str> = CSV_HEADER.split(',').collect();
    let mut files = 0;
    for line in manifest.lines().filter(|l| !l.trim().is_empty()) {
        let (name, src) = line.split_once('\t').unwrap();
        let src = Path::new(src);
        if !src.exists() {
            assert!(!require(), "kline file {} missing", src.display());
            eprintln!("SKIPPED {}: missing", src.display());
            continue;
        }
        let want = parse(&std::fs::read_to_string(dir.join(name)).unwrap());
        let klines = read_klines(src).unwrap();
        let mut out = Vec::new();
        write_indicator_csv(&mut out, &klines, &IndicatorParams::default()).unwrap();
        let got = parse(std::str::from_utf8(&out).unwrap());
        assert_eq!(got.len(), want.len(), "{name}: row count");
        let mut worst = vec![0.0f64; cols.len()];
        let mut cells = 0usize;
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let close = w[1].unwrap();
            for c in 0..cols.len() {
                match (g[c], w[c]) {
                    (None, None) => {}
                    (Some(a), Some(b)) => {
                        // %B is a ratio in [0, 1]-ish; everything else is on the price
                        // scale (RSI on 0..100).
                        let scale = match cols[c] {
                            "bb_pct_b" => 1.0,
                            "rsi" => 100.0,
                            _ => close * 1e-6,
                        };
                        let r = rel(a, b, scale);
                        worst[c] = worst[c].max(r);
                        cells += 1;
                        assert!(
                            r <= 1e-9,
                            "{name} row {} ({}): {} = {a} vs TA-Lib {b} (rel {r:e})",
                            i + 2,
                            g[0].unwrap(),
                            cols[c]
                        );
                    }
                    (a, b) => panic!(
                        "{name} row {}: {} is {a:?} here but {b:?} in TA-Lib (lookback differs)",
                        i + 2,
                        cols[c]
                    ),
                }
            }
        }
        eprintln!(
            "{name}: {} rows, {cells} cells; worst relative difference per column:",
            got.len()
        );
        for (c, w) in cols.iter().zip(&worst).skip(2) {
            eprintln!("  {c:<12} {w:.3e}");
        }
        files += 1;
    }
    assert!(files > 0 || !require(), "no reference file compared");
}
