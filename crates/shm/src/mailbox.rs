//! The command mailbox in the control segment: how the control plane (the `shmtrader
//! flatten` CLI, a web monitor) asks the executor — the only writer of orders and of the
//! journal — to stop entries, resume, flatten or switch the kill switch.
//!
//! One command at a time. Any process may post; only the executor takes and completes.
//! Nothing is guarded by a lock, and a process may die at any instruction:
//!
//! - The whole request (phase, command, sequence number, lease deadline) is one atomic
//!   word, so posting is a single compare-exchange: a poster that dies has either posted
//!   a complete command or nothing, and of two racing posters exactly one wins (the
//!   other sees the winner's command and gets [`ShmError::CommandBusy`]).
//! - A posted command stays pending until the executor takes it, even if its poster
//!   died. A poster waits at most its lease; after the lease a command nobody took
//!   (executor down) may be superseded by a newer post, otherwise it is executed when
//!   the executor comes back.
//! - The executor marks a command taken (recording its pid) before acting. A taken
//!   command is busy until completed; only if the taker died *and* the lease expired
//!   may a newer post replace it. A restarted executor takes it again (it starts with
//!   `after_seq = 0`), so a command in progress at a crash is finished, not lost.
//! - The report (status, counts, a UTF-8 message of up to [`COMMAND_MESSAGE_BYTES`]) is
//!   published under a seqlock before the request word turns `done`, so a reader sees
//!   either the whole report or none of it.
//!
//! Request word layout (bits):
//! ```text
//! 63..32  lease deadline, CLOCK_MONOTONIC whole seconds (rounded up)
//! 31..8   sequence number, 1..=2^24-1, wrapping to 1 (0 = nothing ever posted)
//!  7..4   command code (see `Command::code`)
//!  3..0   phase: 0 empty, 1 posted, 2 taken, 3 done
//! ```

use crate::error::{Result, ShmError};
use crate::segment::pid_alive;
use crate::seqlock::{publish_words, read_words};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

/// Longest report message kept, in bytes (longer messages are cut at a character
/// boundary).
pub const COMMAND_MESSAGE_BYTES: usize = 200;
/// Lease of [`crate::Control::post_command`]: how long a posted command blocks newer
/// posts if nobody takes it.
pub const DEFAULT_COMMAND_LEASE: Duration = Duration::from_secs(30);

const MESSAGE_WORDS: usize = COMMAND_MESSAGE_BYTES / 8;
const _: () = assert!(COMMAND_MESSAGE_BYTES.is_multiple_of(8));

// Report block word indexes.
const R_SEQ: usize = 0;
const R_CODE: usize = 1;
const R_STATUS: usize = 2;
const R_ORDERS: usize = 3;
const R_CONDITIONAL: usize = 4;
const R_CLOSED: usize = 5;
const R_LEFT_OPEN: usize = 6;
const R_COMPLETED_NS: usize = 7;
const R_MSG_LEN: usize = 8;
const R_MSG: usize = 9;
const REPORT_WORDS: usize = R_MSG + MESSAGE_WORDS;

const PHASE_EMPTY: u64 = 0;
const PHASE_POSTED: u64 = 1;
const PHASE_TAKEN: u64 = 2;
const PHASE_DONE: u64 = 3;
const SEQ_MAX: u64 = (1 << 24) - 1;

/// What the control plane can ask the executor to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// Open no new positions; manage and exit the open ones as usual.
    StopEntries,
    /// Undo `StopEntries`: accept entries again.
    Resume,
    /// Cancel this instance's orders and conditional (stop) orders and close its
    /// positions.
    Flatten,
    /// Engage (`on`) or release the kill switch.
    KillSwitch {
        /// Engage when true, release when false.
        on: bool,
    },
}

impl Command {
    /// Code stored in the request word (4 bits, never 0).
    pub const fn code(self) -> u8 {
        match self {
            Command::StopEntries => 1,
            Command::Resume => 2,
            Command::Flatten => 3,
            Command::KillSwitch { on: false } => 4,
            Command::KillSwitch { on: true } => 5,
        }
    }

