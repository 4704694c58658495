//! Account-side wire types: exchangeInfo, orders, account state, user-data events.
//!
//! See the module docs of [`crate::wire`] for the conventions (strings for decimals,
//! integers for ids, unknown fields tolerated).

use serde::{Deserialize, Deserializer, Serialize};

/// Accepts a JSON string or number and keeps its text. Binance is inconsistent about a
/// few fields (`er`, algo `code`, `actualOrderId`, `autoAssetExchange`): reading them as
/// text never fails and never turns an id into a float.
fn str_or_num<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum SN {
        S(String),
        U(u64),
        I(i64),
        F(f64),
        B(bool),
        N(()),
    }
    Ok(match SN::deserialize(d)? {
        SN::S(s) => s,
        SN::U(u) => u.to_string(),
        SN::I(i) => i.to_string(),
        SN::F(f) => f.to_string(),
        SN::B(b) => b.to_string(),
        SN::N(()) => String::new(),
    })
}

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

/// Order status (`X` in user events, `status` in REST).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrderStatus {
    /// Accepted, resting, nothing filled.
    New,
    /// Partly filled, rest resting.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled.
    Canceled,
    /// Expired (IOC remainder, market remainder, reduce-only with nothing to reduce).
    Expired,
    /// Expired by self-trade prevention.
    ExpiredInMatch,
    /// A status this code does not know.
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// True while the order can still fill.
    pub fn is_open(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// An order as REST returns it: `POST /fapi/v1/order` (ACK or RESULT), cancel, query,
/// openOrders, batch items.
///
/// RESULT (a filled market order):
/// ```json
/// {"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1784621536001}
/// ```
/// ACK (19-digit id; nothing filled yet as far as the answer knows):
/// ```json
/// {"orderId":8389765519876543210,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"paper-1a-0","price":"64000.10","avgPrice":"0.00","origQty":"0.010","executedQty":"0","cumQty":"0","cumQuote":"0","timeInForce":"GTX","type":"LIMIT","reduceOnly":true,"side":"SELL","positionSide":"BOTH","updateTime":1784621536001}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderResponse {
    /// Exchange order id (may exceed 2^53).
    pub order_id: u64,
    /// Symbol.
    pub symbol: String,
    /// Status.
    pub status: OrderStatus,
    /// Client order id.
    pub client_order_id: String,
    /// Limit price ("0" for market).
    #[serde(default)]
    pub price: String,
    /// Average fill price.
    #[serde(default)]
    pub avg_price: String,
    /// Ordered quantity.
    #[serde(default)]
    pub orig_qty: String,
    /// Filled quantity.
    #[serde(default)]
    pub executed_qty: String,
    /// Filled quantity (order endpoints only).
    #[serde(default)]
    pub cum_qty: Option<String>,
    /// Filled notional.
    #[serde(default)]
    pub cum_quote: String,
    /// Time in force.
    #[serde(default)]
    pub time_in_force: String,
    /// Type.
    #[serde(rename = "type", default)]
    pub order_type: String,
    /// Original type (a triggered STOP_MARKET shows here).
    #[serde(default)]
    pub orig_type: String,
    /// reduceOnly flag.
    #[serde(default)]
    pub reduce_only: bool,
    /// closePosition flag.
    #[serde(default)]
    pub close_position: bool,
    /// BUY / SELL.
    pub side: String,
    /// BOTH / LONG / SHORT.
    #[serde(default)]
    pub position_side: String,
    /// Stop price of the conditional it came from.
    #[serde(default)]
    pub stop_price: String,
    /// Creation time (query endpoints only).
    #[serde(default)]
    pub time: Option<u64>,
    /// Last update time.
    #[serde(default)]
    pub update_time: u64,
}

/// Binance's error body, also the shape of "success" answers such as marginType's
/// `{"code":200,"msg":"success"}`.
///
/// ```json
/// {"code":-2019,"msg":"Margin is insufficient."}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    /// Negative for errors, 200 for the "success" answers.
    #[serde(deserialize_with = "code_de")]
    pub code: i64,
    /// Text.
    #[serde(default)]
    pub msg: String,
}

fn code_de<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let s = str_or_num(d)?;
    s.parse::<i64>().map_err(serde::de::Error::custom)
}

