//! Every indicator of one symbol, fed by ticks (bars built inside) or by klines.
//!
//! Indicators commit when a bar closes. On every tick the set also answers "what would
//! each indicator read if the bar closed now" — the provisional values — in O(1) and
//! without touching committed state, so a signal can act inside the bar while the bar
//! history stays exactly what the exchange's klines would give.

use crate::bar::{Bar, BarBuilder, DEFAULT_MAX_FILL};
use crate::error::{IndicatorError, Result};
use crate::{
    Atr, BbValue, BollingerBands, Ema, Indicator, Macd, MacdValue, RealizedVol, Rsi, Vwap,
};
use std::fmt::Write as _;
use std::io::Write;

/// Periods of the indicator set. Defaults: EMA 10/21, RSI 14, MACD 12/26/9, Bollinger
/// 20/2, ATR 14, realized volatility 30 bars, VWAP anchored daily, 1-minute bars.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicatorParams {
    /// Fast EMA period.
    pub ema_fast: usize,
    /// Slow EMA period.
    pub ema_slow: usize,
    /// RSI period.
    pub rsi: usize,
    /// MACD fast period.
    pub macd_fast: usize,
    /// MACD slow period.
    pub macd_slow: usize,
    /// MACD signal period.
    pub macd_signal: usize,
    /// Bollinger period.
    pub bb_period: usize,
    /// Bollinger width in standard deviations.
    pub bb_k: f64,
    /// ATR period.
    pub atr: usize,
    /// Realized-volatility window (bars).
    pub rv: usize,
    /// VWAP anchor period (ms).
    pub vwap_anchor_ms: i64,
    /// Bar interval (ms).
    pub bar_interval_ms: i64,
}

impl Default for IndicatorParams {
    fn default() -> Self {
        IndicatorParams {
            ema_fast: 10,
            ema_slow: 21,
            rsi: 14,
            macd_fast: 12,
            macd_slow: 26,
            macd_signal: 9,
            bb_period: 20,
            bb_k: 2.0,
            atr: 14,
            rv: 30,
            vwap_anchor_ms: 86_400_000,
            bar_interval_ms: 60_000,
        }
    }
}

/// Indicator values at one moment (`None` = not initialized).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Snapshot {
    /// Price the values were computed at (bar close or last trade).
    pub price: f64,
    /// Open time of the bar the values belong to.
    pub bar_open_ms: i64,
    /// Fast EMA.
    pub ema_fast: Option<f64>,
    /// Slow EMA.
    pub ema_slow: Option<f64>,
    /// RSI.
    pub rsi: Option<f64>,
    /// MACD line, signal, histogram.
    pub macd: Option<MacdValue>,
    /// Bollinger bands and %B.
    pub bb: Option<BbValue>,
    /// ATR.
    pub atr: Option<f64>,
    /// Realized volatility per bar (always as of the last closed bar).
    pub rv: Option<f64>,
    /// Session VWAP (tick-fed; `None` for kline-fed sets).
    pub vwap: Option<f64>,
}

/// All indicators of one symbol.
#[derive(Debug, Clone)]
pub struct IndicatorSet {
    bars: BarBuilder,
    ema_fast: Ema,
    ema_slow: Ema,
    rsi: Rsi,
    macd: Macd,
    bb: BollingerBands,
    atr: Atr,
    rv: RealizedVol,
    vwap: Vwap,
    committed: Snapshot,
    bars_closed: u64,
    volume: f64,
    /// The last committed bar (from klines or from ticks): after a warm start from
    /// klines the first live trade continues from it, with no gap and no overlap.
    last_bar: Option<Bar>,
    interval_ms: i64,
    /// Committed bars with their ATR, kept for [`take_bars`](Self::take_bars) when
    /// [`log_bars`](Self::log_bars) is on (the analytics engine publishes them).
    bar_log: Option<Vec<(Bar, Option<f64>)>>,
}

