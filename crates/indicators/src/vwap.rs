//! Session VWAP: Σ price·qty / Σ qty since the start of the current anchor period
//! (default one UTC day, the convention of most trading screens). Fed with trades, so it
//! is exact per tick and needs no provisional value.

use crate::error::{IndicatorError, Result};

/// Anchored volume-weighted average price.
#[derive(Debug, Clone)]
pub struct Vwap {
    anchor_ms: i64,
    period_idx: Option<i64>,
    /// `[start, end)` of the current anchor period in ms, so most trades skip the division.
    range: (i64, i64),
    pv: f64,
    vol: f64,
}

impl Vwap {
    /// Resets every `anchor_ms` milliseconds of exchange time (aligned to the epoch).
    pub fn new(anchor_ms: i64) -> Result<Vwap> {
        if anchor_ms <= 0 {
            return Err(IndicatorError::BadParam {
                indicator: "VWAP",
                param: "anchor_ms",
                value: anchor_ms.to_string(),
                why: "must be above 0",
            });
        }
        Ok(Vwap {
            anchor_ms,
            period_idx: None,
            range: (0, 0),
            pv: 0.0,
            vol: 0.0,
        })
    }

    /// Adds one trade. Price must be finite and > 0, quantity finite and ≥ 0.
    pub fn update(&mut self, ts_ms: i64, price: f64, qty: f64) -> Result<Option<f64>> {
        self.add(ts_ms, price, qty)?;
        Ok(self.value())
    }

    /// [`Vwap::update`] without computing the value: the indicator set reads it once
    /// per tick in its snapshot, so the division here would be done twice.
    pub(crate) fn add(&mut self, ts_ms: i64, price: f64, qty: f64) -> Result<()> {
        if !(price.is_finite() && price > 0.0 && qty.is_finite() && qty >= 0.0) {
            return Err(IndicatorError::NonFinite {
                indicator: "VWAP",
                value: if price.is_finite() { qty } else { price },
            });
        }
        if !(self.period_idx.is_some() && ts_ms >= self.range.0 && ts_ms < self.range.1) {
            let idx = ts_ms.div_euclid(self.anchor_ms);
            if self.period_idx != Some(idx) {
                self.period_idx = Some(idx);
                self.pv = 0.0;
                self.vol = 0.0;
            }
            let start = idx.saturating_mul(self.anchor_ms);
            self.range = (start, start.saturating_add(self.anchor_ms));
        }
        self.pv += price * qty;
        self.vol += qty;
        Ok(())
    }

    /// `None` until some volume has traded in the current period.
    pub fn value(&self) -> Option<f64> {
        (self.vol > 0.0).then(|| self.pv / self.vol)
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.period_idx = None;
        self.range = (0, 0);
        self.pv = 0.0;
        self.vol = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example_and_anchor_reset() {
        let mut v = Vwap::new(86_400_000).unwrap();
        assert_eq!(v.value(), None);
        v.update(1_000, 100.0, 1.0).unwrap();
        v.update(2_000, 103.0, 2.0).unwrap();
        assert_eq!(v.value(), Some(102.0));
        v.update(86_400_000, 50.0, 1.0).unwrap();
        assert_eq!(v.value(), Some(50.0));
        assert!(v.update(3, f64::NAN, 1.0).is_err());
        assert!(v.update(3, -1.0, 1.0).is_err());
        assert_eq!(v.value(), Some(50.0));
        assert!(Vwap::new(0).is_err());
    }
}
