//! Klines (candlesticks) and the 24-hour ticker: the REST bodies a warm start reads
//! (`GET /fapi/v1/klines`, `GET /fapi/v1/ticker/24hr`), the `<symbol>@kline_<interval>`
//! stream event, and Binance's interval names.
//!
//! A kline row arrives as a bare JSON array, so a broken row cannot be named by serde's
//! field machinery; [`parse_klines`] reads the array row by row and refuses the first
//! bad one with [`ExchangeError::BadKline`] (symbol, row index, field, reason, the row's
//! text). A price that is not a positive finite decimal, a volume below zero, a high
//! below the low or a close time before the open time is such a refusal, never a
//! silent 0: a warm start fed one wrong bar would seed every indicator with it.

use serde::de::{self, Deserializer};
use serde::Deserialize;
use serde_json::Value;

use super::account::truncate;
use super::market::dec;
use crate::error::{ExchangeError, Result};

/// Binance's kline intervals with their length in ms (`None` for `1M`: a calendar month
/// has no fixed length), shortest first.
pub const KLINE_INTERVALS: [(&str, Option<i64>); 15] = [
    ("1m", Some(60_000)),
    ("3m", Some(180_000)),
    ("5m", Some(300_000)),
    ("15m", Some(900_000)),
    ("30m", Some(1_800_000)),
    ("1h", Some(3_600_000)),
    ("2h", Some(7_200_000)),
    ("4h", Some(14_400_000)),
    ("6h", Some(21_600_000)),
    ("8h", Some(28_800_000)),
    ("12h", Some(43_200_000)),
    ("1d", Some(86_400_000)),
    ("3d", Some(259_200_000)),
    ("1w", Some(604_800_000)),
    ("1M", None),
];

/// True for one of Binance's interval names (case-sensitive: `1m` is a minute, `1M` a
/// month).
pub fn is_kline_interval(interval: &str) -> bool {
    KLINE_INTERVALS.iter().any(|(n, _)| *n == interval)
}

/// Length of a Binance interval in ms (`"1m"` → 60 000). `None` for a name Binance does
/// not have and for `"1M"` (months differ in length).
pub fn interval_ms(interval: &str) -> Option<i64> {
    KLINE_INTERVALS
        .iter()
        .find(|(n, _)| *n == interval)
        .and_then(|(_, ms)| *ms)
}

/// The Binance interval name of a bar length (60 000 → `"1m"`), so a caller that keeps
/// its bar period in ms can ask the venue for the same bars. `None` when Binance has no
/// such interval (e.g. 120 000).
pub fn interval_name(ms: i64) -> Option<&'static str> {
    KLINE_INTERVALS
        .iter()
        .find(|(_, l)| *l == Some(ms))
        .map(|(n, _)| *n)
}

/// One kline (candlestick) bar, from `GET /fapi/v1/klines`. Klines are identified by
/// their open time; the last one of an answer that reaches "now" is still in progress
/// (its close time lies in the future).
///
/// ```json
/// [1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kline {
    /// Open time (ms), the bar's key.
    pub open_time_ms: i64,
    /// First trade price of the bar.
    pub open: f64,
    /// Highest trade price.
    pub high: f64,
    /// Lowest trade price.
    pub low: f64,
    /// Last trade price (the latest price while in progress).
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
    /// Close time (ms): open time + interval − 1.
    pub close_time_ms: i64,
    /// Quote-asset (USDT) volume.
    pub quote_volume: f64,
    /// Number of trades.
    pub trades: u64,
    /// Base volume bought by takers.
    pub taker_buy_base: f64,
    /// Quote volume bought by takers.
    pub taker_buy_quote: f64,
}

/// Why one kline row was refused: the field and the reason (both static, so the caller
/// adds the symbol and the row index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowError {
    /// `open_time`, `open`, ..., or `-` for the row itself.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn bad(field: &'static str, reason: &'static str) -> RowError {
    RowError { field, reason }
}

fn time(row: &[Value], i: usize, field: &'static str) -> std::result::Result<i64, RowError> {
    row[i]
        .as_i64()
        .filter(|t| *t >= 0)
        .ok_or(bad(field, "is not a time in ms"))
}

fn decimal(row: &[Value], i: usize, field: &'static str) -> std::result::Result<f64, RowError> {
    let Some(text) = row[i].as_str() else {
        return Err(bad(field, "is not a decimal string"));
    };
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad(field, "is not a finite decimal")),
    }
}

fn price(row: &[Value], i: usize, field: &'static str) -> std::result::Result<f64, RowError> {
    let v = decimal(row, i, field)?;
    if v > 0.0 {
        Ok(v)
    } else {
        Err(bad(field, "is not a positive price"))
    }
}

