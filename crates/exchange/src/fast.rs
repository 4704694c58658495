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
//! captures, that this parser and the serde reference path produce bit-identical records.

use shmtrader_core::{BookTop, Tick};

use crate::error::{ExchangeError, Result};
use crate::wire::market::taker_side;

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

// ------------------------------------------------------------------------------ decimals

/// Exact powers of ten: every 10^k for k ≤ 22 is representable in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a decimal string (`"63943.90"`, `"0.003"`) to the same `f64` as
/// `str::parse::<f64>`, bit for bit.
///
/// Fast path (Clinger): for `digits[.digits]` with at most 19 digits, the digits form an
/// integer `m`; when `m < 2^53` (and so `k`, the fraction length, is ≤ 19 ≤ 22), `m` and
/// `10^k` are both exact doubles and one IEEE division is correctly rounded, so
/// `m / 10^k` *is* the correctly rounded value. Anything else (long mantissas,
/// exponents, signs, `inf`) goes to `str::parse`, which is correct for all inputs and
/// never allocates either. Returns `None` where `str::parse` errs.
#[inline]
pub fn parse_decimal(s: &[u8]) -> Option<f64> {
    parse_decimal_at(s, 0, s.len())
}

/// [`parse_decimal`] of `b[start..end]`, reading whole 8-byte words of `b` where it can:
/// inside a frame the bytes after a value (`"`, `,`, ...) are there to be loaded and
/// are shifted out, so short values cost one load instead of a byte loop.
#[inline]
fn parse_decimal_at(b: &[u8], start: usize, end: usize) -> Option<f64> {
    let int_end = digits_end(b, start).min(end);
    let (fs, fe) = if int_end < end && b[int_end] == b'.' {
        (int_end + 1, digits_end(b, int_end + 1).min(end))
    } else {
        (int_end, int_end)
    };
    let int_len = int_end - start;
    let frac = fe - fs;
    let total = int_len + frac;
    // Anything but `digits[.digits]` with 1..=19 digits (so the integer fits a u64) is
    // left to std: exponents, signs, `inf`, very long mantissas, garbage.
    if fe != end || total == 0 || total > 19 {
        return parse_decimal_slow(b.get(start..end)?);
    }
    let m = value_at(b, start, int_len) * POW10_U64[frac] + value_at(b, fs, frac);
    if m < (1u64 << 53) && frac < POW10.len() {
        return Some(m as f64 / POW10[frac]);
    }
    parse_decimal_slow(b.get(start..end)?)
}

/// Value of the `len` (≤ 19) ASCII digits at `b[start..]`: one or two 8-byte loads and
/// [`parse8`] when `b` has the bytes, else the plain loop. Loaded bytes beyond the
/// digits are shifted out (and `parse8` reads only low nibbles, so the zeros shifted
/// in count as leading `0`s).
#[inline(always)]
fn value_at(b: &[u8], start: usize, len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    if len <= 8 {
        if let Some(v) = load8(b, start) {
            return parse8(v << (8 * (8 - len)));
        }
    } else if len <= 16 {
        if let (Some(v1), Some(v2)) = (load8(b, start), load8(b, start + len - 8)) {
            return parse8(v1 << (8 * (16 - len))) * 100_000_000 + parse8(v2);
        }
    }
    b.get(start..start + len).map_or(0, digits_value)
}

