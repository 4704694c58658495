//! Deterministic client order ids, unique across launches.
//!
//! A restarted executor regenerates exactly the same id for the same launch, signal and
//! leg, so the exchange's duplicate-`newClientOrderId` check and the journal's duplicate
//! check both stop a second send. A new launch (new shared-memory segments, so signal
//! sequences restart at 0) gets a new launch nonce (see [`crate::launch`]), so its
//! signal 5 never collides with an earlier launch's signal 5. Binance requires
//! `^[\.A-Z\:/a-z0-9_-]{1,36}$`, for `newClientOrderId` and `clientAlgoId` alike.
//!
//! Layout: `<inst>-<launch>-<seq>-<leg>`, the three numbers in lowercase base 36 without
//! leading zeros (at most 7 + 13 + 2 characters for `u32::MAX`, `u64::MAX`, `u8::MAX`).
//! With the three dashes that is 25, leaving 11 characters for the instance part:
//! * an instance made only of `[A-Za-z0-9_]` and at most 11 long is used as is;
//! * anything else becomes `<prefix>:<hash>`: its first (up to) 2 `[A-Za-z0-9_]`
//!   characters, `:`, and exactly 8 base-36 digits (zero-padded) of the top 41 bits of its
//!   64-bit FNV-1a hash (`fnv1a64(bytes) >> 23`; 2^41 < 36^8, so 8 digits always suffice).
//!   FNV-1a is a fixed, documented function, so ids never change with the Rust version,
//!   unlike `DefaultHasher`.
//!
//! The two forms cannot collide: only the hashed one contains `:`. No instance part
//! contains `-`, so [`parse_client_order_id`] splits an id unambiguously; ids of other
//! parties (liquidations `autoclose-…`, ADL `adl_autoclose…`, manual orders) do not
//! parse, or parse with another instance part than [`instance_tag`] of ours.
//!
//! Leg convention, within one signal of one launch:
//! * leg 0 ([`ENTRY_LEG`]): the entry order;
//! * legs 1..=127: market (or limit) exits of the same signal, each a new leg;
//! * legs 128..=255 (from [`FIRST_ALGO_LEG`]): protective conditional orders (exchange
//!   stop-market / take-profit-market placed through the algo endpoint, the id being the
//!   `clientAlgoId`); each replacement of a stop takes the next leg.

/// Maximum client order id length accepted by Binance.
pub const MAX_CLIENT_ORDER_ID_LEN: usize = 36;

/// Leg of a signal's entry order.
pub const ENTRY_LEG: u8 = 0;

/// First leg of the protective conditional (algo) orders of a signal; legs below it
/// (except [`ENTRY_LEG`]) are ordinary exits.
pub const FIRST_ALGO_LEG: u8 = 128;

/// Characters left for the instance part: 36 − (7 + 13 + 2 + 3 dashes).
const INSTANCE_BUDGET: usize = 11;
/// `[A-Za-z0-9_]` characters kept before the `:` of the hashed form.
const HASH_PREFIX: usize = 2;
/// Base-36 digits of the hash in the hashed form.
const HASH_DIGITS: usize = 8;
/// Right shift that leaves 41 bits of the 64-bit hash (36^8 > 2^41).
const HASH_SHIFT: u32 = 23;

/// True for a leg of a protective conditional (algo) order (128..=255).
pub const fn is_algo_leg(leg: u8) -> bool {
    leg >= FIRST_ALGO_LEG
}

/// True for a leg of an ordinary exit (1..=127).
pub const fn is_exit_leg(leg: u8) -> bool {
    leg != ENTRY_LEG && leg < FIRST_ALGO_LEG
}

/// The parts of a client order id made by [`client_order_id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOrderIdParts<'a> {
    /// The instance part as it appears in the id (compare with [`instance_tag`]).
    pub instance_part: &'a str,
    /// Launch nonce.
    pub launch: u32,
    /// Signal sequence within the launch.
    pub signal_seq: u64,
    /// Leg within the signal (see the module docs for the convention).
    pub leg: u8,
}

fn plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The instance part of the ids of `instance`, exactly as [`client_order_id`] writes it:
/// the executor compares it with [`ClientOrderIdParts::instance_part`] to tell its own
/// orders on the exchange from anyone else's.
pub fn instance_tag(instance: &str) -> String {
    let mut out = String::with_capacity(INSTANCE_BUDGET);
    push_instance_tag(&mut out, instance);
    out
}

