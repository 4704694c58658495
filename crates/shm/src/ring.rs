//! Single-producer, multi-consumer seqlock ring of fixed-size records in shared memory.
//!
//! Layout (all offsets from the segment base):
//! ```text
//! 0      RingHeader   magic, layout version, record type/size, capacity, producer
//!                     epoch/pid, ready flag                         (cache line 0)
//! 64     write_seq    AtomicU64, alone on its cache line            (cache line 1)
//! 128    Doorbell     futex word + waiter count for this ring       (cache line 2)
//! 256    slots[capacity], each `slot_size` bytes (multiple of 64):
//!        [stamp: AtomicU64][payload: size_of::<T>() / 8 AtomicU64 words][padding]
//! ```
//! Sequence numbers start at 0. The stamp of the slot that holds record `s` moves
//! `2s` (older data) → `2s+1` (producer is writing `s`) → `2s+2` (record `s` complete).
//! A reader that wants `s` and finds a stamp above `2s+2` has been lapped.
//!
//! The payload is copied word by word with atomic loads and stores: the reader races
//! the writer by design, and plain or volatile reads of memory being written are
//! undefined behaviour. The stamp check before and after the copy discards torn copies.

use crate::doorbell::Doorbell;
use crate::error::{Result, ShmError};
use crate::segment::{pid_alive, Segment};
use crate::shared_ref::{SharedPlain, SharedRef};
use shmtrader_core::{Record, LAYOUT_VERSION};
use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const RING_MAGIC: u64 = u64::from_le_bytes(*b"SHMRING1");
const HEADER_BYTES: usize = 256;
const READY: u32 = 1;

/// Fixed header of a ring segment.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct RingHeader {
    magic: AtomicU64,
    layout_version: AtomicU32,
    record_type: AtomicU32,
    record_size: AtomicU32,
    slot_size: AtomicU32,
    capacity: AtomicU64,
    producer_epoch: AtomicU64,
    producer_pid: AtomicU32,
    ready: AtomicU32,
    _pad: [u64; 2],
    /// Next sequence to be written == number of records published.
    write_seq: CacheLineU64,
    bell: Doorbell,
}

/// An AtomicU64 alone on its cache line, so the producer's frequent stores do not
/// invalidate the header line every consumer reads.
#[repr(C, align(64))]
#[derive(Debug, Default)]
struct CacheLineU64 {
    v: AtomicU64,
    _pad: [u64; 7],
}

// SAFETY: RingHeader is atomics and padding only; all-zero is a valid (uninitialised,
// not-ready) header and it has no Drop.
unsafe impl SharedPlain for RingHeader {}

const _: () = assert!(std::mem::size_of::<RingHeader>() <= HEADER_BYTES);

/// Bytes one slot takes for record type `T`.
pub const fn slot_size<T>() -> usize {
    (8 + std::mem::size_of::<T>()).div_ceil(64) * 64
}

/// Segment size needed for a ring of `capacity` records of `T`.
pub fn ring_bytes<T: Record>(capacity: u64) -> usize {
    HEADER_BYTES + capacity as usize * slot_size::<T>()
}

/// What a consumer read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Read<T> {
    /// The record with this sequence number.
    Record(u64, T),
    /// The consumer was lapped: this many records were overwritten before it read
    /// them. The cursor has moved past them; the next read continues.
    Gap(u64),
    /// Nothing new yet.
    Empty,
}

/// Static description of an attached ring, for status output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingInfo {
    /// Record type id.
    pub record_type: u32,
    /// Record size in bytes.
    pub record_size: u32,
    /// Capacity in records.
    pub capacity: u64,
    /// Number of records published so far.
    pub write_seq: u64,
    /// Incremented every time a producer attaches (restarts).
    pub producer_epoch: u64,
    /// Pid of the last producer.
    pub producer_pid: u32,
}

/// A mapped ring of `T` records. Cheap to clone; hand it to [`Producer`] or
/// [`Consumer`].
pub struct Ring<T: Record> {
    header: SharedRef<RingHeader>,
    slots: *mut u8,
    mask: u64,
    slot_size: usize,
    _t: PhantomData<T>,
}

// SAFETY: the raw `slots` pointer points into the mapping kept alive by `header`'s Arc;
// all slot accesses are atomic, so the handle can be sent and shared between threads.
unsafe impl<T: Record> Send for Ring<T> {}
// SAFETY: see above.
unsafe impl<T: Record> Sync for Ring<T> {}