/// 10^k as integers, k ≤ 19.
const POW10_U64: [u64; 20] = {
    let mut t = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Eight ASCII digits (first digit in the lowest byte) → their value, with three
/// multiplies instead of eight dependent multiply-adds (the simdjson trick).
#[inline(always)]
fn parse8(v: u64) -> u64 {
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// Value of a run of ASCII digits known to be digits, at most 19 of them (no overflow).
#[inline(always)]
fn digits_value(d: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut i = 0;
    while let Some(v) = load8(d, i) {
        n = n * 100_000_000 + parse8(v);
        i += 8;
    }
    for &c in d.get(i..).unwrap_or_default() {
        n = n * 10 + u64::from(c - b'0');
    }
    n
}

#[cold]
fn parse_decimal_slow(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.parse::<f64>().ok()
}

// ------------------------------------------------------------------------------- scanner

/// What kind of JSON value a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Kind {
    #[default]
    Absent,
    /// A string without escapes; the span is its content (no quotes).
    Str,
    /// A string with escapes (never valid for the fields we read).
    StrEscaped,
    /// A number token of digits only (the scan saw where the digits ended).
    Int,
    /// Any other number token (sign, fraction, exponent), unvalidated.
    Num,
    True,
    False,
    Null,
    /// An array or object, skipped.
    Composite,
}

#[derive(Debug, Clone, Copy, Default)]
struct Val {
    kind: Kind,
    start: u32,
    end: u32,
}

// Slots for the keys the fast path reads. The same key means different things in
// different events (`a` is the aggregate id in aggTrade, the ask price in bookTicker),
// so values are kept raw and interpreted once the event type is known.
const K_E_LOWER: usize = 0; // e
const K_E: usize = 1; // E
const K_S: usize = 2; // s
const K_A_LOWER: usize = 3; // a
const K_P: usize = 4; // p
const K_Q: usize = 5; // q
const K_F: usize = 6; // f
const K_L: usize = 7; // l
const K_T: usize = 8; // T
const K_M: usize = 9; // m
const K_U_LOWER: usize = 10; // u
const K_B_LOWER: usize = 11; // b
const K_B: usize = 12; // B
const K_A: usize = 13; // A
const NKEYS: usize = 14;

const KEY_NAMES: [&str; NKEYS] = [
    "e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "u", "b", "B", "A",
];

const NO_SLOT: u8 = u8::MAX;

/// Single-character key → slot (`NO_SLOT` for keys the fast path ignores).
static KEY_SLOT: [u8; 256] = {
    let mut t = [NO_SLOT; 256];
    t[b'e' as usize] = K_E_LOWER as u8;
    t[b'E' as usize] = K_E as u8;
    t[b's' as usize] = K_S as u8;
    t[b'a' as usize] = K_A_LOWER as u8;
    t[b'p' as usize] = K_P as u8;
    t[b'q' as usize] = K_Q as u8;
    t[b'f' as usize] = K_F as u8;
    t[b'l' as usize] = K_L as u8;
    t[b'T' as usize] = K_T as u8;
    t[b'm' as usize] = K_M as u8;
    t[b'u' as usize] = K_U_LOWER as u8;
    t[b'b' as usize] = K_B_LOWER as u8;
    t[b'B' as usize] = K_B as u8;
    t[b'A' as usize] = K_A as u8;
    t
};

/// Bytes that end the fast run inside a string: `"`, `\` and control characters (which
/// JSON forbids raw). One table load per byte instead of three compares.
static STR_STOP: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

const FRAME: &str = "market frame";
const AGG: &str = "aggTrade frame";
const BOOK: &str = "bookTicker frame";

// Rejection reasons, by code (see `REASONS`).
const E_EXPECT_OBJECT: u8 = 0;
const E_EXPECT_KEY: u8 = 1;
const E_UNTERMINATED_STRING: u8 = 2;
const E_BAD_ESCAPE: u8 = 3;
const E_CONTROL_CHAR: u8 = 4;
const E_EXPECT_COLON: u8 = 5;
const E_EXPECT_VALUE: u8 = 6;
const E_BAD_LITERAL: u8 = 7;
const E_EXPECT_COMMA: u8 = 8;
const E_UNTERMINATED_COMPOSITE: u8 = 9;
const E_TRAILING: u8 = 10;
const E_DUP_DATA: u8 = 11;
const E_TWICE: u8 = 12;
const E_MISSING: u8 = 13;
const E_NOT_STRING: u8 = 14;
const E_NOT_UINT: u8 = 15;
const E_OVERFLOW: u8 = 16;
const E_NOT_BOOL: u8 = 17;
const E_NOT_POSITIVE: u8 = 18;
const E_NOT_DECIMAL: u8 = 19;
const E_WRONG_EVENT: u8 = 20;
const E_UNKNOWN_SYMBOL: u8 = 21;
const E_TIME_RANGE: u8 = 22;
const E_TOO_LARGE: u8 = 23;

const REASONS: [&str; 24] = [
    "expected an object",
    "expected a key string",
    "unterminated string",
    "bad escape sequence",
    "control character in a string",
    "expected `:` after a key",
    "expected a value",
    "invalid literal",
    "expected `,` or `}`",
    "unterminated array or object",
    "trailing characters after the object",
    "duplicate `data`",
    "appears twice",
    "is missing",
    "is not a plain string",
    "is not an unsigned integer",
    "overflows u64",
    "is not a boolean",
    "is not a positive finite decimal",
    "is not a decimal string",
    "is not the expected event type",
    "is not in the symbol table",
    "is out of range for a time in ms",
    "frame too large",
];

const NO_FIELD: u8 = u8::MAX;

/// The scanner's own error: two bytes (field slot, reason code), so every `Result` on
/// the hot path stays in registers; it becomes an [`ExchangeError`] only at the public
/// boundary, on the cold path.
#[derive(Debug, Clone, Copy)]
struct Rej {
    field: u8,
    reason: u8,
}

impl Rej {
    #[cold]
    fn into_error(self, what: &'static str) -> ExchangeError {
        ExchangeError::Rejected {
            what,
            field: KEY_NAMES.get(self.field as usize).copied().unwrap_or("-"),
            reason: REASONS
                .get(self.reason as usize)
                .copied()
                .unwrap_or("invalid"),
        }
    }
}

type R<T> = std::result::Result<T, Rej>;

#[cold]
#[inline(never)]
fn broken(reason: u8) -> Rej {
    Rej {
        field: NO_FIELD,
        reason,
    }
}

/// Where the interesting values of one frame are.
#[derive(Debug, Clone, Copy)]
struct Fields {
    v: [Val; NKEYS],
    enveloped: bool,
}

#[inline(always)]
fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline(always)]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if !is_ws(c) {
            break;
        }
        i += 1;
    }
    i
}

