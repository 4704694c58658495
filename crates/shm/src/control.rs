//! The control segment: per-stage liveness and counters, consumer cursors, doorbells,
//! the symbol table, trading figures, latency histograms and the command mailbox.
//!
//! Everything is a fixed-size array of atomics at a fixed offset, so `status` can read a
//! running instance without any lock and a dead writer can never leave a lock held.
//! Text (the last restart reason) is stored in atomic words behind a tiny seqlock.
//!
//! Versioning: [`ControlBlock`]'s layout is checked by `CONTROL_VERSION`; any change to
//! it (a field added, moved or resized) bumps that constant, and a segment of another
//! version is refused by [`Control::open`] (the launcher removes a dead one and
//! recreates it). The header prefix read by [`Control::probe_owner`] (magic, version,
//! ready flag, owner pid) is frozen across versions so any build can tell whether an
//! instance of another layout is still alive.

use crate::clock::{mono_ns, now_ns};
use crate::doorbell::Doorbell;
use crate::error::{Result, ShmError};
use crate::mailbox::{Command, CommandReport, Mailbox, MailboxSnapshot, DEFAULT_COMMAND_LEASE};
use crate::segment::{pid_alive, Segment};
use crate::seqlock::{publish_words, read_words};
use crate::shared_ref::{SharedPlain, SharedRef};
use std::sync::atomic::{fence, AtomicI32, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Stage slots (ingest, analytics, executor, mock exchange, spares).
pub const MAX_STAGES: usize = 8;
/// Ring slots.
pub const MAX_RINGS: usize = 8;
/// Consumers per ring.
pub const MAX_CONSUMERS: usize = 4;
/// Symbols in the table.
pub const MAX_SYMBOLS: usize = shmtrader_core::MAX_SYMBOLS;
/// Stage-specific counters per stage.
pub const STAGE_COUNTERS: usize = 8;
/// Trading figures published by the executor.
pub const TRADING_FIGURES: usize = 32;
/// ML filter figures published by analytics.
pub const ML_FIGURES: usize = 24;
/// Latency histograms.
pub const HISTOGRAMS: usize = 8;
/// Buckets per histogram: 4 sub-buckets per power of two of nanoseconds.
pub const HIST_BUCKETS: usize = 256;

const CONTROL_MAGIC: u64 = u64::from_le_bytes(*b"SHMCTRL1");
/// Layout version of [`ControlBlock`]. History: 3 = stages, cursors, doorbells, figures,
/// positions, histograms; 4 = adds the command mailbox (and the `mark` ring's cursor
/// row is used); 5 = adds per-symbol analytics figures (and the `bars` ring's cursor).
pub const CONTROL_VERSION: u32 = 5;
/// Values per open position published by the executor: signed size, entry price, mark
/// price, unrealized PnL.
pub const POSITION_FIELDS: usize = 4;
const POSITION_WORDS: usize = POSITION_FIELDS * MAX_SYMBOLS;
/// Values per symbol published by analytics (bars, readiness, last price, threshold,
/// regime...; the stage names them).
pub const SYMBOL_FIELDS: usize = 8;
const SYMBOL_WORDS: usize = SYMBOL_FIELDS * MAX_SYMBOLS;
const READY: u32 = 1;

/// Lifecycle of a stage as the launcher and the stage itself report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StageState {
    /// Never started.
    Down,
    /// Spawned, not yet running its loop (rebuilding state).
    Starting,
    /// In its main loop.
    Running,
    /// Asked to stop.
    Stopping,
    /// Exited cleanly.
    Stopped,
    /// Died or hung; a restart is pending.
    Failed,
    /// Left by the launcher (`run --manual`) to a process started by hand, which has
    /// not attached yet; the launcher neither starts nor restarts it.
    Manual,
}

impl StageState {
    /// Code stored in shared memory.
    pub const fn code(self) -> u32 {
        match self {
            StageState::Down => 0,
            StageState::Starting => 1,
            StageState::Running => 2,
            StageState::Stopping => 3,
            StageState::Stopped => 4,
            StageState::Failed => 5,
            StageState::Manual => 6,
        }
    }
    /// Decodes a stored code (unknown codes read as `Down`).
    pub const fn from_code(c: u32) -> StageState {
        match c {
            1 => StageState::Starting,
            2 => StageState::Running,
            3 => StageState::Stopping,
            4 => StageState::Stopped,
            5 => StageState::Failed,
            6 => StageState::Manual,
            _ => StageState::Down,
        }
    }
    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            StageState::Down => "down",
            StageState::Starting => "starting",
            StageState::Running => "running",
            StageState::Stopping => "stopping",
            StageState::Stopped => "stopped",
            StageState::Failed => "failed",
            StageState::Manual => "manual",
        }
    }
}

