//! Figures computed from a simulation: trade statistics, risk-adjusted returns and the
//! block bootstrap used by `--compare`.
//!
//! Definitions (so nobody has to guess):
//! - a trade **wins** when its net PnL (after fees, slippage and funding) is > 0;
//! - `gross_pnl` is the PnL at the trade prices the fills were based on, before any
//!   cost; `net_pnl = gross_pnl − fees − slippage + funding` (funding is signed: negative
//!   when paid);
//! - `profit_factor` = Σ net PnL of winners / |Σ net PnL of losers| (`null` when there is
//!   no loser);
//! - `max_drawdown` is the largest fall of mark-to-market equity from its running peak,
//!   evaluated after every trade print, as a fraction of the peak;
//! - `sharpe` / `sortino` use **daily** returns: the equity at each UTC day's last event
//!   over the previous day's (the first day against the starting equity). Sharpe =
//!   mean / sample standard deviation × √365; Sortino = mean / downside deviation × √365,
//!   downside deviation = √(Σ min(r, 0)² / n). √365 because crypto trades every day.
//!   `null` with fewer than two days or no dispersion. Partial first and last days count
//!   as days.
//! - `exposure` is the fraction of the replayed time span with at least one position
//!   open.

use crate::sim::{SimResult, TradeRecord};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// Statistics of a set of closed trades.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TradeStats {
    /// Closed trades.
    pub trades: u64,
    /// Trades with net PnL > 0.
    pub wins: u64,
    /// Trades with net PnL ≤ 0.
    pub losses: u64,
    /// `wins / trades` (0 without trades).
    pub win_rate: f64,
    /// Σ net PnL.
    pub net_pnl: f64,
    /// Σ PnL before costs.
    pub gross_pnl: f64,
    /// Σ fees.
    pub fees: f64,
    /// Σ funding (negative: paid).
    pub funding: f64,
    /// Σ spread and impact.
    pub slippage: f64,
    /// Winners' net / |losers' net|; `null` when there is no loser.
    pub profit_factor: Option<f64>,
    /// Mean net PnL of winners (0 without).
    pub avg_win: f64,
    /// Mean net PnL of losers (≤ 0; 0 without).
    pub avg_loss: f64,
    /// Mean net PnL per trade.
    pub expectancy: f64,
    /// Long trades.
    pub longs: u64,
    /// Short trades.
    pub shorts: u64,
    /// Mean holding time (s).
    pub avg_hold_s: f64,
}

impl TradeStats {
    /// Statistics of `trades`.
    pub fn of<'a>(trades: impl IntoIterator<Item = &'a TradeRecord>) -> TradeStats {
        let mut s = TradeStats::default();
        let (mut won, mut lost, mut hold_ms) = (0.0, 0.0, 0.0);
        for t in trades {
            s.trades += 1;
            if t.net_pnl > 0.0 {
                s.wins += 1;
                won += t.net_pnl;
            } else {
                s.losses += 1;
                lost += t.net_pnl;
            }
            s.net_pnl += t.net_pnl;
            s.gross_pnl += t.gross_pnl;
            s.fees += t.fees;
            s.funding += t.funding;
            s.slippage += t.slippage;
            if t.side == "short" {
                s.shorts += 1;
            } else {
                s.longs += 1;
            }
            hold_ms += t.exit_ts_ms.saturating_sub(t.entry_ts_ms) as f64;
        }
        if s.trades > 0 {
            let n = s.trades as f64;
            s.win_rate = s.wins as f64 / n;
            s.expectancy = s.net_pnl / n;
            s.avg_hold_s = hold_ms / n / 1_000.0;
        }
        if s.wins > 0 {
            s.avg_win = won / s.wins as f64;
        }
        if s.losses > 0 {
            s.avg_loss = lost / s.losses as f64;
        }
        s.profit_factor = if lost < 0.0 {
            Some(won / -lost)
        } else if s.trades == 0 {
            Some(0.0)
        } else {
            None
        };
        s
    }
}

