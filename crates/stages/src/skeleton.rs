//! Walking-skeleton decision logic: an EMA crossover on bar closes and a paper book.
//!
//! Pure and deterministic (time comes from the records), so the end-to-end test can
//! recompute from the ticks ring exactly which signals analytics must have published
//! and prove that a restart lost none and repeated none. The analytics, risk and
//! executor issues replace these insides; the pipeline around them stays.

use shmtrader_core::config::{RiskConfig, StrategyConfig};
use shmtrader_core::{ExitReason, Outcome, Side, Signal, Tick, MAX_SYMBOLS};

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

#[derive(Debug, Clone, Copy)]
struct Pos {
    side: Side,
    qty: f64,
    entry_px: f64,
    entry_ts: u64,
    signal_seq: u64,
    entry_fee: f64,
}

/// Trading figures the executor publishes (indexes into the control block's array).
pub mod fig {
    /// Closed trades.
    pub const TRADES: usize = 0;
    /// Winning trades.
    pub const WINS: usize = 1;
    /// Realized PnL net of fees.
    pub const REALIZED: usize = 2;
    /// Unrealized PnL at the last prices.
    pub const UNREALIZED: usize = 3;
    /// Fees paid.
    pub const FEES: usize = 4;
    /// Gross profit of winners.
    pub const GROSS_WIN: usize = 5;
    /// Gross loss of losers (positive number).
    pub const GROSS_LOSS: usize = 6;
    /// Maximum drawdown of realized equity.
    pub const MAX_DRAWDOWN: usize = 7;
    /// Open positions.
    pub const OPEN: usize = 8;
    /// Gross notional of open positions.
    pub const EXPOSURE: usize = 9;
    /// Orders sent.
    pub const ORDERS: usize = 10;
}

/// Paper positions with fixed-percentage stops, fees and slippage.
#[derive(Debug, Clone)]
pub struct PaperBook {
    risk: RiskConfig,
    pos: Vec<Option<Pos>>,
    last_px: Vec<f64>,
    figures: [f64; 32],
    peak: f64,
}

impl PaperBook {
    /// From the risk config.
    pub fn new(risk: &RiskConfig, n_symbols: usize) -> PaperBook {
        let n = n_symbols.min(MAX_SYMBOLS);
        PaperBook {
            risk: risk.clone(),
            pos: vec![None; n],
            last_px: vec![0.0; n],
            figures: [0.0; 32],
            peak: 0.0,
        }
    }

    /// Current figures (see [`fig`]).
    pub fn figures(&self) -> &[f64; 32] {
        &self.figures
    }

    fn open_count(&self) -> usize {
        self.pos.iter().filter(|p| p.is_some()).count()
    }

    /// Acts on a signal at time `now_ns`; returns the outcome of a reversed position.
    pub fn on_signal(&mut self, seq: u64, s: &Signal, now_ns: u64) -> Option<Outcome> {
        let side = s.side()?;
        let i = s.symbol_id as usize;
        let px = match self.last_px.get(i) {
            Some(&p) if p > 0.0 => p,
            _ => s.price,
        };
        let mut closed = None;
        match self.pos.get(i).copied().flatten() {
            Some(p) if p.side == side => return None,
            Some(_) => closed = self.close(i, px, now_ns, ExitReason::Reverse),
            None => {}
        }
        if self.open_count() >= self.risk.max_concurrent_positions as usize
            || px.is_nan()
            || px <= 0.0
        {
            return closed;
        }
        let fill = px * (1.0 + side.sign() * self.risk.slippage);
        let qty = self.risk.base_position_usd / fill;
        let fee = qty * fill * self.risk.taker_fee;
        if let Some(slot) = self.pos.get_mut(i) {
            *slot = Some(Pos {
                side,
                qty,
                entry_px: fill,
                entry_ts: now_ns,
                signal_seq: seq,
                entry_fee: fee,
            });
            self.figures[fig::ORDERS] += 1.0;
            self.figures[fig::FEES] += fee;
        }
        self.refresh();
        closed
    }

