//! Orders: the new-order request, its validation against the filters, the account and
//! the book, the accepted order's first execution, and cancel / query / the order views.
//!
//! Client order ids are unique among *open* orders only, as on Binance: -4116 while an
//! order with the id is NEW or PARTIALLY_FILLED; once it is filled, cancelled or expired
//! the id may be sent again.

use rand::Rng;
use serde_json::{json, Value};

use super::attempts::{outcome, Attempt, Endpoint};
use super::params::{self, param, Params};
use super::{now_ms, Engine, Order, Side, Status, Tif, MAX_NUM_ORDERS};
use crate::api_error::ApiError;

/// PERCENT_PRICE multipliers.
const PCT_UP: f64 = 1.05;
const PCT_DOWN: f64 = 0.95;

/// An order about to be validated: what a REST request, a triggered algo order or the
/// liquidation engine asks the matching engine for.
#[derive(Debug, Clone)]
pub(super) struct NewOrder {
    pub(super) sym: usize,
    pub(super) side: Side,
    /// MARKET (or LIQUIDATION): takes any price.
    pub(super) market: bool,
    /// Wire type: MARKET, LIMIT or LIQUIDATION.
    pub(super) order_type: &'static str,
    /// Original type (the algo order's type for a triggered order).
    pub(super) orig_type: &'static str,
    pub(super) tif: Tif,
    pub(super) price: i64,
    pub(super) qty: i64,
    pub(super) reduce_only: bool,
    pub(super) close_position: bool,
    pub(super) stop_price: i64,
    pub(super) working_type: &'static str,
    pub(super) price_protect: bool,
    pub(super) algo_id: Option<u64>,
    pub(super) client_id: String,
}

impl NewOrder {
    /// A plain MARKET or LIMIT order.
    pub(super) fn plain(sym: usize, side: Side, market: bool, client_id: String) -> NewOrder {
        let t = if market { "MARKET" } else { "LIMIT" };
        NewOrder {
            sym,
            side,
            market,
            order_type: t,
            orig_type: t,
            tif: Tif::Gtc,
            price: 0,
            qty: 0,
            reduce_only: false,
            close_position: false,
            stop_price: 0,
            working_type: "CONTRACT_PRICE",
            price_protect: false,
            algo_id: None,
            client_id,
        }
    }
}

impl Engine {
    pub(super) fn alloc_order_id(&mut self) -> u64 {
        self.next_order_id += 1 + self.rng.gen_range(0..7);
        self.next_order_id
    }

