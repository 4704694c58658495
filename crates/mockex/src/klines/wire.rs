//! The JSON Binance prints for bars: a `GET /fapi/v1/klines` row, a
//! `<symbol>@kline_<interval>` event and a `GET /fapi/v1/ticker/24hr` object. Prices
//! carry the symbol's price decimals, volumes its quantity decimals, quote volumes both
//! (`"28425514.78940"` for BTCUSDT), exactly as the venue prints them.

use serde_json::{json, Value};

use super::interval::Interval;
use super::store::Bar;
use crate::spec::{fmt_units, SymbolSpec};

/// An exact `i128` amount in units of `10^-dp` as a decimal string.
pub fn fmt_wide(v: i128, dp: u32) -> String {
    let p = 10i128.pow(dp);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let p = p.unsigned_abs();
    if dp == 0 {
        format!("{sign}{a}")
    } else {
        format!("{sign}{}.{:0width$}", a / p, a % p, width = dp as usize)
    }
}

fn quote(spec: &SymbolSpec, q: i128) -> String {
    fmt_wide(q, spec.price_dp + spec.qty_dp)
}

/// One row of `GET /fapi/v1/klines`:
/// `[openTime,"o","h","l","c","v",closeTime,"q",n,"V","Q","0"]`.
pub fn rest_row(spec: &SymbolSpec, iv: Interval, b: &Bar) -> Value {
    json!([
        b.open_time,
        spec.fmt_px(b.open),
        spec.fmt_px(b.high),
        spec.fmt_px(b.low),
        spec.fmt_px(b.close),
        spec.fmt_qty(b.volume),
        iv.close_of(b.open_time),
        quote(spec, b.quote),
        b.trades,
        spec.fmt_qty(b.taker_volume),
        quote(spec, b.taker_quote),
        "0"
    ])
}

/// A `<symbol>@kline_<interval>` event at event time `e`; `closed` is `x`.
pub fn stream_event(spec: &SymbolSpec, iv: Interval, b: &Bar, e: u64, closed: bool) -> String {
    json!({"e":"kline","E":e,"s":spec.symbol,"k":{
        "t":b.open_time,"T":iv.close_of(b.open_time),"s":spec.symbol,"i":iv.name(),
        "f":b.first_id,"L":b.last_id,"o":spec.fmt_px(b.open),"c":spec.fmt_px(b.close),
        "h":spec.fmt_px(b.high),"l":spec.fmt_px(b.low),"v":spec.fmt_qty(b.volume),
        "n":b.trades,"x":closed,"q":quote(spec, b.quote),"V":spec.fmt_qty(b.taker_volume),
        "Q":quote(spec, b.taker_quote),"B":"0"}})
    .to_string()
}

/// `GET /fapi/v1/ticker/24hr` for one symbol: `day` is the last 24 hours summed into
/// one bar (`None`: nothing yet), `now` the close time, `last_qty` the last trade's
/// size.
pub fn ticker(spec: &SymbolSpec, day: Option<&Bar>, now: u64, last_qty: i64) -> Value {
    let empty = Bar::empty(now, 0);
    let b = day.unwrap_or(&empty);
    let change = b.close - b.open;
    let pct = if b.open > 0 {
        100.0 * change as f64 / b.open as f64
    } else {
        0.0
    };
    let vwap = if b.volume > 0 {
        spec.fmt_fpx(spec.px(1) * (b.quote as f64 / b.volume as f64), 0)
    } else {
        spec.fmt_px(0)
    };
    json!({"symbol":spec.symbol,"priceChange":fmt_units(change, spec.price_dp),
           "priceChangePercent":format!("{pct:.3}"),"weightedAvgPrice":vwap,
           "lastPrice":spec.fmt_px(b.close),"lastQty":spec.fmt_qty(last_qty),
           "openPrice":spec.fmt_px(b.open),"highPrice":spec.fmt_px(b.high),
           "lowPrice":spec.fmt_px(b.low),"volume":spec.fmt_qty(b.volume),
           "quoteVolume":quote(spec, b.quote),"openTime":now.saturating_sub(86_400_000),
           "closeTime":now,"firstId":b.first_id,"lastId":b.last_id,"count":b.trades})
}
