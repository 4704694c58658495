//! Errors of the exchange crate.
//!
//! One enum for the whole crate. Binance's numeric error codes are classified into
//! [`ApiErrorKind`] so callers branch on *what to do* (re-sign, resync the clock, fix the
//! request, give up on this order, back off) rather than on magic numbers; the raw code
//! and message are always kept for the journal and the logs.

use std::time::Duration;

/// What a Binance error code means for the caller. Derived from the code only (messages
/// vary between deployments and languages; codes are stable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiErrorKind {
    /// -1022 bad signature, -2014 bad API-key format, -2015 invalid key / IP / permission.
    /// Never retried: the credentials or the key's IP whitelist are wrong.
    Auth,
    /// -1021: the timestamp is outside recvWindow; the local clock offset is stale.
    Timestamp,
    /// The request itself is wrong (-1100, -1101, -1102, -1106, -1111, -1115, -1116,
    /// -1117, -1121, -1128, -1130, -4015, -4082, ...). A bug or stale exchange rules.
    BadParam,
    /// The exchange understood the order and refused it; see the reason.
    OrderRejected(RejectReason),
    /// -2011 cancel of an unknown order, -2013 order does not exist.
    NotFound,
    /// -1003 too many requests / IP banned, -1015 too many orders.
    RateLimited,
    /// -1000, -1001, -1006, -1007: the outcome is unknown; an order may or may not exist.
    Unknown,
    /// -4046 / -4059: the setting already has the requested value (a success in effect).
    NoChangeNeeded,
    /// -1125: the listenKey does not exist (expired); create a new one.
    InvalidListenKey,
    /// Any other code.
    Other,
}

/// Why an order was refused by the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// -2019 "Margin is insufficient."
    InsufficientMargin,
    /// -2022 "ReduceOnly Order is rejected." (no position to reduce, or wrong side).
    ReduceOnly,
    /// -4014 "Price not increased by tick size."
    TickSize,
    /// -4023 "Qty not increased by step size."
    StepSize,
    /// -4116 "ClientOrderId is duplicated." — for a deterministic id this usually means
    /// the order was already sent (e.g. before a restart): query it, do not resend.
    DuplicateClientOrderId,
    /// -4120: conditional types must go through the algo-order endpoint.
    UseAlgoEndpoint,
    /// -4164 notional below MIN_NOTIONAL.
    MinNotional,
    /// -4003 / -4004 / -4005 quantity zero, below min or above max.
    QuantityBounds,
    /// -4001 / -4002 / -4013 price below zero / above max / below min.
    PriceBounds,
    /// -4016 / -4024 / -4131 PERCENT_PRICE band.
    PercentPrice,
    /// -5022 post-only (GTX) would have taken liquidity.
    PostOnly,
    /// -5021 FOK could not fill completely.
    FillOrKill,
    /// -2021 the conditional order would trigger immediately (the mark or last price is
    /// already through the trigger): close at market instead of placing the stop.
    WouldTrigger,
    /// -4130 an open stop or take-profit with `closePosition` already exists in this
    /// direction. A replacement placed before the old one is cancelled must use
    /// `reduceOnly` with a quantity (binance-usdm.md §10; the code is known from client
    /// code that hit it, not from Binance's pages).
    ConflictingStop,
    /// -2025 / -4045 too many open (algo) orders.
    MaxOpenOrders,
    /// -2027 / -2028 position would exceed the leverage bracket / margin.
    MaxPosition,
    /// -4061 position side does not match the account's mode.
    PositionSide,
    /// Another order rejection.
    Other,
}

