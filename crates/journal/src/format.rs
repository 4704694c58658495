//! The on-disk encoding of the records, fully specified here.
//!
//! File layout (all integers little-endian):
//! ```text
//! file header (16 bytes): "SHMTJRNL" | version u32 | reserved u32 (0)
//! frame*:                 len u32 | crc32 u32 | payload[len]
//! ```
//! `crc32` (CRC-32/ISO-HDLC, crc32fast) covers the 4 length bytes *and* the payload, so a
//! flipped bit in a length is caught like one in the payload. `len` is 1..=65536. The
//! payload is a hand-rolled encoding — a kind byte, then fixed-order fields — chosen over
//! serde formats so the bytes on disk are fully specified here and cannot change with a
//! dependency upgrade. A payload with bytes left over after its last field is corrupt.
//! The first frame of every journal is a header record.
//!
//! # Versions
//!
//! * **1**: kinds 1–8.
//! * **2**: adds kinds 9–14. Kinds 1–8 keep their exact version-1 bytes, so every
//!   version-1 frame is a valid version-2 frame. Intents and fills are *written* as kinds
//!   9 and 10 (they gained fields); kinds 2 and 5 are still read (as launch 0, no trigger,
//!   no realized PnL) but never written.
//!
//! This build writes version 2 and reads 1 and 2. A kind from 9 up in a file whose header
//! says version 1 is corruption. Opening a version-1 journal for append
//! ([`Journal::open`](crate::Journal::open)) first rewrites its version field to 2 (the 4
//! bytes at offset 8, fsynced) and only then appends: the file stays readable by this
//! build at every instant, and an older build refuses it with "unsupported version"
//! instead of failing at the first new record.
//!
//! # Field encodings
//!
//! | type | bytes |
//! | --- | --- |
//! | `u8` `u32` `u64` `i32` | little-endian, 1 / 4 / 8 / 4 bytes |
//! | `bool` | `u8` 0 or 1 (anything else is corrupt) |
//! | `f64` | `u64` of `f64::to_bits` (exact, including the sign of zero) |
//! | `str` | `u16` byte length, then that many bytes of UTF-8 |
//! | `dec` | 16 bytes of `rust_decimal::Decimal::serialize`: byte 2 = scale (0..=28), bit 7 of byte 3 = sign, bytes 0, 1 and the other bits of 3 zero; bytes 4..8, 8..12, 12..16 = low, middle, high `u32` of the 96-bit mantissa |
//! | `opt<T>` | `u8` 0 (absent) or 1 followed by `T` |
//! | `side` | `u8`: 0 buy, 1 sell |
//!
//! # Payloads (after the kind byte)
//!
//! | kind | record | fields |
//! | --- | --- | --- |
//! | 1 | header | instance `str`, created_ts_ns `u64` |
//! | 2 | intent, v1 (read only) | client_order_id `str`, symbol_id `u32`, symbol `str`, side, order_type `u8` (0 market, 1 limit), qty `dec`, limit_price `opt<dec>`, reduce_only `bool`, signal_seq `u64`, leg `u8`, ts_ns `u64` |
//! | 3 | sent | client_order_id `str`, ts_ns `u64` |
//! | 4 | ack | client_order_id `str`, exchange_order_id `u64`, status `u8` (order status), ts_ns `u64` |
//! | 5 | fill, v1 (read only) | client_order_id `str`, trade_id `u64`, qty `dec`, price `dec`, fee `dec`, maker `bool`, ts_ns `u64` |
//! | 6 | rejected | client_order_id `str`, code `i32`, msg `str`, ts_ns `u64` |
//! | 7 | canceled | client_order_id `str`, ts_ns `u64` |
//! | 8 | resolved | client_order_id `str`, resolution `u8`, ts_ns `u64` |
//! | 9 | intent | client_order_id `str`, launch `u32`, symbol_id `u32`, symbol `str`, side, order_type `u8`, qty `dec`, limit_price `opt<dec>`, trigger_price `opt<dec>`, working_type `u8`, reduce_only `bool`, signal_seq `u64`, leg `u8`, ts_ns `u64` |
//! | 10 | fill | client_order_id `str`, trade_id `u64`, qty `dec`, price `dec`, fee `dec`, maker `bool`, realized_pnl `opt<dec>`, ts_ns `u64` |
//! | 11 | launch | launch `u32`, segments_created_ns `u64`, ts_ns `u64` |
//! | 12 | risk_state | peak_equity `f64`, day `u64`, day_start_equity `f64`, kill_switch `bool`, halted `bool`, ts_ns `u64` |
//! | 13 | external_fill | client_order_id `str`, exchange_order_id `u64`, symbol_id `u32`, symbol `str`, side, trade_id `u64`, qty `dec`, price `dec`, fee `dec`, realized_pnl `dec`, kind `u8`, ts_ns `u64` |
//! | 14 | algo_update | client_order_id `str`, status `u8` (algo status), actual_order_id `opt<u64>`, ts_ns `u64` |
//!
//! # Codes
//!
//! | field | codes |
//! | --- | --- |
//! | order_type | 0 market, 1 limit, 2 stop-market, 3 take-profit-market (2 and 3 only in kind 9) |
//! | working_type | 0 contract price, 1 mark price |
//! | order status | 0 NEW, 1 PARTIALLY_FILLED, 2 FILLED, 3 CANCELED, 4 REJECTED, 5 EXPIRED, 6 EXPIRED_IN_MATCH |
//! | resolution | 0 not found, 1 filled, 2 canceled, 3 rejected, 4 open |
//! | external kind | 0 liquidation, 1 ADL, 2 settlement, 3 unknown |
//! | algo status | 0 NEW, 1 TRIGGERING, 2 TRIGGERED, 3 FINISHED, 4 CANCELED, 5 REJECTED, 6 EXPIRED |

