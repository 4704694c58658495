//! Matching: taking liquidity from the book, resting orders filled by the tape, fills
//! and their user-stream events.

use serde_json::json;

use super::account::LIQUIDATION_FEE;
use super::trades::Trade;
use super::{f8, now_ms, Engine, Side, Status};
use crate::feed::AggTrade;
use crate::spec::SymbolSpec;

/// One fill as its ORDER_TRADE_UPDATE reports it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fill {
    pub(super) qty: i64,
    pub(super) px: i64,
    /// Commission in `fee_asset`.
    pub(super) fee: f64,
    pub(super) fee_asset: &'static str,
    pub(super) realized: f64,
    pub(super) maker: bool,
    pub(super) trade_id: u64,
}

impl Engine {
    /// Quantity available at `price` or better on the opposite side.
    pub(super) fn fillable(&self, sym: usize, side: Side, price: i64) -> i64 {
        self.mk[sym]
            .liquidity(side, self.seed)
            .into_iter()
            .take_while(|(px, _)| match side {
                Side::Buy => *px <= price,
                Side::Sell => *px >= price,
            })
            .map(|(_, q)| q)
            .sum()
    }

    pub(super) fn slipped(&self, spec: &SymbolSpec, side: Side, px: i64) -> i64 {
        if self.slippage_bps <= 0.0 {
            return px;
        }
        let f = 1.0 + side.sign() as f64 * self.slippage_bps / 10_000.0;
        spec.px_units(spec.px(px) * f)
    }

    /// Walks the opposite side of the book (up to the limit price for limit orders), one
    /// fill (one TRADE event, one trade id) per level. The mock's own fills do not
    /// consume the recorded / synthetic book.
    pub(super) fn take_liquidity(&mut self, idx: usize) {
        let o = self.orders[idx].clone();
        let spec = self.mk[o.sym].spec;
        let levels = self.mk[o.sym].liquidity(o.side, self.seed);
        let mut remaining = o.qty - o.executed;
        for (px, avail) in levels {
            if remaining <= 0 || !self.orders[idx].status.is_open() {
                break;
            }
            if !o.market
                && ((o.side == Side::Buy && px > o.price) || (o.side == Side::Sell && px < o.price))
            {
                break;
            }
            let q = remaining.min(avail);
            let fill_px = if o.market {
                self.slipped(&spec, o.side, px)
            } else {
                px
            };
            let done = self.fill(idx, q, fill_px, false);
            remaining -= done;
            if done == 0 {
                break;
            }
        }
    }

    /// Executes `qty` of order `idx` at `px`; returns what was executed (reduce-only
    /// orders are capped at the position and expire when it is gone).
    pub(super) fn fill(&mut self, idx: usize, mut qty: i64, px: i64, maker: bool) -> i64 {
        let (sym, side, reduce_only) = {
            let o = &self.orders[idx];
            (o.sym, o.side, o.reduce_only)
        };
        let spec = self.mk[sym].spec;
        let pos_amt = self.pos[sym].amt;
        if reduce_only {
            let closable = if pos_amt != 0 && pos_amt.signum() != side.sign() {
                pos_amt.abs()
            } else {
                0
            };
            qty = qty.min(closable);
            if qty == 0 {
                self.finish(idx, Status::Expired, "0");
                return 0;
            }
        }
        let now = now_ms();
        let price = spec.px(px);
        let qf = spec.qty(qty);
        let notional = price * qf;
        let rate = if self.orders[idx].order_type == "LIQUIDATION" {
            LIQUIDATION_FEE
        } else if maker {
            self.maker_fee
        } else {
            self.taker_fee
        };
        let fee = notional * rate;
        let signed = side.sign() * qty;
        let pos = &mut self.pos[sym];
        let mut realized = 0.0;
        if pos.amt == 0 || pos.amt.signum() == signed.signum() {
            let old = spec.qty(pos.amt.abs());
            pos.entry = (pos.entry * old + price * qf) / (old + qf);
            pos.amt += signed;
        } else {
            let close = qty.min(pos.amt.abs());
            realized = (price - pos.entry) * spec.qty(close) * pos.amt.signum() as f64;
            let before = pos.amt;
            pos.amt += signed;
            if pos.amt == 0 {
                pos.entry = 0.0;
            } else if pos.amt.signum() != before.signum() {
                pos.entry = price;
            }
        }
        pos.cum_realized += realized;
        pos.update_time = now;
        self.wallet += realized - fee;
        self.next_trade_id += 1;
        let trade_id = self.next_trade_id;
        let (commission, fee_asset) = self.commission(fee);
        let order_id = self.orders[idx].id;
        self.record_trade(Trade {
            id: trade_id,
            order_id,
            sym,
            side,
            price: px,
            qty,
            commission,
            commission_asset: fee_asset,
            realized,
            maker,
            time: now,
        });
        let o = &mut self.orders[idx];
        o.executed += qty;
        o.cum_quote += notional;
        o.update_time = now;
        o.status = if o.executed >= o.qty {
            Status::Filled
        } else {
            Status::PartiallyFilled
        };
        let done = o.status == Status::Filled;
        self.emit_order(
            idx,
            "TRADE",
            Some(Fill {
                qty,
                px,
                fee: commission,
                fee_asset,
                realized,
                maker,
                trade_id,
            }),
        );
        self.emit_account(sym, now);
        if done {
            self.on_order_done(idx);
        }
        qty
    }

