//! Fixed-size records exchanged through the shared-memory rings.
//!
//! Every record is `#[repr(C)]`, `Copy`, exactly 64 bytes (one cache line) and made only
//! of integers and floats: any bit pattern is a valid value, so a reader that copies a
//! slot word by word can never materialise an invalid `bool` or enum even if the seqlock
//! check were wrong. Sides, reasons and regimes are therefore stored as `u8` codes with
//! typed accessors. Layout tests at the bottom pin size, alignment and field offsets:
//! a change here is a change of the shared-memory ABI and must bump
//! [`LAYOUT_VERSION`]. So does a new record type: the set of rings an instance is made
//! of is part of the same ABI.

/// Version of the record layouts. Stored in every ring header so a stage built from an
/// older tree refuses to attach instead of misreading memory.
///
/// History: 1 = ticks, book, signals, outcomes; 2 = adds [`MarkPrice`] (the `mark` ring);
/// 3 = adds [`BarRecord`] (the `bars` ring).
pub const LAYOUT_VERSION: u32 = 3;

/// Marker for plain-old-data records that may live in a shared-memory ring.
///
/// Implementors promise: `#[repr(C)]`, no padding bytes, no pointers, size a multiple of
/// 8 and every bit pattern valid. [`TYPE_ID`](Record::TYPE_ID) is written into the ring
/// header so a consumer cannot attach to a ring of another record type.
pub trait Record: Copy + Default + Send + Sync + 'static {
    /// Distinct per record type; checked when a consumer opens a ring.
    const TYPE_ID: u32;
    /// Human-readable name for status output and errors.
    const NAME: &'static str;
}

/// Aggressor / order side as stored in records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// Taker bought / long.
    Buy,
    /// Taker sold / short.
    Sell,
}

impl Side {
    /// Wire code used inside records.
    pub const fn code(self) -> u8 {
        match self {
            Side::Buy => 0,
            Side::Sell => 1,
        }
    }
    /// Decodes a record code; anything but 0 and 1 is `None` (never trusted blindly).
    pub const fn from_code(c: u8) -> Option<Side> {
        match c {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }
    /// +1 for buy, -1 for sell.
    pub const fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
    /// The other side.
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// Binance spelling (`BUY` / `SELL`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "BUY",
            Side::Sell => "SELL",
        }
    }
}

/// One aggregated trade (Binance `aggTrade`), as published by ingest.
///
/// Times are nanoseconds: `exchange_ts_ns` is the exchange trade time (`T`),
/// `recv_ts_ns` the local receive time (CLOCK_REALTIME) and `publish_ts_ns` when ingest
/// published the record, so latency can be traced across processes.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tick {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// [`Side`] code of the aggressor (taker).
    pub side: u8,
    /// Bit flags, see `Tick::FLAG_*`.
    pub flags: u8,
    /// Explicit padding so the layout has no hidden bytes.
    pub _pad: u16,
    /// Exchange trade time (ns since the Unix epoch).
    pub exchange_ts_ns: u64,
    /// Local receive time (ns since the Unix epoch).
    pub recv_ts_ns: u64,
    /// When the producing stage published the record (ns since the Unix epoch).
    pub publish_ts_ns: u64,
    /// Trade price.
    pub price: f64,
    /// Trade quantity in base asset.
    pub qty: f64,
    /// Binance aggregate trade id (`a`): the gap detector's key.
    pub agg_id: u64,
    /// Last raw trade id inside the aggregate (`l`).
    pub last_trade_id: u64,
}

impl Tick {
    /// Set when the tick came from a REST backfill rather than the live stream.
    pub const FLAG_BACKFILL: u8 = 1;
    /// Set when the tick is synthetic (walking skeleton / synthetic market).
    pub const FLAG_SYNTHETIC: u8 = 2;

    /// Aggressor side, if the code is valid.
    pub fn aggressor(&self) -> Option<Side> {
        Side::from_code(self.side)
    }
}

impl Record for Tick {
    const TYPE_ID: u32 = 1;
    const NAME: &'static str = "tick";
}

