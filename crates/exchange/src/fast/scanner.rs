//! The single-pass JSON scanner (slots for the keys the fast path reads, strictness
//! checks, errors without allocation) and the reader that converts the slots of one
//! frame into a record.

use shmtrader_core::{BookTop, Tick};

use super::decimal::{digits_value, parse_decimal_at, value_at};
use super::{short_eq, SymbolLookup};
use crate::error::ExchangeError;
use crate::wire::market::taker_side;

/// What kind of JSON value a slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Kind {
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
pub(super) struct Val {
    pub(super) kind: Kind,
    pub(super) start: u32,
    pub(super) end: u32,
}

// Slots for the keys the fast path reads. The same key means different things in
// different events (`a` is the aggregate id in aggTrade, the ask price in bookTicker),
// so values are kept raw and interpreted once the event type is known.
pub(super) const K_E_LOWER: usize = 0; // e
pub(super) const K_E: usize = 1; // E
pub(super) const K_S: usize = 2; // s
pub(super) const K_A_LOWER: usize = 3; // a
pub(super) const K_P: usize = 4; // p
pub(super) const K_Q: usize = 5; // q
pub(super) const K_F: usize = 6; // f
pub(super) const K_L: usize = 7; // l
pub(super) const K_T: usize = 8; // T
pub(super) const K_M: usize = 9; // m
pub(super) const K_U_LOWER: usize = 10; // u
pub(super) const K_B_LOWER: usize = 11; // b
pub(super) const K_B: usize = 12; // B
pub(super) const K_A: usize = 13; // A
pub(super) const NKEYS: usize = 14;

pub(super) const KEY_NAMES: [&str; NKEYS] = [
    "e", "E", "s", "a", "p", "q", "f", "l", "T", "m", "u", "b", "B", "A",
];

pub(super) const NO_SLOT: u8 = u8::MAX;

