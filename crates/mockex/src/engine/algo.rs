//! Algo (conditional) orders, as Binance's Algo Service runs them since 2025-12:
//! placement through `POST /fapi/v1/algoOrder`, triggers on the mock's own tape (last
//! price on every trade for `CONTRACT_PRICE`, the mark price every second of data time
//! for `MARK_PRICE`), the order a trigger places in the matching engine, and the
//! `ALGO_UPDATE` user-stream events of the whole lifecycle:
//!
//! ```text
//! NEW ──trigger──> TRIGGERING ──> TRIGGERED (order placed; `ai` = its id) ──> FINISHED
//!  │                   │                                    (the order filled / expired / was cancelled)
//!  │                   ├──> REJECTED (the order was refused, e.g. margin; `rm` says why)
//!  │                   └──> EXPIRED  (reduce-only / closePosition with no position left)
//!  └──cancel──> CANCELED
//! ```
//!
//! TRIGGERING and TRIGGERED are sent before the placed order's first
//! ORDER_TRADE_UPDATE. Limits: at most [`MAX_OPEN_ALGO_ORDERS`] resting algo orders
//! across all symbols (-4045), and MAX_NUM_ORDERS per symbol counting normal and algo
//! orders together; one resting `closePosition` order per symbol, side and type (-4130).

use serde_json::{json, Value};

use super::attempts::{outcome, Attempt, Endpoint, Outcome};
use super::orders::NewOrder;
use super::params::{self, param, Params};
use super::{now_ms, Engine, Side, Tif, MAX_NUM_ORDERS};
use crate::api_error::ApiError;

/// Open conditional orders allowed across all symbols (Binance, 2025-12-29).
pub const MAX_OPEN_ALGO_ORDERS: usize = 200;

/// Where an algo order is in its lifecycle (`algoStatus`, ALGO_UPDATE `X`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AlgoStatus {
    New,
    Triggering,
    Triggered,
    Finished,
    Canceled,
    Rejected,
    Expired,
}

impl AlgoStatus {
    fn as_str(self) -> &'static str {
        match self {
            AlgoStatus::New => "NEW",
            AlgoStatus::Triggering => "TRIGGERING",
            AlgoStatus::Triggered => "TRIGGERED",
            AlgoStatus::Finished => "FINISHED",
            AlgoStatus::Canceled => "CANCELED",
            AlgoStatus::Rejected => "REJECTED",
            AlgoStatus::Expired => "EXPIRED",
        }
    }
}

/// One conditional order.
#[derive(Debug, Clone)]
pub(super) struct Algo {
    pub(super) id: u64,
    pub(super) client_id: String,
    pub(super) sym: usize,
    pub(super) side: Side,
    /// STOP_MARKET, TAKE_PROFIT_MARKET, STOP, TAKE_PROFIT.
    pub(super) otype: &'static str,
    /// Quantity units (0 with closePosition).
    pub(super) qty: i64,
    pub(super) trigger: i64,
    /// Limit price units (STOP / TAKE_PROFIT), else 0.
    pub(super) price: i64,
    /// `workingType=MARK_PRICE` (else CONTRACT_PRICE).
    pub(super) mark_price: bool,
    pub(super) reduce_only: bool,
    pub(super) close_position: bool,
    pub(super) price_protect: bool,
    pub(super) tif: Tif,
    pub(super) status: AlgoStatus,
    pub(super) create: u64,
    pub(super) update: u64,
    pub(super) trigger_time: u64,
    /// Index of the order it placed in the matching engine.
    pub(super) order: Option<usize>,
    /// Why it was rejected or expired (`rm`).
    pub(super) reason: Option<String>,
}

impl Algo {
    fn working_type(&self) -> &'static str {
        if self.mark_price {
            "MARK_PRICE"
        } else {
            "CONTRACT_PRICE"
        }
    }

    /// Is `cur` (mark or last price units) through the trigger? Stops trigger on a move
    /// against a position (a sell stop at or below), take-profits on a move in favour.
    fn triggered_by(&self, cur: i64) -> bool {
        let stop = self.otype.starts_with("STOP");
        match (stop, self.side) {
            (true, Side::Buy) | (false, Side::Sell) => cur >= self.trigger,
            (true, Side::Sell) | (false, Side::Buy) => cur <= self.trigger,
        }
    }
}