    /// Decodes a stored code (`None` for anything else).
    pub const fn from_code(c: u8) -> Option<Command> {
        match c {
            1 => Some(Command::StopEntries),
            2 => Some(Command::Resume),
            3 => Some(Command::Flatten),
            4 => Some(Command::KillSwitch { on: false }),
            5 => Some(Command::KillSwitch { on: true }),
            _ => None,
        }
    }

    /// Name as the CLI spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Command::StopEntries => "stop-entries",
            Command::Resume => "resume",
            Command::Flatten => "flatten",
            Command::KillSwitch { on: false } => "kill-switch off",
            Command::KillSwitch { on: true } => "kill-switch on",
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the executor answered a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Carried out.
    Done,
    /// Not carried out on purpose (e.g. not allowed in this state); nothing changed.
    Refused,
    /// Attempted and did not fully succeed (the counts say how far it got).
    Failed,
}

impl CommandStatus {
    /// Code stored in the report.
    pub const fn code(self) -> u8 {
        match self {
            CommandStatus::Done => 1,
            CommandStatus::Refused => 2,
            CommandStatus::Failed => 3,
        }
    }

    /// Decodes a stored code (`None` for anything else).
    pub const fn from_code(c: u8) -> Option<CommandStatus> {
        match c {
            1 => Some(CommandStatus::Done),
            2 => Some(CommandStatus::Refused),
            3 => Some(CommandStatus::Failed),
            _ => None,
        }
    }

    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Done => "done",
            CommandStatus::Refused => "refused",
            CommandStatus::Failed => "failed",
        }
    }
}

/// The executor's answer to one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReport {
    /// Outcome.
    pub status: CommandStatus,
    /// Open orders canceled.
    pub orders_canceled: u32,
    /// Conditional (algo / stop) orders canceled.
    pub conditional_canceled: u32,
    /// Positions closed.
    pub positions_closed: u32,
    /// Positions still open afterwards.
    pub positions_left_open: u32,
    /// What happened, for a human (at most [`COMMAND_MESSAGE_BYTES`] bytes are kept).
    pub message: String,
}

impl CommandReport {
    /// A report with all counts zero.
    pub fn new(status: CommandStatus, message: impl Into<String>) -> CommandReport {
        CommandReport {
            status,
            orders_canceled: 0,
            conditional_canceled: 0,
            positions_closed: 0,
            positions_left_open: 0,
            message: message.into(),
        }
    }
}

/// A completed command as stored in the mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedCommand {
    /// Its sequence number.
    pub seq: u64,
    /// The command (`None` if the stored code was not a known command).
    pub command: Option<Command>,
    /// When the executor completed it (wall clock, ns since the Unix epoch).
    pub completed_ns: u64,
    /// The report.
    pub report: CommandReport,
}

/// Where the latest command is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommandPhase {
    /// Nothing was ever posted.
    Empty,
    /// Posted, not yet taken by the executor.
    Pending,
    /// Taken by the executor, not yet completed.
    Executing,
    /// Completed (see the report).
    Completed,
}

impl CommandPhase {
    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandPhase::Empty => "none",
            CommandPhase::Pending => "pending",
            CommandPhase::Executing => "executing",
            CommandPhase::Completed => "completed",
        }
    }
}

/// A consistent view of the mailbox for status output and waiting posters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxSnapshot {
    /// Sequence number of the latest command (0 = none).
    pub seq: u64,
    /// The latest command.
    pub command: Option<Command>,
    /// Where it is.
    pub phase: CommandPhase,
    /// Time left on its lease (zero once expired).
    pub lease_left: Duration,
    /// Pid of the executor that took it (0 if not taken).
    pub taker_pid: u32,
    /// The most recent report (normally the latest command's once completed; an older
    /// one while the latest is pending or executing).
    pub last_report: Option<CompletedCommand>,
}