fn push_instance_tag(out: &mut String, instance: &str) {
    if !instance.is_empty() && instance.len() <= INSTANCE_BUDGET && instance.chars().all(plain) {
        out.push_str(instance);
    } else {
        out.extend(instance.chars().filter(|c| plain(*c)).take(HASH_PREFIX));
        out.push(':');
        push_base36_fixed(out, fnv1a64(instance.as_bytes()) >> HASH_SHIFT, HASH_DIGITS);
    }
}

/// The id of leg `leg` of the order(s) caused by signal `signal_seq` of launch `launch`
/// of `instance`. Always valid for Binance and at most 36 characters, for any input.
pub fn client_order_id(instance: &str, launch: u32, signal_seq: u64, leg: u8) -> String {
    let mut out = String::with_capacity(MAX_CLIENT_ORDER_ID_LEN);
    push_instance_tag(&mut out, instance);
    out.push('-');
    push_base36(&mut out, launch as u64);
    out.push('-');
    push_base36(&mut out, signal_seq);
    out.push('-');
    push_base36(&mut out, leg as u64);
    out
}

/// Splits an id made by [`client_order_id`] into its parts; `None` for anything else
/// (another party's id, an id of the pre-launch format `<inst>-<seq>-<leg>`, numbers
/// that are not canonical lowercase base 36 or do not fit their type).
pub fn parse_client_order_id(id: &str) -> Option<ClientOrderIdParts<'_>> {
    if !is_valid_client_order_id(id) {
        return None;
    }
    let mut fields = id.rsplitn(4, '-');
    let leg = parse_base36(fields.next()?)?;
    let signal_seq = parse_base36(fields.next()?)?;
    let launch = parse_base36(fields.next()?)?;
    let instance_part = fields.next()?;
    if !is_instance_tag(instance_part) {
        return None;
    }
    Some(ClientOrderIdParts {
        instance_part,
        launch: u32::try_from(launch).ok()?,
        signal_seq,
        leg: u8::try_from(leg).ok()?,
    })
}

/// True if `s` is an instance part [`instance_tag`] can produce.
fn is_instance_tag(s: &str) -> bool {
    match s.split_once(':') {
        None => !s.is_empty() && s.len() <= INSTANCE_BUDGET && s.chars().all(plain),
        Some((prefix, hash)) => {
            prefix.len() <= HASH_PREFIX
                && prefix.chars().all(plain)
                && hash.len() == HASH_DIGITS
                && hash.bytes().all(|b| DIGITS.contains(&b))
                && parse_base36_padded(hash).is_some_and(|h| h < 1u64 << (64 - HASH_SHIFT))
        }
    }
}

/// True if `id` is acceptable to Binance as a `newClientOrderId` / `clientAlgoId`.
pub fn is_valid_client_order_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ORDER_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-'))
}

/// 64-bit FNV-1a (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn digit_value(b: u8) -> Option<u64> {
    match b {
        b'0'..=b'9' => Some((b - b'0') as u64),
        b'a'..=b'z' => Some((b - b'a') as u64 + 10),
        _ => None,
    }
}

/// Canonical lowercase base 36: no leading zero except `0` itself, fits u64.
fn parse_base36(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    parse_base36_padded(s)
}

fn parse_base36_padded(s: &str) -> Option<u64> {
    s.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(36)?.checked_add(digit_value(b)?)
    })
}

fn push_base36(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 13];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = DIGITS[(v % 36) as usize];
        v /= 36;
        if v == 0 {
            break;
        }
    }
    out.extend(buf[i..].iter().map(|b| *b as char));
}

