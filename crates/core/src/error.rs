//! Errors of the core crate.

/// Everything that can go wrong while building core values.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A configuration value parses but is out of range, of the wrong type or
    /// inconsistent with another key. Renders as `risk.leverage = 500: must be in
    /// 1..=125 (my.toml, line 3)`: the key once, the value given, what is allowed, and
    /// where the value came from when that is known.
    #[error("{key} = {value}: {reason}{}", origin_suffix(.origin.as_ref()))]
    ConfigValue {
        /// Dotted key path (`risk.leverage`).
        key: String,
        /// The value given, written as TOML (`500`, `"ten"`, `[1, 0]`).
        value: String,
        /// What is allowed (`must be in 1..=125`, `expected an integer in 0..=4294967295`).
        reason: String,
        /// The file line or environment variable that set the value; `None` when it
        /// came from the embedded default or was set in code.
        origin: Option<ConfigOrigin>,
    },
    /// A key in a config file that no configuration table has.
    #[error(
        "unknown config key `{key}` ({file}{}){}",
        line.map(|l| format!(", line {l}")).unwrap_or_default(),
        did_you_mean(suggestion.as_deref(), "`")
    )]
    UnknownConfigKey {
        /// Dotted key path as written (`risk.leverge`).
        key: String,
        /// The file (or the origin the caller named).
        file: String,
        /// 1-based line of the key in the file, when it could be located.
        line: Option<usize>,
        /// The nearest valid key (`risk.leverage`), only when it is close.
        suggestion: Option<String>,
    },
    /// A `SHMTRADER_*` environment variable that maps to no configuration key.
    #[error(
        "environment variable {var} names no config key{}",
        match suggestion {
            Some(_) => did_you_mean(suggestion.as_deref(), ""),
            None => " (use SHMTRADER_<SECTION>__<KEY>, e.g. SHMTRADER_RISK__LEVERAGE)".to_string(),
        }
    )]
    UnknownConfigVar {
        /// The variable (`SHMTRADER_RISK__LEVERGE`).
        var: String,
        /// The nearest valid variable (`SHMTRADER_RISK__LEVERAGE`), only when it is close.
        suggestion: Option<String>,
    },
    /// A config file is not valid TOML.
    #[error("{file}, line {line}, column {column}: TOML syntax error: {message}: `{text}`")]
    ConfigSyntax {
        /// The file (or the origin the caller named).
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// The offending line, trimmed.
        text: String,
        /// The parser's explanation, on one line.
        message: String,
    },
    /// A config file cannot be read (missing, unreadable, not UTF-8).
    #[error("cannot read config file {}", .path.display())]
    ConfigFile {
        /// The path as given.
        path: std::path::PathBuf,
        /// Why (not in the message: printers of the error chain add it).
        #[source]
        source: std::io::Error,
    },
    /// The configuration cannot be written back as TOML (`--print-config`).
    #[error("cannot write the configuration as TOML: {0}")]
    ConfigEncode(#[from] toml::ser::Error),
    /// A symbol's rules (exchange filters) cannot be used.
    #[error("{symbol}: {field}: {reason}")]
    Instrument {
        /// The symbol.
        symbol: String,
        /// The filter or field (`tickSize`, `LOT_SIZE`, `quantity`, ...).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An order would break one of the symbol's filters (checked before sending, with
    /// the exchange's own rule).
    #[error("{symbol}: {filter}: {detail}")]
    Filter {
        /// The symbol.
        symbol: String,
        /// `LOT_SIZE`, `MARKET_LOT_SIZE`, `PRICE_FILTER` or `MIN_NOTIONAL`.
        filter: &'static str,
        /// The values involved.
        detail: String,
    },
    /// A quantity reported by the exchange is not a whole number of the symbol's steps:
    /// the local picture of the symbol is wrong, and rounding would hide it.
    #[error("{symbol}: quantity {qty} is not a whole number of steps of {step}")]
    OffStep {
        /// The symbol.
        symbol: String,
        /// The quantity.
        qty: f64,
        /// The step.
        step: f64,
    },
}

impl CoreError {
    /// A [`CoreError::ConfigValue`] without an origin; the loader adds the file line or
    /// environment variable when it knows which set the key.
    pub fn config_value(
        key: impl Into<String>,
        value: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        CoreError::ConfigValue {
            key: key.into(),
            value: value.into(),
            reason: reason.into(),
            origin: None,
        }
    }
}

/// Where a configuration value was set, so an error can send the user to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigOrigin {
    /// A line of a config file.
    File {
        /// The file (or the origin the caller named).
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// A `SHMTRADER_*` environment variable.
    Env {
        /// The variable (`SHMTRADER_RISK__LEVERAGE`).
        var: String,
    },
}

impl std::fmt::Display for ConfigOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigOrigin::File { file, line } => write!(f, "{file}, line {line}"),
            ConfigOrigin::Env { var } => write!(f, "set by environment variable {var}"),
        }
    }
}

/// ` (my.toml, line 3)`, or nothing when the origin is unknown.
fn origin_suffix(origin: Option<&ConfigOrigin>) -> String {
    origin.map(|o| format!(" ({o})")).unwrap_or_default()
}

/// `: did you mean `x`?`, or nothing without a suggestion.
fn did_you_mean(suggestion: Option<&str>, quote: &str) -> String {
    suggestion
        .map(|s| format!(": did you mean {quote}{s}{quote}?"))
        .unwrap_or_default()
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