/// Per-stage block.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct StageSlot {
    /// Process id of the current incarnation (0 = none).
    pub pid: AtomicU32,
    /// CPU it is pinned to (-1 = unpinned).
    pub cpu: AtomicI32,
    /// [`StageState`] code.
    pub state: AtomicU32,
    /// Restarts so far.
    pub restarts: AtomicU32,
    /// Last heartbeat (CLOCK_MONOTONIC ns).
    pub heartbeat_ns: AtomicU64,
    /// When the current incarnation started (CLOCK_MONOTONIC ns).
    pub started_ns: AtomicU64,
    /// Records consumed from input rings.
    pub records_in: AtomicU64,
    /// Records published to output rings.
    pub records_out: AtomicU64,
    /// Malformed inputs counted and skipped.
    pub malformed: AtomicU64,
    /// Other errors.
    pub errors: AtomicU64,
    /// Stage-specific counters (see the stages crate for their meaning).
    pub counters: [AtomicU64; STAGE_COUNTERS],
    reason_seq: AtomicU64,
    reason: [AtomicU64; 8],
    /// 1 when the launcher leaves this stage to a hand-started process (`run --manual`):
    /// shown in `status`, never restarted.
    pub manual: AtomicU32,
}

impl StageSlot {
    /// Current state.
    pub fn state(&self) -> StageState {
        StageState::from_code(self.state.load(Ordering::Acquire))
    }
    /// Sets the state.
    pub fn set_state(&self, s: StageState) {
        self.state.store(s.code(), Ordering::Release);
    }
    /// Stores the last failure reason (truncated to 64 bytes). Single writer: the
    /// launcher.
    pub fn set_reason(&self, text: &str) {
        let mut bytes = [0u8; 64];
        let n = text.len().min(64);
        bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
        let seq = self.reason_seq.load(Ordering::Relaxed);
        // Odd = being written; Relaxed + fence(Release) orders it before the words
        // (pairs with the fence(Acquire) in `reason`).
        self.reason_seq
            .store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (i, w) in self.reason.iter().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
            w.store(u64::from_le_bytes(b), Ordering::Relaxed);
        }
        // Release: publishes the words to readers that Acquire-load the even value.
        self.reason_seq
            .store(seq.wrapping_add(2), Ordering::Release);
    }
    /// Reads the last failure reason (empty if none or if a write is in progress).
    pub fn reason(&self) -> String {
        for _ in 0..16 {
            let s1 = self.reason_seq.load(Ordering::Acquire);
            if s1 % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            let mut bytes = [0u8; 64];
            for (i, w) in self.reason.iter().enumerate() {
                bytes[i * 8..i * 8 + 8].copy_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
            }
            // Orders the word loads before the re-check (pairs with the writer's fence).
            fence(Ordering::Acquire);
            if self.reason_seq.load(Ordering::Relaxed) == s1 {
                let end = bytes.iter().position(|&b| b == 0).unwrap_or(64);
                return String::from_utf8_lossy(&bytes[..end]).into_owned();
            }
        }
        String::new()
    }
}

/// A consumer's persistent cursor and gap counter.
#[repr(C, align(64))]
#[derive(Debug, Default)]
pub struct CursorSlot {
    /// Next sequence the consumer will read.
    pub cursor: AtomicU64,
    /// Records lost to laps, total.
    pub gaps: AtomicU64,
    _pad: [u64; 6],
}

/// Log-linear latency histogram (4 sub-buckets per power of two, in ns).
#[repr(C, align(64))]
#[derive(Debug)]
pub struct Histogram {
    /// Counts per bucket.
    pub buckets: [AtomicU64; HIST_BUCKETS],
    /// Number of samples.
    pub count: AtomicU64,
    /// Sum of samples (ns), for the mean.
    pub sum: AtomicU64,
    /// Largest sample.
    pub max: AtomicU64,
    _pad: [u64; 5],
}

