//! Orders: placement from templates (single and batch), cancel, query, open orders.

use std::sync::atomic::Ordering;

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;

use super::endpoints::{
    BATCH_ORDERS, CANCEL_ALL, OPEN_ORDERS, ORDER_CANCEL, ORDER_NEW, ORDER_QUERY,
};
use super::reconcile::{unknown_outcome, Placement};
use super::transport::{decode, Form};
use super::RestClient;
use crate::error::{ApiErrorKind, ExchangeError, Result};
use crate::template::{OrderKind, OrderRequest, RespType, SymbolTemplate};
use crate::wire::account::{ApiErrorBody, BatchItem, OrderResponse};

/// Which order a cancel or query refers to.
#[derive(Debug, Clone, Copy)]
pub enum OrderRef<'a> {
    /// Exchange order id.
    Id(u64),
    /// Client order id.
    Client(&'a str),
}

impl RestClient {
    // ------------------------------------------------------------ orders

    /// `POST /fapi/v1/order` from a template: checks the filters, signs in the reused
    /// buffer and sends. On an unknown outcome the order is looked up by its client id
    /// (see the module docs); on -1021 the time is resynced and the order re-signed once.
    pub async fn new_order(
        &self,
        tpl: &SymbolTemplate,
        req: &OrderRequest<'_>,
    ) -> Result<Placement> {
        let mut resynced = false;
        loop {
            self.check_gate(ORDER_NEW.name)?;
            let body = self.encode_order(tpl, req)?;
            let rb = self
                .http
                .request(Method::POST, self.order_url.clone())
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(body);
            let rb = match &self.api_key {
                Some(k) => rb.header("X-MBX-APIKEY", k.clone()),
                None => rb,
            };
            let res = self
                .execute(ORDER_NEW.name, rb)
                .await
                .and_then(|b| decode::<OrderResponse>(ORDER_NEW.name, &b));
            match res {
                Ok(o) => return Ok(Placement::Accepted(o)),
                Err(e) if !resynced && e.api_kind() == Some(ApiErrorKind::Timestamp) => {
                    tracing::warn!(
                        coid = req.client_order_id,
                        "order refused with -1021; resyncing time and re-signing once"
                    );
                    resynced = true;
                    self.sync_time().await?;
                    self.timestamp_retries.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => match unknown_outcome(&e) {
                    Some(cause) => {
                        return self
                            .reconcile(&tpl.rules().symbol, req.client_order_id, cause)
                            .await
                    }
                    None => return Err(e),
                },
            }
        }
    }

    fn encode_order(&self, tpl: &SymbolTemplate, req: &OrderRequest<'_>) -> Result<Vec<u8>> {
        let ts = self.timestamp_ms();
        let mut guard = self.encoder.lock().map_err(|_| ExchangeError::Invalid {
            what: "order encoder",
            reason: "lock poisoned by a panic elsewhere".into(),
        })?;
        let enc = guard.as_mut().ok_or(ExchangeError::Invalid {
            what: "credentials",
            reason: "placing orders needs an API key and secret; this client has none".into(),
        })?;
        // The copy is reqwest's: it needs an owned body.
        Ok(enc.encode(tpl, req, ts)?.to_vec())
    }

    /// `POST /fapi/v1/batchOrders`: up to 5 orders in one request. Each item's result is
    /// returned in request order. An unknown outcome of the whole batch is reconciled
    /// order by order.
    pub async fn new_orders_batch(
        &self,
        orders: &[(&SymbolTemplate, OrderRequest<'_>)],
    ) -> Result<Vec<Result<Placement>>> {
        if orders.is_empty() || orders.len() > 5 {
            return Err(ExchangeError::Invalid {
                what: "batch",
                reason: format!("{} orders; Binance takes 1 to 5", orders.len()),
            });
        }
        let mut items = Vec::with_capacity(orders.len());
        for (tpl, req) in orders {
            if !crate::template::is_valid_client_order_id(req.client_order_id) {
                return Err(ExchangeError::Invalid {
                    what: "newClientOrderId",
                    reason: format!("{:?} is not a valid client order id", req.client_order_id),
                });
            }
            let r = tpl.rules();
            r.check(
                req.qty,
                req.limit_price(),
                req.reference_price,
                req.reduce_only,
            )?;
            let mut o = serde_json::Map::new();
            let mut put = |k: &str, v: String| {
                o.insert(k.to_string(), serde_json::Value::String(v));
            };
            put("symbol", r.symbol.clone());
            put("side", req.side.as_str().into());
            put("type", req.kind.type_str().into());
            if let OrderKind::Limit(tif) = req.kind {
                put("timeInForce", tif.as_str().into());
                put("price", r.fmt_price(req.price));
            }
            put("quantity", r.fmt_qty(req.qty));
            if req.reduce_only {
                put("reduceOnly", "true".into());
            }
            put("newClientOrderId", req.client_order_id.into());
            put(
                "newOrderRespType",
                match self.cfg.resp_type {
                    RespType::Ack => "ACK",
                    RespType::Result => "RESULT",
                }
                .into(),
            );
            items.push(serde_json::Value::Object(o));
        }
        let json = serde_json::Value::Array(items).to_string();
        let res = self
            .request(&BATCH_ORDERS, Form::new().with("batchOrders", &json))
            .await
            .and_then(|b| decode::<Vec<BatchItem>>(BATCH_ORDERS.name, &b));
        match res {
            Ok(list) => {
                if list.len() != orders.len() {
                    return Err(ExchangeError::Malformed {
                        what: "batchOrders answer",
                        detail: format!("{} items for {} orders", list.len(), orders.len()),
                    });
                }
                Ok(list
                    .into_iter()
                    .map(|item| match item {
                        BatchItem::Order(o) => Ok(Placement::Accepted(o)),
                        BatchItem::Error(e) => Err(ExchangeError::Api {
                            endpoint: BATCH_ORDERS.name,
                            status: 200,
                            code: e.code,
                            kind: ApiErrorKind::from_code(e.code),
                            msg: e.msg,
                        }),
                    })
                    .collect())
            }
            Err(e) => match unknown_outcome(&e) {
                Some(cause) => {
                    let mut out = Vec::with_capacity(orders.len());
                    for (tpl, req) in orders {
                        out.push(
                            self.reconcile(&tpl.rules().symbol, req.client_order_id, cause.clone())
                                .await,
                        );
                    }
                    Ok(out)
                }
                None => Err(e),
            },
        }
    }

    fn order_ref(f: Form, r: OrderRef<'_>) -> Form {
        match r {
            OrderRef::Id(id) => f.with("orderId", &id.to_string()),
            OrderRef::Client(c) => f.with("origClientOrderId", c),
        }
    }

    /// `DELETE /fapi/v1/order`.
    pub async fn cancel_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_CANCEL, f).await
    }

    /// `GET /fapi/v1/order`.
    pub async fn query_order(&self, symbol: &str, r: OrderRef<'_>) -> Result<OrderResponse> {
        let f = Self::order_ref(Form::new().with("symbol", symbol), r);
        self.get_json(&ORDER_QUERY, f).await
    }

    /// `GET /fapi/v1/openOrders` (weight 1 with a symbol, 40 without).
    pub async fn open_orders(&self, symbol: Option<&str>) -> Result<Vec<OrderResponse>> {
        self.get_json(&OPEN_ORDERS, Form::new().opt("symbol", symbol))
            .await
    }

    /// `DELETE /fapi/v1/allOpenOrders`.
    pub async fn cancel_all_open_orders(&self, symbol: &str) -> Result<ApiErrorBody> {
        self.get_json(&CANCEL_ALL, Form::new().with("symbol", symbol))
            .await
    }
}
