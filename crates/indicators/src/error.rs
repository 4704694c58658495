//! Errors of the indicators crate.

/// What can go wrong building or feeding an indicator, or reading klines.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum IndicatorError {
    /// A period (or multiplier) that cannot work, e.g. 0 or MACD fast ≥ slow.
    #[error("{indicator}: bad parameter {param} = {value}: {why}")]
    BadParam {
        /// Indicator name.
        indicator: &'static str,
        /// Parameter name.
        param: &'static str,
        /// The rejected value, printed.
        value: String,
        /// What is required.
        why: &'static str,
    },
    /// NaN or infinite input. The indicator's state is unchanged.
    #[error("{indicator}: non-finite input {value}")]
    NonFinite {
        /// Indicator name.
        indicator: &'static str,
        /// The input.
        value: f64,
    },
    /// A bar whose high/low/close do not make sense (high < low, close outside).
    #[error("{indicator}: inconsistent bar high {high} low {low} close {close}")]
    BadBar {
        /// Indicator name.
        indicator: &'static str,
        /// High.
        high: f64,
        /// Low.
        low: f64,
        /// Close.
        close: f64,
    },
    /// A tick older than the bar being built.
    #[error("tick at {ts_ms} ms is before the current bar, which opened at {bar_open_ms} ms")]
    OutOfOrder {
        /// Tick time.
        ts_ms: i64,
        /// Open time of the current bar.
        bar_open_ms: i64,
    },
    /// A kline file row that cannot be read.
    #[error("{path}:{line}: {why}")]
    Kline {
        /// File.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A kline file that cannot be opened or read.
    #[error("{path}: {why}")]
    Io {
        /// File.
        path: String,
        /// The OS error, printed.
        why: String,
    },
}

/// Result alias of this crate.
pub type Result<T, E = IndicatorError> = std::result::Result<T, E>;

pub(crate) fn check_period(
    indicator: &'static str,
    param: &'static str,
    period: usize,
) -> Result<()> {
    if period == 0 || period > crate::MAX_PERIOD {
        return Err(IndicatorError::BadParam {
            indicator,
            param,
            value: period.to_string(),
            why: "must be between 1 and 100000",
        });
    }
    Ok(())
}

pub(crate) fn check_finite(indicator: &'static str, x: f64) -> Result<()> {
    if x.is_finite() {
        Ok(())
    } else {
        Err(IndicatorError::NonFinite {
            indicator,
            value: x,
        })
    }
}
