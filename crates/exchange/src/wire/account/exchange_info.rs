//! Reference data: server time and exchangeInfo (symbols, filters, rate limits).

use serde::{Deserialize, Serialize};

/// `GET /fapi/v1/time`.
///
/// ```json
/// {"serverTime":1499827319559}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerTime {
    /// Exchange time, ms since the epoch.
    pub server_time: u64,
}

/// `GET /fapi/v1/exchangeInfo` (the fields the bot uses; the rest is ignored).
///
/// ```json
/// {"timezone":"UTC","serverTime":1565613908500,
///  "rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},
///                {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200}],
///  "exchangeFilters":[],"assets":[{"asset":"USDT","marginAvailable":true,"autoAssetExchange":0}],
///  "symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
///   "onboardDate":1569398400000,"status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT",
///   "pricePrecision":2,"quantityPrecision":3,"baseAssetPrecision":8,"quotePrecision":8,
///   "underlyingType":"COIN","triggerProtect":"0.0500","liquidationFee":"0.012500","marketTakeBound":"0.05",
///   "filters":[
///    {"filterType":"PRICE_FILTER","minPrice":"0.10","maxPrice":"1000000","tickSize":"0.10"},
///    {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"},
///    {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"120","stepSize":"0.001"},
///    {"filterType":"MAX_NUM_ORDERS","limit":200},{"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
///    {"filterType":"MIN_NOTIONAL","notional":"5"},
///    {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"}],
///   "orderTypes":["LIMIT","MARKET","STOP","STOP_MARKET","TAKE_PROFIT","TAKE_PROFIT_MARKET","TRAILING_STOP_MARKET"],
///   "timeInForce":["GTC","IOC","FOK","GTX","GTD"]}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExchangeInfo {
    /// Always `UTC`.
    #[serde(default)]
    pub timezone: String,
    /// Exchange time when the answer was built.
    #[serde(default)]
    pub server_time: u64,
    /// IP weight and order-count limits.
    #[serde(default)]
    pub rate_limits: Vec<RateLimit>,
    /// Listed contracts.
    #[serde(default)]
    pub symbols: Vec<SymbolInfo>,
}

impl ExchangeInfo {
    /// The symbol's entry (exact, uppercase match).
    pub fn symbol(&self, symbol: &str) -> Option<&SymbolInfo> {
        self.symbols.iter().find(|s| s.symbol == symbol)
    }

    /// The limits the client must stay under, typed: REQUEST_WEIGHT per minute and
    /// ORDERS per 10 s and per minute. A limit the answer does not list is `None` (the
    /// documented example lists no 10-second order limit).
    pub fn limits(&self) -> RateLimits {
        let find = |kind: &str, window_ms: u64| {
            self.rate_limits
                .iter()
                .filter(|r| r.rate_limit_type == kind && r.window_ms() == Some(window_ms))
                .map(|r| r.limit)
                .min()
        };
        RateLimits {
            request_weight_1m: find("REQUEST_WEIGHT", 60_000),
            orders_10s: find("ORDERS", 10_000),
            orders_1m: find("ORDERS", 60_000),
        }
    }
}

/// The rate limits of [`ExchangeInfo::limits`] (derived from its `rateLimits` entries,
/// not a wire message itself; see [`RateLimit`] for the JSON). Binance counts request weight per IP and
/// orders per account, in fixed windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// REQUEST_WEIGHT per 1 minute (`X-MBX-USED-WEIGHT-1M` counts against it).
    pub request_weight_1m: Option<u32>,
    /// ORDERS per 10 seconds (`X-MBX-ORDER-COUNT-10S`).
    pub orders_10s: Option<u32>,
    /// ORDERS per 1 minute (`X-MBX-ORDER-COUNT-1M`).
    pub orders_1m: Option<u32>,
}

