//! Version-1 journals: read as they are, upgraded in place when opened for append, and
//! appended to with the new kinds.

use super::*;

/// A journal written by the version-1 build (commit 3e8bd89, `Journal::open("paper")`):
/// market BUY 0.003 BTCUSDT (paper-1-0) sent, acked, filled; limit SELL 0.100 ETHUSDT at
/// 3000.50 (paper-2-0) rejected -2019; reduce-only market BUY 0.050 ETHUSDT (paper-2-1)
/// canceled and resolved canceled.
const V1_JOURNAL_HEX: &[&str] = &[
    "53484d544a524e4c010000000000000010000000a9e773cb0105007061706572",
    "00002a36fe9c97173e000000a8afbe0a02090070617065722d312d3000000000",
    "0700425443555344540000000003000300000000000000000000000000010000",
    "00000000000000e11f3cfe9c9717140000005e82fd5003090070617065722d31",
    "2d3064e11f3cfe9c97171d0000004623b67904090070617065722d312d3038a9",
    "11f4010000000040232f3cfe9c97174d000000968f2eda05090070617065722d",
    "312d308913000000000000000003000300000000000000000000000000010011",
    "eb0900000000000000000000000800cc04770000000000000000000080653e3c",
    "fe9c97174e0000009e4f49de02090070617065722d322d300100000007004554",
    "4855534454010100000300640000000000000000000000010000020012940400",
    "00000000000000000002000000000000000000cac471fe9c971731000000006d",
    "af3c06090070617065722d322d301df8ffff17004d617267696e20697320696e",
    "73756666696369656e742e400cd471fe9c97173e00000025f868310209007061",
    "7065722d322d3101000000070045544855534454000000000300320000000000",
    "000000000000000102000000000000000100945fadfe9c971714000000f13c69",
    "ac07090070617065722d322d3140d66eadfe9c971715000000b5792cd3080900",
    "70617065722d322d310280187eadfe9c9717",
];

