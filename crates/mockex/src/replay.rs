//! Loading recorded market data into a time-ordered list of feed events.
//!
//! Three formats are understood, detected from the content (not trusted from the name):
//! - hftbacktest trade CSVs (`local_ts_ns,event_time_ms,trade_time_ms,trade_id,...`): raw
//!   `@trade` fills, aggregated here exactly as Binance builds aggTrades;
//! - hftbacktest raw captures (`<local_ts> <json>` lines of combined-stream messages for
//!   `@trade`, `@bookTicker`, `@depth@0ms`, plus a bare REST depth snapshot line);
//! - Binance public-data aggTrades CSVs, with or without their header row.
//!
//! Files may be gzip-compressed. Trades of one symbol from several files (a session split
//! at midnight) are merged by trade id before aggregating, so aggregate ids run on.
//! A symbol with trades but no recorded book gets a shaped book around its tape.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

use crate::book::BookShaper;
use crate::error::{MockError, Result};
use crate::feed::{Aggregator, FeedEvent, FeedKind, Level, RawTrade};
use crate::spec::{all_specs, find_spec, parse_units, SymbolSpec};

/// The symbols in play, in index order (feed events refer to them by index).
#[derive(Debug, Clone, Default)]
pub struct Universe {
    /// Specs by index.
    pub specs: Vec<SymbolSpec>,
}

impl Universe {
    /// A universe of the configured symbols.
    pub fn from_names(names: &[String]) -> Result<Self> {
        let mut u = Universe::default();
        for n in names {
            u.index(n)?;
        }
        Ok(u)
    }

    /// Index of a symbol, adding it when the mock knows its contract.
    pub fn index(&mut self, name: &str) -> Result<usize> {
        if let Some(i) = self
            .specs
            .iter()
            .position(|s| s.symbol.eq_ignore_ascii_case(name))
        {
            return Ok(i);
        }
        let spec = find_spec(name).ok_or_else(|| {
            let known: Vec<&str> = all_specs().iter().map(|s| s.symbol).collect();
            MockError::UnknownSymbol(name.to_string(), known.join(", "))
        })?;
        self.specs.push(spec);
        Ok(self.specs.len() - 1)
    }
}

fn data_err(path: &Path, line: usize, reason: impl Into<String>) -> MockError {
    MockError::Data {
        path: path.to_path_buf(),
        line,
        reason: reason.into(),
    }
}

fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path).map_err(|e| MockError::Io {
        what: path.display().to_string(),
        source: e,
    })?;
    let gz = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let r: Box<dyn Read> = if gz {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    Ok(Box::new(BufReader::with_capacity(1 << 16, r)))
}

/// `btcusdt_20240718.trades.csv` → `BTCUSDT`; `BTCUSDT-aggTrades-2024-01-01.csv` → `BTCUSDT`.
fn symbol_from_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.split(['_', '-', '.']).next()?;
    if stem.is_empty() {
        None
    } else {
        Some(stem.to_ascii_uppercase())
    }
}

#[derive(Default)]
struct Loaded {
    events: Vec<FeedEvent>,
    raw_trades: BTreeMap<usize, Vec<RawTrade>>,
    has_book: Vec<bool>,
}

impl Loaded {
    fn mark_book(&mut self, sym: usize) {
        if self.has_book.len() <= sym {
            self.has_book.resize(sym + 1, false);
        }
        self.has_book[sym] = true;
    }
}