impl ApiErrorKind {
    /// Classifies a Binance error code.
    pub fn from_code(code: i64) -> ApiErrorKind {
        use ApiErrorKind as K;
        use RejectReason as R;
        match code {
            -1022 | -2014 | -2015 => K::Auth,
            -1021 => K::Timestamp,
            -1100 | -1101 | -1102 | -1103 | -1104 | -1105 | -1106 | -1111 | -1112 | -1114
            | -1115 | -1116 | -1117 | -1118 | -1119 | -1120 | -1121 | -1128 | -1130 | -1013
            | -4015 | -4082 => K::BadParam,
            -2011 | -2013 => K::NotFound,
            -1003 | -1015 => K::RateLimited,
            -1000 | -1001 | -1006 | -1007 => K::Unknown,
            -4046 | -4059 => K::NoChangeNeeded,
            -1125 => K::InvalidListenKey,
            -2019 => K::OrderRejected(R::InsufficientMargin),
            -2022 => K::OrderRejected(R::ReduceOnly),
            -4014 => K::OrderRejected(R::TickSize),
            -4023 => K::OrderRejected(R::StepSize),
            -4116 => K::OrderRejected(R::DuplicateClientOrderId),
            -4120 => K::OrderRejected(R::UseAlgoEndpoint),
            -4164 => K::OrderRejected(R::MinNotional),
            -4005..=-4003 => K::OrderRejected(R::QuantityBounds),
            -4001 | -4002 | -4013 => K::OrderRejected(R::PriceBounds),
            -4016 | -4024 | -4131 => K::OrderRejected(R::PercentPrice),
            -5022 => K::OrderRejected(R::PostOnly),
            -5021 => K::OrderRejected(R::FillOrKill),
            -2021 => K::OrderRejected(R::WouldTrigger),
            -4130 => K::OrderRejected(R::ConflictingStop),
            -2025 | -4045 => K::OrderRejected(R::MaxOpenOrders),
            -2027 | -2028 => K::OrderRejected(R::MaxPosition),
            -4061 => K::OrderRejected(R::PositionSide),
            -2010 | -2018 | -2020 | -2023 | -2024 | -2026 => K::OrderRejected(R::Other),
            _ => K::Other,
        }
    }

    /// A short human label for messages.
    pub fn label(self) -> &'static str {
        use ApiErrorKind as K;
        use RejectReason as R;
        match self {
            K::Auth => "authentication rejected (check API key, secret, IP whitelist)",
            K::Timestamp => "timestamp outside recvWindow (clock offset)",
            K::BadParam => "bad request parameter",
            K::OrderRejected(r) => match r {
                R::InsufficientMargin => "order rejected: insufficient margin",
                R::ReduceOnly => "order rejected: reduceOnly",
                R::TickSize => "order rejected: price not on tick size",
                R::StepSize => "order rejected: quantity not on step size",
                R::DuplicateClientOrderId => "order rejected: duplicate client order id",
                R::UseAlgoEndpoint => "order rejected: use the algo order endpoint",
                R::MinNotional => "order rejected: below min notional",
                R::QuantityBounds => "order rejected: quantity out of bounds",
                R::PriceBounds => "order rejected: price out of bounds",
                R::PercentPrice => "order rejected: price outside PERCENT_PRICE band",
                R::PostOnly => "order rejected: post-only would take",
                R::FillOrKill => "order rejected: FOK not fillable",
                R::WouldTrigger => "order rejected: would trigger immediately",
                R::ConflictingStop => {
                    "order rejected: a closePosition stop already exists in this direction"
                }
                R::MaxOpenOrders => "order rejected: too many open orders",
                R::MaxPosition => "order rejected: position limit at this leverage",
                R::PositionSide => "order rejected: position side mismatch",
                R::Other => "order rejected",
            },
            K::NotFound => "order not found",
            K::RateLimited => "rate limited",
            K::Unknown => "execution status unknown",
            K::NoChangeNeeded => "no change needed",
            K::InvalidListenKey => "listenKey does not exist",
            K::Other => "exchange error",
        }
    }
}

