//! The mapping from `shmtrader_core::Config` to the engine's parameters, in one place so
//! the analytics process and the backtest run with exactly the same values.

use crate::error::{Result, StrategyError};
use crate::{AdaptiveParams, EngineParams, MicroParams, RegimeParams, SignalParams};
use shmtrader_core::Config;
use shmtrader_indicators::IndicatorParams;

/// Indicator periods from `[indicators]`.
pub fn indicator_params(cfg: &Config) -> IndicatorParams {
    let i = &cfg.indicators;
    IndicatorParams {
        ema_fast: i.ema_fast as usize,
        ema_slow: i.ema_slow as usize,
        rsi: i.rsi as usize,
        macd_fast: i.macd_fast as usize,
        macd_slow: i.macd_slow as usize,
        macd_signal: i.macd_signal as usize,
        bb_period: i.bb_period as usize,
        bb_k: i.bb_k,
        atr: i.atr as usize,
        rv: i.rv as usize,
        vwap_anchor_ms: i64::try_from(i.vwap_anchor_ms).unwrap_or(i64::MAX),
        bar_interval_ms: i64::try_from(i.bar_interval_ms).unwrap_or(i64::MAX),
    }
}

/// The engine's parameters from `[indicators]` and `[strategy]`.
pub fn engine_params(cfg: &Config) -> Result<EngineParams> {
    let st = &cfg.strategy;
    let signal = SignalParams {
        threshold: st.threshold,
        min_confirmations: st.min_confirmations,
        confirm_level: st.confirm_level,
        price_change_threshold: st.price_change_threshold,
        cooldown_ns: st.cooldown_ms.saturating_mul(1_000_000),
        trading_window: st
            .trading_window()
            .map_err(|e| StrategyError::Param(e.to_string()))?,
        ..SignalParams::default()
    };
    let adaptive = AdaptiveParams {
        base: st.threshold,
        min: st.threshold_min,
        max: st.threshold_max,
        target_win_rate: st.target_win_rate,
        window: st.adaptive_window as usize,
        max_step: st.adaptive_max_step,
        regime_multiplier: regime_multiplier(&st.regime_threshold_mult),
        ..AdaptiveParams::default()
    };
    let regime = RegimeParams {
        states: st.regime_states as usize,
        window_bars: st.regime_window_bars as usize,
        min_bars: (st.regime_window_bars as usize / 6).max(10 * st.regime_states as usize),
        refit_every_bars: u64::from(st.regime_refit_every_bars),
        er_bars: st.er_bars as usize,
        er_trending: st.er_trending,
        hold_bars: st.regime_hold_bars,
        ..RegimeParams::default()
    };
    let micro = MicroParams {
        svi_trades: st.svi_trades as usize,
        vpin_max: st.vpin_max,
        use_book: st.use_book,
        book_veto: st.book_veto,
        ..MicroParams::default()
    };
    Ok(EngineParams {
        indicators: indicator_params(cfg),
        signal,
        adaptive_enabled: st.adaptive,
        adaptive,
        regime,
        micro,
    })
}

/// `strategy.regime_threshold_mult` by regime code (1..=4, see `Regime::code`); unknown
/// and unused codes keep 1.
fn regime_multiplier(m: &[f64; 4]) -> [f64; 8] {
    use crate::regime::Regime;
    let mut out = [1.0; 8];
    for (r, v) in [
        Regime::TrendingLowVol,
        Regime::TrendingHighVol,
        Regime::RangingLowVol,
        Regime::RangingHighVol,
    ]
    .iter()
    .zip(m)
    {
        out[r.code() as usize] = *v;
    }
    out
}
