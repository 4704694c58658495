//! Control-plane commands (`shmtrader flatten`, `stop-entries`, `resume`): post a
//! [`Command`] to the executor through the control segment's mailbox and wait for its
//! report.
//!
//! The executor is the only writer of orders and of the journal, so the CLI never
//! touches the venue itself: it asks, and reports what the executor says it did. A
//! command nobody takes within the timeout (executor down) is *not* withdrawn: it stays
//! pending and runs when the executor comes back, unless a newer command replaces it;
//! the timeout message says so and what state the executor is in.

use crate::error::{Result, StageError};
use crate::runtime::stage_idx;
use shmtrader_shm::clock::mono_ns;
use shmtrader_shm::{
    Command, CommandPhase, CommandReport, CommandStatus, CompletedCommand, Control, Instance,
    ShmError, StageState,
};
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Default time to wait for the executor's report.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a waiting poster looks at the mailbox.
const POLL: Duration = Duration::from_millis(5);

/// Exit code: the executor carried the command out.
pub const EXIT_DONE: i32 = 0;
/// Exit code: the executor refused the command or it failed.
pub const EXIT_REFUSED_OR_FAILED: i32 = 1;
/// Exit code: no report within the timeout (or the command was replaced).
pub const EXIT_NO_REPORT: i32 = 3;

/// How a posted command ended for the poster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The executor answered.
    Reported(CommandReport),
    /// No report within the timeout.
    TimedOut {
        /// Where the command was when the poster gave up.
        phase: CommandPhase,
        /// The executor stage's state, for the message.
        executor: String,
    },
    /// The mailbox moved on to another command and this one's report is not there.
    Superseded {
        /// The mailbox's latest command now.
        by_seq: u64,
        /// What it is.
        by: Option<Command>,
    },
}

/// A posted command and how it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandResult {
    /// Instance name.
    pub instance: String,
    /// The command.
    pub command: Command,
    /// Its sequence number in the mailbox.
    pub seq: u64,
    /// How long the poster waited.
    pub waited: Duration,
    /// The timeout it had.
    pub timeout: Duration,
    /// The end.
    pub outcome: Outcome,
}

impl CommandResult {
    /// Process exit code: [`EXIT_DONE`], [`EXIT_REFUSED_OR_FAILED`] or
    /// [`EXIT_NO_REPORT`].
    pub fn exit_code(&self) -> i32 {
        match &self.outcome {
            Outcome::Reported(r) if r.status == CommandStatus::Done => EXIT_DONE,
            Outcome::Reported(_) => EXIT_REFUSED_OR_FAILED,
            Outcome::TimedOut { .. } | Outcome::Superseded { .. } => EXIT_NO_REPORT,
        }
    }

    /// One line saying why the exit code is not 0 (`None` when done).
    pub fn failure_reason(&self) -> Option<String> {
        let what = format!(
            "{} (command {}) on instance {}",
            self.command, self.seq, self.instance
        );
        match &self.outcome {
            Outcome::Reported(r) if r.status == CommandStatus::Done => None,
            Outcome::Reported(r) => Some(format!(
                "{what} was {} by the executor: {}",
                r.status.as_str(),
                if r.message.is_empty() {
                    "(no message)"
                } else {
                    &r.message
                }
            )),
            Outcome::TimedOut { phase, .. } => Some(format!(
                "{what}: no report from the executor within {:.0} s ({})",
                self.timeout.as_secs_f64(),
                match phase {
                    CommandPhase::Executing => "it is still executing",
                    _ => "it was not taken; it stays pending",
                }
            )),
            Outcome::Superseded { by_seq, .. } => Some(format!(
                "{what}: replaced by command {by_seq} and no report is available"
            )),
        }
    }

