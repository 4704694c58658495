use super::*;

/// A minute boundary that is also a day boundary (2023-11-14T00:00Z).
const DAY0: u64 = 1_699_920_000_000;

fn trade(s: &mut KlineStore, t: u64, price: i64, qty: i64, buy: bool, id: u64) {
    s.on_trade(t, price, qty, buy, (id, id));
}

/// A store with one trade in each of `n` minutes from `DAY0`, prices 100, 101, ...
fn store(n: u64) -> KlineStore {
    let mut s = KlineStore::new(MAX);
    for i in 0..n {
        trade(
            &mut s,
            DAY0 + i * MINUTE + 5,
            100 + i as i64,
            2,
            i % 2 == 0,
            i + 1,
        );
    }
    s
}

const MAX: usize = 10_080;

#[test]
fn a_bar_sums_its_trades_and_a_quiet_minute_is_flat_at_the_last_close() {
    let mut s = KlineStore::new(MAX);
    assert!(s.is_empty());
    trade(&mut s, DAY0 + 1_000, 100, 3, true, 10);
    s.on_trade(DAY0 + 2_000, 104, 1, false, (11, 13));
    trade(&mut s, DAY0 + 3_000, 98, 2, true, 14);
    // Nothing in the next minute; a trade two minutes later.
    assert_eq!(s.roll(DAY0 + 2 * MINUTE + 10), 2);
    trade(&mut s, DAY0 + 2 * MINUTE + 20, 99, 1, false, 15);
    let b0 = *s.get(0).unwrap();
    assert_eq!(
        (b0.open, b0.high, b0.low, b0.close),
        (100, 104, 98, 98),
        "OHLC"
    );
    assert_eq!((b0.volume, b0.taker_volume), (6, 5));
    assert_eq!(b0.quote, 300 + 104 + 196);
    assert_eq!(b0.taker_quote, 300 + 196);
    assert_eq!((b0.trades, b0.first_id, b0.last_id), (5, 10, 14));
    let b1 = *s.get(1).unwrap();
    assert_eq!(b1, Bar::empty(DAY0 + MINUTE, 98));
    assert_eq!((b1.first_id, b1.last_id), (-1, -1));
    let cur = s.current().unwrap();
    assert_eq!(
        (cur.open_time, cur.open, cur.trades),
        (DAY0 + 2 * MINUTE, 99, 1)
    );
    assert_eq!(s.last_qty, 1);
}

#[test]
fn a_trade_stamped_just_before_the_roll_lands_in_its_own_minute() {
    let mut s = store(1);
    s.roll(DAY0 + MINUTE + 3);
    trade(&mut s, DAY0 + MINUTE - 2, 90, 4, false, 50);
    let b0 = s.get(0).unwrap();
    assert_eq!((b0.low, b0.close, b0.volume), (90, 90, 6));
    assert!(!s.current().unwrap().has_trades());
}

#[test]
fn the_store_keeps_at_most_its_cap_and_a_long_jump_keeps_the_last_minutes() {
    let mut s = KlineStore::new(5);
    for i in 0..8 {
        trade(&mut s, DAY0 + i * MINUTE, 100, 1, true, i + 1);
    }
    assert_eq!(s.len(), 6, "5 closed + 1 in progress");
    assert_eq!(s.get(0).unwrap().open_time, DAY0 + 2 * MINUTE);
    // A jump of a day keeps a contiguous run of the last 5 minutes.
    s.roll(DAY0 + 86_400_000);
    let opens: Vec<u64> = (0..s.len()).map(|i| s.get(i).unwrap().open_time).collect();
    let want: Vec<u64> = (0..6)
        .map(|i| DAY0 + 86_400_000 - (5 - i) * MINUTE)
        .collect();
    assert_eq!(opens, want);
}

