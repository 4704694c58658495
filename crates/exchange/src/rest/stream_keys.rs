//! User-data stream keys (`/fapi/v1/listenKey`): API-key header, no signature. They go
//! through the same client as every other call, so their weight is counted and a 429 /
//! 418 gate holds them too.

use super::endpoints::{LISTEN_KEY_CLOSE, LISTEN_KEY_KEEP, LISTEN_KEY_NEW};
use super::transport::Form;
use super::RestClient;
use crate::error::Result;
use crate::wire::account::ListenKey;

impl RestClient {
    // ------------------------------------------------------------ user stream keys

    /// `POST /fapi/v1/listenKey` (weight 1): returns the active key, extended, if there
    /// is one. The key prints `***` in `Debug`; [`ListenKey::expose`] gives the text.
    pub async fn create_listen_key(&self) -> Result<ListenKey> {
        self.get_json(&LISTEN_KEY_NEW, Form::new()).await
    }

    /// `PUT /fapi/v1/listenKey` (weight 1): extends the key by 60 minutes. An
    /// [`crate::ApiErrorKind::InvalidListenKey`] error (-1125) means it expired: create
    /// a new one.
    pub async fn keepalive_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_KEEP, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
    }

    /// `DELETE /fapi/v1/listenKey` (weight 1): closes the user stream.
    pub async fn close_listen_key(&self, key: &str) -> Result<()> {
        self.request(&LISTEN_KEY_CLOSE, Form::new().with("listenKey", key))
            .await
            .map(|_| ())
    }
}
