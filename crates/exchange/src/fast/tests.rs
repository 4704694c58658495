//! Unit and property tests of the fast parser (against the serde reference path).

use super::decimal::*;
use super::scanner::*;
use super::*;
use crate::wire::market::{AggTrade, BookTicker, Envelope};
use serde_json::Value;
use shmtrader_core::Side;

fn table() -> SymbolTable {
    SymbolTable::new(["BTCUSDT", "ETHUSDT", "BNBUSDT"]).unwrap()
}

const AGG: &str = r#"{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}"#;
const BOOK: &str = r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;

fn bits_t(t: &Tick) -> [u64; 8] {
    [
        u64::from(t.symbol_id) | u64::from(t.side) << 32 | u64::from(t.flags) << 40,
        t.exchange_ts_ns,
        t.recv_ts_ns,
        t.publish_ts_ns,
        t.price.to_bits(),
        t.qty.to_bits(),
        t.agg_id,
        t.last_trade_id,
    ]
}

fn bits_b(b: &BookTop) -> [u64; 8] {
    [
        u64::from(b.symbol_id) | u64::from(b.flags) << 32,
        b.exchange_ts_ns,
        b.recv_ts_ns,
        b.publish_ts_ns,
        b.bid_px.to_bits(),
        b.bid_qty.to_bits(),
        b.ask_px.to_bits(),
        b.ask_qty.to_bits(),
    ]
}

fn serde_tick(frame: &str, t: &SymbolTable, recv: u64) -> Tick {
    let a: AggTrade = match serde_json::from_str::<Envelope<AggTrade>>(frame) {
        Ok(e) => e.data,
        Err(_) => serde_json::from_str(frame).unwrap(),
    };
    a.to_tick(t.symbol_id(a.symbol.as_bytes()).unwrap(), recv)
        .unwrap()
}

fn serde_book(frame: &str, t: &SymbolTable, recv: u64) -> BookTop {
    let b: BookTicker = match serde_json::from_str::<Envelope<BookTicker>>(frame) {
        Ok(e) => e.data,
        Err(_) => serde_json::from_str(frame).unwrap(),
    };
    b.to_book_top(t.symbol_id(b.symbol.as_bytes()).unwrap(), recv)
        .unwrap()
}