/// The headline figures of one run.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Summary {
    /// Trade statistics over all symbols.
    #[serde(flatten)]
    pub stats: TradeStats,
    /// Largest drawdown from the equity peak (fraction).
    pub max_drawdown: f64,
    /// Largest drawdown in quote currency.
    pub max_drawdown_usd: f64,
    /// Annualized Sharpe ratio of daily returns.
    pub sharpe: Option<f64>,
    /// Annualized Sortino ratio of daily returns.
    pub sortino: Option<f64>,
    /// Fraction of time with a position open.
    pub exposure: f64,
    /// Trade prints replayed.
    pub ticks: u64,
    /// Book tops replayed.
    pub book_updates: u64,
    /// UTC days with data.
    pub days: u64,
    /// First event (ISO 8601).
    pub start: String,
    /// Last event (ISO 8601).
    pub end: String,
    /// Starting equity.
    pub starting_equity: f64,
    /// Final equity (every position closed).
    pub final_equity: f64,
    /// `net_pnl / starting_equity`, in percent.
    pub return_pct: f64,
    /// Signals the engine emitted.
    pub signals: u64,
    /// Signals dropped by the variant's filter.
    pub filtered: u64,
    /// Entries the risk gate approved.
    pub entries: u64,
    /// Signals the risk gate refused, by reason.
    pub refused: BTreeMap<&'static str, u64>,
    /// Funding payments charged.
    pub funding_events: u64,
    /// Exit fills rejected as the exchange rejects a reduce-only order that would open a
    /// position.
    pub reduce_only_rejected: u64,
    /// Signals vetoed inside the engine (VPIN, book imbalance).
    pub engine_vetoed: u64,
    /// HMM regime models installed.
    pub regime_refits: u64,
}

/// Daily returns from the end-of-day equities (first day against `start`).
pub fn daily_returns(start: f64, daily: &[(u64, f64)]) -> Vec<f64> {
    let mut prev = start;
    let mut out = Vec::with_capacity(daily.len());
    for &(_, e) in daily {
        out.push(if prev != 0.0 { e / prev - 1.0 } else { 0.0 });
        prev = e;
    }
    out
}

/// Annualized Sharpe and Sortino of daily returns (see the module doc).
pub fn sharpe_sortino(r: &[f64]) -> (Option<f64>, Option<f64>) {
    let n = r.len();
    if n < 2 {
        return (None, None);
    }
    let ann = 365f64.sqrt();
    let mean = r.iter().sum::<f64>() / n as f64;
    let var = r.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let down = (r.iter().map(|x| x.min(0.0).powi(2)).sum::<f64>() / n as f64).sqrt();
    let sd = var.sqrt();
    let sharpe = (sd > 1e-15).then(|| mean / sd * ann);
    let sortino = (down > 1e-15).then(|| mean / down * ann);
    (sharpe, sortino)
}

/// The summary of a simulation.
pub fn summarize(r: &SimResult) -> Summary {
    let stats = TradeStats::of(&r.trades);
    let rets = daily_returns(r.starting_equity, &r.daily_equity);
    let (sharpe, sortino) = sharpe_sortino(&rets);
    Summary {
        max_drawdown: r.max_drawdown,
        max_drawdown_usd: r.max_drawdown_usd,
        sharpe,
        sortino,
        exposure: if r.span_ns > 0 {
            r.exposure_ns as f64 / r.span_ns as f64
        } else {
            0.0
        },
        ticks: r.ticks,
        book_updates: r.book_updates,
        days: r.daily_equity.len() as u64,
        start: crate::util::iso_utc(r.first_ts_ns / 1_000_000),
        end: crate::util::iso_utc(r.last_ts_ns / 1_000_000),
        starting_equity: r.starting_equity,
        final_equity: r.final_equity,
        return_pct: if r.starting_equity > 0.0 {
            stats.net_pnl / r.starting_equity * 100.0
        } else {
            0.0
        },
        signals: r.signals,
        filtered: r.filtered,
        entries: r.entries,
        refused: r.refused.clone(),
        funding_events: r.funding_events,
        reduce_only_rejected: r.reduce_only_rejected,
        engine_vetoed: r.engine.vetoed,
        regime_refits: r.engine.refits,
        stats,
    }
}

/// Per-day PnL (equity change) keyed by day number.
pub fn daily_pnl(start: f64, daily: &[(u64, f64)]) -> BTreeMap<u64, f64> {
    let mut prev = start;
    let mut out = BTreeMap::new();
    for &(d, e) in daily {
        *out.entry(d).or_insert(0.0) += e - prev;
        prev = e;
    }
    out
}

/// Block length of the moving-block bootstrap for `n` days: ⌈n^(1/3)⌉ (the usual rate
/// for the variance of a sum), at least 1.
pub fn block_length(n: usize) -> usize {
    ((n as f64).cbrt().ceil() as usize).max(1)
}

