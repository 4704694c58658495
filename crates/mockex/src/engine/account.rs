//! The account: positions, margin, wallet, leverage and margin settings, funding and
//! liquidation (test hooks), and the account, balance and positionRisk views.

use serde_json::{json, Value};

use super::attempts::{Attempt, Endpoint, Outcome};
use super::params::{param, Params};
use super::{f8, now_ms, Engine, Order, Side, Status, Tif};
use crate::api_error::ApiError;

/// The liquidation clearance fee (exchangeInfo `liquidationFee`), charged as the
/// commission of a liquidation fill.
pub(super) const LIQUIDATION_FEE: f64 = 0.0125;

#[derive(Debug, Clone, Default)]
pub(super) struct Position {
    pub(super) amt: i64,
    pub(super) entry: f64,
    pub(super) leverage: u32,
    pub(super) isolated: bool,
    pub(super) cum_realized: f64,
    pub(super) update_time: u64,
}

impl Engine {
    // ------------------------------------------------------------------ accounting

    pub(super) fn mark_or_last(&self, sym: usize) -> f64 {
        self.mk[sym].mark().unwrap_or(0.0)
    }

    pub(super) fn unrealized(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        if p.amt == 0 {
            return 0.0;
        }
        let spec = self.mk[sym].spec;
        (self.mark_or_last(sym) - p.entry) * spec.qty(p.amt)
    }

    pub(super) fn position_im(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        spec.qty(p.amt.abs()) * self.mark_or_last(sym) / p.leverage.max(1) as f64
    }

    pub(super) fn position_mm(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        let notional = spec.qty(p.amt.abs()) * self.mark_or_last(sym);
        notional * spec.mmr(notional)
    }

    pub(super) fn order_im(&self, o: &Order) -> f64 {
        if o.reduce_only || !o.status.is_open() {
            return 0.0;
        }
        let spec = self.mk[o.sym].spec;
        spec.qty(o.qty - o.executed) * spec.px(o.price) / self.pos[o.sym].leverage.max(1) as f64
    }

    pub(super) fn open_orders_im(&self) -> f64 {
        self.open
            .iter()
            .map(|&i| self.order_im(&self.orders[i]))
            .sum()
    }

    pub(super) fn total_unrealized(&self) -> f64 {
        (0..self.mk.len()).map(|i| self.unrealized(i)).sum()
    }

    pub(super) fn available(&self) -> f64 {
        let im: f64 = (0..self.mk.len()).map(|i| self.position_im(i)).sum();
        self.wallet + self.total_unrealized() - im - self.open_orders_im()
    }

    pub(super) fn position_update_json(&self, sym: usize) -> Value {
        let p = &self.pos[sym];
        let spec = self.mk[sym].spec;
        let bep = if p.amt > 0 {
            p.entry * (1.0 + self.taker_fee)
        } else {
            p.entry * (1.0 - self.taker_fee)
        };
        let iw = if p.isolated {
            spec.qty(p.amt.abs()) * p.entry / p.leverage.max(1) as f64
        } else {
            0.0
        };
        json!({"s": spec.symbol, "pa": spec.fmt_qty(p.amt), "ep": spec.fmt_fpx(p.entry, 5),
               "bep": spec.fmt_fpx(if p.amt == 0 { 0.0 } else { bep }, 5), "cr": f8(p.cum_realized),
               "up": f8(self.unrealized(sym)), "mt": if p.isolated { "isolated" } else { "cross" }, "iw": f8(iw), "ps": "BOTH"})
    }

    pub(super) fn emit_account(&mut self, sym: usize, now: u64) {
        let cw = self.wallet;
        let ev = json!({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {"m": "ORDER",
            "B": [{"a": "USDT", "wb": f8(self.wallet), "cw": f8(cw), "bc": "0"}],
            "P": [self.position_update_json(sym)]}});
        self.out.user("ACCOUNT_UPDATE", ev.to_string());
    }

    // ------------------------------------------------------------------ settings

    /// `POST /fapi/v1/leverage`.
    pub fn set_leverage(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let spec = self.mk[sym].spec;
        let lev_s = param(p, "leverage").ok_or_else(|| ApiError::mandatory("leverage"))?;
        let lev: u32 = lev_s.parse().map_err(|_| ApiError::mandatory("leverage"))?;
        if lev == 0 || lev > spec.max_leverage {
            return Err(ApiError::new(-4028, format!("Leverage {lev} is not valid")));
        }
        let notional = spec.qty(self.pos[sym].amt.abs()) * self.mark_or_last(sym);
        if notional > spec.max_notional(lev) {
            return Err(ApiError::new(
                -2027,
                "Exceeded the maximum allowable position at current leverage.",
            ));
        }
        self.pos[sym].leverage = lev;
        Ok(
            json!({"leverage": lev, "maxNotionalValue": format!("{}", spec.max_notional(lev) as u64), "symbol": spec.symbol}),
        )
    }