    /// A 22-character id like the ones Binance generates, unused by any open order.
    pub(super) fn gen_client_id(&mut self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        loop {
            let s: String = (0..22)
                .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())] as char)
                .collect();
            if !self.client_id_open(&s) {
                return s;
            }
        }
    }

    /// A random 64-character listenKey.
    pub fn gen_listen_key(&mut self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        (0..64)
            .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())] as char)
            .collect()
    }

    /// An open (NEW / PARTIALLY_FILLED) order has this client id.
    pub(super) fn client_id_open(&self, id: &str) -> bool {
        self.open.iter().any(|&i| self.orders[i].client_id == id)
    }

    /// Open orders plus resting algo orders on one symbol (MAX_NUM_ORDERS counts both).
    pub(super) fn open_count(&self, sym: usize) -> usize {
        self.open
            .iter()
            .filter(|&&i| self.orders[i].sym == sym)
            .count()
            + self.resting_algos_on(sym)
    }

    /// `POST /fapi/v1/order`, or one item of a batch (`endpoint` says which). Returns the
    /// ACK view (the order as accepted) and the RESULT view (after immediate matching).
    /// Every call is logged as an attempt, accepted or refused.
    pub fn new_order(
        &mut self,
        p: &Params,
        endpoint: Endpoint,
    ) -> Result<(Value, Value), ApiError> {
        let client_id = match param(p, "newClientOrderId") {
            Some(c) => c.to_string(),
            None => self.gen_client_id(),
        };
        let r = self.place(p, client_id.clone());
        let oc = outcome(&r, |(ack, _): &(Value, Value)| {
            ack.get("orderId").and_then(Value::as_u64).unwrap_or(0)
        });
        self.log_attempt(Attempt::from_params(now_ms(), endpoint, client_id, p, oc));
        r
    }

    fn place(&mut self, p: &Params, client_id: String) -> Result<(Value, Value), ApiError> {
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let side = params::side(p)?;
        let otype = param(p, "type").ok_or_else(|| ApiError::mandatory("type"))?;
        let market = match otype {
            "MARKET" => true,
            "LIMIT" => false,
            "STOP" | "STOP_MARKET" | "TAKE_PROFIT" | "TAKE_PROFIT_MARKET" | "TRAILING_STOP_MARKET" => {
                return Err(ApiError::new(-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."))
            }
            _ => return Err(ApiError::new(-1116, "Invalid orderType.")),
        };
        params::position_side(p)?;
        if param(p, "priceMatch").is_some_and(|m| m != "NONE") {
            return Err(ApiError::new(
                -1130,
                "priceMatch is not supported by the mock exchange.",
            ));
        }
        let mut n = NewOrder::plain(sym, side, market, client_id);
        n.qty = params::qty(&spec, param(p, "quantity"), market)?;
        if !market {
            n.tif = params::tif(p)?.ok_or_else(|| ApiError::mandatory("timeInForce"))?;
            n.price = params::price(&spec, param(p, "price"), "price")?;
        }
        n.reduce_only = params::boolean(p, "reduceOnly")?;
        params::client_id_format(&n.client_id, "newClientOrderId")?;
        if self.client_id_open(&n.client_id) {
            return Err(ApiError::new(-4116, "ClientOrderId is duplicated."));
        }
        let idx = self.create_order(n)?;
        let ack = self.order_json(idx, false);
        self.execute_order(idx);
        Ok((ack, self.order_json(idx, false)))
    }

    pub(super) fn est_price(&self, sym: usize, side: Side, price: i64) -> f64 {
        let m = &self.mk[sym];
        if price > 0 {
            return m.spec.px(price);
        }
        match (side, m.best()) {
            (Side::Buy, (_, Some(a))) => m.spec.px(a.0),
            (Side::Sell, (Some(b), _)) => m.spec.px(b.0),
            _ => m.mark().unwrap_or(0.0),
        }
    }

    /// Would an order at `price` (0 = market) take liquidity now?
    fn crosses(&self, sym: usize, side: Side, market: bool, price: i64) -> bool {
        let (bid, ask) = self.mk[sym].best();
        match side {
            Side::Buy => market || ask.is_some_and(|a| price >= a.0),
            Side::Sell => market || bid.is_some_and(|b| price <= b.0),
        }
    }

    /// Validates an order of any origin against the filters, the position, the margin
    /// and the book, and records it as NEW (no event yet). Returns its index.
    pub(super) fn create_order(&mut self, n: NewOrder) -> Result<usize, ApiError> {
        let (sym, side, market, price, qty) = (n.sym, n.side, n.market, n.price, n.qty);
        let spec = self.mk[sym].spec;
        if !market && self.open_count(sym) >= MAX_NUM_ORDERS {
            return Err(ApiError::new(-2025, "Reach max open order limit."));
        }
        let est = self.est_price(sym, side, price);
        let notional = est * spec.qty(qty);
        if !n.reduce_only && notional < spec.min_notional {
            return Err(ApiError::new(
                -4164,
                format!("Order's notional must be no smaller than {:.1} (unless you choose reduce only).", spec.min_notional),
            ));
        }
        let pos_amt = self.pos[sym].amt;
        if n.reduce_only && (pos_amt == 0 || pos_amt.signum() == side.sign()) {
            return Err(ApiError::new(-2022, "ReduceOnly Order is rejected."));
        }
        if let (false, Some(mark)) = (market, self.mk[sym].mark()) {
            let px = spec.px(price);
            if side == Side::Buy && px > mark * PCT_UP {
                return Err(ApiError::new(
                    -4016,
                    format!(
                        "Limit price can't be higher than {}.",
                        spec.fmt_fpx(mark * PCT_UP, 0)
                    ),
                ));
            }
            if side == Side::Sell && px < mark * PCT_DOWN {
                return Err(ApiError::new(
                    -4024,
                    format!(
                        "Limit price can't be lower than {}.",
                        spec.fmt_fpx(mark * PCT_DOWN, 0)
                    ),
                ));
            }
        }
        if !market && n.tif == Tif::Gtx && self.crosses(sym, side, market, price) {
            return Err(ApiError::new(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
            ));
        }
        if !market && n.tif == Tif::Fok && self.fillable(sym, side, price) < qty {
            return Err(ApiError::new(
                -5021,
                "Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history",
            ));
        }
        // Margin: only the part that opens or adds exposure needs initial margin.
        let opposite = pos_amt != 0 && pos_amt.signum() != side.sign();
        let increase = if opposite {
            (qty - pos_amt.abs()).max(0)
        } else {
            qty
        };
        if !n.reduce_only && increase > 0 {
            let lev = self.pos[sym].leverage.max(1) as f64;
            let required = est * spec.qty(increase) / lev + est * spec.qty(qty) * self.taker_fee;
            if required > self.available() + 1e-9 {
                return Err(ApiError::new(-2019, "Margin is insufficient."));
            }
            let new_notional = est * spec.qty((pos_amt + side.sign() * qty).abs());
            if new_notional > spec.max_notional(self.pos[sym].leverage) {
                return Err(ApiError::new(
                    -2027,
                    "Exceeded the maximum allowable position at current leverage.",
                ));
            }
        }
        let now = now_ms();
        let id = self.alloc_order_id();
        let order = Order {
            id,
            client_id: n.client_id,
            sym,
            side,
            market,
            order_type: n.order_type,
            orig_type: n.orig_type,
            tif: n.tif,
            price,
            qty,
            executed: 0,
            cum_quote: 0.0,
            status: Status::New,
            reduce_only: n.reduce_only,
            close_position: n.close_position,
            stop_price: n.stop_price,
            working_type: n.working_type,
            price_protect: n.price_protect,
            algo_id: n.algo_id,
            time: now,
            update_time: now,
            queue_ahead: 0,
        };
        let idx = self.orders.len();
        self.by_id.insert(id, idx);
        self.orders.push(order);
        self.open.insert(idx);
        Ok(idx)
    }

    /// Announces a created order (NEW) and runs its immediate part: takes liquidity,
    /// expires a MARKET / IOC / FOK remainder, or leaves a limit order resting.
    pub(super) fn execute_order(&mut self, idx: usize) {
        let (sym, side, market, price, tif) = {
            let o = &self.orders[idx];
            (o.sym, o.side, o.market, o.price, o.tif)
        };
        self.emit_order(idx, "NEW", None);
        if self.crosses(sym, side, market, price) {
            self.take_liquidity(idx);
        }
        if self.orders[idx].status.is_open() {
            if market || tif == Tif::Ioc || tif == Tif::Fok {
                let reason = if market { "9" } else { "2" };
                self.finish(idx, Status::Expired, reason);
            } else {
                let q = self.mk[sym].book.qty_at(side == Side::Buy, price);
                self.orders[idx].queue_ahead = q;
            }
        }
    }

    /// `DELETE /fapi/v1/order`.
    pub fn cancel(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::unknown_order)?;
        if !self.orders[idx].status.is_open() {
            return Err(ApiError::unknown_order());
        }
        self.finish(idx, Status::Canceled, "0");
        Ok(self.order_json(idx, false))
    }

    /// `DELETE /fapi/v1/allOpenOrders`.
    pub fn cancel_all(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let open: Vec<usize> = self
            .open
            .iter()
            .copied()
            .filter(|&i| self.orders[i].sym == sym)
            .collect();
        for idx in open {
            self.finish(idx, Status::Canceled, "0");
        }
        Ok(json!({"code": 200, "msg": "The operation of cancel all open order is done."}))
    }

    /// By `orderId`, or by `origClientOrderId` (the latest order with that id: ids may
    /// be reused once an order is done).
    pub(super) fn find_order(&self, sym: usize, p: &Params) -> Result<Option<usize>, ApiError> {
        if let Some(id) = param(p, "orderId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("orderId"))?;
            Ok(self
                .by_id
                .get(&id)
                .copied()
                .filter(|i| self.orders[*i].sym == sym))
        } else if let Some(c) = param(p, "origClientOrderId") {
            Ok(self
                .orders
                .iter()
                .rposition(|o| o.sym == sym && o.client_id == c))
        } else {
            Err(ApiError::new(
                -1102,
                "Either orderId or origClientOrderId must be sent.",
            ))
        }
    }

    /// `GET /fapi/v1/order`.
    pub fn query(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::no_such_order)?;
        Ok(self.order_json(idx, true))
    }

    /// `GET /fapi/v1/openOrder`.
    pub fn query_open(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let idx = self
            .find_order(sym, p)?
            .ok_or_else(ApiError::no_such_order)?;
        if !self.orders[idx].status.is_open() {
            return Err(ApiError::no_such_order());
        }
        Ok(self.order_json(idx, true))
    }

    /// `GET /fapi/v1/openOrders`.
    pub fn open_orders(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        Ok(Value::Array(
            self.open
                .iter()
                .filter(|&&i| sym.is_none_or(|s| self.orders[i].sym == s))
                .map(|&i| self.order_json(i, true))
                .collect(),
        ))
    }

    /// Every order the exchange accepted, as it is now, in acceptance order
    /// (`GET /mock/orders?accepted=true`, `GET /mock/accepted`).
    pub fn accepted_json(&self) -> Value {
        Value::Array(
            (0..self.orders.len())
                .map(|i| self.order_json(i, true))
                .collect(),
        )
    }

    /// Copies of every accepted order (test hook).
    pub fn orders(&self) -> Vec<Order> {
        self.orders.clone()
    }

    /// The order as REST shows it: the new-order answer (`query == false`, with
    /// `cumQty`) or the query answer (with `time`).
    pub(super) fn order_json(&self, idx: usize, query: bool) -> Value {
        let o = &self.orders[idx];
        let spec = self.mk[o.sym].spec;
        let avg = if o.executed > 0 {
            o.cum_quote / spec.qty(o.executed)
        } else {
            0.0
        };
        let mut v = json!({
            "orderId": o.id, "symbol": spec.symbol, "status": o.status.as_str(), "clientOrderId": o.client_id,
            "price": spec.fmt_px(o.price), "avgPrice": spec.fmt_fpx(avg, 3), "origQty": spec.fmt_qty(o.qty),
            "executedQty": spec.fmt_qty(o.executed), "cumQuote": format!("{:.*}", (spec.price_dp + spec.qty_dp) as usize, o.cum_quote),
            "timeInForce": o.tif.as_str(), "type": o.order_type, "reduceOnly": o.reduce_only,
            "closePosition": o.close_position, "side": o.side.as_str(), "positionSide": "BOTH",
            "stopPrice": spec.fmt_px(o.stop_price), "workingType": o.working_type, "priceProtect": o.price_protect,
            "origType": o.orig_type, "priceMatch": "NONE", "selfTradePreventionMode": "EXPIRE_MAKER",
            "goodTillDate": 0, "updateTime": o.update_time,
        });
        if let Some(obj) = v.as_object_mut() {
            if query {
                obj.insert("time".into(), json!(o.time));
            } else {
                obj.insert("cumQty".into(), json!(spec.fmt_qty(o.executed)));
            }
        }
        v
    }
}

#[cfg(test)]
mod tests;
