//! Algo (conditional) orders: placement, triggers on the tape and the mark price,
//! cancel and query.

use serde_json::{json, Value};

use super::orders::NewOrder;
use super::params::{self, param, Params};
use super::{now_ms, Engine, Side, Tif, MAX_NUM_ALGO_ORDERS, MAX_NUM_ORDERS};
use crate::api_error::ApiError;

#[derive(Debug, Clone)]
pub(super) struct Algo {
    pub(super) id: u64,
    pub(super) client_id: String,
    pub(super) sym: usize,
    pub(super) side: Side,
    pub(super) otype: &'static str,
    pub(super) qty: i64,
    pub(super) trigger: i64,
    pub(super) price: i64,
    pub(super) mark_price: bool,
    pub(super) reduce_only: bool,
    pub(super) close_position: bool,
    pub(super) price_protect: bool,
    pub(super) tif: Tif,
    pub(super) status: &'static str,
    pub(super) create: u64,
    pub(super) update: u64,
    pub(super) trigger_time: u64,
    pub(super) order_id: Option<u64>,
}

impl Engine {
    // ------------------------------------------------------------------ algo orders

    /// `POST /fapi/v1/algoOrder` (CONDITIONAL).
    pub fn new_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
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
        match param(p, "positionSide") {
            None | Some("BOTH") => {}
            Some(_) => {
                return Err(ApiError::new(
                    -4061,
                    "Order's position side does not match user's setting.",
                ))
            }
        }
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
                    "Target strategy invalid for orderType STOP_MARKET,closePosition true",
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
        let tif = match param(p, "timeInForce") {
            None | Some("GTC") => Tif::Gtc,
            Some("IOC") => Tif::Ioc,
            Some("FOK") => Tif::Fok,
            Some("GTX") => Tif::Gtx,
            Some(_) => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
        };
        if self.algos.iter().filter(|a| a.status == "NEW").count() >= MAX_NUM_ALGO_ORDERS
            || self.open_count(sym) >= MAX_NUM_ORDERS
        {
            return Err(ApiError::new(-4045, "Reach max stop order limit."));
        }
        let client_id = match param(p, "clientAlgoId") {
            Some(c) => {
                params::client_id_format(c, "clientAlgoId")?;
                if self
                    .algos
                    .iter()
                    .any(|a| a.status == "NEW" && a.client_id == c)
                {
                    return Err(ApiError::new(-4116, "ClientOrderId is duplicated."));
                }
                c.to_string()
            }
            None => self.gen_client_id(),
        };
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
            status: "NEW",
            create: now,
            update: now,
            trigger_time: 0,
            order_id: None,
        };
        if let Some(cur) = self.ref_price(sym, mark_price) {
            if Self::triggered(&a, cur) {
                return Err(ApiError::new(-2021, "Order would immediately trigger."));
            }
        }
        self.next_algo_id += 1;
        a.id = self.next_algo_id;
        self.algos.push(a);
        Ok(self.algo_json(self.algos.len() - 1))
    }

    pub(super) fn ref_price(&self, sym: usize, mark: bool) -> Option<i64> {
        let m = &self.mk[sym];
        if mark {
            m.mark().map(|x| m.spec.px_units(x))
        } else {
            m.last_price
        }
    }

    pub(super) fn triggered(a: &Algo, cur: i64) -> bool {
        let stop = a.otype.starts_with("STOP");
        match (stop, a.side) {
            (true, Side::Buy) | (false, Side::Sell) => cur >= a.trigger,
            (true, Side::Sell) | (false, Side::Buy) => cur <= a.trigger,
        }
    }

    pub(super) fn check_algos_all(&mut self, mark: bool) {
        for sym in 0..self.mk.len() {
            self.check_algos(sym, mark);
        }
    }

    pub(super) fn check_algos(&mut self, sym: usize, mark: bool) {
        let Some(cur) = self.ref_price(sym, mark) else {
            return;
        };
        let hits: Vec<usize> = self
            .algos
            .iter()
            .enumerate()
            .filter(|(_, a)| {
                a.sym == sym && a.status == "NEW" && a.mark_price == mark && Self::triggered(a, cur)
            })
            .map(|(i, _)| i)
            .collect();
        for i in hits {
            self.trigger_algo(i);
        }
    }

    pub(super) fn trigger_algo(&mut self, i: usize) {
        let now = now_ms();
        let a = self.algos[i].clone();
        self.algos[i].status = "TRIGGERED";
        self.algos[i].trigger_time = now;
        self.algos[i].update = now;
        let pos_amt = self.pos[a.sym].amt;
        let qty = if a.close_position {
            if pos_amt != 0 && pos_amt.signum() != a.side.sign() {
                pos_amt.abs()
            } else {
                0
            }
        } else {
            a.qty
        };
        if qty == 0 {
            self.algos[i].status = "EXPIRED";
            return;
        }
        let limit = a.price > 0;
        let cid = self.gen_client_id();
        let mut n = NewOrder::plain(a.sym, a.side, !limit, cid);
        n.orig_type = a.otype;
        n.tif = if limit { a.tif } else { Tif::Gtc };
        n.price = a.price;
        n.qty = qty;
        n.reduce_only = a.reduce_only || a.close_position;
        n.close_position = a.close_position;
        n.stop_price = a.trigger;
        let res = self.create_order(n).map(|idx| {
            self.execute_order(idx);
            self.orders[idx].id
        });
        match res {
            Ok(id) => {
                self.algos[i].status = "FINISHED";
                self.algos[i].order_id = Some(id);
            }
            Err(e) => {
                tracing::info!(
                    algo = a.id,
                    code = e.code,
                    "triggered algo order rejected: {}",
                    e.msg
                );
                self.algos[i].status = "REJECTED";
            }
        }
    }

    pub(super) fn algo_json(&self, i: usize) -> Value {
        let a = &self.algos[i];
        let spec = self.mk[a.sym].spec;
        json!({"algoId": a.id, "clientAlgoId": a.client_id, "algoType": "CONDITIONAL", "orderType": a.otype,
               "symbol": spec.symbol, "side": a.side.as_str(), "positionSide": "BOTH", "timeInForce": a.tif.as_str(),
               "quantity": spec.fmt_qty(a.qty), "algoStatus": a.status, "triggerPrice": spec.fmt_px(a.trigger),
               "price": spec.fmt_px(a.price), "icebergQuantity": null, "selfTradePreventionMode": "EXPIRE_MAKER",
               "workingType": if a.mark_price { "MARK_PRICE" } else { "CONTRACT_PRICE" }, "priceMatch": "NONE",
               "closePosition": a.close_position, "priceProtect": a.price_protect, "reduceOnly": a.reduce_only,
               "activatePrice": "", "callbackRate": "", "createTime": a.create, "updateTime": a.update,
               "triggerTime": a.trigger_time, "goodTillDate": 0,
               "actualOrderId": a.order_id.map(|x| x.to_string()).unwrap_or_default()})
    }

    /// `DELETE /fapi/v1/algoOrder`.
    pub fn cancel_algo(&mut self, p: &Params) -> Result<Value, ApiError> {
        let i = if let Some(id) = param(p, "algoId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("algoId"))?;
            self.algos.iter().position(|a| a.id == id)
        } else if let Some(c) = param(p, "clientAlgoId") {
            self.algos.iter().rposition(|a| a.client_id == c)
        } else {
            return Err(ApiError::new(
                -1102,
                "Either algoId or clientAlgoId must be sent.",
            ));
        };
        let i = i
            .filter(|i| self.algos[*i].status == "NEW")
            .ok_or_else(ApiError::unknown_order)?;
        self.algos[i].status = "CANCELED";
        self.algos[i].update = now_ms();
        let a = &self.algos[i];
        Ok(json!({"algoId": a.id, "clientAlgoId": a.client_id, "code": "200", "msg": "success"}))
    }

    /// `GET /fapi/v1/openAlgoOrders`.
    pub fn open_algos(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        Ok(Value::Array(
            (0..self.algos.len())
                .filter(|i| {
                    self.algos[*i].status == "NEW" && sym.is_none_or(|s| s == self.algos[*i].sym)
                })
                .map(|i| self.algo_json(i))
                .collect(),
        ))
    }

    /// `GET /fapi/v1/algoOrder`.
    pub fn query_algo(&self, p: &Params) -> Result<Value, ApiError> {
        let i = if let Some(id) = param(p, "algoId") {
            let id: u64 = id.parse().map_err(|_| ApiError::mandatory("algoId"))?;
            self.algos.iter().position(|a| a.id == id)
        } else if let Some(c) = param(p, "clientAlgoId") {
            self.algos.iter().rposition(|a| a.client_id == c)
        } else {
            return Err(ApiError::new(
                -1102,
                "Either algoId or clientAlgoId must be sent.",
            ));
        };
        i.map(|i| self.algo_json(i))
            .ok_or_else(ApiError::no_such_order)
    }
}

impl Engine {
    /// Resting (NEW) algo orders on one symbol.
    pub(super) fn resting_algos_on(&self, sym: usize) -> usize {
        self.algos
            .iter()
            .filter(|a| a.sym == sym && a.status == "NEW")
            .count()
    }
}
