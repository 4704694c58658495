//! Klines and the 24-hour ticker against canned answers: Binance's documented bodies,
//! what the client sends, paging across pages whose boundary bar repeats, a malformed
//! row, a 429 in the middle of a range (the bars already fetched come back in the
//! error, and resuming from its time joins without gap or overlap), and the wait for
//! the next minute's request weight.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{err, ok, Answer, Canned};
use shmtrader_exchange::rest::{interval_ms, Kline};
use shmtrader_exchange::{ApiErrorKind, ExchangeError};

const T0: i64 = 1_700_000_040_000; // a minute boundary

/// `n` one-minute rows from open time `first`, price rising one cent a bar.
fn rows(first: i64, n: usize) -> String {
    let v: Vec<String> = (0..n)
        .map(|i| {
            let t = first + i as i64 * 60_000;
            let p = 100.0 + (t - T0) as f64 / 6_000_000.0;
            format!(
                r#"[{t},"{p:.2}","{:.2}","{:.2}","{p:.2}","1.5",{},"{:.4}",3,"0.5","{:.4}","0"]"#,
                p + 0.05,
                p - 0.05,
                t + 59_999,
                1.5 * p,
                0.5 * p
            )
        })
        .collect();
    format!("[{}]", v.join(","))
}

fn param(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string))
}

fn assert_contiguous(bars: &[Kline], first: i64, n: usize) {
    assert_eq!(bars.len(), n, "bar count");
    for (i, k) in bars.iter().enumerate() {
        assert_eq!(k.open_time_ms, first + i as i64 * 60_000, "bar {i}");
    }
}

