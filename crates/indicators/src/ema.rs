//! Exponential moving average, TA-Lib style: `k = 2 / (period + 1)`, seeded with the SMA
//! of the first `period` values (TA-Lib's default compatibility), then
//! `ema = (x − ema) · k + ema` — the same expression TA-Lib evaluates, so results agree
//! bit for bit.

use crate::error::{check_finite, check_period, Result};
use crate::Indicator;

/// Streaming EMA. First value after `period` inputs.
#[derive(Debug, Clone)]
pub struct Ema {
    period: usize,
    k: f64,
    count: usize,
    seed_sum: f64,
    value: Option<f64>,
}

impl Ema {
    /// Rejects a period of 0 or above 100,000.
    pub fn new(period: usize) -> Result<Ema> {
        check_period("EMA", "period", period)?;
        Ok(Ema {
            period,
            k: 2.0 / (period as f64 + 1.0),
            count: 0,
            seed_sum: 0.0,
            value: None,
        })
    }

    /// Starts an EMA already seeded with `seed` (used by MACD, whose fast EMA TA-Lib
    /// seeds from a later window).
    pub(crate) fn seeded(period: usize, seed: f64) -> Result<Ema> {
        let mut e = Ema::new(period)?;
        e.count = period;
        e.value = Some(seed);
        Ok(e)
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    #[inline]
    fn step(&self, x: f64) -> Option<f64> {
        match self.value {
            Some(prev) => Some(((x - prev) * self.k) + prev),
            None if self.count + 1 == self.period => Some((self.seed_sum + x) / self.period as f64),
            None => None,
        }
    }
}

impl Indicator for Ema {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Result<Option<f64>> {
        check_finite("EMA", x)?;
        let next = self.step(x);
        if next.is_none() {
            self.seed_sum += x;
        }
        self.count += 1;
        self.value = next;
        Ok(next)
    }

    fn peek(&self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.step(x)
    }

    fn value(&self) -> Option<f64> {
        self.value
    }

    fn reset(&mut self) {
        self.count = 0;
        self.seed_sum = 0.0;
        self.value = None;
    }
}

/// Batch reference: TA-Lib's `TA_INT_EMA` starting at the earliest possible index.
pub fn ema_batch(x: &[f64], period: usize) -> Result<Vec<f64>> {
    check_period("EMA", "period", period)?;
    let mut out = vec![f64::NAN; x.len()];
    if x.len() < period {
        return Ok(out);
    }
    let k = 2.0 / (period as f64 + 1.0);
    let mut sum = 0.0;
    for &v in &x[..period] {
        sum += v;
    }
    let mut prev = sum / period as f64;
    out[period - 1] = prev;
    for i in period..x.len() {
        prev = ((x[i] - prev) * k) + prev;
        out[i] = prev;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, series};

    #[test]
    fn streaming_equals_batch_bitwise() {
        for p in [1, 2, 10, 21, 500] {
            let x = series(3000, 60_000.0);
            let b = ema_batch(&x, p).unwrap();
            let mut e = Ema::new(p).unwrap();
            let st: Vec<f64> = x
                .iter()
                .map(|&v| e.update(v).unwrap().unwrap_or(f64::NAN))
                .collect();
            assert_bitwise(&st, &b);
        }
    }

    #[test]
    fn period_one_and_constant_series() {
        // Period 1 follows the input; TA-Lib's `(x − prev)·1 + prev` can be off by the
        // rounding of the previous value's magnitude, no more.
        let mut e = Ema::new(1).unwrap();
        let mut prev = 0.0f64;
        for v in [3.0, 7.5, 1e-9, 1e12, 2.0] {
            let got = e.update(v).unwrap().unwrap();
            assert!(
                (got - v).abs() <= f64::EPSILON * prev.abs().max(v.abs()),
                "{got} vs {v}"
            );
            prev = v;
        }
        let mut c = Ema::new(10).unwrap();
        for i in 0..100 {
            let v = c.update(42.125).unwrap();
            if i >= 9 {
                assert_eq!(v, Some(42.125));
            }
        }
    }

    #[test]
    fn peek_matches_update() {
        let x = series(200, 0.00001234);
        let mut e = Ema::new(12).unwrap();
        for &v in &x {
            let p = e.peek(v);
            assert_eq!(p.map(f64::to_bits), e.update(v).unwrap().map(f64::to_bits));
        }
    }

    #[test]
    fn nan_rejected_state_kept() {
        let mut e = Ema::new(2).unwrap();
        e.update(1.0).unwrap();
        assert!(e.update(f64::NAN).is_err());
        assert_eq!(e.update(3.0).unwrap(), Some(2.0));
        assert!(Ema::new(0).is_err());
        assert!(Ema::new(100_001).is_err());
    }
}
