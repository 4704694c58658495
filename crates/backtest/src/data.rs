//! Loading recorded market data into one time-ordered stream of trades and book tops.
//!
//! # Inputs
//!
//! The format is detected from the content, not trusted from the name:
//! - **klines**: `open_time_ms,open,high,low,close,volume` (the freqtrade-derived files in
//!   `shared/data`) or Binance public-data klines (12 columns), read by
//!   [`shmtrader_indicators::read_klines`];
//! - **hftbacktest trade CSVs**, **raw websocket captures** and **Binance public-data
//!   aggTrades CSVs**, read by the mock exchange's replay reader
//!   ([`shmtrader_mockex::replay::load_replay`]), which aggregates raw `@trade` fills into
//!   aggTrades exactly as Binance does and merges a symbol's trades across files by trade
//!   id. Captures also yield their recorded `@bookTicker` tops (fed to the engine's book
//!   microstructure and to the paper broker's spread); the depth stream is not used.
//!
//! Files may be gzip-compressed. The symbol comes from the file content (captures) or
//! the file name: `BTC_USDT_USDT-1m-futures.csv.gz` → `BTCUSDT`,
//! `btcusdt_20240718.trades.csv` → `BTCUSDT`, `BTCUSDT-aggTrades-2024-01-01.csv` →
//! `BTCUSDT`. A kline file can be given a symbol explicitly as `SYMBOL=PATH`.
//!
//! Several kline files of one symbol (e.g. the two download folders, which hold
//! consecutive, overlapping date ranges) are joined by open time; duplicate bars are
//! dropped (the first file's bar is kept and differing duplicates are counted as
//! conflicts). All symbols are merged into one stream ordered by exchange time, ties
//! broken by symbol (alphabetical) and then file order, so the order — and hence the
//! result — does not depend on the order the files were given in.
//!
//! # Klines as ticks, and the bias this introduces
//!
//! The live code consumes trades, so each kline is replayed as four trades inside its
//! own minute: the open at `open_time`, the two extremes at `+20 s` and `+40 s`, the
//! close at `+59.999 s`, each with a quarter of the bar's volume and the aggressor side
//! given by the tick rule (up-tick = buy, down-tick = sell, unchanged = previous), which
//! uses only prices already printed. Which extreme comes first is a fixed rule that does
//! not look at the close ([`IntrabarPath::NearestFirst`] by default: the extreme nearer
//! the open first — the shortest path through the four prices; ties take the high first).
//! Biases, all of which an honest reader should keep in mind:
//! - **Path**: the real path inside a minute is unknown. When a stop and a take-profit
//!   both lie inside one bar's range, the rule, not the market, decides which fires. The
//!   nearest-first path is the shortest one, so it *understates* intrabar travel: fewer
//!   trailing-stop and stop/TP touches than reality.
//! - **Fills**: an order fills on the *next* synthetic trade of its symbol (see
//!   `sim`), which is up to 20 s later and at an extreme or the close: fill prices are
//!   coarser than with real trades, in both directions.
//! - **Time**: the extremes are placed at fixed times; time stops and cooldowns see those
//!   times. The close print at +59.999 s is the last thing known about the bar, so no
//!   tick ever carries information from a later bar.
//! - **Volume/flow**: quarter volumes and tick-rule sides are synthetic, so order-flow
//!   features (signed-volume imbalance, VPIN) are only rough on kline data.
//! - **Spread**: klines carry no book; the paper broker charges its default half-spread
//!   (`risk.slippage`) instead of a measured one.

use crate::error::{BacktestError, Result};
use shmtrader_core::{BookTop, Side, Tick, MAX_SYMBOLS};
use shmtrader_indicators::{read_klines, Bar};
use shmtrader_mockex::feed::FeedKind;
use shmtrader_mockex::replay::{load_replay, Universe};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

pub use shmtrader_indicators::IntrabarPath;

/// Offsets (ms) of the four synthetic trades inside a one-minute bar.
const KLINE_OFFSETS_MS: [i64; 4] = [0, 20_000, 40_000, 59_999];

