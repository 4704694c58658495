//! Every record kind's bytes: pinned against hand-built payloads, round-tripped, and
//! refused when truncated, padded or carrying an invalid code.

use super::*;
use crate::format::{check_frame, decode_payload, FrameCheck};

fn payload_of(frame: &[u8]) -> &[u8] {
    match check_frame(frame, 0) {
        FrameCheck::Valid { start, end } => {
            assert_eq!(end, frame.len());
            &frame[start..end]
        }
        other => panic!("{other:?}"),
    }
}

/// One record of every kind, and the variants of each optional field.
fn all_kinds() -> Vec<Record> {
    let id = coid(3, 1, 0);
    vec![
        header(),
        Record::Intent(Intent {
            order_type: OrderType::Limit,
            limit_price: Some(d("65000.0")),
            side: Side::Sell,
            reduce_only: true,
            ts_ns: u64::MAX,
            ..market(3, 1, 0)
        }),
        Record::Intent(stop(3, 1, 128)),
        Record::Intent(Intent {
            order_type: OrderType::TakeProfitMarket,
            trigger_price: Some(d("3300.5")),
            working_type: WorkingType::ContractPrice,
            ..stop(u32::MAX, u64::MAX, 255)
        }),
        Record::Sent {
            client_order_id: id.clone(),
            ts_ns: 9,
        },
        ack(&id, 8_389_765_432),
        fill_of(&id, 55, "0.001", None),
        fill_of(&id, 56, "0.001", Some("-12.34")),
        Record::Canceled {
            client_order_id: id.clone(),
            ts_ns: 12,
        },
        Record::Rejected {
            client_order_id: id.clone(),
            code: -2019,
            msg: "Margin is insufficient. ünïcode".into(),
            ts_ns: 13,
        },
        Record::Resolved {
            client_order_id: id.clone(),
            resolution: Resolution::Canceled,
            ts_ns: 14,
        },
        launch(u32::MAX, u64::MAX - 1),
        Record::RiskState(RiskState {
            peak_equity: 10_123.456_789,
            day: 20_500,
            day_start_equity: -0.0,
            kill_switch: true,
            halted: false,
            ts_ns: 15,
        }),
        Record::ExternalFill(liquidation(77, 88)),
        Record::ExternalFill(ExternalFill {
            client_order_id: String::new(),
            kind: ExternalKind::Unknown,
            side: Side::Buy,
            ..liquidation(u64::MAX, 0)
        }),
        algo_update(&id, AlgoStatus::Triggered, Some(9_000_000_001)),
        algo_update(&id, AlgoStatus::New, None),
    ]
}

#[test]
fn every_record_kind_round_trips() {
    let recs = all_kinds();
    let kinds: std::collections::HashSet<&str> = recs.iter().map(Record::kind).collect();
    assert_eq!(kinds.len(), 12, "every variant is covered");
    for rec in recs {
        let frame = encode(&rec);
        assert_eq!(decode_payload(payload_of(&frame), VERSION).unwrap(), rec);
    }
}

#[test]
fn client_order_id_names_only_orders_of_this_instance() {
    for rec in all_kinds() {
        let expected = match &rec {
            Record::Header { .. }
            | Record::Launch { .. }
            | Record::RiskState(_)
            | Record::ExternalFill(_) => None,
            Record::Intent(i) => Some(i.client_order_id.clone()),
            _ => Some(coid(3, 1, 0)),
        };
        assert_eq!(
            rec.client_order_id().map(str::to_string),
            expected,
            "{rec:?}"
        );
    }
}

