//! Conditional (algo) orders: stops and take-profits resting on the exchange.

use shmtrader_core::Side;

use super::endpoints::{ALGO_CANCEL, ALGO_NEW, ALGO_OPEN, ALGO_QUERY};
use super::reconcile::unknown_outcome;
use super::transport::Form;
use super::RestClient;
use crate::error::{ExchangeError, Result};
use crate::template::{Price, Qty, SymbolRules};
use crate::wire::account::{AlgoCancelResponse, AlgoOrderResponse};

/// Conditional order types (sent through the algo endpoint since Binance's late-2025
/// migration; `/fapi/v1/order` answers them with -4120).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlgoType {
    /// Market order when the trigger is hit (protective stop).
    StopMarket,
    /// Market take-profit.
    TakeProfitMarket,
    /// Limit order when the trigger is hit.
    Stop,
    /// Limit take-profit.
    TakeProfit,
}

impl AlgoType {
    fn as_str(self) -> &'static str {
        match self {
            AlgoType::StopMarket => "STOP_MARKET",
            AlgoType::TakeProfitMarket => "TAKE_PROFIT_MARKET",
            AlgoType::Stop => "STOP",
            AlgoType::TakeProfit => "TAKE_PROFIT",
        }
    }
    fn is_limit(self) -> bool {
        matches!(self, AlgoType::Stop | AlgoType::TakeProfit)
    }
}

/// Which price triggers a conditional order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkingType {
    /// Mark price (resists wicks on the last price).
    MarkPrice,
    /// Last traded price.
    ContractPrice,
}

/// A conditional (algo) order.
#[derive(Debug, Clone, Copy)]
pub struct AlgoOrderRequest<'a> {
    /// Side of the order the trigger creates.
    pub side: Side,
    /// Type.
    pub algo_type: AlgoType,
    /// Trigger price (on the tick grid).
    pub trigger_price: Price,
    /// Limit price for `Stop` / `TakeProfit`.
    pub price: Option<Price>,
    /// Quantity; `None` with `close_position`.
    pub qty: Option<Qty>,
    /// Close the whole position when triggered.
    pub close_position: bool,
    /// reduceOnly.
    pub reduce_only: bool,
    /// Trigger source.
    pub working_type: WorkingType,
    /// Refuse to trigger in a price spike beyond the exchange's protect threshold.
    pub price_protect: bool,
    /// Deterministic client id.
    pub client_algo_id: &'a str,
}

impl RestClient {
    // ------------------------------------------------------------ conditional orders

    /// `POST /fapi/v1/algoOrder` with `algoType=CONDITIONAL` (stops and take-profits).
    pub async fn new_algo_order(
        &self,
        rules: &SymbolRules,
        req: &AlgoOrderRequest<'_>,
    ) -> Result<AlgoOrderResponse> {
        if !crate::template::is_valid_client_order_id(req.client_algo_id) {
            return Err(ExchangeError::Invalid {
                what: "clientAlgoId",
                reason: format!("{:?} is not a valid client id", req.client_algo_id),
            });
        }
        rules.check_price(req.trigger_price)?;
        let mut f = Form::new()
            .with("algoType", "CONDITIONAL")
            .with("symbol", &rules.symbol)
            .with("side", req.side.as_str())
            .with("type", req.algo_type.as_str())
            .with("triggerPrice", &rules.fmt_price(req.trigger_price))
            .with(
                "workingType",
                match req.working_type {
                    WorkingType::MarkPrice => "MARK_PRICE",
                    WorkingType::ContractPrice => "CONTRACT_PRICE",
                },
            )
            .with("clientAlgoId", req.client_algo_id);
        if req.algo_type.is_limit() {
            let p = req.price.ok_or(ExchangeError::Invalid {
                what: "algo order",
                reason: format!("{} needs a limit price", req.algo_type.as_str()),
            })?;
            rules.check_price(p)?;
            f = f
                .with("price", &rules.fmt_price(p))
                .with("timeInForce", "GTC");
        }
        match (req.close_position, req.qty) {
            (true, None) => f = f.with("closePosition", "true"),
            (false, Some(q)) => {
                rules.check_qty(q, !req.algo_type.is_limit())?;
                f = f.with("quantity", &rules.fmt_qty(q));
            }
            _ => {
                return Err(ExchangeError::Invalid {
                    what: "algo order",
                    reason: "give either a quantity or closePosition, not both or neither".into(),
                })
            }
        }
        if req.reduce_only && !req.close_position {
            f = f.with("reduceOnly", "true");
        }
        if req.price_protect {
            f = f.with("priceProtect", "true");
        }
        match self.get_json(&ALGO_NEW, f).await {
            Err(e) => match unknown_outcome(&e) {
                // A protective stop that may or may not exist: find out, never resend.
                Some(cause) => {
                    tracing::warn!(symbol = %rules.symbol, id = req.client_algo_id, %cause, "algo order outcome unknown; reconciling by clientAlgoId");
                    self.settle(req.client_algo_id, &cause, || {
                        self.get_json::<AlgoOrderResponse>(
                            &ALGO_QUERY,
                            Form::new().with("clientAlgoId", req.client_algo_id),
                        )
                    })
                    .await
                }
                None => Err(e),
            },
            ok => ok,
        }
    }

    /// `DELETE /fapi/v1/algoOrder` by algo id.
    pub async fn cancel_algo_order(&self, algo_id: u64) -> Result<AlgoCancelResponse> {
        self.get_json(
            &ALGO_CANCEL,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `GET /fapi/v1/algoOrder` by algo id.
    pub async fn query_algo_order(&self, algo_id: u64) -> Result<AlgoOrderResponse> {
        self.get_json(
            &ALGO_QUERY,
            Form::new().with("algoId", &algo_id.to_string()),
        )
        .await
    }

    /// `GET /fapi/v1/openAlgoOrders`.
    pub async fn open_algo_orders(&self, symbol: Option<&str>) -> Result<Vec<AlgoOrderResponse>> {
        self.get_json(&ALGO_OPEN, Form::new().opt("symbol", symbol))
            .await
    }
}