/// One item of a `POST /fapi/v1/batchOrders` answer: the order or, in its place, the
/// error that rejected it.
///
/// ```json
/// [{"orderId":42,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"a-1-0","side":"BUY"},{"code":-2022,"msg":"ReduceOnly Order is rejected."}]
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[allow(clippy::large_enum_variant)] // at most 5 per batch; boxing would add allocations
pub enum BatchItem {
    /// Placed.
    Order(OrderResponse),
    /// Rejected.
    Error(ApiErrorBody),
}

/// `POST /fapi/v1/listenKey` (and PUT on current Binance).
///
/// ```json
/// {"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenKey {
    /// The key.
    pub listen_key: String,
}

/// `POST /fapi/v1/leverage`.
///
/// ```json
/// {"leverage":21,"maxNotionalValue":"1000000","symbol":"BTCUSDT"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeverageResponse {
    /// New leverage.
    pub leverage: u32,
    /// Largest position notional at this leverage.
    #[serde(deserialize_with = "str_or_num")]
    pub max_notional_value: String,
    /// Symbol.
    pub symbol: String,
}

/// `GET /fapi/v1/leverageBracket` entry (an array without `symbol`, one object with it).
///
/// ```json
/// {"symbol":"ETHUSDT","notionalCoef":1.50,"brackets":[{"bracket":1,"initialLeverage":75,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0}]}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeverageBrackets {
    /// Symbol.
    pub symbol: String,
    /// The account's bracket multiplier.
    #[serde(default)]
    pub notional_coef: Option<f64>,
    /// Brackets from the smallest notional up.
    pub brackets: Vec<LeverageBracket>,
}

/// One leverage bracket. These are numbers on the wire (reference data, not prices).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LeverageBracket {
    /// 1-based bracket number.
    pub bracket: u32,
    /// Max leverage in this bracket.
    pub initial_leverage: u32,
    /// Upper notional bound.
    pub notional_cap: f64,
    /// Lower notional bound.
    pub notional_floor: f64,
    /// Maintenance margin ratio.
    pub maint_margin_ratio: f64,
    /// Maintenance amount.
    #[serde(default)]
    pub cum: f64,
}

/// `GET /fapi/v2/positionRisk` row (one-way mode example).
///
/// ```json
/// {"symbol":"BTCUSDT","positionAmt":"0.000","entryPrice":"0.00000","breakEvenPrice":"0.0","markPrice":"6679.50671178","unRealizedProfit":"0.00000000","liquidationPrice":"0","leverage":"10","maxNotionalValue":"20000000","marginType":"isolated","isolatedMargin":"0.00000000","isAutoAddMargin":"false","positionSide":"BOTH","notional":"0","isolatedWallet":"0","updateTime":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRiskV2 {
    /// Symbol.
    pub symbol: String,
    /// Signed position size.
    pub position_amt: String,
    /// Average entry.
    pub entry_price: String,
    /// Break-even price.
    #[serde(default)]
    pub break_even_price: String,
    /// Mark price.
    pub mark_price: String,
    /// Unrealized PnL.
    pub un_realized_profit: String,
    /// Liquidation price.
    pub liquidation_price: String,
    /// Leverage (a string on the wire).
    #[serde(deserialize_with = "str_or_num")]
    pub leverage: String,
    /// Max notional at this leverage.
    #[serde(default, deserialize_with = "str_or_num")]
    pub max_notional_value: String,
    /// `isolated` / `cross`.
    pub margin_type: String,
    /// Isolated margin.
    #[serde(default)]
    pub isolated_margin: String,
    /// BOTH / LONG / SHORT.
    pub position_side: String,
    /// Signed notional.
    #[serde(default)]
    pub notional: String,
    /// Last change.
    #[serde(default)]
    pub update_time: u64,
}

/// `GET /fapi/v3/positionRisk` row: only symbols with a position or open orders; adds
/// margins and `adl`, drops `leverage`.
///
/// ```json
/// {"symbol":"ADAUSDT","positionSide":"BOTH","positionAmt":"30","entryPrice":"0.385","breakEvenPrice":"0.385077","markPrice":"0.41047590","unRealizedProfit":"0.76427700","liquidationPrice":"0","isolatedMargin":"0","notional":"12.31427700","marginAsset":"USDT","isolatedWallet":"0","initialMargin":"0.61571385","maintMargin":"0.08004774","positionInitialMargin":"0.61571385","openOrderInitialMargin":"0","adl":2,"bidNotional":"0","askNotional":"0","updateTime":1720736417660}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PositionRiskV3 {
    /// Symbol.
    pub symbol: String,
    /// BOTH / LONG / SHORT.
    pub position_side: String,
    /// Signed position size.
    pub position_amt: String,
    /// Average entry.
    pub entry_price: String,
    /// Break-even price.
    #[serde(default)]
    pub break_even_price: String,
    /// Mark price.
    pub mark_price: String,
    /// Unrealized PnL.
    pub un_realized_profit: String,
    /// Liquidation price.
    pub liquidation_price: String,
    /// Signed notional.
    #[serde(default)]
    pub notional: String,
    /// Margin asset.
    #[serde(default)]
    pub margin_asset: String,
    /// Initial margin (position + open orders).
    #[serde(default)]
    pub initial_margin: String,
    /// Maintenance margin.
    #[serde(default)]
    pub maint_margin: String,
    /// Auto-deleverage quantile (0..4).
    #[serde(default)]
    pub adl: u32,
    /// Last change.
    #[serde(default)]
    pub update_time: u64,
}