    /// `GET /fapi/v1/leverageBracket`.
    pub fn leverage_bracket(&self, p: &Params) -> Result<Value, ApiError> {
        let one = |i: usize| {
            let spec = self.mk[i].spec;
            let mut floor = 0.0;
            let mut cum = 0.0;
            let mut prev_mmr = 0.0;
            let br: Vec<Value> = spec
                .brackets()
                .iter()
                .enumerate()
                .map(|(k, (cap, lev, mmr))| {
                    cum += floor * (mmr - prev_mmr);
                    prev_mmr = *mmr;
                    let v = json!({"bracket": k + 1, "initialLeverage": lev, "notionalCap": *cap as u64,
                                   "notionalFloor": floor as u64, "maintMarginRatio": mmr, "cum": cum});
                    floor = *cap;
                    v
                })
                .collect();
            json!({"symbol": spec.symbol, "notionalCoef": 1.0, "brackets": br})
        };
        if param(p, "symbol").is_some() {
            Ok(one(self.sym_param(p)?))
        } else {
            Ok(Value::Array((0..self.mk.len()).map(one).collect()))
        }
    }

    /// `POST /fapi/v1/marginType`.
    pub fn set_margin_type(&mut self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let isolated = match param(p, "marginType") {
            None => return Err(ApiError::mandatory("marginType")),
            Some("ISOLATED") => true,
            Some("CROSSED") => false,
            Some(_) => return Err(ApiError::invalid_param("marginType")),
        };
        if self.pos[sym].isolated == isolated {
            return Err(ApiError::new(-4046, "No need to change margin type."));
        }
        if self.pos[sym].amt != 0
            || self
                .orders
                .iter()
                .any(|o| o.sym == sym && o.status.is_open())
        {
            return Err(ApiError::new(
                -4047,
                "Margin type cannot be changed if there exists open orders.",
            ));
        }
        self.pos[sym].isolated = isolated;
        Ok(json!({"code": 200, "msg": "success"}))
    }

    /// `POST /fapi/v1/positionSide/dual`. The mock trades one-way mode only.
    pub fn set_dual(&mut self, p: &Params) -> Result<Value, ApiError> {
        let want = match param(p, "dualSidePosition") {
            None => return Err(ApiError::mandatory("dualSidePosition")),
            Some("true") => true,
            Some("false") => false,
            Some(_) => return Err(ApiError::invalid_param("dualSidePosition")),
        };
        if want == self.dual_side {
            return Err(ApiError::new(-4059, "No need to change position side."));
        }
        Err(ApiError::new(
            -4068,
            "Hedge mode is not supported by the mock exchange.",
        ))
    }

    /// `GET /fapi/v1/positionSide/dual`.
    pub fn get_dual(&self) -> Value {
        json!({"dualSidePosition": self.dual_side})
    }

    // ------------------------------------------------------------------ account views

    pub(super) fn has_open_orders(&self, sym: usize) -> bool {
        self.orders
            .iter()
            .any(|o| o.sym == sym && o.status.is_open())
    }

    pub(super) fn liq_price(&self, sym: usize) -> f64 {
        let p = &self.pos[sym];
        if p.amt == 0 {
            return 0.0;
        }
        let spec = self.mk[sym].spec;
        let q = spec.qty(p.amt.abs());
        let others: f64 = (0..self.mk.len())
            .filter(|i| *i != sym)
            .map(|i| self.unrealized(i) - self.position_mm(i))
            .sum();
        let cushion = self.wallet + others - self.position_mm(sym);
        let liq = if p.amt > 0 {
            p.entry - cushion / q
        } else {
            p.entry + cushion / q
        };
        liq.max(0.0)
    }

