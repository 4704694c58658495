//! Account state: leverage settings and brackets, positions, balances, account totals.

use serde::{Deserialize, Serialize};

use super::str_or_num;
use crate::error::Result;
use crate::wire::decimal::{decimal_accessors, parse_optional_decimal};

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
///
/// ```json
/// {"bracket":1,"initialLeverage":75,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0}
/// ```
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
///
/// ```json
/// {"asset":"USDT","walletBalance":"103.12345678","unrealizedProfit":"0.00000000","marginBalance":"103.12345678","maintMargin":"0.00000000","initialMargin":"0.00000000","availableBalance":"103.12345678","maxWithdrawAmount":"103.12345678","updateTime":1625474304765}
/// ```
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

/// `positions[]` row of [`Account`]. `/fapi/v2/account` sends `entryPrice` (and
/// `leverage`); `/fapi/v3/account` does not, so `entry_price` is empty there: take it
/// from `positionRisk` or the `ACCOUNT_UPDATE` stream.
///
/// v2 row:
/// ```json
/// {"symbol":"BTCUSDT","initialMargin":"0","maintMargin":"0","unrealizedProfit":"0.00000000","positionInitialMargin":"0","openOrderInitialMargin":"0","leverage":"100","isolated":true,"entryPrice":"0.00000","breakEvenPrice":"0.0","maxNotional":"250000","bidNotional":"0","askNotional":"0","positionSide":"BOTH","positionAmt":"0","updateTime":0}
/// ```
/// v3 row:
/// ```json
/// {"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"1.000","unrealizedProfit":"0.00000000","isolatedMargin":"0.00000000","notional":"0","isolatedWallet":"0","initialMargin":"0","maintMargin":"0","updateTime":0}
/// ```
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
    /// Average entry price (v2 only; empty on v3).
    #[serde(default)]
    pub entry_price: String,
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

decimal_accessors!(PositionRiskV2, "positionRisk" {
    /// `positionAmt`: signed size (negative = short).
    amount => position_amt, "positionAmt";
    /// `entryPrice`.
    entry => entry_price, "entryPrice";
    /// `markPrice`.
    mark => mark_price, "markPrice";
    /// `unRealizedProfit`.
    unrealized => un_realized_profit, "unRealizedProfit";
    /// `liquidationPrice` (0 when none).
    liquidation => liquidation_price, "liquidationPrice";
});

decimal_accessors!(PositionRiskV3, "positionRisk" {
    /// `positionAmt`: signed size (negative = short).
    amount => position_amt, "positionAmt";
    /// `entryPrice`.
    entry => entry_price, "entryPrice";
    /// `markPrice`.
    mark => mark_price, "markPrice";
    /// `unRealizedProfit`.
    unrealized => un_realized_profit, "unRealizedProfit";
    /// `liquidationPrice` (0 when none).
    liquidation => liquidation_price, "liquidationPrice";
});

decimal_accessors!(Balance, "balance" {
    /// `balance`: the wallet balance of the asset.
    wallet => balance, "balance";
    /// `crossWalletBalance`.
    cross_wallet => cross_wallet_balance, "crossWalletBalance";
    /// `availableBalance`: usable for new orders.
    available => available_balance, "availableBalance";
});

decimal_accessors!(Account, "account" {
    /// `totalWalletBalance`: deposits + realized PnL − fees (no open PnL).
    total_wallet => total_wallet_balance, "totalWalletBalance";
    /// `totalMarginBalance`: wallet + unrealized PnL (equity).
    total_margin => total_margin_balance, "totalMarginBalance";
    /// `totalUnrealizedProfit`.
    total_unrealized => total_unrealized_profit, "totalUnrealizedProfit";
    /// `availableBalance`: usable for new orders.
    available => available_balance, "availableBalance";
});

decimal_accessors!(AccountAsset, "account" {
    /// `walletBalance`.
    wallet => wallet_balance, "walletBalance";
    /// `availableBalance`.
    available => available_balance, "availableBalance";
    /// `unrealizedProfit`.
    unrealized => unrealized_profit, "unrealizedProfit";
    /// `marginBalance`.
    margin => margin_balance, "marginBalance";
});

decimal_accessors!(AccountPosition, "account" {
    /// `positionAmt`: signed size (negative = short).
    amount => position_amt, "positionAmt";
    /// `unrealizedProfit`.
    unrealized => unrealized_profit, "unrealizedProfit";
});

impl Account {
    /// The row of `asset` (`USDT`), if the account has one.
    pub fn asset(&self, asset: &str) -> Option<&AccountAsset> {
        self.assets.iter().find(|a| a.asset == asset)
    }
    /// The row of `symbol` in one-way mode (`positionSide` BOTH or absent).
    pub fn position(&self, symbol: &str) -> Option<&AccountPosition> {
        self.positions.iter().find(|p| {
            p.symbol == symbol && (p.position_side.is_empty() || p.position_side == "BOTH")
        })
    }
}

