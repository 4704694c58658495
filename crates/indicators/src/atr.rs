//! Average true range with Wilder's smoothing, as TA-Lib computes it: true range from the
//! second bar on, the first ATR is the plain mean of the first `period` true ranges, then
//! `atr = (atr · (n − 1) + tr) / n`.

use crate::error::{check_period, IndicatorError, Result};
use crate::Indicator;

/// High, low and close of one bar.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Hlc {
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
}

impl Hlc {
    /// Finite, non-negative, high ≥ low.
    pub fn check(&self, indicator: &'static str) -> Result<()> {
        let ok = self.high.is_finite()
            && self.low.is_finite()
            && self.close.is_finite()
            && self.low >= 0.0
            && self.high >= self.low;
        if ok {
            Ok(())
        } else {
            Err(IndicatorError::BadBar {
                indicator,
                high: self.high,
                low: self.low,
                close: self.close,
            })
        }
    }
}

/// TA-Lib's `TA_TRANGE` for one bar given the previous close.
#[inline]
pub fn true_range(b: Hlc, prev_close: f64) -> f64 {
    let mut greatest = b.high - b.low;
    let v2 = (prev_close - b.high).abs();
    if v2 > greatest {
        greatest = v2;
    }
    let v3 = (prev_close - b.low).abs();
    if v3 > greatest {
        greatest = v3;
    }
    greatest
}

/// Streaming Wilder ATR. First value after `period + 1` bars.
#[derive(Debug, Clone)]
pub struct Atr {
    period: usize,
    prev_close: Option<f64>,
    trs: usize,
    sum: f64,
    value: Option<f64>,
}

impl Atr {
    /// Rejects a period of 0 or above 100,000.
    pub fn new(period: usize) -> Result<Atr> {
        check_period("ATR", "period", period)?;
        Ok(Atr {
            period,
            prev_close: None,
            trs: 0,
            sum: 0.0,
            value: None,
        })
    }

    /// The period.
    pub fn period(&self) -> usize {
        self.period
    }

    #[inline]
    fn step(&self, b: Hlc) -> (f64, Option<f64>) {
        let Some(pc) = self.prev_close else {
            return (0.0, None);
        };
        let tr = true_range(b, pc);
        let n = self.period as f64;
        match self.value {
            Some(prev) => {
                let mut a = prev * (n - 1.0);
                a += tr;
                a /= n;
                (self.sum, Some(a))
            }
            None => {
                let s = self.sum + tr;
                if self.trs + 1 == self.period {
                    (s, Some(s / n))
                } else {
                    (s, None)
                }
            }
        }
    }
}

impl Indicator for Atr {
    type Input = Hlc;
    type Output = f64;

    fn update(&mut self, b: Hlc) -> Result<Option<f64>> {
        b.check("ATR")?;
        if self.prev_close.is_some() {
            let (s, v) = self.step(b);
            self.sum = s;
            self.trs += 1;
            self.value = v;
        }
        self.prev_close = Some(b.close);
        Ok(self.value)
    }

    fn peek(&self, b: Hlc) -> Option<f64> {
        if b.check("ATR").is_err() {
            return None;
        }
        self.step(b).1
    }

    fn value(&self) -> Option<f64> {
        self.value
    }

    fn reset(&mut self) {
        self.prev_close = None;
        self.trs = 0;
        self.sum = 0.0;
        self.value = None;
    }
}

/// Batch reference: TA-Lib's `TA_ATR` (TRANGE, SMA seed, Wilder smoothing).
pub fn atr_batch(bars: &[Hlc], period: usize) -> Result<Vec<f64>> {
    check_period("ATR", "period", period)?;
    let mut out = vec![f64::NAN; bars.len()];
    if bars.len() <= period {
        return Ok(out);
    }
    let n = period as f64;
    let mut sum = 0.0;
    for i in 1..=period {
        sum += true_range(bars[i], bars[i - 1].close);
    }
    let mut atr = sum / n;
    out[period] = atr;
    for i in period + 1..bars.len() {
        atr *= n - 1.0;
        atr += true_range(bars[i], bars[i - 1].close);
        atr /= n;
        out[i] = atr;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, bars};

    #[test]
    fn streaming_equals_batch_bitwise() {
        for p in [1, 2, 14, 50] {
            let b = bars(3000, 60_000.0);
            let r = atr_batch(&b, p).unwrap();
            let mut a = Atr::new(p).unwrap();
            let st: Vec<f64> = b
                .iter()
                .map(|&v| a.update(v).unwrap().unwrap_or(f64::NAN))
                .collect();
            assert_bitwise(&st, &r);
        }
    }

    #[test]
    fn true_range_uses_gaps() {
        let b = Hlc {
            high: 105.0,
            low: 101.0,
            close: 104.0,
        };
        assert_eq!(true_range(b, 100.0), 5.0);
        assert_eq!(true_range(b, 103.0), 4.0);
        assert_eq!(true_range(b, 110.0), 9.0);
    }

    #[test]
    fn bad_bars_rejected_and_peek_matches() {
        let mut a = Atr::new(3).unwrap();
        let bad = Hlc {
            high: 1.0,
            low: 2.0,
            close: 1.5,
        };
        assert!(a.update(bad).is_err());
        assert!(a
            .update(Hlc {
                high: f64::NAN,
                low: 1.0,
                close: 1.0
            })
            .is_err());
        for b in bars(100, 0.0001) {
            let p = a.peek(b);
            assert_eq!(p, a.update(b).unwrap());
        }
        assert!(a.initialized());
    }
}
