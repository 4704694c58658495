//! A reference to an atomics-only structure inside a mapped segment that keeps the
//! mapping alive.

use crate::segment::Segment;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// Marker for types that may be viewed in shared memory through `&T`: every field is an
/// atomic (or padding), every bit pattern (including all zeros) is valid, and there is
/// no `Drop`.
///
/// # Safety
/// Implementors must uphold exactly that; they are all defined in this crate.
pub unsafe trait SharedPlain: Sync + Send + 'static {}

/// `&T` into a shared mapping, valid as long as this value lives.
pub struct SharedRef<T: SharedPlain> {
    seg: Arc<Segment>,
    ptr: *const T,
}

// SAFETY: `T: SharedPlain` is Sync (atomics only), the pointer stays valid while `seg`
// (an Arc) keeps the mapping alive, so the handle may move and be shared across threads.
unsafe impl<T: SharedPlain> Send for SharedRef<T> {}
// SAFETY: as above; only shared (`&T`) access is ever handed out.
unsafe impl<T: SharedPlain> Sync for SharedRef<T> {}

impl<T: SharedPlain> SharedRef<T> {
    /// # Safety
    /// `offset` must be within `seg`, aligned for `T`, with `size_of::<T>()` bytes
    /// available, and the memory must only ever be accessed as `T` (atomics).
    pub(crate) unsafe fn new(seg: Arc<Segment>, offset: usize) -> SharedRef<T> {
        debug_assert!(offset + std::mem::size_of::<T>() <= seg.len());
        debug_assert_eq!(offset % std::mem::align_of::<T>(), 0);
        // SAFETY: caller guarantees bounds; `add` stays inside the mapping.
        let ptr = unsafe { seg.as_ptr().add(offset) } as *const T;
        SharedRef { seg, ptr }
    }

    /// The segment that backs this reference.
    pub fn segment(&self) -> &Arc<Segment> {
        &self.seg
    }
}

impl<T: SharedPlain> Clone for SharedRef<T> {
    fn clone(&self) -> Self {
        SharedRef {
            seg: self.seg.clone(),
            ptr: self.ptr,
        }
    }
}

impl<T: SharedPlain> Deref for SharedRef<T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: constructed by `new` under its contract; the Arc keeps the mapping
        // mapped, and T is valid for any bit pattern and only accessed atomically.
        unsafe { &*self.ptr }
    }
}

impl<T: SharedPlain> fmt::Debug for SharedRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedRef")
            .field("segment", &self.seg.name())
            .finish()
    }
}