/// One market event of the merged stream.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Event {
    /// A trade (aggTrade or synthetic kline print).
    Trade(Tick),
    /// A best bid/offer.
    Book(BookTop),
}

impl Event {
    /// Exchange time (ns).
    #[inline]
    pub fn ts_ns(&self) -> u64 {
        match self {
            Event::Trade(t) => t.exchange_ts_ns,
            Event::Book(b) => b.exchange_ts_ns,
        }
    }
}

/// Where a symbol's data came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SymbolSource {
    /// Symbol name.
    pub symbol: String,
    /// `klines` or `ticks`.
    pub kind: &'static str,
    /// Files read, in the order given.
    pub files: Vec<String>,
    /// Bars (klines) or aggTrades (ticks) after joining.
    pub records: u64,
    /// Book tops (captures only).
    pub book_tops: u64,
    /// Duplicate bars dropped when joining files.
    pub duplicates: u64,
    /// Duplicates whose values differed from the bar kept.
    pub conflicts: u64,
    /// First event time (ms).
    pub first_ms: i64,
    /// Last event time (ms).
    pub last_ms: i64,
}

/// All events of a run, merged by time.
#[derive(Debug, Clone, Default)]
pub struct Market {
    /// Symbol table (alphabetical); ids index it.
    pub symbols: Vec<String>,
    /// Events ordered by exchange time.
    pub events: Vec<Event>,
    /// Per-symbol provenance, by symbol id.
    pub sources: Vec<SymbolSource>,
}

impl Market {
    /// Keeps only the events with `from_ms <= time < to_ms` (e.g. the first two weeks
    /// of a long file).
    pub fn window(&mut self, from_ms: i64, to_ms: i64) {
        let (a, b) = (
            from_ms.max(0) as u64 * 1_000_000,
            to_ms.max(0) as u64 * 1_000_000,
        );
        self.events.retain(|e| (a..b).contains(&e.ts_ns()));
    }

    /// One market per symbol, each with its symbol as id 0 and its events in the same
    /// order: for runs where symbols do not share an account (`--separate`).
    pub fn split_by_symbol(&self) -> Vec<Market> {
        let mut out: Vec<Market> = self
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| Market {
                symbols: vec![s.clone()],
                events: Vec::new(),
                sources: self.sources.get(i).cloned().into_iter().collect(),
            })
            .collect();
        for e in &self.events {
            let mut e = *e;
            let id = match &mut e {
                Event::Trade(t) => std::mem::replace(&mut t.symbol_id, 0),
                Event::Book(b) => std::mem::replace(&mut b.symbol_id, 0),
            };
            if let Some(m) = out.get_mut(id as usize) {
                m.events.push(e);
            }
        }
        out
    }

    /// Trades in the stream.
    pub fn trade_count(&self) -> u64 {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Trade(_)))
            .count() as u64
    }
}

/// The symbol of a file, from its name (see the module doc); `None` if it cannot tell.
pub fn symbol_from_file_name(path: &Path) -> Option<String> {
    const QUOTES: [&str; 6] = ["USDT", "USDC", "BUSD", "FDUSD", "USD", "BTC"];
    let name = path.file_name()?.to_str()?;
    let stem = name.split(['-', '.']).next()?;
    let parts: Vec<&str> = stem.split('_').filter(|p| !p.is_empty()).collect();
    let alpha = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    let sym = match parts.as_slice() {
        [base, quote, ..]
            if alpha(base)
                && QUOTES.iter().any(|q| q.eq_ignore_ascii_case(quote))
                && !base.chars().all(|c| c.is_ascii_digit()) =>
        {
            format!("{base}{quote}")
        }
        [first, ..] if alpha(first) => (*first).to_string(),
        _ => return None,
    };
    Some(sym.to_ascii_uppercase())
}

/// Splits `SYMBOL=PATH` (an explicit symbol) from a plain path. A path that exists is
/// always taken as a path, even if it contains `=`.
pub fn split_symbol_spec(p: &Path) -> (Option<String>, PathBuf) {
    if p.exists() {
        return (None, p.to_path_buf());
    }
    if let Some((sym, rest)) = p.to_str().and_then(|s| s.split_once('=')) {
        let ok =
            !sym.is_empty() && sym.len() <= 16 && sym.chars().all(|c| c.is_ascii_alphanumeric());
        if ok {
            return (Some(sym.to_ascii_uppercase()), PathBuf::from(rest));
        }
    }
    (None, p.to_path_buf())
}