impl IndicatorSet {
    /// Builds the set; rejects bad periods.
    pub fn new(p: &IndicatorParams) -> Result<IndicatorSet> {
        Ok(IndicatorSet {
            bars: BarBuilder::new(p.bar_interval_ms)?,
            ema_fast: Ema::new(p.ema_fast)?,
            ema_slow: Ema::new(p.ema_slow)?,
            rsi: Rsi::new(p.rsi)?,
            macd: Macd::new(p.macd_fast, p.macd_slow, p.macd_signal)?,
            bb: BollingerBands::new(p.bb_period, p.bb_k)?,
            atr: Atr::new(p.atr)?,
            rv: RealizedVol::new(p.rv)?,
            vwap: Vwap::new(p.vwap_anchor_ms)?,
            committed: Snapshot::default(),
            bars_closed: 0,
            volume: 0.0,
            last_bar: None,
            interval_ms: p.bar_interval_ms,
            bar_log: None,
        })
    }

    /// Commits one closed bar to every bar-based indicator; returns the committed values.
    /// A bad bar is an error and changes nothing.
    pub fn on_bar(&mut self, b: &Bar) -> Result<Snapshot> {
        b.hlc().check("bar")?;
        let c = b.close;
        let s = Snapshot {
            price: c,
            bar_open_ms: b.open_time_ms,
            ema_fast: self.ema_fast.update(c)?,
            ema_slow: self.ema_slow.update(c)?,
            rsi: self.rsi.update(c)?,
            macd: self.macd.update(c)?,
            bb: self.bb.update(c)?,
            atr: self.atr.update(b.hlc())?,
            rv: self.rv.update(c)?,
            vwap: self.vwap.value(),
        };
        self.committed = s;
        self.bars_closed += 1;
        self.volume += b.volume;
        self.last_bar = Some(*b);
        if let Some(log) = &mut self.bar_log {
            log.push((*b, s.atr));
        }
        Ok(s)
    }

    /// Keeps every committed bar (with its ATR) until [`take_bars`](Self::take_bars):
    /// for an owner that passes bars on. Off by default, so a set nobody drains does
    /// not grow.
    pub fn log_bars(&mut self) {
        self.bar_log.get_or_insert_with(|| Vec::with_capacity(8));
    }

    /// Hands over the bars committed since the last call, oldest first (nothing unless
    /// [`log_bars`](Self::log_bars) is on). The buffer keeps its capacity.
    pub fn take_bars(&mut self, mut f: impl FnMut(&Bar, Option<f64>)) {
        if let Some(log) = &mut self.bar_log {
            for (b, atr) in log.drain(..) {
                f(&b, atr);
            }
        }
    }

    /// The last committed bar.
    pub fn last_bar(&self) -> Option<&Bar> {
        self.last_bar.as_ref()
    }

    /// Adds one trade: closes bars as time passes (committing them), updates VWAP, and
    /// returns the provisional values "if the current bar closed now". A bad or
    /// out-of-order trade is an error and changes nothing.
    pub fn on_tick(&mut self, ts_ms: i64, price: f64, qty: f64) -> Result<Snapshot> {
        if self.bars.current().is_none() {
            self.join_history(ts_ms, price, qty)?;
        }
        // The builder validates the trade before it closes anything.
        let closed = self.bars.on_tick(ts_ms, price, qty)?;
        for bar in closed.bars() {
            self.on_bar(&bar)?;
        }
        self.vwap.add(ts_ms, price, qty)?;
        Ok(self.provisional())
    }