/// Everything that can go wrong talking to Binance (or the mock).
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// A frame or body that is not what the protocol says.
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// What was being parsed (e.g. "aggTrade frame").
        what: &'static str,
        /// Why it was rejected.
        detail: String,
    },
    /// The exchange answered with a Binance error body (`{"code":..,"msg":..}`).
    #[error("{endpoint}: {} (code {code}, HTTP {status}): {msg}", kind.label())]
    Api {
        /// `POST /fapi/v1/order` etc.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Binance code (negative).
        code: i64,
        /// Classified meaning of `code`.
        kind: ApiErrorKind,
        /// The exchange's message, verbatim.
        msg: String,
    },
    /// HTTP 429: a request-weight or order-count limit was hit. The client refuses
    /// further requests until `retry_after` has passed.
    #[error(
        "{endpoint}: rate limited (HTTP 429, code {code}); retry after {retry_after:?}: {msg}"
    )]
    RateLimited {
        /// Endpoint that was refused.
        endpoint: &'static str,
        /// Binance code (-1003 weight, -1015 orders).
        code: i64,
        /// How long the exchange asked us to wait.
        retry_after: Duration,
        /// The exchange's message.
        msg: String,
    },
    /// HTTP 418: the IP is banned. Every call refuses until the ban is over.
    #[error("{endpoint}: IP banned by the exchange (HTTP 418) for {retry_after:?}: {msg}")]
    Banned {
        /// Endpoint that was refused.
        endpoint: &'static str,
        /// Remaining ban time.
        retry_after: Duration,
        /// The exchange's message.
        msg: String,
    },
    /// Refused locally, without touching the network: an earlier 429 / 418 asked us to
    /// wait and that time has not passed yet.
    #[error("{endpoint}: refused locally: {reason}; {remaining:?} left")]
    BackingOff {
        /// Endpoint that was not called.
        endpoint: &'static str,
        /// "rate limited (429)" or "IP banned (418)".
        reason: &'static str,
        /// Time until requests are allowed again.
        remaining: Duration,
    },
    /// A non-JSON / unexpected HTTP answer (e.g. a 5xx HTML page from a proxy).
    #[error("{endpoint}: HTTP {status}: {body}")]
    Http {
        /// Endpoint called.
        endpoint: &'static str,
        /// HTTP status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// Transport failure (connect, TLS, timeout, reset).
    #[error("{endpoint}: transport error: {source}")]
    Transport {
        /// Endpoint called.
        endpoint: &'static str,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// An order placement came back "status unknown" (503 / -1000 / transport error after
    /// sending) and reconciliation by `origClientOrderId` could not establish the truth.
    /// The order may exist: watch the user stream / query again before resending.
    #[error("order {client_order_id}: execution status unknown after {cause}; reconciliation failed: {detail}")]
    ExecutionUnknown {
        /// The order's client id.
        client_order_id: String,
        /// What made the status unknown.
        cause: String,
        /// Why the follow-up query did not settle it.
        detail: String,
    },
    /// An order placement came back "status unknown" and the exchange, queried by
    /// `origClientOrderId`, does not have the order: it was not placed.
    #[error("order {client_order_id}: not placed (exchange has no such order after {cause})")]
    NotPlaced {
        /// The order's client id.
        client_order_id: String,
        /// What made the status unknown at first.
        cause: String,
    },
    /// A local order check against the symbol's rules failed (a filter, an unusable
    /// exchangeInfo value, an off-grid quantity); nothing was sent. The core error
    /// names the symbol, the filter and the numbers.
    #[error(transparent)]
    Rules(#[from] shmtrader_core::CoreError),
    /// A decimal string from the exchange that is not a finite number (or is empty where
    /// a number is required). Accessors return this instead of a silent 0.
    #[error("{what}: `{field}` is not a decimal number: {text:?}")]
    BadNumber {
        /// The message it came from (`ORDER_TRADE_UPDATE`, `userTrades`, ...).
        what: &'static str,
        /// The wire key (`l`, `commission`, ...).
        field: &'static str,
        /// The text as received (truncated to 64 characters).
        text: String,
    },
    /// A bad argument or configuration value.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which value.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// Websocket failure.
    #[error("websocket {what}: {detail}")]
    WebSocket {
        /// What was being done.
        what: &'static str,
        /// The error.
        detail: String,
    },
    // ---- market data (wire/market, fast, book, ws) ----
    /// A market frame rejected by the zero-allocation fast parser. Everything is
    /// `'static` so rejecting a frame on the hot path never allocates either.
    #[error("rejected {what}: field `{field}` {reason}")]
    Rejected {
        /// What was being parsed (e.g. "aggTrade frame").
        what: &'static str,
        /// The JSON key at fault (`"-"` when the frame itself is broken).
        field: &'static str,
        /// Why, e.g. "is not a positive finite decimal string".
        reason: &'static str,
    },
    /// The local order book lost its update-id chain (`pu` ≠ previous `u`, or the first
    /// diff after a snapshot does not straddle `lastUpdateId`): resync from a snapshot.
    #[error("order book out of sync: {detail} (expected {expected}, got {got})")]
    BookOutOfSync {
        /// Which rule was broken.
        detail: &'static str,
        /// The id the rule expected.
        expected: u64,
        /// The id the diff carried.
        got: u64,
    },
    /// A websocket could not be opened or failed while open.
    #[error("websocket {url}: {source}")]
    WsConnection {
        /// The URL of the connection.
        url: String,
        /// The underlying error (boxed: it is large).
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    /// An HTTP request failed before a status was received (connect, timeout, body).
    #[error("http {url}: {source}")]
    HttpGet {
        /// The request URL.
        url: String,
        /// The underlying error.
        source: reqwest::Error,
    },
    /// An HTTP request got a non-success status.
    #[error("http {url}: status {status}: {body}")]
    HttpStatus {
        /// The request URL.
        url: String,
        /// HTTP status code.
        status: u16,
        /// The (truncated) response body, usually Binance's `{"code":..,"msg":..}`.
        body: String,
    },
    // ---- klines (rest/klines, wire/kline) ----
    /// A kline interval Binance does not have; nothing was sent.
    #[error("unknown kline interval {interval:?}: Binance has 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M")]
    UnknownInterval {
        /// The interval as given.
        interval: String,
    },
    /// A `limit` the endpoint does not accept; nothing was sent.
    #[error("{endpoint}: limit {limit} is outside 1..={max}")]
    LimitOutOfRange {
        /// Endpoint that was not called.
        endpoint: &'static str,
        /// The limit as given.
        limit: u32,
        /// The endpoint's maximum.
        max: u32,
    },
    /// A time window whose start lies after its end; nothing was sent.
    #[error("{endpoint}: start {start_ms} is after end {end_ms}")]
    TimeRange {
        /// Endpoint that was not called.
        endpoint: &'static str,
        /// Window start (ms).
        start_ms: i64,
        /// Window end (ms).
        end_ms: i64,
    },
    /// One kline row is not Binance's documented array, or not a possible bar (a price
    /// that is not positive and finite, a negative volume, high below low, ...). The
    /// whole answer is refused: a warm start must not seed indicators with a wrong bar.
    #[error("klines {symbol}: row {row}: `{field}` {reason}: {text}")]
    BadKline {
        /// Symbol requested.
        symbol: String,
        /// 0-based index of the row in the answer.
        row: usize,
        /// The field at fault (`open`, `volume`, ...; `-` for the row itself).
        field: &'static str,
        /// Why it was refused.
        reason: &'static str,
        /// The row as received (truncated).
        text: String,
    },
    /// `klines_range` stopped before the end of its range because a page failed. The
    /// bars fetched so far are kept here, contiguous and without duplicates; the caller
    /// resumes with `klines_range(.., resume_from_ms, end)` after `source`'s backoff
    /// (for a 429, [`crate::rest::RestClient::blocked_for`]).
    #[error("klines {symbol} {interval}: stopped after {} bars; resume from {resume_from_ms}: {source}", fetched.len())]
    KlinesIncomplete {
        /// Symbol requested.
        symbol: String,
        /// Interval requested.
        interval: String,
        /// The bars fetched before the failure, oldest first.
        fetched: Vec<crate::wire::kline::Kline>,
        /// Where the next page would have started (ms): open time of the last fetched
        /// bar + 1, or the range's start when nothing was fetched.
        resume_from_ms: i64,
        /// The failure of the page.
        #[source]
        source: Box<ExchangeError>,
    },
    /// A configuration value that cannot work.
    #[error("bad config `{key}`: {reason}")]
    Config {
        /// The offending key.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl ExchangeError {
    /// The classified Binance error kind, if this is an exchange error body.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        match self {
            ExchangeError::Api { kind, .. } => Some(*kind),
            ExchangeError::RateLimited { .. } | ExchangeError::Banned { .. } => {
                Some(ApiErrorKind::RateLimited)
            }
            ExchangeError::KlinesIncomplete { source, .. } => source.api_kind(),
            _ => None,
        }
    }
    /// The Binance error code, if any.
    pub fn api_code(&self) -> Option<i64> {
        match self {
            ExchangeError::Api { code, .. } | ExchangeError::RateLimited { code, .. } => {
                Some(*code)
            }
            ExchangeError::Banned { .. } => Some(-1003),
            ExchangeError::KlinesIncomplete { source, .. } => source.api_code(),
            _ => None,
        }
    }
    /// True for credential problems (-1022, -2014, -2015).
    pub fn is_auth(&self) -> bool {
        self.api_kind() == Some(ApiErrorKind::Auth)
    }
}

/// Result alias of this crate.
pub type Result<T, E = ExchangeError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_binance_code_maps_to_its_kind_and_reason() {
        use ApiErrorKind as K;
        use RejectReason as R;
        for c in [-1022, -2014, -2015] {
            assert_eq!(K::from_code(c), K::Auth);
        }
        assert_eq!(K::from_code(-1021), K::Timestamp);
        for c in [-1102, -1111, -1121] {
            assert_eq!(K::from_code(c), K::BadParam);
        }
        let cases = [
            (-2019, R::InsufficientMargin),
            (-2022, R::ReduceOnly),
            (-4014, R::TickSize),
            (-4023, R::StepSize),
            (-4116, R::DuplicateClientOrderId),
            (-4120, R::UseAlgoEndpoint),
            (-4164, R::MinNotional),
            (-2021, R::WouldTrigger),
            (-4130, R::ConflictingStop),
            (-4045, R::MaxOpenOrders),
            (-2025, R::MaxOpenOrders),
        ];
        for (c, r) in cases {
            assert_eq!(K::from_code(c), K::OrderRejected(r));
        }
        assert_eq!(K::from_code(-1000), K::Unknown);
        assert_eq!(K::from_code(-4046), K::NoChangeNeeded);
        assert_eq!(K::from_code(-99999), K::Other);
    }
}