impl Histogram {
    /// Bucket index of a value: exact below 8, then 4 sub-buckets per octave.
    #[inline]
    pub fn bucket_of(v: u64) -> usize {
        if v < 8 {
            return v as usize;
        }
        let msb = 63 - v.leading_zeros() as usize; // ≥ 3
        let sub = ((v >> (msb - 2)) & 3) as usize;
        ((msb - 1) * 4 + sub).min(HIST_BUCKETS - 1)
    }

    /// Lower bound of a bucket's range, in ns.
    pub fn bucket_floor(i: usize) -> u64 {
        if i < 8 {
            return i as u64;
        }
        let msb = i / 4 + 1;
        let sub = (i % 4) as u64;
        (1u64 << msb) | (sub << (msb - 2))
    }

    /// Adds one sample. Single writer per histogram, so Relaxed RMWs are enough.
    #[inline]
    pub fn record(&self, ns: u64) {
        self.buckets[Self::bucket_of(ns)].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(ns, Ordering::Relaxed);
        self.max.fetch_max(ns, Ordering::Relaxed);
    }

    /// Approximate quantile (bucket lower bound), `q` in [0, 1].
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let n = self.count.load(Ordering::Relaxed);
        if n == 0 {
            return None;
        }
        let target = ((q.clamp(0.0, 1.0) * n as f64).ceil() as u64).max(1);
        let mut acc = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            acc += b.load(Ordering::Relaxed);
            if acc >= target {
                return Some(Self::bucket_floor(i));
            }
        }
        Some(self.max.load(Ordering::Relaxed))
    }
}

/// Fixed header of the control segment. Its first four fields (magic, version, ready,
/// owner_pid) are frozen across layout versions: [`Control::probe_owner`] reads them
/// from a segment of any version.
#[repr(C, align(64))]
#[derive(Debug, Default)]
struct ControlHeader {
    magic: AtomicU64,
    version: AtomicU32,
    ready: AtomicU32,
    owner_pid: AtomicU32,
    shutdown: AtomicU32,
    created_ns: AtomicU64,
    n_symbols: AtomicU32,
    _r: AtomicU32,
    instance: [AtomicU64; 4],
}

/// Full layout of the control segment.
#[repr(C, align(64))]
#[derive(Debug)]
pub struct ControlBlock {
    header: ControlHeader,
    symbols: [[AtomicU64; 2]; MAX_SYMBOLS],
    /// Stage slots by stage index.
    pub stages: [StageSlot; MAX_STAGES],
    /// Consumer cursors by [ring][consumer].
    pub cursors: [[CursorSlot; MAX_CONSUMERS]; MAX_RINGS],
    /// One doorbell per consuming stage.
    pub doorbells: [Doorbell; MAX_STAGES],
    trading_seq: AtomicU64,
    trading: [AtomicU64; TRADING_FIGURES],
    positions_seq: AtomicU64,
    /// Row after row, `POSITION_FIELDS` words per symbol.
    positions: [AtomicU64; POSITION_WORDS],
    ml_seq: AtomicU64,
    ml: [AtomicU64; ML_FIGURES],
    /// Latency histograms.
    pub histograms: [Histogram; HISTOGRAMS],
    /// Command mailbox (control plane → executor); use the `Control::*command*` methods.
    mailbox: Mailbox,
    symbols_seq: AtomicU64,
    /// Row after row, `SYMBOL_FIELDS` words per symbol (analytics).
    symbol_figures: [AtomicU64; SYMBOL_WORDS],
}

// The frozen header prefix (see `ControlHeader`).
const _: () = {
    assert!(std::mem::offset_of!(ControlHeader, magic) == 0);
    assert!(std::mem::offset_of!(ControlHeader, version) == 8);
    assert!(std::mem::offset_of!(ControlHeader, ready) == 12);
    assert!(std::mem::offset_of!(ControlHeader, owner_pid) == 16);
    assert!(std::mem::offset_of!(ControlBlock, header) == 0);
};

// SAFETY: all fields are atomics, arrays of atomics or padding; all-zero is the valid
// "fresh" state; no Drop.
unsafe impl SharedPlain for ControlBlock {}
// SAFETY: as above.
unsafe impl SharedPlain for CursorSlot {}
// SAFETY: as above.
unsafe impl SharedPlain for Doorbell {}
// SAFETY: as above.
unsafe impl SharedPlain for StageSlot {}
// SAFETY: as above.
unsafe impl SharedPlain for Histogram {}
// SAFETY: as above (the mailbox is atomics and padding only; all-zero = empty).
unsafe impl SharedPlain for Mailbox {}

