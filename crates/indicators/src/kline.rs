//! Reading kline files: the `open_time_ms,open,high,low,close,volume` files of
//! `shared/data` and Binance public-data klines (12 columns, with or without a header;
//! newer spot files stamp microseconds), plain or gzip.

use crate::bar::Bar;
use crate::error::{IndicatorError, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// Reads every kline of a file. A row that cannot be read is an error naming its line;
/// so are duplicate or decreasing open times.
pub fn read_klines(path: &Path) -> Result<Vec<Bar>> {
    let name = path.display().to_string();
    let io = |e: std::io::Error| IndicatorError::Io {
        path: name.clone(),
        why: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let f = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn Read> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    parse_klines(BufReader::new(reader), &name)
}

/// Parses kline rows from a reader (see [`read_klines`]); `name` is used in errors.
pub fn parse_klines(reader: impl BufRead, name: &str) -> Result<Vec<Bar>> {
    let mut out: Vec<Bar> = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let lineno = i + 1;
        let line = line.map_err(|e| IndicatorError::Kline {
            path: name.to_string(),
            line: lineno,
            why: e.to_string(),
        })?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let err = |why: String| IndicatorError::Kline {
            path: name.to_string(),
            line: lineno,
            why,
        };
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let first_is_number = cells.first().is_some_and(|c| c.parse::<i64>().is_ok());
        if lineno == 1 && !first_is_number {
            continue; // header
        }
        if cells.len() < 6 {
            return Err(err(format!(
                "expected at least 6 columns, found {}",
                cells.len()
            )));
        }
        let mut t: i64 = cells[0]
            .parse()
            .map_err(|_| err(format!("open time {:?} is not an integer", cells[0])))?;
        if t > 100_000_000_000_000 {
            t /= 1_000; // microseconds (Binance public data for spot since 2025)
        }
        let mut v = [0.0f64; 5];
        for (j, col) in ["open", "high", "low", "close", "volume"]
            .iter()
            .enumerate()
        {
            let c = cells[j + 1];
            let x: f64 = c
                .parse()
                .map_err(|_| err(format!("{col} {c:?} is not a number")))?;
            if !x.is_finite() || x < 0.0 {
                return Err(err(format!("{col} {c:?} must be finite and not negative")));
            }
            v[j] = x;
        }
        let [open, high, low, close, volume] = v;
        if high < low || open > high || open < low || close > high || close < low {
            return Err(err(format!(
                "inconsistent prices: open {open} high {high} low {low} close {close}"
            )));
        }
        if let Some(prev) = out.last() {
            if t <= prev.open_time_ms {
                return Err(err(format!(
                    "open time {t} is not after the previous row's {}",
                    prev.open_time_ms
                )));
            }
        }
        out.push(Bar {
            open_time_ms: t,
            open,
            high,
            low,
            close,
            volume,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_with_and_without_header() {
        let a = "open_time_ms,open,high,low,close,volume\n1,2,3,1,2.5,10\n2,2.5,3,2,2,1\n";
        let k = parse_klines(a.as_bytes(), "a").unwrap();
        assert_eq!(k.len(), 2);
        assert_eq!(k[0].close, 2.5);
        let b = "1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.2,1637971259999,1.03,79,19523.0,0.55,0\n";
        let k = parse_klines(b.as_bytes(), "b").unwrap();
        assert_eq!(
            (k[0].open_time_ms, k[0].close),
            (1_637_971_200_000, 0.00002854)
        );
        let us = "1737971200000000,1,1,1,1,1,0,0,0,0,0,0\n";
        assert_eq!(
            parse_klines(us.as_bytes(), "c").unwrap()[0].open_time_ms,
            1_737_971_200_000
        );
    }

    #[test]
    fn bad_rows_name_their_line() {
        let bad = "open_time_ms,open,high,low,close,volume\n1,2,3,1,2,1\n2,2,x,1,2,1\n";
        let e = parse_klines(bad.as_bytes(), "f.csv")
            .unwrap_err()
            .to_string();
        assert!(e.contains("f.csv:3") && e.contains("high"), "{e}");
        let nan = "1,2,3,1,NaN,1\n";
        assert!(parse_klines(nan.as_bytes(), "f")
            .unwrap_err()
            .to_string()
            .contains("f:1"));
        let neg = "1,2,3,1,2,-1\n";
        assert!(parse_klines(neg.as_bytes(), "f").is_err());
        let short = "1,2,3\n";
        assert!(parse_klines(short.as_bytes(), "f")
            .unwrap_err()
            .to_string()
            .contains("6 columns"));
        let order = "2,1,1,1,1,1\n1,1,1,1,1,1\n";
        assert!(parse_klines(order.as_bytes(), "f")
            .unwrap_err()
            .to_string()
            .contains("f:2"));
        let crossed = "1,2,1,3,2,1\n";
        assert!(parse_klines(crossed.as_bytes(), "f").is_err());
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let e = read_klines(Path::new("/nonexistent/k.csv"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/k.csv"), "{e}");
    }
}
