//! The set of segments that make up one running instance, created by the launcher and
//! opened by the stages.
//!
//! An instance is the control segment plus one ring per [`ring_id::NAMES`] entry. The
//! launcher creates the rings first and the control segment last (its READY flag means
//! "the whole instance exists"); an instance left by a dead launcher, or by a build with
//! another layout, is removed and recreated, never reused.

use crate::control::Control;
use crate::error::{Result, ShmError};
use crate::ring::{ring_bytes, Consumer, CursorStore, Producer, Ring};
use crate::segment::{pid_alive, segment_name, Segment};
use shmtrader_core::{BarRecord, BookTop, MarkPrice, Outcome, Record, Signal, Tick};
use std::sync::Arc;

/// Ring indices in the control block (cursor table rows).
pub mod ring_id {
    /// Trades from ingest.
    pub const TICKS: usize = 0;
    /// Best bid/offer from ingest.
    pub const BOOK: usize = 1;
    /// Signals from analytics.
    pub const SIGNALS: usize = 2;
    /// Closed trades from the executor.
    pub const OUTCOMES: usize = 3;
    /// Mark price, index price and funding from ingest.
    pub const MARK: usize = 4;
    /// Closed bars with their ATR from analytics.
    pub const BARS: usize = 5;
    /// Names, by index (also the segment names: `shmtrader-<instance>-<name>`).
    pub const NAMES: [&str; 6] = ["ticks", "book", "signals", "outcomes", "mark", "bars"];
    const _: () = assert!(NAMES.len() <= crate::control::MAX_RINGS);
}

/// Consumer indices per ring (cursor table columns). Fixed so a restarted stage finds
/// its own cursor.
pub mod consumer_id {
    /// analytics reads ticks, book and outcomes as consumer 0.
    pub const ANALYTICS: usize = 0;
    /// The executor reads ticks as consumer 1 and signals as consumer 0.
    pub const EXECUTOR_TICKS: usize = 1;
    /// The executor's cursor on the signals ring.
    pub const EXECUTOR_SIGNALS: usize = 0;
    /// The executor's cursor on the mark ring (its only consumer).
    pub const EXECUTOR_MARK: usize = 0;
    /// The executor's cursor on the bars ring (its only consumer).
    pub const EXECUTOR_BARS: usize = 0;
    /// Which (ring, consumer) pairs exist, with the consuming stage's name.
    pub const ALL: [(usize, usize, &str); 7] = [
        (super::ring_id::TICKS, ANALYTICS, "analytics"),
        (super::ring_id::TICKS, EXECUTOR_TICKS, "executor"),
        (super::ring_id::BOOK, ANALYTICS, "analytics"),
        (super::ring_id::SIGNALS, EXECUTOR_SIGNALS, "executor"),
        (super::ring_id::OUTCOMES, ANALYTICS, "analytics"),
        (super::ring_id::MARK, EXECUTOR_MARK, "executor"),
        (super::ring_id::BARS, EXECUTOR_BARS, "executor"),
    ];
    const _: () = {
        let mut i = 0;
        while i < ALL.len() {
            assert!(ALL[i].0 < crate::control::MAX_RINGS);
            assert!(ALL[i].1 < crate::control::MAX_CONSUMERS);
            i += 1;
        }
    };
}

/// Ring capacities of an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacities {
    /// Ticks ring.
    pub ticks: u64,
    /// Book ring.
    pub book: u64,
    /// Signals ring.
    pub signals: u64,
    /// Outcomes ring.
    pub outcomes: u64,
    /// Mark-price ring.
    pub mark: u64,
    /// Bars ring.
    pub bars: u64,
}

impl Capacities {
    /// The capacities configured under `[rings]`.
    pub fn from_config(rings: &shmtrader_core::config::RingsConfig) -> Capacities {
        Capacities {
            ticks: rings.ticks,
            book: rings.book,
            signals: rings.signals,
            outcomes: rings.outcomes,
            mark: rings.mark,
            bars: rings.bars,
        }
    }
}