#[test]
fn agg_trade_bare_and_enveloped() {
    let t = table();
    let tick = parse_agg_trade(AGG.as_bytes(), &t, 42).unwrap();
    assert_eq!(tick.symbol_id, 0);
    assert_eq!(tick.aggressor(), Some(Side::Sell));
    assert_eq!(tick.price, 0.001);
    assert_eq!(tick.qty, 100.0);
    assert_eq!(tick.agg_id, 5933014);
    assert_eq!(tick.last_trade_id, 105);
    assert_eq!(tick.exchange_ts_ns, 123_456_785_000_000);
    assert_eq!(tick.recv_ts_ns, 42);
    assert_eq!(bits_t(&tick), bits_t(&serde_tick(AGG, &t, 42)));
    let env = format!(r#"{{"stream":"btcusdt@aggTrade","data":{AGG}}}"#);
    assert_eq!(parse_agg_trade(env.as_bytes(), &t, 42).unwrap(), tick);
    // Envelope keys in the other order (serde_json's sorted output), whitespace.
    let env2 = format!(" {{ \"data\" : {AGG} ,\n \"stream\":\"btcusdt@aggTrade\" }}\n");
    assert_eq!(parse_agg_trade(env2.as_bytes(), &t, 42).unwrap(), tick);
    assert_eq!(
        parse_frame(env.as_bytes(), &t, 42).unwrap(),
        Frame::Trade(tick)
    );
}

#[test]
fn key_order_and_unknown_fields_do_not_matter() {
    let t = table();
    let v: Value = serde_json::from_str(AGG).unwrap();
    let sorted = v.to_string(); // serde_json sorts keys
    assert_ne!(sorted, AGG);
    let a = parse_agg_trade(AGG.as_bytes(), &t, 0).unwrap();
    assert_eq!(parse_agg_trade(sorted.as_bytes(), &t, 0).unwrap(), a);
    let extra = AGG.replace(
        r#""m":true"#,
        r#""nq":"100","st":1,"x":{"y":[1,"}]\"",{"z":null}]},"w":[],"v":false,"m":true"#,
    );
    assert_eq!(parse_agg_trade(extra.as_bytes(), &t, 0).unwrap(), a);
}

#[test]
fn book_ticker_bare_and_enveloped() {
    let t = table();
    let b = parse_book_ticker(BOOK.as_bytes(), &t, 7).unwrap();
    assert_eq!(b.symbol_id, 2);
    assert_eq!(
        (b.bid_px, b.bid_qty, b.ask_px, b.ask_qty),
        (25.3519, 31.21, 25.3652, 40.66)
    );
    assert_eq!(b.exchange_ts_ns, 1_568_014_460_891_000_000);
    assert_eq!(bits_b(&b), bits_b(&serde_book(BOOK, &t, 7)));
    let env = format!(r#"{{"stream":"bnbusdt@bookTicker","data":{BOOK}}}"#);
    assert_eq!(
        parse_frame(env.as_bytes(), &t, 7).unwrap(),
        Frame::Book(b, 400900217)
    );
}

#[test]
fn other_events_are_classified() {
    let t = table();
    let depth = r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":1,"T":1,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}}"#;
    assert_eq!(
        parse_frame(depth.as_bytes(), &t, 0).unwrap(),
        Frame::Event {
            kind: EventKind::DepthUpdate,
            enveloped: true
        }
    );
    let mark = r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"1","P":"1","r":"0.00038167","T":1562306400000}"#;
    assert_eq!(
        parse_frame(mark.as_bytes(), &t, 0).unwrap(),
        Frame::Event {
            kind: EventKind::MarkPrice,
            enveloped: false
        }
    );
    assert_eq!(
        parse_frame(br#"{"result":null,"id":1}"#, &t, 0).unwrap(),
        Frame::Control
    );
    assert_eq!(
        parse_frame(br#"{"e":"kline","E":1,"k":{"x":true}}"#, &t, 0).unwrap(),
        Frame::Event {
            kind: EventKind::Other,
            enveloped: false
        }
    );
}

#[test]
fn malformed_frames_are_rejected_with_the_field() {
    let t = table();
    let field_of = |s: &str| match parse_agg_trade(s.as_bytes(), &t, 0) {
        Err(ExchangeError::Rejected { field, .. }) => field,
        other => panic!("{s}: expected a rejection, got {other:?}"),
    };
    let cases: &[(&str, &str, &str)] = &[
        (r#""p":"0.001""#, r#""p":"NaN""#, "p"),
        (r#""p":"0.001""#, r#""p":"inf""#, "p"),
        (r#""p":"0.001""#, r#""p":"-0.001""#, "p"),
        (r#""p":"0.001""#, r#""p":"0.000""#, "p"),
        (r#""p":"0.001""#, r#""p":"""#, "p"),
        (r#""p":"0.001""#, r#""p":"1e""#, "p"),
        (r#""p":"0.001""#, r#""p":0.001"#, "p"),
        (r#""p":"0.001""#, r#""p":"0.\u0030""#, "p"),
        (r#""q":"100""#, r#""q":"0""#, "q"),
        (r#""q":"100""#, r#""q":"-1""#, "q"),
        (r#""a":5933014"#, r#""a":5933014.0"#, "a"),
        (r#""a":5933014"#, r#""a":-5933014"#, "a"),
        (r#""a":5933014"#, r#""a":05933014"#, "a"),
        (r#""a":5933014"#, r#""a":"5933014""#, "a"),
        (r#""a":5933014"#, r#""a":18446744073709551616"#, "a"),
        (r#""a":5933014,"#, "", "a"),
        (r#""T":123456785"#, r#""T":1e9"#, "T"),
        (r#""T":123456785"#, r#""T":18446744073709551"#, "T"),
        (r#""m":true"#, r#""m":1"#, "m"),
        (r#""m":true"#, r#""m":"true""#, "m"),
        (r#""s":"BTCUSDT""#, r#""s":"DOGEUSDT""#, "s"),
        (r#""e":"aggTrade""#, r#""e":"trade""#, "e"),
        (r#""E":123456789,"#, r#""E":123456789,"E":1,"#, "E"),
        (r#""f":100,"#, "", "f"),
    ];
    for (from, to, field) in cases {
        let s = AGG.replacen(from, to, 1);
        assert_ne!(s, AGG, "{from}");
        assert_eq!(field_of(&s), *field, "{s}");
        // The serde reference path agrees that the frame is unusable.
        let serde_ok = serde_json::from_str::<AggTrade>(&s).ok().and_then(|a| {
            t.symbol_id(a.symbol.as_bytes())
                .and_then(|id| a.to_tick(id, 0).ok())
        });
        // `"0.\u0030"` is the one frame serde accepts (it unescapes); the fast
        // path refuses escapes in numbers on purpose.
        if !to.contains("\\u") {
            assert!(serde_ok.is_none(), "serde accepted {s}");
        }
    }
    // Broken JSON.
    for s in [
        "",
        "   ",
        "[]",
        "{",
        "{\"e\"",
        r#"{"e":"aggTrade""#,
        "\u{1}not json at all",
        r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":17"#,
        &format!("{AGG}x"),
        &format!("{AGG}{AGG}"),
        &AGG.replace("\"BTCUSDT\"", "\"BTC\nUSDT\""),
        &AGG.replace(",\"a\"", "\"a\""),
        &AGG.replace("true", "tru"),
        &format!(r#"{{"stream":"x","data":{AGG},"data":{AGG}}}"#),
    ] {
        assert!(parse_agg_trade(s.as_bytes(), &t, 0).is_err(), "{s:?}");
        assert!(parse_frame(s.as_bytes(), &t, 0).is_err(), "{s:?}");
    }
    let e = parse_agg_trade(b"{", &t, 0).unwrap_err().to_string();
    assert!(e.contains("rejected aggTrade frame: field `-`"), "{e}");
}

#[test]
fn book_ticker_rejects_bad_quotes() {
    let t = table();
    for (from, to) in [
        (r#""b":"25.35190000""#, r#""b":"0""#),
        (r#""A":"40.66000000""#, r#""A":"-40.66""#),
        (r#""a":"25.36520000""#, r#""a":25.3652"#),
        (r#""u":400900217,"#, ""),
        (r#""T":1568014460891,"#, ""),
    ] {
        let s = BOOK.replacen(from, to, 1);
        assert!(parse_book_ticker(s.as_bytes(), &t, 0).is_err(), "{s}");
        assert!(parse_frame(s.as_bytes(), &t, 0).is_err(), "{s}");
    }
    assert!(parse_book_ticker(AGG.as_bytes(), &t, 0).is_err());
    assert!(parse_agg_trade(BOOK.as_bytes(), &t, 0).is_err());
}

#[test]
fn symbol_table() {
    let t = table();
    assert_eq!(t.symbol_id(b"ETHUSDT"), Some(1));
    assert_eq!(t.symbol_id(b"ethusdt"), None);
    assert_eq!(t.symbol_id(b"ETHUSD"), None);
    assert_eq!(t.symbol_id(b"ETHUSDTETHUSDTETHUSDT"), None);
    assert_eq!(t.name(2), Some("BNBUSDT"));
    assert_eq!(t.name(3), None);
    assert_eq!(
        SymbolTable::new(["btcusdt"]).unwrap().name(0),
        Some("BTCUSDT")
    );
    assert!(SymbolTable::new(["BTCUSDT", "btcusdt"]).is_err());
    assert!(SymbolTable::new(["BTC/USDT"]).is_err());
    assert!(SymbolTable::new([""]).is_err());
    let f = |s: &[u8]| (s == b"X").then_some(9u32);
    assert_eq!(f.symbol_id(b"X"), Some(9));
}

/// Deterministic xorshift so the test needs no RNG crate.
fn rng(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn swar_digit_values_match_naive() {
    let mut st = 0xdead_beef_cafe_f00du64;
    for _ in 0..100_000 {
        let len = (rng(&mut st) % 20) as usize;
        let d: Vec<u8> = (0..len).map(|_| b'0' + (rng(&mut st) % 10) as u8).collect();
        let naive = d.iter().fold(0u64, |n, &c| n * 10 + u64::from(c - b'0'));
        assert_eq!(digits_value(&d), naive, "{:?}", std::str::from_utf8(&d));
    }
    assert_eq!(
        digits_value(b"9999999999999999999"),
        9_999_999_999_999_999_999
    );
    // u64 edges through the reader.
    let t = table();
    let with_a = |a: &str| AGG.replacen("5933014", a, 1);
    let ok = |a: &str| parse_agg_trade(with_a(a).as_bytes(), &t, 0).map(|x| x.agg_id);
    assert_eq!(ok("18446744073709551615").unwrap(), u64::MAX);
    assert_eq!(ok("10000000000000000000").unwrap(), 10u64.pow(19));
    assert_eq!(ok("0").unwrap(), 0);
    assert!(ok("18446744073709551616").is_err());
    assert!(ok("99999999999999999999").is_err());
    assert!(ok("123456789012345678901").is_err());
}

#[test]
fn swar_scans_match_byte_scans() {
    let mut st = 0x1234_5678_9abc_def1u64;
    let alphabet = b"0123456789.\"\\ azAZ\x01\x1f\x7f\x80\xff\x2f\x3a";
    for _ in 0..20_000 {
        let len = (rng(&mut st) % 40) as usize;
        let v: Vec<u8> = (0..len)
            .map(|_| alphabet[(rng(&mut st) % alphabet.len() as u64) as usize])
            .collect();
        for i in 0..=len {
            let naive_d = (i..len).find(|&j| !v[j].is_ascii_digit()).unwrap_or(len);
            assert_eq!(digits_end(&v, i), naive_d, "{v:?} @{i}");
            let naive_s = (i..len).find(|&j| STR_STOP[v[j] as usize]).unwrap_or(len);
            assert_eq!(string_stop(&v, i), naive_s, "{v:?} @{i}");
        }
    }
}

#[test]
fn decimals_match_std_parse_bit_for_bit() {
    let fixed = [
        "0", "0.0", "00012.50", "1.", ".5", ".", "", "1..2", "0.1", "0.3", "63943.90",
        "0.00000001", "1e5", "1E-7", "+1.5", "-2.25", "inf", "NaN", "12a",
        "9007199254740993", "9007199254740992.5", "18446744073709551615",
        "184467440737095516150", "0.1000000000000000055511151231257827",
        "123456789012345678901234567890", "0.0000000000000000000001",
        "0.00000000000000000000001", "1234567.123456789012345", "4.00000200",
        "25.35190000", "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000.0",
    ];
    for s in fixed {
        assert_eq!(
            parse_decimal(s.as_bytes()).map(f64::to_bits),
            s.parse::<f64>().ok().map(f64::to_bits),
            "{s:?}"
        );
    }
    let mut st = 0x9e37_79b9_7f4a_7c15u64;
    let mut buf = String::new();
    for _ in 0..300_000 {
        buf.clear();
        let r = rng(&mut st);
        let int_digits = (r % 12) as usize;
        let frac_digits = ((r >> 8) % 25) as usize;
        for i in 0..int_digits {
            let d = rng(&mut st) % 10;
            buf.push(char::from(
                b'0' + if i == 0 && d == 0 { 1 } else { d as u8 },
            ));
        }
        if int_digits == 0 || (r >> 16) & 1 == 0 {
            if int_digits == 0 {
                buf.push('0');
            }
            buf.push('.');
            for _ in 0..frac_digits {
                buf.push(char::from(b'0' + (rng(&mut st) % 10) as u8));
            }
        }
        assert_eq!(
            parse_decimal(buf.as_bytes()).map(f64::to_bits),
            buf.parse::<f64>().ok().map(f64::to_bits),
            "{buf:?}"
        );
    }
}

/// Converts a capture's `@trade` event into the aggTrade frame text Binance would
/// have sent for a one-fill aggregate (same strings for `p`/`q`, `a = f = l = t`).
fn trade_to_agg(d: &Value) -> String {
    format!(
        r#"{{"e":"aggTrade","E":{},"s":"{}","a":{},"p":"{}","q":"{}","f":{},"l":{},"T":{},"m":{}}}"#,
        d["E"].as_u64().unwrap(),
        d["s"].as_str().unwrap(),
        d["t"].as_u64().unwrap(),
        d["p"].as_str().unwrap(),
        d["q"].as_str().unwrap(),
        d["t"].as_u64().unwrap(),
        d["t"].as_u64().unwrap(),
        d["T"].as_u64().unwrap(),
        d["m"].as_bool().unwrap(),
    )
}

#[test]
fn fast_equals_serde_on_every_trade_and_book_ticker_of_the_captures() {
    let Some(dir) = test_data::data_dir() else {
        return;
    };
    let t = SymbolTable::new(["BTCUSDT", "ETHUSDT"]).unwrap();
    let mut files: Vec<_> = std::fs::read_dir(dir.join("nkaz001_hftbacktest/usdm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gz"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let (mut trades, mut books) = (0usize, 0usize);
    for path in &files {
        for (ts, line) in test_data::capture_lines(path) {
            if line.contains("@depth") || !line.starts_with("{\"stream\"") {
                continue; // depth diffs and the REST snapshot: not this test
            }
            let v: Value = serde_json::from_str(&line).unwrap();
            let Some(stream) = v["stream"].as_str() else {
                continue;
            };
            let data = &v["data"];
            if stream.ends_with("@trade") {
                let raw = trade_to_agg(data);
                let sym = data["s"].as_str().unwrap().to_ascii_lowercase();
                let env = format!(r#"{{"stream":"{sym}@aggTrade","data":{raw}}}"#);
                let sorted = serde_json::from_str::<Value>(&raw).unwrap().to_string();
                let want = serde_tick(&raw, &t, ts);
                for frame in [&raw, &env, &sorted] {
                    let got = parse_agg_trade(frame.as_bytes(), &t, ts)
                        .unwrap_or_else(|e| panic!("{frame}: {e}"));
                    assert_eq!(bits_t(&got), bits_t(&want), "{frame}");
                    assert_eq!(
                        parse_frame(frame.as_bytes(), &t, ts).unwrap(),
                        Frame::Trade(want)
                    );
                }
                // The decimal strings themselves, against std.
                for k in ["p", "q"] {
                    let s = data[k].as_str().unwrap();
                    assert_eq!(
                        parse_decimal(s.as_bytes()).map(f64::to_bits),
                        s.parse::<f64>().ok().map(f64::to_bits)
                    );
                }
                trades += 1;
            } else if stream.ends_with("@bookTicker") {
                let bare = data.to_string(); // keys re-ordered by serde_json
                let want = serde_book(&line, &t, ts);
                for frame in [&line, &bare] {
                    let got = parse_book_ticker(frame.as_bytes(), &t, ts)
                        .unwrap_or_else(|e| panic!("{frame}: {e}"));
                    assert_eq!(bits_b(&got), bits_b(&want), "{frame}");
                    assert_eq!(
                        parse_frame(frame.as_bytes(), &t, ts).unwrap(),
                        Frame::Book(want, data["u"].as_u64().unwrap())
                    );
                }
                books += 1;
            }
        }
    }
    println!(
        "fast == serde on {trades} trades and {books} bookTickers from {} files",
        files.len()
    );
    assert!(trades > 50_000 && books > 200_000, "{trades} {books}");
}