use crate::error::{JournalError, Result};
use crate::records::{
    AlgoStatus, ExternalFill, ExternalKind, Fill, Intent, OrderStatus, OrderType, Record,
    Resolution, RiskState, WorkingType,
};
use rust_decimal::Decimal;
use shmtrader_core::Side;

/// File magic.
pub const MAGIC: [u8; 8] = *b"SHMTJRNL";
/// Format version written by this build.
pub const VERSION: u32 = 2;
/// Oldest format version this build reads.
pub const MIN_VERSION: u32 = 1;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// Byte offset of the version field in the file header.
pub const VERSION_OFFSET: usize = 8;
/// Size of a frame header (length + CRC).
pub const FRAME_HEADER_LEN: usize = 8;
/// Largest payload accepted; anything bigger is corruption.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The 16-byte file header of `version`.
pub fn file_header_of(version: u32) -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[VERSION_OFFSET..VERSION_OFFSET + 4].copy_from_slice(&version.to_le_bytes());
    h
}

/// The 16-byte file header this build writes.
pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    file_header_of(VERSION)
}

const K_HEADER: u8 = 1;
const K_INTENT_V1: u8 = 2;
const K_SENT: u8 = 3;
const K_ACK: u8 = 4;
const K_FILL_V1: u8 = 5;
const K_REJECTED: u8 = 6;
const K_CANCELED: u8 = 7;
const K_RESOLVED: u8 = 8;
const K_INTENT: u8 = 9;
const K_FILL: u8 = 10;
const K_LAUNCH: u8 = 11;
const K_RISK_STATE: u8 = 12;
const K_EXTERNAL_FILL: u8 = 13;
const K_ALGO_UPDATE: u8 = 14;
/// First kind that exists only from version 2.
const FIRST_V2_KIND: u8 = K_INTENT;

fn order_type_code(t: OrderType) -> u8 {
    match t {
        OrderType::Market => 0,
        OrderType::Limit => 1,
        OrderType::StopMarket => 2,
        OrderType::TakeProfitMarket => 3,
    }
}

fn order_type_from(c: u8) -> Option<OrderType> {
    Some(match c {
        0 => OrderType::Market,
        1 => OrderType::Limit,
        2 => OrderType::StopMarket,
        3 => OrderType::TakeProfitMarket,
        _ => return None,
    })
}

fn working_type_code(w: WorkingType) -> u8 {
    match w {
        WorkingType::ContractPrice => 0,
        WorkingType::MarkPrice => 1,
    }
}

fn working_type_from(c: u8) -> Option<WorkingType> {
    Some(match c {
        0 => WorkingType::ContractPrice,
        1 => WorkingType::MarkPrice,
        _ => return None,
    })
}