#[test]
fn new_kinds_have_the_documented_bytes() {
    let id = coid(3, 1, 0);
    let cases: Vec<(Record, Bytes)> = vec![
        (
            Record::Intent(stop(3, 1, 128)),
            Bytes::kind(9)
                .str("paper-3-1-3k")
                .u32(3)
                .u32(1)
                .str("ETHUSDT")
                .u8(1) // sell
                .u8(2) // stop-market
                .dec(300, 3)
                .u8(0) // no limit price
                .u8(1)
                .dec(290_000, 2)
                .u8(1) // mark price
                .u8(1) // reduce-only
                .u64(1)
                .u8(128)
                .u64(1_001),
        ),
        (
            fill_of(&id, 56, "0.001", Some("-12.34")),
            Bytes::kind(10)
                .str(&id)
                .u64(56)
                .dec(1, 3)
                .dec(300_010, 2)
                .dec(450_015, 7)
                .u8(0)
                .u8(1)
                .dec(-1234, 2)
                .u64(2_056),
        ),
        (
            launch(0x0102_0304, 0x1122_3344_5566_7788),
            Bytes::kind(11)
                .u32(0x0102_0304)
                .u64(0x1122_3344_5566_7788)
                .u64(0x1122_3344_5566_7789),
        ),
        (
            Record::RiskState(RiskState {
                peak_equity: 1.5,
                day: 20_500,
                day_start_equity: -0.0,
                kill_switch: true,
                halted: false,
                ts_ns: 15,
            }),
            Bytes::kind(12)
                .u64(0x3ff8_0000_0000_0000)
                .u64(20_500)
                .u64(0x8000_0000_0000_0000)
                .u8(1)
                .u8(0)
                .u64(15),
        ),
        (
            Record::ExternalFill(liquidation(77, 88)),
            Bytes::kind(13)
                .str("autoclose-1597205373891093000")
                .u64(77)
                .u32(1)
                .str("ETHUSDT")
                .u8(1)
                .u64(88)
                .dec(300, 3)
                .dec(25_005, 1)
                .dec(3_751, 3)
                .dec(-15_012, 2)
                .u8(0) // liquidation
                .u64(5_000),
        ),
        (
            algo_update(&id, AlgoStatus::Triggered, Some(9_000_000_001)),
            Bytes::kind(14)
                .str(&id)
                .u8(2)
                .u8(1)
                .u64(9_000_000_001)
                .u64(4_000),
        ),
        (
            algo_update(&id, AlgoStatus::New, None),
            Bytes::kind(14).str(&id).u8(0).u8(0).u64(4_000),
        ),
    ];
    for (rec, bytes) in cases {
        assert_eq!(encode(&rec), bytes.frame(), "{}", rec.kind());
    }
}

#[test]
fn enum_codes_are_the_documented_ones() {
    let id = coid(3, 1, 0);
    let algo = [
        (AlgoStatus::New, 0),
        (AlgoStatus::Triggering, 1),
        (AlgoStatus::Triggered, 2),
        (AlgoStatus::Finished, 3),
        (AlgoStatus::Canceled, 4),
        (AlgoStatus::Rejected, 5),
        (AlgoStatus::Expired, 6),
    ];
    for (status, code) in algo {
        let want = Bytes::kind(14).str(&id).u8(code).u8(0).u64(4_000);
        assert_eq!(encode(&algo_update(&id, status, None)), want.frame());
    }
    let kinds = [
        (ExternalKind::Liquidation, 0),
        (ExternalKind::Adl, 1),
        (ExternalKind::Settlement, 2),
        (ExternalKind::Unknown, 3),
    ];
    for (kind, code) in kinds {
        let frame = encode(&Record::ExternalFill(ExternalFill {
            kind,
            ..liquidation(1, 1)
        }));
        assert_eq!(frame[frame.len() - 9], code, "{kind:?}");
    }
    // order type and working type sit at fixed offsets of an intent with a known id
    let types = [
        (OrderType::Market, 0),
        (OrderType::Limit, 1),
        (OrderType::StopMarket, 2),
        (OrderType::TakeProfitMarket, 3),
    ];
    let id_len = coid(3, 1, 0).len();
    let type_at = FRAME_HEADER + 1 + 2 + id_len + 4 + 4 + 2 + "ETHUSDT".len() + 1;
    for (order_type, code) in types {
        let frame = encode(&Record::Intent(Intent {
            order_type,
            ..market(3, 1, 0)
        }));
        assert_eq!(frame[type_at], code, "{order_type:?}");
    }
    for (working_type, code) in [(WorkingType::ContractPrice, 0), (WorkingType::MarkPrice, 1)] {
        let frame = encode(&Record::Intent(Intent {
            working_type,
            ..market(3, 1, 0)
        }));
        // after order type: qty (16), no limit price (1), no trigger price (1)
        assert_eq!(frame[type_at + 1 + 16 + 1 + 1], code, "{working_type:?}");
    }
}

const FRAME_HEADER: usize = crate::format::FRAME_HEADER_LEN;