/// What a file holds, from its first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Klines,
    Ticks,
}

fn first_line(path: &Path) -> Result<String> {
    let f = std::fs::File::open(path).map_err(|e| BacktestError::io(path, e))?;
    let mut probe = std::fs::File::open(path).map_err(|e| BacktestError::io(path, e))?;
    let mut magic = [0u8; 2];
    let n = probe
        .read(&mut magic)
        .map_err(|e| BacktestError::io(path, e))?;
    let r: Box<dyn Read> = if n == 2 && magic == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(f))
    } else {
        Box::new(f)
    };
    let mut line = String::new();
    BufReader::new(r)
        .read_line(&mut line)
        .map_err(|e| BacktestError::io(path, e))?;
    Ok(line)
}

fn detect(path: &Path) -> Result<Format> {
    let line = first_line(path)?;
    let t = line.trim();
    if t.is_empty() {
        return Err(BacktestError::Data {
            path: path.to_path_buf(),
            line: 1,
            reason: "empty file".into(),
        });
    }
    if t.contains('{') || t.starts_with("local_ts") {
        return Ok(Format::Ticks);
    }
    let cells: Vec<&str> = t.split(',').map(str::trim).collect();
    let header = cells
        .first()
        .is_some_and(|c| c.parse::<f64>().is_err() && !c.is_empty());
    if header {
        let low = t.to_ascii_lowercase();
        if low.contains("open") && low.contains("close") {
            return Ok(Format::Klines);
        }
        if low.contains("agg") || (low.contains("price") && low.contains("quantity")) {
            return Ok(Format::Ticks);
        }
    } else if cells.len() == 7 {
        return Ok(Format::Ticks); // aggTrades without header
    } else if cells.len() == 6 || cells.len() == 12 {
        return Ok(Format::Klines);
    }
    Err(BacktestError::Data {
        path: path.to_path_buf(),
        line: 1,
        reason: format!(
            "unrecognised format (expected klines, hftbacktest trades/captures or aggTrades): {:?}",
            t.chars().take(80).collect::<String>()
        ),
    })
}