impl AccountPosition {
    /// `entryPrice`; `None` when the answer does not carry it (`/fapi/v3/account`).
    ///
    /// # Errors
    /// [`crate::ExchangeError::BadNumber`] if present but not a finite number.
    pub fn entry(&self) -> Result<Option<f64>> {
        parse_optional_decimal("account", "entryPrice", &self.entry_price)
    }
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

    #[test]
    fn account_totals_assets_and_positions_are_typed_values() {
        let a: Account = serde_json::from_str(r#"{"totalInitialMargin":"0.00000000","totalMaintMargin":"0.00000000","totalWalletBalance":"103.12345678","totalUnrealizedProfit":"-1.50000000","totalMarginBalance":"101.62345678","availableBalance":"99.00000000","maxWithdrawAmount":"99.00000000","assets":[{"asset":"USDT","walletBalance":"103.12345678","unrealizedProfit":"-1.50000000","marginBalance":"101.62345678","maintMargin":"0.00000000","initialMargin":"0.00000000","availableBalance":"99.00000000","maxWithdrawAmount":"99.00000000","updateTime":1625474304765}],"positions":[{"symbol":"BTCUSDT","initialMargin":"0","maintMargin":"0","unrealizedProfit":"-1.50000000","positionInitialMargin":"0","openOrderInitialMargin":"0","leverage":"100","isolated":true,"entryPrice":"64000.5","breakEvenPrice":"0.0","maxNotional":"250000","bidNotional":"0","askNotional":"0","positionSide":"BOTH","positionAmt":"-0.010","updateTime":0}]}"#).unwrap();
        assert_eq!(a.total_wallet().unwrap(), 103.123_456_78);
        assert_eq!(a.total_margin().unwrap(), 101.623_456_78);
        assert_eq!(a.total_unrealized().unwrap(), -1.5);
        assert_eq!(a.available().unwrap(), 99.0);
        let usdt = a.asset("USDT").unwrap();
        assert_eq!(usdt.wallet().unwrap(), 103.123_456_78);
        assert_eq!(usdt.available().unwrap(), 99.0);
        let p = a.position("BTCUSDT").unwrap();
        assert_eq!(p.amount().unwrap(), -0.01);
        assert_eq!(p.entry().unwrap(), Some(64_000.5));
        assert!(a.position("ETHUSDT").is_none());
    }

    #[test]
    fn a_v3_account_position_has_no_entry_price_and_a_bad_total_is_an_error() {
        let mut a: Account = serde_json::from_str(r#"{"totalWalletBalance":"1","totalUnrealizedProfit":"0","totalMarginBalance":"1","availableBalance":"1","positions":[{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"1.000","unrealizedProfit":"0.00000000","isolatedMargin":"0.00000000","notional":"0","isolatedWallet":"0","initialMargin":"0","maintMargin":"0","updateTime":0}]}"#).unwrap();
        assert_eq!(a.positions[0].entry().unwrap(), None);
        assert_eq!(a.positions[0].amount().unwrap(), 1.0);
        a.total_wallet_balance = "1,000.5".into();
        assert!(matches!(
            a.total_wallet(),
            Err(crate::ExchangeError::BadNumber {
                field: "totalWalletBalance",
                ..
            })
        ));
    }

    #[test]
    fn balance_and_position_risk_accessors_parse_their_fields() {
        let b: Balance = serde_json::from_str(r#"{"accountAlias":"SgsR","asset":"USDT","balance":"122607.35137903","crossWalletBalance":"23.72469206","crossUnPnl":"0.00000000","availableBalance":"23.72469206","maxWithdrawAmount":"23.72469206","marginAvailable":true,"updateTime":1617939110373}"#).unwrap();
        assert_eq!(b.wallet().unwrap(), 122_607.351_379_03);
        assert_eq!(b.available().unwrap(), 23.724_692_06);
        assert_eq!(b.cross_wallet().unwrap(), 23.724_692_06);
        let p: PositionRiskV3 = serde_json::from_str(r#"{"symbol":"ADAUSDT","positionSide":"BOTH","positionAmt":"30","entryPrice":"0.385","breakEvenPrice":"0.385077","markPrice":"0.41047590","unRealizedProfit":"0.76427700","liquidationPrice":"0","isolatedMargin":"0","notional":"12.31427700","marginAsset":"USDT","isolatedWallet":"0","initialMargin":"0.61571385","maintMargin":"0.08004774","positionInitialMargin":"0.61571385","openOrderInitialMargin":"0","adl":2,"bidNotional":"0","askNotional":"0","updateTime":1720736417660}"#).unwrap();
        assert_eq!(p.amount().unwrap(), 30.0);
        assert_eq!(p.entry().unwrap(), 0.385);
        assert_eq!(p.mark().unwrap(), 0.4104759);
        assert_eq!(p.liquidation().unwrap(), 0.0);
        let b: LeverageBracket = serde_json::from_str(r#"{"bracket":1,"initialLeverage":75,"notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0}"#).unwrap();
        assert_eq!(b.maint_margin_ratio, 0.0065);
    }
}