/// Handle on a mapped control segment.
#[derive(Debug, Clone)]
pub struct Control {
    block: SharedRef<ControlBlock>,
}

impl Control {
    /// Bytes the control segment needs.
    pub fn bytes() -> usize {
        std::mem::size_of::<ControlBlock>()
    }

    /// Initialises a freshly created, zero-filled segment.
    pub fn create(
        seg: Arc<Segment>,
        instance: &str,
        symbols: &[String],
        created_ns: u64,
    ) -> Result<Control> {
        if seg.len() < Self::bytes() {
            return Err(ShmError::Invalid("control segment too small".into()));
        }
        if symbols.len() > MAX_SYMBOLS {
            return Err(ShmError::Invalid(format!(
                "more than {MAX_SYMBOLS} symbols"
            )));
        }
        // SAFETY: offset 0 is page aligned, the length is checked above, and this region
        // is only ever accessed as a ControlBlock.
        let block: SharedRef<ControlBlock> = unsafe { SharedRef::new(seg, 0) };
        let h = &block.header;
        h.version.store(CONTROL_VERSION, Ordering::Relaxed);
        h.owner_pid.store(std::process::id(), Ordering::Relaxed);
        h.created_ns.store(created_ns, Ordering::Relaxed);
        store_text(&h.instance, instance);
        for (slot, name) in block.symbols.iter().zip(symbols) {
            store_text(slot, name);
        }
        h.n_symbols.store(symbols.len() as u32, Ordering::Relaxed);
        for s in &block.stages {
            s.cpu.store(-1, Ordering::Relaxed);
        }
        h.magic.store(CONTROL_MAGIC, Ordering::Relaxed);
        // Release: pairs with the Acquire in `open`; a half-initialised control block is
        // never opened.
        h.ready.store(READY, Ordering::Release);
        Ok(Control { block })
    }

    /// Opens an initialised control segment.
    pub fn open(seg: Arc<Segment>) -> Result<Control> {
        let name = seg.name().to_string();
        if seg.len() < Self::bytes() {
            return Err(ShmError::Layout {
                name,
                reason: "control segment too small".into(),
            });
        }
        // SAFETY: as in `create`, length checked above.
        let block: SharedRef<ControlBlock> = unsafe { SharedRef::new(seg, 0) };
        // Acquire: pairs with the Release store in `create`.
        if block.header.ready.load(Ordering::Acquire) != READY {
            return Err(ShmError::NotReady { name });
        }
        if block.header.magic.load(Ordering::Relaxed) != CONTROL_MAGIC {
            return Err(ShmError::Layout {
                name,
                reason: "bad magic".into(),
            });
        }
        let v = block.header.version.load(Ordering::Relaxed);
        if v != CONTROL_VERSION {
            return Err(ShmError::Layout {
                name,
                reason: format!(
                    "control version {v}, this build uses {CONTROL_VERSION} (the instance \
                     was created by another build of shmtrader; stop it and start it \
                     again with this one)"
                ),
            });
        }
        Ok(Control { block })
    }

    /// The pid recorded as owner (launcher) of a control segment of any layout version,
    /// if the segment is one of ours (right magic, or still being initialised). Used to
    /// decide whether an existing instance is alive before replacing it.
    pub fn probe_owner(seg: &Segment) -> Option<u32> {
        const PREFIX: usize = 20;
        if seg.len() < PREFIX {
            return None;
        }
        let base = seg.as_ptr();
        // SAFETY: the mapping is at least PREFIX bytes (checked) and page aligned, so
        // offsets 0 (u64), 12 and 16 (u32) are in bounds and aligned for their atomic
        // types. Every build accesses shared memory only through atomics and any bit
        // pattern is a valid integer, so viewing these words as atomics is sound whatever
        // an older build stored there; in this layout (asserted at compile time above)
        // and the earlier ones they are the header's `magic`, `ready` and `owner_pid`.
        let (magic, ready, owner) = unsafe {
            (
                &*(base as *const AtomicU64),
                &*(base.add(12) as *const AtomicU32),
                &*(base.add(16) as *const AtomicU32),
            )
        };
        // Acquire: pairs with the Release store of `ready` in `create`; if it is set,
        // the magic and owner stored before it are visible. A half-initialised segment
        // (not ready) still reports the owner its creator stored first, if any.
        let is_ready = ready.load(Ordering::Acquire) == READY;
        // Relaxed: ordered by the `ready` Acquire above, or a best-effort hint while the
        // creator is still initialising.
        if is_ready && magic.load(Ordering::Relaxed) != CONTROL_MAGIC {
            return None;
        }
        let pid = owner.load(Ordering::Relaxed);
        (pid != 0).then_some(pid)
    }

