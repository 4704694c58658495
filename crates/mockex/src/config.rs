//! Configuration of one mock exchange instance.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use crate::error::MockError;

/// Replay pacing: the data's own timestamps divided by this factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// Real time.
    X1,
    /// Ten times faster than the data was recorded.
    X10,
    /// As fast as the slowest websocket client drains (no sleeping between events).
    Max,
    /// Any positive factor.
    Factor(f64),
}

impl Speed {
    /// Pacing factor; `None` means "do not sleep".
    pub fn factor(self) -> Option<f64> {
        match self {
            Speed::X1 => Some(1.0),
            Speed::X10 => Some(10.0),
            Speed::Max => None,
            Speed::Factor(f) => Some(f),
        }
    }
}

impl FromStr for Speed {
    type Err = MockError;

    /// Accepts `1`, `1x`, `10x`, `max`, `2.5` (what the CLI passes through verbatim).
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        if t == "max" {
            return Ok(Speed::Max);
        }
        let num = t.strip_suffix('x').unwrap_or(&t);
        match num.parse::<f64>() {
            Ok(f) if f.is_finite() && f > 0.0 => Ok(if f == 1.0 {
                Speed::X1
            } else if f == 10.0 {
                Speed::X10
            } else {
                Speed::Factor(f)
            }),
            _ => Err(MockError::Config {
                key: "speed",
                reason: format!("`{s}` is not 1x, 10x, max or a positive factor"),
            }),
        }
    }
}

/// Everything a mock exchange instance needs. Build it with `..Default::default()` so
/// that fields added later (test knobs) keep old call sites compiling.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// HTTP and websocket listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The one API key the mock accepts.
    pub api_key: String,
    /// Its HMAC secret.
    pub api_secret: String,
    /// Traded symbols (uppercase, as in REST). Replay data adds its own symbols.
    pub symbols: Vec<String>,
    /// Seed of the synthetic market and of every random choice the mock makes.
    pub seed: u64,
    /// Replay files; empty means the synthetic market.
    pub data: Vec<PathBuf>,
    /// Replay pacing (also paces the synthetic market's clock).
    pub speed: Speed,
    /// Fee rate charged on taker fills (0.0005 = 0.05 %).
    pub taker_fee: f64,
    /// Fee rate charged on maker fills.
    pub maker_fee: f64,
    /// Extra adverse price move applied to market-order fills, in basis points.
    pub slippage_bps: f64,
    /// Synthetic aggTrade arrival rate summed over all symbols (per second of data time).
    pub trades_per_sec: f64,
    /// USDT wallet balance at start.
    pub starting_balance: f64,
    /// Server ping interval on websocket connections (Binance: 3 min).
    pub ws_ping_interval: Duration,
    /// A connection that has not answered a ping within this is closed (Binance: 10 min).
    pub ws_pong_timeout: Duration,
    /// Connections are closed after this long (Binance: 24 h).
    pub ws_max_lifetime: Duration,
    /// Incoming websocket messages allowed per second per connection (Binance: 10).
    pub ws_max_incoming_per_sec: u32,
    /// Lifetime of a listenKey without keepalive (Binance: 60 min).
    pub listen_key_ttl: Duration,
    /// REQUEST_WEIGHT per minute (Binance default 2400).
    pub weight_limit_1m: u32,
    /// ORDERS per minute (Binance default 1200).
    pub order_limit_1m: u32,
    /// ORDERS per 10 s (Binance: 300).
    pub order_limit_10s: u32,
    /// Replay waits until the first market-stream client connects, so no event is
    /// played to nobody; the synthetic market always starts at once.
    pub replay_wait_for_client: bool,
    /// Leverage every symbol starts with.
    pub default_leverage: u32,
    /// Asset commissions are reported in: `"USDT"` (default) or `"BNB"` (Binance's BNB
    /// fee discount switched on). With BNB, ORDER_TRADE_UPDATE `n` / userTrades
    /// `commission` are the USDT fee divided by the BNB price (the BNBUSDT market when
    /// listed, else the catalog's synthetic BNB price) and `N` / `commissionAsset` say
    /// `BNB`; the USDT wallet is still what is debited.
    pub fee_asset: String,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 18080)),
            api_key: "paper-key".into(),
            api_secret: "paper-secret".into(),
            symbols: vec!["BTCUSDT".into(), "ETHUSDT".into(), "SOLUSDT".into()],
            seed: 42,
            data: Vec::new(),
            speed: Speed::X1,
            taker_fee: 0.0005,
            maker_fee: 0.0002,
            slippage_bps: 0.0,
            trades_per_sec: 20.0,
            starting_balance: 10_000.0,
            ws_ping_interval: Duration::from_secs(180),
            ws_pong_timeout: Duration::from_secs(600),
            ws_max_lifetime: Duration::from_secs(24 * 3600),
            ws_max_incoming_per_sec: 10,
            listen_key_ttl: Duration::from_secs(3600),
            weight_limit_1m: 2400,
            order_limit_1m: 1200,
            order_limit_10s: 300,
            replay_wait_for_client: true,
            default_leverage: 20,
            fee_asset: "USDT".into(),
        }
    }
}