impl<T: Record> Clone for Ring<T> {
    fn clone(&self) -> Self {
        Ring {
            header: self.header.clone(),
            slots: self.slots,
            mask: self.mask,
            slot_size: self.slot_size,
            _t: PhantomData,
        }
    }
}

impl<T: Record> fmt::Debug for Ring<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("record", &T::NAME)
            .field("info", &self.info())
            .finish()
    }
}

impl<T: Record> Ring<T> {
    const WORDS: usize = std::mem::size_of::<T>() / 8;
    const CHECK: () = {
        assert!(
            std::mem::size_of::<T>().is_multiple_of(8),
            "record size must be a multiple of 8"
        );
        assert!(
            std::mem::align_of::<T>() <= 8,
            "record alignment must be at most 8"
        );
    };

    /// Initialises a ring in a freshly created (zero-filled) segment.
    pub fn create(seg: Arc<Segment>, capacity: u64) -> Result<Ring<T>> {
        #[allow(clippy::let_unit_value)]
        let _ = Self::CHECK;
        if !capacity.is_power_of_two() || capacity < 2 {
            return Err(ShmError::Invalid(format!(
                "ring capacity {capacity} is not a power of two"
            )));
        }
        if seg.len() < ring_bytes::<T>(capacity) {
            return Err(ShmError::Invalid(format!(
                "segment {} holds {} bytes, ring needs {}",
                seg.name(),
                seg.len(),
                ring_bytes::<T>(capacity)
            )));
        }
        // SAFETY: offset 0 is page aligned, HEADER_BYTES ≥ size_of::<RingHeader>() is
        // checked at compile time and the segment length above; the header region is
        // only ever accessed as a RingHeader.
        let header: SharedRef<RingHeader> = unsafe { SharedRef::new(seg, 0) };
        if header.ready.load(Ordering::Acquire) == READY {
            return Err(ShmError::Layout {
                name: header.segment().name().to_string(),
                reason: "ring already initialised".into(),
            });
        }
        header
            .layout_version
            .store(LAYOUT_VERSION, Ordering::Relaxed);
        header.record_type.store(T::TYPE_ID, Ordering::Relaxed);
        header
            .record_size
            .store(std::mem::size_of::<T>() as u32, Ordering::Relaxed);
        header
            .slot_size
            .store(slot_size::<T>() as u32, Ordering::Relaxed);
        header.capacity.store(capacity, Ordering::Relaxed);
        header.magic.store(RING_MAGIC, Ordering::Relaxed);
        // Release: pairs with the Acquire load of `ready` in `attach`; everything above
        // is visible to a process that sees READY. A segment whose creator died before
        // this store is never attached ("half-written" is refused, not reused).
        header.ready.store(READY, Ordering::Release);
        Self::from_header(header)
    }

    /// Attaches to an initialised ring, checking that it holds `T` records.
    pub fn attach(seg: Arc<Segment>) -> Result<Ring<T>> {
        #[allow(clippy::let_unit_value)]
        let _ = Self::CHECK;
        let name = seg.name().to_string();
        if seg.len() < HEADER_BYTES {
            return Err(ShmError::Layout {
                name,
                reason: "segment smaller than a ring header".into(),
            });
        }
        // SAFETY: as in `create`; the length was checked just above.
        let header: SharedRef<RingHeader> = unsafe { SharedRef::new(seg, 0) };
        // Acquire: pairs with the Release store in `create`.
        if header.ready.load(Ordering::Acquire) != READY {
            return Err(ShmError::NotReady { name });
        }
        let bad = |reason: String| {
            Err(ShmError::Layout {
                name: name.clone(),
                reason,
            })
        };
        if header.magic.load(Ordering::Relaxed) != RING_MAGIC {
            return bad("bad magic".into());
        }
        let v = header.layout_version.load(Ordering::Relaxed);
        if v != LAYOUT_VERSION {
            return bad(format!(
                "layout version {v}, this build uses {LAYOUT_VERSION}"
            ));
        }
        let t = header.record_type.load(Ordering::Relaxed);
        if t != T::TYPE_ID {
            return bad(format!(
                "record type {t}, expected {} ({})",
                T::TYPE_ID,
                T::NAME
            ));
        }
        let sz = header.record_size.load(Ordering::Relaxed) as usize;
        if sz != std::mem::size_of::<T>() {
            return bad(format!(
                "record size {sz}, expected {}",
                std::mem::size_of::<T>()
            ));
        }
        let cap = header.capacity.load(Ordering::Relaxed);
        if !cap.is_power_of_two() || header.segment().len() < ring_bytes::<T>(cap) {
            return bad(format!("capacity {cap} does not fit the segment"));
        }
        Self::from_header(header)
    }