    /// Rewrites the header as an older build (or a dead launcher) would have left it.
    #[cfg(test)]
    pub(crate) fn forge_header_for_test(&self, version: u32, owner_pid: u32) {
        self.block.header.version.store(version, Ordering::Relaxed);
        self.block
            .header
            .owner_pid
            .store(owner_pid, Ordering::Relaxed);
    }

    /// The mapped block.
    pub fn block(&self) -> &ControlBlock {
        &self.block
    }

    /// Pid of the launcher that owns the instance.
    pub fn owner_pid(&self) -> u32 {
        self.block.header.owner_pid.load(Ordering::Acquire)
    }

    /// Whether the owning launcher is still alive.
    pub fn owner_alive(&self) -> bool {
        pid_alive(self.owner_pid())
    }

    /// When the instance was created (wall clock ns).
    pub fn created_ns(&self) -> u64 {
        self.block.header.created_ns.load(Ordering::Relaxed)
    }

    /// Asks every stage to stop (stages poll this).
    pub fn request_shutdown(&self) {
        self.block.header.shutdown.store(1, Ordering::Release);
        for b in &self.block.doorbells {
            b.wake();
        }
    }

    /// Whether shutdown was requested.
    pub fn shutdown_requested(&self) -> bool {
        self.block.header.shutdown.load(Ordering::Acquire) != 0
    }

    /// Instance name.
    pub fn instance(&self) -> String {
        load_text(&self.block.header.instance)
    }

    /// The symbol table.
    pub fn symbols(&self) -> Vec<String> {
        let n = (self.block.header.n_symbols.load(Ordering::Relaxed) as usize).min(MAX_SYMBOLS);
        self.block.symbols[..n].iter().map(load_text).collect()
    }

    /// A stage slot.
    pub fn stage(&self, idx: usize) -> Option<&StageSlot> {
        self.block.stages.get(idx)
    }

    /// A shared reference to a consumer cursor, for [`crate::ring::CursorStore::Shared`].
    pub fn cursor_ref(&self, ring: usize, consumer: usize) -> Result<SharedRef<CursorSlot>> {
        if ring >= MAX_RINGS || consumer >= MAX_CONSUMERS {
            return Err(ShmError::Invalid(format!(
                "cursor [{ring}][{consumer}] out of range"
            )));
        }
        let off = std::mem::offset_of!(ControlBlock, cursors)
            + (ring * MAX_CONSUMERS + consumer) * std::mem::size_of::<CursorSlot>();
        // SAFETY: the offset is inside `cursors` (indices checked), aligned (CursorSlot is
        // 64-aligned and the block is page aligned), and that memory is a CursorSlot.
        Ok(unsafe { SharedRef::new(self.block.segment().clone(), off) })
    }

    /// A shared reference to a stage's doorbell (producers ring it).
    pub fn doorbell_ref(&self, stage: usize) -> Result<SharedRef<Doorbell>> {
        if stage >= MAX_STAGES {
            return Err(ShmError::Invalid(format!("doorbell {stage} out of range")));
        }
        let off =
            std::mem::offset_of!(ControlBlock, doorbells) + stage * std::mem::size_of::<Doorbell>();
        // SAFETY: inside `doorbells`, 64-aligned, and that memory is a Doorbell.
        Ok(unsafe { SharedRef::new(self.block.segment().clone(), off) })
    }

    /// Publishes the executor's trading figures as one consistent snapshot.
    pub fn set_trading(&self, figures: &[f64; TRADING_FIGURES]) {
        publish_figures(&self.block.trading_seq, &self.block.trading, figures);
    }

    /// Reads the trading figures (a consistent snapshot; `None` if never written or
    /// the writer is stuck mid-update).
    pub fn trading(&self) -> Option<[f64; TRADING_FIGURES]> {
        read_figures(&self.block.trading_seq, &self.block.trading)
    }