/// `GET /fapi/v2/balance` / `v3` row.
///
/// ```json
/// {"accountAlias":"SgsR","asset":"USDT","balance":"122607.35137903","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1617939110373}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Balance {
    /// Account alias.
    #[serde(default)]
    pub account_alias: String,
    /// Asset.
    pub asset: String,
    /// Wallet balance.
    pub balance: String,
    /// Cross wallet balance.
    #[serde(default)]
    pub cross_wallet_balance: String,
    /// Cross unrealized PnL.
    #[serde(default)]
    pub cross_un_pnl: String,
    /// Available for new orders.
    pub available_balance: String,
    /// Withdrawable.
    #[serde(default)]
    pub max_withdraw_amount: String,
    /// Usable as margin.
    #[serde(default)]
    pub margin_available: bool,
    /// Last change.
    #[serde(default)]
    pub update_time: u64,
}

/// `GET /fapi/v2/account` / `v3` (totals, assets, positions).
///
/// ```json
/// {"totalInitialMargin":"0.00000000","totalMaintMargin":"0.00000000","totalWalletBalance":"103.12345678","totalUnrealizedProfit":"0.00000000","totalMarginBalance":"103.12345678","availableBalance":"103.12345678","maxWithdrawAmount":"103.12345678","assets":[{"asset":"USDT","walletBalance":"103.12345678","unrealizedProfit":"0.00000000","marginBalance":"103.12345678","maintMargin":"0.00000000","initialMargin":"0.00000000","availableBalance":"103.12345678","maxWithdrawAmount":"103.12345678","updateTime":1625474304765}],"positions":[{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"1.000","unrealizedProfit":"0.00000000","isolatedMargin":"0.00000000","notional":"0","isolatedWallet":"0","initialMargin":"0","maintMargin":"0","updateTime":0}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Total initial margin.
    #[serde(default)]
    pub total_initial_margin: String,
    /// Total maintenance margin.
    #[serde(default)]
    pub total_maint_margin: String,
    /// Wallet balance.
    pub total_wallet_balance: String,
    /// Unrealized PnL.
    pub total_unrealized_profit: String,
    /// Wallet + unrealized.
    pub total_margin_balance: String,
    /// Available for new orders.
    pub available_balance: String,
    /// Withdrawable.
    #[serde(default)]
    pub max_withdraw_amount: String,
    /// Per-asset rows.
    #[serde(default)]
    pub assets: Vec<AccountAsset>,
    /// Per-position rows.
    #[serde(default)]
    pub positions: Vec<AccountPosition>,
}

/// `assets[]` row of [`Account`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountAsset {
    /// Asset.
    pub asset: String,
    /// Wallet balance.
    pub wallet_balance: String,
    /// Unrealized PnL.
    #[serde(default)]
    pub unrealized_profit: String,
    /// Margin balance.
    #[serde(default)]
    pub margin_balance: String,
    /// Available.
    #[serde(default)]
    pub available_balance: String,
    /// Last change.
    #[serde(default)]
    pub update_time: u64,
}

/// `positions[]` row of [`Account`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountPosition {
    /// Symbol.
    pub symbol: String,
    /// BOTH / LONG / SHORT.
    #[serde(default)]
    pub position_side: String,
    /// Signed size.
    pub position_amt: String,
    /// Unrealized PnL.
    #[serde(default)]
    pub unrealized_profit: String,
    /// Signed notional.
    #[serde(default)]
    pub notional: String,
    /// Initial margin.
    #[serde(default)]
    pub initial_margin: String,
    /// Maintenance margin.
    #[serde(default)]
    pub maint_margin: String,
    /// Last change.
    #[serde(default)]
    pub update_time: u64,
}