#[tokio::test]
async fn klines_reads_the_documented_row_and_sends_every_parameter() {
    let c = Canned::start().await;
    c.answer(
        "GET",
        "/fapi/v1/klines",
        ok(r#"[[1499040000000,"0.01634790","0.80000000","0.01575800","0.01577100","148976.11427815",1499644799999,"2434.19055334",308,"1756.87402397","28.46694368","0"]]"#),
    );
    let k = c
        .client
        .klines("BTCUSDT", "1m", Some(1), Some(2), 99)
        .await
        .unwrap();
    assert_eq!(k.len(), 1);
    assert_eq!((k[0].open, k[0].trades), (0.0163479, 308));
    let seen = c.last("/fapi/v1/klines");
    assert_eq!(
        seen.query,
        "symbol=BTCUSDT&interval=1m&startTime=1&endTime=2&limit=99"
    );
    assert_eq!(seen.api_key, None, "public: no key, no signature");
    // Refused before sending: nothing reaches the server.
    let before = c.seen("/fapi/v1/klines").len();
    let cases: [(&str, u32, Option<i64>, Option<i64>); 4] = [
        ("2m", 10, None, None),
        ("1m", 0, None, None),
        ("1m", 1501, None, None),
        ("1m", 10, Some(5), Some(4)),
    ];
    for (interval, limit, s, e) in cases {
        let r = c.client.klines("BTCUSDT", interval, s, e, limit).await;
        assert!(
            matches!(
                r,
                Err(ExchangeError::UnknownInterval { .. }
                    | ExchangeError::LimitOutOfRange { .. }
                    | ExchangeError::TimeRange { .. })
            ),
            "{interval} {limit}: {r:?}"
        );
    }
    assert_eq!(c.seen("/fapi/v1/klines").len(), before);
    // Binance's refusal of an unknown symbol is classified.
    c.answer("GET", "/fapi/v1/klines", err(400, -1121, "Invalid symbol."));
    let e = c
        .client
        .klines("NOPEUSDT", "1m", None, None, 10)
        .await
        .unwrap_err();
    assert_eq!(e.api_kind(), Some(ApiErrorKind::BadParam));
}

#[tokio::test]
async fn klines_range_pages_across_an_overlapping_boundary_without_gap_or_duplicate() {
    let c = Canned::start().await;
    let last1 = T0 + 1499 * 60_000;
    let last2 = last1 + 1499 * 60_000;
    // Each page repeats the last bar of the one before (a server counting startTime
    // into the bar that contains it); the last page is short: the range is done.
    c.answer_seq(
        "GET",
        "/fapi/v1/klines",
        vec![
            ok(&rows(T0, 1500)),
            ok(&rows(last1, 1500)),
            ok(&rows(last2, 10)),
        ],
    );
    let end = last2 + 9 * 60_000 + 59_999;
    let bars = c
        .client
        .klines_range("BTCUSDT", "1m", T0, end)
        .await
        .unwrap();
    assert_contiguous(&bars, T0, 1500 + 1499 + 9);
    let seen = c.seen("/fapi/v1/klines");
    let starts: Vec<i64> = seen
        .iter()
        .map(|s| param(&s.query, "startTime").unwrap().parse().unwrap())
        .collect();
    assert_eq!(starts, vec![T0, last1 + 1, last2 + 1]);
    assert!(seen
        .iter()
        .all(|s| param(&s.query, "limit").as_deref() == Some("1500")
            && param(&s.query, "endTime") == Some(end.to_string())));
}

#[tokio::test]
async fn a_malformed_row_stops_the_range_naming_the_row_and_keeps_the_pages_before() {
    let c = Canned::start().await;
    let mut bad = rows(T0 + 1500 * 60_000, 3);
    bad = bad.replacen(r#""1.5""#, r#""-1.5""#, 1); // the first row's volume
    c.answer_seq(
        "GET",
        "/fapi/v1/klines",
        vec![ok(&rows(T0, 1500)), ok(&bad)],
    );
    let e = c
        .client
        .klines_range("ETHUSDT", "1m", T0, T0 + 3 * 86_400_000)
        .await
        .unwrap_err();
    let ExchangeError::KlinesIncomplete {
        fetched,
        resume_from_ms,
        source,
        ..
    } = e
    else {
        panic!("expected KlinesIncomplete, got {e:?}");
    };
    assert_contiguous(&fetched, T0, 1500);
    assert_eq!(resume_from_ms, T0 + 1499 * 60_000 + 1);
    match *source {
        ExchangeError::BadKline {
            ref symbol,
            row,
            field,
            ..
        } => assert_eq!((symbol.as_str(), row, field), ("ETHUSDT", 0, "volume")),
        ref other => panic!("expected BadKline, got {other:?}"),
    }
}

#[tokio::test]
async fn a_429_mid_range_returns_the_fetched_bars_and_resuming_joins_them() {
    let c = Canned::start().await;
    let last1 = T0 + 1499 * 60_000;
    c.answer_seq(
        "GET",
        "/fapi/v1/klines",
        vec![
            ok(&rows(T0, 1500)),
            Answer {
                headers: vec![("retry-after", "1".into())],
                ..err(
                    429,
                    -1003,
                    "Too many requests; current limit is 2400 requests per minute.",
                )
            },
            ok(&rows(last1 + 60_000, 20)),
        ],
    );
    let end = T0 + 3 * 86_400_000;
    let e = c
        .client
        .klines_range("BTCUSDT", "1m", T0, end)
        .await
        .unwrap_err();
    assert_eq!(e.api_kind(), Some(ApiErrorKind::RateLimited));
    let ExchangeError::KlinesIncomplete {
        fetched,
        resume_from_ms,
        source,
        ..
    } = e
    else {
        panic!("expected KlinesIncomplete");
    };
    assert!(
        matches!(*source, ExchangeError::RateLimited { .. }),
        "{source}"
    );
    assert_contiguous(&fetched, T0, 1500);
    assert_eq!(resume_from_ms, last1 + 1);
    // The client refuses locally during the backoff; after it, resume where it stopped.
    let wait = c.client.blocked_for().expect("a 429 closes the gate");
    assert!(wait <= Duration::from_secs(1));
    tokio::time::sleep(wait + Duration::from_millis(20)).await;
    let rest = c
        .client
        .klines_range("BTCUSDT", "1m", resume_from_ms, end)
        .await
        .unwrap();
    let mut all = fetched;
    all.extend(rest);
    assert_contiguous(&all, T0, 1520);
}

#[tokio::test]
async fn klines_range_waits_for_the_next_minute_when_the_weight_reserve_would_be_touched() {
    let c = Canned::start().await;
    // Put the client's server clock 1.5 s before a minute boundary.
    let local = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let target = (local / 60_000 + 10) * 60_000 - 1_500;
    c.client.set_time_offset_ms(target - local);
    let heavy = |body: String| Answer {
        headers: vec![("x-mbx-used-weight-1m", "2300".into())],
        ..ok(&body)
    };
    c.answer_seq(
        "GET",
        "/fapi/v1/klines",
        vec![heavy(rows(T0, 1500)), heavy(rows(T0 + 1500 * 60_000, 5))],
    );
    let t = Instant::now();
    let bars = c
        .client
        .klines_range("BTCUSDT", "1m", T0, T0 + 3 * 86_400_000)
        .await
        .unwrap();
    let waited = t.elapsed();
    assert_contiguous(&bars, T0, 1505);
    // 2300 of 2400 used: a page (10) would leave less than the 240 reserve.
    assert!(waited >= Duration::from_millis(1_200), "{waited:?}");
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(interval_ms("1m"), Some(60_000));
}

#[tokio::test]
async fn ticker_24hr_reads_the_documented_answer() {
    let c = Canned::start().await;
    c.answer(
        "GET",
        "/fapi/v1/ticker/24hr",
        ok(r#"{"symbol":"BTCUSDT","priceChange":"-94.99999800","priceChangePercent":"-95.960","weightedAvgPrice":"0.29628482","lastPrice":"4.00000200","lastQty":"200.00000000","openPrice":"99.00000000","highPrice":"100.00000000","lowPrice":"0.10000000","volume":"8913.30000000","quoteVolume":"15.30000000","openTime":1499783499040,"closeTime":1499869899040,"firstId":28385,"lastId":28460,"count":76}"#),
    );
    let t = c.client.ticker_24hr("BTCUSDT").await.unwrap();
    assert_eq!((t.last_price, t.count), (4.000002, 76));
    assert_eq!(c.last("/fapi/v1/ticker/24hr").query, "symbol=BTCUSDT");
}
