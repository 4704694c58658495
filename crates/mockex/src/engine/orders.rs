//! Orders: parameter validation, new / cancel / query, and the order views.

use rand::Rng;
use serde_json::{json, Value};

use super::{now_ms, param, Engine, Order, Params, Side, Status, Tif, MAX_NUM_ORDERS};
use crate::api_error::ApiError;
use crate::spec::{parse_request_units, DecimalError, SymbolSpec};

/// PERCENT_PRICE multipliers.
const PCT_UP: f64 = 1.05;
const PCT_DOWN: f64 = 0.95;

impl Engine {
    // ------------------------------------------------------------------ orders

    pub(super) fn alloc_order_id(&mut self) -> u64 {
        self.next_order_id += 1 + self.rng.gen_range(0..7);
        self.next_order_id
    }

    pub(super) fn gen_client_id(&mut self) -> String {
        const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        loop {
            let s: String = (0..22)
                .map(|_| CHARS[self.rng.gen_range(0..CHARS.len())] as char)
                .collect();
            if !self.client_ids.contains(&s) {
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

    pub(super) fn parse_qty(
        spec: &SymbolSpec,
        s: Option<&str>,
        market: bool,
    ) -> Result<i64, ApiError> {
        let s = s.ok_or_else(|| ApiError::mandatory("quantity"))?;
        let q = parse_request_units(s, spec.qty_dp).map_err(|e| match e {
            DecimalError::Precision => ApiError::precision(),
            DecimalError::Malformed => ApiError::mandatory("quantity"),
        })?;
        if q <= 0 {
            return Err(ApiError::new(-4003, "Quantity less than or equal to zero."));
        }
        if q < spec.min_qty {
            return Err(ApiError::new(-4004, "Quantity less than min qty."));
        }
        let max = if market {
            spec.market_max_qty
        } else {
            spec.max_qty
        };
        if q > max {
            return Err(ApiError::new(-4005, "Quantity greater than max qty."));
        }
        if (q - spec.min_qty) % spec.step != 0 {
            return Err(ApiError::new(-4023, "Qty not increased by step size."));
        }
        Ok(q)
    }

    pub(super) fn parse_price(
        spec: &SymbolSpec,
        s: Option<&str>,
        name: &str,
    ) -> Result<i64, ApiError> {
        let s = s.ok_or_else(|| ApiError::mandatory(name))?;
        let p = parse_request_units(s, spec.price_dp).map_err(|e| match e {
            DecimalError::Precision => ApiError::precision(),
            DecimalError::Malformed => ApiError::mandatory(name),
        })?;
        if p <= 0 {
            return Err(ApiError::new(-4001, "Price less than 0."));
        }
        if p < spec.tick {
            return Err(ApiError::new(-4013, "Price less than min price."));
        }
        if p > 100_000_000 * 10_i64.pow(spec.price_dp) {
            return Err(ApiError::new(-4002, "Price greater than max price."));
        }
        if (p - spec.tick) % spec.tick != 0 {
            return Err(ApiError::new(-4014, "Price not increased by tick size."));
        }
        Ok(p)
    }

    pub(super) fn parse_bool(p: &Params, k: &str) -> Result<bool, ApiError> {
        match param(p, k) {
            None => Ok(false),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ApiError::invalid_param(k)),
        }
    }

    pub(super) fn check_client_id(&self, id: &str) -> Result<(), ApiError> {
        let ok = !id.is_empty()
            && id.len() <= 36
            && id.bytes().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'/' | b'_' | b'-')
            });
        if id.len() > 36 {
            return Err(ApiError::new(-4015, "Client order id is not valid."));
        }
        if !ok {
            return Err(ApiError::new(-1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'."));
        }
        if self.client_ids.contains(id) {
            return Err(ApiError::new(-4116, "ClientOrderId is duplicated."));
        }
        Ok(())
    }

    pub(super) fn open_count(&self) -> usize {
        self.orders.iter().filter(|o| o.status.is_open()).count()
            + self.algos.iter().filter(|a| a.status == "NEW").count()
    }

    /// `POST /fapi/v1/order` (also each item of a batch). Returns the ACK view (the order
    /// as accepted) and the RESULT view (after immediate matching).
    pub fn new_order(&mut self, p: &Params) -> Result<(Value, Value), ApiError> {
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let side = Side::parse(param(p, "side"))?;
        let otype = param(p, "type").ok_or_else(|| ApiError::mandatory("type"))?;
        let market = match otype {
            "MARKET" => true,
            "LIMIT" => false,
            "STOP" | "STOP_MARKET" | "TAKE_PROFIT" | "TAKE_PROFIT_MARKET" | "TRAILING_STOP_MARKET" => {
                return Err(ApiError::new(-4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."))
            }
            _ => return Err(ApiError::new(-1116, "Invalid orderType.")),
        };
        match param(p, "positionSide") {
            None | Some("BOTH") => {}
            Some("LONG" | "SHORT") => {
                return Err(ApiError::new(
                    -4061,
                    "Order's position side does not match user's setting.",
                ))
            }
            Some(_) => return Err(ApiError::invalid_param("positionSide")),
        }
        if param(p, "priceMatch").is_some_and(|m| m != "NONE") {
            return Err(ApiError::new(
                -1130,
                "priceMatch is not supported by the mock exchange.",
            ));
        }
        let qty = Self::parse_qty(&spec, param(p, "quantity"), market)?;
        let (price, tif) = if market {
            (0, Tif::Gtc)
        } else {
            let tif = match param(p, "timeInForce") {
                None => return Err(ApiError::mandatory("timeInForce")),
                Some("GTC") => Tif::Gtc,
                Some("IOC") => Tif::Ioc,
                Some("FOK") => Tif::Fok,
                Some("GTX") => Tif::Gtx,
                Some("GTD") => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
                Some(_) => return Err(ApiError::new(-1115, "Invalid timeInForce.")),
            };
            (Self::parse_price(&spec, param(p, "price"), "price")?, tif)
        };
        let reduce_only = Self::parse_bool(p, "reduceOnly")?;
        let client_id = match param(p, "newClientOrderId") {
            Some(c) => {
                self.check_client_id(c)?;
                c.to_string()
            }
            None => self.gen_client_id(),
        };
        self.submit(
            sym,
            side,
            market,
            "",
            tif,
            price,
            qty,
            reduce_only,
            false,
            0,
            client_id,
        )
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

    /// Validates and runs an order of either origin (REST or a triggered algo order).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn submit(
        &mut self,
        sym: usize,
        side: Side,
        market: bool,
        orig_type: &'static str,
        tif: Tif,
        price: i64,
        qty: i64,
        reduce_only: bool,
        close_position: bool,
        stop_price: i64,
        client_id: String,
    ) -> Result<(Value, Value), ApiError> {
        let spec = self.mk[sym].spec;
        if self.open_count() >= MAX_NUM_ORDERS && !market {
            return Err(ApiError::new(-2025, "Reach max open order limit."));
        }
        let est = self.est_price(sym, side, price);
        let mark = self.mk[sym].mark();
        let notional = est * spec.qty(qty);
        if !reduce_only && notional < spec.min_notional {
            return Err(ApiError::new(
                -4164,
                format!("Order's notional must be no smaller than {:.1} (unless you choose reduce only).", spec.min_notional),
            ));
        }
        let pos_amt = self.pos[sym].amt;
        if reduce_only && (pos_amt == 0 || pos_amt.signum() == side.sign()) {
            return Err(ApiError::new(-2022, "ReduceOnly Order is rejected."));
        }
        if !market {
            if let Some(mark) = mark {
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
        }
        let (bid, ask) = self.mk[sym].best();
        let crosses = match side {
            Side::Buy => market || ask.is_some_and(|a| price >= a.0),
            Side::Sell => market || bid.is_some_and(|b| price <= b.0),
        };
        if !market && tif == Tif::Gtx && crosses {
            return Err(ApiError::new(
                -5022,
                "Due to the order could not be executed as maker, the Post Only order will be rejected. The order will not be recorded in the order history",
            ));
        }
        if !market && tif == Tif::Fok && self.fillable(sym, side, price) < qty {
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
        if !reduce_only && increase > 0 {
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
        self.client_ids.insert(client_id.clone());
        let order = Order {
            id,
            client_id,
            sym,
            side,
            market,
            orig_type: if orig_type.is_empty() {
                if market {
                    "MARKET"
                } else {
                    "LIMIT"
                }
            } else {
                orig_type
            },
            tif,
            price,
            qty,
            executed: 0,
            cum_quote: 0.0,
            status: Status::New,
            reduce_only,
            close_position,
            stop_price,
            time: now,
            update_time: now,
            queue_ahead: 0,
        };
        let idx = self.orders.len();
        self.by_id.insert(id, idx);
        self.orders.push(order);
        let ack = self.order_json(idx, false);
        self.emit_order(idx, "NEW", None);
        // Immediate (taker) part.
        if crosses {
            self.take_liquidity(idx);
        }
        let o = &self.orders[idx];
        if o.status.is_open() {
            if market || o.tif == Tif::Ioc || o.tif == Tif::Fok {
                let reason = if market { "9" } else { "2" };
                self.finish(idx, Status::Expired, reason);
            } else {
                let q = self.mk[sym].book.qty_at(side == Side::Buy, price);
                self.orders[idx].queue_ahead = q;
            }
        }
        let result = self.order_json(idx, false);
        Ok((ack, result))
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
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| o.sym == sym && o.status.is_open())
            .map(|(i, _)| i)
            .collect();
        for idx in open {
            self.finish(idx, Status::Canceled, "0");
        }
        Ok(json!({"code": 200, "msg": "The operation of cancel all open order is done."}))
    }

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
            self.orders
                .iter()
                .enumerate()
                .filter(|(_, o)| o.status.is_open() && sym.is_none_or(|s| o.sym == s))
                .map(|(i, _)| self.order_json(i, true))
                .collect(),
        ))
    }

    /// Every order the mock accepted (`GET /mock/orders`).
    pub fn all_orders(&self) -> Value {
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
            "timeInForce": o.tif.as_str(), "type": if o.market { "MARKET" } else { "LIMIT" }, "reduceOnly": o.reduce_only,
            "closePosition": o.close_position, "side": o.side.as_str(), "positionSide": "BOTH",
            "stopPrice": spec.fmt_px(o.stop_price), "workingType": "CONTRACT_PRICE", "priceProtect": false,
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
