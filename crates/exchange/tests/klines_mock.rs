//! The REST client's klines against the mock exchange: the seeded day of history comes
//! back as one contiguous run of closed 1-minute bars followed by the bar in progress,
//! paging joins pages without gap or overlap, and the 24-hour ticker reads.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_exchange::rest::{Kline, RestClient, RestConfig};
use shmtrader_exchange::{ApiErrorKind, ExchangeError};
use shmtrader_mockex::{MockConfig, MockHandle};

const MINUTE: i64 = 60_000;

/// A synthetic mock with `history` minutes of seeded bars, at a low trade rate so the
/// history is quick to generate in a debug build, and a public client.
async fn mock(history: u32) -> (MockHandle, RestClient) {
    let h = shmtrader_mockex::spawn(MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        symbols: vec!["BTCUSDT".into(), "ETHUSDT".into()],
        trades_per_sec: 2.0,
        history_minutes: history,
        ..Default::default()
    })
    .await
    .unwrap();
    let c = RestClient::new(RestConfig::mock(&h.http_url()), None).unwrap();
    c.start().await.unwrap();
    // The mock's bars follow its data clock, which trails the wall clock by up to one
    // 50 ms feed tick: keep clear of a minute boundary so "now" is one minute for both.
    let into = c.timestamp_ms() % 60_000;
    if !(1_000..59_000).contains(&into) {
        tokio::time::sleep(std::time::Duration::from_millis(2_000)).await;
    }
    (h, c)
}

fn assert_contiguous(bars: &[Kline], first: i64) {
    for (i, k) in bars.iter().enumerate() {
        assert_eq!(k.open_time_ms, first + i as i64 * MINUTE, "bar {i}");
        assert_eq!(k.close_time_ms, k.open_time_ms + MINUTE - 1);
    }
}

#[tokio::test]
async fn klines_range_over_the_seeded_day_is_1440_closed_bars_and_the_one_in_progress() {
    let (_h, c) = mock(1440).await;
    let now = c.timestamp_ms() as i64;
    let minute = now - now % MINUTE;
    let start = minute - 1440 * MINUTE;
    let bars = c.klines_range("BTCUSDT", "1m", start, now).await.unwrap();
    assert_eq!(bars.len(), 1441, "1440 closed + the one in progress");
    assert_contiguous(&bars, start);
    let closed = bars.iter().filter(|k| k.is_closed(now)).count();
    assert_eq!(closed, 1440);
    let last = bars.last().unwrap();
    assert_eq!(last.open_time_ms, minute);
    // A day of the synthetic tape: every bar traded something at its rate (~1/s), and
    // the takers bought part of it.
    let traded = bars.iter().filter(|k| k.trades > 0).count();
    assert!(traded > 1400, "{traded} bars with trades");
    let (vol, buy): (f64, f64) = bars
        .iter()
        .fold((0.0, 0.0), |(v, b), k| (v + k.volume, b + k.taker_buy_base));
    assert!(buy > 0.2 * vol && buy < 0.8 * vol);
    // The 24-hour ticker sees the same day.
    let t = c.ticker_24hr("BTCUSDT").await.unwrap();
    assert_eq!(t.close_time_ms - t.open_time_ms, 86_400_000);
    assert!(t.count > 0 && t.high_price >= t.low_price);
    let high = bars.iter().map(|k| k.high).fold(0.0, f64::max);
    assert!(t.high_price <= high * 1.01);
    // Binance's refusals come back classified.
    let e = c
        .klines("NOPEUSDT", "1m", None, None, 10)
        .await
        .unwrap_err();
    assert_eq!(
        (e.api_code(), e.api_kind()),
        (Some(-1121), Some(ApiErrorKind::BadParam))
    );
    assert!(matches!(
        c.klines("BTCUSDT", "1s", None, None, 10).await,
        Err(ExchangeError::UnknownInterval { .. })
    ));
}

#[tokio::test]
async fn klines_range_pages_through_more_than_1500_bars_without_gap_or_overlap() {
    let (_h, c) = mock(3200).await;
    let now = c.timestamp_ms() as i64;
    let minute = now - now % MINUTE;
    let start = minute - 3200 * MINUTE;
    let bars = c.klines_range("ETHUSDT", "1m", start, now).await.unwrap();
    assert_eq!(bars.len(), 3201, "three pages: 1500 + 1500 + 201");
    assert_contiguous(&bars, start);
    // Coarser bars are the same minutes, aggregated.
    let hours = c
        .klines("ETHUSDT", "1h", Some(start), Some(now), 100)
        .await
        .unwrap();
    for hbar in hours.iter().filter(|k| k.is_closed(now)) {
        let mins: Vec<&Kline> = bars
            .iter()
            .filter(|k| k.open_time_ms >= hbar.open_time_ms && k.open_time_ms <= hbar.close_time_ms)
            .collect();
        assert_eq!(mins.len(), 60);
        let n: u64 = mins.iter().map(|k| k.trades).sum();
        assert_eq!(hbar.trades, n);
        assert_eq!(hbar.open, mins[0].open);
        assert_eq!(hbar.close, mins[59].close);
    }
}
