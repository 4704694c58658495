//! Records and their on-disk encoding.
//!
//! File layout (all integers little-endian):
//! ```text
//! file header (16 bytes): "SHMTJRNL" | version u32 | reserved u32 (0)
//! frame*:                 len u32 | crc32 u32 | payload[len]
//! ```
//! `crc32` (CRC-32/ISO-HDLC, crc32fast) covers the 4 length bytes *and* the payload, so a
//! flipped bit in a length is caught like one in the payload. The payload is a hand-rolled
//! encoding — a kind byte, then fixed-width fields; strings as u16 length + UTF-8;
//! decimals as rust_decimal's 16-byte serialization — chosen over serde formats so the
//! bytes on disk are fully specified here and cannot change with a dependency upgrade.
//! The first frame of every journal is a [`Record::Header`].

use crate::error::{JournalError, Result};
use rust_decimal::Decimal;
use shmtrader_core::Side;

/// File magic.
pub const MAGIC: [u8; 8] = *b"SHMTJRNL";
/// Format version written and read by this build.
pub const VERSION: u32 = 1;
/// Size of the file header.
pub const FILE_HEADER_LEN: usize = 16;
/// Size of a frame header (length + CRC).
pub const FRAME_HEADER_LEN: usize = 8;
/// Largest payload accepted; anything bigger is corruption.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// The 16-byte file header of this version.
pub fn file_header() -> [u8; FILE_HEADER_LEN] {
    let mut h = [0u8; FILE_HEADER_LEN];
    h[..8].copy_from_slice(&MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// Market or limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderType {
    /// Market order.
    Market,
    /// Limit order (price in `Intent::limit_price`).
    Limit,
}

/// Order status as reported by Binance (`X` / `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// `NEW`
    New,
    /// `PARTIALLY_FILLED`
    PartiallyFilled,
    /// `FILLED`
    Filled,
    /// `CANCELED`
    Canceled,
    /// `REJECTED`
    Rejected,
    /// `EXPIRED`
    Expired,
    /// `EXPIRED_IN_MATCH` (self-trade prevention)
    ExpiredInMatch,
}

impl OrderStatus {
    /// Parses Binance's spelling.
    pub fn from_binance(s: &str) -> Option<OrderStatus> {
        Some(match s {
            "NEW" => OrderStatus::New,
            "PARTIALLY_FILLED" => OrderStatus::PartiallyFilled,
            "FILLED" => OrderStatus::Filled,
            "CANCELED" => OrderStatus::Canceled,
            "REJECTED" => OrderStatus::Rejected,
            "EXPIRED" => OrderStatus::Expired,
            "EXPIRED_IN_MATCH" => OrderStatus::ExpiredInMatch,
            _ => return None,
        })
    }
    fn code(self) -> u8 {
        self as u8
    }
    fn from_code(c: u8) -> Option<OrderStatus> {
        [
            OrderStatus::New,
            OrderStatus::PartiallyFilled,
            OrderStatus::Filled,
            OrderStatus::Canceled,
            OrderStatus::Rejected,
            OrderStatus::Expired,
            OrderStatus::ExpiredInMatch,
        ]
        .get(c as usize)
        .copied()
    }
}

/// How reconciliation with the exchange settled an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The exchange never received it (unknown order): safe to forget.
    NotFound,
    /// Fully filled (its fills are journaled).
    Filled,
    /// Canceled or expired, possibly after partial fills.
    Canceled,
    /// Rejected.
    Rejected,
    /// Still open on the exchange and adopted as a working order.
    Open,
}

impl Resolution {
    fn code(self) -> u8 {
        self as u8
    }
    fn from_code(c: u8) -> Option<Resolution> {
        [
            Resolution::NotFound,
            Resolution::Filled,
            Resolution::Canceled,
            Resolution::Rejected,
            Resolution::Open,
        ]
        .get(c as usize)
        .copied()
    }
}

/// An order the executor is about to send. Quantities and prices are the exact decimals
/// that go into the signed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Intent {
    /// Deterministic client order id (see [`crate::client_order_id`]).
    pub client_order_id: String,
    /// Symbol id in the instance's table.
    pub symbol_id: u32,
    /// Exchange symbol (e.g. `BTCUSDT`), so the journal stands alone.
    pub symbol: String,
    /// Side.
    pub side: Side,
    /// Market or limit.
    pub order_type: OrderType,
    /// Quantity.
    pub qty: Decimal,
    /// Limit price (limit orders).
    pub limit_price: Option<Decimal>,
    /// Reduce-only flag.
    pub reduce_only: bool,
    /// Signal sequence the order came from.
    pub signal_seq: u64,
    /// Leg index within that signal.
    pub leg: u8,
    /// Decision time (ns).
    pub ts_ns: u64,
}

/// One execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Fill {
    /// Order it belongs to.
    pub client_order_id: String,
    /// Exchange trade id (deduplication key).
    pub trade_id: u64,
    /// Executed quantity.
    pub qty: Decimal,
    /// Execution price.
    pub price: Decimal,
    /// Commission (quote currency; negative for a rebate).
    pub fee: Decimal,
    /// Maker execution.
    pub maker: bool,
    /// Trade time (ns).
    pub ts_ns: u64,
}