/// Reads and merges every file (see the module doc).
pub fn load(files: &[PathBuf], path_rule: IntrabarPath) -> Result<Market> {
    if files.is_empty() {
        return Err(BacktestError::Input("no data files given".into()));
    }
    // Klines per symbol: (bars of each file in order, file names).
    let mut klines: BTreeMap<String, (Vec<Vec<Bar>>, Vec<String>)> = BTreeMap::new();
    let mut tick_files: Vec<PathBuf> = Vec::new();
    for f in files {
        let (explicit, path) = split_symbol_spec(f);
        if !path.exists() {
            return Err(BacktestError::Input(format!(
                "{}: no such file",
                path.display()
            )));
        }
        match detect(&path)? {
            Format::Klines => {
                let sym = explicit
                    .or_else(|| symbol_from_file_name(&path))
                    .ok_or_else(|| BacktestError::Data {
                        path: path.clone(),
                        line: 0,
                        reason: "cannot tell the symbol from the file name; give it as SYMBOL=PATH"
                            .into(),
                    })?;
                let bars = read_klines(&path)?;
                let e = klines.entry(sym).or_default();
                e.0.push(bars);
                e.1.push(path.display().to_string());
            }
            Format::Ticks => {
                if explicit.is_some() {
                    return Err(BacktestError::Input(format!(
                        "{}: SYMBOL=PATH is only supported for kline files (tick files name their symbol)",
                        path.display()
                    )));
                }
                tick_files.push(path);
            }
        }
    }

    // Tick files through the mock exchange's reader (aggregation, cross-file merge).
    let mut tick_syms: BTreeMap<String, (Vec<Event>, Vec<String>)> = BTreeMap::new();
    if !tick_files.is_empty() {
        let mut uni = Universe::default();
        let feed = load_replay(&tick_files, &mut uni, 0)?;
        let scale = |units: i64, dp: u32| units as f64 / 10f64.powi(dp as i32);
        for ev in feed {
            match ev.kind {
                FeedKind::AggTrade { sym, trade } => {
                    let spec = uni.specs[sym];
                    let ts = trade.time.saturating_mul(1_000_000);
                    let tick = Tick {
                        symbol_id: 0,
                        side: if trade.buyer_maker {
                            Side::Sell.code()
                        } else {
                            Side::Buy.code()
                        },
                        exchange_ts_ns: ts,
                        recv_ts_ns: trade.event_time.saturating_mul(1_000_000),
                        price: scale(trade.price, spec.price_dp),
                        qty: scale(trade.qty, spec.qty_dp),
                        agg_id: trade.id,
                        last_trade_id: trade.last,
                        ..Tick::default()
                    };
                    tick_syms
                        .entry(spec.symbol.to_string())
                        .or_default()
                        .0
                        .push(Event::Trade(tick));
                }
                FeedKind::BookTicker {
                    sym,
                    tx_time,
                    bid,
                    ask,
                    ..
                } => {
                    let spec = uni.specs[sym];
                    let ts = tx_time.saturating_mul(1_000_000);
                    let b = BookTop {
                        exchange_ts_ns: ts,
                        recv_ts_ns: ts,
                        bid_px: scale(bid.0, spec.price_dp),
                        bid_qty: scale(bid.1, spec.qty_dp),
                        ask_px: scale(ask.0, spec.price_dp),
                        ask_qty: scale(ask.1, spec.qty_dp),
                        ..BookTop::default()
                    };
                    tick_syms
                        .entry(spec.symbol.to_string())
                        .or_default()
                        .0
                        .push(Event::Book(b));
                }
                // Depth diffs, snapshots and the mock's shaped books are not used.
                _ => {}
            }
        }
        let names: Vec<String> = tick_files.iter().map(|p| p.display().to_string()).collect();
        for v in tick_syms.values_mut() {
            v.1.clone_from(&names);
        }
    }

    let mut symbols: Vec<String> = klines.keys().chain(tick_syms.keys()).cloned().collect();
    symbols.sort();
    symbols.dedup();
    if let Some(s) = klines.keys().find(|s| tick_syms.contains_key(*s)) {
        return Err(BacktestError::Input(format!(
            "{s} is given both as klines and as ticks; use one kind per symbol"
        )));
    }
    if symbols.is_empty() {
        return Err(BacktestError::Input("the files hold no trades".into()));
    }
    if symbols.len() > MAX_SYMBOLS {
        return Err(BacktestError::Input(format!(
            "{} symbols; at most {MAX_SYMBOLS} share one account",
            symbols.len()
        )));
    }

    let mut events: Vec<Event> = Vec::new();
    let mut sources = Vec::with_capacity(symbols.len());
    for (id, sym) in symbols.iter().enumerate() {
        let id32 = id as u32;
        let start = events.len();
        if let Some((per_file, names)) = klines.remove(sym) {
            let (bars, duplicates, conflicts) = join_bars(per_file);
            check_one_minute(sym, &names, &bars)?;
            let mut src = SymbolSource {
                symbol: sym.clone(),
                kind: "klines",
                files: names,
                records: bars.len() as u64,
                book_tops: 0,
                duplicates,
                conflicts,
                first_ms: bars.first().map_or(0, |b| b.open_time_ms),
                last_ms: bars.last().map_or(0, |b| b.open_time_ms + 59_999),
            };
            events.reserve(bars.len() * 4);
            kline_ticks(id32, &bars, path_rule, &mut events);
            if bars.is_empty() {
                src.first_ms = 0;
            }
            sources.push(src);
        } else if let Some((mut evs, names)) = tick_syms.remove(sym) {
            // Stable by time: the reader's order (by event time) breaks ties.
            evs.sort_by_key(Event::ts_ns);
            let mut src = SymbolSource {
                symbol: sym.clone(),
                kind: "ticks",
                files: names,
                records: 0,
                book_tops: 0,
                duplicates: 0,
                conflicts: 0,
                first_ms: evs.first().map_or(0, |e| (e.ts_ns() / 1_000_000) as i64),
                last_ms: evs.last().map_or(0, |e| (e.ts_ns() / 1_000_000) as i64),
            };
            for e in &mut evs {
                match e {
                    Event::Trade(t) => {
                        t.symbol_id = id32;
                        src.records += 1;
                    }
                    Event::Book(b) => {
                        b.symbol_id = id32;
                        src.book_tops += 1;
                    }
                }
            }
            events.extend(evs);
            sources.push(src);
        }
        debug_assert!(events[start..]
            .windows(2)
            .all(|w| w[0].ts_ns() <= w[1].ts_ns()));
    }
    // Stable: ties keep symbol order, then the per-symbol order.
    events.sort_by_key(Event::ts_ns);
    Ok(Market {
        symbols,
        events,
        sources,
    })
}