#[test]
fn a_truncated_or_padded_payload_is_an_error_not_a_panic() {
    for rec in all_kinds() {
        let frame = encode(&rec);
        let payload = payload_of(&frame);
        for cut in 0..payload.len() {
            let e = decode_payload(&payload[..cut], VERSION).unwrap_err();
            assert!(
                e.contains("payload ends inside"),
                "{} cut at {cut}: {e}",
                rec.kind()
            );
        }
        let mut padded = payload.to_vec();
        padded.push(0);
        let e = decode_payload(&padded, VERSION).unwrap_err();
        assert!(e.contains("1 trailing bytes"), "{e}");
    }
}

#[test]
fn invalid_codes_and_bools_are_refused_with_the_field_name() {
    let id = coid(3, 1, 0);
    let cases = [
        (
            Bytes::kind(14).str(&id).u8(7).u8(0).u64(1),
            "status: invalid code 7",
        ),
        (
            Bytes::kind(14).str(&id).u8(0).u8(2).u64(1),
            "actual_order_id: invalid bool 2",
        ),
        (
            Bytes::kind(12).u64(0).u64(0).u64(0).u8(2).u8(0).u64(0),
            "kill_switch: invalid bool 2",
        ),
        (
            Bytes::kind(9)
                .str(&id)
                .u32(3)
                .u32(1)
                .str("ETHUSDT")
                .u8(0)
                .u8(4),
            "order_type: invalid code 4",
        ),
        (
            Bytes::kind(9)
                .str(&id)
                .u32(3)
                .u32(1)
                .str("ETHUSDT")
                .u8(0)
                .u8(0)
                .dec(1, 0)
                .u8(0)
                .u8(0)
                .u8(2),
            "working_type: invalid code 2",
        ),
        // a version-1 intent never had conditional types
        (
            Bytes::kind(2).str(&id).u32(1).str("ETHUSDT").u8(0).u8(2),
            "order_type: invalid code 2",
        ),
        (
            Bytes::kind(13).str("").u64(1).u32(1).str("X").u8(2),
            "side: invalid code 2",
        ),
        (Bytes::kind(15), "unknown record kind 15"),
        (Bytes::kind(0), "unknown record kind 0"),
    ];
    for (bytes, expected) in cases {
        let e = decode_payload(&bytes.0, VERSION).unwrap_err();
        assert!(e.contains(expected), "{e:?} lacks {expected:?}");
    }
}

#[test]
fn kinds_from_9_up_in_a_version_1_file_are_refused() {
    for rec in all_kinds() {
        let frame = encode(&rec);
        let payload = payload_of(&frame);
        let v1 = decode_payload(payload, 1);
        if payload[0] >= 9 {
            assert!(
                v1.unwrap_err().contains("version-1 journal"),
                "{}",
                rec.kind()
            );
        } else {
            assert_eq!(v1.unwrap(), rec);
        }
    }
}

#[test]
fn risk_state_equities_keep_their_exact_bits() {
    for bits in [
        0u64,
        0x8000_0000_0000_0000,                // -0.0
        1,                                    // the smallest subnormal
        0x7fef_ffff_ffff_ffff,                // f64::MAX
        0x7ff8_0000_0000_0001,                // a NaN with a payload (decodes; `check` refuses it)
        f64::to_bits(123_456.789_012_345_67), // an ordinary equity
    ] {
        let rec = Record::RiskState(RiskState {
            peak_equity: f64::from_bits(bits),
            day: 1,
            day_start_equity: f64::from_bits(bits),
            kill_switch: false,
            halted: true,
            ts_ns: 2,
        });
        let frame = encode(&rec);
        match decode_payload(payload_of(&frame), VERSION).unwrap() {
            Record::RiskState(r) => {
                assert_eq!(r.peak_equity.to_bits(), bits);
                assert_eq!(r.day_start_equity.to_bits(), bits);
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn an_oversized_string_is_an_encode_error_and_leaves_the_buffer_as_it_was() {
    let mut x = liquidation(1, 1);
    x.symbol = "S".repeat(70_000);
    let mut out = vec![1, 2, 3];
    let e = encode_frame(&Record::ExternalFill(x), &mut out).unwrap_err();
    assert!(matches!(e, JournalError::Encode(_)), "{e}");
    assert!(e.to_string().contains("symbol is 70000 bytes"), "{e}");
    assert_eq!(out, vec![1, 2, 3]);
}