/// `POST /fapi/v1/algoOrder` / `GET` answer (a CONDITIONAL order).
///
/// ```json
/// {"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlgoOrderResponse {
    /// Exchange algo id.
    pub algo_id: u64,
    /// Client algo id.
    #[serde(default)]
    pub client_algo_id: String,
    /// `CONDITIONAL`.
    #[serde(default)]
    pub algo_type: String,
    /// STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT, TRAILING_STOP_MARKET.
    #[serde(default)]
    pub order_type: String,
    /// Symbol.
    pub symbol: String,
    /// BUY / SELL.
    pub side: String,
    /// Quantity ("" or "0" with closePosition).
    #[serde(default)]
    pub quantity: String,
    /// NEW, CANCELED, TRIGGERED, FINISHED, REJECTED, EXPIRED.
    #[serde(default)]
    pub algo_status: String,
    /// Trigger price.
    #[serde(default)]
    pub trigger_price: String,
    /// Limit price for STOP / TAKE_PROFIT.
    #[serde(default)]
    pub price: String,
    /// MARK_PRICE / CONTRACT_PRICE.
    #[serde(default)]
    pub working_type: String,
    /// closePosition flag.
    #[serde(default)]
    pub close_position: bool,
    /// reduceOnly flag.
    #[serde(default)]
    pub reduce_only: bool,
    /// Creation time.
    #[serde(default)]
    pub create_time: u64,
    /// Last update.
    #[serde(default)]
    pub update_time: u64,
    /// The order it became once triggered ("" before); text because its JSON type varies.
    #[serde(default, deserialize_with = "str_or_num")]
    pub actual_order_id: String,
}

/// `DELETE /fapi/v1/algoOrder` answer.
///
/// ```json
/// {"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlgoCancelResponse {
    /// Algo id.
    pub algo_id: u64,
    /// Client algo id.
    #[serde(default)]
    pub client_algo_id: String,
    /// "200" (a string here, a number elsewhere).
    #[serde(default, deserialize_with = "str_or_num")]
    pub code: String,
    /// Text.
    #[serde(default)]
    pub msg: String,
}

// ------------------------------------------------------------------ user-data stream

/// A user-data stream event. Unknown event types (TRADE_LITE, ALGO_UPDATE,
/// ACCOUNT_CONFIG_UPDATE, MARGIN_CALL, ...) come back as [`UserEvent::Other`] with their
/// name, never as an error.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // moved once into a channel; boxing adds an allocation
pub enum UserEvent {
    /// Order accepted / filled / cancelled / expired.
    OrderTradeUpdate(OrderTradeUpdate),
    /// Balance and position changes.
    AccountUpdate(AccountUpdate),
    /// The listenKey expired: the stream is dead until a new key is created.
    ListenKeyExpired(ListenKeyExpired),
    /// Anything else, by event name.
    Other {
        /// `e`.
        event: String,
        /// `E`, if present.
        event_time: u64,
    },
}

#[derive(Deserialize)]
struct EventHead {
    e: String,
    #[serde(rename = "E", default)]
    event_time: u64,
}

impl UserEvent {
    /// Parses a frame of a raw (`/ws/<key>`) or combined (`{"stream":..,"data":..}`)
    /// user-data connection.
    pub fn parse(text: &str) -> crate::Result<UserEvent> {
        let bad = |e: serde_json::Error| crate::ExchangeError::Malformed {
            what: "user-data event",
            detail: format!("{e}: {}", truncate(text, 200)),
        };
        // Combined form: unwrap `data` (cold path; user events are rare).
        let v: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
        let v = match v {
            serde_json::Value::Object(mut m) if m.contains_key("data") && !m.contains_key("e") => {
                m.remove("data").unwrap_or_default()
            }
            other => other,
        };
        let head = EventHead::deserialize(&v).map_err(bad)?;
        Ok(match head.e.as_str() {
            "ORDER_TRADE_UPDATE" => {
                UserEvent::OrderTradeUpdate(OrderTradeUpdate::deserialize(&v).map_err(bad)?)
            }
            "ACCOUNT_UPDATE" => {
                UserEvent::AccountUpdate(AccountUpdate::deserialize(&v).map_err(bad)?)
            }
            "listenKeyExpired" => {
                UserEvent::ListenKeyExpired(ListenKeyExpired::deserialize(&v).map_err(bad)?)
            }
            _ => UserEvent::Other {
                event: head.e,
                event_time: head.event_time,
            },
        })
    }
}