/// Joins the bars of several files of one symbol by open time: returns the bars, the
/// duplicates dropped and how many of those differed from the bar kept.
fn join_bars(per_file: Vec<Vec<Bar>>) -> (Vec<Bar>, u64, u64) {
    let mut all: Vec<Bar> = per_file.into_iter().flatten().collect();
    // Stable: among equal open times the first file's bar comes first and is kept.
    all.sort_by_key(|b| b.open_time_ms);
    let mut out: Vec<Bar> = Vec::with_capacity(all.len());
    let (mut dups, mut conflicts) = (0u64, 0u64);
    for b in all {
        match out.last() {
            Some(l) if l.open_time_ms == b.open_time_ms => {
                dups += 1;
                if *l != b {
                    conflicts += 1;
                }
            }
            _ => out.push(b),
        }
    }
    (out, dups, conflicts)
}

/// Kline bars are replayed as four prints inside their minute ([`KLINE_OFFSETS_MS`]): a
/// 5-minute or hourly bar replayed that way would print its close minutes before it is
/// known, a look-ahead for every other symbol of the account. So the bars must be one
/// minute apart (missing minutes are fine: whole multiples of a minute).
fn check_one_minute(sym: &str, files: &[String], bars: &[Bar]) -> Result<()> {
    let mut min_gap = i64::MAX;
    for w in bars.windows(2) {
        let d = w[1].open_time_ms - w[0].open_time_ms;
        if d % 60_000 != 0 {
            return Err(BacktestError::Input(format!(
                "{sym} ({}): bars at {} and {} are {d} ms apart; only 1-minute klines can be replayed",
                files.join(", "),
                w[0].open_time_ms,
                w[1].open_time_ms
            )));
        }
        min_gap = min_gap.min(d);
    }
    if bars.len() >= 2 && min_gap != 60_000 {
        return Err(BacktestError::Input(format!(
            "{sym} ({}): bars are {min_gap} ms apart; only 1-minute klines can be replayed",
            files.join(", ")
        )));
    }
    Ok(())
}

