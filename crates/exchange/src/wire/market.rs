//! Market-data messages: the websocket streams (`aggTrade`, `bookTicker`, `depthUpdate`,
//! `markPriceUpdate`), the combined-stream envelope, and the two public REST bodies the
//! market-data client needs (depth snapshot, aggTrades history for gap backfill).
//!
//! Field names follow Binance's one-letter keys through `#[serde(rename)]`; the Rust
//! names say what they mean. Decimal strings are parsed to `f64` with
//! `str::parse::<f64>` (correctly rounded) and must be finite: Binance never sends
//! `NaN`/`inf`, so one that does is a broken frame, not a price. Signs are not checked
//! here because some decimals are legitimately negative (funding rate); the conversions
//! to records ([`AggTrade::to_tick`], [`BookTicker::to_book_top`]) check positivity.

use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;
use shmtrader_core::{BookTop, Side, Tick, NS_PER_MS};

use crate::error::{ExchangeError, Result};

/// A decimal string as Binance sends it (`"63943.90"`), parsed to a finite `f64`.
///
/// ```json
/// "63943.90"
/// ```
///
/// A newtype with its own visitor so both borrowed and owned (escaped) strings work and
/// nothing is allocated for the common borrowed case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dec(pub f64);

struct DecVisitor;

impl Visitor<'_> for DecVisitor {
    type Value = Dec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a finite decimal number in a string")
    }

    fn visit_str<E: de::Error>(self, s: &str) -> std::result::Result<Dec, E> {
        match s.parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(Dec(v)),
            _ => Err(E::invalid_value(de::Unexpected::Str(s), &self)),
        }
    }
}

impl<'de> Deserialize<'de> for Dec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_str(DecVisitor)
    }
}

/// `deserialize_with` helper: a decimal string field straight into an `f64`.
pub(crate) fn dec<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    Dec::deserialize(d).map(|x| x.0)
}

/// One book level: price and absolute quantity (`"0"` / `"0.000"` in a diff deletes the
/// level). A third element, sent by older APIs, is ignored.
///
/// ```json
/// ["63943.90","46.372"]
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceLevel {
    /// Level price.
    pub price: f64,
    /// Quantity resting at that price (base asset).
    pub qty: f64,
}

impl<'de> Deserialize<'de> for PriceLevel {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct LevelVisitor;
        impl<'de> Visitor<'de> for LevelVisitor {
            type Value = PriceLevel;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [price, quantity] pair of decimal strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> std::result::Result<PriceLevel, A::Error> {
                let price: Dec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let qty: Dec = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                // Tolerate trailing elements (older APIs sent a third, ignored one).
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(PriceLevel {
                    price: price.0,
                    qty: qty.0,
                })
            }
        }
        d.deserialize_seq(LevelVisitor)
    }
}

/// Combined-stream wrapper, used on `/stream?streams=...` connections: the raw event sits
/// under `data`.
///
/// ```json
/// {"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope<T> {
    /// Stream name, lowercase symbol (`btcusdt@aggTrade`).
    pub stream: String,
    /// The raw event.
    pub data: T,
}

/// `<symbol>@aggTrade`: one aggregated taker order at one price.
///
/// ```json
/// {"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct AggTrade {
    /// `e`: always `aggTrade`.
    #[serde(rename = "e")]
    pub event_type: String,
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `s`: symbol, uppercase.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `a`: aggregate trade id, consecutive per symbol: the gap detector's key.
    #[serde(rename = "a")]
    pub agg_id: u64,
    /// `p`: price.
    #[serde(rename = "p", deserialize_with = "dec")]
    pub price: f64,
    /// `q`: quantity (base asset).
    #[serde(rename = "q", deserialize_with = "dec")]
    pub qty: f64,
    /// `f`: first raw trade id.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// `l`: last raw trade id.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// `T`: trade time (ms).
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// `m`: the buyer was the maker, i.e. the taker **sold**.
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

fn reject(what: &'static str, field: &'static str, reason: &'static str) -> ExchangeError {
    ExchangeError::Rejected {
        what,
        field,
        reason,
    }
}