    /// Publishes the analytics stage's ML filter figures as one consistent snapshot.
    pub fn set_ml(&self, figures: &[f64; ML_FIGURES]) {
        publish_figures(&self.block.ml_seq, &self.block.ml, figures);
    }

    /// Reads the ML filter figures (`None` if never written).
    pub fn ml(&self) -> Option<[f64; ML_FIGURES]> {
        read_figures(&self.block.ml_seq, &self.block.ml)
    }
}

/// Seqlock write of a block of f64 figures. Single writer per block.
fn publish_figures<const N: usize>(
    seq_word: &AtomicU64,
    words: &[AtomicU64; N],
    figures: &[f64; N],
) {
    publish_words(seq_word, words, &figures.map(f64::to_bits));
}

/// Seqlock read of a block written by [`publish_figures`]: a consistent snapshot, or
/// `None` if never written or the writer is stuck mid-update.
fn read_figures<const N: usize>(seq_word: &AtomicU64, words: &[AtomicU64; N]) -> Option<[f64; N]> {
    read_words(seq_word, words).map(|w| w.map(f64::from_bits))
}

impl Control {
    /// Posts a command for the executor with the [`DEFAULT_COMMAND_LEASE`] and wakes
    /// every stage's doorbell so a sleeping executor sees it at once. Returns the
    /// command's sequence number, to wait for with [`command_report`](Self::command_report).
    ///
    /// # Errors
    /// [`ShmError::CommandBusy`] if another command is pending within its lease or is
    /// being executed; the error names it and says why.
    pub fn post_command(&self, cmd: Command) -> Result<u64> {
        self.post_command_with_lease(cmd, DEFAULT_COMMAND_LEASE)
    }

    /// [`post_command`](Self::post_command) with an explicit lease: how long this command
    /// keeps newer posts out if the executor does not take it (a poster normally passes
    /// how long it will wait). A command whose lease expired untaken stays pending (the
    /// executor runs it when it comes back) until a newer post replaces it.
    ///
    /// # Errors
    /// As [`post_command`](Self::post_command).
    pub fn post_command_with_lease(&self, cmd: Command, lease: Duration) -> Result<u64> {
        let seq = self.block.mailbox.post(cmd, lease, mono_ns())?;
        for b in &self.block.doorbells {
            b.wake();
        }
        Ok(seq)
    }

    /// Whether a command other than `after_seq` waits for the executor. One relaxed
    /// load: meant for the executor's wait predicate and loop.
    #[inline]
    pub fn command_waiting(&self, after_seq: u64) -> bool {
        self.block.mailbox.waiting(after_seq)
    }

    /// Executor only: takes the pending command unless its sequence number is
    /// `after_seq` (the one this executor is already working on; 0 at start). Marks it
    /// taken by this process, so posters see it is being executed. A command that a
    /// previous executor took and died on is handed out again (pass 0 after a restart);
    /// one it had already reported on is just marked done.
    pub fn pending_command(&self, after_seq: u64) -> Option<(u64, Command)> {
        self.block
            .mailbox
            .take(after_seq, std::process::id(), now_ns())
    }

    /// Executor only: publishes the report of command `seq` (stamped with the wall
    /// clock) and marks it completed. If a newer post superseded `seq` meanwhile, the
    /// report is still recorded for whoever waits on `seq`.
    ///
    /// # Errors
    /// [`ShmError::CommandNotPending`] if `seq` was already completed or never existed.
    pub fn complete_command(&self, seq: u64, report: &CommandReport) -> Result<()> {
        self.block.mailbox.complete(seq, report, now_ns())
    }

    /// The report of command `seq`, once the executor has completed it (read whole; `None`
    /// while pending or executing, or once a later report replaced it).
    pub fn command_report(&self, seq: u64) -> Option<CommandReport> {
        self.block.mailbox.report(seq)
    }

    /// The mailbox as a whole: latest command, its phase, lease, taker and last report.
    pub fn mailbox(&self) -> MailboxSnapshot {
        self.block.mailbox.snapshot(mono_ns())
    }
}

impl Control {
    /// Publishes per-symbol positions (signed size, entry, mark, unrealized PnL) as one
    /// consistent snapshot. Single writer: the executor.
    pub fn set_positions(&self, rows: &[[f64; POSITION_FIELDS]]) {
        let mut flat = [0.0; POSITION_WORDS];
        for (dst, row) in flat.chunks_exact_mut(POSITION_FIELDS).zip(rows) {
            dst.copy_from_slice(row);
        }
        publish_figures(&self.block.positions_seq, &self.block.positions, &flat);
    }

