//! Walking-skeleton signal logic: an EMA crossover on bar closes.
//!
//! Pure and deterministic (time comes from the records), so the end-to-end test can
//! recompute from the ticks ring exactly which signals analytics must have published
//! and prove that a restart lost none and repeated none. The analytics, risk and
//! executor issues replace these insides; the pipeline around them stays.

use shmtrader_core::config::StrategyConfig;
use shmtrader_core::{Side, Signal, Tick, MAX_SYMBOLS};

#[derive(Debug, Clone, Copy, Default)]
struct Ema {
    alpha: f64,
    period: u32,
    n: u32,
    sum: f64,
    value: f64,
}

impl Ema {
    fn new(period: u32) -> Ema {
        Ema {
            alpha: 2.0 / (period as f64 + 1.0),
            period,
            ..Ema::default()
        }
    }
    /// TA-Lib convention: seeded with the SMA of the first `period` values.
    fn update(&mut self, x: f64) {
        if self.n < self.period {
            self.n += 1;
            self.sum += x;
            if self.n == self.period {
                self.value = self.sum / self.period as f64;
            }
        } else {
            self.value += self.alpha * (x - self.value);
        }
    }
    fn ready(&self) -> bool {
        self.n >= self.period
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct SymBars {
    bar: u64,
    close: f64,
    have_bar: bool,
    fast: Ema,
    slow: Ema,
    last_diff_sign: i8,
    last_signal_ns: u64,
    signalled_once: bool,
}

/// EMA(fast) / EMA(slow) crossover on bar closes, per symbol.
#[derive(Debug, Clone)]
pub struct EmaCross {
    bar_ns: u64,
    cooldown_ns: u64,
    syms: Vec<SymBars>,
}

impl EmaCross {
    /// From the strategy config.
    pub fn new(cfg: &StrategyConfig, n_symbols: usize) -> EmaCross {
        let proto = SymBars {
            fast: Ema::new(cfg.ema_fast),
            slow: Ema::new(cfg.ema_slow),
            ..SymBars::default()
        };
        EmaCross {
            bar_ns: cfg.bar_interval_ms.max(1) * 1_000_000,
            cooldown_ns: cfg.cooldown_ms * 1_000_000,
            syms: vec![proto; n_symbols.min(MAX_SYMBOLS)],
        }
    }

    /// Feeds one tick (its ring sequence `seq`); returns a signal when the bar that this
    /// tick closes produced a crossover. The signal's times are the tick's; the caller
    /// stamps `publish_ts_ns`.
    #[inline]
    pub fn on_tick(&mut self, seq: u64, t: &Tick) -> Option<Signal> {
        let s = self.syms.get_mut(t.symbol_id as usize)?;
        if !(t.price.is_finite() && t.price > 0.0) {
            return None;
        }
        let bar = t.exchange_ts_ns / self.bar_ns;
        let mut out = None;
        if s.have_bar && bar > s.bar {
            // The previous bar closed at its last trade's price.
            s.fast.update(s.close);
            s.slow.update(s.close);
            if s.fast.ready() && s.slow.ready() {
                let diff = s.fast.value - s.slow.value;
                let sign: i8 = if diff > 0.0 {
                    1
                } else if diff < 0.0 {
                    -1
                } else {
                    0
                };
                let cooled = !s.signalled_once
                    || t.exchange_ts_ns.saturating_sub(s.last_signal_ns) >= self.cooldown_ns;
                if sign != 0 && s.last_diff_sign != 0 && sign != s.last_diff_sign && cooled {
                    let side = if sign > 0 { Side::Buy } else { Side::Sell };
                    let strength = (diff / s.slow.value * 1_000.0).clamp(-1.0, 1.0) as f32;
                    out = Some(Signal {
                        symbol_id: t.symbol_id,
                        side: side.code(),
                        regime: 0,
                        _pad: 0,
                        source_seq: seq,
                        exchange_ts_ns: t.exchange_ts_ns,
                        recv_ts_ns: t.recv_ts_ns,
                        publish_ts_ns: 0,
                        price: t.price,
                        strength,
                        threshold: 0.0,
                        feature_id: 0,
                        ml_prob_ppm: 0,
                    });
                    s.last_signal_ns = t.exchange_ts_ns;
                    s.signalled_once = true;
                }
                if sign != 0 {
                    s.last_diff_sign = sign;
                }
            }
        }
        if !s.have_bar || bar > s.bar {
            s.bar = bar;
            s.have_bar = true;
        }
        s.close = t.price;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmtrader_core::Config;

    fn tick(sym: u32, ts_ms: u64, px: f64) -> Tick {
        Tick {
            symbol_id: sym,
            exchange_ts_ns: ts_ms * 1_000_000,
            price: px,
            qty: 1.0,
            ..Tick::default()
        }
    }

    #[test]
    fn crossover_fires_once_per_cross_with_the_closing_tick_seq() {
        let cfg = Config::embedded_default().unwrap();
        let mut s = cfg.strategy.clone();
        s.ema_fast = 2;
        s.ema_slow = 4;
        s.cooldown_ms = 0;
        let mut e = EmaCross::new(&s, 1);
        let prices = [
            10.0, 10.0, 10.0, 10.0, 9.0, 8.0, 7.0, 8.0, 10.0, 12.0, 14.0, 15.0,
        ];
        let mut sigs = vec![];
        for (i, p) in prices.iter().enumerate() {
            if let Some(sig) = e.on_tick(i as u64, &tick(0, i as u64 * 1000, *p)) {
                sigs.push((sig.source_seq, sig.side().unwrap()));
            }
        }
        assert_eq!(sigs.len(), 1, "{sigs:?}");
        assert_eq!(sigs[0].1, Side::Buy);
    }
}
