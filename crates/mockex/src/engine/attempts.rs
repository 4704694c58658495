//! The attempt log: every order attempt the exchange judged, accepted or refused, in the
//! order it judged them — REST orders, each item of a batch, algo orders, and the orders
//! the exchange generates itself (a triggered algo order, a liquidation).
//!
//! Refusals before the matching engine (rate limits, signature, timestamp) are not order
//! attempts the exchange saw and are not logged.

use serde_json::{json, Map, Value};

use super::params::{param, Params};
use super::Engine;
use crate::api_error::ApiError;

/// Where an attempt came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /fapi/v1/order`.
    Order,
    /// One item of `POST /fapi/v1/batchOrders`.
    Batch,
    /// `POST /fapi/v1/algoOrder`.
    AlgoOrder,
    /// The order a triggered algo order placed in the matching engine.
    AlgoTrigger,
    /// A liquidation (`autoclose-` order).
    Liquidation,
}

impl Endpoint {
    /// The `endpoint` text of `GET /mock/orders`.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Order => "POST /fapi/v1/order",
            Endpoint::Batch => "POST /fapi/v1/batchOrders",
            Endpoint::AlgoOrder => "POST /fapi/v1/algoOrder",
            Endpoint::AlgoTrigger => "ALGO_TRIGGER",
            Endpoint::Liquidation => "LIQUIDATION",
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted: the order id (or the algo id for an algo order).
    Accepted(u64),
    /// Refused with Binance's code and message.
    Refused {
        /// Error code.
        code: i64,
        /// Message.
        msg: String,
    },
}

/// One order attempt. Text fields are as sent (absent = `None`); for orders the
/// exchange generated they are the order's own values.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    /// Server time (ms).
    pub time: u64,
    /// Origin.
    pub endpoint: Endpoint,
    /// `newClientOrderId` (`clientAlgoId` for an algo order); the generated id when the
    /// request sent none.
    pub client_id: String,
    /// Symbol.
    pub symbol: Option<String>,
    /// Side.
    pub side: Option<String>,
    /// Order type.
    pub order_type: Option<String>,
    /// Quantity.
    pub quantity: Option<String>,
    /// Limit price.
    pub price: Option<String>,
    /// Trigger price (algo orders).
    pub trigger_price: Option<String>,
    /// reduceOnly as sent (`"true"` in any case).
    pub reduce_only: bool,
    /// closePosition as sent.
    pub close_position: bool,
    /// The algo order behind an `AlgoTrigger` attempt.
    pub algo_id: Option<u64>,
    /// Result.
    pub outcome: Outcome,
}

impl Attempt {
    /// An attempt described by its request parameters.
    pub(super) fn from_params(
        time: u64,
        endpoint: Endpoint,
        client_id: String,
        p: &Params,
        outcome: Outcome,
    ) -> Attempt {
        let s = |k: &str| param(p, k).map(str::to_string);
        let b = |k: &str| param(p, k).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Attempt {
            time,
            endpoint,
            client_id,
            symbol: s("symbol"),
            side: s("side"),
            order_type: s("type"),
            quantity: s("quantity"),
            price: s("price"),
            trigger_price: s("triggerPrice"),
            reduce_only: b("reduceOnly"),
            close_position: b("closePosition"),
            algo_id: None,
            outcome,
        }
    }

    /// True when the exchange accepted it.
    pub fn accepted(&self) -> bool {
        matches!(self.outcome, Outcome::Accepted(_))
    }

    /// The `GET /mock/orders` entry.
    pub fn json(&self) -> Value {
        let algo = self.endpoint == Endpoint::AlgoOrder;
        let mut m = Map::new();
        let mut put = |k: &str, v: Value| {
            m.insert(k.to_string(), v);
        };
        put("time", json!(self.time));
        put("endpoint", json!(self.endpoint.as_str()));
        put("accepted", json!(self.accepted()));
        put("clientOrderId", json!(self.client_id));
        if algo {
            put("clientAlgoId", json!(self.client_id));
        }
        put("symbol", json!(self.symbol));
        put("side", json!(self.side));
        put("type", json!(self.order_type));
        put("quantity", json!(self.quantity));
        put("price", json!(self.price));
        if algo {
            put("triggerPrice", json!(self.trigger_price));
        }
        put("reduceOnly", json!(self.reduce_only));
        put("closePosition", json!(self.close_position));
        if let Some(a) = self.algo_id {
            put("algoId", json!(a));
        }
        match &self.outcome {
            Outcome::Accepted(id) if algo => put("algoId", json!(id)),
            Outcome::Accepted(id) => put("orderId", json!(id)),
            Outcome::Refused { code, msg } => {
                put("code", json!(code));
                put("msg", json!(msg));
            }
        }
        Value::Object(m)
    }
}

