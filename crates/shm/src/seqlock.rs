//! Seqlock over a fixed block of atomic words in shared memory: one writer, any number
//! of readers, readers never see a half-written block and never block the writer.
//!
//! The sequence word is 0 before the first write, odd while a write is in progress and
//! even once a block is complete. A writer that dies mid-write leaves it odd: readers
//! then get `None` (never the half-written words) until the next writer, which starts
//! from the next even value, so a torn block is never published as complete.
//!
//! Words are read and written as atomics (the reader races the writer by design, and
//! plain reads of memory being written are undefined behaviour); the sequence check
//! before and after the copy discards torn copies.

use std::sync::atomic::{fence, AtomicU64, Ordering};

/// Reader attempts before giving up on a block that keeps changing (or whose writer
/// died mid-update).
const READ_ATTEMPTS: usize = 64;

/// Writes `values` into `words` as one consistent block. Single writer per block (the
/// caller's contract: each block has exactly one writing stage).
pub(crate) fn publish_words<const N: usize>(
    seq_word: &AtomicU64,
    words: &[AtomicU64; N],
    values: &[u64; N],
) {
    // Relaxed: we are the only writer, we only need our own last value.
    let seq = seq_word.load(Ordering::Relaxed);
    // An odd value means a previous writer died mid-update; continue from the next even
    // value so the parity stays "odd = busy".
    let base = seq.wrapping_add(seq & 1);
    // Odd while writing. Relaxed + the fence below: SYNC POINT, the fence(Release)
    // orders this busy mark before every word store; it pairs with the reader's
    // fence(Acquire) after its word loads (a reader that loaded any new word also sees
    // the busy mark on its re-check and discards the copy).
    seq_word.store(base.wrapping_add(1), Ordering::Relaxed);
    fence(Ordering::Release);
    for (w, v) in words.iter().zip(values) {
        // Relaxed: published by the Release store of the even sequence below.
        w.store(*v, Ordering::Relaxed);
    }
    // SYNC POINT: Release publishes the words; pairs with the reader's Acquire load of
    // the sequence (a reader that sees this even value sees all the words above).
    seq_word.store(base.wrapping_add(2), Ordering::Release);
}

/// Reads a block written by [`publish_words`]: a consistent snapshot, or `None` if never
/// written, or if the writer is (or died) mid-update for all of the reader's attempts.
pub(crate) fn read_words<const N: usize>(
    seq_word: &AtomicU64,
    words: &[AtomicU64; N],
) -> Option<[u64; N]> {
    for _ in 0..READ_ATTEMPTS {
        // Acquire: pairs with the writer's final Release store; the words of the block
        // that ended with `s1` are visible to the loads below.
        let s1 = seq_word.load(Ordering::Acquire);
        if s1 == 0 {
            return None;
        }
        if s1 % 2 == 1 {
            std::hint::spin_loop();
            continue;
        }
        let mut out = [0u64; N];
        for (o, w) in out.iter_mut().zip(words) {
            // Relaxed: validated by the sequence re-check below.
            *o = w.load(Ordering::Relaxed);
        }
        // SYNC POINT: orders the word loads above before the re-check; pairs with the
        // writer's fence(Release) after its busy mark.
        fence(Ordering::Acquire);
        if seq_word.load(Ordering::Relaxed) == s1 {
            return Some(out);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    #[test]
    fn never_written_block_reads_as_none() {
        let seq = AtomicU64::new(0);
        let words: [AtomicU64; 3] = Default::default();
        assert_eq!(read_words(&seq, &words), None);
    }

    /// A writer killed between its busy mark and its final store leaves the sequence
    /// odd: readers get `None`, and the next writer publishes a whole block with the
    /// parity intact (the old code flipped it and exposed the next write as complete
    /// while it was in progress).
    #[test]
    fn writer_that_died_mid_update_is_hidden_then_recovered() {
        let seq = AtomicU64::new(0);
        let words: [AtomicU64; 2] = Default::default();
        publish_words(&seq, &words, &[1, 2]);
        assert_eq!(read_words(&seq, &words), Some([1, 2]));
        // Simulated death mid-update: busy mark and one word written.
        seq.fetch_add(1, Ordering::Relaxed);
        words[0].store(99, Ordering::Relaxed);
        assert_eq!(read_words(&seq, &words), None);
        publish_words(&seq, &words, &[3, 4]);
        assert_eq!(seq.load(Ordering::Relaxed) % 2, 0, "parity kept");
        assert_eq!(read_words(&seq, &words), Some([3, 4]));
    }

    /// Every block the writer publishes has all words equal; a reader racing it on
    /// another thread must never see two different values in one snapshot.
    #[test]
    fn racing_reader_never_sees_a_mixed_block() {
        let seq = Arc::new(AtomicU64::new(0));
        let words: Arc<[AtomicU64; 16]> = Arc::new(Default::default());
        let stop = Arc::new(AtomicBool::new(false));
        let w = {
            let (seq, words, stop) = (seq.clone(), words.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 1u64;
                while !stop.load(Ordering::Relaxed) {
                    publish_words(&seq, &words, &[i; 16]);
                    i += 1;
                }
                i
            })
        };
        let mut seen = 0u64;
        let mut last = 0u64;
        let t0 = std::time::Instant::now();
        while seen < 20_000 && t0.elapsed() < std::time::Duration::from_secs(10) {
            if let Some(b) = read_words(&seq, &words) {
                assert!(b.iter().all(|&x| x == b[0]), "torn block {b:?}");
                assert!(b[0] >= last, "went backwards");
                last = b[0];
                seen += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let written = w.join().unwrap_or(0);
        assert!(seen > 0 && written > 1);
    }
}