pub(crate) fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `ORDER_TRADE_UPDATE`.
///
/// ```json
/// {"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderTradeUpdate {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// The order.
    #[serde(rename = "o")]
    pub order: OrderUpdate,
}

/// The `o` object of [`OrderTradeUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderUpdate {
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Client order id (`autoclose-...` for liquidations).
    #[serde(rename = "c")]
    pub client_order_id: String,
    /// BUY / SELL.
    #[serde(rename = "S")]
    pub side: String,
    /// Order type.
    #[serde(rename = "o")]
    pub order_type: String,
    /// Time in force.
    #[serde(rename = "f", default)]
    pub time_in_force: String,
    /// Original quantity.
    #[serde(rename = "q")]
    pub orig_qty: String,
    /// Limit price.
    #[serde(rename = "p")]
    pub price: String,
    /// Average fill price.
    #[serde(rename = "ap", default)]
    pub avg_price: String,
    /// Stop price.
    #[serde(rename = "sp", default)]
    pub stop_price: String,
    /// Execution type: NEW, CANCELED, CALCULATED, EXPIRED, TRADE, AMENDMENT.
    #[serde(rename = "x")]
    pub execution_type: String,
    /// Order status.
    #[serde(rename = "X")]
    pub status: OrderStatus,
    /// Order id.
    #[serde(rename = "i")]
    pub order_id: u64,
    /// Last fill quantity.
    #[serde(rename = "l")]
    pub last_qty: String,
    /// Cumulative filled quantity.
    #[serde(rename = "z")]
    pub cum_qty: String,
    /// Last fill price.
    #[serde(rename = "L")]
    pub last_price: String,
    /// Commission asset (absent when nothing was charged).
    #[serde(rename = "N", default)]
    pub commission_asset: Option<String>,
    /// Commission of this fill.
    #[serde(rename = "n", default)]
    pub commission: Option<String>,
    /// Trade time.
    #[serde(rename = "T", default)]
    pub trade_time: u64,
    /// Trade id (0 when not a fill).
    #[serde(rename = "t", default)]
    pub trade_id: i64,
    /// This fill was on the maker side.
    #[serde(rename = "m", default)]
    pub is_maker: bool,
    /// reduceOnly.
    #[serde(rename = "R", default)]
    pub reduce_only: bool,
    /// Original order type.
    #[serde(rename = "ot", default)]
    pub orig_type: String,
    /// Position side.
    #[serde(rename = "ps", default)]
    pub position_side: String,
    /// closePosition.
    #[serde(rename = "cp", default)]
    pub close_position: bool,
    /// Realized PnL of this fill.
    #[serde(rename = "rp", default)]
    pub realized_pnl: String,
    /// Expiry reason 0..9 (2 = IOC leftover, 9 = market remainder).
    #[serde(rename = "er", default, deserialize_with = "str_or_num")]
    pub expiry_reason: String,
}

/// `ACCOUNT_UPDATE`.
///
/// ```json
/// {"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdate {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// Transaction time.
    #[serde(rename = "T", default)]
    pub transaction_time: u64,
    /// The changes.
    #[serde(rename = "a")]
    pub data: AccountUpdateData,
}

/// The `a` object of [`AccountUpdate`]. Only changed assets and positions are listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountUpdateData {
    /// Reason: ORDER, FUNDING_FEE, DEPOSIT, ...
    #[serde(rename = "m")]
    pub reason: String,
    /// Balances.
    #[serde(rename = "B", default)]
    pub balances: Vec<BalanceUpdate>,
    /// Positions (may be empty).
    #[serde(rename = "P", default)]
    pub positions: Vec<PositionUpdate>,
}

/// One balance of an [`AccountUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceUpdate {
    /// Asset.
    #[serde(rename = "a")]
    pub asset: String,
    /// Wallet balance.
    #[serde(rename = "wb")]
    pub wallet_balance: String,
    /// Cross wallet balance.
    #[serde(rename = "cw", default)]
    pub cross_wallet_balance: String,
    /// Balance change except PnL and commission.
    #[serde(rename = "bc", default)]
    pub balance_change: String,
}