fn amount(row: &[Value], i: usize, field: &'static str) -> std::result::Result<f64, RowError> {
    let v = decimal(row, i, field)?;
    if v >= 0.0 {
        Ok(v)
    } else {
        Err(bad(field, "is negative"))
    }
}

impl Kline {
    /// Reads one row of Binance's array form (11 elements, or 12 with the trailing
    /// "ignore").
    ///
    /// # Errors
    /// The [`RowError`] of the first field that is missing, of the wrong type, not a
    /// positive finite price / non-negative finite amount, or inconsistent (high below
    /// low, open or close outside high..low, close time before open time).
    pub fn from_row(row: &Value) -> std::result::Result<Kline, RowError> {
        let Some(r) = row.as_array().filter(|r| r.len() >= 11) else {
            return Err(bad("-", "is not an array of 11 or 12 elements"));
        };
        let k = Kline {
            open_time_ms: time(r, 0, "open_time")?,
            open: price(r, 1, "open")?,
            high: price(r, 2, "high")?,
            low: price(r, 3, "low")?,
            close: price(r, 4, "close")?,
            volume: amount(r, 5, "volume")?,
            close_time_ms: time(r, 6, "close_time")?,
            quote_volume: amount(r, 7, "quote_volume")?,
            trades: r[8].as_u64().ok_or(bad("trades", "is not a trade count"))?,
            taker_buy_base: amount(r, 9, "taker_buy_base")?,
            taker_buy_quote: amount(r, 10, "taker_buy_quote")?,
        };
        if k.high < k.low {
            return Err(bad("high", "is below the low"));
        }
        if !(k.low..=k.high).contains(&k.open) {
            return Err(bad("open", "is outside low..high"));
        }
        if !(k.low..=k.high).contains(&k.close) {
            return Err(bad("close", "is outside low..high"));
        }
        if k.close_time_ms < k.open_time_ms {
            return Err(bad("close_time", "is before the open time"));
        }
        Ok(k)
    }

    /// True once the bar has closed at server time `now_ms` (its close time has passed).
    pub fn is_closed(&self, now_ms: i64) -> bool {
        self.close_time_ms < now_ms
    }
}

impl<'de> Deserialize<'de> for Kline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Kline::from_row(&v)
            .map_err(|e| de::Error::custom(format!("kline `{}` {}", e.field, e.reason)))
    }
}

/// Parses a `GET /fapi/v1/klines` body, refusing the first bad row by its index.
///
/// # Errors
/// [`ExchangeError::Malformed`] when the body is not a JSON array;
/// [`ExchangeError::BadKline`] naming `symbol`, the row index, the field and the row's
/// text for the first row [`Kline::from_row`] refuses.
pub fn parse_klines(symbol: &str, body: &[u8]) -> Result<Vec<Kline>> {
    let rows: Vec<Value> = serde_json::from_slice(body).map_err(|e| ExchangeError::Malformed {
        what: "GET /fapi/v1/klines",
        detail: format!("{e}: {}", truncate(&String::from_utf8_lossy(body), 300)),
    })?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            Kline::from_row(row).map_err(|e| ExchangeError::BadKline {
                symbol: symbol.to_string(),
                row: i,
                field: e.field,
                reason: e.reason,
                text: truncate(&row.to_string(), 200).to_string(),
            })
        })
        .collect()
}

/// `GET /fapi/v1/ticker/24hr?symbol=` (weight 1; 40 for all symbols): statistics over
/// the rolling 24 hours up to now.
///
/// ```json
/// {"symbol":"BTCUSDT","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482","lastPrice":"4.00000200","lastQty":"200.00000000","openPrice":"99.00000000","highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ticker24h {
    /// Symbol.
    pub symbol: String,
    /// Last price minus the open price.
    #[serde(deserialize_with = "dec")]
    pub price_change: f64,
    /// Price change in percent of the open price.
    #[serde(deserialize_with = "dec")]
    pub price_change_percent: f64,
    /// Volume-weighted average price of the window.
    #[serde(deserialize_with = "dec")]
    pub weighted_avg_price: f64,
    /// Last trade price.
    #[serde(deserialize_with = "dec")]
    pub last_price: f64,
    /// Last trade quantity.
    #[serde(deserialize_with = "dec")]
    pub last_qty: f64,
    /// First price of the window.
    #[serde(deserialize_with = "dec")]
    pub open_price: f64,
    /// Highest price of the window.
    #[serde(deserialize_with = "dec")]
    pub high_price: f64,
    /// Lowest price of the window.
    #[serde(deserialize_with = "dec")]
    pub low_price: f64,
    /// Base-asset volume.
    #[serde(deserialize_with = "dec")]
    pub volume: f64,
    /// Quote-asset volume.
    #[serde(deserialize_with = "dec")]
    pub quote_volume: f64,
    /// Window start (ms).
    #[serde(rename = "openTime")]
    pub open_time_ms: i64,
    /// Window end (ms).
    #[serde(rename = "closeTime")]
    pub close_time_ms: i64,
    /// First trade id of the window (-1 when none).
    pub first_id: i64,
    /// Last trade id of the window (-1 when none).
    pub last_id: i64,
    /// Number of trades.
    pub count: u64,
}