impl RateLimits {
    /// Binance USD-M's published defaults: 2400 weight / min, 1200 orders / min, and
    /// 300 orders / 10 s (the last from community fixtures, not the docs: UNCERTAIN).
    /// Used until exchangeInfo has been read.
    pub const BINANCE_DEFAULTS: RateLimits = RateLimits {
        request_weight_1m: Some(2400),
        orders_10s: Some(300),
        orders_1m: Some(1200),
    };

    /// Each limit of `self`, or the one of `fallback` where `self` has none.
    pub fn or(self, fallback: RateLimits) -> RateLimits {
        RateLimits {
            request_weight_1m: self.request_weight_1m.or(fallback.request_weight_1m),
            orders_10s: self.orders_10s.or(fallback.orders_10s),
            orders_1m: self.orders_1m.or(fallback.orders_1m),
        }
    }
}

impl RateLimit {
    /// Length of the window in ms (`intervalNum` × `interval`); `None` for an unknown
    /// interval name.
    pub fn window_ms(&self) -> Option<u64> {
        let unit: u64 = match self.interval.as_str() {
            "SECOND" => 1_000,
            "MINUTE" => 60_000,
            "HOUR" => 3_600_000,
            "DAY" => 86_400_000,
            _ => return None,
        };
        Some(unit * u64::from(self.interval_num))
    }
}

/// One `rateLimits` entry.
///
/// ```json
/// {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// `REQUEST_WEIGHT` or `ORDERS`.
    pub rate_limit_type: String,
    /// `SECOND`, `MINUTE`, `DAY`.
    pub interval: String,
    /// Number of intervals in the window.
    pub interval_num: u32,
    /// The limit in that window.
    pub limit: u32,
}

/// One contract of exchangeInfo.
///
/// ```json
/// {"symbol":"ETHUSDT","pair":"ETHUSDT","contractType":"PERPETUAL","status":"TRADING",
///  "baseAsset":"ETH","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,
///  "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000.00","tickSize":"0.01"},
///             {"filterType":"SOMETHING_NEW","x":1}],
///  "orderTypes":["LIMIT","MARKET"],"timeInForce":["GTC","IOC","FOK","GTX"],"newField":[1,2]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SymbolInfo {
    /// `BTCUSDT`.
    pub symbol: String,
    /// Underlying pair.
    #[serde(default)]
    pub pair: String,
    /// `PERPETUAL`, `CURRENT_QUARTER`, ...
    #[serde(default)]
    pub contract_type: String,
    /// `TRADING`, `SETTLING`, `PENDING_TRADING`, ...
    #[serde(default)]
    pub status: String,
    /// Base asset.
    #[serde(default)]
    pub base_asset: String,
    /// Quote asset.
    #[serde(default)]
    pub quote_asset: String,
    /// Margin asset.
    #[serde(default)]
    pub margin_asset: String,
    /// Display precision only: Binance warns it is NOT the tick size.
    #[serde(default)]
    pub price_precision: u32,
    /// Display precision only: NOT the step size.
    #[serde(default)]
    pub quantity_precision: u32,
    /// Trading rules.
    #[serde(default)]
    pub filters: Vec<SymbolFilter>,
    /// Allowed order types.
    #[serde(default)]
    pub order_types: Vec<String>,
    /// Allowed time-in-force values.
    #[serde(default)]
    pub time_in_force: Vec<String>,
}

