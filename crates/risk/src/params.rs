//! Every knob of sizing, the risk gate, exits and paper fills, in one validated struct.

use crate::correlation::MAX_CORR_WINDOW;
use crate::error::{Result, RiskError};
use shmtrader_core::config::RiskConfig;

/// How market impact grows with order size in paper fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImpactModel {
    /// `impact = coeff × (notional / typical_notional)`: conservative for large orders.
    Linear,
    /// `impact = coeff × sqrt(notional / typical_notional)`: the empirical "square-root
    /// law" of market impact; the default.
    SquareRoot,
}

/// Risk, sizing, exit and paper-fill parameters.
///
/// All fractions are plain fractions (0.01 = 1 %), money is in quote currency (USDT),
/// times are nanoseconds. Volatility is measured as ATR over `atr_period` bars of
/// `bar_interval_ns` divided by price, so `target_volatility` is "per bar" too.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RiskParams {
    // ---- account ----
    /// Equity the engine starts from (the wallet balance at start).
    pub starting_equity: f64,

    // ---- sizing ----
    /// Notional per position before volatility and drawdown scaling.
    pub base_position_usd: f64,
    /// Leverage set on the exchange; margin used = notional / leverage.
    pub leverage: u32,
    /// Per-bar ATR/price the base size is calibrated for; size ∝ target / (ATR/price).
    pub target_volatility: f64,
    /// Lower clamp of the volatility scale.
    pub min_vol_scale: f64,
    /// Upper clamp of the volatility scale.
    pub max_vol_scale: f64,
    /// ATR period (bars, Wilder smoothing).
    pub atr_period: u32,
    /// Bar length for ATR and correlation returns.
    pub bar_interval_ns: u64,
    /// When the rounded size is below the exchange minimum: `false` refuses the entry
    /// (default); `true` raises it to the smallest size meeting both `min_qty` and
    /// `min_notional`, provided that still fits the per-symbol notional cap and margin.
    pub bump_to_min_qty: bool,

    // ---- gate ----
    /// Open positions plus entries awaiting their fill.
    pub max_concurrent_positions: u32,
    /// Maximum notional held in one symbol; larger sizes are cut to it.
    pub max_symbol_notional_usd: f64,
    /// Allow adding to a position in the same direction.
    pub allow_pyramiding: bool,
    /// Allow an opposite signal to close and reverse a position in one order.
    pub allow_reverse: bool,
    /// Bars of returns in the correlation window.
    pub correlation_window: u32,
    /// Fewer common bars than this and the correlation filter passes (not enough data).
    pub correlation_min_samples: u32,
    /// Refuse when the direction-adjusted correlation exceeds this.
    pub correlation_threshold: f64,
    /// Drawdown from the equity peak at which size reduction starts.
    pub drawdown_scale_start: f64,
    /// Size multiplier reached at `max_drawdown`.
    pub drawdown_min_scale: f64,
    /// Drawdown from the peak at which new entries halt.
    pub max_drawdown: f64,
    /// Loss since UTC midnight, as a fraction of equity at midnight, that halts entries.
    pub daily_loss_limit: f64,

    // ---- exits ----
    /// Stop distance in ATRs at entry.
    pub stop_atr_mult: f64,
    /// Take-profit distance in ATRs at entry (0 disables).
    pub take_profit_atr_mult: f64,
    /// Favourable move in ATRs that arms the trailing stop (0 disables trailing).
    pub trail_activation_atr_mult: f64,
    /// Trailing distance from the best price, in ATRs.
    pub trail_distance_atr_mult: f64,
    /// Maximum holding time (0 disables the time stop).
    pub max_hold_ns: u64,

    // ---- paper fills ----
    /// Taker fee rate.
    pub taker_fee: f64,
    /// Maker fee rate.
    pub maker_fee: f64,
    /// Half-spread used when no book top is known (basis points of price).
    pub default_half_spread_bps: f64,
    /// Impact coefficient (basis points at `impact_typical_notional_usd`).
    pub impact_coeff_bps: f64,
    /// Order notional at which impact equals `impact_coeff_bps`.
    pub impact_typical_notional_usd: f64,
    /// Impact shape.
    pub impact_model: ImpactModel,
    /// Decision-to-fill latency of paper orders.
    pub latency_ns: u64,
}

