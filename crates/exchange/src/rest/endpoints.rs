//! The endpoint table: method, path under the API prefix, display name and security of
//! every REST call the client makes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Security {
    /// Public.
    None,
    /// API-key header only (listenKey).
    Key,
    /// API key + timestamp + signature.
    Signed,
}

/// One endpoint: method, path under the API prefix, display name, security.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ep {
    pub(super) method: &'static str,
    pub(super) path: &'static str,
    pub(super) name: &'static str,
    pub(super) sec: Security,
}

macro_rules! ep {
    ($m:literal, $p:literal, $s:ident) => {
        Ep {
            method: $m,
            path: $p,
            name: concat!($m, " /fapi", $p),
            sec: Security::$s,
        }
    };
}

pub(super) const PING: Ep = ep!("GET", "/v1/ping", None);
pub(super) const TIME: Ep = ep!("GET", "/v1/time", None);
pub(super) const EXCHANGE_INFO: Ep = ep!("GET", "/v1/exchangeInfo", None);
pub(super) const PREMIUM_INDEX: Ep = ep!("GET", "/v1/premiumIndex", None);
/// Weight by `limit`: see [`super::klines_weight`].
pub(super) const KLINES: Ep = ep!("GET", "/v1/klines", None);
/// Weight 1 with a symbol, 40 without.
pub(super) const TICKER_24HR: Ep = ep!("GET", "/v1/ticker/24hr", None);
pub(super) const ORDER_NEW: Ep = ep!("POST", "/v1/order", Signed);
pub(super) const ORDER_CANCEL: Ep = ep!("DELETE", "/v1/order", Signed);
pub(super) const ORDER_QUERY: Ep = ep!("GET", "/v1/order", Signed);
pub(super) const BATCH_ORDERS: Ep = ep!("POST", "/v1/batchOrders", Signed);
pub(super) const OPEN_ORDERS: Ep = ep!("GET", "/v1/openOrders", Signed);
pub(super) const CANCEL_ALL: Ep = ep!("DELETE", "/v1/allOpenOrders", Signed);
pub(super) const USER_TRADES: Ep = ep!("GET", "/v1/userTrades", Signed);
pub(super) const LEVERAGE: Ep = ep!("POST", "/v1/leverage", Signed);
pub(super) const MARGIN_TYPE: Ep = ep!("POST", "/v1/marginType", Signed);
pub(super) const POSITION_MODE_GET: Ep = ep!("GET", "/v1/positionSide/dual", Signed);
pub(super) const POSITION_MODE_SET: Ep = ep!("POST", "/v1/positionSide/dual", Signed);
pub(super) const LEVERAGE_BRACKET: Ep = ep!("GET", "/v1/leverageBracket", Signed);
pub(super) const POSITION_RISK_V2: Ep = ep!("GET", "/v2/positionRisk", Signed);
pub(super) const POSITION_RISK_V3: Ep = ep!("GET", "/v3/positionRisk", Signed);
pub(super) const BALANCE_V2: Ep = ep!("GET", "/v2/balance", Signed);
pub(super) const ACCOUNT_V2: Ep = ep!("GET", "/v2/account", Signed);
pub(super) const ACCOUNT_V3: Ep = ep!("GET", "/v3/account", Signed);
pub(super) const ALGO_NEW: Ep = ep!("POST", "/v1/algoOrder", Signed);
pub(super) const ALGO_CANCEL: Ep = ep!("DELETE", "/v1/algoOrder", Signed);
pub(super) const ALGO_QUERY: Ep = ep!("GET", "/v1/algoOrder", Signed);
pub(super) const ALGO_OPEN: Ep = ep!("GET", "/v1/openAlgoOrders", Signed);
pub(super) const ALGO_CANCEL_ALL: Ep = ep!("DELETE", "/v1/algoOpenOrders", Signed);
pub(super) const LISTEN_KEY_NEW: Ep = ep!("POST", "/v1/listenKey", Key);
pub(super) const LISTEN_KEY_KEEP: Ep = ep!("PUT", "/v1/listenKey", Key);
pub(super) const LISTEN_KEY_CLOSE: Ep = ep!("DELETE", "/v1/listenKey", Key);