/// Price/quantity rule shared by every conversion into a record: a trade or a quote at a
/// non-positive price or size is not a market event, whatever the JSON says.
pub(crate) fn positive(
    v: f64,
    what: &'static str,
    field: &'static str,
) -> std::result::Result<f64, ExchangeError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(reject(what, field, "is not a positive finite decimal"))
    }
}

/// ms → ns without silent wrap-around.
pub(crate) fn ms_to_ns(ms: u64, what: &'static str, field: &'static str) -> Result<u64> {
    ms.checked_mul(NS_PER_MS)
        .ok_or_else(|| reject(what, field, "is out of range for a time in ms"))
}

/// The taker's side from `m` (buyer is maker ⇒ the taker sold).
pub fn taker_side(buyer_is_maker: bool) -> Side {
    if buyer_is_maker {
        Side::Sell
    } else {
        Side::Buy
    }
}

impl AggTrade {
    /// The record ingest publishes. `recv_ts_ns` is the local receive time; the
    /// exchange time is `T`, the match time (not `E`, which is when the frame was built).
    pub fn to_tick(&self, symbol_id: u32, recv_ts_ns: u64) -> Result<Tick> {
        const W: &str = "aggTrade frame";
        if self.event_type != "aggTrade" {
            return Err(reject(W, "e", "is not \"aggTrade\""));
        }
        Ok(Tick {
            symbol_id,
            side: taker_side(self.buyer_is_maker).code(),
            flags: 0,
            _pad: 0,
            exchange_ts_ns: ms_to_ns(self.trade_time, W, "T")?,
            recv_ts_ns,
            publish_ts_ns: 0,
            price: positive(self.price, W, "p")?,
            qty: positive(self.qty, W, "q")?,
            agg_id: self.agg_id,
            last_trade_id: self.last_trade_id,
        })
    }
}

/// One item of `GET /fapi/v1/aggTrades` (the REST history used to backfill gaps): the
/// stream fields minus `e`, `E`, `s`.
///
/// ```json
/// {"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,"m":true}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RestAggTrade {
    /// `a`: aggregate trade id.
    #[serde(rename = "a")]
    pub agg_id: u64,
    /// `p`: price.
    #[serde(rename = "p", deserialize_with = "dec")]
    pub price: f64,
    /// `q`: quantity.
    #[serde(rename = "q", deserialize_with = "dec")]
    pub qty: f64,
    /// `f`: first raw trade id.
    #[serde(rename = "f")]
    pub first_trade_id: u64,
    /// `l`: last raw trade id.
    #[serde(rename = "l")]
    pub last_trade_id: u64,
    /// `T`: trade time (ms).
    #[serde(rename = "T")]
    pub trade_time: u64,
    /// `m`: buyer is maker (taker sold).
    #[serde(rename = "m")]
    pub buyer_is_maker: bool,
}

impl RestAggTrade {
    /// The record for a backfilled trade: like a live one, flagged
    /// [`Tick::FLAG_BACKFILL`] so consumers can tell it arrived late.
    pub fn to_tick(&self, symbol_id: u32, recv_ts_ns: u64) -> Result<Tick> {
        const W: &str = "REST aggTrade";
        Ok(Tick {
            symbol_id,
            side: taker_side(self.buyer_is_maker).code(),
            flags: Tick::FLAG_BACKFILL,
            _pad: 0,
            exchange_ts_ns: ms_to_ns(self.trade_time, W, "T")?,
            recv_ts_ns,
            publish_ts_ns: 0,
            price: positive(self.price, W, "p")?,
            qty: positive(self.qty, W, "q")?,
            agg_id: self.agg_id,
            last_trade_id: self.last_trade_id,
        })
    }
}

/// `<symbol>@bookTicker`: best bid and offer, pushed on every change.
///
/// ```json
/// {"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BookTicker {
    /// `e`: always `bookTicker`.
    #[serde(rename = "e")]
    pub event_type: String,
    /// `u`: order book update id (same id space as depth `U`/`u`).
    #[serde(rename = "u")]
    pub update_id: u64,
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `T`: transaction time (ms): when the book changed.
    #[serde(rename = "T")]
    pub transaction_time: u64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `b`: best bid price.
    #[serde(rename = "b", deserialize_with = "dec")]
    pub bid_px: f64,
    /// `B`: best bid quantity.
    #[serde(rename = "B", deserialize_with = "dec")]
    pub bid_qty: f64,
    /// `a`: best ask price.
    #[serde(rename = "a", deserialize_with = "dec")]
    pub ask_px: f64,
    /// `A`: best ask quantity.
    #[serde(rename = "A", deserialize_with = "dec")]
    pub ask_qty: f64,
}

