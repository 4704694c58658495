//! Public market endpoints: ping, server time, exchangeInfo.

use super::endpoints::{EXCHANGE_INFO, PING, TIME};
use super::transport::Form;
use super::RestClient;
use crate::error::Result;
use crate::wire::account::{ExchangeInfo, ServerTime};

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

    /// `GET /fapi/v1/exchangeInfo`.
    pub async fn exchange_info(&self) -> Result<ExchangeInfo> {
        self.get_json(&EXCHANGE_INFO, Form::new()).await
    }
}
