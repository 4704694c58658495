use serde_json::Value;

use super::super::testkit::{kit, ps, T0};
use crate::feed::{AggTrade, FeedKind};
use crate::klines::{generate, HistorySeed, MINUTE};
use crate::spec::find_spec;
use crate::synth::{bid_for, Synth};

fn num(v: &Value) -> f64 {
    v.as_str().unwrap().parse().unwrap()
}

/// The mock's synthetic start, by hand: the live tape of `Synth`, its bars opened at
/// the opening bid, the seeded history merged (as the first klines request does), then
/// three and a half minutes of live tape. Returns the kit, the live aggTrades and the
/// history.
fn run_live() -> (
    super::super::testkit::Kit,
    Vec<AggTrade>,
    crate::klines::History,
    u64,
) {
    let mut k = kit(&["BTCUSDT"]);
    let spec = find_spec("BTCUSDT").unwrap();
    let start = T0 + 37_123; // mid-minute
    let (mut synth, init) = Synth::new(&[spec], 11, 5.0, start);
    let st = synth.starts()[0];
    for s in ["btcusdt@kline_1m", "btcusdt@kline_5m"] {
        k.e.out.subs.add(s);
    }
    for ev in init {
        k.e.apply(ev);
    }
    k.e.open_klines(0, start, bid_for(&spec, st.mid));
    let hist = generate(&HistorySeed {
        spec,
        sym: 0,
        seed: 11,
        start_ms: start,
        start: st,
        minutes: 30,
    });
    k.e.merge_history(0, hist.clone());
    let mut live = Vec::new();
    while let Some(t) = synth.peek_time() {
        if t > start + 3 * MINUTE + 30_000 {
            break;
        }
        for ev in synth.next_batch() {
            if let FeedKind::AggTrade { trade, .. } = &ev.kind {
                live.push(trade.clone());
            }
            k.e.apply(ev);
        }
    }
    (k, live, hist, start)
}

#[test]
fn seeded_history_joins_the_live_tape_at_the_start_minute() {
    let (k, live, hist, start) = run_live();
    let spec = find_spec("BTCUSDT").unwrap();
    let m = start - start % MINUTE;
    let now = k.e.data_now();
    let rows =
        k.e.klines(&ps(&[
            ("symbol", "BTCUSDT"),
            ("interval", "1m"),
            ("limit", "1500"),
        ]))
        .unwrap();
    let rows = rows.as_array().unwrap();
    // 30 history minutes, the start minute, and the live minutes up to now: one bar a
    // minute, no gap, no overlap; the last in progress.
    let opens: Vec<u64> = rows.iter().map(|r| r[0].as_u64().unwrap()).collect();
    let want: Vec<u64> = (0..opens.len() as u64)
        .map(|i| m - 30 * MINUTE + i * MINUTE)
        .collect();
    assert_eq!(opens, want);
    assert_eq!(*opens.last().unwrap(), now - now % MINUTE);
    assert!(
        rows.last().unwrap()[6].as_u64().unwrap() >= now,
        "in progress"
    );
    // The start minute holds the history's part and the live trades of that minute.
    let live_in_m: u64 = live
        .iter()
        .filter(|t| t.time < m + MINUTE)
        .map(|t| t.last - t.first + 1)
        .sum();
    let bar_m = &rows[30];
    assert_eq!(bar_m[8].as_u64().unwrap(), hist.partial.trades + live_in_m);
    if hist.partial.has_trades() {
        assert_eq!(
            num(&bar_m[1]),
            spec.px(hist.partial.open),
            "history opens it"
        );
    }
    // The history ends on the live opening touch (within a tick), and its trade ids run
    // on into the live tape's.
    let last_hist = std::iter::once(&hist.partial)
        .chain(hist.bars.iter().rev())
        .find(|b| b.has_trades())
        .unwrap();
    let bid = bid_for(&spec, Synth::new(&[spec], 11, 5.0, start).0.starts()[0].mid);
    assert!(
        bid <= last_hist.close && last_hist.close <= bid + 2 * spec.tick,
        "history close {} vs opening bid {bid}",
        last_hist.close
    );
    assert_eq!(last_hist.last_id as u64 + 1, live[0].first);
    // Every closed bar's close is the next bar's reference: prices are continuous
    // across the seam (within the moves of one inter-trade gap).
    let closes: Vec<f64> = rows.iter().map(|r| num(&r[4])).collect();
    for w in closes.windows(2) {
        assert!((w[1] / w[0] - 1.0).abs() < 0.01, "{w:?}");
    }
}

