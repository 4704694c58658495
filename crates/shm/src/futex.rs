//! Process-shared futex wait and wake on a 32-bit word inside a shared mapping.
//!
//! Not `FUTEX_PRIVATE_FLAG`: private futexes are keyed by (mm, address) and would never
//! wake a waiter in another process. Shared futexes are keyed by the backing page, so a
//! producer in one process wakes consumers in others.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout`. Spurious wake-ups are possible;
/// callers re-check their condition.
pub fn wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: `word` is a valid, aligned 4-byte atomic that lives in a MAP_SHARED mapping
    // for the duration of the call (the caller holds the segment); FUTEX_WAIT only reads
    // it atomically in the kernel. `ts` is a valid timespec on our stack.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wakes every waiter sleeping on `word`.
pub fn wake_all(word: &AtomicU32) {
    // SAFETY: `word` is a valid aligned atomic in a live mapping; FUTEX_WAKE does not
    // access memory beyond using the address as a key.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            std::ptr::null::<libc::timespec>(),
            std::ptr::null::<u32>(),
            0u32,
        );
    }
}