    fn from_header(header: SharedRef<RingHeader>) -> Result<Ring<T>> {
        let cap = header.capacity.load(Ordering::Relaxed);
        // SAFETY: HEADER_BYTES is inside the segment (length checked by the callers).
        let slots = unsafe { header.segment().as_ptr().add(HEADER_BYTES) };
        Ok(Ring {
            header,
            slots,
            mask: cap - 1,
            slot_size: slot_size::<T>(),
            _t: PhantomData,
        })
    }

    /// Capacity in records.
    pub fn capacity(&self) -> u64 {
        self.mask + 1
    }

    /// Number of records published so far.
    pub fn write_seq(&self) -> u64 {
        // Acquire: pairs with the producer's Release store; a reader that sees N may read
        // records < N (their stamps were published before write_seq).
        self.header.write_seq.v.load(Ordering::Acquire)
    }

    /// The ring's own doorbell (rung on every publish).
    pub fn doorbell(&self) -> &Doorbell {
        &self.header.bell
    }

    /// Snapshot of the header for status output.
    pub fn info(&self) -> RingInfo {
        RingInfo {
            record_type: self.header.record_type.load(Ordering::Relaxed),
            record_size: self.header.record_size.load(Ordering::Relaxed),
            capacity: self.capacity(),
            write_seq: self.write_seq(),
            producer_epoch: self.header.producer_epoch.load(Ordering::Relaxed),
            producer_pid: self.header.producer_pid.load(Ordering::Relaxed),
        }
    }

    #[inline]
    fn stamp(&self, seq: u64) -> &AtomicU64 {
        let idx = (seq & self.mask) as usize;
        // SAFETY: idx < capacity, so the slot lies inside the mapping (checked at
        // create/attach); slot starts are 64-byte aligned, the stamp is the first word
        // and is only ever accessed atomically.
        unsafe { &*(self.slots.add(idx * self.slot_size) as *const AtomicU64) }
    }

    #[inline]
    fn payload(&self, seq: u64) -> &[AtomicU64] {
        let idx = (seq & self.mask) as usize;
        // SAFETY: the payload follows the stamp inside the same slot (slot_size ≥ 8 +
        // size_of::<T>()), 8-byte aligned, accessed only as atomic words.
        unsafe {
            std::slice::from_raw_parts(
                self.slots.add(idx * self.slot_size + 8) as *const AtomicU64,
                Self::WORDS,
            )
        }
    }

    /// Reads record `seq` if it is still in the ring, without any cursor (used to
    /// re-warm state from history and by tests). `None` if not yet written, being
    /// written, or already overwritten.
    pub fn get(&self, seq: u64) -> Option<T> {
        let want = 2 * seq + 2;
        let stamp = self.stamp(seq);
        // Acquire: pairs with the producer's Release store of `want`; the payload stores
        // that preceded it are visible to the copy below.
        if stamp.load(Ordering::Acquire) != want {
            return None;
        }
        let rec = self.copy_out(seq);
        // SYNC POINT: orders the payload loads above before the re-check of the stamp;
        // pairs with the producer's `fence(Release)` between marking the slot busy and
        // writing the payload. If the producer started overwriting this slot while we
        // copied, the re-check sees its busy stamp and we discard the copy.
        fence(Ordering::Acquire);
        (stamp.load(Ordering::Relaxed) == want).then_some(rec)
    }

    #[inline]
    fn copy_out(&self, seq: u64) -> T {
        let mut buf = T::default();
        let dst = &mut buf as *mut T as *mut u64;
        for (i, w) in self.payload(seq).iter().enumerate() {
            // Relaxed: ordering comes from the stamp protocol around the copy.
            let v = w.load(Ordering::Relaxed);
            // SAFETY: `dst` points to a T of exactly WORDS u64 words (size checked at
            // compile time); write_unaligned tolerates T's alignment (≤ 8). T: Record has
            // no invalid bit patterns, so any words form a valid T.
            unsafe { dst.add(i).write_unaligned(v) };
        }
        buf
    }
}

