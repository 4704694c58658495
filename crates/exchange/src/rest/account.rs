//! Account settings (leverage, margin type) and account views (positions, balances,
//! account totals).

use serde::Deserialize;

use super::endpoints::{
    ACCOUNT_V2, ACCOUNT_V3, BALANCE_V2, LEVERAGE, LEVERAGE_BRACKET, MARGIN_TYPE, POSITION_MODE_GET,
    POSITION_MODE_SET, POSITION_RISK_V2, POSITION_RISK_V3,
};
use super::transport::Form;
use super::RestClient;
use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::wire::account::{
    Account, Balance, LeverageBrackets, LeverageResponse, PositionRiskV2, PositionRiskV3,
};

/// Margin mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarginType {
    /// Isolated margin.
    Isolated,
    /// Cross margin.
    Crossed,
}

impl RestClient {
    // ------------------------------------------------------------ account settings

    /// `POST /fapi/v1/leverage` (weight 1).
    pub async fn set_leverage(&self, symbol: &str, leverage: u32) -> Result<LeverageResponse> {
        if !(1..=125).contains(&leverage) {
            return Err(ExchangeError::Invalid {
                what: "leverage",
                reason: format!("{leverage} is outside 1..=125"),
            });
        }
        let f = Form::new()
            .with("symbol", symbol)
            .with("leverage", &leverage.to_string());
        self.get_json(&LEVERAGE, f).await
    }

    /// `POST /fapi/v1/marginType` (weight 1). Returns `false` when it already had that value
    /// (Binance's -4046 "No need to change margin type", a success in effect).
    pub async fn set_margin_type(&self, symbol: &str, m: MarginType) -> Result<bool> {
        let v = match m {
            MarginType::Isolated => "ISOLATED",
            MarginType::Crossed => "CROSSED",
        };
        let f = Form::new().with("symbol", symbol).with("marginType", v);
        match self.request(&MARGIN_TYPE, f).await {
            Ok(_) => Ok(true),
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /fapi/v1/positionSide/dual` (weight 30): `true` in Hedge Mode (LONG and
    /// SHORT positions per symbol), `false` in One-way Mode (`BOTH`), which is what the
    /// executor trades.
    ///
    /// ```json
    /// {"dualSidePosition":true}
    /// ```
    pub async fn position_mode(&self) -> Result<bool> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Dual {
            dual_side_position: bool,
        }
        let d: Dual = self.get_json(&POSITION_MODE_GET, Form::new()).await?;
        Ok(d.dual_side_position)
    }

    /// `POST /fapi/v1/positionSide/dual` (weight 1): `dual = false` for One-way Mode.
    /// Returns `true` if the mode changed, `false` if it already was `dual` (Binance's
    /// -4059 "No need to change position side.", a success in effect). Binance refuses
    /// the change while the account has open positions or orders.
    pub async fn set_position_mode(&self, dual: bool) -> Result<bool> {
        let f = Form::new().with("dualSidePosition", if dual { "true" } else { "false" });
        match self.request(&POSITION_MODE_SET, f).await {
            Ok(_) => Ok(true),
            Err(e) if e.api_kind() == Some(ApiErrorKind::NoChangeNeeded) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `GET /fapi/v1/leverageBracket` (one object with a symbol, a list without: both
    /// come back as a list).
    pub async fn leverage_brackets(&self, symbol: Option<&str>) -> Result<Vec<LeverageBrackets>> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            Many(Vec<LeverageBrackets>),
            One(LeverageBrackets),
        }
        let r: OneOrMany = self
            .get_json(&LEVERAGE_BRACKET, Form::new().opt("symbol", symbol))
            .await?;
        Ok(match r {
            OneOrMany::Many(v) => v,
            OneOrMany::One(b) => vec![b],
        })
    }

    /// `GET /fapi/v2/positionRisk` (weight 5).
    pub async fn position_risk_v2(&self, symbol: Option<&str>) -> Result<Vec<PositionRiskV2>> {
        self.get_json(&POSITION_RISK_V2, Form::new().opt("symbol", symbol))
            .await
    }

    /// `GET /fapi/v3/positionRisk` (weight 5; only symbols with a position or open orders).
    pub async fn position_risk_v3(&self, symbol: Option<&str>) -> Result<Vec<PositionRiskV3>> {
        self.get_json(&POSITION_RISK_V3, Form::new().opt("symbol", symbol))
            .await
    }

    /// `GET /fapi/v2/balance` (weight 5): per-asset wallet and available balance.
    pub async fn balance(&self) -> Result<Vec<Balance>> {
        self.get_json(&BALANCE_V2, Form::new()).await
    }

    /// `GET /fapi/v2/account` (weight 5): totals, assets, every symbol's position row
    /// (with `entryPrice`).
    pub async fn account(&self) -> Result<Account> {
        self.get_json(&ACCOUNT_V2, Form::new()).await
    }

    /// `GET /fapi/v3/account` (weight 5): totals, assets, and only the symbols with a
    /// position or open orders (without `entryPrice`).
    pub async fn account_v3(&self) -> Result<Account> {
        self.get_json(&ACCOUNT_V3, Form::new()).await
    }
}
