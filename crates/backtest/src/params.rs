//! Parameters of the live decision code, derived from `shmtrader_core::Config` exactly as
//! the live stages derive them.
//!
//! The engine mapping is `shmtrader_strategy::config`, shared with the analytics stage.
//! `risk_params` is `RiskParams::from_config`, the executor's mapping; `symbol_rules` is
//! the instrument catalog the simulated venue uses.

use crate::error::{BacktestError, Result};
use shmtrader_core::instrument::{catalog, Instrument};
use shmtrader_core::Config;
use shmtrader_indicators::IndicatorParams;
use shmtrader_risk::RiskParams;
use shmtrader_strategy::EngineParams;

/// Indicator periods from `[indicators]` (the analytics stage's mapping).
pub fn indicator_params(cfg: &Config) -> IndicatorParams {
    shmtrader_strategy::config::indicator_params(cfg)
}

/// The engine's parameters (the analytics stage's mapping).
pub fn engine_params(cfg: &Config) -> Result<EngineParams> {
    shmtrader_strategy::config::engine_params(cfg).map_err(|e| BacktestError::Param(e.to_string()))
}

/// The online ML filter's settings from `[ml]` (the analytics stage's mapping), with
/// refits inline so runs are deterministic.
pub fn ml_filter_params(cfg: &Config) -> shmtrader_ml::FilterParams {
    shmtrader_ml::FilterParams::from_config(&cfg.ml, shmtrader_ml::RefitMode::Inline)
}

/// Risk parameters: the one mapping the executor uses too.
pub fn risk_params(cfg: &Config) -> RiskParams {
    RiskParams::from_config(cfg)
}

/// Exchange rules for each symbol: the catalog's real Binance filters (the same ones the
/// mock exchange publishes), or the generic rules for symbols it does not list (tick
/// 0.01, step 0.001, min notional 5 USDT — fine for sizing, which is all the backtest
/// uses them for: orders are market orders, so the tick never binds).
pub fn symbol_rules(symbols: &[String]) -> Vec<Instrument> {
    symbols
        .iter()
        .map(|s| catalog::instrument_or_generic(s))
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
        let rules = symbol_rules(&["BTCUSDT".into(), "XMRUSDT".into()]);
        assert_eq!(rules[0].min_notional_f64(), 100.0);
        assert_eq!(rules[1].min_notional_f64(), 5.0);
    }
}
