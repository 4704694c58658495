//! Faults injected on demand, through `POST /mock/fault` or `MockHandle` methods.

use serde::{Deserialize, Serialize};

/// One fault. JSON form: `{"kind":"rest_status","status":503,"count":2}` etc.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Close every websocket connection (market and user) at once.
    DropConnections,
    /// The next `count` REST requests (under /fapi) answer with `status`: 429 and 418
    /// refuse the request; 503 executes it and then answers `-1000` (outcome unknown).
    RestStatus {
        /// 429, 418 or 503.
        status: u16,
        /// How many requests.
        count: u32,
    },
    /// Delay every REST response by `ms` (0 clears).
    Delay {
        /// Milliseconds.
        ms: u64,
    },
    /// Delay requests to one path by `ms` (0 clears it), e.g. hold every
    /// `POST /fapi/v1/algoOrder` so a test can kill the client while its stop is in
    /// flight: `{"kind":"delay_path","path":"/fapi/v1/algoOrder","ms":5000}`. A request
    /// whose connection closes while it is held is never executed (the server drops
    /// it), as a request lost on the way would be.
    DelayPath {
        /// The path (`/fapi/v1/algoOrder`).
        path: String,
        /// Milliseconds.
        ms: u64,
    },
    /// Send `count` malformed text frames on every market connection.
    MalformedFrames {
        /// How many.
        count: u32,
    },
    /// Leave the next `count` aggTrades of every symbol off the websocket; REST still
    /// has them (a one-shot gap for backfill tests).
    DropAggTrades {
        /// How many.
        count: u64,
    },
    /// Expire every listenKey now (sends `listenKeyExpired`, closes the key's
    /// connections).
    ExpireListenKeys,
    /// Shift the synthetic market's price level of `symbol` by `pct` percent from now on
    /// (book, trades and mark alike), so a resting stop can be made to trigger:
    /// `{"kind":"move_price","symbol":"BTCUSDT","pct":-2.0}`. Refused in replay mode.
    MovePrice {
        /// `BTCUSDT`.
        symbol: String,
        /// Percent, e.g. `-2.0`.
        pct: f64,
    },
    /// Settle funding now at `rate` on every open position, at the mark price: longs pay
    /// `rate × notional` when it is positive, shorts receive it. Each position's payment
    /// is an ACCOUNT_UPDATE with `m:"FUNDING_FEE"` (balance only for a cross position,
    /// as Binance sends it): `{"kind":"funding","rate":0.0001}`.
    Funding {
        /// Funding rate, e.g. `0.0001`.
        rate: f64,
    },
    /// Clear every pending fault.
    Clear,
}

/// REST-side fault state.
#[derive(Debug, Default)]
pub struct RestFaults {
    /// Pending forced statuses, in order.
    pub statuses: std::collections::VecDeque<u16>,
    /// Added latency per request.
    pub delay_ms: u64,
    /// Added latency per path.
    pub path_delay_ms: std::collections::HashMap<String, u64>,
}