/// Which REST answer an algo order is shown in (their key sets differ on Binance).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AlgoView {
    /// `POST /fapi/v1/algoOrder`.
    Placed,
    /// `GET /fapi/v1/algoOrder` (and `GET /mock/algoOrders`).
    Query,
    /// `GET /fapi/v1/openAlgoOrders`.
    Open,
}

impl Engine {
    /// `POST /fapi/v1/algoOrder` (CONDITIONAL). Logged as an attempt either way.
    pub fn new_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
        let client_id = match param(p, "clientAlgoId") {
            Some(c) => c.to_string(),
            None => self.gen_client_id(),
        };
        let r = self.place_algo(p, client_id.clone());
        let oc = outcome(&r, |&i| self.algos[i].id);
        self.log_attempt(Attempt::from_params(
            now_ms(),
            Endpoint::AlgoOrder,
            client_id,
            p,
            oc,
        ));
        let i = r?;
        self.emit_algo(i);
        Ok(self.algo_json(i, AlgoView::Placed))
    }

    fn place_algo(&mut self, p: &Params, client_id: String) -> Result<usize, ApiError> {
        match param(p, "algoType") {
            None => return Err(ApiError::mandatory("algoType")),
            Some("CONDITIONAL") => {}
            Some(_) => return Err(ApiError::invalid_param("algoType")),
        }
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let side = params::side(p)?;
        let otype: &'static str = match param(p, "type") {
            None => return Err(ApiError::mandatory("type")),
            Some("STOP_MARKET") => "STOP_MARKET",
            Some("TAKE_PROFIT_MARKET") => "TAKE_PROFIT_MARKET",
            Some("STOP") => "STOP",
            Some("TAKE_PROFIT") => "TAKE_PROFIT",
            Some(_) => return Err(ApiError::new(-1116, "Invalid orderType.")),
        };
        params::position_side(p)?;
        let trigger = params::price(&spec, param(p, "triggerPrice"), "triggerPrice")?;
        let close_position = params::boolean(p, "closePosition")?;
        let reduce_only = params::boolean(p, "reduceOnly")?;
        let limit = otype == "STOP" || otype == "TAKE_PROFIT";
        let price = if limit {
            params::price(&spec, param(p, "price"), "price")?
        } else {
            0
        };
        let qty = if close_position {
            if param(p, "quantity").is_some() {
                return Err(ApiError::new(
                    -4136,
                    format!("Target strategy invalid for orderType {otype},closePosition true"),
                ));
            }
            0
        } else {
            params::qty(&spec, param(p, "quantity"), !limit)?
        };
        let mark_price = match param(p, "workingType") {
            None | Some("CONTRACT_PRICE") => false,
            Some("MARK_PRICE") => true,
            Some(_) => return Err(ApiError::invalid_param("workingType")),
        };
        let price_protect = params::boolean(p, "priceProtect")?;
        let tif = params::tif(p)?.unwrap_or(Tif::Gtc);
        params::client_id_format(&client_id, "clientAlgoId")?;
        if self
            .algos
            .iter()
            .any(|a| a.status == AlgoStatus::New && a.client_id == client_id)
        {
            return Err(ApiError::new(-4116, "ClientOrderId is duplicated."));
        }
        let resting = self
            .algos
            .iter()
            .filter(|a| a.status == AlgoStatus::New)
            .count();
        if resting >= MAX_OPEN_ALGO_ORDERS || self.open_count(sym) >= MAX_NUM_ORDERS {
            return Err(ApiError::new(-4045, "Reach max stop order limit."));
        }
        let pos_amt = self.pos[sym].amt;
        if reduce_only && !close_position && (pos_amt == 0 || pos_amt.signum() == side.sign()) {
            return Err(ApiError::new(-2022, "ReduceOnly Order is rejected."));
        }
        let now = now_ms();
        let mut a = Algo {
            id: 0,
            client_id,
            sym,
            side,
            otype,
            qty,
            trigger,
            price,
            mark_price,
            reduce_only,
            close_position,
            price_protect,
            tif,
            status: AlgoStatus::New,
            create: now,
            update: now,
            trigger_time: 0,
            order: None,
            reason: None,
        };
        if self
            .ref_price(sym, mark_price)
            .is_some_and(|cur| a.triggered_by(cur))
        {
            return Err(ApiError::new(-2021, "Order would immediately trigger."));
        }
        if close_position
            && self.algos.iter().any(|a| {
                a.status == AlgoStatus::New
                    && a.close_position
                    && a.sym == sym
                    && a.side == side
                    && a.otype == otype
            })
        {
            return Err(ApiError::new(
                -4130,
                "An open stop or take profit order with GTE and closePosition in the direction is existing.",
            ));
        }
        self.next_algo_id += 1;
        a.id = self.next_algo_id;
        self.algos.push(a);
        Ok(self.algos.len() - 1)
    }

    /// The reference price of a trigger: the mark price (units, on the tick grid) or
    /// the last trade.
    fn ref_price(&self, sym: usize, mark: bool) -> Option<i64> {
        let m = &self.mk[sym];
        if mark {
            m.mark().map(|x| m.spec.px_units(x))
        } else {
            m.last_price
        }
    }

    /// Checks every symbol's resting algo orders of one working type.
    pub(super) fn check_algos_all(&mut self, mark: bool) {
        for sym in 0..self.mk.len() {
            self.check_algos(sym, mark);
        }
    }

    /// Triggers the resting algo orders of `sym` and working type whose condition the
    /// current reference price meets, oldest first.
    pub(super) fn check_algos(&mut self, sym: usize, mark: bool) {
        let Some(cur) = self.ref_price(sym, mark) else {
            return;
        };
        let hits: Vec<usize> = self
            .algos
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.sym == sym
                    && a.status == AlgoStatus::New
                    && a.mark_price == mark
                    && a.triggered_by(cur)
            })
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            self.trigger_algo(i);
        }
    }

    fn set_algo(&mut self, i: usize, status: AlgoStatus, reason: Option<String>) {
        let a = &mut self.algos[i];
        a.status = status;
        a.reason = reason;
        a.update = now_ms();
        self.emit_algo(i);
    }

    /// Runs a met condition: TRIGGERING, then either EXPIRED (nothing left to reduce),
    /// REJECTED (the matching engine refused the order) or TRIGGERED and the order.
    pub(super) fn trigger_algo(&mut self, i: usize) {
        let now = now_ms();
        self.algos[i].trigger_time = now;
        self.set_algo(i, AlgoStatus::Triggering, None);
        let a = self.algos[i].clone();
        let pos_amt = self.pos[a.sym].amt;
        let closable = if pos_amt != 0 && pos_amt.signum() != a.side.sign() {
            pos_amt.abs()
        } else {
            0
        };
        if (a.close_position || a.reduce_only) && closable == 0 {
            self.set_algo(
                i,
                AlgoStatus::Expired,
                Some("Reduce-only order expired: no position to reduce.".into()),
            );
            return;
        }
        let limit = a.price > 0;
        let mut n = NewOrder::plain(a.sym, a.side, !limit, self.gen_client_id());
        n.orig_type = a.otype;
        n.tif = if limit { a.tif } else { Tif::Gtc };
        n.price = a.price;
        n.qty = if a.close_position { closable } else { a.qty };
        n.reduce_only = a.reduce_only || a.close_position;
        n.close_position = a.close_position;
        n.stop_price = a.trigger;
        n.working_type = a.working_type();
        n.price_protect = a.price_protect;
        n.algo_id = Some(a.id);
        let spec = self.mk[a.sym].spec;
        let mut attempt = Attempt {
            time: now,
            endpoint: Endpoint::AlgoTrigger,
            client_id: n.client_id.clone(),
            symbol: Some(spec.symbol.to_string()),
            side: Some(a.side.as_str().to_string()),
            order_type: Some(n.order_type.to_string()),
            quantity: Some(spec.fmt_qty(n.qty)),
            price: limit.then(|| spec.fmt_px(a.price)),
            trigger_price: Some(spec.fmt_px(a.trigger)),
            reduce_only: n.reduce_only,
            close_position: n.close_position,
            algo_id: Some(a.id),
            outcome: Outcome::Accepted(0),
        };
        match self.create_order(n) {
            Err(e) => {
                tracing::info!(
                    algo = a.id,
                    code = e.code,
                    "triggered algo order rejected: {}",
                    e.msg
                );
                attempt.outcome = Outcome::Refused {
                    code: e.code,
                    msg: e.msg.clone(),
                };
                self.log_attempt(attempt);
                self.set_algo(i, AlgoStatus::Rejected, Some(e.msg));
            }
            Ok(idx) => {
                attempt.outcome = Outcome::Accepted(self.orders[idx].id);
                self.log_attempt(attempt);
                self.algos[i].order = Some(idx);
                self.set_algo(i, AlgoStatus::Triggered, None);
                self.execute_order(idx);
            }
        }
    }

    /// The order of a triggered algo order is done (filled, expired or cancelled): the
    /// algo order is FINISHED.
    pub(super) fn algo_order_done(&mut self, order_idx: usize) {
        let Some(id) = self.orders[order_idx].algo_id else {
            return;
        };
        if let Some(i) = self.algos.iter().rposition(|a| a.id == id) {
            if self.algos[i].status == AlgoStatus::Triggered {
                self.set_algo(i, AlgoStatus::Finished, None);
            }
        }
    }

    /// Resting (NEW) algo orders on one symbol.
    pub(super) fn resting_algos_on(&self, sym: usize) -> usize {
        self.algos
            .iter()
            .filter(|a| a.sym == sym && a.status == AlgoStatus::New)
            .count()
    }

    /// The placed order's average price and executed quantity, or zeros.
    fn algo_fill(&self, a: &Algo) -> (String, String, &'static str, String) {
        let spec = self.mk[a.sym].spec;
        match a.order.map(|o| &self.orders[o]) {
            Some(o) => {
                let avg = if o.executed > 0 {
                    o.cum_quote / spec.qty(o.executed)
                } else {
                    0.0
                };
                (
                    spec.fmt_fpx(avg, 3),
                    spec.fmt_qty(o.executed),
                    o.order_type,
                    o.id.to_string(),
                )
            }
            None => (spec.fmt_fpx(0.0, 3), spec.fmt_qty(0), "", String::new()),
        }
    }

    /// ALGO_UPDATE for the algo order's current status.
    fn emit_algo(&mut self, i: usize) {
        let a = &self.algos[i];
        let spec = self.mk[a.sym].spec;
        let (ap, aq, act, ai) = self.algo_fill(a);
        let now = now_ms();
        let mut o = json!({
            "caid": a.client_id, "aid": a.id, "at": "CONDITIONAL", "o": a.otype, "s": spec.symbol,
            "S": a.side.as_str(), "ps": "BOTH", "f": a.tif.as_str(), "q": spec.fmt_qty(a.qty),
            "X": a.status.as_str(), "ai": ai, "ap": ap, "aq": aq,
            "act": if act.is_empty() { "0" } else { act }, "tp": spec.fmt_px(a.trigger),
            "p": spec.fmt_px(a.price), "V": "EXPIRE_MAKER", "wt": a.working_type(), "pm": "NONE",
            "cp": a.close_position, "pP": a.price_protect, "R": a.reduce_only, "tt": a.trigger_time,
            "gtd": 0,
        });
        if let (Some(r), Some(obj)) = (&a.reason, o.as_object_mut()) {
            obj.insert("rm".into(), json!(r));
        }
        let ev = json!({"e": "ALGO_UPDATE", "T": now, "E": now, "o": o});
        self.out.user("ALGO_UPDATE", ev.to_string());
    }

    pub(super) fn algo_json(&self, i: usize, view: AlgoView) -> Value {
        let a = &self.algos[i];
        let spec = self.mk[a.sym].spec;
        let mut v = json!({"algoId": a.id, "clientAlgoId": a.client_id, "algoType": "CONDITIONAL", "orderType": a.otype,
               "symbol": spec.symbol, "side": a.side.as_str(), "positionSide": "BOTH", "timeInForce": a.tif.as_str(),
               "quantity": spec.fmt_qty(a.qty), "algoStatus": a.status.as_str(), "triggerPrice": spec.fmt_px(a.trigger),
               "price": spec.fmt_px(a.price), "icebergQuantity": null, "selfTradePreventionMode": "EXPIRE_MAKER",
               "workingType": a.working_type(), "priceMatch": "NONE",
               "closePosition": a.close_position, "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
               "createTime": a.create, "updateTime": a.update, "triggerTime": a.trigger_time, "goodTillDate": 0});
        let (ap, aq, act, ai) = self.algo_fill(a);
        if let Some(o) = v.as_object_mut() {
            match view {
                AlgoView::Placed => {
                    o.insert("activatePrice".into(), json!(""));
                    o.insert("callbackRate".into(), json!(""));
                }
                AlgoView::Query => {
                    o.insert("actualOrderId".into(), json!(ai));
                    o.insert("actualPrice".into(), json!(ap));
                    o.insert("actualType".into(), json!(act));
                    o.insert("actualQty".into(), json!(aq));
                    o.insert("tpOrderType".into(), json!(""));
                }
                AlgoView::Open => {
                    o.insert("actualOrderId".into(), json!(ai));
                    o.insert("actualPrice".into(), json!(ap));
                    let zero = spec.fmt_px(0);
                    for k in ["tpTriggerPrice", "tpPrice", "slTriggerPrice", "slPrice"] {
                        o.insert(k.into(), json!(zero));
                    }
                    o.insert("tpOrderType".into(), json!(""));
                }
            }
        }
        v
    }

    /// By `algoId` or `clientAlgoId` (the latest algo order with that id).
    fn find_algo(&self, p: &Params) -> Result<Option<usize>, ApiError> {
        if let Some(id) = param(p, "algoId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("algoId"))?;
            Ok(self.algos.iter().position(|a| a.id == id))
        } else if let Some(c) = param(p, "clientAlgoId") {
            Ok(self.algos.iter().rposition(|a| a.client_id == c))
        } else {
            Err(ApiError::new(
                -1102,
                "Either algoId or clientAlgoId must be sent.",
            ))
        }
    }

    /// `DELETE /fapi/v1/algoOrder` by `algoId` or `clientAlgoId`.
    pub fn cancel_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
        let i = self
            .find_algo(p)?
            .filter(|i| self.algos[*i].status == AlgoStatus::New)
            .ok_or_else(ApiError::unknown_order)?;
        self.set_algo(i, AlgoStatus::Canceled, None);
        let a = &self.algos[i];
        Ok(json!({"algoId": a.id, "clientAlgoId": a.client_id, "code": "200", "msg": "success"}))
    }

    /// `DELETE /fapi/v1/algoOpenOrders?symbol=`: cancels every resting algo order of the
    /// symbol.
    pub fn cancel_all_algos(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let resting: Vec<usize> = (0..self.algos.len())
            .filter(|&i| self.algos[i].sym == sym && self.algos[i].status == AlgoStatus::New)
            .collect();
        for i in resting {
            self.set_algo(i, AlgoStatus::Canceled, None);
        }
        Ok(json!({"code": 200, "msg": "The operation of cancel all open order is done."}))
    }

    /// `GET /fapi/v1/openAlgoOrders`.
    pub fn open_algos(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        Ok(Value::Array(
            (0..self.algos.len())
                .filter(|&i| {
                    self.algos[i].status == AlgoStatus::New
                        && sym.is_none_or(|s| s == self.algos[i].sym)
                })
                .map(|i| self.algo_json(i, AlgoView::Open))
                .collect(),
        ))
    }

    /// `GET /fapi/v1/algoOrder` by `algoId` or `clientAlgoId`.
    pub fn query_algo(&self, p: &Params) -> Result<Value, ApiError> {
        self.find_algo(p)?
            .map(|i| self.algo_json(i, AlgoView::Query))
            .ok_or_else(ApiError::no_such_order)
    }

    /// Every algo order ever placed, in the query shape (`GET /mock/algoOrders`).
    pub fn all_algos_json(&self) -> Value {
        Value::Array(
            (0..self.algos.len())
                .map(|i| self.algo_json(i, AlgoView::Query))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests;
