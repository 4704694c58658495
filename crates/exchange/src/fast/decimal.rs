//! Decimal strings to `f64`, bit-identical to `str::parse::<f64>`, without allocating.

use super::scanner::{digits_end, load8};

/// Exact powers of ten: every 10^k for k ≤ 22 is representable in an f64.
pub(super) const POW10: [f64; 23] = [
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
pub(super) fn parse_decimal_at(b: &[u8], start: usize, end: usize) -> Option<f64> {
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
pub(super) fn value_at(b: &[u8], start: usize, len: usize) -> u64 {
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
pub(super) const POW10_U64: [u64; 20] = {
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
pub(super) fn parse8(v: u64) -> u64 {
    let v = (v & 0x0F0F_0F0F_0F0F_0F0F).wrapping_mul(2561) >> 8;
    let v = (v & 0x00FF_00FF_00FF_00FF).wrapping_mul(6_553_601) >> 16;
    (v & 0x0000_FFFF_0000_FFFF).wrapping_mul(42_949_672_960_001) >> 32
}

/// Value of a run of ASCII digits known to be digits, at most 19 of them (no overflow).
#[inline(always)]
pub(super) fn digits_value(d: &[u8]) -> u64 {
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
pub(super) fn parse_decimal_slow(s: &[u8]) -> Option<f64> {
    std::str::from_utf8(s).ok()?.parse::<f64>().ok()
}