/// 95 % percentile interval of `Σ diffs` under a moving-block bootstrap: `reps`
/// resamples, each `n` values built from blocks of `block` consecutive days with
/// uniformly drawn starts (seeded, so deterministic). Days are resampled in blocks
/// because daily PnL is autocorrelated (positions and regimes span days). `None` with
/// fewer than two days.
pub fn block_bootstrap_ci(diffs: &[f64], block: usize, reps: usize, seed: u64) -> Option<[f64; 2]> {
    let n = diffs.len();
    if n < 2 || reps == 0 {
        return None;
    }
    let b = block.clamp(1, n);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sums = Vec::with_capacity(reps);
    for _ in 0..reps {
        let mut sum = 0.0;
        let mut taken = 0;
        while taken < n {
            let start = rng.gen_range(0..=n - b);
            for v in diffs.iter().skip(start).take(b.min(n - taken)) {
                sum += v;
            }
            taken += b;
        }
        sums.push(sum);
    }
    sums.sort_by(f64::total_cmp);
    let q = |p: f64| sums[((reps - 1) as f64 * p).round() as usize];
    Some([q(0.025), q(0.975)])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(net: f64, side: &'static str) -> TradeRecord {
        TradeRecord {
            symbol: "X".into(),
            side,
            entry_time: String::new(),
            exit_time: String::new(),
            entry_ts_ms: 0,
            exit_ts_ms: 60_000,
            entry_px: 1.0,
            exit_px: 1.0,
            qty: 1.0,
            gross_pnl: net + 1.0,
            fees: 1.0,
            slippage: 0.0,
            funding: 0.0,
            net_pnl: net,
            exit_reason: "time",
            regime: "unknown",
            symbol_id: 0,
            regime_code: 0,
        }
    }

    #[test]
    fn trade_stats_by_hand() {
        let v = [
            t(3.0, "long"),
            t(-1.0, "short"),
            t(-2.0, "long"),
            t(5.0, "long"),
        ];
        let s = TradeStats::of(&v);
        assert_eq!(
            (s.trades, s.wins, s.losses, s.longs, s.shorts),
            (4, 2, 2, 3, 1)
        );
        assert_eq!(s.win_rate, 0.5);
        assert_eq!(s.net_pnl, 5.0);
        assert_eq!(s.gross_pnl, 9.0);
        assert_eq!(s.profit_factor, Some(8.0 / 3.0));
        assert_eq!(s.avg_win, 4.0);
        assert_eq!(s.avg_loss, -1.5);
        assert_eq!(s.avg_hold_s, 60.0);
        assert_eq!(TradeStats::of(&[t(1.0, "long")]).profit_factor, None);
        assert_eq!(TradeStats::of(&[]).profit_factor, Some(0.0));
    }

    #[test]
    fn sharpe_and_sortino_by_hand() {
        let r = [0.01, -0.01, 0.02, 0.0];
        let (sh, so) = sharpe_sortino(&r);
        let mean = 0.005;
        let sd = ((0.005f64.powi(2) + 0.015f64.powi(2) + 0.015f64.powi(2) + 0.005f64.powi(2))
            / 3.0)
            .sqrt();
        let down = (0.0001f64 / 4.0).sqrt();
        assert!((sh.unwrap() - mean / sd * 365f64.sqrt()).abs() < 1e-12);
        assert!((so.unwrap() - mean / down * 365f64.sqrt()).abs() < 1e-12);
        assert_eq!(sharpe_sortino(&[0.01]), (None, None));
        let rets = daily_returns(100.0, &[(1, 110.0), (2, 99.0)]);
        assert!((rets[0] - 0.1).abs() < 1e-12 && (rets[1] + 0.1).abs() < 1e-12);
    }

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_mean_effect() {
        let diffs: Vec<f64> = (0..60)
            .map(|i| 1.0 + ((i * 37) % 11) as f64 - 5.0)
            .collect();
        let total: f64 = diffs.iter().sum();
        let a = block_bootstrap_ci(&diffs, block_length(60), 2_000, 7).unwrap();
        let b = block_bootstrap_ci(&diffs, block_length(60), 2_000, 7).unwrap();
        assert_eq!(a, b);
        assert!(a[0] < total && total < a[1], "{a:?} vs {total}");
        // All-zero differences: a degenerate interval at zero.
        assert_eq!(block_bootstrap_ci(&[0.0; 10], 3, 100, 1), Some([0.0, 0.0]));
        assert_eq!(block_bootstrap_ci(&[1.0], 3, 100, 1), None);
    }
}
