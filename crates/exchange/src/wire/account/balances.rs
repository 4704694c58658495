//! Account state: leverage settings and brackets, positions, balances, account totals.

use serde::{Deserialize, Serialize};

use super::str_or_num;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
