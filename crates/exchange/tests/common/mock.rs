//! The in-process mock exchange with a started client and its order templates, and the
//! order builders and assertions the mock-based tests share.

use std::sync::Arc;

use shmtrader_core::instrument::Instrument;
use shmtrader_core::Side;
use shmtrader_exchange::rest::{RestClient, RestConfig};
use shmtrader_exchange::sign::Credentials;
use shmtrader_exchange::template::{
    OrderKind, OrderRequest, Price, Qty, SymbolTemplate, TemplateBook, TimeInForce,
};
use shmtrader_exchange::{ApiErrorKind, ExchangeError};
use shmtrader_mockex::{MockConfig, MockHandle};

pub fn mock_cfg() -> MockConfig {
    MockConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        symbols: vec![
            "BTCUSDT".into(),
            "ETHUSDT".into(),
            "SOLUSDT".into(),
            "LINKUSDT".into(),
        ],
        ..Default::default()
    }
}

pub fn creds() -> Credentials {
    Credentials::new("paper-key", "paper-secret").unwrap()
}

pub struct Env {
    pub mock: MockHandle,
    pub client: Arc<RestClient>,
    pub book: TemplateBook,
}

pub async fn env_with(cfg: MockConfig, rest: impl FnOnce(RestConfig) -> RestConfig) -> Env {
    let mock = shmtrader_mockex::spawn(cfg).await.unwrap();
    let client = RestClient::new(rest(RestConfig::mock(&mock.http_url())), Some(creds())).unwrap();
    client.start().await.unwrap();
    let info = client.exchange_info().await.unwrap();
    let book = TemplateBook::from_exchange_info(
        &info,
        &["BTCUSDT", "ETHUSDT", "SOLUSDT", "LINKUSDT"],
        &client.template_config(),
    )
    .unwrap();
    Env {
        mock,
        client: Arc::new(client),
        book,
    }
}

pub async fn env() -> Env {
    env_with(mock_cfg(), |c| c).await
}

impl Env {
    pub fn tpl(&self, s: &str) -> &SymbolTemplate {
        self.book.get(s).unwrap()
    }
    pub fn rules(&self, s: &str) -> &Instrument {
        self.tpl(s).rules()
    }
    /// (best bid, best ask) from the mock's book ticker.
    pub async fn touch(&self, symbol: &str) -> (f64, f64) {
        let v: serde_json::Value = reqwest::get(format!(
            "{}/fapi/v1/ticker/bookTicker?symbol={symbol}",
            self.mock.http_url()
        ))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let f = |k: &str| v[k].as_str().unwrap().parse::<f64>().unwrap();
        (f("bidPrice"), f("askPrice"))
    }
    pub fn mock_order(&self, coid: &str) -> serde_json::Value {
        self.mock
            .orders_json()
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["clientOrderId"] == coid)
            .cloned()
            .unwrap_or(serde_json::Value::Null)
    }
    pub fn mock_order_count(&self, coid: &str) -> usize {
        self.mock
            .orders()
            .iter()
            .filter(|o| o.client_id == coid)
            .count()
    }
}

pub fn market<'a>(side: Side, qty: Qty, coid: &'a str) -> OrderRequest<'a> {
    OrderRequest {
        side,
        kind: OrderKind::Market,
        qty,
        price: Price(0),
        reduce_only: false,
        client_order_id: coid,
        reference_price: None,
    }
}

pub fn limit<'a>(
    side: Side,
    tif: TimeInForce,
    qty: Qty,
    price: Price,
    coid: &'a str,
) -> OrderRequest<'a> {
    OrderRequest {
        side,
        kind: OrderKind::Limit(tif),
        qty,
        price,
        reduce_only: false,
        client_order_id: coid,
        reference_price: None,
    }
}

#[track_caller]
pub fn assert_api(e: &ExchangeError, code: i64, kind: ApiErrorKind) {
    match e {
        ExchangeError::Api {
            code: c, kind: k, ..
        } => {
            assert_eq!((*c, *k), (code, kind), "{e}");
        }
        other => panic!("expected API error {code}, got {other}"),
    }
}