    /// First trade after bars committed from klines (a warm start): a trade inside a bar
    /// already committed is out of order (the klines hold it); minutes between the last
    /// kline and this trade's bar get flat bars, as the exchange's klines and the tick
    /// path give an empty interval (at most [`DEFAULT_MAX_FILL`]).
    fn join_history(&mut self, ts_ms: i64, price: f64, qty: f64) -> Result<()> {
        let Some(last) = self.last_bar else {
            return Ok(());
        };
        if !(price.is_finite() && price > 0.0 && qty.is_finite() && qty >= 0.0) {
            // The builder reports it, having changed nothing.
            return Ok(());
        }
        let open = ts_ms - ts_ms.rem_euclid(self.interval_ms);
        if open <= last.open_time_ms {
            return Err(IndicatorError::OutOfOrder {
                ts_ms,
                bar_open_ms: last.open_time_ms,
            });
        }
        let empty = (open - last.open_time_ms) / self.interval_ms - 1;
        for k in 1..=empty.min(i64::from(DEFAULT_MAX_FILL)) {
            self.on_bar(&Bar {
                open_time_ms: last.open_time_ms + k * self.interval_ms,
                open: last.close,
                high: last.close,
                low: last.close,
                close: last.close,
                volume: 0.0,
            })?;
        }
        Ok(())
    }

    /// The values if the bar in progress closed now (committed values if none).
    pub fn provisional(&self) -> Snapshot {
        let Some(b) = self.bars.current() else {
            return self.committed;
        };
        let c = b.close;
        Snapshot {
            price: c,
            bar_open_ms: b.open_time_ms,
            ema_fast: self.ema_fast.peek(c),
            ema_slow: self.ema_slow.peek(c),
            rsi: self.rsi.peek(c),
            macd: self.macd.peek(c),
            bb: self.bb.peek(c),
            atr: self.atr.peek(b.hlc()),
            // Realized volatility is a per-bar risk measure (sizing, regime): the
            // committed value, saving a logarithm and a square root per tick.
            rv: self.rv.value(),
            vwap: self.vwap.value(),
        }
    }

    /// Values as of the last closed bar.
    pub fn committed(&self) -> &Snapshot {
        &self.committed
    }

    /// Bars committed so far.
    pub fn bars_closed(&self) -> u64 {
        self.bars_closed
    }

    /// Total volume of the committed bars.
    pub fn committed_volume(&self) -> f64 {
        self.volume
    }

    /// True once every bar indicator has a value.
    pub fn initialized(&self) -> bool {
        self.ema_fast.initialized()
            && self.ema_slow.initialized()
            && self.rsi.initialized()
            && self.macd.initialized()
            && self.bb.initialized()
            && self.atr.initialized()
            && self.rv.initialized()
    }

    /// Forgets everything (e.g. after a long outage).
    pub fn reset(&mut self) {
        self.bars.reset();
        self.ema_fast.reset();
        self.ema_slow.reset();
        self.rsi.reset();
        self.macd.reset();
        self.bb.reset();
        self.atr.reset();
        self.rv.reset();
        self.vwap.reset();
        self.committed = Snapshot::default();
        self.bars_closed = 0;
        self.volume = 0.0;
        self.last_bar = None;
        if let Some(log) = &mut self.bar_log {
            log.clear();
        }
    }
}

/// The exact header of `shmtrader indicators`.
pub const CSV_HEADER: &str = "open_time_ms,close,ema_fast,ema_slow,rsi,macd,macd_signal,macd_hist,bb_upper,bb_middle,bb_lower,bb_pct_b,atr";