fn v1_journal() -> Vec<u8> {
    let hex: String = V1_JOURNAL_HEX.concat();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

const T0: u64 = 1_700_000_000_000_000_000;

/// The same journal built by hand from the layout in `format.rs`: the documentation
/// describes what version 1 really wrote.
fn v1_journal_by_hand() -> Vec<u8> {
    let mut out = crate::format::file_header_of(1).to_vec();
    let frames = [
        Bytes::kind(1).str("paper").u64(T0),
        Bytes::kind(2)
            .str("paper-1-0")
            .u32(0)
            .str("BTCUSDT")
            .u8(0)
            .u8(0)
            .dec(3, 3)
            .u8(0)
            .u8(0)
            .u64(1)
            .u8(0)
            .u64(T0 + 100_000_000),
        Bytes::kind(3).str("paper-1-0").u64(T0 + 100_000_100),
        Bytes::kind(4)
            .str("paper-1-0")
            .u64(8_389_765_432)
            .u8(0)
            .u64(T0 + 101_000_000),
        Bytes::kind(5)
            .str("paper-1-0")
            .u64(5_001)
            .dec(3, 3)
            .dec(650_001, 1)
            .dec(7_800_012, 8)
            .u8(0)
            .u64(T0 + 102_000_000),
        Bytes::kind(2)
            .str("paper-2-0")
            .u32(1)
            .str("ETHUSDT")
            .u8(1)
            .u8(1)
            .dec(100, 3)
            .u8(1)
            .dec(300_050, 2)
            .u8(0)
            .u64(2)
            .u8(0)
            .u64(T0 + 1_000_000_000),
        Bytes::kind(6)
            .str("paper-2-0")
            .i32(-2019)
            .str("Margin is insufficient.")
            .u64(T0 + 1_001_000_000),
        Bytes::kind(2)
            .str("paper-2-1")
            .u32(1)
            .str("ETHUSDT")
            .u8(0)
            .u8(0)
            .dec(50, 3)
            .u8(0)
            .u8(1)
            .u64(2)
            .u8(1)
            .u64(T0 + 2_000_000_000),
        Bytes::kind(7).str("paper-2-1").u64(T0 + 2_001_000_000),
        Bytes::kind(8)
            .str("paper-2-1")
            .u8(2)
            .u64(T0 + 2_002_000_000),
    ];
    for f in frames {
        out.extend_from_slice(&f.frame());
    }
    out
}

#[test]
fn the_format_documentation_matches_the_version_1_bytes() {
    assert_eq!(v1_journal_by_hand(), v1_journal());
}

#[test]
fn a_version_1_journal_reads_with_defaults_for_the_new_fields() {
    let t = TempDir::new("v1read");
    std::fs::write(t.file(), v1_journal()).unwrap();
    let scan = read_journal(&t.file()).unwrap();
    assert_eq!((scan.version, scan.torn_bytes), (1, 0));
    assert_eq!(scan.records.len(), 10);
    let Record::Intent(i) = &scan.records[1].1 else {
        panic!("{:?}", scan.records[1]);
    };
    assert_eq!(
        *i,
        Intent {
            client_order_id: "paper-1-0".into(),
            launch: 0,
            symbol_id: 0,
            symbol: "BTCUSDT".into(),
            side: Side::Buy,
            order_type: OrderType::Market,
            qty: d("0.003"),
            limit_price: None,
            trigger_price: None,
            working_type: WorkingType::ContractPrice,
            reduce_only: false,
            signal_seq: 1,
            leg: 0,
            ts_ns: T0 + 100_000_000,
        }
    );
    let Record::Fill(f) = &scan.records[4].1 else {
        panic!("{:?}", scan.records[4]);
    };
    assert_eq!((f.realized_pnl, f.fee), (None, d("0.07800012")));
    let s = &scan.state;
    let state = |id: &str| s.get(id).unwrap().state;
    assert_eq!(state("paper-1-0"), OrderState::Filled);
    assert_eq!(state("paper-2-0"), OrderState::Rejected);
    assert_eq!(state("paper-2-1"), OrderState::Resolved);
    assert_eq!(
        s.get("paper-2-0").unwrap().intent.limit_price,
        Some(d("3000.50"))
    );
    assert_eq!(s.by_exchange_id(8_389_765_432).unwrap().intent.leg, 0);
    assert!(s.has_signal(0, 2, 1));
    assert_eq!((s.last_launch(), s.current_launch()), (None, 0));
    assert!(
        std::fs::read(t.file()).unwrap() == v1_journal(),
        "reading changes nothing"
    );
}

#[test]
fn opening_a_version_1_journal_upgrades_the_header_and_appends_new_kinds() {
    let t = TempDir::new("v1append");
    let original = v1_journal();
    std::fs::write(t.file(), &original).unwrap();
    let (mut j, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(rec.upgraded_from, Some(1));
    assert_eq!((rec.records, rec.truncated_bytes), (10, 0));
    let now = std::fs::read(t.file()).unwrap();
    assert_eq!(now[8..12], VERSION.to_le_bytes());
    assert_eq!(now[..8], original[..8]);
    assert_eq!(now[12..], original[12..], "only the version field changed");

    // a new launch reuses signal sequence 1 and 2 without colliding with launch 0
    let (l, is_new) = next_launch(j.state(), 555, T0 + 10_000_000_000);
    assert!(is_new && l > 0);
    j.append_durable(&launch(l, 555)).unwrap();
    assert!(!j.state().has_signal(l, 1, 0));
    j.append_durable(&Record::Intent(market(l, 1, 0))).unwrap();
    j.append(&fill_of(&coid(l, 1, 0), 1, "0.3", Some("0")))
        .unwrap();
    j.append_durable(&Record::Intent(stop(l, 1, FIRST_ALGO_LEG)))
        .unwrap();
    j.append(&ack(&coid(l, 1, FIRST_ALGO_LEG), 4_000_000_001))
        .unwrap();
    j.append(&Record::ExternalFill(liquidation(9, 9))).unwrap();
    j.sync().unwrap();
    let len = j.len();
    drop(j);

    let (j, rec) = Journal::open(&t.file(), "paper", 2).unwrap();
    assert_eq!(
        (rec.upgraded_from, rec.records, rec.valid_len),
        (None, 16, len)
    );
    let s = j.state();
    assert_eq!(s.last_launch(), Some((l, 555)));
    assert!(s.has_signal(0, 1, 0) && s.has_signal(l, 1, 0));
    assert_eq!(s.get("paper-1-0").unwrap().state, OrderState::Filled);
    assert_eq!(s.get(&coid(l, 1, 0)).unwrap().state, OrderState::Filled);
    assert_eq!(
        s.open_algos()
            .map(|o| o.intent.client_order_id.as_str())
            .collect::<Vec<_>>(),
        [coid(l, 1, FIRST_ALGO_LEG).as_str()]
    );
    assert!(s.has_external_fill(9, 9));
    assert_eq!(read_journal(&t.file()).unwrap().version, VERSION);
}

#[test]
fn a_version_1_journal_with_a_torn_tail_is_cut_then_upgraded() {
    let t = TempDir::new("v1torn");
    let mut bytes = v1_journal();
    let full = bytes.len();
    bytes.extend_from_slice(&Bytes::kind(3).str("paper-2-1").u64(1).frame()[..9]);
    std::fs::write(t.file(), &bytes).unwrap();
    let (_, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!(
        (rec.truncated_bytes, rec.truncated_at, rec.upgraded_from),
        (9, Some(full as u64), Some(1))
    );
    assert_eq!(std::fs::metadata(t.file()).unwrap().len(), full as u64);
}

#[test]
fn another_instances_version_1_journal_is_refused_untouched() {
    let t = TempDir::new("v1other");
    std::fs::write(t.file(), v1_journal()).unwrap();
    let e = Journal::open(&t.file(), "live", 1).unwrap_err();
    assert!(matches!(e, JournalError::InstanceMismatch { .. }), "{e}");
    assert_eq!(std::fs::read(t.file()).unwrap(), v1_journal());
}

#[test]
fn a_new_kind_under_a_version_1_header_is_corruption_even_at_the_tail() {
    let t = TempDir::new("v1newkind");
    let mut bytes = v1_journal();
    let at = bytes.len() as u64;
    bytes.extend_from_slice(&encode(&launch(7, 7)));
    std::fs::write(t.file(), &bytes).unwrap();
    match Journal::open(&t.file(), "paper", 1).unwrap_err() {
        JournalError::Corrupt { offset, reason, .. } => {
            assert_eq!(offset, at);
            assert!(reason.contains("version-1 journal"), "{reason}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert_eq!(
        std::fs::read(t.file()).unwrap(),
        bytes,
        "refused, not truncated"
    );
}

#[test]
fn a_torn_version_1_file_header_is_recreated_as_version_2() {
    let t = TempDir::new("v1tornheader");
    std::fs::write(t.file(), &crate::format::file_header_of(1)[..10]).unwrap();
    let (j, rec) = Journal::open(&t.file(), "paper", 1).unwrap();
    assert_eq!((rec.truncated_bytes, rec.created), (10, true));
    assert_eq!(j.state().instance(), Some("paper"));
    assert_eq!(read_journal(&t.file()).unwrap().version, VERSION);
}