    /// Bookkeeping once an order reached a final status (its events are out): it leaves
    /// the open set, so its client id may be used again, and the algo order that placed
    /// it is FINISHED.
    pub(super) fn on_order_done(&mut self, idx: usize) {
        self.open.remove(&idx);
        self.algo_order_done(idx);
    }

    pub(super) fn finish(&mut self, idx: usize, status: Status, reason: &str) {
        let o = &mut self.orders[idx];
        if !o.status.is_open() {
            return;
        }
        o.status = status;
        o.update_time = now_ms();
        let x = if status == Status::Canceled {
            "CANCELED"
        } else {
            "EXPIRED"
        };
        let er = reason.to_string();
        self.emit_order_er(idx, x, None, &er);
        self.on_order_done(idx);
    }

    /// Fills resting limit orders that the tape trades through. An order also fills at
    /// its own price once the quantity that was queued ahead of it has traded.
    pub(super) fn match_resting(&mut self, sym: usize, t: &AggTrade) {
        let cand: Vec<usize> = self
            .open
            .iter()
            .copied()
            .filter(|&i| self.orders[i].sym == sym && !self.orders[i].market)
            .collect();
        for idx in cand {
            let o = &self.orders[idx];
            let remaining = o.qty - o.executed;
            // A buy rests on the bid side: only a selling taker (m=true) trades with it.
            let through = match o.side {
                Side::Buy => t.price < o.price,
                Side::Sell => t.price > o.price,
            };
            let at_price = t.price == o.price && (o.side == Side::Buy) == t.buyer_maker;
            let q = if through {
                remaining
            } else if at_price {
                let o = &mut self.orders[idx];
                if o.queue_ahead >= t.qty {
                    o.queue_ahead -= t.qty;
                    0
                } else {
                    let avail = t.qty - o.queue_ahead;
                    o.queue_ahead = 0;
                    remaining.min(avail)
                }
            } else {
                0
            };
            if q > 0 {
                let px = self.orders[idx].price;
                self.fill(idx, q, px, true);
            }
        }
    }

    pub(super) fn emit_order(&mut self, idx: usize, x: &str, fill: Option<Fill>) {
        self.emit_order_er(idx, x, fill, "0");
    }

    pub(super) fn emit_order_er(&mut self, idx: usize, x: &str, fill: Option<Fill>, er: &str) {
        let o = &self.orders[idx];
        let spec = self.mk[o.sym].spec;
        let now = now_ms();
        let avg = if o.executed > 0 {
            o.cum_quote / spec.qty(o.executed)
        } else {
            0.0
        };
        let mut body = json!({
            "s": spec.symbol, "c": o.client_id, "S": o.side.as_str(), "o": o.order_type,
            "f": o.tif.as_str(), "q": spec.fmt_qty(o.qty), "p": spec.fmt_px(o.price), "ap": spec.fmt_fpx(avg, 3),
            "sp": spec.fmt_px(o.stop_price), "x": x, "X": o.status.as_str(), "i": o.id,
            "l": "0", "z": spec.fmt_qty(o.executed), "L": "0", "T": now, "t": 0, "b": "0", "a": "0", "m": false,
            "R": o.reduce_only, "wt": o.working_type, "ot": o.orig_type, "ps": "BOTH", "cp": o.close_position,
            "rp": "0", "pP": o.price_protect, "si": 0, "ss": 0, "V": "EXPIRE_MAKER", "pm": "NONE", "gtd": 0, "er": er,
        });
        if let (Some(f), Some(obj)) = (fill, body.as_object_mut()) {
            obj.insert("l".into(), json!(spec.fmt_qty(f.qty)));
            obj.insert("L".into(), json!(spec.fmt_px(f.px)));
            obj.insert("N".into(), json!(f.fee_asset));
            obj.insert("n".into(), json!(f8(f.fee)));
            obj.insert("t".into(), json!(f.trade_id));
            obj.insert("m".into(), json!(f.maker));
            obj.insert("rp".into(), json!(f8(f.realized)));
        }
        let ev = json!({"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": body});
        self.out.user("ORDER_TRADE_UPDATE", ev.to_string());
    }
}

#[cfg(test)]
mod tests;