/// The one writer of a ring.
pub struct Producer<T: Record> {
    ring: Ring<T>,
    next: u64,
    extra_bells: Vec<SharedRef<Doorbell>>,
}

impl<T: Record> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("ring", &self.ring)
            .field("next", &self.next)
            .finish()
    }
}

impl<T: Record> Producer<T> {
    /// Becomes the producer of `ring`. Refuses if another live process is producing.
    ///
    /// A producer that died mid-write left its slot stamped busy; the new producer
    /// rewrites that sequence number, so readers waiting on it are released and never
    /// see the half-written copy. A producer that died after completing a record but
    /// before advancing `write_seq` is detected from the slot stamp and skipped past.
    pub fn attach(ring: Ring<T>) -> Result<Producer<T>> {
        let me = std::process::id();
        let prev = ring.header.producer_pid.load(Ordering::Acquire);
        if prev != 0 && prev != me && pid_alive(prev) {
            return Err(ShmError::Invalid(format!(
                "ring {} already has a live producer (pid {prev})",
                ring.header.segment().name()
            )));
        }
        ring.header.producer_pid.store(me, Ordering::Release);
        ring.header.producer_epoch.fetch_add(1, Ordering::AcqRel);
        let mut next = ring.write_seq();
        // Relaxed is enough: the previous producer is dead, there is no concurrent
        // writer; we only need the value it left behind.
        if ring.stamp(next).load(Ordering::Relaxed) == 2 * next + 2 {
            next += 1;
            ring.header.write_seq.v.store(next, Ordering::Release);
        }
        Ok(Producer {
            ring,
            next,
            extra_bells: Vec::new(),
        })
    }

    /// Also ring `bell` on every publish (a consumer stage that sleeps on one doorbell
    /// for several rings).
    pub fn add_doorbell(&mut self, bell: SharedRef<Doorbell>) {
        self.extra_bells.push(bell);
    }

    /// Sequence number the next `push` will get.
    pub fn next_seq(&self) -> u64 {
        self.next
    }

    /// The ring written to.
    pub fn ring(&self) -> &Ring<T> {
        &self.ring
    }

    /// Publishes one record and returns its sequence number. Never waits for consumers.
    #[inline]
    pub fn push(&mut self, rec: &T) -> u64 {
        let seq = self.push_quiet(rec);
        self.notify();
        seq
    }

    /// Publishes without ringing doorbells; call [`notify`](Self::notify) after a batch.
    #[inline]
    pub fn push_quiet(&mut self, rec: &T) -> u64 {
        let seq = self.next;
        let stamp = self.ring.stamp(seq);
        // Relaxed: the busy mark only needs to be ordered before the payload stores,
        // which the fence below does.
        stamp.store(2 * seq + 1, Ordering::Relaxed);
        // SYNC POINT: makes the busy stamp visible before any payload word; pairs with
        // the reader's `fence(Acquire)` after its payload loads (a reader that saw a
        // new payload word also sees the busy stamp on its re-check).
        fence(Ordering::Release);
        let src = rec as *const T as *const u64;
        for (i, w) in self.ring.payload(seq).iter().enumerate() {
            // SAFETY: `src` points to a live T of WORDS words; read_unaligned tolerates
            // any alignment ≤ 8.
            let v = unsafe { src.add(i).read_unaligned() };
            // Relaxed: published by the Release store of the stamp below.
            w.store(v, Ordering::Relaxed);
        }
        // Release: pairs with the reader's Acquire load of the stamp; the payload above
        // is visible to anyone who sees `2*seq+2`.
        stamp.store(2 * seq + 2, Ordering::Release);
        self.next = seq + 1;
        // Release: pairs with Acquire loads of write_seq (lag, gap resync, status).
        self.ring
            .header
            .write_seq
            .v
            .store(self.next, Ordering::Release);
        seq
    }

    /// Rings every doorbell attached to this ring (wakes sleepers, if any).
    #[inline]
    pub fn notify(&self) {
        self.ring.doorbell().ring();
        for b in &self.extra_bells {
            b.ring();
        }
    }
}

/// Where a consumer keeps its cursor: in the control segment (so a restarted stage
/// resumes at the exact record) or privately (tools, tests).
#[derive(Debug)]
pub enum CursorStore {
    /// Cursor and gap counter live in shared memory.
    Shared(SharedRef<crate::control::CursorSlot>),
    /// Cursor lives only in this process, starting at the given sequence.
    Private(u64),
}