    pub(super) fn totals(&self) -> Value {
        let upnl = self.total_unrealized();
        let pim: f64 = (0..self.mk.len()).map(|i| self.position_im(i)).sum();
        let oim = self.open_orders_im();
        let mm: f64 = (0..self.mk.len()).map(|i| self.position_mm(i)).sum();
        let avail = self.available();
        let now = now_ms();
        json!({
            "totalInitialMargin": f8(pim + oim), "totalMaintMargin": f8(mm), "totalWalletBalance": f8(self.wallet),
            "totalUnrealizedProfit": f8(upnl), "totalMarginBalance": f8(self.wallet + upnl),
            "totalPositionInitialMargin": f8(pim), "totalOpenOrderInitialMargin": f8(oim),
            "totalCrossWalletBalance": f8(self.wallet), "totalCrossUnPnl": f8(upnl),
            "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
            "assets": [{"asset": "USDT", "walletBalance": f8(self.wallet), "unrealizedProfit": f8(upnl),
                "marginBalance": f8(self.wallet + upnl), "maintMargin": f8(mm), "initialMargin": f8(pim + oim),
                "positionInitialMargin": f8(pim), "openOrderInitialMargin": f8(oim), "crossWalletBalance": f8(self.wallet),
                "crossUnPnl": f8(upnl), "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
                "marginAvailable": true, "updateTime": now}],
        })
    }

    pub(super) fn open_order_im_sym(&self, sym: usize) -> f64 {
        self.orders
            .iter()
            .filter(|o| o.sym == sym)
            .map(|o| self.order_im(o))
            .sum()
    }

    pub(super) fn side_notional(&self, sym: usize, side: Side) -> f64 {
        let spec = self.mk[sym].spec;
        self.orders
            .iter()
            .filter(|o| o.sym == sym && o.side == side && o.status.is_open())
            .map(|o| spec.qty(o.qty - o.executed) * spec.px(o.price))
            .sum()
    }

    /// `GET /fapi/v2/account` (`v3 == false`) or `/fapi/v3/account`.
    pub fn account(&self, v3: bool) -> Value {
        let mut v = self.totals();
        let positions: Vec<Value> = (0..self.mk.len())
            .filter(|i| !v3 || self.pos[*i].amt != 0 || self.has_open_orders(*i))
            .map(|i| {
                let p = &self.pos[i];
                let spec = self.mk[i].spec;
                let notional = spec.qty(p.amt) * self.mark_or_last(i);
                let mut j = json!({"symbol": spec.symbol, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(p.amt),
                    "unrealizedProfit": f8(self.unrealized(i)), "isolatedMargin": "0.00000000", "notional": f8(notional),
                    "isolatedWallet": "0", "initialMargin": f8(self.position_im(i) + self.open_order_im_sym(i)),
                    "maintMargin": f8(self.position_mm(i)), "updateTime": p.update_time});
                if !v3 {
                    if let Some(o) = j.as_object_mut() {
                        o.insert("positionInitialMargin".into(), json!(f8(self.position_im(i))));
                        o.insert("openOrderInitialMargin".into(), json!(f8(self.open_order_im_sym(i))));
                        o.insert("leverage".into(), json!(p.leverage.to_string()));
                        o.insert("isolated".into(), json!(p.isolated));
                        o.insert("entryPrice".into(), json!(spec.fmt_fpx(p.entry, 5)));
                        o.insert("breakEvenPrice".into(), json!(spec.fmt_fpx(p.entry, 5)));
                        o.insert("maxNotional".into(), json!(format!("{}", spec.max_notional(p.leverage) as u64)));
                        o.insert("bidNotional".into(), json!(f8(self.side_notional(i, Side::Buy))));
                        o.insert("askNotional".into(), json!(f8(self.side_notional(i, Side::Sell))));
                    }
                }
                j
            })
            .collect();
        if let Some(o) = v.as_object_mut() {
            if v3 {
                // Single-asset mode: v3 asset rows carry no `marginAvailable`.
                if let Some(Value::Array(assets)) = o.get_mut("assets") {
                    for a in assets.iter_mut().filter_map(Value::as_object_mut) {
                        a.remove("marginAvailable");
                    }
                }
            } else {
                for (k, val) in [
                    ("feeTier", json!(0)),
                    ("feeBurn", json!(false)),
                    ("canTrade", json!(true)),
                    ("canDeposit", json!(true)),
                    ("canWithdraw", json!(true)),
                    ("updateTime", json!(0)),
                    ("multiAssetsMargin", json!(false)),
                    ("tradeGroupId", json!(-1)),
                ] {
                    o.insert(k.into(), val);
                }
            }
            o.insert("positions".into(), Value::Array(positions));
        }
        v
    }

