//! Realized volatility: the root mean square of the last `period` log returns of bar
//! closes (per bar, not annualized), what volatility sizing and the regime model read.

use crate::error::{check_finite, check_period, IndicatorError, Result};
use crate::window::Window;
use crate::Indicator;

/// Streaming realized volatility. First value after `period + 1` closes.
#[derive(Debug, Clone)]
pub struct RealizedVol {
    period: usize,
    prev: Option<f64>,
    sq: Window,
    sum_sq: f64,
    value: Option<f64>,
}

impl RealizedVol {
    /// Rejects a period of 0 or above 100,000.
    pub fn new(period: usize) -> Result<RealizedVol> {
        check_period("RV", "period", period)?;
        Ok(RealizedVol {
            period,
            prev: None,
            sq: Window::new(period),
            sum_sq: 0.0,
            value: None,
        })
    }

    #[inline]
    fn step(&self, x: f64) -> Option<(f64, f64)> {
        let prev = self.prev?;
        let r = (x / prev).ln();
        let r2 = r * r;
        let mut s = self.sum_sq + r2;
        if self.sq.is_full() {
            s -= self.sq.oldest();
        }
        let s = s.max(0.0);
        Some((r2, s))
    }
}

impl Indicator for RealizedVol {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Result<Option<f64>> {
        check_finite("RV", x)?;
        if x <= 0.0 {
            return Err(IndicatorError::NonFinite {
                indicator: "RV",
                value: x,
            });
        }
        if let Some((r2, s)) = self.step(x) {
            self.sq.push(r2);
            self.sum_sq = s;
            if self.sq.is_full() {
                self.value = Some((s / self.period as f64).sqrt());
            }
        }
        self.prev = Some(x);
        Ok(self.value)
    }

    fn peek(&self, x: f64) -> Option<f64> {
        if !(x.is_finite() && x > 0.0) {
            return None;
        }
        let (_, s) = self.step(x)?;
        (self.sq.len() + 1 >= self.period).then(|| (s / self.period as f64).sqrt())
    }

    fn value(&self) -> Option<f64> {
        self.value
    }

    fn reset(&mut self) {
        self.prev = None;
        self.sq.clear();
        self.sum_sq = 0.0;
        self.value = None;
    }
}

/// Batch reference: the same recurrence over a slice of closes.
pub fn rv_batch(x: &[f64], period: usize) -> Result<Vec<f64>> {
    check_period("RV", "period", period)?;
    let mut out = vec![f64::NAN; x.len()];
    let mut sq: Vec<f64> = Vec::with_capacity(x.len());
    let mut s = 0.0f64;
    for i in 1..x.len() {
        let r = (x[i] / x[i - 1]).ln();
        let r2 = r * r;
        s += r2;
        if sq.len() >= period {
            s -= sq[sq.len() - period];
        }
        s = s.max(0.0);
        sq.push(r2);
        if sq.len() >= period {
            out[i] = (s / period as f64).sqrt();
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, series};

    #[test]
    fn streaming_equals_batch_bitwise_and_peek() {
        let x = series(2000, 60_000.0);
        let b = rv_batch(&x, 30).unwrap();
        let mut rv = RealizedVol::new(30).unwrap();
        let mut st = vec![];
        for &v in &x {
            let p = rv.peek(v);
            let u = rv.update(v).unwrap();
            assert_eq!(p, u);
            st.push(u.unwrap_or(f64::NAN));
        }
        assert_bitwise(&st, &b);
    }

    #[test]
    fn worked_example() {
        let mut rv = RealizedVol::new(2).unwrap();
        rv.update(100.0).unwrap();
        rv.update(110.0).unwrap();
        let v = rv.update(99.0).unwrap().unwrap();
        let (a, b) = ((1.1f64).ln(), (0.9f64).ln());
        assert!((v - ((a * a + b * b) / 2.0).sqrt()).abs() < 1e-15);
        assert!(rv.update(0.0).is_err());
        assert!(rv.update(-1.0).is_err());
    }
}