/// A journal record.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// First record of every journal.
    Header {
        /// Instance that owns the journal.
        instance: String,
        /// Creation time (ns).
        created_ts_ns: u64,
    },
    /// Order about to be sent (durable before the send).
    Intent(Intent),
    /// The request left the process.
    Sent {
        /// Order.
        client_order_id: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// The exchange accepted it.
    Ack {
        /// Order.
        client_order_id: String,
        /// Exchange order id.
        exchange_order_id: u64,
        /// Status in the acknowledgement.
        status: OrderStatus,
        /// Time (ns).
        ts_ns: u64,
    },
    /// An execution.
    Fill(Fill),
    /// The exchange (or a pre-send check) refused it.
    Rejected {
        /// Order.
        client_order_id: String,
        /// Exchange error code.
        code: i32,
        /// Exchange message.
        msg: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// Canceled or expired.
    Canceled {
        /// Order.
        client_order_id: String,
        /// Time (ns).
        ts_ns: u64,
    },
    /// Settled by reconciliation after a restart.
    Resolved {
        /// Order.
        client_order_id: String,
        /// Outcome.
        resolution: Resolution,
        /// Time (ns).
        ts_ns: u64,
    },
}

impl Record {
    /// Client order id the record refers to (`None` for the header).
    pub fn client_order_id(&self) -> Option<&str> {
        match self {
            Record::Header { .. } => None,
            Record::Intent(i) => Some(&i.client_order_id),
            Record::Fill(f) => Some(&f.client_order_id),
            Record::Sent {
                client_order_id, ..
            }
            | Record::Ack {
                client_order_id, ..
            }
            | Record::Rejected {
                client_order_id, ..
            }
            | Record::Canceled {
                client_order_id, ..
            }
            | Record::Resolved {
                client_order_id, ..
            } => Some(client_order_id),
        }
    }

    /// Short kind name.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Header { .. } => "header",
            Record::Intent(_) => "intent",
            Record::Sent { .. } => "sent",
            Record::Ack { .. } => "ack",
            Record::Fill(_) => "fill",
            Record::Rejected { .. } => "rejected",
            Record::Canceled { .. } => "canceled",
            Record::Resolved { .. } => "resolved",
        }
    }
}

const K_HEADER: u8 = 1;
const K_INTENT: u8 = 2;
const K_SENT: u8 = 3;
const K_ACK: u8 = 4;
const K_FILL: u8 = 5;
const K_REJECTED: u8 = 6;
const K_CANCELED: u8 = 7;
const K_RESOLVED: u8 = 8;

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
    fn bool(&mut self, v: bool) {
        self.u8(v as u8);
    }
    fn dec(&mut self, v: Decimal) {
        self.0.extend_from_slice(&v.serialize());
    }
    fn str(&mut self, field: &str, s: &str) -> Result<()> {
        let len = u16::try_from(s.len()).map_err(|_| {
            JournalError::Encode(format!("{field} is {} bytes (max 65535)", s.len()))
        })?;
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Appends one complete frame (header + payload) for `rec` to `out`.
pub fn encode_frame(rec: &Record, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    out.extend_from_slice(&[0u8; FRAME_HEADER_LEN]);
    let mut e = Enc(out);
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
            e.u8(K_INTENT);
            e.str("client_order_id", &i.client_order_id)?;
            e.u32(i.symbol_id);
            e.str("symbol", &i.symbol)?;
            e.u8(i.side.code());
            e.u8(match i.order_type {
                OrderType::Market => 0,
                OrderType::Limit => 1,
            });
            e.dec(i.qty);
            match i.limit_price {
                Some(p) => {
                    e.u8(1);
                    e.dec(p);
                }
                None => e.u8(0),
            }
            e.bool(i.reduce_only);
            e.u64(i.signal_seq);
            e.u8(i.leg);
            e.u64(i.ts_ns);
        }
        Record::Sent {
            client_order_id,
            ts_ns,
        } => {
            e.u8(K_SENT);
            e.str("client_order_id", client_order_id)?;
            e.u64(*ts_ns);
        }
        Record::Ack {
            client_order_id,
            exchange_order_id,
            status,
            ts_ns,
        } => {
            e.u8(K_ACK);
            e.str("client_order_id", client_order_id)?;
            e.u64(*exchange_order_id);
            e.u8(status.code());
            e.u64(*ts_ns);
        }
        Record::Fill(f) => {
            e.u8(K_FILL);
            e.str("client_order_id", &f.client_order_id)?;
            e.u64(f.trade_id);
            e.dec(f.qty);
            e.dec(f.price);
            e.dec(f.fee);
            e.bool(f.maker);
            e.u64(f.ts_ns);
        }
        Record::Rejected {
            client_order_id,
            code,
            msg,
            ts_ns,
        } => {
            e.u8(K_REJECTED);
            e.str("client_order_id", client_order_id)?;
            e.i32(*code);
            e.str("msg", msg)?;
            e.u64(*ts_ns);
        }
        Record::Canceled {
            client_order_id,
            ts_ns,
        } => {
            e.u8(K_CANCELED);
            e.str("client_order_id", client_order_id)?;
            e.u64(*ts_ns);
        }
        Record::Resolved {
            client_order_id,
            resolution,
            ts_ns,
        } => {
            e.u8(K_RESOLVED);
            e.str("client_order_id", client_order_id)?;
            e.u8(resolution.code());
            e.u64(*ts_ns);
        }
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

struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> std::result::Result<&'a [u8], String> {
        let s = self
            .b
            .get(self.pos..self.pos + n)
            .ok_or_else(|| format!("payload ends inside {what}"))?;
        self.pos += n;
        Ok(s)
    }
    fn u8(&mut self, what: &'static str) -> std::result::Result<u8, String> {
        Ok(self.take(1, what)?[0])
    }
    fn arr<const N: usize>(&mut self, what: &'static str) -> std::result::Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N, what)?);
        Ok(a)
    }
    fn u32(&mut self, what: &'static str) -> std::result::Result<u32, String> {
        Ok(u32::from_le_bytes(self.arr(what)?))
    }
    fn u64(&mut self, what: &'static str) -> std::result::Result<u64, String> {
        Ok(u64::from_le_bytes(self.arr(what)?))
    }
    fn i32(&mut self, what: &'static str) -> std::result::Result<i32, String> {
        Ok(i32::from_le_bytes(self.arr(what)?))
    }
    fn bool(&mut self, what: &'static str) -> std::result::Result<bool, String> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            v => Err(format!("{what}: invalid bool {v}")),
        }
    }
    fn dec(&mut self, what: &'static str) -> std::result::Result<Decimal, String> {
        let a: [u8; 16] = self.arr(what)?;
        if a[2] > 28 || a[0] != 0 || a[1] != 0 || a[3] & 0x7f != 0 {
            return Err(format!("{what}: invalid decimal encoding"));
        }
        Ok(Decimal::deserialize(a))
    }
    fn str(&mut self, what: &'static str) -> std::result::Result<String, String> {
        let len = u16::from_le_bytes(self.arr(what)?) as usize;
        let b = self.take(len, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| format!("{what}: invalid UTF-8"))
    }
}

