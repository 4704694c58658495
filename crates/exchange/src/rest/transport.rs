//! Sending a request: form encoding, signing, the HTTP exchange, and turning a non-2xx
//! answer into the right [`ExchangeError`].

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;

use super::endpoints::{Ep, Security};
use super::limits::GateKind;
use super::RestClient;
use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::sign::Signer;
use crate::wire::account::{truncate, ApiErrorBody};

/// Form-encoded parameters for the cold endpoints.
#[derive(Debug, Default, Clone)]
pub(super) struct Form(pub(super) String);

impl Form {
    pub(super) fn new() -> Form {
        Form(String::with_capacity(128))
    }
    pub(super) fn push(&mut self, k: &str, v: &str) -> &mut Form {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(k);
        self.0.push('=');
        for b in v.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                self.0.push(b as char);
            } else {
                self.0.push_str(&format!("%{b:02X}"));
            }
        }
        self
    }
    pub(super) fn with(mut self, k: &str, v: &str) -> Form {
        self.push(k, v);
        self
    }
    pub(super) fn opt(self, k: &str, v: Option<&str>) -> Form {
        match v {
            Some(v) => self.with(k, v),
            None => self,
        }
    }
}

impl RestClient {
    // ------------------------------------------------------------ transport

    pub(super) fn url(&self, ep: &Ep) -> String {
        format!("{}{}{}", self.cfg.base_url, self.cfg.api_prefix, ep.path)
    }

    pub(super) fn signer(&self, ep: &Ep) -> Result<&Signer> {
        self.signer.as_ref().ok_or(ExchangeError::Invalid {
            what: "credentials",
            reason: format!(
                "{} needs an API key and secret; this client has none",
                ep.name
            ),
        })
    }

    /// Sends `params` (signed if the endpoint requires it), with one resync-and-retry on
    /// -1021.
    pub(super) async fn request(&self, ep: &Ep, params: Form) -> Result<Vec<u8>> {
        match self.request_once(ep, &params).await {
            Err(e)
                if ep.sec == Security::Signed && e.api_kind() == Some(ApiErrorKind::Timestamp) =>
            {
                tracing::warn!(
                    endpoint = ep.name,
                    "timestamp rejected (-1021); resyncing server time and retrying once"
                );
                self.sync_time().await?;
                self.timestamp_retries.fetch_add(1, Ordering::Relaxed);
                self.request_once(ep, &params).await
            }
            r => r,
        }
    }

    pub(super) async fn request_once(&self, ep: &Ep, params: &Form) -> Result<Vec<u8>> {
        self.check_gate(ep.name)?;
        let payload = if ep.sec == Security::Signed {
            let signer = self.signer(ep)?;
            let mut f = params.clone();
            f.push("recvWindow", &self.cfg.recv_window_ms.to_string());
            f.push("timestamp", &self.timestamp_ms().to_string());
            let sig = signer.sign(&f.0);
            f.push("signature", &sig);
            f.0
        } else {
            params.0.clone()
        };
        let method = Method::from_bytes(ep.method.as_bytes()).unwrap_or(Method::GET);
        let body_in_form = matches!(ep.method, "POST" | "PUT");
        let mut url = self.url(ep);
        if !body_in_form && !payload.is_empty() {
            url.push('?');
            url.push_str(&payload);
        }
        let mut rb = self.http.request(method, url);
        if ep.sec != Security::None {
            let key = self.api_key.clone().ok_or(ExchangeError::Invalid {
                what: "credentials",
                reason: format!("{} needs an API key; this client has none", ep.name),
            })?;
            rb = rb.header("X-MBX-APIKEY", key);
        }
        if body_in_form {
            rb = rb
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(payload);
        }
        self.execute(ep.name, rb).await
    }

