//! HMAC-SHA256 request signing and the credential types.
//!
//! Binance signs `totalParams = queryString + requestBody` (no `&` between them) with
//! HMAC-SHA256 keyed by the API secret, hex-encoded; `signature=` must be the last
//! parameter. The secret never leaves this module: [`Signer`] holds only the keyed HMAC
//! state, and every credential type prints `***` in `Debug`, so a `{:?}` of a config or
//! client can never leak a key into logs or the journal.
//!
//! The keyed state is computed once ([`Signer::new`]) and cloned per signature: cloning
//! a keyed HMAC copies two SHA-256 states instead of re-hashing the key pads, and needs
//! no allocation, which keeps signing on the order hot path allocation-free.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{ExchangeError, Result};

type HmacSha256 = Hmac<Sha256>;

/// Length of a hex HMAC-SHA256 signature.
pub const SIGNATURE_HEX_LEN: usize = 64;

/// The API key, sent as `X-MBX-APIKEY`. `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key; refuses an empty one or one that cannot be an HTTP header value.
    pub fn new(key: impl Into<String>) -> Result<ApiKey> {
        let key = key.into();
        if key.is_empty() {
            return Err(ExchangeError::Invalid {
                what: "api key",
                reason: "empty".into(),
            });
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ExchangeError::Invalid {
                what: "api key",
                reason: "contains whitespace or non-ASCII characters".into(),
            });
        }
        Ok(ApiKey(key))
    }
    /// The key itself, for the request header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// The API secret. `Debug` prints `***`; there is no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiSecret(String);

impl ApiSecret {
    /// Wraps a secret; refuses an empty one.
    pub fn new(secret: impl Into<String>) -> Result<ApiSecret> {
        let secret = secret.into();
        if secret.is_empty() {
            return Err(ExchangeError::Invalid {
                what: "api secret",
                reason: "empty".into(),
            });
        }
        Ok(ApiSecret(secret))
    }
}

impl std::fmt::Debug for ApiSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiSecret(***)")
    }
}

/// An API key and its secret.
#[derive(Clone, Debug)]
pub struct Credentials {
    /// The key (header).
    pub key: ApiKey,
    /// The secret (signing).
    pub secret: ApiSecret,
}

impl Credentials {
    /// Validates and pairs a key and a secret.
    pub fn new(key: impl Into<String>, secret: impl Into<String>) -> Result<Credentials> {
        Ok(Credentials {
            key: ApiKey::new(key)?,
            secret: ApiSecret::new(secret)?,
        })
    }
}

/// HMAC-SHA256 signer keyed once with the API secret.
#[derive(Clone)]
pub struct Signer {
    keyed: HmacSha256,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(***)")
    }
}

impl Signer {
    /// Keys the HMAC with `secret`. (HMAC takes keys of any length, so this only fails
    /// if the `hmac` crate changes its contract; it is still reported, never a panic.)
    pub fn new(secret: &ApiSecret) -> Result<Signer> {
        let keyed = HmacSha256::new_from_slice(secret.0.as_bytes()).map_err(|e| {
            ExchangeError::Invalid {
                what: "api secret",
                reason: format!("cannot key HMAC-SHA256: {e}"),
            }
        })?;
        Ok(Signer { keyed })
    }

    /// Hex (lowercase) signature of `payload`, into a stack buffer.
    pub fn sign_hex(&self, payload: &[u8]) -> [u8; SIGNATURE_HEX_LEN] {
        let mut mac = self.keyed.clone();
        mac.update(payload);
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; SIGNATURE_HEX_LEN];
        // 32 bytes into 64 hex digits: the sizes match by construction.
        if hex::encode_to_slice(digest, &mut out).is_err() {
            out = [b'0'; SIGNATURE_HEX_LEN];
        }
        out
    }

    /// Hex signature of `payload` as a `String` (for cold paths and tests).
    pub fn sign(&self, payload: &str) -> String {
        let hex = self.sign_hex(payload.as_bytes());
        hex.iter().map(|b| *b as char).collect()
    }

    /// Signs everything already in `buf` and appends `&signature=<hex>` (or
    /// `signature=<hex>` if `buf` is empty). No allocation once `buf` has capacity.
    pub fn append_signature(&self, buf: &mut Vec<u8>) {
        let sig = self.sign_hex(buf);
        if !buf.is_empty() {
            buf.push(b'&');
        }
        buf.extend_from_slice(b"signature=");
        buf.extend_from_slice(&sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(secret: &str) -> Signer {
        Signer::new(&ApiSecret::new(secret).unwrap()).unwrap()
    }

    /// The USD-M docs' vector (shared/binance-usdm.md §4, checked with openssl).
    #[test]
    fn usdm_documented_test_vector() {
        let s = signer("2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9");
        let payload = "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943";
        assert_eq!(
            s.sign(payload),
            "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
        );
    }

    /// The classic spot-docs vector. The value is the one `openssl dgst -sha256 -hmac`
    /// computes; a widely copied variant ending in `...b9b9c4d6c7a7f9e9c8` is wrong.
    #[test]
    fn classic_spot_test_vector() {
        let s = signer("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j");
        let payload = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
        assert_eq!(
            s.sign(payload),
            "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
        );
    }

    #[test]
    fn append_signature_signs_the_buffer_and_is_lowercase() {
        let s = signer("paper-secret");
        let mut buf = b"a=1&timestamp=2".to_vec();
        let expect = s.sign("a=1&timestamp=2");
        s.append_signature(&mut buf);
        let text = String::from_utf8(buf).unwrap();
        assert_eq!(text, format!("a=1&timestamp=2&signature={expect}"));
        assert!(expect
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        let mut empty = Vec::new();
        s.append_signature(&mut empty);
        assert!(empty.starts_with(b"signature="));
    }

    #[test]
    fn keys_never_print() {
        let c = Credentials::new("my-key-123", "my-secret-456").unwrap();
        let dbg = format!("{c:?} {} {:?}", c.key, Signer::new(&c.secret).unwrap());
        assert!(!dbg.contains("my-key-123"), "{dbg}");
        assert!(!dbg.contains("my-secret-456"), "{dbg}");
        assert!(dbg.contains("***"));
        assert_eq!(c.key.expose(), "my-key-123");
    }

    #[test]
    fn bad_credentials_are_refused() {
        assert!(ApiKey::new("").is_err());
        assert!(ApiKey::new("has space").is_err());
        assert!(ApiSecret::new("").is_err());
    }
}
