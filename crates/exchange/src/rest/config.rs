//! Where and how the REST client talks to the exchange: base URLs, timeouts,
//! reconciliation and backoff settings.

use std::time::Duration;

use crate::template::RespType;

/// Live REST base URL.
pub const LIVE_URL: &str = "https://fapi.binance.com";
/// Testnet REST base URL.
pub const TESTNET_URL: &str = "https://testnet.binancefuture.com";

/// Where and how to talk to the exchange.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// Scheme + host (+ port), no trailing slash: [`LIVE_URL`], [`TESTNET_URL`] or
    /// `http://127.0.0.1:PORT` for the mock.
    pub base_url: String,
    /// Path prefix of every endpoint (`/fapi`); endpoints append `/v1/order` etc.
    /// Configurable for gateways / proxies that remount the API.
    pub api_prefix: String,
    /// `recvWindow` sent with every signed request (ms).
    pub recv_window_ms: u32,
    /// `newOrderRespType` of orders placed by this client (RESULT: a market order comes
    /// back FILLED with its average price).
    pub resp_type: RespType,
    /// Whole-request timeout. An order that times out is reconciled, not resent.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout.
    pub connect_timeout: Duration,
    /// How long an idle pooled connection is kept.
    pub pool_idle_timeout: Duration,
    /// Queries made to settle an order whose outcome is unknown.
    pub reconcile_attempts: u32,
    /// Pause before each reconciliation query (the order may still be in flight).
    pub reconcile_delay: Duration,
    /// Backoff after a 429 that carries no `Retry-After` header.
    pub default_retry_after: Duration,
    /// Ban assumed after a 418 without `Retry-After` or a parsable "banned until".
    pub default_ban: Duration,
}

impl RestConfig {
    fn with_base(base: &str) -> RestConfig {
        RestConfig {
            base_url: base.trim_end_matches('/').to_string(),
            api_prefix: "/fapi".into(),
            recv_window_ms: 5000,
            resp_type: RespType::Result,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            pool_idle_timeout: Duration::from_secs(300),
            reconcile_attempts: 3,
            reconcile_delay: Duration::from_millis(200),
            default_retry_after: Duration::from_secs(10),
            default_ban: Duration::from_secs(120),
        }
    }
    /// Binance live.
    pub fn live() -> RestConfig {
        Self::with_base(LIVE_URL)
    }
    /// Binance futures testnet.
    pub fn testnet() -> RestConfig {
        Self::with_base(TESTNET_URL)
    }
    /// The mock exchange (`http://127.0.0.1:PORT`); short reconciliation pauses.
    pub fn mock(base_url: &str) -> RestConfig {
        RestConfig {
            reconcile_delay: Duration::from_millis(20),
            ..Self::with_base(base_url)
        }
    }
}