/// The request word, unpacked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Req {
    phase: u64,
    code: u8,
    seq: u64,
    lease_s: u64,
}

impl Req {
    fn unpack(w: u64) -> Req {
        Req {
            phase: w & 0xF,
            code: ((w >> 4) & 0xF) as u8,
            seq: (w >> 8) & SEQ_MAX,
            lease_s: w >> 32,
        }
    }

    fn pack(self) -> u64 {
        (self.lease_s << 32)
            | ((self.seq & SEQ_MAX) << 8)
            | (u64::from(self.code & 0xF) << 4)
            | (self.phase & 0xF)
    }

    fn with_phase(self, phase: u64) -> Req {
        Req { phase, ..self }
    }

    fn lease_left(self, now_mono_ns: u64) -> Duration {
        Duration::from_nanos((self.lease_s * 1_000_000_000).saturating_sub(now_mono_ns))
    }

    fn lease_expired(self, now_mono_ns: u64) -> bool {
        self.lease_left(now_mono_ns).is_zero()
    }

    fn command_name(self) -> String {
        Command::from_code(self.code)
            .map(|c| c.as_str().to_string())
            .unwrap_or_else(|| format!("command code {}", self.code))
    }
}

/// The mailbox's shared-memory layout (part of the control block). Crate-private: the
/// typed API is on [`crate::Control`].
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct Mailbox {
    /// The packed request word (see the module docs).
    req: AtomicU64,
    /// Pid of the executor that took the current command.
    taker_pid: AtomicU32,
    _r: AtomicU32,
    _pad: [AtomicU64; 6],
    /// Seqlock over `report` (its own cache line: the executor writes it rarely, posters
    /// poll it).
    report_seq: AtomicU64,
    report: [AtomicU64; REPORT_WORDS],
}

// The request word and taker pid share the first cache line (posters and the executor
// CAS it rarely); the report and its sequence start on the next.
const _: () = assert!(std::mem::offset_of!(Mailbox, report_seq) == 64);