/// A symbol filter, tagged by `filterType`. Unknown filter types parse as `Other`.
///
/// ```json
/// {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "filterType")]
pub enum SymbolFilter {
    /// Price bounds and tick.
    #[serde(rename = "PRICE_FILTER", rename_all = "camelCase")]
    PriceFilter {
        /// Lowest price ("0" disables).
        min_price: String,
        /// Highest price ("0" disables).
        max_price: String,
        /// Tick.
        tick_size: String,
    },
    /// Limit-order quantity bounds and step.
    #[serde(rename = "LOT_SIZE", rename_all = "camelCase")]
    LotSize {
        /// Minimum.
        min_qty: String,
        /// Maximum.
        max_qty: String,
        /// Step.
        step_size: String,
    },
    /// Market-order quantity bounds and step.
    #[serde(rename = "MARKET_LOT_SIZE", rename_all = "camelCase")]
    MarketLotSize {
        /// Minimum.
        min_qty: String,
        /// Maximum.
        max_qty: String,
        /// Step.
        step_size: String,
    },
    /// Minimum `price * qty` (mark price for market orders); reduceOnly is exempt.
    #[serde(rename = "MIN_NOTIONAL")]
    MinNotional {
        /// Minimum notional in the quote asset (`minNotional` on spot-style answers).
        #[serde(alias = "minNotional")]
        notional: String,
    },
    /// Open orders per symbol.
    #[serde(rename = "MAX_NUM_ORDERS")]
    MaxNumOrders {
        /// Limit.
        limit: u32,
    },
    /// Open algo orders per symbol.
    #[serde(rename = "MAX_NUM_ALGO_ORDERS")]
    MaxNumAlgoOrders {
        /// Limit.
        limit: u32,
    },
    /// Limit-price band around the mark price.
    #[serde(rename = "PERCENT_PRICE", rename_all = "camelCase")]
    PercentPrice {
        /// BUY price must be ≤ mark × this.
        multiplier_up: String,
        /// SELL price must be ≥ mark × this.
        multiplier_down: String,
    },
    /// A filter type this code does not know.
    #[serde(other)]
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXCHANGE_INFO: &str = r#"{"timezone":"UTC","serverTime":1565613908500,
 "rateLimits":[{"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":2400},
               {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200}],
 "exchangeFilters":[],"assets":[{"asset":"USDT","marginAvailable":true,"autoAssetExchange":0}],
 "symbols":[{"symbol":"BTCUSDT","pair":"BTCUSDT","contractType":"PERPETUAL","deliveryDate":4133404800000,
  "onboardDate":1569398400000,"status":"TRADING","baseAsset":"BTC","quoteAsset":"USDT","marginAsset":"USDT",
  "pricePrecision":2,"quantityPrecision":3,"baseAssetPrecision":8,"quotePrecision":8,
  "underlyingType":"COIN","triggerProtect":"0.0500","liquidationFee":"0.012500","marketTakeBound":"0.05",
  "filters":[
   {"filterType":"PRICE_FILTER","minPrice":"0.10","maxPrice":"1000000","tickSize":"0.10"},
   {"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"},
   {"filterType":"MARKET_LOT_SIZE","minQty":"0.001","maxQty":"120","stepSize":"0.001"},
   {"filterType":"MAX_NUM_ORDERS","limit":200},{"filterType":"MAX_NUM_ALGO_ORDERS","limit":10},
   {"filterType":"MIN_NOTIONAL","notional":"5"},
   {"filterType":"PERCENT_PRICE","multiplierUp":"1.0500","multiplierDown":"0.9500","multiplierDecimal":"4"}],
  "orderTypes":["LIMIT","MARKET","STOP","STOP_MARKET","TAKE_PROFIT","TAKE_PROFIT_MARKET","TRAILING_STOP_MARKET"],
  "timeInForce":["GTC","IOC","FOK","GTX","GTD"]}]}"#;
    #[test]
    fn server_time() {
        let t: ServerTime = serde_json::from_str(r#"{"serverTime":1499827319559}"#).unwrap();
        assert_eq!(t.server_time, 1_499_827_319_559);
    }
    #[test]
    fn exchange_info_doc_example() {
        let info: ExchangeInfo = serde_json::from_str(EXCHANGE_INFO).unwrap();
        assert_eq!(info.server_time, 1_565_613_908_500);
        assert_eq!(info.rate_limits.len(), 2);
        assert_eq!(info.rate_limits[0].limit, 2400);
        let btc = info.symbol("BTCUSDT").unwrap();
        assert_eq!(btc.status, "TRADING");
        assert_eq!(btc.filters.len(), 7);
        assert_eq!(
            btc.filters[0],
            SymbolFilter::PriceFilter {
                min_price: "0.10".into(),
                max_price: "1000000".into(),
                tick_size: "0.10".into()
            }
        );
        assert_eq!(
            btc.filters[2],
            SymbolFilter::MarketLotSize {
                min_qty: "0.001".into(),
                max_qty: "120".into(),
                step_size: "0.001".into()
            }
        );
        assert_eq!(btc.filters[3], SymbolFilter::MaxNumOrders { limit: 200 });
        assert_eq!(
            btc.filters[5],
            SymbolFilter::MinNotional {
                notional: "5".into()
            }
        );
        assert!(matches!(btc.filters[6], SymbolFilter::PercentPrice { .. }));
        assert_eq!(btc.time_in_force.len(), 5);
    }
    #[test]
    fn rate_limit_example() {
        let r: RateLimit = serde_json::from_str(
            r#"{"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300}"#,
        )
        .unwrap();
        assert_eq!((r.interval_num, r.limit), (10, 300));
    }
    #[test]
    fn symbol_info_tolerates_unknown_filters_and_fields() {
        let s: SymbolInfo = serde_json::from_str(
            r#"{"symbol":"ETHUSDT","pair":"ETHUSDT","contractType":"PERPETUAL","status":"TRADING",
 "baseAsset":"ETH","quoteAsset":"USDT","marginAsset":"USDT","pricePrecision":2,"quantityPrecision":3,
 "filters":[{"filterType":"PRICE_FILTER","minPrice":"0.01","maxPrice":"1000000.00","tickSize":"0.01"},
            {"filterType":"SOMETHING_NEW","x":1}],
 "orderTypes":["LIMIT","MARKET"],"timeInForce":["GTC","IOC","FOK","GTX"],"newField":[1,2]}"#,
        )
        .unwrap();
        assert_eq!(s.filters[1], SymbolFilter::Other);
    }
    #[test]
    fn lot_size_filter_example() {
        let f: SymbolFilter = serde_json::from_str(
            r#"{"filterType":"LOT_SIZE","minQty":"0.001","maxQty":"1000","stepSize":"0.001"}"#,
        )
        .unwrap();
        assert!(matches!(f, SymbolFilter::LotSize { ref step_size, .. } if step_size == "0.001"));
        // spot-style spelling of MIN_NOTIONAL
        let f: SymbolFilter =
            serde_json::from_str(r#"{"filterType":"MIN_NOTIONAL","minNotional":"10.0"}"#).unwrap();
        assert_eq!(
            f,
            SymbolFilter::MinNotional {
                notional: "10.0".into()
            }
        );
    }

    #[test]
    fn limits_are_typed_from_rate_limits_and_a_missing_one_is_none() {
        let info: ExchangeInfo = serde_json::from_str(EXCHANGE_INFO).unwrap();
        let l = info.limits();
        assert_eq!(
            l,
            RateLimits {
                request_weight_1m: Some(2400),
                orders_10s: None,
                orders_1m: Some(1200),
            }
        );
        assert_eq!(l.or(RateLimits::BINANCE_DEFAULTS).orders_10s, Some(300));
        let info: ExchangeInfo = serde_json::from_str(
            r#"{"rateLimits":[
            {"rateLimitType":"REQUEST_WEIGHT","interval":"MINUTE","intervalNum":1,"limit":6000},
            {"rateLimitType":"ORDERS","interval":"SECOND","intervalNum":10,"limit":300},
            {"rateLimitType":"ORDERS","interval":"MINUTE","intervalNum":1,"limit":1200},
            {"rateLimitType":"ORDERS","interval":"DAY","intervalNum":1,"limit":200000},
            {"rateLimitType":"RAW_REQUESTS","interval":"MINUTE","intervalNum":5,"limit":61000}]}"#,
        )
        .unwrap();
        assert_eq!(
            info.limits(),
            RateLimits {
                request_weight_1m: Some(6000),
                orders_10s: Some(300),
                orders_1m: Some(1200),
            }
        );
        assert_eq!(info.rate_limits[4].window_ms(), Some(300_000));
    }
}
