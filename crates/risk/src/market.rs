//! Per-symbol bars built from the tick stream: Wilder ATR and per-bar returns for the
//! correlation filter.
//!
//! Bars are aligned to `ts / bar_interval_ns` across all symbols, so bar `k` of BTC and
//! bar `k` of ETH cover the same wall-clock interval and their returns can be correlated.
//! A symbol that has started trading but printed nothing in a bar gets a flat bar
//! (return 0, and no ATR update: a silent minute says nothing about range).

use crate::correlation::CorrelationTracker;
use shmtrader_core::MAX_SYMBOLS;

#[derive(Debug, Clone, Copy, Default)]
struct SymbolBar {
    open_bar: bool,
    high: f64,
    low: f64,
    close: f64,
    prev_close: f64,
    started: bool,
    atr: f64,
    tr_sum: f64,
    tr_count: u32,
    override_atr: f64,
}

/// ATR and bar returns of every symbol, plus the correlation tracker they feed.
#[derive(Debug)]
pub struct MarketState {
    bar_ns: u64,
    atr_period: u32,
    current_bar: u64,
    have_bar: bool,
    n: usize,
    bars: [SymbolBar; MAX_SYMBOLS],
    last_px: [f64; MAX_SYMBOLS],
    corr: CorrelationTracker,
}

impl MarketState {
    /// State for `n` symbols.
    pub fn new(
        n: usize,
        bar_ns: u64,
        atr_period: u32,
        corr_window: usize,
        min_samples: usize,
    ) -> Self {
        MarketState {
            bar_ns: bar_ns.max(1),
            atr_period: atr_period.max(1),
            current_bar: 0,
            have_bar: false,
            n: n.min(MAX_SYMBOLS),
            bars: [SymbolBar::default(); MAX_SYMBOLS],
            last_px: [0.0; MAX_SYMBOLS],
            corr: CorrelationTracker::new(n, corr_window, min_samples),
        }
    }

    /// Records a trade price. O(1), except on the first tick of a new bar, which closes
    /// the previous bar for every symbol (O(symbols²) for the correlation sums, about 2 µs
    /// at 64 symbols once per bar); call [`roll_to`](Self::roll_to) from an idle loop or
    /// timer to take that cost off the tick path.
    #[inline]
    pub fn observe(&mut self, sym: usize, price: f64, ts_ns: u64) {
        if sym >= self.n || !price.is_finite() || price <= 0.0 {
            return;
        }
        self.roll_to(ts_ns);
        let b = &mut self.bars[sym];
        if b.open_bar {
            b.high = b.high.max(price);
            b.low = b.low.min(price);
        } else {
            b.open_bar = true;
            b.high = price;
            b.low = price;
        }
        b.close = price;
        self.last_px[sym] = price;
    }

    /// Closes every bar that ended before `ts_ns`. Late timestamps are folded into the
    /// current bar.
    pub fn roll_to(&mut self, ts_ns: u64) {
        let bar = ts_ns / self.bar_ns;
        if !self.have_bar {
            self.current_bar = bar;
            self.have_bar = true;
            return;
        }
        if bar <= self.current_bar {
            return;
        }
        let gap = bar - self.current_bar;
        self.close_bar(true);
        // Empty bars in between: flat returns; beyond the window they change nothing.
        let empty = (gap - 1).min(self.corr.window() as u64);
        for _ in 0..empty {
            self.close_bar(false);
        }
        self.current_bar = bar;
    }

    fn close_bar(&mut self, with_data: bool) {
        let mut rets = [f64::NAN; MAX_SYMBOLS];
        for (i, b) in self.bars.iter_mut().take(self.n).enumerate() {
            if with_data && b.open_bar {
                let tr = if b.started {
                    (b.high - b.low)
                        .max((b.high - b.prev_close).abs())
                        .max((b.low - b.prev_close).abs())
                } else {
                    b.high - b.low
                };
                let period = self.atr_period;
                if b.tr_count < period {
                    b.tr_sum += tr;
                    b.tr_count += 1;
                    if b.tr_count == period {
                        b.atr = b.tr_sum / period as f64;
                    }
                } else {
                    b.atr = (b.atr * (period - 1) as f64 + tr) / period as f64;
                }
                if b.started && b.prev_close > 0.0 {
                    rets[i] = b.close / b.prev_close - 1.0;
                }
                b.prev_close = b.close;
                b.started = true;
                b.open_bar = false;
            } else if b.started {
                rets[i] = 0.0;
            }
        }
        self.corr.push_bar(&rets[..self.n]);
    }

    /// ATR in price units, once `atr_period` bars have closed (or an override is set).
    #[inline]
    pub fn atr(&self, sym: usize) -> Option<f64> {
        let b = self.bars.get(sym)?;
        if b.override_atr > 0.0 {
            Some(b.override_atr)
        } else if b.tr_count >= self.atr_period && b.atr > 0.0 {
            Some(b.atr)
        } else {
            None
        }
    }

    /// Supplies an ATR from elsewhere (analytics, a warm-up replay); it takes precedence
    /// over the internal estimate until cleared with 0.
    pub fn set_atr(&mut self, sym: usize, atr: f64) {
        if let Some(b) = self.bars.get_mut(sym) {
            b.override_atr = if atr.is_finite() && atr > 0.0 {
                atr
            } else {
                0.0
            };
        }
    }

    /// Last trade price seen (0 before any).
    #[inline]
    pub fn last_price(&self, sym: usize) -> f64 {
        self.last_px.get(sym).copied().unwrap_or(0.0)
    }

    /// The correlation tracker.
    pub fn correlation(&self) -> &CorrelationTracker {
        &self.corr
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAR: u64 = 1_000;

    #[test]
    fn atr_is_wilder_after_the_seed_period() {
        let mut m = MarketState::new(1, BAR, 3, 10, 2);
        // bars: [100,102] [101,104] [99,101] then [100,103]
        let bars = [
            (100.0, 102.0, 101.0),
            (101.0, 104.0, 103.0),
            (99.0, 101.0, 100.0),
        ];
        for (k, (lo, hi, close)) in bars.iter().enumerate() {
            let t = k as u64 * BAR;
            m.observe(0, *lo, t);
            m.observe(0, *hi, t + 1);
            m.observe(0, *close, t + 2);
        }
        assert_eq!(m.atr(0), None, "third bar not closed yet");
        m.observe(0, 100.0, 3 * BAR);
        // TR: 2, max(3, |104-101|, 0)=3, max(2, |101-103|=2, |99-103|=4)=4 -> seed 3
        assert_eq!(m.atr(0), Some(3.0));
        m.observe(0, 103.0, 3 * BAR + 1);
        m.observe(0, 101.0, 3 * BAR + 2);
        m.roll_to(4 * BAR);
        // TR = max(3, |103-100|, |100-100|) = 3 -> (3*2 + 3)/3 = 3
        assert_eq!(m.atr(0), Some(3.0));
        m.set_atr(0, 7.5);
        assert_eq!(m.atr(0), Some(7.5));
        m.set_atr(0, 0.0);
        assert_eq!(m.atr(0), Some(3.0));
    }
}