impl Default for RiskParams {
    fn default() -> Self {
        RiskParams {
            starting_equity: 10_000.0,
            base_position_usd: 1_000.0,
            leverage: 5,
            target_volatility: 0.001,
            min_vol_scale: 0.25,
            max_vol_scale: 2.0,
            atr_period: 14,
            bar_interval_ns: 60_000_000_000,
            bump_to_min_qty: false,
            max_concurrent_positions: 3,
            max_symbol_notional_usd: 2_500.0,
            allow_pyramiding: false,
            allow_reverse: true,
            correlation_window: 60,
            correlation_min_samples: 20,
            correlation_threshold: 0.8,
            drawdown_scale_start: 0.02,
            drawdown_min_scale: 0.25,
            max_drawdown: 0.10,
            daily_loss_limit: 0.03,
            stop_atr_mult: 2.0,
            take_profit_atr_mult: 3.0,
            trail_activation_atr_mult: 1.5,
            trail_distance_atr_mult: 1.0,
            max_hold_ns: 30 * 60 * 1_000_000_000,
            taker_fee: 0.0005,
            maker_fee: 0.0002,
            default_half_spread_bps: 0.5,
            impact_coeff_bps: 1.0,
            impact_typical_notional_usd: 100_000.0,
            impact_model: ImpactModel::SquareRoot,
            latency_ns: 2_000_000,
        }
    }
}