fn order_status_code(s: OrderStatus) -> u8 {
    match s {
        OrderStatus::New => 0,
        OrderStatus::PartiallyFilled => 1,
        OrderStatus::Filled => 2,
        OrderStatus::Canceled => 3,
        OrderStatus::Rejected => 4,
        OrderStatus::Expired => 5,
        OrderStatus::ExpiredInMatch => 6,
    }
}

fn order_status_from(c: u8) -> Option<OrderStatus> {
    Some(match c {
        0 => OrderStatus::New,
        1 => OrderStatus::PartiallyFilled,
        2 => OrderStatus::Filled,
        3 => OrderStatus::Canceled,
        4 => OrderStatus::Rejected,
        5 => OrderStatus::Expired,
        6 => OrderStatus::ExpiredInMatch,
        _ => return None,
    })
}

fn resolution_code(r: Resolution) -> u8 {
    match r {
        Resolution::NotFound => 0,
        Resolution::Filled => 1,
        Resolution::Canceled => 2,
        Resolution::Rejected => 3,
        Resolution::Open => 4,
    }
}

fn resolution_from(c: u8) -> Option<Resolution> {
    Some(match c {
        0 => Resolution::NotFound,
        1 => Resolution::Filled,
        2 => Resolution::Canceled,
        3 => Resolution::Rejected,
        4 => Resolution::Open,
        _ => return None,
    })
}

fn external_kind_code(k: ExternalKind) -> u8 {
    match k {
        ExternalKind::Liquidation => 0,
        ExternalKind::Adl => 1,
        ExternalKind::Settlement => 2,
        ExternalKind::Unknown => 3,
    }
}

fn external_kind_from(c: u8) -> Option<ExternalKind> {
    Some(match c {
        0 => ExternalKind::Liquidation,
        1 => ExternalKind::Adl,
        2 => ExternalKind::Settlement,
        3 => ExternalKind::Unknown,
        _ => return None,
    })
}

fn algo_status_code(s: AlgoStatus) -> u8 {
    match s {
        AlgoStatus::New => 0,
        AlgoStatus::Triggering => 1,
        AlgoStatus::Triggered => 2,
        AlgoStatus::Finished => 3,
        AlgoStatus::Canceled => 4,
        AlgoStatus::Rejected => 5,
        AlgoStatus::Expired => 6,
    }
}

fn algo_status_from(c: u8) -> Option<AlgoStatus> {
    Some(match c {
        0 => AlgoStatus::New,
        1 => AlgoStatus::Triggering,
        2 => AlgoStatus::Triggered,
        3 => AlgoStatus::Finished,
        4 => AlgoStatus::Canceled,
        5 => AlgoStatus::Rejected,
        6 => AlgoStatus::Expired,
        _ => return None,
    })
}

struct Enc<'a>(&'a mut Vec<u8>);

impl Enc<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i32(&mut self, v: i32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn f64(&mut self, v: f64) {
        self.u64(v.to_bits());
    }
    fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    fn dec(&mut self, v: Decimal) {
        self.0.extend_from_slice(&v.serialize());
    }
    fn opt_dec(&mut self, v: Option<Decimal>) {
        match v {
            Some(d) => {
                self.u8(1);
                self.dec(d);
            }
            None => self.u8(0),
        }
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            Some(x) => {
                self.u8(1);
                self.u64(x);
            }
            None => self.u8(0),
        }
    }
    fn str(&mut self, field: &str, s: &str) -> Result<()> {
        let len = u16::try_from(s.len()).map_err(|_| {
            JournalError::Encode(format!("{field} is {} bytes (max 65535)", s.len()))
        })?;
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
    /// Kind byte and client order id: the start of most records.
    fn head(&mut self, kind: u8, client_order_id: &str) -> Result<()> {
        self.u8(kind);
        self.str("client_order_id", client_order_id)
    }
}