/// Best bid and offer (Binance `bookTicker`) for one symbol.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BookTop {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// Reserved for flags.
    pub flags: u32,
    /// Exchange event time (ns).
    pub exchange_ts_ns: u64,
    /// Local receive time (ns).
    pub recv_ts_ns: u64,
    /// Publish time (ns).
    pub publish_ts_ns: u64,
    /// Best bid price.
    pub bid_px: f64,
    /// Best bid quantity.
    pub bid_qty: f64,
    /// Best ask price.
    pub ask_px: f64,
    /// Best ask quantity.
    pub ask_qty: f64,
}

impl BookTop {
    /// Mid price.
    pub fn mid(&self) -> f64 {
        0.5 * (self.bid_px + self.ask_px)
    }
}

impl Record for BookTop {
    const TYPE_ID: u32 = 2;
    const NAME: &'static str = "book";
}

/// A trading signal from analytics to the executor.
///
/// `source_seq` is the ticks-ring sequence of the tick that caused the signal: a
/// restarted analytics stage compares it with the last published signal and drops
/// repeats, and the executor derives deterministic client order ids from it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Signal {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// [`Side`] code of the proposed entry.
    pub side: u8,
    /// Regime label code (0 = unknown).
    pub regime: u8,
    /// Reserved.
    pub _pad: u16,
    /// Ticks-ring sequence of the input that caused this signal.
    pub source_seq: u64,
    /// Exchange time of that tick (ns).
    pub exchange_ts_ns: u64,
    /// Local receive time of that tick (ns).
    pub recv_ts_ns: u64,
    /// When analytics published the signal (ns).
    pub publish_ts_ns: u64,
    /// Reference price (the tick's price).
    pub price: f64,
    /// Signal strength in [-1, 1]; the sign agrees with `side`.
    pub strength: f32,
    /// The threshold the strength was compared against.
    pub threshold: f32,
    /// Id of the feature snapshot the ML filter saw (0 = none).
    pub feature_id: u32,
    /// ML probability ×1e6 (0 = not scored).
    pub ml_prob_ppm: u32,
}

impl Signal {
    /// Proposed side, if the code is valid.
    pub fn side(&self) -> Option<Side> {
        Side::from_code(self.side)
    }
}

impl Record for Signal {
    const TYPE_ID: u32 = 3;
    const NAME: &'static str = "signal";
}

/// Why a position was closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// Stop loss hit.
    Stop,
    /// Take profit hit.
    TakeProfit,
    /// Trailing stop hit.
    Trailing,
    /// Held for the maximum time.
    Time,
    /// Opposite signal reversed the position.
    Reverse,
    /// Kill switch or shutdown flattened it.
    Flatten,
}

impl ExitReason {
    /// Record code.
    pub const fn code(self) -> u8 {
        match self {
            ExitReason::Stop => 1,
            ExitReason::TakeProfit => 2,
            ExitReason::Trailing => 3,
            ExitReason::Time => 4,
            ExitReason::Reverse => 5,
            ExitReason::Flatten => 6,
        }
    }
    /// Decodes a record code.
    pub const fn from_code(c: u8) -> Option<ExitReason> {
        match c {
            1 => Some(ExitReason::Stop),
            2 => Some(ExitReason::TakeProfit),
            3 => Some(ExitReason::Trailing),
            4 => Some(ExitReason::Time),
            5 => Some(ExitReason::Reverse),
            6 => Some(ExitReason::Flatten),
            _ => None,
        }
    }
    /// Short lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            ExitReason::Stop => "stop",
            ExitReason::TakeProfit => "take_profit",
            ExitReason::Trailing => "trailing",
            ExitReason::Time => "time",
            ExitReason::Reverse => "reverse",
            ExitReason::Flatten => "flatten",
        }
    }
}

/// A closed trade, from the executor back to analytics (online learning, adaptive
/// thresholds).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Outcome {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// [`Side`] code of the entry.
    pub side: u8,
    /// [`ExitReason`] code.
    pub exit_reason: u8,
    /// Reserved.
    pub _pad: u16,
    /// Signals-ring sequence of the signal that opened the trade.
    pub signal_seq: u64,
    /// Entry time (ns).
    pub entry_ts_ns: u64,
    /// Exit time (ns); also when the outcome was produced.
    pub exit_ts_ns: u64,
    /// Average entry price.
    pub entry_px: f64,
    /// Average exit price.
    pub exit_px: f64,
    /// PnL net of fees and funding, in quote currency.
    pub net_pnl: f64,
    /// Fees paid (entry + exit), in quote currency.
    pub fees: f64,
}

