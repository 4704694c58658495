//! Launch nonces: what makes client order ids unique across launches.
//!
//! A *launch* is one lifetime of an instance's shared-memory segments. Signal sequences
//! restart at 0 when the signals ring is recreated, so the ids of a new launch must differ
//! from every earlier launch's: each launch gets a nonce that goes into every client order
//! id ([`crate::client_order_id`]). An executor restarted *within* a launch must get the
//! same nonce back, so it regenerates the same ids and cannot send a signal twice.
//!
//! The executor tells the two apart by the creation time of the segments
//! (`segments_created_ns`), which the launcher sets once and every restart of a stage
//! sees unchanged: [`next_launch`] compares it with the last [`Record::Launch`], and the
//! executor journals a new `Launch` record (durably, before any intent) when it says so.
//!
//! A new nonce is strictly above every launch ever journaled (the journal refuses
//! anything else) and at least [`launch_floor`] of the current time: the 16-second ticks
//! since 2026-01-01T00:00:00Z. So even with the journal deleted, a new launch gets a nonce
//! no earlier launch used — unless earlier launches came faster than one per 16 s and ran
//! the counter ahead of the clock, or the clock went back. Why 16 s: a u32 of 16-second
//! ticks lasts 2^32 × 16 s ≈ 2,177 years, and the nonce stays short in the id (5 base-36
//! digits until about 2056, at most 7 ever), while restarts of a whole instance less than
//! 16 s apart are rare (and then the counter, not the clock, keeps them apart).
//!
//! [`Record::Launch`]: crate::Record::Launch

use crate::state::JournalState;

/// 2026-01-01T00:00:00Z in Unix seconds: tick 0 of [`launch_floor`].
pub const LAUNCH_EPOCH_UNIX_S: u64 = 1_767_225_600;

/// Seconds per tick of [`launch_floor`].
pub const LAUNCH_TICK_S: u64 = 16;

/// The smallest nonce a launch at `now_ns` (Unix ns) may get: 16-second ticks since
/// 2026-01-01 (0 before it, `u32::MAX` after the year ~4200).
pub fn launch_floor(now_ns: u64) -> u32 {
    let secs = (now_ns / 1_000_000_000).saturating_sub(LAUNCH_EPOCH_UNIX_S);
    u32::try_from(secs / LAUNCH_TICK_S).unwrap_or(u32::MAX)
}

/// The launch nonce for an executor starting at `now_ns` on segments created at
/// `segments_created_ns`, and whether it is new (to be journaled as a
/// [`Record::Launch`](crate::Record::Launch) before any intent).
///
/// * Same segments as the last journaled launch: a restart within that launch — its
///   nonce, `false`.
/// * Otherwise: `max(last + 1, launch_floor(now_ns), 1)`, `true` (0 is reserved for the
///   intents of version-1 journals). After `u32::MAX` there is no new nonce: it returns
///   `u32::MAX`, which the journal then refuses to record.
pub fn next_launch(state: &JournalState, segments_created_ns: u64, now_ns: u64) -> (u32, bool) {
    match state.last_launch() {
        Some((launch, created)) if created == segments_created_ns => (launch, false),
        last => {
            let after_last = last.map_or(0, |(l, _)| l.saturating_add(1));
            (after_last.max(launch_floor(now_ns)).max(1), true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::Record;

    const S: u64 = 1_000_000_000;

    fn state_with(launches: &[(u32, u64)]) -> JournalState {
        let mut st = JournalState::default();
        let mut recs = vec![Record::Header {
            instance: "paper".into(),
            created_ts_ns: 0,
        }];
        recs.extend(launches.iter().map(|&(launch, created)| Record::Launch {
            launch,
            segments_created_ns: created,
            ts_ns: created,
        }));
        for r in &recs {
            st.check(r).unwrap();
            st.apply(r);
        }
        st
    }

    #[test]
    fn floor_counts_16_second_ticks_since_2026() {
        let cases = [
            // before the epoch (a wrong clock): 0
            (0, 0),
            (LAUNCH_EPOCH_UNIX_S * S - 1, 0),
            // the epoch and its first ticks
            (LAUNCH_EPOCH_UNIX_S * S, 0),
            ((LAUNCH_EPOCH_UNIX_S + 15) * S, 0),
            ((LAUNCH_EPOCH_UNIX_S + 16) * S, 1),
            // 2036-01-01: ten years in, still 5 base-36 digits
            (2_082_758_400 * S, 19_720_800),
            // u64::MAX ns is 2554: far inside u32
            (u64::MAX, 1_042_469_904),
        ];
        for (now_ns, floor) in cases {
            assert_eq!(launch_floor(now_ns), floor, "now_ns {now_ns}");
        }
    }

    #[test]
    fn restart_on_the_same_segments_keeps_the_launch() {
        let st = state_with(&[(5, 100), (9, 200)]);
        assert_eq!(next_launch(&st, 200, 1), (9, false));
    }

    #[test]
    fn new_segments_get_a_nonce_above_the_last_and_the_clock() {
        let now_2036 = 2_082_758_400 * S;
        struct Case {
            launches: &'static [(u32, u64)],
            now_ns: u64,
            expected: (u32, bool),
        }
        let cases = [
            // first launch ever: the clock's tick
            Case {
                launches: &[],
                now_ns: now_2036,
                expected: (19_720_800, true),
            },
            // first launch, clock before 2026: 1, never the reserved 0
            Case {
                launches: &[],
                now_ns: 0,
                expected: (1, true),
            },
            // the counter ran ahead of the clock: last + 1
            Case {
                launches: &[(30_000_000, 100)],
                now_ns: now_2036,
                expected: (30_000_001, true),
            },
            // an older segment time than the last does not mean a restart either
            Case {
                launches: &[(3, 100), (4, 300)],
                now_ns: 0,
                expected: (5, true),
            },
            // no nonce left: u32::MAX comes back and the journal refuses it
            Case {
                launches: &[(u32::MAX, 100)],
                now_ns: 0,
                expected: (u32::MAX, true),
            },
        ];
        for c in cases {
            let st = state_with(c.launches);
            assert_eq!(next_launch(&st, 400, c.now_ns), c.expected);
            let (launch, _) = c.expected;
            let rec = Record::Launch {
                launch,
                segments_created_ns: 400,
                ts_ns: c.now_ns,
            };
            assert_eq!(
                st.check(&rec).is_ok(),
                c.launches.iter().all(|(l, _)| *l < launch)
            );
        }
    }
}