/// Loads every file, aggregates trades and returns all events ordered by data time.
pub fn load_replay(paths: &[PathBuf], uni: &mut Universe, seed: u64) -> Result<Vec<FeedEvent>> {
    let mut ld = Loaded::default();
    for p in paths {
        load_file(p, uni, &mut ld)?;
    }
    // Aggregate raw fills per symbol, across files, in trade-id order.
    let raw = std::mem::take(&mut ld.raw_trades);
    for (sym, mut trades) in raw {
        trades.sort_by_key(|t| t.id);
        trades.dedup_by_key(|t| t.id);
        let first = trades.first().map(|t| t.id / 2).unwrap_or(1);
        let mut agg = Aggregator::new(first);
        for t in &trades {
            if let Some(a) = agg.push(t) {
                ld.events.push(FeedEvent {
                    time: a.event_time,
                    kind: FeedKind::AggTrade { sym, trade: a },
                });
            }
        }
        if let Some(a) = agg.finish() {
            ld.events.push(FeedEvent {
                time: a.event_time,
                kind: FeedKind::AggTrade { sym, trade: a },
            });
        }
    }
    ld.events.sort_by_key(|e| e.time);
    // Trade-only symbols get a shaped book so market orders and depth streams work.
    let mut shaped: Vec<FeedEvent> = Vec::new();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_b00c);
    for (sym, spec) in uni.specs.iter().enumerate() {
        if ld.has_book.get(sym).copied().unwrap_or(false) {
            continue;
        }
        let mut shaper: Option<BookShaper> = None;
        for ev in &ld.events {
            let FeedKind::AggTrade { sym: s, trade } = &ev.kind else {
                continue;
            };
            if *s != sym {
                continue;
            }
            let bid = if trade.buyer_maker {
                trade.price
            } else {
                trade.price - spec.tick
            };
            let sh = match &mut shaper {
                Some(sh) => sh,
                None => {
                    let lvl = (spec.median_qty * 10f64.powi(spec.qty_dp as i32) * 4.0).max(1.0);
                    let mut sh = BookShaper::new(
                        sym,
                        spec.tick,
                        spec.step,
                        lvl,
                        trade.first.saturating_mul(1000),
                    );
                    let _ = sh.reshape(&mut rng, ev.time, bid, 1);
                    shaped.push(sh.snapshot(ev.time.saturating_sub(1)));
                    shaper.insert(sh)
                }
            };
            shaped.extend(sh.reshape(&mut rng, ev.time, bid, 1));
        }
    }
    if !shaped.is_empty() {
        ld.events.extend(shaped);
        ld.events.sort_by_key(|e| e.time);
    }
    Ok(ld.events)
}

fn load_file(path: &Path, uni: &mut Universe, ld: &mut Loaded) -> Result<()> {
    let mut r = open(path)?;
    let mut first = String::new();
    r.read_line(&mut first)
        .map_err(|e| data_err(path, 1, e.to_string()))?;
    let trimmed = first.trim_start();
    if trimmed.is_empty() {
        return Err(data_err(path, 1, "empty file"));
    }
    if first.contains('{') {
        load_capture(path, &first, r, uni, ld)
    } else if trimmed.starts_with("local_ts") {
        load_trades_csv(path, &first, r, uni, ld)
    } else {
        load_agg_csv(path, &first, r, uni, ld)
    }
}

fn file_symbol(path: &Path, uni: &mut Universe) -> Result<usize> {
    let name = symbol_from_name(path)
        .ok_or_else(|| data_err(path, 0, "cannot tell the symbol from the file name"))?;
    uni.index(&name)
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        "true" | "True" | "TRUE" | "1" => Some(true),
        "false" | "False" | "FALSE" | "0" => Some(false),
        _ => None,
    }
}

fn load_trades_csv(
    path: &Path,
    header: &str,
    r: Box<dyn BufRead>,
    uni: &mut Universe,
    ld: &mut Loaded,
) -> Result<()> {
    let sym = file_symbol(path, uni)?;
    let spec = uni.specs[sym];
    let cols: Vec<&str> = header.trim().split(',').collect();
    let col = |n: &str| {
        cols.iter()
            .position(|c| *c == n)
            .ok_or_else(|| data_err(path, 1, format!("missing column {n}")))
    };
    let (ce, ct, cid, cp, cq, cm) = (
        col("event_time_ms")?,
        col("trade_time_ms")?,
        col("trade_id")?,
        col("price")?,
        col("qty")?,
        col("is_buyer_maker")?,
    );
    let cx = cols.iter().position(|c| *c == "order_type");
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).from_reader(r);
    let out = ld.raw_trades.entry(sym).or_default();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| data_err(path, line, e.to_string()))?;
        let get = |c: usize| {
            rec.get(c)
                .ok_or_else(|| data_err(path, line, format!("missing field {c}")))
        };
        let num = |c: usize| -> Result<u64> {
            get(c)?
                .trim()
                .parse()
                .map_err(|_| data_err(path, line, format!("bad integer in column {c}")))
        };
        let px = parse_units(get(cp)?, spec.price_dp)
            .ok_or_else(|| data_err(path, line, "bad price"))?;
        let qty =
            parse_units(get(cq)?, spec.qty_dp).ok_or_else(|| data_err(path, line, "bad qty"))?;
        let m = parse_bool(get(cm)?).ok_or_else(|| data_err(path, line, "bad is_buyer_maker"))?;
        let market = match cx {
            Some(c) => get(c)?.trim() == "MARKET",
            None => true,
        };
        out.push(RawTrade {
            id: num(cid)?,
            price: px,
            qty,
            time: num(ct)?,
            event_time: num(ce)?,
            buyer_maker: m,
            market,
        });
    }
    Ok(())
}

