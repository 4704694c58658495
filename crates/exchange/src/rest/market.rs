//! Public market endpoints: ping, server time, exchangeInfo, premium index.

use super::endpoints::{EXCHANGE_INFO, PING, PREMIUM_INDEX, TIME};
use super::transport::Form;
use super::RestClient;
use crate::error::Result;
use crate::wire::account::{ExchangeInfo, ServerTime};
use crate::wire::market::MarkPriceInfo;

impl RestClient {
    // ------------------------------------------------------------ public

    /// `GET /fapi/v1/ping`: opens (or keeps) the pooled connection.
    pub async fn ping(&self) -> Result<()> {
        self.request(&PING, Form::new()).await.map(|_| ())
    }

    /// Same as [`RestClient::ping`]; named for intent.
    pub async fn warm(&self) -> Result<()> {
        self.ping().await
    }

    /// `GET /fapi/v1/time`.
    pub async fn server_time(&self) -> Result<u64> {
        let t: ServerTime = self.get_json(&TIME, Form::new()).await?;
        Ok(t.server_time)
    }

    /// `GET /fapi/v1/exchangeInfo` (weight 1). Its `rateLimits` become the limits of
    /// [`RestClient::rate_view`].
    pub async fn exchange_info(&self) -> Result<ExchangeInfo> {
        let info: ExchangeInfo = self.get_json(&EXCHANGE_INFO, Form::new()).await?;
        self.set_exchange_limits(info.limits());
        Ok(info)
    }

    /// `GET /fapi/v1/premiumIndex?symbol=` (weight 1): mark price, index price, funding.
    /// A fallback mark, and the rate to convert a commission paid in BNB to USDT
    /// (`mark_price("BNBUSDT")`).
    pub async fn mark_price(&self, symbol: &str) -> Result<MarkPriceInfo> {
        self.get_json(&PREMIUM_INDEX, Form::new().with("symbol", symbol))
            .await
    }
}