fn encode_payload(rec: &Record, e: &mut Enc<'_>) -> Result<()> {
    match rec {
        Record::Header {
            instance,
            created_ts_ns,
        } => {
            e.u8(K_HEADER);
            e.str("instance", instance)?;
            e.u64(*created_ts_ns);
        }
        Record::Intent(i) => {
            e.head(K_INTENT, &i.client_order_id)?;
            e.u32(i.launch);
            e.u32(i.symbol_id);
            e.str("symbol", &i.symbol)?;
            e.u8(i.side.code());
            e.u8(order_type_code(i.order_type));
            e.dec(i.qty);
            e.opt_dec(i.limit_price);
            e.opt_dec(i.trigger_price);
            e.u8(working_type_code(i.working_type));
            e.bool(i.reduce_only);
            e.u64(i.signal_seq);
            e.u8(i.leg);
            e.u64(i.ts_ns);
        }
        Record::Sent {
            client_order_id,
            ts_ns,
        } => {
            e.head(K_SENT, client_order_id)?;
            e.u64(*ts_ns);
        }
        Record::Ack {
            client_order_id,
            exchange_order_id,
            status,
            ts_ns,
        } => {
            e.head(K_ACK, client_order_id)?;
            e.u64(*exchange_order_id);
            e.u8(order_status_code(*status));
            e.u64(*ts_ns);
        }
        Record::Fill(f) => {
            e.head(K_FILL, &f.client_order_id)?;
            e.u64(f.trade_id);
            e.dec(f.qty);
            e.dec(f.price);
            e.dec(f.fee);
            e.bool(f.maker);
            e.opt_dec(f.realized_pnl);
            e.u64(f.ts_ns);
        }
        Record::Rejected {
            client_order_id,
            code,
            msg,
            ts_ns,
        } => {
            e.head(K_REJECTED, client_order_id)?;
            e.i32(*code);
            e.str("msg", msg)?;
            e.u64(*ts_ns);
        }
        Record::Canceled {
            client_order_id,
            ts_ns,
        } => {
            e.head(K_CANCELED, client_order_id)?;
            e.u64(*ts_ns);
        }
        Record::Resolved {
            client_order_id,
            resolution,
            ts_ns,
        } => {
            e.head(K_RESOLVED, client_order_id)?;
            e.u8(resolution_code(*resolution));
            e.u64(*ts_ns);
        }
        Record::Launch {
            launch,
            segments_created_ns,
            ts_ns,
        } => {
            e.u8(K_LAUNCH);
            e.u32(*launch);
            e.u64(*segments_created_ns);
            e.u64(*ts_ns);
        }
        Record::RiskState(r) => {
            e.u8(K_RISK_STATE);
            e.f64(r.peak_equity);
            e.u64(r.day);
            e.f64(r.day_start_equity);
            e.bool(r.kill_switch);
            e.bool(r.halted);
            e.u64(r.ts_ns);
        }
        Record::ExternalFill(x) => {
            e.head(K_EXTERNAL_FILL, &x.client_order_id)?;
            e.u64(x.exchange_order_id);
            e.u32(x.symbol_id);
            e.str("symbol", &x.symbol)?;
            e.u8(x.side.code());
            e.u64(x.trade_id);
            e.dec(x.qty);
            e.dec(x.price);
            e.dec(x.fee);
            e.dec(x.realized_pnl);
            e.u8(external_kind_code(x.kind));
            e.u64(x.ts_ns);
        }
        Record::AlgoUpdate {
            client_order_id,
            status,
            actual_order_id,
            ts_ns,
        } => {
            e.head(K_ALGO_UPDATE, client_order_id)?;
            e.u8(algo_status_code(*status));
            e.opt_u64(*actual_order_id);
            e.u64(*ts_ns);
        }
    }
    Ok(())
}

/// Appends one complete frame (header + payload) for `rec` to `out`, in the format of
/// [`VERSION`]. On error `out` is left as it was.
pub fn encode_frame(rec: &Record, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    if let Err(e) = encode_payload(rec, &mut Enc(out)) {
        out.truncate(start);
        return Err(e);
    }
    let payload_len = out.len() - start - FRAME_HEADER_LEN;
    if payload_len > MAX_PAYLOAD {
        out.truncate(start);
        return Err(JournalError::Encode(format!(
            "record is {payload_len} bytes (max {MAX_PAYLOAD})"
        )));
    }
    let len_bytes = (payload_len as u32).to_le_bytes();
    let mut h = crc32fast::Hasher::new();
    h.update(&len_bytes);
    h.update(&out[start + FRAME_HEADER_LEN..]);
    let crc = h.finalize();
    out[start..start + 4].copy_from_slice(&len_bytes);
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// What is at a frame position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameCheck {
    /// A frame whose CRC matches; payload is `buf[start..end]`.
    Valid { start: usize, end: usize },
    /// Fewer bytes left than the frame needs.
    Incomplete,
    /// Zero or oversized length.
    BadLength(u32),
    /// Complete but the CRC does not match.
    BadCrc,
}

