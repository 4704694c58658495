//! Doorbells: the spin-then-futex wait primitive shared by producers and consumers.
//!
//! A doorbell is a 64-byte block in shared memory holding a futex word and a waiter
//! count. Consumers that run out of work spin for a while, then announce themselves in
//! `waiters` and sleep on `word`. Producers publish a record, then look at `waiters`
//! and only pay for a `FUTEX_WAKE` syscall when somebody is actually asleep. A stage that
//! reads several rings sleeps on one doorbell that every one of those producers rings.

use crate::futex;
use std::sync::atomic::{fence, AtomicU32, Ordering};
use std::time::Duration;

/// The shared-memory layout of one doorbell (one cache line).
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct Doorbell {
    /// Futex word: bumped on every wake so a sleeper that raced a publish returns.
    word: AtomicU32,
    /// Number of consumers currently announced as (about to be) asleep.
    waiters: AtomicU32,
    _pad: [u32; 14],
}

impl Doorbell {
    /// Called by a producer right after it published a record (the publishing store
    /// must precede this call in program order).
    #[inline]
    pub fn ring(&self) {
        // SYNC POINT (Dekker): the producer's publish (a Release store of a slot stamp)
        // must be ordered before its load of `waiters`, and a consumer's increment of
        // `waiters` before its re-check of the stamp. Store→load ordering needs a full
        // fence on both sides; this one pairs with the SeqCst fence in `wait_until`.
        // With both fences, either we see the waiter or the waiter sees the record.
        fence(Ordering::SeqCst);
        if self.waiters.load(Ordering::Relaxed) != 0 {
            // Release: a sleeper that reads the new word value also sees the record.
            self.word.fetch_add(1, Ordering::Release);
            futex::wake_all(&self.word);
        }
    }

    /// Waits until `ready()` is true: spins `spin_iters` times, then (unless
    /// `spin_only`) sleeps on the futex for at most `timeout`. Returns whether `ready()`
    /// held at the end; `false` means the timeout elapsed (callers use it to heartbeat).
    pub fn wait_until(
        &self,
        mut ready: impl FnMut() -> bool,
        spin_iters: u32,
        spin_only: bool,
        timeout: Duration,
    ) -> bool {
        for _ in 0..spin_iters {
            if ready() {
                return true;
            }
            std::hint::spin_loop();
        }
        if spin_only {
            return ready();
        }
        // SeqCst RMW: announce ourselves before re-checking (see the SYNC POINT in ring).
        self.waiters.fetch_add(1, Ordering::SeqCst);
        // Acquire (via SeqCst): if we read a value bumped by `ring`, the record published
        // before that bump is visible to the re-check below.
        let seen = self.word.load(Ordering::SeqCst);
        // SYNC POINT: pairs with the fence in `ring`; orders our `waiters` increment
        // before the re-check of the data.
        fence(Ordering::SeqCst);
        if ready() {
            self.waiters.fetch_sub(1, Ordering::SeqCst);
            return true;
        }
        futex::wait(&self.word, seen, timeout);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        ready()
    }

    /// Wakes every sleeper unconditionally (shutdown, restart of a producer).
    pub fn wake(&self) {
        self.word.fetch_add(1, Ordering::Release);
        futex::wake_all(&self.word);
    }
}
