//! MACD (12/26/9 by default) with TA-Lib's alignment.
//!
//! TA-Lib does not start the fast EMA at the first input: it starts both EMAs at the
//! index where the slow one can start, seeding the fast EMA with the SMA of the `fast`
//! values ending there. The MACD line is `fast − slow` from that index; the signal is an
//! EMA of the line (SMA-seeded); the first output comes after `slow + signal − 1` inputs.

use crate::ema::Ema;
use crate::error::{check_finite, check_period, IndicatorError, Result};
use crate::window::Window;
use crate::Indicator;

/// One MACD output.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MacdValue {
    /// Fast EMA − slow EMA.
    pub macd: f64,
    /// EMA of the MACD line.
    pub signal: f64,
    /// `macd − signal`.
    pub hist: f64,
}

/// Streaming MACD.
#[derive(Debug, Clone)]
pub struct Macd {
    fast_p: usize,
    slow: Ema,
    /// Last `fast_p` inputs, only needed until the fast EMA is seeded.
    recent: Window,
    fast: Option<Ema>,
    signal: Ema,
    value: Option<MacdValue>,
}

impl Macd {
    /// Rejects zero periods and `fast >= slow`.
    pub fn new(fast: usize, slow: usize, signal: usize) -> Result<Macd> {
        check_period("MACD", "fast", fast)?;
        check_period("MACD", "slow", slow)?;
        check_period("MACD", "signal", signal)?;
        if fast >= slow {
            return Err(IndicatorError::BadParam {
                indicator: "MACD",
                param: "fast",
                value: fast.to_string(),
                why: "must be below the slow period",
            });
        }
        Ok(Macd {
            fast_p: fast,
            slow: Ema::new(slow)?,
            recent: Window::new(fast),
            fast: None,
            signal: Ema::new(signal)?,
            value: None,
        })
    }

    /// TA-Lib's seed: the SMA of the last `fast` values, `extra` being the newest.
    fn fast_seed(&self, extra: f64) -> f64 {
        let mut sum = 0.0;
        let skip = usize::from(self.recent.len() + 1 > self.fast_p);
        for i in skip..self.recent.len() {
            sum += self.recent.get(i);
        }
        sum += extra;
        sum / self.fast_p as f64
    }

    /// (fast, slow, line) after `x`, without committing.
    #[inline]
    fn lines(&self, x: f64) -> Option<(f64, f64)> {
        let slow = self.slow.peek(x)?;
        let fast = match &self.fast {
            Some(f) => f.peek(x)?,
            None => self.fast_seed(x),
        };
        Some((fast, slow))
    }
}

impl Indicator for Macd {
    type Input = f64;
    type Output = MacdValue;

    fn update(&mut self, x: f64) -> Result<Option<MacdValue>> {
        check_finite("MACD", x)?;
        let lines = self.lines(x);
        self.slow.update(x)?;
        match (&mut self.fast, lines) {
            (Some(f), _) => {
                f.update(x)?;
            }
            (None, Some((fast, _))) => self.fast = Some(Ema::seeded(self.fast_p, fast)?),
            (None, None) => {
                self.recent.push(x);
            }
        }
        if let Some((fast, slow)) = lines {
            let line = fast - slow;
            self.value = self.signal.update(line)?.map(|s| MacdValue {
                macd: line,
                signal: s,
                hist: line - s,
            });
        }
        Ok(self.value)
    }

    fn peek(&self, x: f64) -> Option<MacdValue> {
        if !x.is_finite() {
            return None;
        }
        let (fast, slow) = self.lines(x)?;
        let line = fast - slow;
        let s = self.signal.peek(line)?;
        Some(MacdValue {
            macd: line,
            signal: s,
            hist: line - s,
        })
    }

    fn value(&self) -> Option<MacdValue> {
        self.value
    }

    fn reset(&mut self) {
        self.slow.reset();
        self.recent.clear();
        self.fast = None;
        self.signal.reset();
        self.value = None;
    }
}

/// Batch reference following TA-Lib's `TA_INT_MACD`: (macd, signal, hist), `NaN` before
/// `slow + signal − 1` inputs.
pub fn macd_batch(
    x: &[f64],
    fast: usize,
    slow: usize,
    signal: usize,
) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    Macd::new(fast, slow, signal)?;
    let n = x.len();
    let mut m = vec![f64::NAN; n];
    let mut s = vec![f64::NAN; n];
    let mut h = vec![f64::NAN; n];
    let start = slow - 1; // first index with both EMAs
    if n <= start {
        return Ok((m, s, h));
    }
    let ks = 2.0 / (slow as f64 + 1.0);
    let kf = 2.0 / (fast as f64 + 1.0);
    let seed = |p: usize| {
        let mut sum = 0.0;
        for &v in &x[start + 1 - p..=start] {
            sum += v;
        }
        sum / p as f64
    };
    let (mut es, mut ef) = (seed(slow), seed(fast));
    let mut line = Vec::with_capacity(n - start);
    line.push(ef - es);
    for &v in &x[start + 1..] {
        es = ((v - es) * ks) + es;
        ef = ((v - ef) * kf) + ef;
        line.push(ef - es);
    }
    let sig = crate::ema::ema_batch(&line, signal)?;
    for (j, (&l, &sv)) in line.iter().zip(&sig).enumerate() {
        if !sv.is_nan() {
            m[start + j] = l;
            s[start + j] = sv;
            h[start + j] = l - sv;
        }
    }
    Ok((m, s, h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{assert_bitwise, series};

    #[test]
    fn streaming_equals_batch_bitwise() {
        for (f, sl, sg) in [(12, 26, 9), (1, 2, 1), (3, 10, 4)] {
            let x = series(2000, 60_000.0);
            let (bm, bs, bh) = macd_batch(&x, f, sl, sg).unwrap();
            let mut mc = Macd::new(f, sl, sg).unwrap();
            let (mut m, mut s, mut h) = (vec![], vec![], vec![]);
            for &v in &x {
                let o = mc.update(v).unwrap();
                m.push(o.map_or(f64::NAN, |o| o.macd));
                s.push(o.map_or(f64::NAN, |o| o.signal));
                h.push(o.map_or(f64::NAN, |o| o.hist));
            }
            assert_bitwise(&m, &bm);
            assert_bitwise(&s, &bs);
            assert_bitwise(&h, &bh);
            assert!(m[sl + sg - 3].is_nan() && !m[sl + sg - 2].is_nan());
        }
    }

    #[test]
    fn peek_matches_update() {
        let x = series(300, 100.0);
        let mut mc = Macd::new(12, 26, 9).unwrap();
        for &v in &x {
            let p = mc.peek(v);
            assert_eq!(p, mc.update(v).unwrap());
        }
    }

    #[test]
    fn bad_periods() {
        assert!(Macd::new(26, 12, 9).is_err());
        assert!(Macd::new(12, 12, 9).is_err());
        assert!(Macd::new(0, 26, 9).is_err());
        assert!(Macd::new(12, 26, 0).is_err());
    }
}