fn load_agg_csv(
    path: &Path,
    first: &str,
    r: Box<dyn BufRead>,
    uni: &mut Universe,
    ld: &mut Loaded,
) -> Result<()> {
    let sym = file_symbol(path, uni)?;
    let spec = uni.specs[sym];
    let first_cell = first.split(',').next().unwrap_or("").trim();
    let has_header = first_cell.parse::<u64>().is_err();
    let mut lines: Vec<(usize, String)> = Vec::new();
    if !has_header {
        lines.push((1, first.to_string()));
    }
    let mut agg: Vec<crate::feed::AggTrade> = Vec::new();
    let mut parse_line = |line: usize, text: &str| -> Result<()> {
        let f: Vec<&str> = text.trim().split(',').collect();
        if f.len() < 7 {
            return Err(data_err(
                path,
                line,
                format!("expected 7 aggTrades columns, got {}", f.len()),
            ));
        }
        let num = |i: usize| -> Result<u64> {
            f[i].trim()
                .parse()
                .map_err(|_| data_err(path, line, format!("bad integer in column {}", i + 1)))
        };
        let price =
            parse_units(f[1], spec.price_dp).ok_or_else(|| data_err(path, line, "bad price"))?;
        let qty =
            parse_units(f[2], spec.qty_dp).ok_or_else(|| data_err(path, line, "bad quantity"))?;
        if qty <= 0 {
            // Known archive defect (quantity=0.0 rows): nothing traded.
            return Ok(());
        }
        let m = parse_bool(f[6]).ok_or_else(|| data_err(path, line, "bad is_buyer_maker"))?;
        let time = num(5)?;
        agg.push(crate::feed::AggTrade {
            id: num(0)?,
            price,
            qty,
            first: num(3)?,
            last: num(4)?,
            time,
            event_time: time,
            buyer_maker: m,
        });
        Ok(())
    };
    for (n, l) in lines {
        parse_line(n, &l)?;
    }
    for (i, l) in r.lines().enumerate() {
        let line = i + 2;
        let l = l.map_err(|e| data_err(path, line, e.to_string()))?;
        if l.trim().is_empty() {
            continue;
        }
        parse_line(line, &l)?;
    }
    // Some monthly archives are interleaved: order by aggregate id.
    agg.sort_by_key(|a| a.id);
    agg.dedup_by_key(|a| a.id);
    ld.events.extend(agg.into_iter().map(|a| FeedEvent {
        time: a.event_time,
        kind: FeedKind::AggTrade { sym, trade: a },
    }));
    Ok(())
}

fn levels(v: Option<&Value>, spec: &SymbolSpec) -> Option<Vec<Level>> {
    let arr = v?.as_array()?;
    let mut out = Vec::with_capacity(arr.len());
    for l in arr {
        let l = l.as_array()?;
        let p = parse_units(l.first()?.as_str()?, spec.price_dp)?;
        let q = parse_units(l.get(1)?.as_str()?, spec.qty_dp)?;
        out.push((p, q));
    }
    Some(out)
}

