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
mod tests;
