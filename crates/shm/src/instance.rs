//! The set of segments that make up one running instance, created by the launcher and
//! opened by the stages.

use crate::control::Control;
use crate::error::{Result, ShmError};
use crate::ring::{ring_bytes, Consumer, CursorStore, Producer, Ring};
use crate::segment::{segment_name, Segment};
use shmtrader_core::{BookTop, Outcome, Record, Signal, Tick};
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
    /// Names, by index.
    pub const NAMES: [&str; 4] = ["ticks", "book", "signals", "outcomes"];
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
    /// Which (ring, consumer) pairs exist, with the consuming stage's name.
    pub const ALL: [(usize, usize, &str); 5] = [
        (super::ring_id::TICKS, ANALYTICS, "analytics"),
        (super::ring_id::TICKS, EXECUTOR_TICKS, "executor"),
        (super::ring_id::BOOK, ANALYTICS, "analytics"),
        (super::ring_id::SIGNALS, EXECUTOR_SIGNALS, "executor"),
        (super::ring_id::OUTCOMES, ANALYTICS, "analytics"),
    ];
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
            if let Ok(ctl) = Control::open(Arc::new(seg)) {
                if ctl.owner_alive() && ctl.owner_pid() != std::process::id() {
                    return Err(ShmError::InstanceRunning {
                        instance: name.to_string(),
                        pid: ctl.owner_pid(),
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
        Ok(Instance {
            name: name.to_string(),
            control,
            ticks,
            book,
            signals,
            outcomes,
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