#[test]
fn query_selects_like_binance() {
    struct Case {
        iv: &'static str,
        start: Option<u64>,
        end: Option<u64>,
        limit: usize,
        /// Open times expected, as minutes after DAY0.
        want: Vec<u64>,
    }
    // 10 minutes of bars, the last (minute 9) in progress; now = minute 9 + 30 s.
    let s = store(10);
    let now = DAY0 + 9 * MINUTE + 30_000;
    let cases = [
        // Latest `limit`, the one in progress last.
        Case {
            iv: "1m",
            start: None,
            end: None,
            limit: 3,
            want: vec![7, 8, 9],
        },
        // From a start (inclusive open time), the first `limit`.
        Case {
            iv: "1m",
            start: Some(DAY0 + 2 * MINUTE),
            end: None,
            limit: 2,
            want: vec![2, 3],
        },
        // A start inside a bar: that bar is not included.
        Case {
            iv: "1m",
            start: Some(DAY0 + 2 * MINUTE + 1),
            end: Some(DAY0 + 4 * MINUTE),
            limit: 500,
            want: vec![3, 4],
        },
        // Only an end: the last `limit` up to it.
        Case {
            iv: "1m",
            start: None,
            end: Some(DAY0 + 5 * MINUTE + 1),
            limit: 2,
            want: vec![4, 5],
        },
        // An end in the future: nothing beyond now.
        Case {
            iv: "1m",
            start: Some(DAY0 + 8 * MINUTE),
            end: Some(DAY0 + 86_400_000),
            limit: 500,
            want: vec![8, 9],
        },
        // 3-minute bars on the epoch grid (DAY0 is a multiple of 3 minutes).
        Case {
            iv: "3m",
            start: None,
            end: None,
            limit: 500,
            want: vec![0, 3, 6, 9],
        },
        Case {
            iv: "5m",
            start: Some(DAY0 + MINUTE),
            end: None,
            limit: 500,
            want: vec![5],
        },
        Case {
            iv: "1d",
            start: None,
            end: None,
            limit: 1,
            want: vec![0],
        },
    ];
    for c in cases {
        let iv = Interval::parse(c.iv).unwrap();
        let got: Vec<u64> = s
            .query(iv, c.start, c.end, c.limit, now)
            .iter()
            .map(|b| (b.open_time - DAY0) / MINUTE)
            .collect();
        assert_eq!(
            got, c.want,
            "{} {:?}..{:?} limit {}",
            c.iv, c.start, c.end, c.limit
        );
    }
    // A coarse bar sums its minutes: 3m bar at minute 3 holds minutes 3, 4, 5.
    let b = s.query(
        Interval::parse("3m").unwrap(),
        Some(DAY0 + 3 * MINUTE),
        None,
        1,
        now,
    )[0];
    assert_eq!((b.open, b.high, b.low, b.close), (103, 105, 103, 105));
    assert_eq!((b.volume, b.trades, b.first_id, b.last_id), (6, 3, 4, 6));
    assert_eq!(b.taker_volume, 2, "minute 4 was the only taker buy");
    // Nothing before the first bar, nothing after now.
    assert!(s
        .query(
            Interval::parse("1m").unwrap(),
            None,
            Some(DAY0 - 1),
            10,
            now
        )
        .is_empty());
}

#[test]
fn history_merges_into_the_start_minute_and_reflattens_quiet_bars_after_it() {
    let join = DAY0 + 3 * MINUTE;
    // Live: opened flat at 200 at the join minute, quiet for a minute, then a trade.
    let mut s = KlineStore::new(MAX);
    s.open_at(join + 40_000, 200);
    s.roll(join + MINUTE + 1);
    trade(&mut s, join + 2 * MINUTE + 1, 210, 1, true, 100);
    // History: three minutes, then the join minute's part before the live start.
    let bars: Vec<Bar> = (0..3)
        .map(|i| {
            let mut b = Bar::empty(DAY0 + i * MINUTE, 0);
            b.add(150 + i as i64, 1, true, 90 + i, 90 + i);
            b
        })
        .collect();
    let mut partial = Bar::empty(join, 0);
    partial.add(190, 2, false, 93, 99);
    s.merge_history(bars, partial);
    let opens: Vec<u64> = (0..s.len())
        .map(|i| (s.get(i).unwrap().open_time - DAY0) / MINUTE)
        .collect();
    assert_eq!(opens, vec![0, 1, 2, 3, 4, 5], "contiguous, no overlap");
    let m = s.get(3).unwrap();
    assert_eq!((m.open, m.close, m.trades, m.first_id), (190, 190, 7, 93));
    // The quiet live minute follows the merged close, not the pre-merge flat price.
    assert_eq!(*s.get(4).unwrap(), Bar::empty(join + MINUTE, 190));
    assert_eq!(s.current().unwrap().close, 210);
    // History that no longer reaches the live bars is ignored.
    let before: Vec<Bar> = (0..s.len()).map(|i| *s.get(i).unwrap()).collect();
    s.merge_history(Vec::new(), Bar::empty(DAY0 - 5 * MINUTE, 1));
    let after: Vec<Bar> = (0..s.len()).map(|i| *s.get(i).unwrap()).collect();
    assert_eq!(before, after);
}

#[test]
fn window_sums_the_minutes_in_range() {
    let s = store(10);
    let w = s.window(DAY0 + 2 * MINUTE, DAY0 + 4 * MINUTE).unwrap();
    assert_eq!(
        (w.open, w.close, w.high, w.low, w.trades),
        (102, 104, 104, 102, 3)
    );
    assert!(s.window(DAY0 + 20 * MINUTE, DAY0 + 30 * MINUTE).is_none());
}