    /// Marks a trade price; runs exits on every tick.
    #[inline]
    pub fn on_tick(&mut self, t: &Tick) -> Option<Outcome> {
        let i = t.symbol_id as usize;
        let lp = self.last_px.get_mut(i)?;
        *lp = t.price;
        let p = self.pos.get(i).copied().flatten()?;
        let ret = p.side.sign() * (t.price - p.entry_px) / p.entry_px;
        let held = t.exchange_ts_ns.saturating_sub(p.entry_ts);
        let reason = if ret <= -self.risk.stop_loss_pct {
            ExitReason::Stop
        } else if ret >= self.risk.take_profit_pct {
            ExitReason::TakeProfit
        } else if held >= self.risk.max_hold_ms * 1_000_000 {
            ExitReason::Time
        } else {
            return None;
        };
        self.close(i, t.price, t.exchange_ts_ns, reason)
    }

    fn close(&mut self, i: usize, px: f64, now_ns: u64, reason: ExitReason) -> Option<Outcome> {
        let p = self.pos.get_mut(i)?.take()?;
        let fill = px * (1.0 - p.side.sign() * self.risk.slippage);
        let exit_fee = p.qty * fill * self.risk.taker_fee;
        let gross = p.side.sign() * (fill - p.entry_px) * p.qty;
        let fees = p.entry_fee + exit_fee;
        let net = gross - fees;
        let f = &mut self.figures;
        f[fig::TRADES] += 1.0;
        f[fig::ORDERS] += 1.0;
        f[fig::FEES] += exit_fee;
        f[fig::REALIZED] += net;
        if net > 0.0 {
            f[fig::WINS] += 1.0;
            f[fig::GROSS_WIN] += net;
        } else {
            f[fig::GROSS_LOSS] += -net;
        }
        self.peak = self.peak.max(f[fig::REALIZED]);
        f[fig::MAX_DRAWDOWN] = f[fig::MAX_DRAWDOWN].max(self.peak - f[fig::REALIZED]);
        self.refresh();
        Some(Outcome {
            symbol_id: i as u32,
            side: p.side.code(),
            exit_reason: reason.code(),
            _pad: 0,
            signal_seq: p.signal_seq,
            entry_ts_ns: p.entry_ts,
            exit_ts_ns: now_ns,
            entry_px: p.entry_px,
            exit_px: fill,
            net_pnl: net,
            fees,
        })
    }

    /// Recomputes unrealized PnL, exposure and the open count.
    pub fn refresh(&mut self) {
        let (mut upnl, mut expo, mut open) = (0.0, 0.0, 0.0);
        for (p, &px) in self.pos.iter().zip(&self.last_px) {
            if let Some(p) = p {
                let mark = if px > 0.0 { px } else { p.entry_px };
                upnl += p.side.sign() * (mark - p.entry_px) * p.qty;
                expo += mark * p.qty;
                open += 1.0;
            }
        }
        self.figures[fig::UNREALIZED] = upnl;
        self.figures[fig::EXPOSURE] = expo;
        self.figures[fig::OPEN] = open;
    }

    /// Open positions as (symbol id, side, qty, entry price).
    pub fn positions(&self) -> impl Iterator<Item = (usize, Side, f64, f64)> + '_ {
        self.pos
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p.side, p.qty, p.entry_px)))
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

    #[test]
    fn paper_book_charges_fees_and_slippage_and_stops_out() {
        let cfg = Config::embedded_default().unwrap();
        let mut b = PaperBook::new(&cfg.risk, 1);
        b.on_tick(&tick(0, 0, 100.0));
        let sig = Signal {
            symbol_id: 0,
            side: Side::Buy.code(),
            price: 100.0,
            ..Signal::default()
        };
        assert!(b.on_signal(1, &sig, 0).is_none());
        let out = b.on_tick(&tick(0, 1000, 99.0)).expect("stop");
        assert_eq!(
            ExitReason::from_code(out.exit_reason),
            Some(ExitReason::Stop)
        );
        let entry = 100.0 * (1.0 + cfg.risk.slippage);
        assert!((out.entry_px - entry).abs() < 1e-9);
        assert!(out.net_pnl < 0.0 && out.fees > 0.0);
        assert_eq!(b.figures()[fig::TRADES], 1.0);
    }
}