/// `<symbol>@kline_<interval>`: the bar in progress, pushed every 250 ms while it
/// changes, and once more with `x: true` when it closes.
///
/// ```json
/// {"e":"kline","E":1638747660000,"s":"BTCUSDT","k":{"t":1638747660000,"T":1638747719999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct KlineEvent {
    /// `e`: always `kline`.
    #[serde(rename = "e")]
    pub event_type: String,
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: i64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `k`: the bar.
    #[serde(rename = "k")]
    pub kline: StreamKline,
}

/// The `k` object of a [`KlineEvent`].
///
/// ```json
/// {"t":1638747660000,"T":1638747719999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StreamKline {
    /// `t`: open time (ms).
    #[serde(rename = "t")]
    pub open_time_ms: i64,
    /// `T`: close time (ms).
    #[serde(rename = "T")]
    pub close_time_ms: i64,
    /// `i`: interval name.
    #[serde(rename = "i")]
    pub interval: String,
    /// `f`: first trade id (-1 when the bar has no trade yet).
    #[serde(rename = "f")]
    pub first_trade_id: i64,
    /// `L`: last trade id (-1 when none).
    #[serde(rename = "L")]
    pub last_trade_id: i64,
    /// `o`.
    #[serde(rename = "o", deserialize_with = "dec")]
    pub open: f64,
    /// `c`.
    #[serde(rename = "c", deserialize_with = "dec")]
    pub close: f64,
    /// `h`.
    #[serde(rename = "h", deserialize_with = "dec")]
    pub high: f64,
    /// `l`.
    #[serde(rename = "l", deserialize_with = "dec")]
    pub low: f64,
    /// `v`: base volume.
    #[serde(rename = "v", deserialize_with = "dec")]
    pub volume: f64,
    /// `n`: number of trades.
    #[serde(rename = "n")]
    pub trades: u64,
    /// `x`: the bar is closed (final).
    #[serde(rename = "x")]
    pub closed: bool,
    /// `q`: quote volume.
    #[serde(rename = "q", deserialize_with = "dec")]
    pub quote_volume: f64,
    /// `V`: taker buy base volume.
    #[serde(rename = "V", deserialize_with = "dec")]
    pub taker_buy_base: f64,
    /// `Q`: taker buy quote volume.
    #[serde(rename = "Q", deserialize_with = "dec")]
    pub taker_buy_quote: f64,
}