/// One reader of a ring with its own cursor.
pub struct Consumer<T: Record> {
    ring: Ring<T>,
    cursor: u64,
    store: CursorStore,
    gaps: u64,
}

impl<T: Record> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("ring", &self.ring)
            .field("cursor", &self.cursor)
            .field("gaps", &self.gaps)
            .finish()
    }
}

impl<T: Record> Consumer<T> {
    /// Creates a consumer that starts at the stored cursor.
    pub fn new(ring: Ring<T>, store: CursorStore) -> Consumer<T> {
        let cursor = match &store {
            // Acquire: pairs with the Release store in `commit` of a previous incarnation.
            CursorStore::Shared(slot) => slot.cursor.load(Ordering::Acquire),
            CursorStore::Private(start) => *start,
        };
        Consumer {
            ring,
            cursor,
            store,
            gaps: 0,
        }
    }

    /// The ring read from.
    pub fn ring(&self) -> &Ring<T> {
        &self.ring
    }

    /// Next sequence number this consumer will read.
    pub fn cursor(&self) -> u64 {
        self.cursor
    }

    /// Records lost to laps since this consumer was created.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }

    /// Records published but not yet read.
    pub fn lag(&self) -> u64 {
        self.ring.write_seq().saturating_sub(self.cursor)
    }

    /// Whether a read would return something other than `Empty` (cheap: one load).
    #[inline]
    pub fn has_data(&self) -> bool {
        // Relaxed: only a hint for waiting; `read` re-checks with Acquire.
        self.ring.stamp(self.cursor).load(Ordering::Relaxed) > 2 * self.cursor + 1
    }

    /// Reads the next record, or reports a gap, or `Empty`. Never returns a torn record.
    #[inline]
    pub fn read(&mut self) -> Read<T> {
        let seq = self.cursor;
        let want = 2 * seq + 2;
        let stamp = self.ring.stamp(seq);
        // Acquire: pairs with the producer's Release store of the stamp.
        let s1 = stamp.load(Ordering::Acquire);
        if s1 < want {
            // Older data (not yet written) or the producer is writing `seq` right now.
            return Read::Empty;
        }
        if s1 == want {
            let rec = self.ring.copy_out(seq);
            // SYNC POINT: see `Ring::get`; pairs with the producer's fence(Release).
            fence(Ordering::Acquire);
            if stamp.load(Ordering::Relaxed) == want {
                self.cursor = seq + 1;
                return Read::Record(seq, rec);
            }
        }
        // Overwritten before or during our copy: we were lapped.
        self.resync()
    }

    #[cold]
    fn resync(&mut self) -> Read<T> {
        let w = self.ring.write_seq();
        // The oldest record that cannot be overwritten by the write in progress is
        // w + 1 - capacity; jump there (never backwards).
        let oldest = (w + 1).saturating_sub(self.ring.capacity());
        let new_cursor = oldest.max(self.cursor + 1);
        let lost = new_cursor - self.cursor;
        self.cursor = new_cursor;
        self.gaps += lost;
        if let CursorStore::Shared(slot) = &self.store {
            slot.gaps.fetch_add(lost, Ordering::Relaxed);
        }
        Read::Gap(lost)
    }

    /// Persists the cursor (call after the record's effects are published), so a
    /// restarted stage resumes exactly after the last record it finished.
    #[inline]
    pub fn commit(&self) {
        if let CursorStore::Shared(slot) = &self.store {
            // Release: pairs with the Acquire load in `new` of the next incarnation.
            slot.cursor.store(self.cursor, Ordering::Release);
        }
    }

    /// Moves the cursor (used by tools and by re-warm logic).
    pub fn seek(&mut self, seq: u64) {
        self.cursor = seq;
    }