    pub(super) async fn execute(
        &self,
        endpoint: &'static str,
        rb: reqwest::RequestBuilder,
    ) -> Result<Vec<u8>> {
        let resp = rb.send().await.map_err(|e| transport(endpoint, e))?;
        let status = resp.status();
        self.note_headers(resp.headers());
        // Read before the body consumes the response; only an error needs it, so a
        // successful order does not copy its header map.
        let retry_after = if status.is_success() {
            None
        } else {
            Self::retry_after(resp.headers())
        };
        let body = resp.bytes().await.map_err(|e| transport(endpoint, e))?;
        self.check_status(endpoint, status, retry_after, &body)?;
        Ok(body.to_vec())
    }

    /// Turns a non-2xx answer into the right error (and closes the gate on 429 / 418).
    pub(super) fn check_status(
        &self,
        endpoint: &'static str,
        status: StatusCode,
        retry_after: Option<Duration>,
        body: &[u8],
    ) -> Result<()> {
        if status.is_success() {
            return Ok(());
        }
        let api: Option<ApiErrorBody> = serde_json::from_slice(body).ok();
        let msg = api
            .as_ref()
            .map(|a| a.msg.clone())
            .unwrap_or_else(|| truncate(&String::from_utf8_lossy(body), 300).to_string());
        match status.as_u16() {
            429 => {
                let retry_after = retry_after.unwrap_or(self.cfg.default_retry_after);
                self.close_gate(GateKind::RateLimited, retry_after);
                tracing::warn!(endpoint, ?retry_after, "HTTP 429: backing off");
                Err(ExchangeError::RateLimited {
                    endpoint,
                    code: api.as_ref().map_or(-1003, |a| a.code),
                    retry_after,
                    msg,
                })
            }
            418 => {
                let retry_after = retry_after
                    .or_else(|| self.ban_from_msg(&msg))
                    .unwrap_or(self.cfg.default_ban);
                self.close_gate(GateKind::Banned, retry_after);
                tracing::error!(
                    endpoint,
                    ?retry_after,
                    "HTTP 418: IP banned; every call refused until the ban ends"
                );
                Err(ExchangeError::Banned {
                    endpoint,
                    retry_after,
                    msg,
                })
            }
            s => match api {
                Some(a) => Err(ExchangeError::Api {
                    endpoint,
                    status: s,
                    code: a.code,
                    kind: ApiErrorKind::from_code(a.code),
                    msg: a.msg,
                }),
                None => Err(ExchangeError::Http {
                    endpoint,
                    status: s,
                    body: msg,
                }),
            },
        }
    }

    pub(super) async fn get_json<T: DeserializeOwned>(&self, ep: &Ep, params: Form) -> Result<T> {
        let body = self.request(ep, params).await?;
        decode(ep.name, &body)
    }

    /// Any signed endpoint, for what has no typed method (e.g. `positionSide/dual`).
    /// `method` is GET / POST / PUT / DELETE; `path` is relative to the API prefix
    /// (`/v1/positionSide/dual`). Errors are classified like every other call.
    pub async fn signed_json(
        &self,
        method: &'static str,
        path: &'static str,
        params: &[(&str, &str)],
    ) -> Result<serde_json::Value> {
        let ep = Ep {
            method,
            path,
            name: "signed request",
            sec: Security::Signed,
        };
        let mut f = Form::new();
        for (k, v) in params {
            f.push(k, v);
        }
        self.get_json(&ep, f).await
    }
}

/// A transport error without its URL: signed query strings and listenKeys stay out of
/// error messages and logs.
pub(super) fn transport(endpoint: &'static str, e: reqwest::Error) -> ExchangeError {
    ExchangeError::Transport {
        endpoint,
        source: e.without_url(),
    }
}

pub(super) fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| ExchangeError::Malformed {
        what: endpoint,
        detail: format!("{e}: {}", truncate(&String::from_utf8_lossy(body), 300)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn form_encodes_reserved_characters() {
        let f = Form::new()
            .with("batchOrders", r#"[{"a":"b c"}]"#)
            .with("x", "a:b/c");
        assert_eq!(
            f.0,
            "batchOrders=%5B%7B%22a%22%3A%22b%20c%22%7D%5D&x=a%3Ab%2Fc"
        );
    }
}