impl BookTicker {
    /// The record ingest publishes; exchange time is `T` (the book change), for the same
    /// reason trades use their match time.
    pub fn to_book_top(&self, symbol_id: u32, recv_ts_ns: u64) -> Result<BookTop> {
        const W: &str = "bookTicker frame";
        if self.event_type != "bookTicker" {
            return Err(reject(W, "e", "is not \"bookTicker\""));
        }
        Ok(BookTop {
            symbol_id,
            flags: 0,
            exchange_ts_ns: ms_to_ns(self.transaction_time, W, "T")?,
            recv_ts_ns,
            publish_ts_ns: 0,
            bid_px: positive(self.bid_px, W, "b")?,
            bid_qty: positive(self.bid_qty, W, "B")?,
            ask_px: positive(self.ask_px, W, "a")?,
            ask_qty: positive(self.ask_qty, W, "A")?,
        })
    }
}

/// `<symbol>@depth[@100ms|@500ms]` (and the partial `@depth<N>` streams): a diff of the
/// book covering update ids `U..=u`; `pu` is the `u` of the previous event, the only
/// continuity check that holds on futures (`U` ≠ previous `u` + 1).
///
/// ```json
/// {"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DepthUpdate {
    /// `e`: always `depthUpdate`.
    #[serde(rename = "e")]
    pub event_type: String,
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `T`: transaction time (ms).
    #[serde(rename = "T")]
    pub transaction_time: u64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `U`: first update id in this event.
    #[serde(rename = "U")]
    pub first_update_id: u64,
    /// `u`: final update id in this event.
    #[serde(rename = "u")]
    pub final_update_id: u64,
    /// `pu`: final update id of the previous event.
    #[serde(rename = "pu")]
    pub prev_final_update_id: u64,
    /// `b`: changed bid levels (absolute quantities; 0 deletes).
    #[serde(rename = "b")]
    pub bids: Vec<PriceLevel>,
    /// `a`: changed ask levels.
    #[serde(rename = "a")]
    pub asks: Vec<PriceLevel>,
}

/// `GET /fapi/v1/depth?symbol=..&limit=..`: the snapshot a local book starts from.
///
/// ```json
/// {"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct DepthSnapshot {
    /// Update id the snapshot is consistent with.
    #[serde(rename = "lastUpdateId")]
    pub last_update_id: u64,
    /// `E`: message output time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `T`: transaction time (ms).
    #[serde(rename = "T")]
    pub transaction_time: u64,
    /// Bids, best (highest) first.
    pub bids: Vec<PriceLevel>,
    /// Asks, best (lowest) first.
    pub asks: Vec<PriceLevel>,
}

/// `<symbol>@markPrice[@1s]`: mark and index price, funding rate and next funding time.
///
/// ```json
/// {"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarkPrice {
    /// `e`: always `markPriceUpdate`.
    #[serde(rename = "e")]
    pub event_type: String,
    /// `E`: event time (ms).
    #[serde(rename = "E")]
    pub event_time: u64,
    /// `s`: symbol.
    #[serde(rename = "s")]
    pub symbol: String,
    /// `p`: mark price.
    #[serde(rename = "p", deserialize_with = "dec")]
    pub mark_price: f64,
    /// `i`: index price.
    #[serde(rename = "i", deserialize_with = "dec")]
    pub index_price: f64,
    /// `P`: estimated settle price (only meaningful in the last hour before settlement).
    #[serde(rename = "P", deserialize_with = "dec")]
    pub estimated_settle_price: f64,
    /// `r`: funding rate (may be negative).
    #[serde(rename = "r", deserialize_with = "dec")]
    pub funding_rate: f64,
    /// `T`: next funding time (ms).
    #[serde(rename = "T")]
    pub next_funding_time: u64,
}

