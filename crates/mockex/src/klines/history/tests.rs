use super::*;
use crate::spec::find_spec;
use crate::synth::{base_rate_ms, Synth};

/// The seed of BTCUSDT as the mock builds it: the live synthetic market's start.
fn seed(minutes: u32, trades_per_sec: f64, seed: u64) -> HistorySeed {
    let specs: Vec<SymbolSpec> = ["BTCUSDT", "ETHUSDT"]
        .iter()
        .filter_map(|s| find_spec(s))
        .collect();
    let start_ms = 1_700_000_123_456;
    let (synth, _) = Synth::new(&specs, seed, trades_per_sec, start_ms);
    HistorySeed {
        spec: specs[0],
        sym: 0,
        seed,
        start_ms,
        start: synth.starts()[0],
        minutes,
    }
}

#[test]
fn history_is_one_bar_a_minute_and_ends_on_the_live_opening_touch() {
    let h = seed(240, 20.0, 42);
    let hist = generate(&h);
    let start_minute = h.start_ms - h.start_ms % MINUTE;
    assert_eq!(hist.bars.len(), 240);
    for (i, b) in hist.bars.iter().enumerate() {
        assert_eq!(
            b.open_time,
            start_minute - (240 - i as u64) * MINUTE,
            "bar {i}"
        );
        assert!(b.low <= b.open.min(b.close) && b.high >= b.open.max(b.close));
        assert!(b.low > 0 && b.volume >= b.taker_volume && b.quote >= b.taker_quote);
    }
    assert_eq!(hist.partial.open_time, start_minute);
    // The last trade (the partial minute's close) sits on the live book at the start:
    // at its bid, or its ask (one tick up), or one tick beyond after a 2-tick spread.
    let bid = bid_for(&h.spec, h.start.mid);
    let close = hist.partial.close;
    assert!(
        bid <= close && close <= bid + 2 * h.spec.tick,
        "close {close} bid {bid}"
    );
    // Trade ids run on into the live tape's first id, without a gap.
    let with_trades: Vec<&Bar> = hist
        .bars
        .iter()
        .chain(std::iter::once(&hist.partial))
        .filter(|b| b.has_trades())
        .collect();
    for w in with_trades.windows(2) {
        assert_eq!(w[0].last_id + 1, w[1].first_id);
        assert_eq!(
            (w[1].last_id - w[1].first_id + 1) as u64,
            w[1].trades,
            "count = ids"
        );
    }
    let last = with_trades.last().unwrap();
    assert_eq!(last.last_id as u64 + 1, h.start.first_trade_id);
}

#[test]
fn history_is_deterministic_per_seed_and_differs_between_seeds() {
    let a = generate(&seed(60, 20.0, 7));
    assert_eq!(a, generate(&seed(60, 20.0, 7)));
    let b = generate(&seed(60, 20.0, 8));
    assert_ne!(a.bars, b.bars);
    let mut other = seed(60, 20.0, 7);
    other.sym = 1;
    assert_ne!(
        a.bars,
        generate(&other).bars,
        "each symbol has its own stream"
    );
}

#[test]
fn history_has_the_live_process_volatility_trade_rate_and_sizes() {
    // A day of BTCUSDT at a low trade rate (the rate does not change the mid's path).
    let h = seed(1440, 4.0, 3);
    let hist = generate(&h);
    let px = |u: i64| h.spec.px(u);
    // Close-to-close log returns of the minutes that traded.
    let closes: Vec<f64> = hist
        .bars
        .iter()
        .filter(|b| b.has_trades())
        .map(|b| px(b.close).ln())
        .collect();
    let rets: Vec<f64> = closes.windows(2).map(|w| w[1] - w[0]).collect();
    let var = rets.iter().map(|r| r * r).sum::<f64>() / rets.len() as f64;
    // Stationary regime mix: volatile 2 of every 12 minutes at 3x the volatility.
    let sigma = sigma_ms(&h.spec);
    let expected = sigma * sigma * 60_000.0 * (10.0 + 2.0 * 9.0) / 12.0;
    let ratio = var / expected;
    assert!((0.6..1.6).contains(&ratio), "variance ratio {ratio}");
    // No drift: a day's move is within a few daily standard deviations.
    let day = (closes[closes.len() - 1] - closes[0]).abs();
    assert!(day < 4.0 * (expected * 1440.0).sqrt(), "day move {day}");
    // Taker orders at the live rate (2.5x in the volatile sixth of the time).
    let rate = base_rate_ms(4.0, &h.spec, 0.4 + 0.3);
    assert!((rate - h.start.rate_ms).abs() < 1e-12);
    let orders_expected = rate * 86_400_000.0 * (10.0 + 2.0 * 2.5) / 12.0;
    let raw: u64 = hist.bars.iter().map(|b| b.trades).sum();
    // Raw trades per order: geometric(1/2) capped at 8, mean ~2.
    let orders_est = raw as f64 / 1.99;
    let r = orders_est / orders_expected;
    assert!((0.8..1.2).contains(&r), "order rate ratio {r}");
    // Mean order size: log-normal(σ = 1.1) around the median, ~1.83x the median.
    let vol: i64 = hist.bars.iter().map(|b| b.volume).sum();
    let mean_size = h.spec.qty(vol) / orders_est;
    let s = mean_size / (h.spec.median_qty * (0.5f64 * 1.1 * 1.1).exp());
    assert!((0.8..1.25).contains(&s), "size ratio {s}");
    // Takers buy about half the volume.
    let taker: i64 = hist.bars.iter().map(|b| b.taker_volume).sum();
    let share = taker as f64 / vol as f64;
    assert!((0.35..0.65).contains(&share), "taker buy share {share}");
}