    /// `GET /fapi/v2/balance` and `/fapi/v3/balance`.
    pub fn balance(&self) -> Value {
        let avail = self.available();
        json!([{"accountAlias": "SgsRmYFzAuXq", "asset": "USDT", "balance": f8(self.wallet),
                "crossWalletBalance": f8(self.wallet), "crossUnPnl": f8(self.total_unrealized()),
                "availableBalance": f8(avail), "maxWithdrawAmount": f8(avail.max(0.0).min(self.wallet)),
                "marginAvailable": true, "updateTime": now_ms()}])
    }

    /// `GET /fapi/v2/positionRisk` (`v3 == false`) or `/fapi/v3/positionRisk`.
    pub fn position_risk(&self, p: &Params, v3: bool) -> Result<Value, ApiError> {
        let only = match param(p, "symbol") {
            Some(_) => Some(self.sym_param(p)?),
            None => None,
        };
        let rows: Vec<Value> = (0..self.mk.len())
            .filter(|i| only.is_none_or(|s| s == *i))
            .filter(|i| !v3 || self.pos[*i].amt != 0 || self.has_open_orders(*i))
            .map(|i| {
                let pos = &self.pos[i];
                let spec = self.mk[i].spec;
                let mark = self.mark_or_last(i);
                let notional = spec.qty(pos.amt) * mark;
                let bep = if pos.amt > 0 { pos.entry * (1.0 + self.taker_fee) } else if pos.amt < 0 { pos.entry * (1.0 - self.taker_fee) } else { 0.0 };
                let iw = if pos.isolated { spec.qty(pos.amt.abs()) * pos.entry / pos.leverage.max(1) as f64 } else { 0.0 };
                let mut j = json!({"symbol": spec.symbol, "positionSide": "BOTH", "positionAmt": spec.fmt_qty(pos.amt),
                    "entryPrice": spec.fmt_fpx(pos.entry, 5), "breakEvenPrice": spec.fmt_fpx(bep, 5),
                    "markPrice": spec.fmt_fpx(mark, 6), "unRealizedProfit": f8(self.unrealized(i)),
                    "liquidationPrice": spec.fmt_fpx(self.liq_price(i), 6),
                    "isolatedMargin": f8(if pos.isolated { iw + self.unrealized(i) } else { 0.0 }),
                    "notional": f8(notional), "isolatedWallet": f8(iw), "updateTime": pos.update_time});
                if let Some(o) = j.as_object_mut() {
                    if v3 {
                        o.insert("marginAsset".into(), json!("USDT"));
                        o.insert("initialMargin".into(), json!(f8(self.position_im(i) + self.open_order_im_sym(i))));
                        o.insert("maintMargin".into(), json!(f8(self.position_mm(i))));
                        o.insert("positionInitialMargin".into(), json!(f8(self.position_im(i))));
                        o.insert("openOrderInitialMargin".into(), json!(f8(self.open_order_im_sym(i))));
                        o.insert("adl".into(), json!(if pos.amt != 0 { 2 } else { 0 }));
                        o.insert("bidNotional".into(), json!(f8(self.side_notional(i, Side::Buy))));
                        o.insert("askNotional".into(), json!(f8(self.side_notional(i, Side::Sell))));
                    } else {
                        o.insert("leverage".into(), json!(pos.leverage.to_string()));
                        o.insert("maxNotionalValue".into(), json!(format!("{}", spec.max_notional(pos.leverage) as u64)));
                        o.insert("marginType".into(), json!(if pos.isolated { "isolated" } else { "cross" }));
                        o.insert("isAutoAddMargin".into(), json!("false"));
                    }
                }
                j
            })
            .collect();
        Ok(Value::Array(rows))
    }

    /// Positions as `GET /mock/positions` shows them.
    pub fn positions(&self) -> Value {
        Value::Array(
            (0..self.mk.len())
                .map(|i| {
                    let p = &self.pos[i];
                    let spec = self.mk[i].spec;
                    json!({"symbol": spec.symbol, "positionAmt": spec.fmt_qty(p.amt), "entryPrice": spec.fmt_fpx(p.entry, 5),
                           "leverage": p.leverage, "marginType": if p.isolated { "isolated" } else { "cross" },
                           "realizedPnl": f8(p.cum_realized), "unrealizedProfit": f8(self.unrealized(i)),
                           "walletBalance": f8(self.wallet)})
                })
                .collect(),
        )
    }