/// Decodes one payload; the error says what is wrong (the caller adds the offset).
pub(crate) fn decode_payload(b: &[u8]) -> std::result::Result<Record, String> {
    let mut d = Dec { b, pos: 0 };
    let kind = d.u8("kind")?;
    let rec = match kind {
        K_HEADER => Record::Header {
            instance: d.str("instance")?,
            created_ts_ns: d.u64("created_ts_ns")?,
        },
        K_INTENT => {
            let client_order_id = d.str("client_order_id")?;
            let symbol_id = d.u32("symbol_id")?;
            let symbol = d.str("symbol")?;
            let side_code = d.u8("side")?;
            let side = Side::from_code(side_code)
                .ok_or_else(|| format!("side: invalid code {side_code}"))?;
            let order_type = match d.u8("order_type")? {
                0 => OrderType::Market,
                1 => OrderType::Limit,
                v => return Err(format!("order_type: invalid code {v}")),
            };
            let qty = d.dec("qty")?;
            let limit_price = if d.bool("limit_price flag")? {
                Some(d.dec("limit_price")?)
            } else {
                None
            };
            Record::Intent(Intent {
                client_order_id,
                symbol_id,
                symbol,
                side,
                order_type,
                qty,
                limit_price,
                reduce_only: d.bool("reduce_only")?,
                signal_seq: d.u64("signal_seq")?,
                leg: d.u8("leg")?,
                ts_ns: d.u64("ts_ns")?,
            })
        }
        K_SENT => Record::Sent {
            client_order_id: d.str("client_order_id")?,
            ts_ns: d.u64("ts_ns")?,
        },
        K_ACK => {
            let client_order_id = d.str("client_order_id")?;
            let exchange_order_id = d.u64("exchange_order_id")?;
            let c = d.u8("status")?;
            Record::Ack {
                client_order_id,
                exchange_order_id,
                status: OrderStatus::from_code(c)
                    .ok_or_else(|| format!("status: invalid code {c}"))?,
                ts_ns: d.u64("ts_ns")?,
            }
        }
        K_FILL => Record::Fill(Fill {
            client_order_id: d.str("client_order_id")?,
            trade_id: d.u64("trade_id")?,
            qty: d.dec("qty")?,
            price: d.dec("price")?,
            fee: d.dec("fee")?,
            maker: d.bool("maker")?,
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
        K_RESOLVED => {
            let client_order_id = d.str("client_order_id")?;
            let c = d.u8("resolution")?;
            Record::Resolved {
                client_order_id,
                resolution: Resolution::from_code(c)
                    .ok_or_else(|| format!("resolution: invalid code {c}"))?,
                ts_ns: d.u64("ts_ns")?,
            }
        }
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
