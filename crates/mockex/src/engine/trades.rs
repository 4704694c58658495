//! The account's own trades: one record per fill, with the same trade id as the
//! ORDER_TRADE_UPDATE `t` that announced it, so a client can fill a gap in its user
//! stream from `GET /fapi/v1/userTrades` without counting a fill twice; and the
//! commission's asset (USDT, or BNB with the fee discount switched on).

use serde_json::{json, Value};

use super::params::{opt_u64, param, Params};
use super::{f8, now_ms, Engine, Side};
use crate::api_error::ApiError;
use crate::spec::{find_spec, fmt_units};

/// userTrades without a time window cover the last 7 days; a window is at most 7 days.
const WEEK_MS: u64 = 7 * 86_400_000;

/// One fill of one of the account's orders.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Trade {
    /// Trade id (`t` of its ORDER_TRADE_UPDATE).
    pub(super) id: u64,
    pub(super) order_id: u64,
    pub(super) sym: usize,
    pub(super) side: Side,
    /// Price units.
    pub(super) price: i64,
    /// Quantity units.
    pub(super) qty: i64,
    /// Commission in `commission_asset`.
    pub(super) commission: f64,
    pub(super) commission_asset: &'static str,
    pub(super) realized: f64,
    pub(super) maker: bool,
    pub(super) time: u64,
}

impl Engine {
    /// A fee in USDT as reported: itself in USDT, or converted at the BNB price.
    pub(super) fn commission(&self, fee_usdt: f64) -> (f64, &'static str) {
        if !self.fee_bnb {
            return (fee_usdt, "USDT");
        }
        let listed = self
            .sym_index("BNBUSDT")
            .and_then(|i| self.mk[i].mark())
            .filter(|p| *p > 0.0);
        let bnb = listed
            .or_else(|| find_spec("BNBUSDT").map(|s| s.base_price))
            .unwrap_or(580.0);
        (fee_usdt / bnb, "BNB")
    }

    /// Records a fill.
    pub(super) fn record_trade(&mut self, t: Trade) {
        self.trades.push(t);
    }

    /// `GET /fapi/v1/userTrades`: `symbol` (required), `orderId`, `startTime`,
    /// `endTime`, `fromId` (not with a time), `limit` (≤ 1000, default 500). Ascending
    /// by id: from `fromId` on, the first of a time window, else the latest of the last
    /// 7 days.
    pub fn user_trades(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let limit = match param(p, "limit") {
            None => 500,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=1000).contains(&n) => n,
                _ => return Err(ApiError::invalid_param("limit")),
            },
        };
        let order_id = opt_u64(p, "orderId")?;
        let from_id = opt_u64(p, "fromId")?;
        let (start, end) = (opt_u64(p, "startTime")?, opt_u64(p, "endTime")?);
        if from_id.is_some() && (start.is_some() || end.is_some()) {
            return Err(ApiError::new(
                -1128,
                "Combination of optional parameters invalid.",
            ));
        }
        let window = match (start, end) {
            (Some(s), Some(e)) if e < s || e - s > WEEK_MS => {
                return Err(ApiError::new(
                    -1127,
                    "More than 7 days between startTime and endTime.",
                ))
            }
            (Some(s), Some(e)) => Some((s, e)),
            (Some(s), None) => Some((s, s + WEEK_MS)),
            (None, Some(e)) => Some((e.saturating_sub(WEEK_MS), e)),
            (None, None) => None,
        };
        let mine = self
            .trades
            .iter()
            .filter(|t| t.sym == sym && order_id.is_none_or(|o| t.order_id == o));
        let sel: Vec<&Trade> = if let Some(f) = from_id {
            mine.filter(|t| t.id >= f).take(limit).collect()
        } else if let Some((s, e)) = window {
            mine.filter(|t| t.time >= s && t.time <= e)
                .take(limit)
                .collect()
        } else {
            let since = now_ms().saturating_sub(WEEK_MS);
            let recent: Vec<&Trade> = mine.filter(|t| t.time >= since).collect();
            let skip = recent.len().saturating_sub(limit);
            recent.into_iter().skip(skip).collect()
        };
        Ok(Value::Array(
            sel.into_iter().map(|t| self.trade_json(t)).collect(),
        ))
    }

    fn trade_json(&self, t: &Trade) -> Value {
        let spec = self.mk[t.sym].spec;
        let quote = fmt_units(t.price * t.qty, spec.price_dp + spec.qty_dp);
        json!({"buyer": t.side == Side::Buy, "commission": f8(t.commission),
               "commissionAsset": t.commission_asset, "id": t.id, "maker": t.maker,
               "orderId": t.order_id, "price": spec.fmt_px(t.price), "qty": spec.fmt_qty(t.qty),
               "quoteQty": quote, "realizedPnl": f8(t.realized), "side": t.side.as_str(),
               "positionSide": "BOTH", "symbol": spec.symbol, "time": t.time})
    }
}

#[cfg(test)]
mod tests;