/// `GET /fapi/v1/premiumIndex?symbol=` (weight 1): mark and index price, funding. Used
/// as a fallback mark and to convert a commission paid in BNB to USDT.
///
/// ```json
/// {"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970","estimatedSettlePrice":"11781.16138815","lastFundingRate":"0.00038246","interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarkPriceInfo {
    /// Symbol.
    pub symbol: String,
    /// Mark price.
    #[serde(deserialize_with = "dec")]
    pub mark_price: f64,
    /// Index price.
    #[serde(deserialize_with = "dec")]
    pub index_price: f64,
    /// Estimated settle price (only meaningful in the last hour before settlement).
    #[serde(default, deserialize_with = "opt_dec")]
    pub estimated_settle_price: Option<f64>,
    /// Last funding rate (may be negative); `None` when the contract has none (`""`).
    #[serde(default, deserialize_with = "opt_dec")]
    pub last_funding_rate: Option<f64>,
    /// Interest rate; `None` when empty.
    #[serde(default, deserialize_with = "opt_dec")]
    pub interest_rate: Option<f64>,
    /// Next funding time (ms; 0 when none).
    #[serde(default)]
    pub next_funding_time: u64,
    /// When the exchange computed these values (ms).
    pub time: u64,
}

/// `deserialize_with` helper: an optional decimal string; absent, `null` or `""` is `None`.
pub(crate) fn opt_dec<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    match Option::<std::borrow::Cow<'de, str>>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => DecVisitor.visit_str(&s).map(|x| Some(x.0)),
    }
}