impl From<&StreamKline> for Kline {
    fn from(k: &StreamKline) -> Kline {
        Kline {
            open_time_ms: k.open_time_ms,
            open: k.open,
            high: k.high,
            low: k.low,
            close: k.close,
            volume: k.volume,
            close_time_ms: k.close_time_ms,
            quote_volume: k.quote_volume,
            trades: k.trades,
            taker_buy_base: k.taker_buy_base,
            taker_buy_quote: k.taker_buy_quote,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC_ROW: &str = r#"[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]"#;

    #[test]
    fn kline_doc_example() {
        let k: Kline = serde_json::from_str(DOC_ROW).unwrap();
        assert_eq!(
            k,
            Kline {
                open_time_ms: 1_499_040_000_000,
                open: 0.0163479,
                high: 0.8,
                low: 0.015758,
                close: 0.015771,
                volume: 148_976.11427815,
                close_time_ms: 1_499_644_799_999,
                quote_volume: 2434.19055334,
                trades: 308,
                taker_buy_base: 1756.87402397,
                taker_buy_quote: 28.46694368,
            }
        );
        assert!(k.is_closed(1_499_644_800_000) && !k.is_closed(1_499_644_799_999));
    }

    #[test]
    fn a_bad_row_is_refused_by_index_and_field() {
        struct Case {
            row: &'static str,
            field: &'static str,
        }
        let cases = [
            // NaN price.
            Case {
                row: r#"[1,"NaN","1","1","1","1",2,"1",1,"0","0","0"]"#,
                field: "open",
            },
            // Negative price.
            Case {
                row: r#"[1,"1","1","-1","1","1",2,"1",1,"0","0","0"]"#,
                field: "low",
            },
            // Zero price.
            Case {
                row: r#"[1,"1","1","1","0","1",2,"1",1,"0","0","0"]"#,
                field: "close",
            },
            // Negative volume.
            Case {
                row: r#"[1,"1","1","1","1","-5",2,"1",1,"0","0","0"]"#,
                field: "volume",
            },
            // Price as a number, not a string.
            Case {
                row: r#"[1,1.0,"1","1","1","1",2,"1",1,"0","0","0"]"#,
                field: "open",
            },
            // Too short.
            Case {
                row: r#"[1,"1","1","1","1","1",2]"#,
                field: "-",
            },
            // High below low.
            Case {
                row: r#"[1,"1","1","2","1","1",2,"1",1,"0","0","0"]"#,
                field: "high",
            },
            // Close outside the range.
            Case {
                row: r#"[1,"1","2","1","3","1",2,"1",1,"0","0","0"]"#,
                field: "close",
            },
            // Close time before open time.
            Case {
                row: r#"[5,"1","1","1","1","1",2,"1",1,"0","0","0"]"#,
                field: "close_time",
            },
            // Fractional trade count.
            Case {
                row: r#"[1,"1","1","1","1","1",2,"1",1.5,"0","0","0"]"#,
                field: "trades",
            },
        ];
        for c in cases {
            let body = format!("[{DOC_ROW},{}]", c.row);
            match parse_klines("BTCUSDT", body.as_bytes()) {
                Err(ExchangeError::BadKline {
                    symbol, row, field, ..
                }) => {
                    assert_eq!(
                        (symbol.as_str(), row, field),
                        ("BTCUSDT", 1, c.field),
                        "{}",
                        c.row
                    );
                }
                other => panic!("{}: expected BadKline, got {other:?}", c.row),
            }
        }
        assert!(matches!(
            parse_klines("BTCUSDT", b"{\"code\":-1121}"),
            Err(ExchangeError::Malformed { .. })
        ));
        assert_eq!(parse_klines("BTCUSDT", b"[]").unwrap(), vec![]);
    }

    #[test]
    fn interval_names_and_lengths_round_trip() {
        for (name, ms) in KLINE_INTERVALS {
            assert!(is_kline_interval(name));
            assert_eq!(interval_ms(name), ms);
            if let Some(ms) = ms {
                assert_eq!(interval_name(ms), Some(name));
            }
        }
        assert_eq!(interval_ms("1m"), Some(60_000));
        assert_eq!(interval_ms("1M"), None, "a month has no fixed length");
        assert_eq!(interval_ms("2m"), None);
        assert_eq!(interval_name(120_000), None);
        assert!(!is_kline_interval("1s") && !is_kline_interval("1H"));
    }

    #[test]
    fn ticker_24hr_doc_example() {
        let j = r#"{"symbol":"BTCUSDT","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482","lastPrice":"4.00000200","lastQty":"200.00000000","openPrice":"99.00000000","highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76}"#;
        let t: Ticker24h = serde_json::from_str(j).unwrap();
        assert_eq!(t.symbol, "BTCUSDT");
        assert_eq!(t.price_change_percent, -95.96);
        assert_eq!((t.last_price, t.open_price), (4.000002, 99.0));
        assert_eq!((t.high_price, t.low_price), (100.0, 0.1));
        assert_eq!((t.volume, t.quote_volume), (8913.3, 15.3));
        assert_eq!(
            (t.open_time_ms, t.close_time_ms),
            (1_499_783_499_040, 1_499_869_899_040)
        );
        assert_eq!((t.first_id, t.last_id, t.count), (28_385, 28_460, 76));
    }

    #[test]
    fn kline_stream_doc_example() {
        let j = r#"{"e":"kline","E":1638747660000,"s":"BTCUSDT","k":{"t":1638747660000,"T":1638747719999,"s":"BTCUSDT","i":"1m","f":100,"L":200,"o":"0.0010","c":"0.0020","h":"0.0025","l":"0.0015","v":"1000","n":100,"x":false,"q":"1.0000","V":"500","Q":"0.500","B":"123456"}}"#;
        let e: KlineEvent = serde_json::from_str(j).unwrap();
        assert_eq!(
            (e.event_type.as_str(), e.symbol.as_str()),
            ("kline", "BTCUSDT")
        );
        let k = &e.kline;
        assert_eq!(
            (k.interval.as_str(), k.first_trade_id, k.last_trade_id),
            ("1m", 100, 200)
        );
        assert!(!k.closed);
        let bar = Kline::from(k);
        assert_eq!(
            (bar.open, bar.close, bar.high, bar.low),
            (0.001, 0.002, 0.0025, 0.0015)
        );
        assert_eq!(
            (bar.volume, bar.trades, bar.taker_buy_quote),
            (1000.0, 100, 0.5)
        );
    }
}