    /// The human-readable report the CLI prints.
    pub fn render(&self) -> String {
        let mut out = format!(
            "{} (command {}) on instance {}: ",
            self.command, self.seq, self.instance
        );
        match &self.outcome {
            Outcome::Reported(r) => {
                let _ = writeln!(
                    out,
                    "{} after {:.1} s",
                    r.status.as_str().to_uppercase(),
                    self.waited.as_secs_f64()
                );
                out.push_str(&report_lines(r));
            }
            Outcome::TimedOut { phase, executor } => {
                let _ = writeln!(out, "NO REPORT within {:.0} s", self.timeout.as_secs_f64());
                match phase {
                    CommandPhase::Executing => {
                        let _ = writeln!(
                            out,
                            "  the executor took the command and is still working on it; it \
                             finishes on its own (see `shmtrader status --instance {}`)",
                            self.instance
                        );
                    }
                    _ => {
                        let _ = writeln!(
                            out,
                            "  the executor did not take the command ({executor})\n  the \
                             command stays pending and runs when the executor takes it, \
                             unless a newer command replaces it"
                        );
                    }
                }
            }
            Outcome::Superseded { by_seq, by } => {
                let _ = writeln!(
                    out,
                    "NO REPORT: the mailbox moved on to command {by_seq} ({}) and this \
                     command's report is not available (it was replaced after its lease \
                     expired untaken, or completed and its report overwritten); see \
                     `shmtrader status --instance {}`",
                    by.map_or("unknown", Command::as_str),
                    self.instance
                );
            }
        }
        out
    }
}

/// Indented lines with a report's counts and message.
pub fn report_lines(r: &CommandReport) -> String {
    let mut out = format!(
        "  orders canceled {}  conditional orders canceled {}  positions closed {}  \
         positions left open {}\n",
        r.orders_canceled, r.conditional_canceled, r.positions_closed, r.positions_left_open
    );
    if !r.message.is_empty() {
        let _ = writeln!(out, "  {}", r.message);
    }
    out
}

/// Opens a running instance for a control command: a clear error naming the instance
/// if it has no segments, was made by another build, or its launcher is gone.
pub fn open_running(instance: &str) -> Result<Instance> {
    let valid = !instance.is_empty()
        && instance
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(StageError::NotRunning {
            instance: instance.to_string(),
            reason: "not a valid instance name ([A-Za-z0-9_-])".into(),
        });
    }
    let inst = Instance::open(instance).map_err(|e| StageError::NotRunning {
        instance: instance.to_string(),
        reason: match e {
            ShmError::Open { .. } => format!(
                "no shared-memory segments /dev/shm/shmtrader-{instance}-* (start it with \
                 `shmtrader run --instance {instance}`)"
            ),
            other => format!("its shared memory cannot be used: {other}"),
        },
    })?;
    if !inst.control.owner_alive() {
        return Err(StageError::NotRunning {
            instance: instance.to_string(),
            reason: format!(
                "its launcher (pid {}) is gone; the segments are stale and no executor runs",
                inst.control.owner_pid()
            ),
        });
    }
    Ok(inst)
}

/// What the executor stage is doing, in words (for "not taken" messages).
pub fn executor_state(ctl: &Control) -> String {
    let Some(slot) = ctl.stage(stage_idx::EXECUTOR) else {
        return "the instance has no executor slot".into();
    };
    let pid = slot.pid.load(Ordering::Acquire);
    let state = slot.state();
    let age_ms = mono_ns().saturating_sub(slot.heartbeat_ns.load(Ordering::Acquire)) / 1_000_000;
    let mut s = match state {
        StageState::Down if pid == 0 => "the executor never started".to_string(),
        StageState::Running | StageState::Starting => format!(
            "the executor (pid {pid}) is {}, last heartbeat {age_ms} ms ago",
            state.as_str()
        ),
        other => format!("the executor is {} (pid {pid})", other.as_str()),
    };
    let restarts = slot.restarts.load(Ordering::Relaxed);
    if restarts > 0 {
        let _ = write!(s, ", {restarts} restarts");
    }
    let reason = slot.reason();
    if !reason.is_empty() {
        let _ = write!(s, ", last failure: {reason}");
    }
    s
}