/// The outcome of a request's result.
pub(super) fn outcome<T>(r: &Result<T, ApiError>, id: impl Fn(&T) -> u64) -> Outcome {
    match r {
        Ok(v) => Outcome::Accepted(id(v)),
        Err(e) => Outcome::Refused {
            code: e.code,
            msg: e.msg.clone(),
        },
    }
}

impl Engine {
    /// Appends one attempt.
    pub(super) fn log_attempt(&mut self, a: Attempt) {
        self.attempts.push(a);
    }

    /// Logs an attempt refused before it could be read as an order (a batch item that
    /// is not a JSON object).
    pub fn refuse_attempt(&mut self, endpoint: Endpoint, p: &Params, e: &ApiError) {
        let client_id = param(p, "newClientOrderId").unwrap_or_default().to_string();
        let oc = Outcome::Refused {
            code: e.code,
            msg: e.msg.clone(),
        };
        self.log_attempt(Attempt::from_params(
            super::now_ms(),
            endpoint,
            client_id,
            p,
            oc,
        ));
    }

    /// Every attempt, in the order the exchange judged them.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// `GET /mock/orders`: the attempt log as JSON.
    pub fn attempts_json(&self) -> Value {
        Value::Array(self.attempts.iter().map(Attempt::json).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ps(kv: &[(&str, &str)]) -> Params {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn refused_order_entry_names_code_and_sent_fields() {
        let p = ps(&[
            ("symbol", "BTCUSDT"),
            ("side", "BUY"),
            ("type", "MARKET"),
            ("quantity", "0.001"),
            ("reduceOnly", "TRUE"),
        ]);
        let a = Attempt::from_params(
            7,
            Endpoint::Order,
            "c-1".into(),
            &p,
            Outcome::Refused {
                code: -4164,
                msg: "small".into(),
            },
        );
        assert_eq!(
            a.json(),
            json!({"time":7,"endpoint":"POST /fapi/v1/order","accepted":false,"clientOrderId":"c-1",
                   "symbol":"BTCUSDT","side":"BUY","type":"MARKET","quantity":"0.001","price":null,
                   "reduceOnly":true,"closePosition":false,"code":-4164,"msg":"small"})
        );
    }

    #[test]
    fn accepted_algo_entry_carries_client_algo_id_and_algo_id() {
        let p = ps(&[
            ("symbol", "ETHUSDT"),
            ("side", "SELL"),
            ("type", "STOP_MARKET"),
            ("triggerPrice", "3000.00"),
            ("closePosition", "true"),
        ]);
        let v = Attempt::from_params(
            1,
            Endpoint::AlgoOrder,
            "sl-1".into(),
            &p,
            Outcome::Accepted(42),
        )
        .json();
        assert_eq!(v["accepted"], true);
        assert_eq!(v["clientOrderId"], "sl-1");
        assert_eq!(v["clientAlgoId"], "sl-1");
        assert_eq!(v["algoId"], 42);
        assert_eq!(v["triggerPrice"], "3000.00");
        assert_eq!(v["closePosition"], true);
        assert!(v.get("orderId").is_none() && v.get("code").is_none());
    }

    #[test]
    fn outcome_of_a_result() {
        let ok: Result<u64, ApiError> = Ok(5);
        assert_eq!(outcome(&ok, |v| *v), Outcome::Accepted(5));
        let err: Result<u64, ApiError> = Err(ApiError::new(-2019, "Margin is insufficient."));
        assert_eq!(
            outcome(&err, |v| *v),
            Outcome::Refused {
                code: -2019,
                msg: "Margin is insufficient.".into()
            }
        );
    }
}