impl Outcome {
    /// Holding time in nanoseconds.
    pub fn duration_ns(&self) -> u64 {
        self.exit_ts_ns.saturating_sub(self.entry_ts_ns)
    }
}

impl Record for Outcome {
    const TYPE_ID: u32 = 4;
    const NAME: &'static str = "outcome";
}

/// Mark price, index price and funding of one symbol (Binance `markPriceUpdate`, the
/// `<symbol>@markPrice@1s` stream), as published by ingest on the `mark` ring.
///
/// The executor marks positions and judges stops at the mark price, as Binance does for
/// liquidation and `workingType = MARK_PRICE` stops. Times follow the other records:
/// `exchange_ts_ns` is the event time (`E`), `recv_ts_ns` the local receive time and
/// `publish_ts_ns` when ingest published the record. `next_funding_ms` stays in
/// milliseconds, the venue's unit for funding times (`T`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MarkPrice {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// Reserved for flags (0); explicit so the layout has no hidden bytes.
    pub flags: u32,
    /// Exchange event time (ns since the Unix epoch).
    pub exchange_ts_ns: u64,
    /// Local receive time (ns since the Unix epoch).
    pub recv_ts_ns: u64,
    /// When ingest published the record (ns since the Unix epoch).
    pub publish_ts_ns: u64,
    /// Mark price (`p`).
    pub mark_px: f64,
    /// Index price (`i`).
    pub index_px: f64,
    /// Current funding rate (`r`), a fraction per funding interval (0.0001 = 0.01 %).
    pub funding_rate: f64,
    /// Next funding time (`T`, ms since the Unix epoch; 0 = unknown).
    pub next_funding_ms: u64,
}

impl MarkPrice {
    /// Set when the record is synthetic (walking skeleton / synthetic market).
    pub const FLAG_SYNTHETIC: u32 = 2;

    /// Basis of the mark over the index, as a fraction of the index (`None` without a
    /// positive index price).
    pub fn basis(&self) -> Option<f64> {
        (self.index_px > 0.0).then(|| (self.mark_px - self.index_px) / self.index_px)
    }
}

impl Record for MarkPrice {
    const TYPE_ID: u32 = 5;
    const NAME: &'static str = "mark";
}

/// One closed bar of one symbol with its ATR, as analytics publishes it on the `bars`
/// ring: the one source of bars for the strategy and for risk (stops, sizing,
/// correlation), so the executor never builds bars of its own and a restarted executor
/// has its ATR at once from the bars still in the ring.
///
/// Bars from a warm start (the venue's klines) and bars built from live trades look
/// the same: they are the same bars. A minute without trades is a flat bar (open = high
/// = low = close = the previous close, volume 0), as the venue's klines give it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BarRecord {
    /// Index into the symbol table.
    pub symbol_id: u32,
    /// Bar length (ms); bars of one instance all have the same.
    pub interval_ms: u32,
    /// Open time (ms since the Unix epoch), a multiple of the interval.
    pub open_time_ms: i64,
    /// First price.
    pub open: f64,
    /// Highest price.
    pub high: f64,
    /// Lowest price.
    pub low: f64,
    /// Last price.
    pub close: f64,
    /// Base-asset volume.
    pub volume: f64,
    /// Wilder ATR as of this bar's close (the indicator set's, period
    /// `indicators.atr`); NaN until it has enough bars.
    pub atr: f64,
}

impl BarRecord {
    /// The ATR, once it has a value.
    pub fn atr(&self) -> Option<f64> {
        (self.atr.is_finite() && self.atr > 0.0).then_some(self.atr)
    }

    /// Close time (ms): the open time of the next bar.
    pub fn close_time_ms(&self) -> i64 {
        self.open_time_ms + i64::from(self.interval_ms)
    }
}