/// Posts `cmd` (with a lease of `timeout`, so it blocks other posters only while we
/// wait) and waits up to `timeout` for the executor's report.
///
/// # Errors
/// [`StageError::CommandRejected`] if the mailbox is busy with another command.
pub fn post_and_wait(inst: &Instance, cmd: Command, timeout: Duration) -> Result<CommandResult> {
    let ctl = &inst.control;
    let seq =
        ctl.post_command_with_lease(cmd, timeout)
            .map_err(|cause| StageError::CommandRejected {
                instance: inst.name.clone(),
                command: cmd.as_str(),
                cause,
            })?;
    let t0 = Instant::now();
    let outcome = wait_report(ctl, seq, timeout);
    Ok(CommandResult {
        instance: inst.name.clone(),
        command: cmd,
        seq,
        waited: t0.elapsed(),
        timeout,
        outcome,
    })
}

/// Waits up to `timeout` for the report of command `seq`.
pub fn wait_report(ctl: &Control, seq: u64, timeout: Duration) -> Outcome {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(r) = ctl.command_report(seq) {
            return Outcome::Reported(r);
        }
        let m = ctl.mailbox();
        if m.seq != seq {
            // The report may have landed between the two reads.
            if let Some(r) = ctl.command_report(seq) {
                return Outcome::Reported(r);
            }
            return Outcome::Superseded {
                by_seq: m.seq,
                by: m.command,
            };
        }
        if Instant::now() >= deadline {
            return Outcome::TimedOut {
                phase: m.phase,
                executor: executor_state(ctl),
            };
        }
        std::thread::sleep(POLL);
    }
}