impl Mailbox {
    /// An empty mailbox on the heap (tests; in shared memory it is zero-filled).
    #[cfg(test)]
    fn new() -> Mailbox {
        Mailbox {
            req: AtomicU64::new(0),
            taker_pid: AtomicU32::new(0),
            _r: AtomicU32::new(0),
            _pad: Default::default(),
            report_seq: AtomicU64::new(0),
            report: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn load(&self) -> Req {
        // SYNC POINT: Acquire pairs with the Release side of every successful CAS on
        // `req` (posters' and the executor's): a TAKEN word makes the taker's pid store
        // visible, a DONE word makes the report published before it visible.
        Req::unpack(self.req.load(Ordering::Acquire))
    }

    /// Whether the current holder blocks a new post, and why.
    fn busy(&self, r: Req, now_mono_ns: u64) -> Option<String> {
        match r.phase {
            PHASE_POSTED if !r.lease_expired(now_mono_ns) => Some(format!(
                "pending, not taken by the executor yet; its lease expires in {} s",
                r.lease_left(now_mono_ns).as_secs_f64().ceil()
            )),
            PHASE_TAKEN => {
                // Relaxed: ordered by the Acquire load of `req` that saw TAKEN.
                let pid = self.taker_pid.load(Ordering::Relaxed);
                if pid_alive(pid) {
                    Some(format!("being executed by the executor (pid {pid})"))
                } else if !r.lease_expired(now_mono_ns) {
                    Some(format!(
                        "taken by an executor (pid {pid}) that died; its restart resumes \
                         it (lease expires in {} s)",
                        r.lease_left(now_mono_ns).as_secs_f64().ceil()
                    ))
                } else {
                    None
                }
            }
            _ => None,
        }
    }

    /// Posts `cmd` with a lease of `lease` from `now_mono_ns`. See
    /// [`crate::Control::post_command`].
    pub(crate) fn post(&self, cmd: Command, lease: Duration, now_mono_ns: u64) -> Result<u64> {
        let deadline_ns =
            now_mono_ns.saturating_add(lease.as_nanos().min(u128::from(u64::MAX)) as u64);
        let lease_s = deadline_ns.div_ceil(1_000_000_000).min(u64::from(u32::MAX));
        // Acquire: see `load`.
        let mut cur = self.req.load(Ordering::Acquire);
        loop {
            let r = Req::unpack(cur);
            if let Some(why) = self.busy(r, now_mono_ns) {
                return Err(ShmError::CommandBusy {
                    seq: r.seq,
                    command: r.command_name(),
                    detail: why,
                });
            }
            let seq = if r.seq >= SEQ_MAX { 1 } else { r.seq + 1 };
            let new = Req {
                phase: PHASE_POSTED,
                code: cmd.code(),
                seq,
                lease_s,
            };
            // The word carries the whole command, so the CAS is the post: nothing of it
            // can be half-written. SYNC POINT: AcqRel — Release pairs with the Acquire
            // load in the executor's `take` (and every reader's `load`); Acquire on
            // success and failure makes the decision above rest on a value whose
            // writers' earlier stores (the taker pid) we see when we retry.
            match self
                .req
                .compare_exchange(cur, new.pack(), Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(seq),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Whether a command other than `after_seq` is waiting for the executor (one load;
    /// cheap enough for a wait predicate).
    pub(crate) fn waiting(&self, after_seq: u64) -> bool {
        // Relaxed: a hint only; `take` re-reads with Acquire.
        let r = Req::unpack(self.req.load(Ordering::Relaxed));
        matches!(r.phase, PHASE_POSTED | PHASE_TAKEN) && r.seq != after_seq
    }

    /// The executor takes the pending command (or the one a dead incarnation had
    /// taken), unless it is `after_seq`. See [`crate::Control::pending_command`].
    pub(crate) fn take(&self, after_seq: u64, me: u32, now_ns: u64) -> Option<(u64, Command)> {
        // Acquire: see `load`.
        let mut cur = self.req.load(Ordering::Acquire);
        loop {
            let r = Req::unpack(cur);
            if !matches!(r.phase, PHASE_POSTED | PHASE_TAKEN) || r.seq == after_seq {
                return None;
            }
            if r.phase == PHASE_TAKEN && self.reported_seq() == Some(r.seq) {
                // A previous executor published the report and died before marking the
                // command done: finish its bookkeeping instead of running it twice.
                // Release: pairs with readers' Acquire `load`, as in `complete`.
                match self.req.compare_exchange(
                    cur,
                    r.with_phase(PHASE_DONE).pack(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return None,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            }
            let Some(cmd) = Command::from_code(r.code) else {
                // Cannot happen with matching builds (the layout version guards that);
                // answer instead of leaving the mailbox blocked.
                self.write_report(
                    r.seq,
                    r.code,
                    &CommandReport::new(
                        CommandStatus::Refused,
                        format!("unknown command code {}", r.code),
                    ),
                    now_ns,
                );
                // SYNC POINT: Release pairs with readers' Acquire `load` (DONE implies
                // the refusal report above is visible), as in `complete`.
                match self.req.compare_exchange(
                    cur,
                    r.with_phase(PHASE_DONE).pack(),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => return None,
                    Err(actual) => {
                        cur = actual;
                        continue;
                    }
                }
            };
            // Relaxed: published by the Release side of the CAS below.
            self.taker_pid.store(me, Ordering::Relaxed);
            // SYNC POINT: AcqRel — Release publishes `taker_pid` to posters whose Acquire
            // `load` sees TAKEN; Acquire pairs with the poster's Release CAS. Taking an
            // already-taken command (restart) rewrites the same word, which still
            // releases our pid.
            match self.req.compare_exchange(
                cur,
                r.with_phase(PHASE_TAKEN).pack(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some((r.seq, cmd)),
                Err(actual) => cur = actual,
            }
        }
    }

    /// Publishes the report of `seq` and marks it done. See
    /// [`crate::Control::complete_command`].
    pub(crate) fn complete(&self, seq: u64, report: &CommandReport, now_ns: u64) -> Result<()> {
        // Acquire: see `load`.
        let mut cur = self.req.load(Ordering::Acquire);
        let r = Req::unpack(cur);
        if seq == 0
            || seq > SEQ_MAX
            || (r.seq == seq && !matches!(r.phase, PHASE_POSTED | PHASE_TAKEN))
        {
            return Err(ShmError::CommandNotPending {
                seq,
                current: r.seq,
                phase: phase_name(r.phase),
            });
        }
        let code = if r.seq == seq { r.code } else { 0 };
        // The report first (seqlock, its own SYNC POINTs), so whoever sees DONE below
        // also sees the report. If a newer post superseded `seq` (its taker looked dead
        // past the lease), the report is still recorded for the poster waiting on it.
        self.write_report(seq, code, report, now_ns);
        loop {
            let r = Req::unpack(cur);
            if r.seq != seq || !matches!(r.phase, PHASE_POSTED | PHASE_TAKEN) {
                return Ok(());
            }
            // SYNC POINT: Release pairs with the Acquire `load` of posters and status: a
            // reader that sees DONE sees the report published above. Acquire on failure
            // for the retry's decision.
            match self.req.compare_exchange(
                cur,
                r.with_phase(PHASE_DONE).pack(),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => cur = actual,
            }
        }
    }

    fn write_report(&self, seq: u64, code: u8, report: &CommandReport, now_ns: u64) {
        let mut w = [0u64; REPORT_WORDS];
        w[R_SEQ] = seq;
        w[R_CODE] = u64::from(code);
        w[R_STATUS] = u64::from(report.status.code());
        w[R_ORDERS] = u64::from(report.orders_canceled);
        w[R_CONDITIONAL] = u64::from(report.conditional_canceled);
        w[R_CLOSED] = u64::from(report.positions_closed);
        w[R_LEFT_OPEN] = u64::from(report.positions_left_open);
        w[R_COMPLETED_NS] = now_ns;
        let msg = truncate_utf8(&report.message, COMMAND_MESSAGE_BYTES);
        w[R_MSG_LEN] = msg.len() as u64;
        let mut bytes = [0u8; COMMAND_MESSAGE_BYTES];
        bytes[..msg.len()].copy_from_slice(msg.as_bytes());
        for (dst, chunk) in w[R_MSG..].iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *dst = u64::from_le_bytes(b);
        }
        // Single writer: only the executor completes commands.
        publish_words(&self.report_seq, &self.report, &w);
    }

    fn reported_seq(&self) -> Option<u64> {
        read_words(&self.report_seq, &self.report).map(|w| w[R_SEQ])
    }

    /// The latest report, read whole (`None` if none yet or being written).
    pub(crate) fn last_report(&self) -> Option<CompletedCommand> {
        let w = read_words(&self.report_seq, &self.report)?;
        let mut bytes = [0u8; COMMAND_MESSAGE_BYTES];
        for (chunk, v) in bytes.chunks_exact_mut(8).zip(&w[R_MSG..]) {
            chunk.copy_from_slice(&v.to_le_bytes());
        }
        let len = (w[R_MSG_LEN] as usize).min(COMMAND_MESSAGE_BYTES);
        let count = |i: usize| u32::try_from(w[i]).unwrap_or(u32::MAX);
        Some(CompletedCommand {
            seq: w[R_SEQ],
            command: Command::from_code((w[R_CODE] & 0xF) as u8),
            completed_ns: w[R_COMPLETED_NS],
            report: CommandReport {
                // An unknown status is not trusted as success.
                status: CommandStatus::from_code((w[R_STATUS] & 0xFF) as u8)
                    .unwrap_or(CommandStatus::Failed),
                orders_canceled: count(R_ORDERS),
                conditional_canceled: count(R_CONDITIONAL),
                positions_closed: count(R_CLOSED),
                positions_left_open: count(R_LEFT_OPEN),
                message: String::from_utf8_lossy(&bytes[..len]).into_owned(),
            },
        })
    }

    /// The report of `seq`, if it is the latest one published.
    pub(crate) fn report(&self, seq: u64) -> Option<CommandReport> {
        self.last_report()
            .filter(|c| c.seq == seq && seq != 0)
            .map(|c| c.report)
    }

    /// A view of the mailbox at `now_mono_ns`.
    pub(crate) fn snapshot(&self, now_mono_ns: u64) -> MailboxSnapshot {
        let r = self.load();
        MailboxSnapshot {
            seq: r.seq,
            command: Command::from_code(r.code),
            phase: match r.phase {
                PHASE_POSTED => CommandPhase::Pending,
                PHASE_TAKEN => CommandPhase::Executing,
                PHASE_DONE => CommandPhase::Completed,
                _ => CommandPhase::Empty,
            },
            lease_left: r.lease_left(now_mono_ns),
            // Relaxed: ordered by the Acquire in `load`.
            taker_pid: if r.phase == PHASE_POSTED || r.phase == PHASE_EMPTY {
                0
            } else {
                self.taker_pid.load(Ordering::Relaxed)
            },
            last_report: self.last_report(),
        }
    }
}

fn phase_name(p: u64) -> &'static str {
    match p {
        PHASE_POSTED => "pending",
        PHASE_TAKEN => "executing",
        PHASE_DONE => "completed",
        _ => "empty",
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut n = max;
    while !s.is_char_boundary(n) {
        n -= 1;
    }
    &s[..n]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Arc, Barrier};

    const S: u64 = 1_000_000_000;
    const LEASE: Duration = Duration::from_secs(5);

    fn me() -> u32 {
        std::process::id()
    }

    fn report(n: u32, msg: &str) -> CommandReport {
        CommandReport {
            status: CommandStatus::Done,
            orders_canceled: n,
            conditional_canceled: n + 1,
            positions_closed: n + 2,
            positions_left_open: n + 3,
            message: msg.to_string(),
        }
    }

    #[test]
    fn request_word_round_trips() {
        let r = Req {
            phase: PHASE_TAKEN,
            code: 5,
            seq: SEQ_MAX,
            lease_s: u64::from(u32::MAX),
        };
        assert_eq!(Req::unpack(r.pack()), r);
        for c in [
            Command::StopEntries,
            Command::Resume,
            Command::Flatten,
            Command::KillSwitch { on: false },
            Command::KillSwitch { on: true },
        ] {
            assert_eq!(Command::from_code(c.code()), Some(c));
            assert!(c.code() != 0 && c.code() < 16);
        }
        assert_eq!(Command::from_code(0), None);
        for s in [
            CommandStatus::Done,
            CommandStatus::Refused,
            CommandStatus::Failed,
        ] {
            assert_eq!(CommandStatus::from_code(s.code()), Some(s));
        }
    }

    #[test]
    fn post_take_complete_round_trip() {
        let m = Mailbox::new();
        assert_eq!(m.snapshot(0).phase, CommandPhase::Empty);
        assert_eq!(m.take(0, me(), 0), None);
        let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
        assert_eq!(seq, 1);
        assert!(m.waiting(0));
        let snap = m.snapshot(100 * S);
        assert_eq!(
            (snap.phase, snap.command),
            (CommandPhase::Pending, Some(Command::Flatten))
        );
        assert_eq!(snap.lease_left, LEASE);
        assert_eq!(m.report(seq), None);
        assert_eq!(m.take(0, me(), 0), Some((1, Command::Flatten)));
        // Taken: the executor passes the seq it is working on and is not handed it again.
        assert!(!m.waiting(1));
        assert_eq!(m.take(1, me(), 0), None);
        assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Executing);
        assert_eq!(m.snapshot(100 * S).taker_pid, me());
        m.complete(1, &report(2, "closed BTCUSDT"), 7).unwrap();
        assert_eq!(m.report(1), Some(report(2, "closed BTCUSDT")));
        let snap = m.snapshot(100 * S);
        assert_eq!(snap.phase, CommandPhase::Completed);
        let last = snap.last_report.unwrap();
        assert_eq!(
            (last.seq, last.command, last.completed_ns),
            (1, Some(Command::Flatten), 7)
        );
        // Completing twice is an error; nothing is pending any more.
        assert!(matches!(
            m.complete(1, &report(0, ""), 8),
            Err(ShmError::CommandNotPending { .. })
        ));
        assert_eq!(m.take(0, me(), 0), None);
        // The next post gets the next sequence number.
        assert_eq!(m.post(Command::Resume, LEASE, 101 * S).unwrap(), 2);
    }

    #[test]
    fn pending_command_blocks_posts_until_its_lease_expires_then_is_superseded() {
        let m = Mailbox::new();
        let seq = m.post(Command::StopEntries, LEASE, 100 * S).unwrap();
        let e = m.post(Command::Flatten, LEASE, 104 * S).unwrap_err();
        assert!(matches!(e, ShmError::CommandBusy { seq: 1, .. }), "{e}");
        assert!(e.to_string().contains("stop-entries"), "{e}");
        assert!(e.to_string().contains("not taken"), "{e}");
        // Nobody took it (executor down): still pending, and still executable...
        assert!(m.waiting(0));
        // ...until a post after its lease replaces it.
        let seq2 = m.post(Command::Flatten, LEASE, 105 * S).unwrap();
        assert_eq!(seq2, seq + 1);
        assert_eq!(m.take(0, me(), 0), Some((seq2, Command::Flatten)));
    }

    #[test]
    fn taken_command_by_a_live_executor_stays_busy_past_its_lease() {
        let m = Mailbox::new();
        let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
        m.take(0, me(), 0).unwrap();
        let e = m.post(Command::Resume, LEASE, 1000 * S).unwrap_err();
        assert!(e.to_string().contains("being executed"), "{e}");
        m.complete(seq, &report(0, "ok"), 1).unwrap();
        m.post(Command::Resume, LEASE, 1000 * S).unwrap();
    }

    #[test]
    fn command_taken_by_a_dead_executor_is_taken_again_or_superseded_after_the_lease() {
        let m = Mailbox::new();
        let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
        // Taken by a process that is not alive (pid beyond pid_max).
        assert_eq!(m.take(0, u32::MAX - 1, 0), Some((seq, Command::Flatten)));
        // Within the lease: busy (its restart will resume it).
        let e = m.post(Command::Resume, LEASE, 101 * S).unwrap_err();
        assert!(e.to_string().contains("died"), "{e}");
        // The restarted executor (after_seq 0) is handed the same command again.
        assert_eq!(m.take(0, u32::MAX - 1, 0), Some((seq, Command::Flatten)));
        // Past the lease with the taker still dead, a new post may replace it.
        assert_eq!(m.post(Command::Resume, LEASE, 106 * S).unwrap(), seq + 1);
    }

    #[test]
    fn executor_that_died_after_reporting_is_not_asked_to_run_the_command_again() {
        let m = Mailbox::new();
        let seq = m.post(Command::Flatten, LEASE, 100 * S).unwrap();
        m.take(0, me(), 0).unwrap();
        // Report published, then death before the DONE transition.
        m.write_report(seq, Command::Flatten.code(), &report(1, "flat"), 5);
        assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Executing);
        assert_eq!(m.take(0, me(), 0), None);
        assert_eq!(m.snapshot(100 * S).phase, CommandPhase::Completed);
        assert_eq!(m.report(seq), Some(report(1, "flat")));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let m = Mailbox::new();
        let seq = m.post(Command::Flatten, LEASE, 0).unwrap();
        m.take(0, me(), 0).unwrap();
        // 'é' is two bytes: 101 of them are 202 bytes; the cut must not split one.
        let long = "é".repeat(101);
        m.complete(seq, &report(0, &long), 1).unwrap();
        let got = m.report(seq).unwrap().message;
        assert_eq!(got, "é".repeat(100));
        assert_eq!(truncate_utf8("abc", 2), "ab");
        assert_eq!(truncate_utf8("", 2), "");
    }

    /// Many threads post at once, again and again: each round exactly one wins and
    /// every other one is told the mailbox is busy with the winner's command.
    #[test]
    fn racing_posters_exactly_one_wins() {
        const POSTERS: usize = 8;
        const ROUNDS: usize = 200;
        let m = Arc::new(Mailbox::new());
        let barrier = Arc::new(Barrier::new(POSTERS + 1));
        let handles: Vec<_> = (0..POSTERS)
            .map(|i| {
                let (m, barrier) = (m.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let cmd = if i % 2 == 0 {
                        Command::Flatten
                    } else {
                        Command::StopEntries
                    };
                    let mut wins = Vec::new();
                    for _ in 0..ROUNDS {
                        barrier.wait();
                        match m.post(cmd, LEASE, 100 * S) {
                            Ok(seq) => wins.push(seq),
                            Err(ShmError::CommandBusy { .. }) => {}
                            Err(e) => panic!("unexpected {e}"),
                        }
                        barrier.wait();
                    }
                    wins
                })
            })
            .collect();
        for round in 0..ROUNDS as u64 {
            barrier.wait();
            barrier.wait();
            // All posters are done with this round: exactly one command is pending.
            let (seq, _) = m.take(0, me(), 0).expect("one command posted");
            assert_eq!(seq, round + 1);
            m.complete(seq, &report(0, ""), 0).unwrap();
        }
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (1..=ROUNDS as u64).collect::<Vec<_>>());
    }

    /// The executor completes commands as fast as it can, each with a report whose
    /// counts and message are derived from its sequence number; a reader polling on
    /// another thread must only ever see whole reports (never counts of one command
    /// with the message of another, never half a message).
    #[test]
    fn racing_reader_never_sees_a_torn_report() {
        fn expected(seq: u64) -> CommandReport {
            let c = (seq % 50_000) as u32;
            // Messages of varying length and content, some at the size limit.
            let ch = char::from(b'a' + (seq % 26) as u8);
            let len = (seq as usize * 37) % (COMMAND_MESSAGE_BYTES + 1);
            CommandReport {
                status: CommandStatus::Done,
                orders_canceled: c,
                conditional_canceled: c.wrapping_mul(3),
                positions_closed: c ^ 0x55,
                positions_left_open: c / 2,
                message: std::iter::repeat_n(ch, len).collect(),
            }
        }
        let m = Arc::new(Mailbox::new());
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (m, stop) = (m.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let seq = m.post(Command::Flatten, LEASE, 0).unwrap();
                    let (s, _) = m.take(0, me(), 0).unwrap();
                    assert_eq!(s, seq);
                    m.complete(seq, &expected(seq), seq).unwrap();
                    n += 1;
                }
                n
            })
        };
        let (mut checked, mut last) = (0u64, 0u64);
        let t0 = std::time::Instant::now();
        while checked < 20_000 && t0.elapsed() < Duration::from_secs(20) {
            if let Some(c) = m.last_report() {
                assert_eq!(c.report, expected(c.seq), "torn report at seq {}", c.seq);
                assert_eq!(c.completed_ns, c.seq);
                assert!(c.seq >= last || last >= SEQ_MAX - 1, "went backwards");
                last = c.seq;
                checked += 1;
            }
        }
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(
            checked > 0 && written > 1,
            "checked {checked} written {written}"
        );
    }
}
