//! Journal tests, on real files in a per-test temporary directory where a file is needed.
//!
//! * `recovery`: replay, torn tails, corruption and refusals;
//! * `codec`: every record kind's bytes, pinned and round-tripped;
//! * `compat`: version-1 journals read, upgraded and appended to;
//! * `lifecycle`: conditional orders, launches, external fills and risk state.

use super::*;
use crate::format::{encode_frame, FILE_HEADER_LEN};
use shmtrader_core::Side;
use std::path::{Path, PathBuf};
use std::str::FromStr;

mod codec;
mod compat;
mod lifecycle;
mod recovery;

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "shmtrader-journal-test-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn file(&self) -> PathBuf {
        self.0.join("executor.journal")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

/// Id of leg `leg` of signal `seq` of launch `launch` of instance "paper".
fn coid(launch: u32, seq: u64, leg: u8) -> String {
    client_order_id("paper", launch, seq, leg)
}

/// A market order of 0.3 ETHUSDT.
fn market(launch: u32, seq: u64, leg: u8) -> Intent {
    Intent {
        client_order_id: coid(launch, seq, leg),
        launch,
        symbol_id: 1,
        symbol: "ETHUSDT".into(),
        side: Side::Buy,
        order_type: OrderType::Market,
        qty: d("0.300"),
        limit_price: None,
        trigger_price: None,
        working_type: WorkingType::ContractPrice,
        reduce_only: false,
        signal_seq: seq,
        leg,
        ts_ns: seq.wrapping_add(1_000),
    }
}

/// A reduce-only protective stop selling 0.3 ETHUSDT at 2900 (mark price).
fn stop(launch: u32, seq: u64, leg: u8) -> Intent {
    Intent {
        side: Side::Sell,
        order_type: OrderType::StopMarket,
        trigger_price: Some(d("2900.00")),
        working_type: WorkingType::MarkPrice,
        reduce_only: true,
        ..market(launch, seq, leg)
    }
}

/// The entry of signal `seq` of launch 0 (no launch records).
fn intent(seq: u64) -> Record {
    Record::Intent(market(0, seq, 0))
}

fn fill_of(id: &str, trade_id: u64, qty: &str, realized_pnl: Option<&str>) -> Record {
    Record::Fill(Fill {
        client_order_id: id.to_string(),
        trade_id,
        qty: d(qty),
        price: d("3000.10"),
        fee: d("0.0450015"),
        maker: false,
        realized_pnl: realized_pnl.map(d),
        ts_ns: 2_000 + trade_id,
    })
}

/// A fill of the entry of signal `seq` of launch 0.
fn fill(seq: u64, trade_id: u64, qty: &str) -> Record {
    fill_of(&coid(0, seq, 0), trade_id, qty, None)
}

fn launch(launch: u32, segments_created_ns: u64) -> Record {
    Record::Launch {
        launch,
        segments_created_ns,
        ts_ns: segments_created_ns + 1,
    }
}

fn ack(id: &str, exchange_order_id: u64) -> Record {
    Record::Ack {
        client_order_id: id.to_string(),
        exchange_order_id,
        status: OrderStatus::New,
        ts_ns: 3_000,
    }
}

fn algo_update(id: &str, status: AlgoStatus, actual_order_id: Option<u64>) -> Record {
    Record::AlgoUpdate {
        client_order_id: id.to_string(),
        status,
        actual_order_id,
        ts_ns: 4_000,
    }
}

fn liquidation(order_id: u64, trade_id: u64) -> ExternalFill {
    ExternalFill {
        client_order_id: "autoclose-1597205373891093000".into(),
        exchange_order_id: order_id,
        symbol_id: 1,
        symbol: "ETHUSDT".into(),
        side: Side::Sell,
        trade_id,
        qty: d("0.300"),
        price: d("2500.5"),
        fee: d("3.751"),
        realized_pnl: d("-150.12"),
        kind: ExternalKind::Liquidation,
        ts_ns: 5_000,
    }
}

fn header() -> Record {
    Record::Header {
        instance: "paper".into(),
        created_ts_ns: 7,
    }
}

/// In-memory state after `recs` (each must pass `check`).
fn state_of(recs: &[Record]) -> JournalState {
    let mut st = JournalState::default();
    for r in recs {
        st.check(r).unwrap_or_else(|e| panic!("{r:?}: {e}"));
        st.apply(r);
    }
    st
}

/// Writes the standard history: order 1 filled, order 2 partially filled, order 3 only
/// intended. Returns the frame offsets.
fn write_history(path: &Path) -> Vec<u64> {
    let (mut j, rec) = Journal::open(path, "paper", 1).unwrap();
    assert!(rec.created);
    let mut offs = vec![j.append_durable(&intent(1)).unwrap()];
    offs.push(
        j.append(&Record::Sent {
            client_order_id: coid(0, 1, 0),
            ts_ns: 5,
        })
        .unwrap(),
    );
    offs.push(j.append(&ack(&coid(0, 1, 0), 42)).unwrap());
    offs.push(j.append(&fill(1, 100, "0.100")).unwrap());
    offs.push(j.append(&fill(1, 101, "0.200")).unwrap());
    j.sync().unwrap();
    offs.push(j.append_durable(&intent(2)).unwrap());
    offs.push(j.append(&fill(2, 200, "0.100")).unwrap());
    offs.push(j.append_durable(&intent(3)).unwrap());
    offs
}

/// Payload bytes built by hand, field by field as `format.rs` documents them: an encoder
/// independent of the one under test.
#[derive(Debug, Default, Clone)]
struct Bytes(Vec<u8>);

impl Bytes {
    fn kind(k: u8) -> Bytes {
        Bytes(vec![k])
    }
    fn u8(mut self, v: u8) -> Bytes {
        self.0.push(v);
        self
    }
    fn u32(mut self, v: u32) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn i32(mut self, v: i32) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn u64(mut self, v: u64) -> Bytes {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    fn str(mut self, s: &str) -> Bytes {
        self.0
            .extend_from_slice(&u16::try_from(s.len()).unwrap().to_le_bytes());
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    /// A decimal from its mantissa and scale: flags (scale in byte 2, sign in bit 7 of
    /// byte 3), then the 96-bit mantissa as three little-endian u32.
    fn dec(mut self, mantissa: i128, scale: u8) -> Bytes {
        let m = mantissa.unsigned_abs();
        self.0
            .extend_from_slice(&[0, 0, scale, if mantissa < 0 { 0x80 } else { 0 }]);
        self.0.extend_from_slice(&m.to_le_bytes()[..12]);
        self
    }
    fn frame(&self) -> Vec<u8> {
        let len = (self.0.len() as u32).to_le_bytes();
        let mut h = crc32fast::Hasher::new();
        h.update(&len);
        h.update(&self.0);
        let mut out = len.to_vec();
        out.extend_from_slice(&h.finalize().to_le_bytes());
        out.extend_from_slice(&self.0);
        out
    }
}

fn encode(rec: &Record) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(rec, &mut out).unwrap();
    out
}