/// Decodes a market event that is either bare (a `/ws/` connection) or wrapped in the
/// combined-stream [`Envelope`] (`enveloped`, which the fast scanner reports). This is
/// the slow path for events the fast path does not cover (depth, mark price).
pub fn decode_event<T: DeserializeOwned>(
    frame: &[u8],
    enveloped: bool,
    what: &'static str,
) -> Result<T> {
    let r = if enveloped {
        serde_json::from_slice::<Envelope<T>>(frame).map(|e| e.data)
    } else {
        serde_json::from_slice::<T>(frame)
    };
    r.map_err(|e| ExchangeError::Malformed {
        what,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agg_trade_doc_example() {
        let j = r#"{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}"#;
        let t: AggTrade = serde_json::from_str(j).unwrap();
        assert_eq!(
            t,
            AggTrade {
                event_type: "aggTrade".into(),
                event_time: 123456789,
                symbol: "BTCUSDT".into(),
                agg_id: 5933014,
                price: 0.001,
                qty: 100.0,
                first_trade_id: 100,
                last_trade_id: 105,
                trade_time: 123456785,
                buyer_is_maker: true,
            }
        );
        let tick = t.to_tick(7, 99).unwrap();
        assert_eq!(tick.symbol_id, 7);
        assert_eq!(tick.aggressor(), Some(Side::Sell));
        assert_eq!(tick.exchange_ts_ns, 123456785 * NS_PER_MS);
        assert_eq!(tick.recv_ts_ns, 99);
        assert_eq!((tick.agg_id, tick.last_trade_id), (5933014, 105));
        assert_eq!(tick.flags, 0);
    }

    #[test]
    fn agg_trade_tolerates_new_fields() {
        // The 2026 connector fixture adds `nq` and `st`.
        let j = r#"{"e":"aggTrade","E":1,"s":"BTCUSDT","a":2,"p":"1.5","q":"3","nq":"3","f":4,"l":5,"T":6,"m":false,"st":1}"#;
        let t: AggTrade = serde_json::from_str(j).unwrap();
        assert_eq!(t.price, 1.5);
        assert_eq!(t.to_tick(0, 0).unwrap().aggressor(), Some(Side::Buy));
    }

    #[test]
    fn ids_are_integers_not_floats() {
        let j =
            r#"{"e":"aggTrade","E":1,"s":"X","a":2.0,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}"#;
        assert!(serde_json::from_str::<AggTrade>(j).is_err());
        // 19-digit ids survive exactly (they would not as f64).
        let j = r#"{"e":"aggTrade","E":1,"s":"X","a":9007199254740993,"p":"1","q":"1","f":1,"l":1,"T":1,"m":true}"#;
        assert_eq!(
            serde_json::from_str::<AggTrade>(j).unwrap().agg_id,
            9007199254740993
        );
    }

    #[test]
    fn decimals_must_be_finite_strings() {
        for bad in [r#""NaN""#, r#""inf""#, "1.5", r#""""#, r#""1.2.3""#] {
            let j = format!(
                r#"{{"e":"aggTrade","E":1,"s":"X","a":2,"p":{bad},"q":"1","f":1,"l":1,"T":1,"m":true}}"#
            );
            assert!(serde_json::from_str::<AggTrade>(&j).is_err(), "{bad}");
        }
        let j =
            r#"{"e":"aggTrade","E":1,"s":"X","a":2,"p":"-1","q":"1","f":1,"l":1,"T":1,"m":true}"#;
        let t: AggTrade = serde_json::from_str(j).unwrap();
        assert!(matches!(
            t.to_tick(0, 0),
            Err(ExchangeError::Rejected { field: "p", .. })
        ));
    }

    #[test]
    fn rest_agg_trade_doc_example() {
        let j = r#"{"a":26129,"p":"0.01633102","q":"4.70443515","f":27781,"l":27781,"T":1498793709153,"m":true}"#;
        let t: RestAggTrade = serde_json::from_str(j).unwrap();
        assert_eq!(t.agg_id, 26129);
        assert_eq!(t.price, 0.01633102);
        assert_eq!(t.qty, 4.70443515);
        assert_eq!((t.first_trade_id, t.last_trade_id), (27781, 27781));
        assert_eq!(t.trade_time, 1498793709153);
        assert!(t.buyer_is_maker);
        let tick = t.to_tick(1, 2).unwrap();
        assert_eq!(tick.flags, Tick::FLAG_BACKFILL);
        assert_eq!(tick.aggressor(), Some(Side::Sell));
        let list: Vec<RestAggTrade> = serde_json::from_str(&format!("[{j},{j}]")).unwrap();
        assert_eq!(list.len(), 2);
    }

    #[test]
    fn book_ticker_doc_example() {
        let j = r#"{"e":"bookTicker","u":400900217,"E":1568014460893,"T":1568014460891,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}"#;
        let b: BookTicker = serde_json::from_str(j).unwrap();
        assert_eq!(b.update_id, 400900217);
        assert_eq!(b.event_time, 1568014460893);
        assert_eq!(b.transaction_time, 1568014460891);
        assert_eq!(b.symbol, "BNBUSDT");
        assert_eq!(
            (b.bid_px, b.bid_qty, b.ask_px, b.ask_qty),
            (25.3519, 31.21, 25.3652, 40.66)
        );
        let top = b.to_book_top(3, 4).unwrap();
        assert_eq!(top.exchange_ts_ns, 1568014460891 * NS_PER_MS);
        assert_eq!(top.ask_px, 25.3652);
        // Newer fixtures add `ps` and `st`.
        let j2 = j.replace("\"A\"", "\"ps\":\"BNBUSDT\",\"st\":1,\"A\"");
        assert_eq!(serde_json::from_str::<BookTicker>(&j2).unwrap(), b);
    }

    #[test]
    fn depth_update_doc_example() {
        let j = r#"{"e":"depthUpdate","E":123456789,"T":123456788,"s":"BTCUSDT","U":157,"u":160,"pu":149,"b":[["0.0024","10"]],"a":[["0.0026","100"]]}"#;
        let d: DepthUpdate = serde_json::from_str(j).unwrap();
        assert_eq!(
            (d.first_update_id, d.final_update_id, d.prev_final_update_id),
            (157, 160, 149)
        );
        assert_eq!(d.transaction_time, 123456788);
        assert_eq!(
            d.bids,
            vec![PriceLevel {
                price: 0.0024,
                qty: 10.0
            }]
        );
        assert_eq!(
            d.asks,
            vec![PriceLevel {
                price: 0.0026,
                qty: 100.0
            }]
        );
    }

    #[test]
    fn depth_levels_reject_garbage() {
        for bad in [r#"[["1"]]"#, r#"[[1,2]]"#, r#"["1","2"]"#, r#"[["x","2"]]"#] {
            let j = format!(
                r#"{{"e":"depthUpdate","E":1,"T":1,"s":"X","U":1,"u":2,"pu":0,"b":{bad},"a":[]}}"#
            );
            assert!(serde_json::from_str::<DepthUpdate>(&j).is_err(), "{bad}");
        }
    }

    #[test]
    fn depth_snapshot_doc_example() {
        let j = r#"{"lastUpdateId":1027024,"E":1589436922972,"T":1589436922959,"bids":[["4.00000000","431.00000000"]],"asks":[["4.00000200","12.00000000"]]}"#;
        let s: DepthSnapshot = serde_json::from_str(j).unwrap();
        assert_eq!(s.last_update_id, 1027024);
        assert_eq!(
            (s.event_time, s.transaction_time),
            (1589436922972, 1589436922959)
        );
        assert_eq!(
            s.bids,
            vec![PriceLevel {
                price: 4.0,
                qty: 431.0
            }]
        );
        assert_eq!(
            s.asks,
            vec![PriceLevel {
                price: 4.000002,
                qty: 12.0
            }]
        );
    }

    #[test]
    fn mark_price_doc_example() {
        let j = r#"{"e":"markPriceUpdate","E":1562305380000,"s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167","T":1562306400000}"#;
        let m: MarkPrice = serde_json::from_str(j).unwrap();
        assert_eq!(m.mark_price, 11794.15);
        assert_eq!(m.index_price, 11784.62659091);
        assert_eq!(m.estimated_settle_price, 11784.25641265);
        assert_eq!(m.funding_rate, 0.00038167);
        assert_eq!(m.next_funding_time, 1562306400000);
        let neg = j.replace("0.00038167", "-0.0001");
        assert_eq!(
            serde_json::from_str::<MarkPrice>(&neg)
                .unwrap()
                .funding_rate,
            -0.0001
        );
    }

    #[test]
    fn envelope_doc_example() {
        let j = r#"{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":123456789,"s":"BTCUSDT","a":5933014,"p":"0.001","q":"100","f":100,"l":105,"T":123456785,"m":true}}"#;
        let e: Envelope<AggTrade> = serde_json::from_str(j).unwrap();
        assert_eq!(e.stream, "btcusdt@aggTrade");
        assert_eq!(e.data.agg_id, 5933014);
        let d: AggTrade = decode_event(j.as_bytes(), true, "aggTrade").unwrap();
        assert_eq!(d, e.data);
        assert!(decode_event::<AggTrade>(j.as_bytes(), false, "aggTrade").is_err());
    }

    #[test]
    fn premium_index_documented_example_parses_to_numbers() {
        let m: MarkPriceInfo = serde_json::from_str(r#"{"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970","estimatedSettlePrice":"11781.16138815","lastFundingRate":"0.00038246","interestRate":"0.00010000","nextFundingTime":1597392000000,"time":1597370495002}"#).unwrap();
        assert_eq!(m.symbol, "BTCUSDT");
        assert_eq!(m.mark_price, 11_793.631_045_62);
        assert_eq!(m.index_price, 11_781.804_959_7);
        assert_eq!(m.estimated_settle_price, Some(11_781.161_388_15));
        assert_eq!(m.last_funding_rate, Some(0.000_382_46));
        assert_eq!(m.interest_rate, Some(0.0001));
        assert_eq!(
            (m.next_funding_time, m.time),
            (1_597_392_000_000, 1_597_370_495_002)
        );
        // A contract without funding sends "": no rate, not a zero rate.
        let m: MarkPriceInfo = serde_json::from_str(r#"{"symbol":"BTCUSDT_260327","markPrice":"1","indexPrice":"1","lastFundingRate":"","interestRate":"","nextFundingTime":0,"time":1}"#).unwrap();
        assert_eq!((m.last_funding_rate, m.interest_rate), (None, None));
        // A malformed mark price refuses the answer rather than reading 0.
        assert!(serde_json::from_str::<MarkPriceInfo>(
            r#"{"symbol":"X","markPrice":"","indexPrice":"1","time":1}"#
        )
        .is_err());
    }
}
