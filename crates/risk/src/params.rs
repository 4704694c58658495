//! Every knob of sizing, the risk gate, exits and paper fills, in one validated struct.

use crate::correlation::MAX_CORR_WINDOW;
use crate::error::{Result, RiskError};
use shmtrader_core::config::RiskConfig;
use shmtrader_core::Config;

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
    /// The one mapping from the configuration, used by the executor and the backtest
    /// alike: `[risk]` key for key (the defaults above are the config file's), the bar
    /// interval and ATR period from `[indicators]` (bars are shared with the strategy),
    /// and the starting equity from `[mock]` (paper; a real account replaces it with
    /// its own equity at start).
    pub fn from_config(c: &Config) -> RiskParams {
        RiskParams {
            bar_interval_ns: c.indicators.bar_interval_ms.saturating_mul(1_000_000),
            atr_period: c.indicators.atr,
            starting_equity: c.mock.starting_balance,
            ..RiskParams::from_core(&c.risk)
        }
    }

    /// The `[risk]` section alone, key for key; other fields keep their defaults.
    pub fn from_core(cfg: &RiskConfig) -> RiskParams {
        use shmtrader_core::config::ImpactShape;
        RiskParams {
            base_position_usd: cfg.base_position_usd,
            leverage: cfg.leverage,
            target_volatility: cfg.target_volatility,
            min_vol_scale: cfg.min_vol_scale,
            max_vol_scale: cfg.max_vol_scale,
            bump_to_min_qty: cfg.bump_to_min_qty,
            max_concurrent_positions: cfg.max_concurrent_positions,
            max_symbol_notional_usd: cfg.max_symbol_notional_usd,
            allow_pyramiding: cfg.allow_pyramiding,
            allow_reverse: cfg.allow_reverse,
            correlation_window: cfg.correlation_window,
            correlation_min_samples: cfg.correlation_min_samples,
            correlation_threshold: cfg.correlation_threshold,
            drawdown_scale_start: cfg.drawdown_scale_start,
            drawdown_min_scale: cfg.drawdown_min_scale,
            max_drawdown: cfg.max_drawdown,
            daily_loss_limit: cfg.daily_loss_limit,
            stop_atr_mult: cfg.stop_atr_mult,
            take_profit_atr_mult: cfg.take_profit_atr_mult,
            trail_activation_atr_mult: cfg.trail_activation_atr_mult,
            trail_distance_atr_mult: cfg.trail_distance_atr_mult,
            max_hold_ns: cfg.max_hold_ms.saturating_mul(1_000_000),
            taker_fee: cfg.taker_fee,
            maker_fee: cfg.maker_fee,
            default_half_spread_bps: cfg.slippage * 10_000.0,
            impact_coeff_bps: cfg.impact_coeff_bps,
            impact_typical_notional_usd: cfg.impact_typical_notional_usd,
            impact_model: match cfg.impact_model {
                ImpactShape::Sqrt => ImpactModel::SquareRoot,
                ImpactShape::Linear => ImpactModel::Linear,
            },
            latency_ns: cfg.paper_latency_ms.saturating_mul(1_000_000),
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
        positive("mock.starting_balance", self.starting_equity)?;
        positive("risk.base_position_usd", self.base_position_usd)?;
        if !(1..=125).contains(&self.leverage) {
            return Err(bad(
                "risk.leverage",
                format!("must be 1..=125, got {}", self.leverage),
            ));
        }
        positive("risk.target_volatility", self.target_volatility)?;
        positive("risk.min_vol_scale", self.min_vol_scale)?;
        positive("risk.max_vol_scale", self.max_vol_scale)?;
        if self.min_vol_scale > self.max_vol_scale {
            return Err(bad("risk.min_vol_scale", "must be <= max_vol_scale"));
        }
        if self.atr_period == 0 || self.atr_period > 10_000 {
            return Err(bad("indicators.atr", "must be 1..=10000"));
        }
        if self.bar_interval_ns < 1_000_000 {
            return Err(bad("indicators.bar_interval_ms", "must be at least 1 ms"));
        }
        if self.max_concurrent_positions == 0 || self.max_concurrent_positions > 64 {
            return Err(bad("risk.max_concurrent_positions", "must be 1..=64"));
        }
        positive("risk.max_symbol_notional_usd", self.max_symbol_notional_usd)?;
        if self.correlation_window < 2 || self.correlation_window as usize > MAX_CORR_WINDOW {
            return Err(bad(
                "risk.correlation_window",
                format!("must be 2..={MAX_CORR_WINDOW}"),
            ));
        }
        if self.correlation_min_samples < 2
            || self.correlation_min_samples > self.correlation_window
        {
            return Err(bad(
                "risk.correlation_min_samples",
                "must be 2..=correlation_window",
            ));
        }
        if !(self.correlation_threshold.is_finite()
            && self.correlation_threshold > 0.0
            && self.correlation_threshold <= 1.0)
        {
            return Err(bad("risk.correlation_threshold", "must be in (0, 1]"));
        }
        fraction("risk.max_drawdown", self.max_drawdown, true)?;
        fraction(
            "risk.drawdown_scale_start",
            self.drawdown_scale_start,
            false,
        )?;
        if self.drawdown_scale_start >= self.max_drawdown {
            return Err(bad("risk.drawdown_scale_start", "must be < max_drawdown"));
        }
        fraction("risk.drawdown_min_scale", self.drawdown_min_scale, true)?;
        fraction("risk.daily_loss_limit", self.daily_loss_limit, true)?;
        positive("risk.stop_atr_mult", self.stop_atr_mult)?;
        non_negative("risk.take_profit_atr_mult", self.take_profit_atr_mult)?;
        non_negative(
            "risk.trail_activation_atr_mult",
            self.trail_activation_atr_mult,
        )?;
        if self.trail_activation_atr_mult > 0.0 {
            positive("risk.trail_distance_atr_mult", self.trail_distance_atr_mult)?;
        } else {
            non_negative("risk.trail_distance_atr_mult", self.trail_distance_atr_mult)?;
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
        fee("risk.taker_fee", self.taker_fee)?;
        fee("risk.maker_fee", self.maker_fee)?;
        non_negative("risk.slippage", self.default_half_spread_bps)?;
        non_negative("risk.impact_coeff_bps", self.impact_coeff_bps)?;
        positive(
            "risk.impact_typical_notional_usd",
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
                "risk.leverage",
            ),
            (
                RiskParams {
                    base_position_usd: f64::NAN,
                    ..Default::default()
                },
                "risk.base_position_usd",
            ),
            (
                RiskParams {
                    min_vol_scale: 3.0,
                    max_vol_scale: 2.0,
                    ..Default::default()
                },
                "risk.min_vol_scale",
            ),
            (
                RiskParams {
                    correlation_window: 100_000,
                    ..Default::default()
                },
                "risk.correlation_window",
            ),
            (
                RiskParams {
                    correlation_threshold: 1.5,
                    ..Default::default()
                },
                "risk.correlation_threshold",
            ),
            (
                RiskParams {
                    max_drawdown: 0.0,
                    ..Default::default()
                },
                "risk.max_drawdown",
            ),
            (
                RiskParams {
                    drawdown_scale_start: 0.5,
                    ..Default::default()
                },
                "risk.drawdown_scale_start",
            ),
            (
                RiskParams {
                    daily_loss_limit: -0.1,
                    ..Default::default()
                },
                "risk.daily_loss_limit",
            ),
            (
                RiskParams {
                    taker_fee: 0.5,
                    ..Default::default()
                },
                "risk.taker_fee",
            ),
            (
                RiskParams {
                    max_concurrent_positions: 0,
                    ..Default::default()
                },
                "risk.max_concurrent_positions",
            ),
            (
                RiskParams {
                    stop_atr_mult: 0.0,
                    ..Default::default()
                },
                "risk.stop_atr_mult",
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