#[test]
fn kline_streams_push_every_250ms_while_trading_and_close_with_the_final_bar() {
    let (mut k, live, _, start) = run_live();
    let frames = k.market_frames();
    let one: Vec<&Value> = frames
        .iter()
        .filter(|(s, _)| s == "btcusdt@kline_1m")
        .map(|(_, v)| v)
        .collect();
    let (closing, running): (Vec<&Value>, Vec<&Value>) =
        one.iter().partition(|v| v["k"]["x"].as_bool().unwrap());
    // In progress: on 250 ms boundaries of data time, at most one per boundary, and one
    // after every 250 ms window in which something traded.
    let es: Vec<u64> = running.iter().map(|v| v["E"].as_u64().unwrap()).collect();
    assert!(es.iter().all(|e| e % 250 == 0), "{es:?}");
    assert!(es.windows(2).all(|w| w[1] > w[0]));
    let last_push = *es.last().unwrap();
    for t in live
        .iter()
        .filter(|t| t.time > start && t.time + 250 < last_push)
    {
        let boundary = (t.time / 250 + 1) * 250;
        assert!(es.contains(&boundary), "trade at {} not pushed", t.time);
    }
    for v in &running {
        assert_eq!(
            (v["e"].as_str(), v["s"].as_str(), v["k"]["i"].as_str()),
            (Some("kline"), Some("BTCUSDT"), Some("1m"))
        );
    }
    // Closing: one per minute that closed, equal to the REST row of that minute.
    let m = start - start % MINUTE;
    let closed_opens: Vec<u64> = closing
        .iter()
        .map(|v| v["k"]["t"].as_u64().unwrap())
        .collect();
    let now = k.e.data_now();
    let want: Vec<u64> = (m..now - now % MINUTE).step_by(MINUTE as usize).collect();
    assert_eq!(closed_opens, want);
    assert!(want.len() >= 3);
    let rows =
        k.e.klines(&ps(&[
            ("symbol", "BTCUSDT"),
            ("interval", "1m"),
            ("startTime", &m.to_string()),
            ("limit", &want.len().to_string()),
        ]))
        .unwrap();
    for (v, r) in closing.iter().zip(rows.as_array().unwrap()) {
        let kk = &v["k"];
        let got = [
            &kk["o"], &kk["h"], &kk["l"], &kk["c"], &kk["v"], &kk["q"], &kk["V"], &kk["Q"],
        ];
        let want = [&r[1], &r[2], &r[3], &r[4], &r[5], &r[7], &r[9], &r[10]];
        assert_eq!(got, want, "bar {}", kk["t"]);
        assert_eq!(kk["n"], r[8]);
        assert_eq!(kk["T"], r[6]);
        assert!(kk["f"].as_i64().unwrap() <= kk["L"].as_i64().unwrap());
    }
    // The 5-minute stream shows the 5-minute bar in progress.
    let five: Vec<&Value> = frames
        .iter()
        .filter(|(s, _)| s == "btcusdt@kline_5m")
        .map(|(_, v)| v)
        .collect();
    let last5 = five.last().unwrap();
    let t5 = last5["k"]["t"].as_u64().unwrap();
    assert_eq!(
        (last5["k"]["i"].as_str(), t5 % (5 * MINUTE)),
        (Some("5m"), 0)
    );
    assert!(last5["k"]["T"].as_u64().unwrap() == t5 + 5 * MINUTE - 1);
    // Nobody reads the 1h stream: nothing is built for it.
    assert!(frames.iter().all(|(s, _)| s != "btcusdt@kline_1h"));
}

#[test]
fn klines_and_ticker_refuse_like_binance() {
    let k = kit(&["BTCUSDT"]);
    let cases: [(&[(&str, &str)], i64); 8] = [
        (&[("symbol", "NOPEUSDT"), ("interval", "1m")], -1121),
        (&[("symbol", "BTCUSDT"), ("interval", "2m")], -1120),
        (&[("symbol", "BTCUSDT"), ("interval", "1H")], -1120),
        (&[("symbol", "BTCUSDT")], -1102),
        (&[("interval", "1m")], -1102),
        (
            &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "1501")],
            -1130,
        ),
        (
            &[("symbol", "BTCUSDT"), ("interval", "1m"), ("limit", "0")],
            -1130,
        ),
        (
            &[
                ("symbol", "BTCUSDT"),
                ("interval", "1m"),
                ("startTime", "5"),
                ("endTime", "4"),
            ],
            -1023,
        ),
    ];
    for (p, code) in cases {
        assert_eq!(k.e.klines(&ps(p)).unwrap_err().code, code, "{p:?}");
    }
    assert_eq!(
        k.e.ticker_24hr(&ps(&[("symbol", "NOPEUSDT")]))
            .unwrap_err()
            .code,
        -1121
    );
    // Nothing traded yet: no bars, a zero ticker.
    let empty =
        k.e.klines(&ps(&[("symbol", "BTCUSDT"), ("interval", "1m")]))
            .unwrap();
    assert_eq!(empty, Value::Array(vec![]));
    let t = k.e.ticker_24hr(&ps(&[])).unwrap();
    assert_eq!(t[0]["count"], 0);
}
