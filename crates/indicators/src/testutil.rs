//! Deterministic test series (no RNG dependency) and a bitwise comparison.

use crate::atr::Hlc;

/// A random walk around `base` with occasional flat stretches and jumps.
pub(crate) fn series(n: usize, base: f64) -> Vec<f64> {
    let mut s: u64 = 0x9E37_79B9_7F4A_7C15 ^ n as u64;
    let mut x = base;
    (0..n)
        .map(|i| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let u = ((s >> 11) as f64) / ((1u64 << 53) as f64) - 0.5;
            if i % 97 < 5 {
                return x; // flat stretch
            }
            let jump = if i % 331 == 0 { 20.0 } else { 1.0 };
            x *= 1.0 + u * 0.002 * jump;
            x
        })
        .collect()
}

/// Bars whose closes follow [`series`], highs/lows around them.
pub(crate) fn bars(n: usize, base: f64) -> Vec<Hlc> {
    let c = series(n, base);
    c.iter()
        .enumerate()
        .map(|(i, &close)| {
            let w = close * 0.0007 * ((i % 7) as f64 + 1.0) / 7.0;
            Hlc {
                high: close + w,
                low: close - w * 0.8,
                close,
            }
        })
        .collect()
}

/// Equal bit patterns (NaN equals NaN).
pub(crate) fn assert_bitwise(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let same = x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
        assert!(same, "index {i}: {x:?} != {y:?}");
    }
}