/// Appends the four synthetic trades of each bar (see the module doc).
pub fn kline_ticks(symbol_id: u32, bars: &[Bar], rule: IntrabarPath, out: &mut Vec<Event>) {
    let mut agg = 1u64;
    let mut last_px = f64::NAN;
    let mut last_side = Side::Buy;
    for b in bars {
        let q = b.volume / 4.0;
        for (j, px) in rule.prices(b).into_iter().enumerate() {
            // Tick rule on prices already printed.
            let side = if px > last_px {
                Side::Buy
            } else if px < last_px {
                Side::Sell
            } else {
                last_side
            };
            last_side = side;
            last_px = px;
            let ts = (b.open_time_ms + KLINE_OFFSETS_MS[j]).max(0) as u64 * 1_000_000;
            out.push(Event::Trade(Tick {
                symbol_id,
                side: side.code(),
                exchange_ts_ns: ts,
                recv_ts_ns: ts,
                price: px,
                qty: q,
                agg_id: agg,
                last_trade_id: agg,
                ..Tick::default()
            }));
            agg += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_from_file_names() {
        let s = |n: &str| symbol_from_file_name(Path::new(n));
        assert_eq!(
            s("/x/BTC_USDT_USDT-1m-futures.csv.gz").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(
            s("LAYER_USDT_USDT-1m-futures.csv.gz").as_deref(),
            Some("LAYERUSDT")
        );
        assert_eq!(s("btcusdt_20240718.trades.csv").as_deref(), Some("BTCUSDT"));
        assert_eq!(s("ethusdt_20240719.gz").as_deref(), Some("ETHUSDT"));
        assert_eq!(
            s("BTCUSDT-aggTrades-2024-01-01.csv").as_deref(),
            Some("BTCUSDT")
        );
        assert_eq!(s("ADABTC-1m-2021-11-27.csv").as_deref(), Some("ADABTC"));
        assert_eq!(s("BTC_USDT-1m.csv.gz").as_deref(), Some("BTCUSDT"));
        assert_eq!(s("_.csv"), None);
    }

    #[test]
    fn explicit_symbol_spec() {
        let (s, p) = split_symbol_spec(Path::new("solusdt=/nope/x.csv"));
        assert_eq!(s.as_deref(), Some("SOLUSDT"));
        assert_eq!(p, PathBuf::from("/nope/x.csv"));
        let (s, _) = split_symbol_spec(Path::new("/nope/x.csv"));
        assert!(s.is_none());
    }

    fn bar(t: i64, o: f64, h: f64, l: f64, c: f64) -> Bar {
        Bar {
            open_time_ms: t,
            open: o,
            high: h,
            low: l,
            close: c,
            volume: 4.0,
        }
    }

    /// Only 1-minute bars are replayed: 5-minute bars would print their close minutes
    /// before it is known. Missing minutes are fine.
    #[test]
    fn klines_other_than_one_minute_are_refused() {
        let f = vec!["x.csv".to_string()];
        let one = [bar(0, 1.0, 1.0, 1.0, 1.0), bar(60_000, 1.0, 1.0, 1.0, 1.0)];
        assert!(check_one_minute("XUSDT", &f, &one).is_ok());
        let gap = [
            bar(0, 1.0, 1.0, 1.0, 1.0),
            bar(60_000, 1.0, 1.0, 1.0, 1.0),
            bar(300_000, 1.0, 1.0, 1.0, 1.0),
        ];
        assert!(check_one_minute("XUSDT", &f, &gap).is_ok());
        let five = [bar(0, 1.0, 1.0, 1.0, 1.0), bar(300_000, 1.0, 1.0, 1.0, 1.0)];
        let e = check_one_minute("XUSDT", &f, &five)
            .unwrap_err()
            .to_string();
        assert!(e.contains("300000 ms apart") && e.contains("x.csv"), "{e}");
        let odd = [bar(0, 1.0, 1.0, 1.0, 1.0), bar(90_000, 1.0, 1.0, 1.0, 1.0)];
        assert!(check_one_minute("XUSDT", &f, &odd).is_err());
        assert!(check_one_minute("XUSDT", &f, &one[..1]).is_ok());
    }

    #[test]
    fn four_ticks_per_bar_inside_the_minute_nearest_extreme_first() {
        let bars = [
            bar(60_000, 100.0, 101.0, 98.0, 99.0),  // high nearer: O H L C
            bar(120_000, 99.0, 102.0, 98.5, 101.0), // low nearer: O L H C
        ];
        let mut out = Vec::new();
        kline_ticks(3, &bars, IntrabarPath::NearestFirst, &mut out);
        let got: Vec<(u64, f64, u8)> = out
            .iter()
            .map(|e| match e {
                Event::Trade(t) => (t.exchange_ts_ns / 1_000_000, t.price, t.side),
                Event::Book(_) => unreachable!(),
            })
            .collect();
        let (b, s) = (Side::Buy.code(), Side::Sell.code());
        assert_eq!(
            got,
            vec![
                (60_000, 100.0, b),
                (80_000, 101.0, b),
                (100_000, 98.0, s),
                (119_999, 99.0, b),
                (120_000, 99.0, b),
                (140_000, 98.5, s),
                (160_000, 102.0, b),
                (179_999, 101.0, s),
            ]
        );
        // Every print lies inside its own bar and agg ids increase.
        for (i, e) in out.iter().enumerate() {
            let Event::Trade(t) = e else { unreachable!() };
            let bar_open = bars[i / 4].open_time_ms as u64 * 1_000_000;
            assert!(t.exchange_ts_ns >= bar_open && t.exchange_ts_ns < bar_open + 60_000_000_000);
            assert_eq!(t.agg_id, i as u64 + 1);
            assert_eq!(t.symbol_id, 3);
            assert_eq!(t.qty, 1.0);
        }
    }

    /// A Binance public-data aggTrades file (symbol from the name), and a kline file with
    /// an explicit symbol, merged into one stream.
    #[test]
    fn agg_trades_csv_and_explicit_kline_symbol() {
        let dir = std::env::temp_dir().join(format!("bt-data-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let agg = dir.join("ETHUSDT-aggTrades-2024-01-01.csv");
        std::fs::write(
            &agg,
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n\
             7,2300.50,1.250,100,102,1704067200100,true\n\
             8,2300.60,0.010,103,103,1704067200200,false\n",
        )
        .unwrap();
        let kl = dir.join("bars.csv");
        std::fs::write(
            &kl,
            "open_time_ms,open,high,low,close,volume\n1704067200000,1.0,1.2,0.9,1.1,8\n",
        )
        .unwrap();
        let spec = PathBuf::from(format!("ADAUSDT={}", kl.display()));
        let m = load(&[spec, agg], IntrabarPath::NearestFirst).unwrap();
        assert_eq!(m.symbols, ["ADAUSDT", "ETHUSDT"]);
        assert_eq!(m.sources[1].kind, "ticks");
        let eth: Vec<Tick> = m
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Trade(t) if t.symbol_id == 1 => Some(*t),
                _ => None,
            })
            .collect();
        assert_eq!(eth.len(), 2);
        assert_eq!((eth[0].price, eth[0].qty, eth[0].agg_id), (2300.5, 1.25, 7));
        assert_eq!(
            eth[0].side,
            Side::Sell.code(),
            "buyer maker: the taker sold"
        );
        assert_eq!(eth[1].side, Side::Buy.code());
        assert_eq!(eth[0].exchange_ts_ns, 1_704_067_200_100_000_000);
        // Merged by time: the kline's open print (t = 0 ms) comes first.
        assert_eq!(m.events[0].ts_ns(), 1_704_067_200_000_000_000);
        assert!(m.events.windows(2).all(|w| w[0].ts_ns() <= w[1].ts_ns()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreadable_input_is_a_clear_error() {
        let e = load(&[PathBuf::from("/nope/x.csv")], IntrabarPath::NearestFirst).unwrap_err();
        assert!(e.to_string().contains("/nope/x.csv"), "{e}");
        assert!(load(&[], IntrabarPath::NearestFirst).is_err());
        let dir = std::env::temp_dir().join(format!("bt-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("BTCUSDT-x.csv");
        std::fs::write(&p, "hello,world\n").unwrap();
        let e = load(&[p], IntrabarPath::NearestFirst).unwrap_err();
        assert!(e.to_string().contains("unrecognised format"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn joining_drops_duplicates_and_counts_conflicts() {
        let a = vec![bar(0, 1.0, 1.0, 1.0, 1.0), bar(60_000, 2.0, 2.0, 2.0, 2.0)];
        let b = vec![
            bar(60_000, 2.0, 2.0, 2.0, 2.0),
            bar(60_000 * 2, 3.0, 3.0, 3.0, 3.0),
        ];
        let (bars, d, c) = join_bars(vec![a.clone(), b]);
        assert_eq!(bars.len(), 3);
        assert_eq!((d, c), (1, 0));
        let mut b2 = a.clone();
        b2[1].close = 9.0;
        let (bars, d, c) = join_bars(vec![a, b2]);
        assert_eq!(bars[1].close, 2.0, "the first file's bar is kept");
        assert_eq!((d, c), (2, 1));
    }
}
