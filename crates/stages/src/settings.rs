//! Checks of the whole configuration that need more than the core crate can see: the
//! risk parameters are validated by the risk crate (the one range check, naming the
//! TOML key), so every command refuses a bad value at start, not the executor later.

use crate::error::Result;
use shmtrader_core::Config;

/// Validates what `Config::validate` cannot: the risk engine's parameters.
pub fn validate(cfg: &Config) -> Result<()> {
    crate::executor::risk_params(cfg).validate()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bad_risk_value_is_refused_naming_its_key() {
        for (text, key) in [
            ("[risk]\nleverage = 0\n", "risk.leverage"),
            ("[risk]\nmax_drawdown = 0.0\n", "risk.max_drawdown"),
            (
                "[risk]\ncorrelation_threshold = 1.5\n",
                "risk.correlation_threshold",
            ),
            ("[indicators]\natr = 0\n", "indicators.atr"),
        ] {
            let cfg = Config::from_toml_str(text, "t");
            let e = match cfg {
                Ok(c) => validate(&c).unwrap_err().to_string(),
                Err(e) => e.to_string(),
            };
            assert!(e.contains(key), "{text}: {e}");
        }
        validate(&Config::embedded_default().unwrap()).unwrap();
    }
}