/// One line for a completed command (status text).
pub fn completed_line(c: &CompletedCommand) -> String {
    format!(
        "#{} {}: {}",
        c.seq,
        c.command.map_or("unknown", Command::as_str),
        c.report.status.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(outcome: Outcome) -> CommandResult {
        CommandResult {
            instance: "paper".into(),
            command: Command::Flatten,
            seq: 7,
            waited: Duration::from_millis(1500),
            timeout: DEFAULT_TIMEOUT,
            outcome,
        }
    }

    /// Exit codes and texts per outcome, table-driven.
    #[test]
    fn outcomes_map_to_exit_codes_and_name_the_reason() {
        let mut refused = CommandReport::new(CommandStatus::Refused, "already flat");
        refused.positions_left_open = 0;
        let mut done = CommandReport::new(CommandStatus::Done, "closed BTCUSDT");
        done.orders_canceled = 2;
        done.conditional_canceled = 1;
        done.positions_closed = 1;
        struct Case {
            outcome: Outcome,
            code: i32,
            text: &'static str,
            reason: Option<&'static str>,
        }
        let cases = [
            // Done: exit 0, counts and message printed.
            Case {
                outcome: Outcome::Reported(done),
                code: 0,
                text: "orders canceled 2  conditional orders canceled 1  positions closed 1",
                reason: None,
            },
            // Refused: exit 1, the executor's message is the reason.
            Case {
                outcome: Outcome::Reported(refused),
                code: 1,
                text: "REFUSED",
                reason: Some("refused by the executor: already flat"),
            },
            // Never taken: exit 3, says it stays pending and why.
            Case {
                outcome: Outcome::TimedOut {
                    phase: CommandPhase::Pending,
                    executor: "the executor is failed (pid 0)".into(),
                },
                code: 3,
                text: "stays pending",
                reason: Some("not taken"),
            },
            // Taken but slow: exit 3, says it is still executing.
            Case {
                outcome: Outcome::TimedOut {
                    phase: CommandPhase::Executing,
                    executor: String::new(),
                },
                code: 3,
                text: "still working on it",
                reason: Some("still executing"),
            },
            // Replaced: exit 3.
            Case {
                outcome: Outcome::Superseded {
                    by_seq: 8,
                    by: Some(Command::Resume),
                },
                code: 3,
                text: "command 8 (resume)",
                reason: Some("replaced by command 8"),
            },
        ];
        for c in cases {
            let r = result(c.outcome);
            assert_eq!(r.exit_code(), c.code, "{r:?}");
            let text = r.render();
            assert!(text.contains(c.text), "{text}");
            assert!(
                text.starts_with("flatten (command 7) on instance paper"),
                "{text}"
            );
            match (c.reason, r.failure_reason()) {
                (None, None) => {}
                (Some(want), Some(got)) => assert!(got.contains(want), "{got}"),
                (want, got) => panic!("reason {want:?} vs {got:?}"),
            }
        }
    }

    struct Gone(String);
    impl Drop for Gone {
        fn drop(&mut self) {
            let _ = Instance::remove(&self.0);
        }
    }

    fn live_instance(tag: &str) -> (Instance, Gone) {
        let name = format!("unit-cmd-{}-{tag}", std::process::id());
        let caps = shmtrader_shm::Capacities {
            ticks: 16,
            book: 16,
            signals: 16,
            outcomes: 16,
            mark: 16,
            bars: 16,
        };
        let (inst, _) = Instance::create(&name, &[], caps, 0).unwrap();
        (inst, Gone(name))
    }

    /// The whole round trip against a real instance: the CLI side posts and waits, a
    /// thread plays the executor.
    #[test]
    fn posted_command_is_answered_by_the_executor_and_reported() {
        let (inst, _g) = live_instance("ok");
        let opened = open_running(&inst.name).unwrap();
        let exec = {
            let ctl = inst.control.clone();
            std::thread::spawn(move || loop {
                if let Some((seq, cmd)) = ctl.pending_command(0) {
                    assert_eq!(cmd, Command::Flatten);
                    let mut r = CommandReport::new(CommandStatus::Done, "flat");
                    r.positions_closed = 2;
                    ctl.complete_command(seq, &r).unwrap();
                    return;
                }
                std::thread::sleep(Duration::from_millis(2));
            })
        };
        let res = post_and_wait(&opened, Command::Flatten, Duration::from_secs(20)).unwrap();
        exec.join().unwrap();
        assert_eq!(res.exit_code(), EXIT_DONE, "{}", res.render());
        let Outcome::Reported(r) = &res.outcome else {
            panic!("{res:?}")
        };
        assert_eq!((r.positions_closed, r.message.as_str()), (2, "flat"));
    }

    #[test]
    fn command_nobody_takes_times_out_and_stays_pending() {
        let (inst, _g) = live_instance("timeout");
        let res = post_and_wait(&inst, Command::StopEntries, Duration::from_millis(200)).unwrap();
        assert_eq!(res.exit_code(), EXIT_NO_REPORT);
        assert!(
            matches!(
                res.outcome,
                Outcome::TimedOut {
                    phase: CommandPhase::Pending,
                    ..
                }
            ),
            "{res:?}"
        );
        assert!(
            res.render().contains("executor never started"),
            "{}",
            res.render()
        );
        // Still there for the executor.
        assert_eq!(
            inst.control.pending_command(0),
            Some((res.seq, Command::StopEntries))
        );
    }

    #[test]
    fn command_taken_but_not_finished_in_time_says_it_is_executing() {
        let (inst, _g) = live_instance("slow");
        let ctl = inst.control.clone();
        let exec = std::thread::spawn(move || loop {
            if ctl.pending_command(0).is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        });
        let res = post_and_wait(&inst, Command::Flatten, Duration::from_millis(300)).unwrap();
        exec.join().unwrap();
        assert!(
            matches!(
                res.outcome,
                Outcome::TimedOut {
                    phase: CommandPhase::Executing,
                    ..
                }
            ),
            "{res:?}"
        );
        // A second poster is refused with the reason.
        let e = post_and_wait(&inst, Command::Resume, Duration::from_millis(100))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("being executed") && e.contains(&inst.name),
            "{e}"
        );
    }

    #[test]
    fn instance_that_does_not_exist_is_named_in_the_error() {
        let name = format!("nosuch-{}", std::process::id());
        let e = open_running(&name).unwrap_err().to_string();
        assert!(e.contains(&name) && e.contains("not running"), "{e}");
        let e = open_running("../etc").unwrap_err().to_string();
        assert!(e.contains("valid instance name"), "{e}");
    }
}
