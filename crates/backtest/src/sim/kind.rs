//! Trend or reversion: which components pushed a signal, and whether the regime agrees
//! (the backtest's regime variant).

use shmtrader_core::Side;
use shmtrader_strategy::{strength, Features, Regime, SignalInputs, SignalParams};

/// Whether a signal follows the trend or bets on reversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    /// The trend components (EMA spread, MACD histogram) carry more of the vote.
    Trend,
    /// The mean-reversion components (RSI, Bollinger %B) carry more of the vote.
    Reversion,
}

/// Classifies a signal by which components pushed it: the engine's strength is a
/// weighted mean of two trend votes (EMA, MACD) and two mean-reversion votes (RSI,
/// Bollinger). With `d` the signal's direction, it is a trend signal when
/// `d·(w_ema·ema + w_macd·macd) ≥ d·(w_rsi·rsi + w_bb·bb)`, else a reversion signal.
/// Computed from the indicator values the engine saw at the signal's tick.
pub fn signal_kind(p: &SignalParams, f: &Features, side: Side) -> SignalKind {
    let x = SignalInputs {
        price: f.ind.price,
        ema_fast: f.ind.ema_fast,
        ema_slow: f.ind.ema_slow,
        rsi: f.ind.rsi,
        macd_hist: f.ind.macd.map(|m| m.hist),
        bb_pct_b: f.ind.bb.map(|b| b.pct_b),
    };
    let c = strength(p, &x).components;
    let w = p.weights;
    let d = side.sign();
    let trend = d * (w[0] * c[0] + w[2] * c[2]);
    let reversion = d * (w[1] * c[1] + w[3] * c[3]);
    if trend >= reversion {
        SignalKind::Trend
    } else {
        SignalKind::Reversion
    }
}

/// True when the regime agrees with the kind of signal (see [`SignalFilter::Regime`]).
pub fn regime_agrees(kind: SignalKind, regime: Regime) -> bool {
    matches!(
        (kind, regime),
        (
            SignalKind::Trend,
            Regime::TrendingLowVol | Regime::TrendingHighVol
        ) | (
            SignalKind::Reversion,
            Regime::RangingLowVol | Regime::RangingHighVol
        )
    )
}
