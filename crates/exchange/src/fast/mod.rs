//! Zero-allocation fast path: websocket frame bytes → [`Tick`] / [`BookTop`].
//!
//! Ingest sees every aggTrade and bookTicker of every symbol; going through serde (a
//! `String` for `e` and `s`, a generic visitor per field) costs several times more than
//! the rest of the publish path. This module is a hand-written scanner that walks the
//! frame once, notes where each interesting value sits, and converts only those values:
//! no heap allocation, no UTF-8 pass over the whole frame, no intermediate tree.
//!
//! It is still a strict parser, because a trading system must not publish a price it
//! half-understood:
//! - the frame must be one well-formed JSON object (bare, or the combined-stream
//!   envelope `{"stream":..,"data":{..}}`), with nothing after it but whitespace;
//! - every field the serde types in [`crate::wire::market`] require must be present
//!   exactly once, with the same types (ids are unsigned integers, never floats; decimals
//!   are strings), and keys may come in any order; unknown keys are skipped;
//! - decimals are converted exactly as `str::parse::<f64>` would (correctly rounded), and
//!   prices and quantities must be positive and finite.
//!
//! The property test at the bottom checks, on every trade and bookTicker of the real
//! captures, that this parser and the serde reference path produce bit-identical records.//!
//! Layout: this file holds the public entry points and the symbol table; `decimal` the
//! exact decimal conversion; `scanner` the single-pass JSON scanner and the field
//! reader; `tests` the unit and property tests.

use shmtrader_core::{BookTop, Tick};

use crate::error::{ExchangeError, Result};

mod decimal;
mod scanner;
#[cfg(test)]
mod tests;

pub use decimal::parse_decimal;

use scanner::{scan, Kind, Reader, AGG, BOOK, EMPTY, FRAME, K_E_LOWER};

/// Maps the `s` field (uppercase symbol bytes, e.g. `b"BTCUSDT"`) to the symbol id used in
/// records. Implemented by [`SymbolTable`] and by any `Fn(&[u8]) -> Option<u32>`.
pub trait SymbolLookup {
    /// The id of `symbol`, or `None` if this process does not trade it.
    fn symbol_id(&self, symbol: &[u8]) -> Option<u32>;
}

impl<F: Fn(&[u8]) -> Option<u32>> SymbolLookup for F {
    fn symbol_id(&self, symbol: &[u8]) -> Option<u32> {
        self(symbol)
    }
}

/// Longest symbol name accepted (the config allows ≤ 16 characters).
pub const MAX_SYMBOL_LEN: usize = 16;

#[derive(Debug, Clone, Copy)]
struct SymName {
    len: u8,
    bytes: [u8; MAX_SYMBOL_LEN],
    /// The zero-padded bytes as one integer: a lookup is one compare per entry, no
    /// `memcmp` call.
    key: u128,
}

/// Zero-padded little-endian integer of up to 16 bytes.
#[inline(always)]
fn sym_key(s: &[u8]) -> u128 {
    let mut k = 0u128;
    for (i, &c) in s.iter().enumerate().take(MAX_SYMBOL_LEN) {
        k |= u128::from(c) << (8 * i);
    }
    k
}

/// Equality with a short constant, compiled to a few compares (no `memcmp` call).
#[inline(always)]
fn short_eq(a: &[u8], b: &'static [u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// A small symbol table: id = position in the list it was built from (the symbol-id
/// order of the config). Lookup is a linear scan over ≤ 64 fixed 16-byte names, which is
/// faster than hashing the key for tables this small and never allocates.
#[derive(Debug, Clone, Default)]
pub struct SymbolTable {
    names: Vec<SymName>,
}

impl SymbolTable {
    /// Builds the table; names are upper-cased (Binance's `s` is uppercase) and must be
    /// 1..=16 ASCII alphanumerics, without repeats.
    pub fn new<I, S>(names: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut t = SymbolTable::default();
        for n in names {
            let n = n.as_ref();
            if n.is_empty()
                || n.len() > MAX_SYMBOL_LEN
                || !n.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(ExchangeError::Config {
                    key: "symbols",
                    reason: format!("{n:?} is not a symbol of 1..=16 ASCII letters/digits"),
                });
            }
            let mut bytes = [0u8; MAX_SYMBOL_LEN];
            for (d, s) in bytes.iter_mut().zip(n.bytes()) {
                *d = s.to_ascii_uppercase();
            }
            let name = SymName {
                len: n.len() as u8,
                bytes,
                key: sym_key(&bytes[..n.len()]),
            };
            if t.lookup(&bytes[..n.len()]).is_some() {
                return Err(ExchangeError::Config {
                    key: "symbols",
                    reason: format!("{n:?} is listed twice"),
                });
            }
            t.names.push(name);
        }
        Ok(t)
    }

    fn lookup(&self, symbol: &[u8]) -> Option<u32> {
        if symbol.len() > MAX_SYMBOL_LEN {
            return None;
        }
        let (len, key) = (symbol.len() as u8, sym_key(symbol));
        self.names
            .iter()
            .position(|n| n.key == key && n.len == len)
            .map(|i| i as u32)
    }

    /// The uppercase name of `id`.
    pub fn name(&self, id: u32) -> Option<&str> {
        let n = self.names.get(id as usize)?;
        std::str::from_utf8(&n.bytes[..n.len as usize]).ok()
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

impl SymbolLookup for SymbolTable {
    fn symbol_id(&self, symbol: &[u8]) -> Option<u32> {
        self.lookup(symbol)
    }
}

/// Event type of a frame, from its `e` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `aggTrade`.
    AggTrade,
    /// `bookTicker`.
    BookTicker,
    /// `depthUpdate` (diff or partial depth).
    DepthUpdate,
    /// `markPriceUpdate`.
    MarkPrice,
    /// Any other event type.
    Other,
}

/// What one websocket frame turned out to be.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Frame {
    /// An aggTrade, fully converted.
    Trade(Tick),
    /// A bookTicker, fully converted, with its book update id `u` (records have no room
    /// for it; the client uses it to drop quotes older than one already delivered).
    Book(BookTop, u64),
    /// A well-formed event the fast path does not convert (depth, mark price, ...):
    /// decode it with [`crate::wire::market::decode_event`], passing `enveloped`.
    Event {
        /// Which event.
        kind: EventKind,
        /// Wrapped in the combined-stream envelope.
        enveloped: bool,
    },
    /// A well-formed object without `e`: a reply to SUBSCRIBE (`{"result":null,"id":1}`),
    /// an error frame (`{"code":..,"msg":..}`).
    Control,
}

