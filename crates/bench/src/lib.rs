//! The shmtrader benchmark suite.
//!
//! Every figure is reported as a median with percentiles and compared with a baseline
//! measured in the same run (a Unix socket for the ring, a naive recompute for the
//! indicators, ...): the machines this runs on are shared and noisy, so a ratio means
//! more than an absolute time. Nothing here asserts a time; tests only check that the
//! rows are produced and sane.

pub mod backtest;
pub mod error;
pub mod indicators;
pub mod ml;
pub mod order;
pub mod parse;
pub mod ring;
pub mod risk;

pub use error::{BenchError, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One result row; every benchmark in the project uses this format.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Row {
    /// Dotted name, e.g. `ring.spin.latency`.
    pub name: String,
    /// Unit of `value`, `p99`, `p999` (`ns`, `records/s`, ...).
    pub unit: String,
    /// The median.
    pub value: f64,
    /// 99th percentile, where it applies.
    pub p99: Option<f64>,
    /// 99.9th percentile, where it applies.
    pub p999: Option<f64>,
    /// Name of the baseline row this one is compared with.
    pub baseline: Option<String>,
    /// How many times better than the baseline (>1 = better), for latencies
    /// baseline/value and for throughputs value/baseline.
    pub ratio: Option<f64>,
    /// The accuracy check that goes with the figure (what was compared, how close).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy: Option<String>,
}

impl Row {
    /// A latency row: the median of `samples` with its p99 and p99.9 (sorts them), and,
    /// against a baseline's median, the ratio baseline / median (> 1: faster).
    pub fn latency(
        name: &str,
        unit: &str,
        samples: &mut [f64],
        baseline: Option<(&str, f64)>,
        accuracy: Option<String>,
    ) -> Row {
        let (p50, p99, p999) = percentiles(samples);
        Row {
            name: name.into(),
            unit: unit.into(),
            value: p50,
            p99: Some(p99),
            p999: Some(p999),
            baseline: baseline.map(|(b, _)| b.to_string()),
            ratio: baseline.map(|(_, b50)| b50 / p50.max(1e-9)),
            accuracy,
        }
    }
}

/// Knobs shared by all benchmarks.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Fewer samples (smoke tests).
    pub quick: bool,
    /// Producer and consumer cores.
    pub cpus: (usize, usize),
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            quick: false,
            cpus: (0, 1),
        }
    }
}

/// Benchmarks this crate knows.
pub const KNOWN: &[&str] = &[
    "ring",
    "risk",
    "indicators",
    "order",
    "parse",
    "ml",
    "backtest",
];

/// Runs one benchmark (`Some(name)`) or all of them. `exe` is the `shmtrader` binary,
/// used to start helper processes (`exe bench-child ...`).
pub fn run(name: Option<&str>, exe: &Path, opts: &BenchOptions) -> Result<Vec<Row>> {
    let names: Vec<&str> = match name {
        None => KNOWN.to_vec(),
        Some(n) if KNOWN.contains(&n) => vec![n],
        Some(n) => return Err(BenchError::Unknown(n.to_string(), KNOWN.join(", "))),
    };
    let mut rows = Vec::new();
    for n in names {
        match n {
            "ring" => rows.extend(ring::run(exe, opts)?),
            "risk" => rows.extend(risk::run(opts)?),
            "indicators" => rows.extend(indicators::run(opts)?),
            "order" => rows.extend(order::run(opts)?),
            "parse" => rows.extend(parse::run(opts)?),
            "ml" => rows.extend(ml::run(opts)?),
            "backtest" => rows.extend(backtest::run(opts)?),
            _ => {}
        }
    }
    Ok(rows)
}

/// Entry point of helper processes (`shmtrader bench-child <args>`).
pub fn child_main(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        Some("ring") | Some("uds") => ring::child(args),
        other => Err(BenchError::Invalid(format!(
            "unknown bench child {other:?}"
        ))),
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// An aligned table of rows, with the ratio to each row's baseline.
pub fn print_table(rows: &[Row]) -> String {
    let mut s = format!(
        "{:<26}{:>11}{:>11}{:>11}  {:<10}{:>22}\n",
        "benchmark", "median", "p99", "p99.9", "unit", "vs baseline"
    );
    for r in rows {
        let opt = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "-".into());
        let vs = match (&r.baseline, r.ratio) {
            (Some(b), Some(x)) => format!("{x:.1}x {b}"),
            _ => String::new(),
        };
        s.push_str(&format!(
            "{:<26}{:>11}{:>11}{:>11}  {:<10}{:>22}\n",
            r.name,
            fmt_num(r.value),
            opt(r.p99),
            opt(r.p999),
            r.unit,
            vs
        ));
    }
    for r in rows {
        if let Some(a) = &r.accuracy {
            s.push_str(&format!("  {}: {a}\n", r.name));
        }
    }
    s
}

/// Writes the rows as a JSON array.
pub fn write_json(rows: &[Row], path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(rows)
        .map_err(|e| BenchError::Invalid(format!("serialising rows: {e}")))?;
    std::fs::write(path, text).map_err(|e| BenchError::io(format!("writing {}", path.display()), e))
}

/// Median, p99 and p99.9 of samples (sorted in place).
pub fn percentiles(samples: &mut [f64]) -> (f64, f64, f64) {
    if samples.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
    (q(0.5), q(0.99), q(0.999))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_series() {
        let mut v: Vec<f64> = (1..=1000).map(f64::from).collect();
        let (p50, p99, p999) = percentiles(&mut v);
        assert_eq!(p50, 501.0);
        assert_eq!(p99, 990.0);
        assert_eq!(p999, 999.0);
    }

    #[test]
    fn json_round_trips_and_table_lists_rows() {
        let rows = vec![Row {
            name: "x.latency".into(),
            unit: "ns".into(),
            value: 12.0,
            p99: Some(20.0),
            p999: None,
            baseline: Some("y".into()),
            ratio: Some(3.0),
            accuracy: None,
        }];
        let p = std::env::temp_dir().join(format!("bench-rows-{}.json", std::process::id()));
        write_json(&rows, &p).unwrap();
        let back: Vec<Row> = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back, rows);
        let _ = std::fs::remove_file(&p);
        assert!(print_table(&rows).contains("3.0x y"));
    }

    #[test]
    fn risk_benchmark_produces_its_rows() {
        let rows = run(
            Some("risk"),
            Path::new("/bin/false"),
            &BenchOptions {
                quick: true,
                cpus: (0, 1),
            },
        )
        .unwrap();
        assert_eq!(rows[0].name, "risk.check_and_build");
        assert!(rows.iter().all(|r| r.value.is_finite() && r.value > 0.0));
    }

    #[test]
    fn unknown_benchmark_is_an_error_listing_the_known_ones() {
        let e = run(
            Some("nope"),
            Path::new("/bin/false"),
            &BenchOptions::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("ring"));
    }
}