impl RiskParams {
    /// Defaults overlaid with the keys `config/default.toml` already has under `[risk]`.
    ///
    /// `stop_loss_pct` / `take_profit_pct` are not mapped: exits here are in ATRs so they
    /// follow volatility; `slippage` becomes the default half-spread.
    pub fn from_core(cfg: &RiskConfig) -> RiskParams {
        RiskParams {
            base_position_usd: cfg.base_position_usd,
            leverage: cfg.leverage,
            max_concurrent_positions: cfg.max_concurrent_positions,
            max_hold_ns: cfg.max_hold_ms.saturating_mul(1_000_000),
            taker_fee: cfg.taker_fee,
            default_half_spread_bps: cfg.slippage * 10_000.0,
            ..RiskParams::default()
        }
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<()> {
        fn bad(field: &'static str, reason: impl Into<String>) -> RiskError {
            RiskError::InvalidParam {
                field,
                reason: reason.into(),
            }
        }
        let positive = |field: &'static str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(bad(field, format!("must be a finite number > 0, got {v}")))
            }
        };
        let non_negative = |field: &'static str, v: f64| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(bad(field, format!("must be a finite number >= 0, got {v}")))
            }
        };
        let fraction = |field: &'static str, v: f64, lo_open: bool| {
            let ok = v.is_finite() && v <= 1.0 && if lo_open { v > 0.0 } else { v >= 0.0 };
            if ok {
                Ok(())
            } else {
                Err(bad(
                    field,
                    format!(
                        "must be in {}0, 1], got {v}",
                        if lo_open { "(" } else { "[" }
                    ),
                ))
            }
        };
        positive("starting_equity", self.starting_equity)?;
        positive("base_position_usd", self.base_position_usd)?;
        if !(1..=125).contains(&self.leverage) {
            return Err(bad(
                "leverage",
                format!("must be 1..=125, got {}", self.leverage),
            ));
        }
        positive("target_volatility", self.target_volatility)?;
        positive("min_vol_scale", self.min_vol_scale)?;
        positive("max_vol_scale", self.max_vol_scale)?;
        if self.min_vol_scale > self.max_vol_scale {
            return Err(bad("min_vol_scale", "must be <= max_vol_scale"));
        }
        if self.atr_period == 0 || self.atr_period > 10_000 {
            return Err(bad("atr_period", "must be 1..=10000"));
        }
        if self.bar_interval_ns < 1_000_000 {
            return Err(bad("bar_interval_ns", "must be at least 1 ms"));
        }
        if self.max_concurrent_positions == 0 || self.max_concurrent_positions > 64 {
            return Err(bad("max_concurrent_positions", "must be 1..=64"));
        }
        positive("max_symbol_notional_usd", self.max_symbol_notional_usd)?;
        if self.correlation_window < 2 || self.correlation_window as usize > MAX_CORR_WINDOW {
            return Err(bad(
                "correlation_window",
                format!("must be 2..={MAX_CORR_WINDOW}"),
            ));
        }
        if self.correlation_min_samples < 2
            || self.correlation_min_samples > self.correlation_window
        {
            return Err(bad(
                "correlation_min_samples",
                "must be 2..=correlation_window",
            ));
        }
        if !(self.correlation_threshold.is_finite()
            && self.correlation_threshold > 0.0
            && self.correlation_threshold <= 1.0)
        {
            return Err(bad("correlation_threshold", "must be in (0, 1]"));
        }
        fraction("max_drawdown", self.max_drawdown, true)?;
        fraction("drawdown_scale_start", self.drawdown_scale_start, false)?;
        if self.drawdown_scale_start >= self.max_drawdown {
            return Err(bad("drawdown_scale_start", "must be < max_drawdown"));
        }
        fraction("drawdown_min_scale", self.drawdown_min_scale, true)?;
        fraction("daily_loss_limit", self.daily_loss_limit, true)?;
        positive("stop_atr_mult", self.stop_atr_mult)?;
        non_negative("take_profit_atr_mult", self.take_profit_atr_mult)?;
        non_negative("trail_activation_atr_mult", self.trail_activation_atr_mult)?;
        if self.trail_activation_atr_mult > 0.0 {
            positive("trail_distance_atr_mult", self.trail_distance_atr_mult)?;
        } else {
            non_negative("trail_distance_atr_mult", self.trail_distance_atr_mult)?;
        }
        let fee = |field: &'static str, v: f64| {
            if v.is_finite() && (-0.01..=0.01).contains(&v) {
                Ok(())
            } else {
                Err(bad(
                    field,
                    format!("must be a rate in [-0.01, 0.01], got {v}"),
                ))
            }
        };
        fee("taker_fee", self.taker_fee)?;
        fee("maker_fee", self.maker_fee)?;
        non_negative("default_half_spread_bps", self.default_half_spread_bps)?;
        non_negative("impact_coeff_bps", self.impact_coeff_bps)?;
        positive(
            "impact_typical_notional_usd",
            self.impact_typical_notional_usd,
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        RiskParams::default().validate().unwrap();
    }

    #[test]
    fn core_default_config_maps_and_validates() {
        let cfg = shmtrader_core::Config::embedded_default().unwrap();
        let p = RiskParams::from_core(&cfg.risk);
        p.validate().unwrap();
        assert_eq!(p.leverage, cfg.risk.leverage);
        assert_eq!(p.max_hold_ns, cfg.risk.max_hold_ms * 1_000_000);
    }

    #[test]
    fn validate_names_the_bad_field() {
        let cases: Vec<(RiskParams, &str)> = vec![
            (
                RiskParams {
                    leverage: 0,
                    ..Default::default()
                },
                "leverage",
            ),
            (
                RiskParams {
                    base_position_usd: f64::NAN,
                    ..Default::default()
                },
                "base_position_usd",
            ),
            (
                RiskParams {
                    min_vol_scale: 3.0,
                    max_vol_scale: 2.0,
                    ..Default::default()
                },
                "min_vol_scale",
            ),
            (
                RiskParams {
                    correlation_window: 100_000,
                    ..Default::default()
                },
                "correlation_window",
            ),
            (
                RiskParams {
                    correlation_threshold: 1.5,
                    ..Default::default()
                },
                "correlation_threshold",
            ),
            (
                RiskParams {
                    max_drawdown: 0.0,
                    ..Default::default()
                },
                "max_drawdown",
            ),
            (
                RiskParams {
                    drawdown_scale_start: 0.5,
                    ..Default::default()
                },
                "drawdown_scale_start",
            ),
            (
                RiskParams {
                    daily_loss_limit: -0.1,
                    ..Default::default()
                },
                "daily_loss_limit",
            ),
            (
                RiskParams {
                    taker_fee: 0.5,
                    ..Default::default()
                },
                "taker_fee",
            ),
            (
                RiskParams {
                    max_concurrent_positions: 0,
                    ..Default::default()
                },
                "max_concurrent_positions",
            ),
            (
                RiskParams {
                    stop_atr_mult: 0.0,
                    ..Default::default()
                },
                "stop_atr_mult",
            ),
        ];
        for (p, field) in cases {
            let e = p.validate().unwrap_err();
            assert!(
                matches!(&e, RiskError::InvalidParam { field: f, .. } if *f == field),
                "expected {field}, got {e}"
            );
        }
    }
}