/// Checks the frame starting at `off`.
pub(crate) fn check_frame(buf: &[u8], off: usize) -> FrameCheck {
    let Some(hdr) = buf.get(off..off + FRAME_HEADER_LEN) else {
        return FrameCheck::Incomplete;
    };
    let len_bytes = [hdr[0], hdr[1], hdr[2], hdr[3]];
    let len = u32::from_le_bytes(len_bytes);
    let crc = u32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
    if len == 0 || len as usize > MAX_PAYLOAD {
        return FrameCheck::BadLength(len);
    }
    let start = off + FRAME_HEADER_LEN;
    let end = start + len as usize;
    let Some(payload) = buf.get(start..end) else {
        return FrameCheck::Incomplete;
    };
    let mut h = crc32fast::Hasher::new();
    h.update(&len_bytes);
    h.update(payload);
    if h.finalize() == crc {
        FrameCheck::Valid { start, end }
    } else {
        FrameCheck::BadCrc
    }
}

type DecResult<T> = std::result::Result<T, String>;

struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> DecResult<&'a [u8]> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or_else(|| format!("payload ends inside {what}"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> DecResult<u8> {
        Ok(self.take(1, what)?[0])
    }
    fn arr<const N: usize>(&mut self, what: &'static str) -> DecResult<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u32(&mut self, what: &'static str) -> DecResult<u32> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &'static str) -> DecResult<u64> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    fn i32(&mut self, what: &'static str) -> DecResult<i32> {
        Ok(i32::from_le_bytes(self.arr(what)?))
    }
    fn f64(&mut self, what: &'static str) -> DecResult<f64> {
        Ok(f64::from_bits(self.u64(what)?))
    }
    fn bool(&mut self, what: &'static str) -> DecResult<bool> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("{what}: invalid bool {v}")),
        }
    }
    fn dec(&mut self, what: &'static str) -> DecResult<Decimal> {
        let a: [u8; 16] = self.arr(what)?;
        if a[2] > 28 || a[0] != 0 || a[1] != 0 || a[3] & 0x7f != 0 {
            return Err(format!("{what}: invalid decimal encoding"));
        }
        Ok(Decimal::deserialize(a))
    }
    fn opt_dec(&mut self, what: &'static str) -> DecResult<Option<Decimal>> {
        Ok(if self.bool(what)? {
            Some(self.dec(what)?)
        } else {
            None
        })
    }
    fn opt_u64(&mut self, what: &'static str) -> DecResult<Option<u64>> {
        Ok(if self.bool(what)? {
            Some(self.u64(what)?)
        } else {
            None
        })
    }
    fn str(&mut self, what: &'static str) -> DecResult<String> {
        let len = u16::from_le_bytes(self.arr(what)?) as usize;
        let b = self.take(len, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what}: invalid UTF-8"))
    }
    fn side(&mut self) -> DecResult<Side> {
        let c = self.u8("side")?;
        Side::from_code(c).ok_or_else(|| format!("side: invalid code {c}"))
    }
    fn code<T>(&mut self, what: &'static str, from: fn(u8) -> Option<T>) -> DecResult<T> {
        let c = self.u8(what)?;
        from(c).ok_or_else(|| format!("{what}: invalid code {c}"))
    }
}

