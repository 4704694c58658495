//! User-data stream keys (`/fapi/v1/listenKey`): API-key header, no signature.

use super::endpoints::{LISTEN_KEY_CLOSE, LISTEN_KEY_KEEP, LISTEN_KEY_NEW};
use super::transport::Form;
use super::RestClient;
use crate::error::Result;
use crate::wire::account::ListenKey;

impl RestClient {
    // ------------------------------------------------------------ user stream keys

    /// `POST /fapi/v1/listenKey` (returns the active key, extended, if there is one).
    pub async fn create_listen_key(&self) -> Result<String> {
        let k: ListenKey = self.get_json(&LISTEN_KEY_NEW, Form::new()).await?;
        Ok(k.listen_key)
    }

    /// `PUT /fapi/v1/listenKey`: extends the key by 60 minutes. -1125 means it expired.
    pub async fn keepalive_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_KEEP, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
    }

    /// `DELETE /fapi/v1/listenKey`: closes the user stream.
    pub async fn close_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_CLOSE, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
    }
}
