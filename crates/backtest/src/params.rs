//! Parameters of the live decision code, derived from `shmtrader_core::Config` exactly as
//! the live stages derive them.
//!
//! These are copies of `shmtrader_stages::analytics::{indicator_params, engine_params}`,
//! `shmtrader_stages::executor::risk_params` and `shmtrader_stages::exec_core::paper_rules`:
//! the backtest must not depend on the stages crate (it pulls in shared memory and the
//! process shells), yet must run with the very parameters the live processes use. The
//! copies are kept line for line; the right fix is to move the three mappings into the
//! logic crates (`EngineParams::from_config` in `shmtrader-strategy`,
//! `RiskParams::from_config` in `shmtrader-risk`) and call them from both places — until
//! then `tests::mapping_matches_the_live_defaults` pins the values.

use crate::error::{BacktestError, Result};
use shmtrader_core::Config;
use shmtrader_indicators::IndicatorParams;
use shmtrader_risk::{RiskParams, SymbolRules};
use shmtrader_strategy::{AdaptiveParams, EngineParams, MicroParams, RegimeParams, SignalParams};

/// Indicator periods from `[indicators]` (same as the analytics stage).
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

/// The strategy engine's parameters from `[indicators]` and `[strategy]` (same as the
/// analytics stage).
pub fn engine_params(cfg: &Config) -> Result<EngineParams> {
    let st = &cfg.strategy;
    let signal = SignalParams {
        threshold: st.threshold,
        min_confirmations: st.min_confirmations,
        confirm_level: st.confirm_level,
        price_change_threshold: st.price_change_threshold,
        cooldown_ns: st.cooldown_ms.saturating_mul(1_000_000),
        trading_window: st.trading_window()?,
        ..SignalParams::default()
    };
    let adaptive = AdaptiveParams {
        base: st.threshold,
        min: st.threshold_min,
        max: st.threshold_max,
        target_win_rate: st.target_win_rate,
        window: st.adaptive_window as usize,
        max_step: st.adaptive_max_step,
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

/// Risk parameters from `[risk]`, with the bar interval shared with the strategy (same
/// as the executor stage).
pub fn risk_params(cfg: &Config) -> RiskParams {
    let mut p = RiskParams::from_core(&cfg.risk);
    p.bar_interval_ns = cfg.indicators.bar_interval_ms.saturating_mul(1_000_000);
    p
}

/// Exchange rules for each symbol: the mock exchange's published filters (real Binance
/// values), or the executor's conservative defaults for symbols it does not list
/// (tick 0.01, step 0.001, min notional 5 USDT — fine for sizing, which is all the
/// backtest uses them for: orders are market orders, so the tick never binds).
pub fn symbol_rules(symbols: &[String]) -> Result<Vec<SymbolRules>> {
    use shmtrader_mockex::spec::{find_spec, fmt_units};
    symbols
        .iter()
        .map(|s| {
            let r = match find_spec(s) {
                Some(sp) => SymbolRules::from_strs(
                    &fmt_units(sp.tick, sp.price_dp),
                    &fmt_units(sp.step, sp.qty_dp),
                    &fmt_units(sp.min_qty, sp.qty_dp),
                    &format!("{}", sp.min_notional),
                ),
                None => SymbolRules::from_strs("0.01", "0.001", "0.001", "5"),
            };
            r.map_err(|e| BacktestError::Param(format!("symbol rules for {s}: {e}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_matches_the_live_defaults() {
        let cfg = Config::embedded_default().unwrap();
        let e = engine_params(&cfg).unwrap();
        assert_eq!(e.indicators, IndicatorParams::default());
        assert_eq!(e.signal.threshold, cfg.strategy.threshold);
        assert_eq!(e.signal.cooldown_ns, cfg.strategy.cooldown_ms * 1_000_000);
        assert_eq!(e.adaptive_enabled, cfg.strategy.adaptive);
        assert_eq!(e.regime.min_bars, 120);
        let r = risk_params(&cfg);
        assert_eq!(r.bar_interval_ns, 60_000_000_000);
        assert_eq!(r.taker_fee, cfg.risk.taker_fee);
        r.validate().unwrap();
        let rules = symbol_rules(&["BTCUSDT".into(), "XMRUSDT".into()]).unwrap();
        assert_eq!(rules[0].min_notional_f64(), 100.0);
        assert_eq!(rules[1].min_notional_f64(), 5.0);
    }
}