/// Decodes one payload of a file of format `version`; the error says what is wrong (the
/// caller adds the offset).
pub(crate) fn decode_payload(b: &[u8], version: u32) -> DecResult<Record> {
    let mut d = Dec { b, pos: 0 };
    let kind = d.u8("kind")?;
    if kind >= FIRST_V2_KIND && version < 2 {
        return Err(format!(
            "record kind {kind} does not exist in a version-{version} journal"
        ));
    }
    let rec = match kind {
        K_HEADER => Record::Header {
            instance: d.str("instance")?,
            created_ts_ns: d.u64("created_ts_ns")?,
        },
        K_INTENT_V1 => {
            let client_order_id = d.str("client_order_id")?;
            let symbol_id = d.u32("symbol_id")?;
            let symbol = d.str("symbol")?;
            let side = d.side()?;
            let order_type = match d.u8("order_type")? {
                0 => OrderType::Market,
                1 => OrderType::Limit,
                v => {
                    return Err(format!(
                        "order_type: invalid code {v} in a version-1 intent"
                    ))
                }
            };
            Record::Intent(Intent {
                client_order_id,
                launch: 0,
                symbol_id,
                symbol,
                side,
                order_type,
                qty: d.dec("qty")?,
                limit_price: d.opt_dec("limit_price")?,
                trigger_price: None,
                working_type: WorkingType::ContractPrice,
                reduce_only: d.bool("reduce_only")?,
                signal_seq: d.u64("signal_seq")?,
                leg: d.u8("leg")?,
                ts_ns: d.u64("ts_ns")?,
            })
        }
        K_INTENT => Record::Intent(Intent {
            client_order_id: d.str("client_order_id")?,
            launch: d.u32("launch")?,
            symbol_id: d.u32("symbol_id")?,
            symbol: d.str("symbol")?,
            side: d.side()?,
            order_type: d.code("order_type", order_type_from)?,
            qty: d.dec("qty")?,
            limit_price: d.opt_dec("limit_price")?,
            trigger_price: d.opt_dec("trigger_price")?,
            working_type: d.code("working_type", working_type_from)?,
            reduce_only: d.bool("reduce_only")?,
            signal_seq: d.u64("signal_seq")?,
            leg: d.u8("leg")?,
            ts_ns: d.u64("ts_ns")?,
        }),
        K_SENT => Record::Sent {
            client_order_id: d.str("client_order_id")?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_ACK => Record::Ack {
            client_order_id: d.str("client_order_id")?,
            exchange_order_id: d.u64("exchange_order_id")?,
            status: d.code("status", order_status_from)?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_FILL_V1 => Record::Fill(Fill {
            client_order_id: d.str("client_order_id")?,
            trade_id: d.u64("trade_id")?,
            qty: d.dec("qty")?,
            price: d.dec("price")?,
            fee: d.dec("fee")?,
            maker: d.bool("maker")?,
            realized_pnl: None,
            ts_ns: d.u64("ts_ns")?,
        }),
        K_FILL => Record::Fill(Fill {
            client_order_id: d.str("client_order_id")?,
            trade_id: d.u64("trade_id")?,
            qty: d.dec("qty")?,
            price: d.dec("price")?,
            fee: d.dec("fee")?,
            maker: d.bool("maker")?,
            realized_pnl: d.opt_dec("realized_pnl")?,
            ts_ns: d.u64("ts_ns")?,
        }),
        K_REJECTED => Record::Rejected {
            client_order_id: d.str("client_order_id")?,
            code: d.i32("code")?,
            msg: d.str("msg")?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_CANCELED => Record::Canceled {
            client_order_id: d.str("client_order_id")?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_RESOLVED => Record::Resolved {
            client_order_id: d.str("client_order_id")?,
            resolution: d.code("resolution", resolution_from)?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_LAUNCH => Record::Launch {
            launch: d.u32("launch")?,
            segments_created_ns: d.u64("segments_created_ns")?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_RISK_STATE => Record::RiskState(RiskState {
            peak_equity: d.f64("peak_equity")?,
            day: d.u64("day")?,
            day_start_equity: d.f64("day_start_equity")?,
            kill_switch: d.bool("kill_switch")?,
            halted: d.bool("halted")?,
            ts_ns: d.u64("ts_ns")?,
        }),
        K_EXTERNAL_FILL => Record::ExternalFill(ExternalFill {
            client_order_id: d.str("client_order_id")?,
            exchange_order_id: d.u64("exchange_order_id")?,
            symbol_id: d.u32("symbol_id")?,
            symbol: d.str("symbol")?,
            side: d.side()?,
            trade_id: d.u64("trade_id")?,
            qty: d.dec("qty")?,
            price: d.dec("price")?,
            fee: d.dec("fee")?,
            realized_pnl: d.dec("realized_pnl")?,
            kind: d.code("kind", external_kind_from)?,
            ts_ns: d.u64("ts_ns")?,
        }),
        K_ALGO_UPDATE => Record::AlgoUpdate {
            client_order_id: d.str("client_order_id")?,
            status: d.code("status", algo_status_from)?,
            actual_order_id: d.opt_u64("actual_order_id")?,
            ts_ns: d.u64("ts_ns")?,
        },
        k => return Err(format!("unknown record kind {k}")),
    };
    if d.pos != b.len() {
        return Err(format!(
            "{} trailing bytes after a {} record",
            b.len() - d.pos,
            rec.kind()
        ));
    }
    Ok(rec)
}