/// Writes one CSV row per kline with the committed values; cells stay empty until the
/// indicator is initialized. Floats are written in their shortest exact form.
pub fn write_indicator_csv(
    out: &mut impl Write,
    klines: &[Bar],
    p: &IndicatorParams,
) -> Result<()> {
    let io = |e: std::io::Error| IndicatorError::Io {
        path: "output".to_string(),
        why: e.to_string(),
    };
    let mut set = IndicatorSet::new(p)?;
    writeln!(out, "{CSV_HEADER}").map_err(io)?;
    let mut line = String::with_capacity(256);
    for k in klines {
        let s = set.on_bar(k)?;
        line.clear();
        let cell = |line: &mut String, v: Option<f64>| {
            line.push(',');
            if let Some(v) = v {
                let _ = write!(line, "{v}");
            }
        };
        let _ = write!(line, "{},{}", k.open_time_ms, k.close);
        cell(&mut line, s.ema_fast);
        cell(&mut line, s.ema_slow);
        cell(&mut line, s.rsi);
        cell(&mut line, s.macd.map(|m| m.macd));
        cell(&mut line, s.macd.map(|m| m.signal));
        cell(&mut line, s.macd.map(|m| m.hist));
        cell(&mut line, s.bb.map(|b| b.upper));
        cell(&mut line, s.bb.map(|b| b.middle));
        cell(&mut line, s.bb.map(|b| b.lower));
        cell(&mut line, s.bb.map(|b| b.pct_b));
        cell(&mut line, s.atr);
        writeln!(out, "{line}").map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::bars;

    fn klines(n: usize) -> Vec<Bar> {
        bars(n, 60_000.0)
            .iter()
            .enumerate()
            .map(|(i, b)| Bar {
                open_time_ms: i as i64 * 60_000,
                open: b.low,
                high: b.high,
                low: b.low,
                close: b.close,
                volume: 1.0,
            })
            .collect()
    }

    /// Ticks that trace each kline (open, high, low, close) give the same committed
    /// values as the klines themselves, and the provisional value at the bar's last tick
    /// is what the bar commits.
    #[test]
    fn tick_fed_equals_kline_fed_and_provisional_is_the_commit() {
        let p = IndicatorParams::default();
        let ks = klines(400);
        let mut by_bar = IndicatorSet::new(&p).unwrap();
        let mut by_tick = IndicatorSet::new(&p).unwrap();
        let mut last_prov: Option<Snapshot> = None;
        for k in &ks {
            let t0 = k.open_time_ms;
            for (dt, px) in [(1, k.open), (10, k.high), (20, k.low), (59_000, k.close)] {
                let s = by_tick.on_tick(t0 + dt, px, 0.25).unwrap();
                if dt != 1 {
                    continue;
                }
                // The first tick of a bar closed the previous one: compare.
                if let Some(prev) = last_prov {
                    let c = by_tick.committed();
                    assert_eq!(c.ema_fast, prev.ema_fast);
                    assert_eq!(c.rsi, prev.rsi);
                    assert_eq!(c.macd, prev.macd);
                    assert_eq!(c.atr, prev.atr);
                    assert_eq!(c.bb.is_some(), prev.bb.is_some());
                }
                let _ = s;
            }
            last_prov = Some(by_tick.provisional());
            let committed = by_bar.on_bar(k).unwrap();
            if k.open_time_ms > 0 {
                // by_tick has committed up to the previous bar; by_bar up to this one.
                let _ = committed;
            }
        }
        // Close the last bar and compare the whole committed state.
        by_tick.on_tick(ks.len() as i64 * 60_000, 1.0, 0.0).unwrap();
        let mut again = IndicatorSet::new(&p).unwrap();
        let mut last = Snapshot::default();
        for k in &ks {
            last = again.on_bar(k).unwrap();
        }
        let c = by_tick.committed();
        assert_eq!(
            (c.ema_fast, c.ema_slow, c.rsi, c.macd, c.bb, c.atr, c.rv),
            (
                last.ema_fast,
                last.ema_slow,
                last.rsi,
                last.macd,
                last.bb,
                last.atr,
                last.rv
            )
        );
        assert!(by_tick.initialized());
        assert_eq!(by_tick.bars_closed(), ks.len() as u64);
    }

    /// A warm start: the first 300 bars as klines, then the same market's trades. The
    /// state equals a set fed every trade from the start (to 1e-9); a trade inside a
    /// kline already committed is refused (no overlap); a silent stretch between the last
    /// kline and the first trade gets flat bars (no gap).
    #[test]
    fn klines_then_ticks_equal_ticks_alone_with_no_gap_or_overlap() {
        let p = IndicatorParams::default();
        let ks = klines(400);
        let ticks = |k: &Bar| {
            let t0 = k.open_time_ms;
            [(1, k.open), (10, k.high), (20, k.low), (59_000, k.close)]
                .map(|(dt, px)| (t0 + dt, px))
        };
        let mut all = IndicatorSet::new(&p).unwrap();
        let mut warm = IndicatorSet::new(&p).unwrap();
        for (i, k) in ks.iter().enumerate() {
            for (ts, px) in ticks(k) {
                all.on_tick(ts, px, 0.25).unwrap();
                if i >= 300 {
                    warm.on_tick(ts, px, 0.25).unwrap();
                }
            }
            if i < 300 {
                warm.on_bar(&Bar { volume: 1.0, ..*k }).unwrap();
            }
            if i == 299 {
                // Overlap: a trade of the last kline's minute is refused, changing nothing.
                let before = warm.provisional();
                assert!(matches!(
                    warm.on_tick(k.open_time_ms + 30_000, k.close, 1.0),
                    Err(IndicatorError::OutOfOrder { .. })
                ));
                assert_eq!(warm.provisional(), before);
            }
        }
        let close = |s: &IndicatorSet| {
            let c = *s.committed();
            [
                c.ema_fast,
                c.ema_slow,
                c.rsi,
                c.atr,
                c.rv,
                c.macd.map(|m| m.hist),
                c.bb.map(|b| b.pct_b),
            ]
        };
        all.on_tick(400 * 60_000, 1.0, 0.0).unwrap();
        warm.on_tick(400 * 60_000, 1.0, 0.0).unwrap();
        assert_eq!(warm.bars_closed(), all.bars_closed());
        for (a, b) in close(&all).iter().zip(close(&warm)) {
            let (a, b) = (a.unwrap(), b.unwrap());
            assert!((a - b).abs() <= 1e-9 * a.abs().max(1.0), "{a} vs {b}");
        }
        // Gap: klines end at bar 9, the first trade comes in bar 13: bars 10..=12 are flat.
        let mut g = IndicatorSet::new(&p).unwrap();
        for k in &ks[..10] {
            g.on_bar(k).unwrap();
        }
        g.on_tick(13 * 60_000 + 5, 99.0, 1.0).unwrap();
        assert_eq!(g.bars_closed(), 13);
        let flat = g.last_bar().unwrap();
        assert_eq!(
            (flat.open_time_ms, flat.high, flat.low),
            (12 * 60_000, ks[9].close, ks[9].close)
        );
        assert_eq!(flat.volume, 0.0);
    }

    #[test]
    fn bad_tick_changes_nothing_and_reset_forgets() {
        let mut s = IndicatorSet::new(&IndicatorParams::default()).unwrap();
        for (i, k) in klines(100).iter().enumerate() {
            s.on_tick(i as i64 * 60_000 + 5, k.close, 1.0).unwrap();
        }
        let before = s.provisional();
        assert!(s.on_tick(99 * 60_000 + 10, f64::NAN, 1.0).is_err());
        assert!(s.on_tick(99 * 60_000 + 10, -5.0, 1.0).is_err());
        assert!(s.on_tick(50 * 60_000, 60_000.0, 1.0).is_err());
        assert_eq!(s.provisional(), before);
        s.reset();
        assert!(!s.initialized());
        assert_eq!(s.bars_closed(), 0);
    }

    #[test]
    fn csv_cells_empty_until_initialized() {
        let mut out = Vec::new();
        write_indicator_csv(&mut out, &klines(40), &IndicatorParams::default()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], CSV_HEADER);
        assert_eq!(rows[1].split(',').filter(|c| c.is_empty()).count(), 11);
        // MACD's lookback is 33: kline index 33 (CSV row 34) has the first value.
        let before: Vec<&str> = rows[33].split(',').collect();
        assert!(before[5].is_empty());
        let first: Vec<&str> = rows[34].split(',').collect();
        assert!(first.iter().all(|c| !c.is_empty()), "{}", rows[34]);
    }

    #[test]
    fn bad_params_rejected() {
        let p = IndicatorParams {
            macd_fast: 30,
            ..IndicatorParams::default()
        };
        assert!(IndicatorSet::new(&p).is_err());
        let p = IndicatorParams {
            bar_interval_ms: 0,
            ..IndicatorParams::default()
        };
        assert!(IndicatorSet::new(&p).is_err());
    }
}