fn load_capture(
    path: &Path,
    first: &str,
    r: Box<dyn BufRead>,
    uni: &mut Universe,
    ld: &mut Loaded,
) -> Result<()> {
    let mut file_sym: Option<usize> = None;
    let mut pending_snapshots: Vec<(usize, Value)> = Vec::new();
    let mut handle = |line: usize, text: &str, uni: &mut Universe, ld: &mut Loaded| -> Result<()> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(());
        }
        let json = match text.split_once(' ') {
            Some((_, j)) => j,
            None => return Err(data_err(path, line, "expected `<local_ts> <json>`")),
        };
        let v: Value =
            serde_json::from_str(json).map_err(|e| data_err(path, line, e.to_string()))?;
        let Some(stream) = v.get("stream").and_then(Value::as_str) else {
            if v.get("lastUpdateId").is_some() {
                pending_snapshots.push((line, v));
                return Ok(());
            }
            return Err(data_err(
                path,
                line,
                "neither a stream message nor a snapshot",
            ));
        };
        let data = v
            .get("data")
            .ok_or_else(|| data_err(path, line, "no data"))?;
        let sym_name = data
            .get("s")
            .and_then(Value::as_str)
            .or_else(|| stream.split('@').next())
            .unwrap_or("");
        let sym = uni.index(sym_name)?;
        file_sym.get_or_insert(sym);
        let spec = uni.specs[sym];
        let u64f = |k: &str| data.get(k).and_then(Value::as_u64);
        let strf = |k: &str| data.get(k).and_then(Value::as_str);
        let bad = |what: &str| data_err(path, line, format!("bad {what} message"));
        if stream.ends_with("@trade") {
            let t = RawTrade {
                id: u64f("t").ok_or_else(|| bad("trade"))?,
                price: strf("p")
                    .and_then(|s| parse_units(s, spec.price_dp))
                    .ok_or_else(|| bad("trade"))?,
                qty: strf("q")
                    .and_then(|s| parse_units(s, spec.qty_dp))
                    .ok_or_else(|| bad("trade"))?,
                time: u64f("T").ok_or_else(|| bad("trade"))?,
                event_time: u64f("E").ok_or_else(|| bad("trade"))?,
                buyer_maker: data
                    .get("m")
                    .and_then(Value::as_bool)
                    .ok_or_else(|| bad("trade"))?,
                market: strf("X").is_none_or(|x| x == "MARKET"),
            };
            ld.raw_trades.entry(sym).or_default().push(t);
        } else if stream.contains("@bookTicker") {
            let px = |k: &str| strf(k).and_then(|s| parse_units(s, spec.price_dp));
            let qx = |k: &str| strf(k).and_then(|s| parse_units(s, spec.qty_dp));
            let time = u64f("E").ok_or_else(|| bad("bookTicker"))?;
            ld.events.push(FeedEvent {
                time,
                kind: FeedKind::BookTicker {
                    sym,
                    update_id: u64f("u").ok_or_else(|| bad("bookTicker"))?,
                    tx_time: u64f("T").unwrap_or(time),
                    bid: (
                        px("b").ok_or_else(|| bad("bookTicker"))?,
                        qx("B").ok_or_else(|| bad("bookTicker"))?,
                    ),
                    ask: (
                        px("a").ok_or_else(|| bad("bookTicker"))?,
                        qx("A").ok_or_else(|| bad("bookTicker"))?,
                    ),
                },
            });
        } else if stream.contains("@depth") {
            let time = u64f("E").ok_or_else(|| bad("depth"))?;
            ld.mark_book(sym);
            ld.events.push(FeedEvent {
                time,
                kind: FeedKind::Depth {
                    sym,
                    first: u64f("U").ok_or_else(|| bad("depth"))?,
                    last: u64f("u").ok_or_else(|| bad("depth"))?,
                    prev: u64f("pu").unwrap_or(0),
                    tx_time: u64f("T").unwrap_or(time),
                    bids: levels(data.get("b"), &spec).ok_or_else(|| bad("depth"))?,
                    asks: levels(data.get("a"), &spec).ok_or_else(|| bad("depth"))?,
                },
            });
        }
        // Other streams (markPrice, kline...) are not replayed.
        Ok(())
    };
    handle(1, first, uni, ld)?;
    for (i, l) in r.lines().enumerate() {
        let line = i + 2;
        let l = l.map_err(|e| data_err(path, line, e.to_string()))?;
        handle(line, &l, uni, ld)?;
    }
    // Snapshots carry no symbol: they belong to the file's symbol.
    for (line, v) in pending_snapshots {
        let sym = match file_sym {
            Some(s) => s,
            None => file_symbol(path, uni)?,
        };
        let spec = uni.specs[sym];
        let bad = || data_err(path, line, "bad snapshot");
        let last_id = v
            .get("lastUpdateId")
            .and_then(Value::as_u64)
            .ok_or_else(bad)?;
        let time = v.get("E").and_then(Value::as_u64).ok_or_else(bad)?;
        ld.mark_book(sym);
        ld.events.push(FeedEvent {
            time,
            kind: FeedKind::Snapshot {
                sym,
                last_id,
                bids: levels(v.get("bids"), &spec).ok_or_else(bad)?,
                asks: levels(v.get("asks"), &spec).ok_or_else(bad)?,
            },
        });
    }
    Ok(())
}

/// Loads just the raw trades of an hftbacktest trades CSV (for tests and tools).
pub fn read_raw_trades(path: &Path) -> Result<(String, Vec<RawTrade>)> {
    let mut uni = Universe::default();
    let mut ld = Loaded::default();
    let mut r = open(path)?;
    let mut first = String::new();
    r.read_line(&mut first)
        .map_err(|e| data_err(path, 1, e.to_string()))?;
    load_trades_csv(path, &first, r, &mut uni, &mut ld)?;
    let sym = uni
        .specs
        .first()
        .map(|s| s.symbol.to_string())
        .unwrap_or_default();
    let trades = ld.raw_trades.into_values().next().unwrap_or_default();
    Ok((sym, trades))
}