impl Record for BarRecord {
    const TYPE_ID: u32 = 6;
    const NAME: &'static str = "bars";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn bar_record_is_one_cache_line_without_padding() {
        assert_eq!(size_of::<BarRecord>(), 64);
        assert_eq!(align_of::<BarRecord>(), 8);
        assert_eq!(offset_of!(BarRecord, open_time_ms), 8);
        assert_eq!(offset_of!(BarRecord, atr), 56);
        let fields = 2 * size_of::<u32>() + size_of::<i64>() + 6 * size_of::<f64>();
        assert_eq!(fields, size_of::<BarRecord>());
    }

    #[test]
    fn records_are_one_cache_line() {
        assert_eq!(size_of::<Tick>(), 64);
        assert_eq!(size_of::<BookTop>(), 64);
        assert_eq!(size_of::<Signal>(), 64);
        assert_eq!(size_of::<Outcome>(), 64);
        assert_eq!(size_of::<MarkPrice>(), 64);
        assert_eq!(align_of::<Tick>(), 8);
        assert_eq!(align_of::<BookTop>(), 8);
        assert_eq!(align_of::<Signal>(), 8);
        assert_eq!(align_of::<Outcome>(), 8);
        assert_eq!(align_of::<MarkPrice>(), 8);
    }

    #[test]
    fn field_offsets_are_pinned() {
        assert_eq!(offset_of!(Tick, symbol_id), 0);
        assert_eq!(offset_of!(Tick, side), 4);
        assert_eq!(offset_of!(Tick, exchange_ts_ns), 8);
        assert_eq!(offset_of!(Tick, price), 32);
        assert_eq!(offset_of!(Tick, agg_id), 48);
        assert_eq!(offset_of!(Tick, last_trade_id), 56);
        assert_eq!(offset_of!(BookTop, bid_px), 32);
        assert_eq!(offset_of!(BookTop, ask_qty), 56);
        assert_eq!(offset_of!(Signal, source_seq), 8);
        assert_eq!(offset_of!(Signal, price), 40);
        assert_eq!(offset_of!(Signal, strength), 48);
        assert_eq!(offset_of!(Signal, ml_prob_ppm), 60);
        assert_eq!(offset_of!(Outcome, signal_seq), 8);
        assert_eq!(offset_of!(Outcome, fees), 56);
        assert_eq!(offset_of!(MarkPrice, symbol_id), 0);
        assert_eq!(offset_of!(MarkPrice, flags), 4);
        assert_eq!(offset_of!(MarkPrice, exchange_ts_ns), 8);
        assert_eq!(offset_of!(MarkPrice, recv_ts_ns), 16);
        assert_eq!(offset_of!(MarkPrice, publish_ts_ns), 24);
        assert_eq!(offset_of!(MarkPrice, mark_px), 32);
        assert_eq!(offset_of!(MarkPrice, index_px), 40);
        assert_eq!(offset_of!(MarkPrice, funding_rate), 48);
        assert_eq!(offset_of!(MarkPrice, next_funding_ms), 56);
    }

    /// No hidden padding: the fields' sizes add up to the record size, so every byte a
    /// ring slot copies belongs to a field (any bit pattern is then a valid record).
    #[test]
    fn mark_price_has_no_padding_bytes() {
        let fields = 2 * size_of::<u32>() + 4 * size_of::<u64>() + 3 * size_of::<f64>();
        assert_eq!(fields, size_of::<MarkPrice>());
    }

    #[test]
    fn mark_price_basis_needs_an_index() {
        let m = MarkPrice {
            mark_px: 101.0,
            index_px: 100.0,
            ..MarkPrice::default()
        };
        assert_eq!(m.basis(), Some(0.01));
        assert_eq!(MarkPrice::default().basis(), None);
    }

    #[test]
    fn type_ids_are_distinct() {
        let ids = [
            Tick::TYPE_ID,
            BookTop::TYPE_ID,
            Signal::TYPE_ID,
            Outcome::TYPE_ID,
            MarkPrice::TYPE_ID,
            BarRecord::TYPE_ID,
        ];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn codes_round_trip_and_reject_garbage() {
        for s in [Side::Buy, Side::Sell] {
            assert_eq!(Side::from_code(s.code()), Some(s));
        }
        assert_eq!(Side::from_code(7), None);
        for r in [
            ExitReason::Stop,
            ExitReason::TakeProfit,
            ExitReason::Trailing,
            ExitReason::Time,
            ExitReason::Reverse,
            ExitReason::Flatten,
        ] {
            assert_eq!(ExitReason::from_code(r.code()), Some(r));
        }
        assert_eq!(ExitReason::from_code(0), None);
    }
}