/// Single-character key → slot (`NO_SLOT` for keys the fast path ignores).
pub(super) static KEY_SLOT: [u8; 256] = {
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
pub(super) static STR_STOP: [bool; 256] = {
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

pub(super) const FRAME: &str = "market frame";
pub(super) const AGG: &str = "aggTrade frame";
pub(super) const BOOK: &str = "bookTicker frame";

// Rejection reasons, by code (see `REASONS`).
pub(super) const E_EXPECT_OBJECT: u8 = 0;
pub(super) const E_EXPECT_KEY: u8 = 1;
pub(super) const E_UNTERMINATED_STRING: u8 = 2;
pub(super) const E_BAD_ESCAPE: u8 = 3;
pub(super) const E_CONTROL_CHAR: u8 = 4;
pub(super) const E_EXPECT_COLON: u8 = 5;
pub(super) const E_EXPECT_VALUE: u8 = 6;
pub(super) const E_BAD_LITERAL: u8 = 7;
pub(super) const E_EXPECT_COMMA: u8 = 8;
pub(super) const E_UNTERMINATED_COMPOSITE: u8 = 9;
pub(super) const E_TRAILING: u8 = 10;
pub(super) const E_DUP_DATA: u8 = 11;
pub(super) const E_TWICE: u8 = 12;
pub(super) const E_MISSING: u8 = 13;
pub(super) const E_NOT_STRING: u8 = 14;
pub(super) const E_NOT_UINT: u8 = 15;
pub(super) const E_OVERFLOW: u8 = 16;
pub(super) const E_NOT_BOOL: u8 = 17;
pub(super) const E_NOT_POSITIVE: u8 = 18;
pub(super) const E_NOT_DECIMAL: u8 = 19;
pub(super) const E_WRONG_EVENT: u8 = 20;
pub(super) const E_UNKNOWN_SYMBOL: u8 = 21;
pub(super) const E_TIME_RANGE: u8 = 22;
pub(super) const E_TOO_LARGE: u8 = 23;

pub(super) const REASONS: [&str; 24] = [
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

pub(super) const NO_FIELD: u8 = u8::MAX;

/// The scanner's own error: two bytes (field slot, reason code), so every `Result` on
/// the hot path stays in registers; it becomes an [`ExchangeError`] only at the public
/// boundary, on the cold path.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rej {
    pub(super) field: u8,
    pub(super) reason: u8,
}

impl Rej {
    #[cold]
    pub(super) fn into_error(self, what: &'static str) -> ExchangeError {
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

pub(super) type R<T> = std::result::Result<T, Rej>;

#[cold]
#[inline(never)]
pub(super) fn broken(reason: u8) -> Rej {
    Rej {
        field: NO_FIELD,
        reason,
    }
}

/// Where the interesting values of one frame are.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fields {
    pub(super) v: [Val; NKEYS],
    pub(super) enveloped: bool,
}

#[inline(always)]
pub(super) fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

#[inline(always)]
pub(super) fn skip_ws(b: &[u8], mut i: usize) -> usize {
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
pub(super) fn escape_end(b: &[u8], i: usize) -> R<usize> {
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
pub(super) const LO: u64 = 0x0101_0101_0101_0101;
pub(super) const HI: u64 = 0x8080_8080_8080_8080;

#[inline(always)]
pub(super) fn load8(b: &[u8], i: usize) -> Option<u64> {
    let s: [u8; 8] = b.get(i..i + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(s))
}

/// High bit set in every byte of `v` that is zero; the lowest set bit is exact.
#[inline(always)]
pub(super) fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(LO) & !v & HI
}

/// Index of the first byte at or after `i` that is not an ASCII digit (or `b.len()`).
#[inline(always)]
pub(super) fn digits_end(b: &[u8], mut i: usize) -> usize {
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
pub(super) fn string_stop(b: &[u8], mut i: usize) -> usize {
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
pub(super) fn string_end(b: &[u8], mut i: usize) -> R<(usize, bool)> {
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
pub(super) fn composite_end(b: &[u8], mut i: usize) -> R<usize> {
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
pub(super) fn literal_end(b: &[u8], i: usize, word: &'static [u8]) -> R<usize> {
    if b.get(i..i + word.len()) == Some(word) {
        Ok(i + word.len())
    } else {
        Err(broken(E_BAD_LITERAL))
    }
}

/// Reads the object at `b[i] == '{'` into `f`; returns the index after its `}`. At the
/// top level a `data` object is descended into (the combined-stream envelope); other
/// unknown keys are skipped.
pub(super) fn object(b: &[u8], mut i: usize, f: &mut Fields, top: bool) -> R<usize> {
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

pub(super) fn scan(frame: &[u8], f: &mut Fields) -> R<()> {
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

pub(super) const EMPTY: Fields = Fields {
    v: [Val {
        kind: Kind::Absent,
        start: 0,
        end: 0,
    }; NKEYS],
    enveloped: false,
};

/// Typed access to the slots of one scanned frame.
pub(super) struct Reader<'a> {
    pub(super) b: &'a [u8],
    pub(super) f: &'a Fields,
}

impl<'a> Reader<'a> {
    #[inline]
    pub(super) fn err(&self, k: usize, reason: u8) -> Rej {
        Rej {
            field: k as u8,
            reason,
        }
    }

    #[inline]
    pub(super) fn present(&self, k: usize) -> R<Val> {
        let v = self.f.v[k];
        if v.kind == Kind::Absent {
            Err(self.err(k, E_MISSING))
        } else {
            Ok(v)
        }
    }

    #[inline]
    pub(super) fn bytes(&self, v: Val) -> &'a [u8] {
        &self.b[v.start as usize..v.end as usize]
    }

    #[inline]
    pub(super) fn str(&self, k: usize) -> R<&'a [u8]> {
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
    pub(super) fn u64(&self, k: usize) -> R<u64> {
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
    pub(super) fn uint_span(&self, k: usize) -> R<(usize, usize)> {
        let v = self.present(k)?;
        let (start, len) = (v.start as usize, (v.end - v.start) as usize);
        if v.kind != Kind::Int || len == 0 || (len > 1 && self.b[start] == b'0') {
            return Err(self.err(k, E_NOT_UINT));
        }
        Ok((start, len))
    }

    /// Checks that a field is a valid u64 (same rule as [`Reader::u64`]), cheaply.
    #[inline]
    pub(super) fn check_u64(&self, k: usize) -> R<()> {
        let (_, len) = self.uint_span(k)?;
        if len < 20 {
            Ok(())
        } else {
            self.u64(k).map(|_| ())
        }
    }

    #[inline]
    pub(super) fn bool(&self, k: usize) -> R<bool> {
        match self.present(k)?.kind {
            Kind::True => Ok(true),
            Kind::False => Ok(false),
            _ => Err(self.err(k, E_NOT_BOOL)),
        }
    }

    /// A decimal string that must be a positive finite number (prices, quantities).
    #[inline]
    pub(super) fn positive_dec(&self, k: usize) -> R<f64> {
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
    pub(super) fn ms_to_ns(&self, k: usize) -> R<u64> {
        self.u64(k)?
            .checked_mul(shmtrader_core::NS_PER_MS)
            .ok_or_else(|| self.err(k, E_TIME_RANGE))
    }

    #[inline]
    pub(super) fn event_is(&self, name: &'static [u8]) -> R<()> {
        if short_eq(self.str(K_E_LOWER)?, name) {
            Ok(())
        } else {
            Err(self.err(K_E_LOWER, E_WRONG_EVENT))
        }
    }

    #[inline]
    pub(super) fn symbol<L: SymbolLookup + ?Sized>(&self, symbols: &L) -> R<u32> {
        let s = self.str(K_S)?;
        symbols
            .symbol_id(s)
            .ok_or_else(|| self.err(K_S, E_UNKNOWN_SYMBOL))
    }

    pub(super) fn tick<L: SymbolLookup + ?Sized>(&self, symbols: &L, recv_ts_ns: u64) -> R<Tick> {
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
    pub(super) fn book_top<L: SymbolLookup + ?Sized>(
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