/// One position of an [`AccountUpdate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionUpdate {
    /// Symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// Signed size.
    #[serde(rename = "pa")]
    pub position_amt: String,
    /// Entry price.
    #[serde(rename = "ep")]
    pub entry_price: String,
    /// Break-even price.
    #[serde(rename = "bep", default)]
    pub break_even_price: String,
    /// Accumulated realized.
    #[serde(rename = "cr", default)]
    pub accumulated_realized: String,
    /// Unrealized PnL.
    #[serde(rename = "up", default)]
    pub unrealized_pnl: String,
    /// isolated / cross.
    #[serde(rename = "mt", default)]
    pub margin_type: String,
    /// Isolated wallet.
    #[serde(rename = "iw", default)]
    pub isolated_wallet: String,
    /// Position side.
    #[serde(rename = "ps", default)]
    pub position_side: String,
}

/// `listenKeyExpired`.
///
/// ```json
/// {"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenKeyExpired {
    /// Event time.
    #[serde(rename = "E")]
    pub event_time: u64,
    /// The expired key.
    #[serde(rename = "listenKey", default)]
    pub listen_key: String,
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
    fn order_response_result_example() {
        let o: OrderResponse = serde_json::from_str(r#"{"orderId":284719273,"symbol":"BTCUSDT","status":"FILLED","clientOrderId":"x-A9C381","price":"0.00","avgPrice":"64050.25000","origQty":"0.002","executedQty":"0.002","cumQty":"0.002","cumQuote":"128.10050","timeInForce":"GTC","type":"MARKET","reduceOnly":false,"closePosition":false,"side":"BUY","positionSide":"BOTH","stopPrice":"0.00","workingType":"CONTRACT_PRICE","priceProtect":false,"origType":"MARKET","priceMatch":"NONE","selfTradePreventionMode":"EXPIRE_MAKER","goodTillDate":0,"updateTime":1784621536001}"#).unwrap();
        assert_eq!(o.order_id, 284_719_273);
        assert_eq!(o.status, OrderStatus::Filled);
        assert_eq!(o.executed_qty, "0.002");
        assert_eq!(o.cum_qty.as_deref(), Some("0.002"));
        assert_eq!(o.order_type, "MARKET");
        assert_eq!(o.update_time, 1_784_621_536_001);
    }

    #[test]
    fn order_response_ack_example_keeps_a_19_digit_id_exact() {
        let o: OrderResponse = serde_json::from_str(r#"{"orderId":8389765519876543210,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"paper-1a-0","price":"64000.10","avgPrice":"0.00","origQty":"0.010","executedQty":"0","cumQty":"0","cumQuote":"0","timeInForce":"GTX","type":"LIMIT","reduceOnly":true,"side":"SELL","positionSide":"BOTH","updateTime":1784621536001}"#).unwrap();
        assert_eq!(o.order_id, 8_389_765_519_876_543_210);
        assert_eq!(o.status, OrderStatus::New);
        assert!(o.reduce_only);
        assert_eq!(o.price, "64000.10");
        // A float id is refused rather than rounded.
        assert!(serde_json::from_str::<OrderResponse>(
            r#"{"orderId":1.5e18,"symbol":"X","status":"NEW","clientOrderId":"c","side":"BUY"}"#
        )
        .is_err());
    }

    #[test]
    fn unknown_status_is_tolerated() {
        let o: OrderResponse = serde_json::from_str(
            r#"{"orderId":1,"symbol":"X","status":"SOMETHING","clientOrderId":"c","side":"BUY"}"#,
        )
        .unwrap();
        assert_eq!(o.status, OrderStatus::Unknown);
    }

    #[test]
    fn error_body_example() {
        let e: ApiErrorBody =
            serde_json::from_str(r#"{"code":-2019,"msg":"Margin is insufficient."}"#).unwrap();
        assert_eq!(e.code, -2019);
        assert_eq!(e.msg, "Margin is insufficient.");
    }

    #[test]
    fn batch_items_example() {
        let v: Vec<BatchItem> = serde_json::from_str(r#"[{"orderId":42,"symbol":"BTCUSDT","status":"NEW","clientOrderId":"a-1-0","side":"BUY"},{"code":-2022,"msg":"ReduceOnly Order is rejected."}]"#).unwrap();
        assert!(matches!(&v[0], BatchItem::Order(o) if o.order_id == 42));
        assert!(matches!(&v[1], BatchItem::Error(e) if e.code == -2022));
    }

    #[test]
    fn listen_key_example() {
        let k: ListenKey = serde_json::from_str(
            r#"{"listenKey":"pqia91ma19a5s61cv6a81va65sdf19v8a65a1a5s61cv6a81va65sdf19v8a65a1"}"#,
        )
        .unwrap();
        assert_eq!(k.listen_key.len(), 64);
    }

    #[test]
    fn leverage_example() {
        let l: LeverageResponse = serde_json::from_str(
            r#"{"leverage":21,"maxNotionalValue":"1000000","symbol":"BTCUSDT"}"#,
        )
        .unwrap();
        assert_eq!(l.leverage, 21);
        assert_eq!(l.max_notional_value, "1000000");
    }

    #[test]
    fn leverage_brackets_example() {
        let b: LeverageBrackets = serde_json::from_str(r#"{"symbol":"ETHUSDT","notionalCoef":1.50,"brackets":[{"bracket":1,"initialLeverage":75,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0}]}"#).unwrap();
        assert_eq!(b.brackets[0].initial_leverage, 75);
        assert_eq!(b.brackets[0].notional_cap, 10_000.0);
    }

    #[test]
    fn position_risk_v2_example() {
        let p: PositionRiskV2 = serde_json::from_str(r#"{"symbol":"BTCUSDT","positionAmt":"0.000","entryPrice":"0.00000","breakEvenPrice":"0.0","markPrice":"6679.50671178","unRealizedProfit":"0.00000000","liquidationPrice":"0","leverage":"10","maxNotionalValue":"20000000","marginType":"isolated","isolatedMargin":"0.00000000","isAutoAddMargin":"false","positionSide":"BOTH","notional":"0","isolatedWallet":"0","updateTime":0}"#).unwrap();
        assert_eq!(p.leverage, "10");
        assert_eq!(p.margin_type, "isolated");
        assert_eq!(p.mark_price, "6679.50671178");
    }

    #[test]
    fn position_risk_v3_example() {
        let p: PositionRiskV3 = serde_json::from_str(r#"{"symbol":"ADAUSDT","positionSide":"BOTH","positionAmt":"30","entryPrice":"0.385","breakEvenPrice":"0.385077","markPrice":"0.41047590","unRealizedProfit":"0.76427700","liquidationPrice":"0","isolatedMargin":"0","notional":"12.31427700","marginAsset":"USDT","isolatedWallet":"0","initialMargin":"0.61571385","maintMargin":"0.08004774","positionInitialMargin":"0.61571385","openOrderInitialMargin":"0","adl":2,"bidNotional":"0","askNotional":"0","updateTime":1720736417660}"#).unwrap();
        assert_eq!(p.adl, 2);
        assert_eq!(p.position_amt, "30");
        assert_eq!(p.update_time, 1_720_736_417_660);
    }

    #[test]
    fn balance_example() {
        let b: Balance = serde_json::from_str(r#"{"accountAlias":"SgsR","asset":"USDT","balance":"122607.35137903","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1617939110373}"#).unwrap();
        assert_eq!(b.balance, "122607.35137903");
        assert!(b.margin_available);
    }

    #[test]
    fn account_example() {
        let a: Account = serde_json::from_str(r#"{"totalInitialMargin":"0.00000000","totalMaintMargin":"0.00000000","totalWalletBalance":"103.12345678","totalUnrealizedProfit":"0.00000000","totalMarginBalance":"103.12345678","availableBalance":"103.12345678","maxWithdrawAmount":"103.12345678","assets":[{"asset":"USDT","walletBalance":"103.12345678","unrealizedProfit":"0.00000000","marginBalance":"103.12345678","maintMargin":"0.00000000","initialMargin":"0.00000000","availableBalance":"103.12345678","maxWithdrawAmount":"103.12345678","updateTime":1625474304765}],"positions":[{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"1.000","unrealizedProfit":"0.00000000","isolatedMargin":"0.00000000","notional":"0","isolatedWallet":"0","initialMargin":"0","maintMargin":"0","updateTime":0}]}"#).unwrap();
        assert_eq!(a.total_wallet_balance, "103.12345678");
        assert_eq!(a.assets[0].asset, "USDT");
        assert_eq!(a.positions[0].position_amt, "1.000");
    }

    #[test]
    fn algo_order_example() {
        let a: AlgoOrderResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","algoType":"CONDITIONAL","orderType":"STOP_MARKET","symbol":"BNBUSDT","side":"SELL","positionSide":"BOTH","timeInForce":"GTC","quantity":"0.01","algoStatus":"NEW","triggerPrice":"750.000","price":"0.000","icebergQuantity":null,"selfTradePreventionMode":"EXPIRE_MAKER","workingType":"CONTRACT_PRICE","priceMatch":"NONE","closePosition":false,"priceProtect":false,"reduceOnly":false,"activatePrice":"","callbackRate":"","createTime":1750485492076,"updateTime":1750485492076,"triggerTime":0,"goodTillDate":0}"#).unwrap();
        assert_eq!(a.algo_id, 2_146_760);
        assert_eq!(a.algo_status, "NEW");
        assert_eq!(a.trigger_price, "750.000");
        assert_eq!(a.actual_order_id, "");
    }

    #[test]
    fn algo_cancel_example() {
        let a: AlgoCancelResponse = serde_json::from_str(r#"{"algoId":2146760,"clientAlgoId":"6B2I9XVcJpCjqPAJ4YoFX7","code":"200","msg":"success"}"#).unwrap();
        assert_eq!(a.code, "200");
        let b: ApiErrorBody = serde_json::from_str(r#"{"code":"200","msg":"success"}"#).unwrap();
        assert_eq!(b.code, 200);
    }

    #[test]
    fn order_trade_update_example() {
        let text = r#"{"e":"ORDER_TRADE_UPDATE","E":1568879465651,"T":1568879465650,"o":{"s":"BTCUSDT","c":"TEST","S":"BUY","o":"LIMIT","f":"GTC","q":"0.001","p":"7100.50","ap":"7100.50","sp":"0","x":"TRADE","X":"PARTIALLY_FILLED","i":8886774,"l":"0.001","z":"0.001","L":"7100.50","N":"USDT","n":"0.01000000","T":1568879465651,"t":12345678,"b":"0","a":"0","m":true,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"LONG","cp":false,"AP":"0","cr":"0","pP":false,"si":0,"ss":0,"rp":"12.34","V":"EXPIRE_TAKER","pm":"NONE","gtd":0,"er":"0"}}"#;
        let UserEvent::OrderTradeUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(u.event_time, 1_568_879_465_651);
        let o = &u.order;
        assert_eq!(o.order_id, 8_886_774);
        assert_eq!(o.status, OrderStatus::PartiallyFilled);
        assert_eq!(o.execution_type, "TRADE");
        assert_eq!(
            (o.last_qty.as_str(), o.last_price.as_str()),
            ("0.001", "7100.50")
        );
        assert_eq!(o.commission.as_deref(), Some("0.01000000"));
        assert_eq!(o.trade_id, 12_345_678);
        assert!(o.is_maker);
        assert_eq!(o.realized_pnl, "12.34");
        assert_eq!(o.expiry_reason, "0");
    }

    #[test]
    fn account_update_example() {
        let text = r#"{"e":"ACCOUNT_UPDATE","E":1564745798939,"T":1564745798938,"a":{"m":"ORDER","B":[{"a":"USDT","wb":"122624.12345678","cw":"100.12345678","bc":"50.12345678"}],"P":[{"s":"BTCUSDT","pa":"20","ep":"6563.6","bep":"6563.559","cr":"0","up":"2850.21200","mt":"isolated","iw":"13200.70726908","ps":"LONG"}]}}"#;
        let UserEvent::AccountUpdate(u) = UserEvent::parse(text).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(u.data.reason, "ORDER");
        assert_eq!(u.data.balances[0].wallet_balance, "122624.12345678");
        assert_eq!(u.data.positions[0].position_amt, "20");
        assert_eq!(u.data.positions[0].position_side, "LONG");
    }

    #[test]
    fn listen_key_expired_example_and_combined_wrapper() {
        let text = r#"{"e":"listenKeyExpired","E":1576653824250,"listenKey":"OfYGbUzi3PraNagEkdKuFwUHn48brFsItTdsuiIXrucEvD0rhRXZ7I6URWfE8YE8"}"#;
        let ev = UserEvent::parse(text).unwrap();
        assert!(
            matches!(ev, UserEvent::ListenKeyExpired(ref k) if k.event_time == 1_576_653_824_250)
        );
        let wrapped = format!(r#"{{"stream":"abc","data":{text}}}"#);
        assert_eq!(UserEvent::parse(&wrapped).unwrap(), ev);
    }

    #[test]
    fn other_events_and_garbage() {
        let ev = UserEvent::parse(r#"{"e":"TRADE_LITE","E":5,"s":"BTCUSDT"}"#).unwrap();
        assert_eq!(
            ev,
            UserEvent::Other {
                event: "TRADE_LITE".into(),
                event_time: 5
            }
        );
        assert!(UserEvent::parse("not json").is_err());
        assert!(UserEvent::parse(r#"{"e":"ORDER_TRADE_UPDATE","E":1}"#).is_err());
    }
}
