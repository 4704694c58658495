//! Klines on the exchange: `GET /fapi/v1/klines`, `GET /fapi/v1/ticker/24hr`, the
//! `<symbol>@kline_<interval>` streams, and the seeded history's merge.
//!
//! The bars themselves live in each market's [`KlineStore`] (`crate::klines`), updated
//! from `on_agg_trade` (one in-place bar update per trade, nothing allocated) and rolled
//! by the data clock in `advance`. The streams are pushed from the clock too: every
//! 250 ms of data time while the bar changed (as Binance's "250ms" update speed), and
//! once with `x: true` when a bar closes; only streams someone reads are built.

use serde_json::Value;

use super::params::{opt_u64, param, Params};
use super::Engine;
use crate::api_error::ApiError;
use crate::klines::interval::{Interval, ALL};
use crate::klines::{wire, History, KlineStore, MINUTE};

/// `limit` of `GET /fapi/v1/klines`: default and maximum.
const DEFAULT_LIMIT: usize = 500;
const MAX_LIMIT: usize = 1500;
/// Stream push period (data time).
const PUSH_MS: u64 = 250;
/// Closing pushes per roll at most: a clock jump over a long lull (replay) closes many
/// empty minutes at once; their `x: true` events are capped.
const MAX_CLOSE_PUSHES: usize = 60;

impl Engine {
    /// `GET /fapi/v1/klines`: `symbol` (-1121), `interval` (-1120), `startTime`,
    /// `endTime` (-1023 when start > end), `limit` (default 500, 1..=1500, else -1130).
    /// Bars up to the data clock only; the one in progress comes last.
    pub fn klines(&self, p: &Params) -> Result<Value, ApiError> {
        let sym = self.sym_param(p)?;
        let iv = match param(p, "interval") {
            None => return Err(ApiError::mandatory("interval")),
            Some(s) => {
                Interval::parse(s).ok_or_else(|| ApiError::new(-1120, "Invalid interval."))?
            }
        };
        let limit = match param(p, "limit") {
            None => DEFAULT_LIMIT,
            Some(l) => match l.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => return Err(ApiError::invalid_param("limit")),
            },
        };
        let (start, end) = (opt_u64(p, "startTime")?, opt_u64(p, "endTime")?);
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(ApiError::new(-1023, "Start time is greater than end time."));
            }
        }
        let m = &self.mk[sym];
        let bars = m.klines.query(iv, start, end, limit, self.data_now);
        Ok(Value::Array(
            bars.iter()
                .map(|b| wire::rest_row(&m.spec, iv, b))
                .collect(),
        ))
    }

    /// `GET /fapi/v1/ticker/24hr`, one symbol or all: the last 24 hours of 1-minute
    /// bars up to the data clock (whole minutes: the window starts at the first minute
    /// that opens after `now − 24 h`).
    pub fn ticker_24hr(&self, p: &Params) -> Result<Value, ApiError> {
        let now = self.data_now;
        let one = |i: usize| {
            let m = &self.mk[i];
            let day = m.klines.window(now.saturating_sub(86_400_000 - 1), now);
            wire::ticker(&m.spec, day.as_ref(), now, m.klines.last_qty)
        };
        if param(p, "symbol").is_some() {
            Ok(one(self.sym_param(p)?))
        } else {
            Ok(Value::Array((0..self.mk.len()).map(one).collect()))
        }
    }

    /// Opens symbol `sym`'s bars at data time `t`, flat at `price` (units): the
    /// synthetic market knows its price before its first trade.
    pub fn open_klines(&mut self, sym: usize, t: u64, price: i64) {
        if let Some(m) = self.mk.get_mut(sym) {
            m.klines.open_at(t, price);
        }
    }

    /// Puts the seeded history of symbol `sym` in front of its live bars.
    pub fn merge_history(&mut self, sym: usize, h: History) {
        if let Some(m) = self.mk.get_mut(sym) {
            m.klines.merge_history(h.bars, h.partial);
        }
    }

    /// Symbol `sym`'s bar store (tests and the status page).
    pub fn kline_store(&self, sym: usize) -> Option<&KlineStore> {
        self.mk.get(sym).map(|m| &m.klines)
    }

    /// Rolls every symbol's bars to data time `t` and pushes the kline streams: the
    /// closing `x: true` of every bar that closed, then, at each 250 ms boundary, the
    /// bars in progress that changed.
    pub(super) fn roll_klines(&mut self, t: u64) {
        for i in 0..self.mk.len() {
            let closed = self.mk[i].klines.roll(t);
            if closed > 0 {
                self.push_closed(i, closed, t);
            }
            let m = &mut self.mk[i];
            if t >= m.kline_push_at {
                let at = if m.kline_push_at == 0 {
                    t
                } else {
                    m.kline_push_at
                };
                m.kline_push_at = (t / PUSH_MS + 1) * PUSH_MS;
                if std::mem::take(&mut m.klines.dirty) {
                    self.push_live(i, at);
                }
            }
        }
    }

    /// `x: true` for the last `closed` closed minutes of symbol `i`, and for each coarse
    /// bar those minutes end.
    fn push_closed(&self, i: usize, closed: usize, e: u64) {
        let m = &self.mk[i];
        let n = m.klines.len();
        // The closed minutes are just before the bar in progress (the last).
        let first = n.saturating_sub(1 + closed.min(MAX_CLOSE_PUSHES));
        for j in first..n.saturating_sub(1) {
            let Some(b) = m.klines.get(j).copied() else {
                continue;
            };
            for (k, iv) in ALL.iter().enumerate() {
                let open = iv.open_of(b.open_time);
                if iv.close_of(open) != b.open_time + MINUTE - 1 {
                    continue; // this minute does not end its bucket
                }
                self.out.market(&m.kline_streams[k], || {
                    let bar = if k == 0 {
                        b
                    } else {
                        m.klines.bucket(*iv, b.open_time).unwrap_or(b)
                    };
                    wire::stream_event(&m.spec, *iv, &bar, e, true)
                });
            }
        }
    }

    /// `x: false` for symbol `i`'s bars in progress, every interval someone reads.
    fn push_live(&self, i: usize, e: u64) {
        let m = &self.mk[i];
        let Some(cur) = m.klines.current().copied() else {
            return;
        };
        for (k, iv) in ALL.iter().enumerate() {
            self.out.market(&m.kline_streams[k], || {
                let bar = if k == 0 {
                    cur
                } else {
                    m.klines.bucket(*iv, cur.open_time).unwrap_or(cur)
                };
                wire::stream_event(&m.spec, *iv, &bar, e, false)
            });
        }
    }
}

#[cfg(test)]
mod tests;