    /// Spin, then sleep on the ring's doorbell until data arrives or `timeout` passes.
    pub fn wait(&self, spin_iters: u32, spin_only: bool, timeout: Duration) -> bool {
        self.ring
            .doorbell()
            .wait_until(|| self.has_data(), spin_iters, spin_only, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmtrader_core::{Signal, Tick};

    struct Tmp(String);
    impl Drop for Tmp {
        fn drop(&mut self) {
            let _ = Segment::unlink(&self.0);
        }
    }

    fn ring(cap: u64, tag: &str) -> (Ring<Tick>, Tmp) {
        let name = format!("/shmtrader-unit-{}-{tag}", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, ring_bytes::<Tick>(cap)).unwrap();
        (Ring::create(Arc::new(seg), cap).unwrap(), Tmp(name))
    }

    fn tick(i: u64) -> Tick {
        Tick {
            agg_id: i,
            price: i as f64,
            ..Tick::default()
        }
    }

    #[test]
    fn lapped_reader_gets_the_exact_gap_then_the_survivors() {
        let (r, _t) = ring(64, "gap");
        let mut p = Producer::attach(r.clone()).unwrap();
        let mut c = Consumer::new(r.clone(), CursorStore::Private(0));
        for i in 0..1000 {
            p.push(&tick(i));
        }
        // Oldest safe record is write_seq + 1 - capacity = 937.
        assert_eq!(c.read(), Read::Gap(937));
        for i in 937..1000 {
            assert_eq!(c.read(), Read::Record(i, tick(i)));
        }
        assert_eq!(c.read(), Read::Empty);
        assert_eq!(c.gaps(), 937);
    }

    #[test]
    fn reader_that_keeps_up_sees_everything() {
        let (r, _t) = ring(16, "keep");
        let mut p = Producer::attach(r.clone()).unwrap();
        let mut c = Consumer::new(r.clone(), CursorStore::Private(0));
        for i in 0..100 {
            assert!(!c.has_data());
            p.push(&tick(i));
            assert!(c.has_data());
            assert_eq!(c.read(), Read::Record(i, tick(i)));
        }
        assert_eq!(c.lag(), 0);
        assert_eq!(r.get(99), Some(tick(99)));
        assert_eq!(r.get(50), None, "overwritten");
        assert_eq!(r.get(100), None, "not written yet");
    }

    #[test]
    fn attach_refuses_a_ring_of_another_record_type() {
        let (_r, t) = ring(16, "type");
        let seg = Arc::new(Segment::open(&t.0).unwrap());
        let e = Ring::<Signal>::attach(seg).unwrap_err();
        assert!(e.to_string().contains("record type"), "{e}");
    }

    #[test]
    fn half_initialised_segment_is_refused() {
        let name = format!("/shmtrader-unit-{}-half", std::process::id());
        let _ = Segment::unlink(&name);
        let seg = Segment::create(&name, ring_bytes::<Tick>(16)).unwrap();
        let _t = Tmp(name.clone());
        // Never initialised (creator "died" before `Ring::create` finished).
        let e = Ring::<Tick>::attach(Arc::new(seg)).unwrap_err();
        assert!(matches!(e, ShmError::NotReady { .. }), "{e}");
    }

    #[test]
    fn restarted_producer_continues_after_last_complete_record() {
        let (r, _t) = ring(16, "restart");
        let mut p = Producer::attach(r.clone()).unwrap();
        p.push(&tick(0));
        p.push(&tick(1));
        drop(p);
        let mut p2 = Producer::attach(r.clone()).unwrap();
        assert_eq!(p2.next_seq(), 2);
        p2.push(&tick(2));
        let mut c = Consumer::new(r.clone(), CursorStore::Private(0));
        for i in 0..3 {
            assert_eq!(c.read(), Read::Record(i, tick(i)));
        }
        assert_eq!(r.info().producer_epoch, 2);
    }

    #[test]
    fn timed_wait_returns_without_data() {
        let (r, _t) = ring(16, "wait");
        let c = Consumer::new(r, CursorStore::Private(0));
        let t0 = std::time::Instant::now();
        assert!(!c.wait(10, false, Duration::from_millis(20)));
        assert!(t0.elapsed() >= Duration::from_millis(15));
    }

    #[test]
    fn futex_wake_crosses_threads() {
        let (r, _t) = ring(1024, "wake");
        let mut p = Producer::attach(r.clone()).unwrap();
        let reader = std::thread::spawn(move || {
            let mut c = Consumer::new(r, CursorStore::Private(0));
            let mut got = 0u64;
            while got < 200 {
                match c.read() {
                    Read::Record(..) => got += 1,
                    Read::Gap(_) => panic!("gap"),
                    Read::Empty => {
                        c.wait(0, false, Duration::from_secs(5));
                    }
                }
            }
            got
        });
        for i in 0..200 {
            p.push(&tick(i));
            if i % 10 == 0 {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        assert_eq!(reader.join().unwrap(), 200);
    }
}
