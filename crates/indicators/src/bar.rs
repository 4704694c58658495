//! Time bars built from ticks.
//!
//! Bars are aligned to the epoch (`open_time = ts − ts mod interval`), like Binance
//! klines, so bars built live line up with the exchange's klines and with the backtest.
//! An interval without trades becomes a flat bar at the previous close with zero volume
//! (what Binance's kline endpoint returns), so period-based indicators keep counting
//! time rather than trades.

use crate::error::{IndicatorError, Result};

/// One OHLCV bar.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Bar {
    /// Open time (ms since the epoch), a multiple of the interval.
    pub open_time_ms: i64,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
}

impl Bar {
    /// High, low, close.
    pub fn hlc(&self) -> crate::Hlc {
        crate::Hlc {
            high: self.high,
            low: self.low,
            close: self.close,
        }
    }
}

/// Builds bars of one symbol from its ticks.
#[derive(Debug, Clone)]
pub struct BarBuilder {
    interval_ms: i64,
    max_fill: u32,
    current: Option<Bar>,
}

/// What a trade closed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Closed {
    /// The bar that closed.
    pub bar: Option<Bar>,
    /// Flat bars that follow it (empty intervals).
    pub fill: u32,
    /// Empty intervals beyond the fill limit, not emitted.
    pub skipped: u64,
    interval_ms: i64,
}

impl Closed {
    /// Every closed bar in time order: the bar, then its flat fillers.
    pub fn bars(&self) -> impl Iterator<Item = Bar> + '_ {
        let first = self.bar;
        first
            .into_iter()
            .chain((1..=self.fill).filter_map(move |i| self.filler(i)))
    }

    /// The `i`-th flat filler (1-based): the closed bar's close, zero volume.
    pub fn filler(&self, i: u32) -> Option<Bar> {
        let b = self.bar?;
        (i >= 1 && i <= self.fill).then(|| Bar {
            open_time_ms: b.open_time_ms + i64::from(i) * self.interval_ms,
            open: b.close,
            high: b.close,
            low: b.close,
            close: b.close,
            volume: 0.0,
        })
    }
}

/// Order of the two extremes when a kline is replayed as four trades (the backtest's
/// replay of klines, and the analytics engine's warm start of tick-level state).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IntrabarPath {
    /// The extreme nearer the open first (shortest path; ties: high first).
    #[default]
    NearestFirst,
    /// Always open, high, low, close.
    HighFirst,
    /// Always open, low, high, close.
    LowFirst,
}

impl IntrabarPath {
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            IntrabarPath::NearestFirst => "nearest_first",
            IntrabarPath::HighFirst => "high_first",
            IntrabarPath::LowFirst => "low_first",
        }
    }

    /// The four prices of a bar in replay order.
    pub fn prices(self, b: &Bar) -> [f64; 4] {
        let high_first = match self {
            IntrabarPath::HighFirst => true,
            IntrabarPath::LowFirst => false,
            IntrabarPath::NearestFirst => (b.high - b.open) <= (b.open - b.low),
        };
        if high_first {
            [b.open, b.high, b.low, b.close]
        } else {
            [b.open, b.low, b.high, b.close]
        }
    }
}

/// Most flat bars emitted for one silent stretch; a longer silence (an outage, a
/// halted market) is not papered over with thousands of fake bars.
pub const DEFAULT_MAX_FILL: u32 = 1_440;

impl BarBuilder {
    /// Bars of `interval_ms` (> 0).
    pub fn new(interval_ms: i64) -> Result<BarBuilder> {
        if interval_ms <= 0 {
            return Err(IndicatorError::BadParam {
                indicator: "bars",
                param: "interval_ms",
                value: interval_ms.to_string(),
                why: "must be above 0",
            });
        }
        Ok(BarBuilder {
            interval_ms,
            max_fill: DEFAULT_MAX_FILL,
            current: None,
        })
    }

    /// The interval.
    pub fn interval_ms(&self) -> i64 {
        self.interval_ms
    }

    /// The bar being built (its close is the last price).
    pub fn current(&self) -> Option<&Bar> {
        self.current.as_ref()
    }

