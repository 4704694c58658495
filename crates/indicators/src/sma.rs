//! Simple moving average with TA-Lib's arithmetic.
//!
//! TA-Lib keeps a running total of the window: it adds the new value, divides, then
//! subtracts the value that leaves next. Doing exactly the same operations in the same
//! order makes the streaming value, the batch value and TA-Lib's agree to the last bit.

use crate::error::{check_finite, check_period, Result};
use crate::window::Window;
use crate::Indicator;

/// Streaming SMA over `period` values. First value after `period` inputs.
#[derive(Debug, Clone)]
pub struct Sma {
    period: usize,
    window: Window,
    /// Sum of the last `period - 1` inputs (the part of the window that stays).
    total: f64,
    value: Option<f64>,
}

impl Sma {
    /// Rejects a period of 0 or above 100,000.
    pub fn new(period: usize) -> Result<Sma> {
        check_period("SMA", "period", period)?;
        Ok(Sma {
            period,
            window: Window::new(period),
            total: 0.0,
            value: None,
        })
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }
}

impl Indicator for Sma {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Result<Option<f64>> {
        check_finite("SMA", x)?;
        self.window.push(x);
        self.total += x;
        if self.window.is_full() {
            let v = self.total / self.period as f64;
            // The oldest value leaves the window at the next update.
            self.total -= self.window.oldest();
            self.value = Some(v);
        }
        Ok(self.value)
    }

    fn peek(&self, x: f64) -> Option<f64> {
        if !x.is_finite() || self.window.len() + 1 < self.period {
            return None;
        }
        Some((self.total + x) / self.period as f64)
    }

    fn value(&self) -> Option<f64> {
        self.value
    }

    fn reset(&mut self) {
        self.window.clear();
        self.total = 0.0;
        self.value = None;
    }
}

/// Batch reference: TA-Lib's `TA_SMA` loop. `NaN` until the first full window.
pub fn sma_batch(x: &[f64], period: usize) -> Result<Vec<f64>> {
    check_period("SMA", "period", period)?;
    let mut out = vec![f64::NAN; x.len()];
    if x.len() < period {
        return Ok(out);
    }
    let mut total = 0.0;
    for &v in &x[..period - 1] {
        total += v;
    }
    for i in period - 1..x.len() {
        total += x[i];
        let t = total;
        total -= x[i + 1 - period]; // the value that leaves next
        out[i] = t / period as f64;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, series};

    #[test]
    fn streaming_equals_batch_bitwise() {
        for p in [1, 2, 5, 20, 200] {
            let x = series(2000, 60_000.0);
            let b = sma_batch(&x, p).unwrap();
            let mut s = Sma::new(p).unwrap();
            let st: Vec<f64> = x
                .iter()
                .map(|&v| s.update(v).unwrap().unwrap_or(f64::NAN))
                .collect();
            assert_bitwise(&st, &b);
        }
    }

    #[test]
    fn peek_is_what_update_would_give_and_changes_nothing() {
        let x = series(300, 1.0);
        let mut s = Sma::new(20).unwrap();
        for &v in &x {
            let p = s.peek(v);
            let before = s.value();
            assert_eq!(s.value(), before);
            let u = s.update(v).unwrap();
            assert_eq!(p.map(f64::to_bits), u.map(f64::to_bits));
        }
    }

    #[test]
    fn rejects_bad_input_without_poisoning() {
        assert!(Sma::new(0).is_err());
        let mut s = Sma::new(3).unwrap();
        for v in [1.0, 2.0, 3.0] {
            s.update(v).unwrap();
        }
        assert!(s.update(f64::NAN).is_err());
        assert!(s.update(f64::INFINITY).is_err());
        assert_eq!(s.value(), Some(2.0));
        assert_eq!(s.update(4.0).unwrap(), Some(3.0));
        s.reset();
        assert!(!s.initialized());
    }
}