    /// Publishes analytics' per-symbol figures as one consistent snapshot. Single
    /// writer: analytics.
    pub fn set_symbol_figures(&self, rows: &[[f64; SYMBOL_FIELDS]]) {
        let mut flat = [0.0; SYMBOL_WORDS];
        for (dst, row) in flat.chunks_exact_mut(SYMBOL_FIELDS).zip(rows) {
            dst.copy_from_slice(row);
        }
        publish_figures(&self.block.symbols_seq, &self.block.symbol_figures, &flat);
    }

    /// Reads analytics' per-symbol figures (`None` if never written or a write is
    /// stuck).
    pub fn symbol_figures(&self) -> Option<Vec<[f64; SYMBOL_FIELDS]>> {
        let flat = read_figures(&self.block.symbols_seq, &self.block.symbol_figures)?;
        Some(
            flat.chunks_exact(SYMBOL_FIELDS)
                .map(|c| {
                    let mut row = [0.0; SYMBOL_FIELDS];
                    row.copy_from_slice(c);
                    row
                })
                .collect(),
        )
    }

    /// Reads the per-symbol positions (`None` if never written or a write is stuck).
    pub fn positions(&self) -> Option<Vec<[f64; POSITION_FIELDS]>> {
        let flat = read_figures(&self.block.positions_seq, &self.block.positions)?;
        Some(
            flat.chunks_exact(POSITION_FIELDS)
                .map(|c| {
                    let mut row = [0.0; POSITION_FIELDS];
                    row.copy_from_slice(c);
                    row
                })
                .collect(),
        )
    }
}

fn store_text<const N: usize>(words: &[AtomicU64; N], text: &str) {
    let mut bytes = vec![0u8; N * 8];
    let n = text.len().min(N * 8);
    bytes[..n].copy_from_slice(&text.as_bytes()[..n]);
    for (i, w) in words.iter().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        w.store(u64::from_le_bytes(b), Ordering::Relaxed);
    }
}

fn load_text<const N: usize>(words: &[AtomicU64; N]) -> String {
    let mut bytes = Vec::with_capacity(N * 8);
    for w in words {
        bytes.extend_from_slice(&w.load(Ordering::Relaxed).to_le_bytes());
    }
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_monotone_and_cover() {
        let mut last = 0;
        for v in [0u64, 1, 7, 8, 9, 15, 16, 100, 1000, 123_456, 10_000_000_000] {
            let b = Histogram::bucket_of(v);
            assert!(b >= last, "{v}");
            assert!(
                Histogram::bucket_floor(b) <= v,
                "{v} floor {}",
                Histogram::bucket_floor(b)
            );
            last = b;
        }
        // Relative bucket width ≤ 25 %.
        for v in [100u64, 1000, 54_321, 9_999_999] {
            let f = Histogram::bucket_floor(Histogram::bucket_of(v));
            assert!((v - f) as f64 / v as f64 <= 0.25, "{v} {f}");
        }
    }

    /// The figures seqlock: `None` before the first write and while a writer is stuck
    /// mid-update (odd sequence), the whole block after a write.
    #[test]
    fn figures_blocks_are_read_whole() {
        let seq = AtomicU64::new(0);
        let words: [AtomicU64; 4] = Default::default();
        assert_eq!(read_figures(&seq, &words), None);
        publish_figures(&seq, &words, &[1.0, f64::NAN, -2.5, 0.0]);
        let r = read_figures(&seq, &words).unwrap();
        assert_eq!((r[0], r[2], r[3]), (1.0, -2.5, 0.0));
        assert!(r[1].is_nan());
        publish_figures(&seq, &words, &[3.0; 4]);
        assert_eq!(read_figures(&seq, &words), Some([3.0; 4]));
        seq.fetch_add(1, Ordering::Relaxed);
        assert_eq!(read_figures(&seq, &words), None);
    }

    #[test]
    fn state_codes_round_trip() {
        for s in [
            StageState::Down,
            StageState::Starting,
            StageState::Running,
            StageState::Stopping,
            StageState::Stopped,
            StageState::Failed,
        ] {
            assert_eq!(StageState::from_code(s.code()), s);
        }
    }
}
