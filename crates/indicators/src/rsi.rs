//! RSI with Wilder's smoothing, as TA-Lib computes it (no unstable period, not
//! Metastock): the first average gain/loss is the plain mean of the first `period`
//! changes, then `avg = (avg · (n − 1) + change) / n`. TA-Lib writes 0 when average gain
//! plus loss is within its epsilon (1e-14 since TA-Lib 0.6) of zero; so do we.

use crate::error::{check_finite, check_period, Result};
use crate::Indicator;

/// TA-Lib's `TA_IS_ZERO` (`TA_EPSILON` = 1e-14 in TA-Lib 0.6).
#[inline]
pub(crate) fn ta_is_zero(v: f64) -> bool {
    -1e-14 < v && v < 1e-14
}

#[inline]
fn rsi_of(gain: f64, loss: f64) -> f64 {
    let t = gain + loss;
    if ta_is_zero(t) {
        0.0
    } else {
        100.0 * (gain / t)
    }
}

/// Streaming Wilder RSI. First value after `period + 1` inputs.
#[derive(Debug, Clone)]
pub struct Rsi {
    period: usize,
    prev: Option<f64>,
    changes: usize,
    gain: f64,
    loss: f64,
    /// `gain · (n − 1) / n` and `loss · (n − 1) / n` of the committed state: a change
    /// moves only one of the two averages, so a provisional value reuses the other
    /// instead of dividing again on every tick.
    gain_kept: f64,
    loss_kept: f64,
    value: Option<f64>,
}

impl Rsi {
    /// Rejects a period of 0 or above 100,000.
    pub fn new(period: usize) -> Result<Rsi> {
        check_period("RSI", "period", period)?;
        Ok(Rsi {
            period,
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
            gain_kept: 0.0,
            loss_kept: 0.0,
            value: None,
        })
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    /// (gain, loss, rsi) after `x`, without committing.
    #[inline]
    fn step(&self, x: f64) -> (f64, f64, Option<f64>) {
        let Some(prev) = self.prev else {
            return (0.0, 0.0, None);
        };
        let d = x - prev;
        let n = self.period as f64;
        let (mut g, mut l) = (self.gain, self.loss);
        if self.changes < self.period {
            // Warm-up: plain sums, averaged when the period-th change arrives.
            if d < 0.0 {
                l -= d;
            } else {
                g += d;
            }
            if self.changes + 1 == self.period {
                l /= n;
                g /= n;
                (g, l, Some(rsi_of(g, l)))
            } else {
                (g, l, None)
            }
        } else if d < 0.0 {
            // Same operations as `(avg · (n − 1) + change) / n` on the side that moved.
            let l = (l * (n - 1.0) - d) / n;
            (self.gain_kept, l, Some(rsi_of(self.gain_kept, l)))
        } else {
            let g = (g * (n - 1.0) + d) / n;
            (g, self.loss_kept, Some(rsi_of(g, self.loss_kept)))
        }
    }
}

impl Indicator for Rsi {
    type Input = f64;
    type Output = f64;

    fn update(&mut self, x: f64) -> Result<Option<f64>> {
        check_finite("RSI", x)?;
        if self.prev.is_some() {
            let (g, l, v) = self.step(x);
            self.gain = g;
            self.loss = l;
            self.changes += 1;
            self.value = v;
            let n = self.period as f64;
            self.gain_kept = g * (n - 1.0) / n;
            self.loss_kept = l * (n - 1.0) / n;
        }
        self.prev = Some(x);
        Ok(self.value)
    }

    fn peek(&self, x: f64) -> Option<f64> {
        if !x.is_finite() {
            return None;
        }
        self.step(x).2
    }

    fn value(&self) -> Option<f64> {
        self.value
    }

    fn reset(&mut self) {
        *self = Rsi {
            period: self.period,
            prev: None,
            changes: 0,
            gain: 0.0,
            loss: 0.0,
            gain_kept: 0.0,
            loss_kept: 0.0,
            value: None,
        };
    }
}

/// Batch reference: TA-Lib's `TA_RSI` loop.
pub fn rsi_batch(x: &[f64], period: usize) -> Result<Vec<f64>> {
    check_period("RSI", "period", period)?;
    let mut out = vec![f64::NAN; x.len()];
    if x.len() <= period {
        return Ok(out);
    }
    let n = period as f64;
    let mut prev = x[0];
    let (mut g, mut l) = (0.0, 0.0);
    for &v in &x[1..=period] {
        let d = v - prev;
        prev = v;
        if d < 0.0 {
            l -= d;
        } else {
            g += d;
        }
    }
    l /= n;
    g /= n;
    out[period] = rsi_of(g, l);
    for i in period + 1..x.len() {
        let d = x[i] - prev;
        prev = x[i];
        l *= n - 1.0;
        g *= n - 1.0;
        if d < 0.0 {
            l -= d;
        } else {
            g += d;
        }
        l /= n;
        g /= n;
        out[i] = rsi_of(g, l);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, series};

    #[test]
    fn streaming_equals_batch_bitwise() {
        for p in [1, 2, 14, 100] {
            let x = series(3000, 60_000.0);
            let b = rsi_batch(&x, p).unwrap();
            let mut r = Rsi::new(p).unwrap();
            let st: Vec<f64> = x
                .iter()
                .map(|&v| r.update(v).unwrap().unwrap_or(f64::NAN))
                .collect();
            assert_bitwise(&st, &b);
        }
    }

    #[test]
    fn bounds_and_constant() {
        let mut r = Rsi::new(14).unwrap();
        for i in 0..50 {
            r.update(100.0 + i as f64).unwrap();
        }
        assert_eq!(r.value(), Some(100.0));
        let mut c = Rsi::new(14).unwrap();
        for _ in 0..50 {
            c.update(7.0).unwrap();
        }
        // TA-Lib's convention for no movement at all.
        assert_eq!(c.value(), Some(0.0));
        let mut d = Rsi::new(3).unwrap();
        for i in 0..10 {
            d.update(100.0 - i as f64).unwrap();
        }
        assert_eq!(d.value(), Some(0.0));
    }

    #[test]
    fn peek_matches_update_and_nan_is_rejected() {
        let x = series(400, 3.5);
        let mut r = Rsi::new(14).unwrap();
        for &v in &x {
            let p = r.peek(v);
            assert_eq!(p.map(f64::to_bits), r.update(v).unwrap().map(f64::to_bits));
        }
        let before = r.value();
        assert!(r.update(f64::NEG_INFINITY).is_err());
        assert_eq!(r.value(), before);
    }
}