fn push_base36_fixed(out: &mut String, mut v: u64, width: usize) {
    let mut buf = [b'0'; 16];
    for k in (0..width).rev() {
        buf[k] = DIGITS[(v % 36) as usize];
        v /= 36;
    }
    out.extend(buf[..width].iter().map(|b| *b as char));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_instances_are_readable_and_pinned() {
        struct Case {
            args: (&'static str, u32, u64, u8),
            expected: &'static str,
        }
        let cases = [
            // the smallest id
            Case {
                args: ("paper", 0, 0, 0),
                expected: "paper-0-0-0",
            },
            // base 36, lowercase
            Case {
                args: ("paper", 36, 36, 1),
                expected: "paper-10-10-1",
            },
            // the longest numbers, an 11-character instance: exactly 36
            Case {
                args: ("live_123456", u32::MAX, u64::MAX, u8::MAX),
                expected: "live_123456-1z141z3-3w5e11264sgsf-73",
            },
            // a protective stop leg
            Case {
                args: ("demo", 2_000_000, 5, FIRST_ALGO_LEG),
                expected: "demo-16v7k-5-3k",
            },
        ];
        for c in cases {
            let (inst, launch, seq, leg) = c.args;
            assert_eq!(client_order_id(inst, launch, seq, leg), c.expected);
        }
    }

    #[test]
    fn hashed_form_is_pinned_and_distinct() {
        let a = client_order_id("prod-eu/1", 1_234_567, 12345, 0);
        // pinned: changing it would re-send orders after an upgrade
        assert_eq!(a, "pr:jrfg43zq-qglj-9ix-0");
        assert_eq!(instance_tag("prod-eu/1"), "pr:jrfg43zq");
        assert_eq!(a, client_order_id("prod-eu/1", 1_234_567, 12345, 0));
        assert_ne!(a, client_order_id("prod-eu/1", 1_234_567, 12345, 1));
        assert_ne!(a, client_order_id("prod-eu/1", 1_234_567, 12346, 0));
        assert_ne!(a, client_order_id("prod-eu/1", 1_234_568, 12345, 0));
        assert_ne!(a, client_order_id("prod-eu/2", 1_234_567, 12345, 0));
        // 12 plain characters: one too many for the plain form
        assert_eq!(instance_tag("abcdefghijkl").len(), 11);
        assert!(instance_tag("abcdefghijkl").starts_with("ab:"));
        // the empty instance is hashed too, with an empty prefix
        assert_eq!(instance_tag("").len(), 9);
        assert!(instance_tag("").starts_with(':'));
    }

    #[test]
    fn any_instance_gives_a_valid_id_of_at_most_36_that_parses_back() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let alphabet: Vec<char> = "aZ09_-.:/ é€🚀 \t\"'\\".chars().collect();
        for _ in 0..5_000 {
            let len = (next() % 120) as usize;
            let inst: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let launch = next() as u32;
            let seq = next();
            let leg = (next() % 256) as u8;
            let id = client_order_id(&inst, launch, seq, leg);
            assert!(is_valid_client_order_id(&id), "{inst:?} -> {id:?}");
            assert!(id.len() <= MAX_CLIENT_ORDER_ID_LEN, "{id} is {}", id.len());
            let tag = instance_tag(&inst);
            assert_eq!(
                parse_client_order_id(&id),
                Some(ClientOrderIdParts {
                    instance_part: &tag,
                    launch,
                    signal_seq: seq,
                    leg
                }),
                "{inst:?} -> {id:?}"
            );
        }
        let long = "x".repeat(500);
        let id = client_order_id(&long, u32::MAX, u64::MAX, u8::MAX);
        assert_eq!(id.len(), MAX_CLIENT_ORDER_ID_LEN);
        assert!(is_valid_client_order_id(&id));
    }

    #[test]
    fn ids_of_other_parties_and_malformed_ids_do_not_parse() {
        let cases = [
            // liquidation, ADL and settlement orders
            "autoclose-1597205373891093000",
            "adl_autoclose",
            "adl_autoclose-1597205373891093000",
            "settlement_autoclose-1597205373891093000",
            // a manual order from the web UI, a bare word
            "web_2eb8a6c1b3a54f6ea1d0a9c3b1f0e2d4",
            "x",
            // the pre-launch format <inst>-<seq>-<leg>
            "paper-1-0",
            // a leading zero, uppercase digits, an empty field
            "paper-01-1-0",
            "paper-1-A-0",
            "paper--1-0",
            // launch beyond u32, leg beyond u8
            "paper-1z141z4-1-0",
            "paper-1-1-74",
            // seq beyond u64
            "paper-1-3w5e11264sgsg-0",
            // instance parts the encoder never makes
            "abcdefghijkl-1-1-0",
            "abc:jrfg43zq-1-1-0",
            "pr:jrfg43z-1-1-0",
            "pr:zzzzzzzz-1-1-0",
            "a.b-1-1-0",
            // not valid for Binance at all
            "",
            "paper-1-1-0 ",
        ];
        for id in cases {
            assert_eq!(parse_client_order_id(id), None, "{id:?}");
        }
    }

    #[test]
    fn leg_classes_follow_the_convention() {
        assert!(!is_algo_leg(ENTRY_LEG) && !is_exit_leg(ENTRY_LEG));
        assert!(is_exit_leg(1) && is_exit_leg(127) && !is_algo_leg(127));
        assert!(is_algo_leg(FIRST_ALGO_LEG) && is_algo_leg(255) && !is_exit_leg(128));
    }

    #[test]
    fn validity_check_matches_the_binance_pattern() {
        assert!(is_valid_client_order_id("a.B:c/d_e-9"));
        assert!(!is_valid_client_order_id(""));
        assert!(!is_valid_client_order_id("has space"));
        assert!(!is_valid_client_order_id("é"));
        assert!(!is_valid_client_order_id(&"a".repeat(37)));
    }
}