/// `i` is at a backslash inside a string; returns the index after the escape.
#[cold]
fn escape_end(b: &[u8], i: usize) -> R<usize> {
    match b.get(i + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(i + 2),
        Some(b'u') => {
            let hex = b.get(i + 2..i + 6);
            if hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                Ok(i + 6)
            } else {
                Err(broken(E_BAD_ESCAPE))
            }
        }
        _ => Err(broken(E_BAD_ESCAPE)),
    }
}

// SWAR helpers: eight bytes per step instead of one, so the scan's cost does not
// depend on a data-dependent branch per byte (each mispredicted loop exit costs more
// than the whole 8-byte step). Plain safe loads; the tail falls back to bytes.
const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
fn load8(b: &[u8], i: usize) -> Option<u64> {
    let s: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// High bit set in every byte of `v` that is zero; the lowest set bit is exact.
#[inline(always)]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Index of the first byte at or after `i` that is not an ASCII digit (or `b.len()`).
#[inline(always)]
fn digits_end(b: &[u8], mut i: usize) -> usize {
    while let Some(v) = load8(b, i) {
        let t = v ^ (0x30 * LO); // digits become 0..=9
        let non_digit = (((t & !HI).wrapping_add(0x76 * LO)) | t) & HI;
        if non_digit != 0 {
            return i + (non_digit.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    i
}

/// Index of the first `"`, `\` or control byte at or after `i` (or `b.len()`).
#[inline(always)]
fn string_stop(b: &[u8], mut i: usize) -> usize {
    while let Some(v) = load8(b, i) {
        let quote = zero_bytes(v ^ (b'"' as u64 * LO));
        let backslash = zero_bytes(v ^ (b'\\' as u64 * LO));
        let control = v.wrapping_sub(0x20 * LO) & !v & HI;
        let stop = quote | backslash | control;
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while b.get(i).is_some_and(|&c| !STR_STOP[c as usize]) {
        i += 1;
    }
    i
}

/// `i` is just past an opening quote: returns the index of the closing quote and
/// whether the string held escapes.
#[inline(always)]
fn string_end(b: &[u8], mut i: usize) -> R<(usize, bool)> {
    let mut escaped = false;
    loop {
        i = string_stop(b, i);
        let Some(&c) = b.get(i) else {
            return Err(broken(E_UNTERMINATED_STRING));
        };
        if c == b'"' {
            return Ok((i, escaped));
        }
        if c == b'\\' {
            escaped = true;
            i = escape_end(b, i)?;
            continue;
        }
        return Err(broken(E_CONTROL_CHAR));
    }
}

/// Skips an array or object starting at `i` (strings inside may hold brackets);
/// returns the index after it. Unknown fields only, so it checks balance, not grammar.
fn composite_end(b: &[u8], mut i: usize) -> R<usize> {
    let mut depth = 0usize;
    loop {
        let Some(&c) = b.get(i) else {
            return Err(broken(E_UNTERMINATED_COMPOSITE));
        };
        match c {
            b'"' => {
                i = string_end(b, i + 1)?.0 + 1;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
}

#[inline(always)]
fn literal_end(b: &[u8], i: usize, word: &'static [u8]) -> R<usize> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(broken(E_BAD_LITERAL))
    }
}

/// Reads the object at `b[i] == '{'` into `f`; returns the index after its `}`. At the
/// top level a `data` object is descended into (the combined-stream envelope); other
/// unknown keys are skipped.
fn object(b: &[u8], mut i: usize, f: &mut Fields, top: bool) -> R<usize> {
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return Ok(i + 1);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b'"') {
                return Err(broken(E_EXPECT_KEY));
            }
        }
        let ks = i + 1;
        // Binance keys are one character: check for `"x"` before the general scan.
        let ke = match (b.get(ks), b.get(ks + 1)) {
            (Some(&c), Some(b'"')) if !STR_STOP[c as usize] => ks + 1,
            _ => string_end(b, ks)?.0,
        };
        i = ke + 1;
        if b.get(i) != Some(&b':') {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b':') {
                return Err(broken(E_EXPECT_COLON));
            }
        }
        i = skip_ws(b, i + 1);
        let key = &b[ks..ke];
        let Some(&c) = b.get(i) else {
            return Err(broken(E_EXPECT_VALUE));
        };
        if top && c == b'{' && short_eq(key, b"data") {
            if f.enveloped {
                return Err(broken(E_DUP_DATA));
            }
            f.enveloped = true;
            i = object(b, i, f, false)?;
        } else {
            let (kind, vs, ve, next) = match c {
                b'"' => {
                    let (e, esc) = string_end(b, i + 1)?;
                    let kind = if esc { Kind::StrEscaped } else { Kind::Str };
                    (kind, i + 1, e, e + 1)
                }
                b'0'..=b'9' | b'-' => {
                    let mut j = digits_end(b, i + 1);
                    if c != b'-' && !matches!(b.get(j), Some(b'.' | b'e' | b'E' | b'+' | b'-')) {
                        (Kind::Int, i, j, j)
                    } else {
                        while let Some(&d) = b.get(j) {
                            if d.is_ascii_digit() || matches!(d, b'.' | b'e' | b'E' | b'+' | b'-') {
                                j += 1;
                            } else {
                                break;
                            }
                        }
                        (Kind::Num, i, j, j)
                    }
                }
                b't' => {
                    let j = literal_end(b, i, b"true")?;
                    (Kind::True, i, j, j)
                }
                b'f' => {
                    let j = literal_end(b, i, b"false")?;
                    (Kind::False, i, j, j)
                }
                b'n' => {
                    let j = literal_end(b, i, b"null")?;
                    (Kind::Null, i, j, j)
                }
                b'{' | b'[' => {
                    let j = composite_end(b, i)?;
                    (Kind::Composite, i, j, j)
                }
                _ => return Err(broken(E_EXPECT_VALUE)),
            };
            if key.len() == 1 {
                let slot = KEY_SLOT[key[0] as usize];
                if slot != NO_SLOT {
                    let v = &mut f.v[slot as usize];
                    if v.kind != Kind::Absent {
                        return Err(Rej {
                            field: slot,
                            reason: E_TWICE,
                        });
                    }
                    *v = Val {
                        kind,
                        start: vs as u32,
                        end: ve as u32,
                    };
                }
            }
            i = next;
        }
        let sep = match b.get(i) {
            Some(&c) if !is_ws(c) => c,
            _ => {
                i = skip_ws(b, i);
                match b.get(i) {
                    Some(&c) => c,
                    None => return Err(broken(E_EXPECT_COMMA)),
                }
            }
        };
        i += 1;
        match sep {
            b',' => {}
            b'}' => return Ok(i),
            _ => return Err(broken(E_EXPECT_COMMA)),
        }
    }
}

fn scan(frame: &[u8], f: &mut Fields) -> R<()> {
    if frame.len() > u32::MAX as usize {
        return Err(broken(E_TOO_LARGE));
    }
    let i = skip_ws(frame, 0);
    if frame.get(i) != Some(&b'{') {
        return Err(broken(E_EXPECT_OBJECT));
    }
    let end = object(frame, i, f, true)?;
    if skip_ws(frame, end) != frame.len() {
        return Err(broken(E_TRAILING));
    }
    Ok(())
}

const EMPTY: Fields = Fields {
    v: [Val {
        kind: Kind::Absent,
        start: 0,
        end: 0,
    }; NKEYS],
    enveloped: false,
};

/// Typed access to the slots of one scanned frame.
struct Reader<'a> {
    b: &'a [u8],
    f: &'a Fields,
}

impl<'a> Reader<'a> {
    #[inline]
    fn err(&self, k: usize, reason: u8) -> Rej {
        Rej {
            field: k as u8,
            reason,
        }
    }

    #[inline]
    fn present(&self, k: usize) -> R<Val> {
        let v = self.f.v[k];
        if v.kind == Kind::Absent {
            Err(self.err(k, E_MISSING))
        } else {
            Ok(v)
        }
    }

    #[inline]
    fn bytes(&self, v: Val) -> &'a [u8] {
        &self.b[v.start as usize..v.end as usize]
    }

    #[inline]
    fn str(&self, k: usize) -> R<&'a [u8]> {
        let v = self.present(k)?;
        if v.kind == Kind::Str {
            Ok(self.bytes(v))
        } else {
            Err(self.err(k, E_NOT_STRING))
        }
    }

    /// An unsigned JSON integer: digits only, no leading zero, no fraction or exponent
    /// (an id sent as `1.0` would be a protocol change, not an id), no overflow.
    #[inline]
    fn u64(&self, k: usize) -> R<u64> {
        let (start, len) = self.uint_span(k)?;
        let d = &self.b[start..start + len];
        match len {
            ..=19 => Ok(value_at(self.b, start, len)),
            20 => digits_value(&d[..19])
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(d[19] - b'0')))
                .ok_or_else(|| self.err(k, E_OVERFLOW)),
            _ => Err(self.err(k, E_OVERFLOW)),
        }
    }

    /// Where a valid unsigned integer sits, without computing it (for fields that are
    /// only validated).
    #[inline]
    fn uint_span(&self, k: usize) -> R<(usize, usize)> {
        let v = self.present(k)?;
        let (start, len) = (v.start as usize, (v.end - v.start) as usize);
        if v.kind != Kind::Int || len == 0 || (len > 1 && self.b[start] == b'0') {
            return Err(self.err(k, E_NOT_UINT));
        }
        Ok((start, len))
    }

    /// Checks that a field is a valid u64 (same rule as [`Reader::u64`]), cheaply.
    #[inline]
    fn check_u64(&self, k: usize) -> R<()> {
        let (_, len) = self.uint_span(k)?;
        if len < 20 {
            Ok(())
        } else {
            self.u64(k).map(|_| ())
        }
    }

    #[inline]
    fn bool(&self, k: usize) -> R<bool> {
        match self.present(k)?.kind {
            Kind::True => Ok(true),
            Kind::False => Ok(false),
            _ => Err(self.err(k, E_NOT_BOOL)),
        }
    }

    /// A decimal string that must be a positive finite number (prices, quantities).
    #[inline]
    fn positive_dec(&self, k: usize) -> R<f64> {
        let v = self.present(k)?;
        if v.kind != Kind::Str {
            return Err(self.err(k, E_NOT_STRING));
        }
        match parse_decimal_at(self.b, v.start as usize, v.end as usize) {
            Some(v) if v.is_finite() && v > 0.0 => Ok(v),
            Some(_) => Err(self.err(k, E_NOT_POSITIVE)),
            None => Err(self.err(k, E_NOT_DECIMAL)),
        }
    }

    /// A time in ms (`T`) → ns, without silent wrap-around.
    #[inline]
    fn ms_to_ns(&self, k: usize) -> R<u64> {
        self.u64(k)?
            .checked_mul(shmtrader_core::NS_PER_MS)
            .ok_or_else(|| self.err(k, E_TIME_RANGE))
    }

    #[inline]
    fn event_is(&self, name: &'static [u8]) -> R<()> {
        if short_eq(self.str(K_E_LOWER)?, name) {
            Ok(())
        } else {
            Err(self.err(K_E_LOWER, E_WRONG_EVENT))
        }
    }

    #[inline]
    fn symbol<L: SymbolLookup + ?Sized>(&self, symbols: &L) -> R<u32> {
        let s = self.str(K_S)?;
        symbols
            .symbol_id(s)
            .ok_or_else(|| self.err(K_S, E_UNKNOWN_SYMBOL))
    }

    fn tick<L: SymbolLookup + ?Sized>(&self, symbols: &L, recv_ts_ns: u64) -> R<Tick> {
        self.event_is(b"aggTrade")?;
        // Checked though unused, so the fast path accepts exactly what serde accepts.
        self.check_u64(K_E)?;
        self.check_u64(K_F)?;
        let symbol_id = self.symbol(symbols)?;
        let m = self.bool(K_M)?;
        Ok(Tick {
            symbol_id,
            side: taker_side(m).code(),
            flags: 0,
            _pad: 0,
            exchange_ts_ns: self.ms_to_ns(K_T)?,
            recv_ts_ns,
            publish_ts_ns: 0,
            price: self.positive_dec(K_P)?,
            qty: self.positive_dec(K_Q)?,
            agg_id: self.u64(K_A_LOWER)?,
            last_trade_id: self.u64(K_L)?,
        })
    }

    /// The record and the book update id `u` (for ordering and de-duplication).
    fn book_top<L: SymbolLookup + ?Sized>(
        &self,
        symbols: &L,
        recv_ts_ns: u64,
    ) -> R<(BookTop, u64)> {
        self.event_is(b"bookTicker")?;
        let update_id = self.u64(K_U_LOWER)?;
        self.check_u64(K_E)?;
        let symbol_id = self.symbol(symbols)?;
        let top = BookTop {
            symbol_id,
            flags: 0,
            exchange_ts_ns: self.ms_to_ns(K_T)?,
            recv_ts_ns,
            publish_ts_ns: 0,
            bid_px: self.positive_dec(K_B_LOWER)?,
            bid_qty: self.positive_dec(K_B)?,
            ask_px: self.positive_dec(K_A_LOWER)?,
            ask_qty: self.positive_dec(K_A)?,
        };
        Ok((top, update_id))
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

#[cfg(test)]
mod tests {
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
}