    /// Adds a trade. Returns the bar it closed, if any, and how many flat bars follow
    /// it for empty intervals (see [`Closed::filler`]); beyond [`DEFAULT_MAX_FILL`]
    /// empty intervals are counted as skipped instead. A bad or out-of-order trade is
    /// an error and changes nothing.
    pub fn on_tick(&mut self, ts_ms: i64, price: f64, qty: f64) -> Result<Closed> {
        if !(price.is_finite() && price > 0.0 && qty.is_finite() && qty >= 0.0) {
            return Err(IndicatorError::NonFinite {
                indicator: "bars",
                value: if price.is_finite() && price > 0.0 {
                    qty
                } else {
                    price
                },
            });
        }
        // Fast path, no division: the trade falls in the bar in progress.
        if let Some(b) = &mut self.current {
            if ts_ms >= b.open_time_ms && ts_ms - b.open_time_ms < self.interval_ms {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.close = price;
                b.volume += qty;
                return Ok(Closed::default());
            }
        }
        let open = ts_ms - ts_ms.rem_euclid(self.interval_ms);
        let mut out = Closed::default();
        match &mut self.current {
            Some(b) if open == b.open_time_ms => {
                b.high = b.high.max(price);
                b.low = b.low.min(price);
                b.close = price;
                b.volume += qty;
                return Ok(out);
            }
            Some(b) if open < b.open_time_ms => {
                return Err(IndicatorError::OutOfOrder {
                    ts_ms,
                    bar_open_ms: b.open_time_ms,
                });
            }
            Some(b) => {
                let empty = (open - b.open_time_ms) / self.interval_ms - 1;
                let fill = empty.min(i64::from(self.max_fill));
                out = Closed {
                    bar: Some(*b),
                    fill: fill as u32,
                    skipped: (empty - fill) as u64,
                    interval_ms: self.interval_ms,
                };
            }
            None => {}
        }
        self.current = Some(Bar {
            open_time_ms: open,
            open: price,
            high: price,
            low: price,
            close: price,
            volume: qty,
        });
        Ok(out)
    }

    /// Drops the bar in progress.
    pub fn reset(&mut self) {
        self.current = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_close_on_the_next_interval_and_gaps_fill_flat() {
        let mut b = BarBuilder::new(60_000).unwrap();
        let mut closed: Vec<Bar> = vec![];
        for (t, p, q) in [
            (60_500, 10.0, 1.0),
            (61_000, 12.0, 2.0),
            (119_999, 9.0, 1.0),
        ] {
            closed.extend(b.on_tick(t, p, q).unwrap().bars());
        }
        assert!(closed.is_empty());
        let cur = *b.current().unwrap();
        assert_eq!(
            (cur.open, cur.high, cur.low, cur.close, cur.volume),
            (10.0, 12.0, 9.0, 9.0, 4.0)
        );
        closed.extend(b.on_tick(240_001, 11.0, 1.0).unwrap().bars());
        assert_eq!(closed.len(), 3);
        assert_eq!(closed[0], cur);
        assert_eq!(closed[1].open_time_ms, 120_000);
        assert_eq!((closed[1].close, closed[1].volume), (9.0, 0.0));
        assert_eq!(closed[2].open_time_ms, 180_000);
        assert_eq!(b.current().unwrap().open_time_ms, 240_000);
    }

    #[test]
    fn out_of_order_and_bad_prices_are_errors_that_change_nothing() {
        let mut b = BarBuilder::new(1_000).unwrap();
        b.on_tick(5_500, 10.0, 1.0).unwrap();
        assert!(matches!(
            b.on_tick(4_999, 10.0, 1.0),
            Err(IndicatorError::OutOfOrder { .. })
        ));
        assert!(b.on_tick(5_600, f64::NAN, 1.0).is_err());
        assert!(b.on_tick(5_600, -1.0, 1.0).is_err());
        assert!(b.on_tick(5_600, 1.0, -1.0).is_err());
        assert_eq!(b.current().unwrap().close, 10.0);
        assert!(BarBuilder::new(0).is_err());
    }

    #[test]
    fn long_silence_is_capped() {
        let mut b = BarBuilder::new(1_000).unwrap();
        b.on_tick(0, 1.0, 1.0).unwrap();
        let c = b.on_tick(10_000_000, 1.0, 1.0).unwrap();
        assert_eq!(c.bars().count(), 1 + DEFAULT_MAX_FILL as usize);
        assert_eq!(c.skipped, 10_000 - 1 - u64::from(DEFAULT_MAX_FILL));
    }
}
