//! Binance-style error answers: HTTP status plus `{"code":..,"msg":..}`.

use serde_json::json;

/// A request that Binance would refuse, with the exact code and HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status (400, 401, 404, 429, 418, 503).
    pub status: u16,
    /// Binance error code (negative).
    pub code: i64,
    /// Message text.
    pub msg: String,
}

impl ApiError {
    /// HTTP 400 with a code and message.
    pub fn new(code: i64, msg: impl Into<String>) -> Self {
        ApiError {
            status: 400,
            code,
            msg: msg.into(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> serde_json::Value {
        json!({"code": self.code, "msg": self.msg})
    }

    /// -1102 for a missing or malformed mandatory parameter.
    pub fn mandatory(param: &str) -> Self {
        Self::new(
            -1102,
            format!("Mandatory parameter '{param}' was not sent, was empty/null, or malformed."),
        )
    }
    /// -1111.
    pub fn precision() -> Self {
        Self::new(
            -1111,
            "Precision is over the maximum defined for this asset.",
        )
    }
    /// -1121.
    pub fn invalid_symbol() -> Self {
        Self::new(-1121, "Invalid symbol.")
    }
    /// -2013.
    pub fn no_such_order() -> Self {
        Self::new(-2013, "Order does not exist.")
    }
    /// -2011.
    pub fn unknown_order() -> Self {
        Self::new(-2011, "Unknown order sent.")
    }
    /// -1130 for a value of the right type but unusable.
    pub fn invalid_param(param: &str) -> Self {
        Self::new(
            -1130,
            format!("Data sent for parameter '{param}' is not valid."),
        )
    }
    /// -1000, as the 503 "execution status unknown" answer carries.
    pub fn unknown_503() -> Self {
        ApiError {
            status: 503,
            code: -1000,
            msg: "Unknown error, please check your request or try again later.".into(),
        }
    }
}