/// Parses any market frame (bare or enveloped) in one pass: aggTrade → [`Frame::Trade`],
/// bookTicker → [`Frame::Book`], other events are classified. `recv_ts_ns` is the local
/// receive time to stamp into the record.
pub fn parse_frame<L: SymbolLookup + ?Sized>(
    frame: &[u8],
    symbols: &L,
    recv_ts_ns: u64,
) -> Result<Frame> {
    let mut f = EMPTY;
    scan(frame, &mut f).map_err(|r| r.into_error(FRAME))?;
    let e = f.v[K_E_LOWER];
    if e.kind == Kind::Absent {
        return Ok(Frame::Control);
    }
    let r = Reader { b: frame, f: &f };
    let e = r.str(K_E_LOWER).map_err(|r| r.into_error(FRAME))?;
    if short_eq(e, b"aggTrade") {
        return r
            .tick(symbols, recv_ts_ns)
            .map(Frame::Trade)
            .map_err(|r| r.into_error(AGG));
    }
    if short_eq(e, b"bookTicker") {
        return r
            .book_top(symbols, recv_ts_ns)
            .map(|(top, u)| Frame::Book(top, u))
            .map_err(|r| r.into_error(BOOK));
    }
    let kind = if short_eq(e, b"depthUpdate") {
        EventKind::DepthUpdate
    } else if short_eq(e, b"markPriceUpdate") {
        EventKind::MarkPrice
    } else {
        EventKind::Other
    };
    Ok(Frame::Event {
        kind,
        enveloped: f.enveloped,
    })
}

/// aggTrade frame (bare or enveloped) → [`Tick`]. `flags` and `publish_ts_ns` are 0;
/// the side is the taker's (`m` = true ⇒ the taker sold).
pub fn parse_agg_trade<L: SymbolLookup + ?Sized>(
    frame: &[u8],
    symbols: &L,
    recv_ts_ns: u64,
) -> Result<Tick> {
    let mut f = EMPTY;
    scan(frame, &mut f)
        .and_then(|()| Reader { b: frame, f: &f }.tick(symbols, recv_ts_ns))
        .map_err(|r| r.into_error(AGG))
}

/// bookTicker frame (bare or enveloped) → [`BookTop`]; exchange time from `T`.
pub fn parse_book_ticker<L: SymbolLookup + ?Sized>(
    frame: &[u8],
    symbols: &L,
    recv_ts_ns: u64,
) -> Result<BookTop> {
    let mut f = EMPTY;
    scan(frame, &mut f)
        .and_then(|()| Reader { b: frame, f: &f }.book_top(symbols, recv_ts_ns))
        .map(|(top, _)| top)
        .map_err(|r| r.into_error(BOOK))
}

/// Locating the recorded data for tests (shared by the unit tests of this crate).
#[cfg(test)]
pub(crate) mod test_data {
    use std::io::BufRead;
    use std::path::PathBuf;

    /// `$SHMTRADER_DATA` or `../shared/data`; `None` (with a printed notice) when absent,
    /// a panic instead when `SHMTRADER_REQUIRE_DATA=1`.
    pub fn data_dir() -> Option<PathBuf> {
        let dir = std::env::var("SHMTRADER_DATA")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data")
            });
        if dir.join("nkaz001_hftbacktest").is_dir() {
            Some(dir)
        } else if std::env::var("SHMTRADER_REQUIRE_DATA").as_deref() == Ok("1") {
            panic!(
                "SHMTRADER_REQUIRE_DATA=1 but the data directory {} is missing",
                dir.display()
            );
        } else {
            println!(
                "SKIPPED: market data not found at {} (set SHMTRADER_DATA)",
                dir.display()
            );
            None
        }
    }

    /// The `<local_ts> <json>` lines of a gzip capture.
    pub fn capture_lines(path: &std::path::Path) -> Vec<(u64, String)> {
        let f = std::fs::File::open(path).unwrap();
        let r = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(f));
        r.lines()
            .map(|l| {
                let l = l.unwrap();
                let (ts, js) = l.split_once(' ').unwrap();
                (ts.parse().unwrap(), js.to_string())
            })
            .collect()
    }
}