/// All mapped segments of an instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Instance name.
    pub name: String,
    /// The control block.
    pub control: Control,
    /// Trades.
    pub ticks: Ring<Tick>,
    /// Best bid/offer.
    pub book: Ring<BookTop>,
    /// Signals.
    pub signals: Ring<Signal>,
    /// Closed trades.
    pub outcomes: Ring<Outcome>,
    /// Mark prices (ingest produces, the executor consumes as
    /// [`consumer_id::EXECUTOR_MARK`]).
    pub mark: Ring<MarkPrice>,
    /// Closed bars with their ATR (analytics produces, the executor consumes as
    /// [`consumer_id::EXECUTOR_BARS`]).
    pub bars: Ring<BarRecord>,
}

fn all_names(instance: &str) -> Vec<String> {
    let mut v: Vec<String> = ring_id::NAMES
        .iter()
        .map(|r| segment_name(instance, r))
        .collect();
    v.push(segment_name(instance, "control"));
    v
}

fn create_ring<T: Record>(instance: &str, what: &str, cap: u64) -> Result<Ring<T>> {
    let mut seg = Segment::create(&segment_name(instance, what), ring_bytes::<T>(cap))?;
    // Ownership (unlink on drop) is handled explicitly by `Instance::remove`, so a stage
    // or tool that clones handles never unlinks by accident.
    seg.set_owner(false);
    Ring::create(Arc::new(seg), cap)
}

impl Instance {
    /// Creates every segment of `name`. An existing instance whose launcher is alive is
    /// refused; one whose launcher is dead (or that was left half-created) is removed
    /// and recreated, never reused.
    pub fn create(
        name: &str,
        symbols: &[String],
        caps: Capacities,
        now_ns: u64,
    ) -> Result<(Instance, bool)> {
        let ctl_name = segment_name(name, "control");
        let mut stale = false;
        if let Ok(seg) = Segment::open(&ctl_name) {
            // The owner is read from the version-independent header prefix, so a live
            // instance of another layout version is refused too, not clobbered; a dead
            // one (any version) is removed below and recreated with this layout.
            if let Some(pid) = Control::probe_owner(&seg) {
                if pid != std::process::id() && pid_alive(pid) {
                    return Err(ShmError::InstanceRunning {
                        instance: name.to_string(),
                        pid,
                    });
                }
            }
            stale = true;
        }
        for n in all_names(name) {
            if Segment::exists(&n) {
                stale = true;
            }
            Segment::unlink(&n)?;
        }
        let ticks = create_ring::<Tick>(name, "ticks", caps.ticks)?;
        let book = create_ring::<BookTop>(name, "book", caps.book)?;
        let signals = create_ring::<Signal>(name, "signals", caps.signals)?;
        let outcomes = create_ring::<Outcome>(name, "outcomes", caps.outcomes)?;
        let mark = create_ring::<MarkPrice>(name, "mark", caps.mark)?;
        let bars = create_ring::<BarRecord>(name, "bars", caps.bars)?;
        // Control last: its READY flag means "the whole instance exists".
        let mut seg = Segment::create(&ctl_name, Control::bytes())?;
        seg.set_owner(false);
        let control = Control::create(Arc::new(seg), name, symbols, now_ns)?;
        Ok((
            Instance {
                name: name.to_string(),
                control,
                ticks,
                book,
                signals,
                outcomes,
                mark,
                bars,
            },
            stale,
        ))
    }

    /// Opens an existing instance (stages, `status`, tools).
    pub fn open(name: &str) -> Result<Instance> {
        let control = Control::open(Arc::new(Segment::open(&segment_name(name, "control"))?))?;
        let ticks = Ring::attach(Arc::new(Segment::open(&segment_name(name, "ticks"))?))?;
        let book = Ring::attach(Arc::new(Segment::open(&segment_name(name, "book"))?))?;
        let signals = Ring::attach(Arc::new(Segment::open(&segment_name(name, "signals"))?))?;
        let outcomes = Ring::attach(Arc::new(Segment::open(&segment_name(name, "outcomes"))?))?;
        let mark = Ring::attach(Arc::new(Segment::open(&segment_name(name, "mark"))?))?;
        let bars = Ring::attach(Arc::new(Segment::open(&segment_name(name, "bars"))?))?;
        Ok(Instance {
            name: name.to_string(),
            control,
            ticks,
            book,
            signals,
            outcomes,
            mark,
            bars,
        })
    }

    /// Unlinks every segment name of an instance. Mappings stay valid for processes
    /// that still have them; the memory is freed when the last one unmaps.
    pub fn remove(name: &str) -> Result<()> {
        for n in all_names(name) {
            Segment::unlink(&n)?;
        }
        Ok(())
    }

