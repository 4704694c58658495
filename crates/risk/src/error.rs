//! Errors of the risk crate.
//!
//! Refusing a trade is *not* an error: the gate returns [`crate::RefuseReason`] for that.
//! These errors are for bad configuration and for inputs that violate the contract with
//! the caller (an out-of-range symbol id, a fill that is not a multiple of the step), which
//! mean the executor is about to act on a wrong picture of the world.

use thiserror::Error;

/// Everything that can go wrong in the risk crate.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum RiskError {
    /// A [`crate::RiskParams`] field is out of range; `field` is the config key.
    #[error("config key `{field}`: {reason}")]
    InvalidParam {
        /// Config key of the bad field.
        field: &'static str,
        /// Why it was refused.
        reason: String,
    },
    /// A symbol id outside the configured table.
    #[error("symbol id {symbol_id} out of range (table has {count} symbols)")]
    UnknownSymbol {
        /// Offending id.
        symbol_id: u32,
        /// Number of configured symbols.
        count: usize,
    },
    /// A fill quantity that is not a whole multiple of the symbol's step size.
    #[error("fill qty {qty} for symbol {symbol_id} is not a multiple of step {step}")]
    OffStepQty {
        /// Symbol id.
        symbol_id: u32,
        /// Offending quantity.
        qty: f64,
        /// The symbol's step size.
        step: f64,
    },
    /// A price, quantity, fee or rate that is NaN, infinite or of the wrong sign.
    #[error("invalid {what}: {value}")]
    InvalidValue {
        /// Which input.
        what: &'static str,
        /// Offending value.
        value: f64,
    },
    /// The paper-fill latency queue is full (the executor is not draining fills).
    #[error("paper fill queue full ({capacity} pending orders)")]
    QueueFull {
        /// Queue capacity.
        capacity: usize,
    },
}

/// Result alias of the risk crate.
pub type Result<T> = std::result::Result<T, RiskError>;