    /// Wallet balance (USDT).
    pub fn wallet(&self) -> f64 {
        self.wallet
    }

    // ------------------------------------------------------------------ test hooks

    /// Settles funding at `rate` now on every open position, at the mark price: the
    /// wallet pays `rate × notional` for a long (receives it for a short, and the other
    /// way round for a negative rate). One ACCOUNT_UPDATE `m:"FUNDING_FEE"` per
    /// position: the balance only for a cross position, the balance and the position for
    /// an isolated one, as Binance sends them. Returns the payments.
    pub fn settle_funding(&mut self, rate: f64) -> Value {
        let now = now_ms();
        let mut paid = Vec::new();
        for sym in 0..self.mk.len() {
            let amt = self.pos[sym].amt;
            if amt == 0 {
                continue;
            }
            let spec = self.mk[sym].spec;
            let payment = -rate * spec.qty(amt) * self.mark_or_last(sym);
            self.wallet += payment;
            self.pos[sym].update_time = now;
            let mut a = json!({"m": "FUNDING_FEE",
                "B": [{"a": "USDT", "wb": f8(self.wallet), "cw": f8(self.wallet), "bc": f8(payment)}]});
            if self.pos[sym].isolated {
                if let Some(o) = a.as_object_mut() {
                    o.insert("P".into(), json!([self.position_update_json(sym)]));
                }
            }
            let ev = json!({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": a});
            self.out.user("ACCOUNT_UPDATE", ev.to_string());
            paid.push(json!({"symbol": spec.symbol, "rate": rate, "payment": f8(payment)}));
        }
        Value::Array(paid)
    }

    /// Closes the whole position on `symbol` at the current (mark) price with a
    /// LIQUIDATION order whose client id starts `autoclose-`, as Binance's liquidation
    /// engine does: ORDER_TRADE_UPDATE (`x:"TRADE"`, `X:"FILLED"`, `o`/`ot`
    /// `LIQUIDATION`) and ACCOUNT_UPDATE, the clearance fee as commission. Resting
    /// orders and algo orders stay (a reduce-only stop that triggers later EXPIRES).
    pub fn liquidate(&mut self, symbol: &str) -> Result<Value, ApiError> {
        let sym = self
            .sym_index(symbol)
            .ok_or_else(ApiError::invalid_symbol)?;
        let amt = self.pos[sym].amt;
        if amt == 0 {
            return Err(ApiError::new(
                -1000,
                format!("No position on {symbol} to liquidate."),
            ));
        }
        let m = &self.mk[sym];
        let spec = m.spec;
        let price = m
            .mark()
            .map(|x| spec.px_units(x))
            .or(m.last_price)
            .filter(|p| *p > 0)
            .ok_or_else(|| ApiError::new(-1000, format!("No price for {symbol} yet.")))?;
        let side = if amt > 0 { Side::Sell } else { Side::Buy };
        let now = now_ms();
        let id = self.alloc_order_id();
        let mut client_id = format!("autoclose-{now}");
        if self.orders.iter().any(|o| o.client_id == client_id) {
            client_id = format!("autoclose-{now}-{}", self.orders.len());
        }
        let idx = self.orders.len();
        self.orders.push(Order {
            id,
            client_id: client_id.clone(),
            sym,
            side,
            market: true,
            order_type: "LIQUIDATION",
            orig_type: "LIQUIDATION",
            tif: Tif::Ioc,
            price,
            qty: amt.abs(),
            executed: 0,
            cum_quote: 0.0,
            status: Status::New,
            reduce_only: true,
            close_position: false,
            stop_price: 0,
            working_type: "CONTRACT_PRICE",
            price_protect: false,
            algo_id: None,
            time: now,
            update_time: now,
            queue_ahead: 0,
        });
        self.by_id.insert(id, idx);
        self.open.insert(idx);
        self.log_attempt(Attempt {
            time: now,
            endpoint: Endpoint::Liquidation,
            client_id,
            symbol: Some(spec.symbol.to_string()),
            side: Some(side.as_str().to_string()),
            order_type: Some("LIQUIDATION".into()),
            quantity: Some(spec.fmt_qty(amt.abs())),
            price: Some(spec.fmt_px(price)),
            trigger_price: None,
            reduce_only: true,
            close_position: false,
            algo_id: None,
            outcome: Outcome::Accepted(id),
        });
        self.fill(idx, amt.abs(), price, false);
        Ok(self.order_json(idx, false))
    }
}

#[cfg(test)]
mod tests;