    /// A consumer whose cursor persists in the control block.
    pub fn consumer<T: Record>(
        &self,
        ring: &Ring<T>,
        ring_idx: usize,
        consumer: usize,
    ) -> Result<Consumer<T>> {
        let slot = self.control.cursor_ref(ring_idx, consumer)?;
        Ok(Consumer::new(ring.clone(), CursorStore::Shared(slot)))
    }

    /// Becomes the producer of a ring and rings the doorbells of the stages that
    /// consume it.
    pub fn producer<T: Record>(
        &self,
        ring: &Ring<T>,
        wake_stages: &[usize],
    ) -> Result<Producer<T>> {
        let mut p = Producer::attach(ring.clone())?;
        for &s in wake_stages {
            p.add_doorbell(self.control.doorbell_ref(s)?);
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmtrader_core::MarkPrice;

    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Instance::remove(&self.0);
        }
    }

    fn caps() -> Capacities {
        Capacities {
            ticks: 64,
            book: 32,
            signals: 16,
            outcomes: 16,
            mark: 128,
            bars: 128,
        }
    }

    fn name(tag: &str) -> String {
        format!("unit-{}-{tag}", std::process::id())
    }

    #[test]
    fn instance_has_a_mark_ring_with_its_capacity_and_an_executor_cursor() {
        let n = name("mark");
        let _g = Gone(n.clone());
        let (inst, _) = Instance::create(&n, &["BTCUSDT".into()], caps(), 1).unwrap();
        assert!(Segment::exists(&segment_name(&n, "mark")));
        assert_eq!(inst.mark.capacity(), 128);
        assert_eq!(inst.mark.info().record_type, MarkPrice::TYPE_ID);
        let opened = Instance::open(&n).unwrap();
        let mut p = opened.producer(&opened.mark, &[]).unwrap();
        let m = MarkPrice {
            symbol_id: 0,
            mark_px: 60_000.5,
            index_px: 60_001.0,
            funding_rate: 0.0001,
            next_funding_ms: 1_700_000_000_000,
            ..MarkPrice::default()
        };
        p.push(&m);
        let mut c = inst
            .consumer(&inst.mark, ring_id::MARK, consumer_id::EXECUTOR_MARK)
            .unwrap();
        assert_eq!(c.read(), crate::Read::Record(0, m));
        c.commit();
        let slot = inst
            .control
            .cursor_ref(ring_id::MARK, consumer_id::EXECUTOR_MARK)
            .unwrap();
        assert_eq!(slot.cursor.load(std::sync::atomic::Ordering::Acquire), 1);
        assert!(consumer_id::ALL.contains(&(
            ring_id::MARK,
            consumer_id::EXECUTOR_MARK,
            "executor"
        )));
    }

    /// An instance left by a build with the previous control layout: opening it is
    /// refused with a message naming both versions; a new launcher recreates it if its
    /// owner is dead and refuses if it is alive.
    #[test]
    fn instance_of_an_older_layout_is_refused_when_alive_and_recreated_when_dead() {
        let n = name("oldver");
        let _g = Gone(n.clone());
        let (inst, stale) = Instance::create(&n, &[], caps(), 1).unwrap();
        assert!(!stale);
        let old = crate::CONTROL_VERSION - 1;
        // A dead owner (pid beyond pid_max is never alive).
        inst.control.forge_header_for_test(old, u32::MAX - 1);
        let e = Instance::open(&n).unwrap_err();
        assert!(matches!(e, ShmError::Layout { .. }), "{e}");
        assert!(
            e.to_string().contains(&format!("control version {old}")),
            "{e}"
        );
        let (fresh, stale) = Instance::create(&n, &[], caps(), 2).unwrap();
        assert!(stale, "the old instance counts as stale");
        assert_eq!(fresh.control.created_ns(), 2);
        Instance::open(&n).unwrap();
        // A live owner of the old layout (pid 1 is always alive) is refused, not removed.
        fresh.control.forge_header_for_test(old, 1);
        let e = Instance::create(&n, &[], caps(), 3).unwrap_err();
        assert!(matches!(e, ShmError::InstanceRunning { pid: 1, .. }), "{e}");
        assert!(Segment::exists(&segment_name(&n, "control")));
    }
}
