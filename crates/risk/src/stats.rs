//! Trading statistics: a running aggregator and a plain `Copy` snapshot of it.

/// Snapshot of trading statistics; cheap to copy into status output or a report.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TradingStats {
    /// Closed trades.
    pub trades: u64,
    /// Trades with net PnL > 0.
    pub wins: u64,
    /// Trades with net PnL <= 0.
    pub losses: u64,
    /// `wins / trades` (0 without trades).
    pub win_rate: f64,
    /// Sum of net PnL of winning trades.
    pub gross_profit: f64,
    /// Sum of net PnL of losing trades (<= 0).
    pub gross_loss: f64,
    /// `gross_profit / |gross_loss|`; infinite with profit and no loss, 0 without trades.
    pub profit_factor: f64,
    /// Mean net PnL of winners.
    pub avg_win: f64,
    /// Mean net PnL of losers (<= 0).
    pub avg_loss: f64,
    /// Net PnL of closed trades (after fees and funding).
    pub closed_trades_pnl: f64,
    /// Gross realized PnL of all fills, including partial closes of open positions.
    pub realized_pnl: f64,
    /// Fees paid.
    pub fees: f64,
    /// Funding received (negative: paid).
    pub funding: f64,
    /// Mark-to-market PnL of open positions.
    pub unrealized_pnl: f64,
    /// Current equity.
    pub equity: f64,
    /// Highest equity seen.
    pub peak_equity: f64,
    /// Largest peak-to-trough drop of the equity curve, as a fraction of the peak.
    pub max_drawdown: f64,
    /// Largest peak-to-trough drop in quote currency.
    pub max_drawdown_usd: f64,
    /// Current drawdown from the peak (fraction).
    pub drawdown: f64,
    /// Sum of absolute notionals of open positions.
    pub gross_exposure_usd: f64,
    /// Signed sum of notionals (long − short).
    pub net_exposure_usd: f64,
    /// `gross_exposure / equity` (effective leverage).
    pub exposure_ratio: f64,
    /// Fraction of observed time with at least one open position.
    pub time_in_market: f64,
    /// Open positions.
    pub open_positions: u32,
}

/// Accumulates closed trades and an equity curve.
#[derive(Debug, Clone, Copy, Default)]
pub struct StatsAggregator {
    trades: u64,
    wins: u64,
    gross_profit: f64,
    gross_loss: f64,
    peak: f64,
    max_dd: f64,
    max_dd_usd: f64,
    first_ts: Option<u64>,
    last_ts: u64,
    last_in_market: bool,
    in_market_ns: u64,
}

impl StatsAggregator {
    /// Empty aggregator.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one closed trade by its net PnL.
    pub fn record_trade(&mut self, net_pnl: f64) {
        self.trades += 1;
        if net_pnl > 0.0 {
            self.wins += 1;
            self.gross_profit += net_pnl;
        } else {
            self.gross_loss += net_pnl;
        }
    }

    /// Records one point of the equity curve; `in_market` says whether any position was
    /// open since the previous point (for time in market).
    pub fn record_equity(&mut self, ts_ns: u64, equity: f64, in_market: bool) {
        if !equity.is_finite() {
            return;
        }
        match self.first_ts {
            None => self.first_ts = Some(ts_ns),
            Some(_) => {
                if self.last_in_market && ts_ns > self.last_ts {
                    self.in_market_ns += ts_ns - self.last_ts;
                }
            }
        }
        if ts_ns >= self.last_ts {
            self.last_ts = ts_ns;
        }
        self.last_in_market = in_market;
        if equity > self.peak {
            self.peak = equity;
        }
        let dd_usd = self.peak - equity;
        if dd_usd > self.max_dd_usd {
            self.max_dd_usd = dd_usd;
        }
        if self.peak > 0.0 {
            let dd = dd_usd / self.peak;
            if dd > self.max_dd {
                self.max_dd = dd;
            }
        }
    }

    /// Highest equity recorded.
    pub fn peak_equity(&self) -> f64 {
        self.peak
    }

    /// Snapshot; the live fields (equity, PnL, exposure, open positions) are left for the
    /// caller to fill, the trade and curve statistics are computed here.
    pub fn snapshot(&self) -> TradingStats {
        let losses = self.trades - self.wins;
        let pf = if self.gross_loss < 0.0 {
            self.gross_profit / -self.gross_loss
        } else if self.gross_profit > 0.0 {
            f64::INFINITY
        } else {
            0.0
        };
        let span = self
            .first_ts
            .map(|f| self.last_ts.saturating_sub(f))
            .unwrap_or(0);
        TradingStats {
            trades: self.trades,
            wins: self.wins,
            losses,
            win_rate: if self.trades > 0 {
                self.wins as f64 / self.trades as f64
            } else {
                0.0
            },
            gross_profit: self.gross_profit,
            gross_loss: self.gross_loss,
            profit_factor: pf,
            avg_win: if self.wins > 0 {
                self.gross_profit / self.wins as f64
            } else {
                0.0
            },
            avg_loss: if losses > 0 {
                self.gross_loss / losses as f64
            } else {
                0.0
            },
            closed_trades_pnl: self.gross_profit + self.gross_loss,
            peak_equity: self.peak,
            max_drawdown: self.max_dd,
            max_drawdown_usd: self.max_dd_usd,
            time_in_market: if span > 0 {
                self.in_market_ns as f64 / span as f64
            } else {
                0.0
            },
            ..TradingStats::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trade_statistics_by_hand() {
        let mut a = StatsAggregator::new();
        for pnl in [10.0, -5.0, 20.0, -5.0, 0.0] {
            a.record_trade(pnl);
        }
        let s = a.snapshot();
        assert_eq!(s.trades, 5);
        assert_eq!(s.wins, 2);
        assert_eq!(s.losses, 3, "a scratch trade counts as a loss");
        assert!((s.win_rate - 0.4).abs() < 1e-12);
        assert!((s.profit_factor - 3.0).abs() < 1e-12);
        assert!((s.avg_win - 15.0).abs() < 1e-12);
        assert!((s.avg_loss + 10.0 / 3.0).abs() < 1e-12);
        assert!((s.closed_trades_pnl - 20.0).abs() < 1e-12);
        let mut only_wins = StatsAggregator::new();
        only_wins.record_trade(1.0);
        assert!(only_wins.snapshot().profit_factor.is_infinite());
        assert_eq!(StatsAggregator::new().snapshot().profit_factor, 0.0);
    }

    #[test]
    fn max_drawdown_and_time_in_market_from_the_curve() {
        let mut a = StatsAggregator::new();
        // 100 -> 120 -> 90 (dd 25 %) -> 130 -> 117 (dd 10 %)
        let curve = [
            (0, 100.0, false),
            (10, 120.0, true),
            (20, 90.0, true),
            (30, 130.0, false),
            (40, 117.0, false),
        ];
        for (t, e, m) in curve {
            a.record_equity(t, e, m);
        }
        let s = a.snapshot();
        assert!((s.max_drawdown - 0.25).abs() < 1e-12);
        assert!((s.max_drawdown_usd - 30.0).abs() < 1e-12);
        assert_eq!(s.peak_equity, 130.0);
        // in market from t=10 to t=30 out of 40
        assert!((s.time_in_market - 0.5).abs() < 1e-12);
    }
}
