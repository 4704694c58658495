//! `shmtrader bench ring`: the shared-memory ring against a Unix domain socket, between
//! two pinned processes.
//!
//! Latency is one-way: the producer stamps `now_ns()` (CLOCK_REALTIME through the vDSO,
//! the same clock in both processes) just before publishing, the consumer reads the
//! clock right after the record arrives; the cost of one clock read (~20 ns) is
//! included. Each latency sample is an idle-to-received hop: the producer pauses
//! between records so the consumer is waiting (spinning, asleep on the futex, or
//! blocked in `read`) when the record comes. Throughput is sustained and lossless: the
//! producer never runs more than half a ring ahead of the consumer's committed cursor,
//! and every record is checked for order and content — a run that loses or corrupts a
//! record is an error, not a number.

use crate::error::{BenchError, Result};
use crate::{percentiles, BenchOptions, Row};
use shmtrader_core::Tick;
use shmtrader_shm::clock::{mono_ns, now_ns, pin_to_cpu};
use shmtrader_shm::control::Control;
use shmtrader_shm::ring::{ring_bytes, Consumer, CursorStore, Producer, Read, Ring};
use shmtrader_shm::Segment;
use std::io::{BufReader, Read as IoRead, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

const CAPACITY: u64 = 1 << 16;
const CHECK: u64 = 0x5DEE_CE66_D1CE_4E5B;
const WARMUP: usize = 1_000;

fn record(seq: u64) -> Tick {
    Tick {
        agg_id: seq,
        last_trade_id: seq ^ CHECK,
        price: seq as f64,
        ..Tick::default()
    }
}

fn valid(seq: u64, t: &Tick) -> bool {
    t.agg_id == seq && t.last_trade_id == seq ^ CHECK && t.price == seq as f64
}

struct Segs {
    ring: String,
    ctl: String,
}

impl Drop for Segs {
    fn drop(&mut self) {
        let _ = Segment::unlink(&self.ring);
        let _ = Segment::unlink(&self.ctl);
    }
}

fn setup(tag: &str) -> Result<(Segs, Ring<Tick>, Control)> {
    let segs = Segs {
        ring: format!("/shmtrader-bench-{}-{tag}-ring", std::process::id()),
        ctl: format!("/shmtrader-bench-{}-{tag}-ctl", std::process::id()),
    };
    let _ = Segment::unlink(&segs.ring);
    let _ = Segment::unlink(&segs.ctl);
    let ring = Ring::create(
        Arc::new(Segment::create(&segs.ring, ring_bytes::<Tick>(CAPACITY))?),
        CAPACITY,
    )?;
    let ctl = Control::create(
        Arc::new(Segment::create(&segs.ctl, Control::bytes())?),
        "bench",
        &[],
        0,
    )?;
    Ok((segs, ring, ctl))
}

fn spawn(exe: &Path, args: &[String]) -> Result<Child> {
    Command::new(exe)
        .arg("bench-child")
        .args(args)
        .spawn()
        .map_err(|e| BenchError::io(format!("starting {} bench-child", exe.display()), e))
}

fn reap(mut child: Child) -> Result<()> {
    let st = child
        .wait()
        .map_err(|e| BenchError::io("waiting for the producer", e))?;
    if st.success() {
        Ok(())
    } else {
        Err(BenchError::Invalid(format!(
            "producer process failed: {st}"
        )))
    }
}

fn pin(cpu: usize, who: &str) -> bool {
    match pin_to_cpu(cpu) {
        Ok(()) => true,
        Err(e) => {
            eprintln!("bench: cannot pin {who} to cpu {cpu}: {e}; running unpinned");
            false
        }
    }
}

fn pause_ns(ns: u64) {
    let end = mono_ns() + ns;
    while mono_ns() < end {
        std::hint::spin_loop();
    }
}

/// How the consumer waits in a latency run.
#[derive(Clone, Copy, PartialEq)]
enum Wait {
    Spin,
    Futex,
}

fn ring_latency(
    exe: &Path,
    opts: &BenchOptions,
    wait: Wait,
    n: u64,
    gap_ns: u64,
) -> Result<Vec<f64>> {
    let tag = if wait == Wait::Spin { "spin" } else { "futex" };
    let (segs, ring, ctl) = setup(tag)?;
    let go = ctl.cursor_ref(1, 0)?;
    let child = spawn(
        exe,
        &[
            "ring".into(),
            segs.ring.clone(),
            segs.ctl.clone(),
            "latency".into(),
            n.to_string(),
            gap_ns.to_string(),
            opts.cpus.0.to_string(),
        ],
    )?;
    pin(opts.cpus.1, "consumer");
    let mut c = Consumer::new(ring, CursorStore::Private(0));
    let mut samples = Vec::with_capacity(n as usize);
    // Release: pairs with the producer's Acquire spin on the go flag.
    go.cursor.store(1, Ordering::Release);
    let mut expect = 0u64;
    while expect < n {
        match c.read() {
            Read::Record(seq, t) => {
                let now = now_ns();
                if !valid(seq, &t) || seq != expect {
                    return Err(BenchError::Invalid(format!(
                        "record {seq} corrupt or out of order"
                    )));
                }
                samples.push(now.saturating_sub(t.publish_ts_ns) as f64);
                expect += 1;
            }
            Read::Gap(g) => {
                return Err(BenchError::Invalid(format!("latency run lost {g} records")))
            }
            Read::Empty => {
                if wait == Wait::Futex {
                    c.wait(0, false, Duration::from_millis(200));
                } else {
                    std::hint::spin_loop();
                }
            }
        }
    }
    reap(child)?;
    drop(segs);
    Ok(samples.split_off(WARMUP.min(samples.len() / 10)))
}

fn ring_throughput(exe: &Path, opts: &BenchOptions, n: u64) -> Result<f64> {
    let (segs, ring, ctl) = setup("tput")?;
    let go = ctl.cursor_ref(1, 0)?;
    let child = spawn(
        exe,
        &[
            "ring".into(),
            segs.ring.clone(),
            segs.ctl.clone(),
            "throughput".into(),
            n.to_string(),
            "0".into(),
            opts.cpus.0.to_string(),
        ],
    )?;
    pin(opts.cpus.1, "consumer");
    let mut c = Consumer::new(ring, CursorStore::Shared(ctl.cursor_ref(0, 0)?));
    go.cursor.store(1, Ordering::Release);
    let mut expect = 0u64;
    let mut t0 = 0u64;
    while expect < n {
        match c.read() {
            Read::Record(seq, t) => {
                if seq != expect || !valid(seq, &t) {
                    return Err(BenchError::Invalid(format!(
                        "record {seq} corrupt or out of order"
                    )));
                }
                if expect == 0 {
                    t0 = mono_ns();
                }
                expect += 1;
                if expect.is_multiple_of(1024) {
                    c.commit();
                }
            }
            Read::Gap(g) => {
                return Err(BenchError::Invalid(format!(
                    "throughput run lost {g} records"
                )))
            }
            Read::Empty => {
                c.commit();
                std::hint::spin_loop();
            }
        }
    }
    let dt = mono_ns().saturating_sub(t0).max(1);
    c.commit();
    reap(child)?;
    drop(segs);
    Ok((n - 1) as f64 * 1e9 / dt as f64)
}

fn sock_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("shmtrader-bench-{}-{tag}.sock", std::process::id()))
}

fn uds_accept(
    exe: &Path,
    opts: &BenchOptions,
    mode: &str,
    n: u64,
    gap_ns: u64,
) -> Result<(UnixStream, Child, PathBuf)> {
    let path = sock_path(mode);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .map_err(|e| BenchError::io(format!("binding {}", path.display()), e))?;
    let child = spawn(
        exe,
        &[
            "uds".into(),
            path.display().to_string(),
            mode.into(),
            n.to_string(),
            gap_ns.to_string(),
            opts.cpus.0.to_string(),
        ],
    )?;
    let (stream, _) = listener
        .accept()
        .map_err(|e| BenchError::io("accepting the producer", e))?;
    pin(opts.cpus.1, "consumer");
    Ok((stream, child, path))
}

fn uds_latency(exe: &Path, opts: &BenchOptions, n: u64, gap_ns: u64) -> Result<Vec<f64>> {
    let (mut s, child, path) = uds_accept(exe, opts, "latency", n, gap_ns)?;
    let mut samples = Vec::with_capacity(n as usize);
    let mut buf = [0u8; 64];
    for i in 0..n {
        s.read_exact(&mut buf)
            .map_err(|e| BenchError::io("reading from the socket", e))?;
        let now = now_ns();
        let ts = u64::from_le_bytes(buf[0..8].try_into().unwrap_or_default());
        let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
        if seq != i {
            return Err(BenchError::Invalid(format!(
                "socket message {seq}, expected {i}"
            )));
        }
        samples.push(now.saturating_sub(ts) as f64);
    }
    reap(child)?;
    let _ = std::fs::remove_file(path);
    Ok(samples.split_off(WARMUP.min(samples.len() / 10)))
}

fn uds_throughput(exe: &Path, opts: &BenchOptions, n: u64) -> Result<f64> {
    let (s, child, path) = uds_accept(exe, opts, "throughput", n, 0)?;
    let mut r = BufReader::with_capacity(1 << 16, s);
    let mut buf = [0u8; 64];
    let mut t0 = 0;
    for i in 0..n {
        r.read_exact(&mut buf)
            .map_err(|e| BenchError::io("reading from the socket", e))?;
        if i == 0 {
            t0 = mono_ns();
        }
        let seq = u64::from_le_bytes(buf[8..16].try_into().unwrap_or_default());
        if seq != i {
            return Err(BenchError::Invalid(format!(
                "socket message {seq}, expected {i}"
            )));
        }
    }
    let dt = mono_ns().saturating_sub(t0).max(1);
    reap(child)?;
    let _ = std::fs::remove_file(path);
    Ok((n - 1) as f64 * 1e9 / dt as f64)
}

fn lat_row(name: &str, mut s: Vec<f64>) -> Row {
    Row::latency(name, "ns", &mut s, None, None)
}

fn median(mut v: Vec<f64>) -> f64 {
    percentiles(&mut v).0
}

/// Runs the ring benchmark and returns its rows.
pub fn run(exe: &Path, opts: &BenchOptions) -> Result<Vec<Row>> {
    let q = opts.quick;
    let spin = ring_latency(
        exe,
        opts,
        Wait::Spin,
        if q { 20_000 } else { 200_000 },
        10_000,
    )?;
    let futex = ring_latency(
        exe,
        opts,
        Wait::Futex,
        if q { 3_000 } else { 20_000 },
        150_000,
    )?;
    let uds = uds_latency(exe, opts, if q { 5_000 } else { 50_000 }, 20_000)?;
    let runs = if q { 1 } else { 3 };
    let mut tput = Vec::new();
    let mut utput = Vec::new();
    for _ in 0..runs {
        tput.push(ring_throughput(
            exe,
            opts,
            if q { 2_000_000 } else { 20_000_000 },
        )?);
        utput.push(uds_throughput(
            exe,
            opts,
            if q { 200_000 } else { 2_000_000 },
        )?);
    }
    let uds_row = lat_row("uds.latency", uds);
    let mut spin_row = lat_row("ring.spin.latency", spin);
    let mut futex_row = lat_row("ring.futex.latency", futex);
    for r in [&mut spin_row, &mut futex_row] {
        r.baseline = Some("uds.latency".into());
        r.ratio = Some(uds_row.value / r.value.max(1e-9));
    }
    let (rt, ut) = (median(tput), median(utput));
    let tput_row = Row {
        name: "ring.throughput".into(),
        unit: "records/s".into(),
        value: rt,
        p99: None,
        p999: None,
        baseline: Some("uds.throughput".into()),
        ratio: Some(rt / ut.max(1e-9)),
        accuracy: None,
    };
    let uds_tput = Row {
        name: "uds.throughput".into(),
        unit: "records/s".into(),
        value: ut,
        p99: None,
        p999: None,
        baseline: None,
        ratio: None,
        accuracy: None,
    };
    Ok(vec![spin_row, futex_row, tput_row, uds_row, uds_tput])
}

fn arg<T: std::str::FromStr>(args: &[String], i: usize, what: &str) -> Result<T> {
    args.get(i)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| BenchError::Invalid(format!("bench-child: missing or bad {what}")))
}

/// Helper-process side: `ring <ring> <ctl> <latency|throughput> <n> <gap_ns> <cpu>` or
/// `uds <path> <latency|throughput> <n> <gap_ns> <cpu>`.
pub fn child(args: &[String]) -> Result<()> {
    let (kind, rest) = match args.split_first() {
        Some((k, rest)) => (k.as_str(), rest),
        None => return Err(BenchError::Invalid("bench-child: no arguments".into())),
    };
    if kind == "uds" {
        let path: String = arg(rest, 0, "socket path")?;
        let mode: String = arg(rest, 1, "mode")?;
        let n: u64 = arg(rest, 2, "count")?;
        let gap: u64 = arg(rest, 3, "gap")?;
        let cpu: usize = arg(rest, 4, "cpu")?;
        pin(cpu, "producer");
        let mut s = UnixStream::connect(&path)
            .map_err(|e| BenchError::io(format!("connecting {path}"), e))?;
        let mut msg = [0u8; 64];
        for i in 0..n {
            msg[8..16].copy_from_slice(&i.to_le_bytes());
            msg[0..8].copy_from_slice(&now_ns().to_le_bytes());
            s.write_all(&msg)
                .map_err(|e| BenchError::io("writing to the socket", e))?;
            if mode == "latency" {
                pause_ns(gap);
            }
        }
        return Ok(());
    }
    let ring_name: String = arg(rest, 0, "ring")?;
    let ctl_name: String = arg(rest, 1, "control")?;
    let mode: String = arg(rest, 2, "mode")?;
    let n: u64 = arg(rest, 3, "count")?;
    let gap: u64 = arg(rest, 4, "gap")?;
    let cpu: usize = arg(rest, 5, "cpu")?;
    pin(cpu, "producer");
    let ring: Ring<Tick> = Ring::attach(Arc::new(Segment::open(&ring_name)?))?;
    let ctl = Control::open(Arc::new(Segment::open(&ctl_name)?))?;
    let go = ctl.cursor_ref(1, 0)?;
    let cursor = ctl.cursor_ref(0, 0)?;
    let mut p = Producer::attach(ring)?;
    // Acquire: pairs with the consumer's Release store of the go flag.
    while go.cursor.load(Ordering::Acquire) == 0 {
        std::hint::spin_loop();
    }
    if mode == "latency" {
        for i in 0..n {
            let mut t = record(i);
            t.publish_ts_ns = now_ns();
            p.push(&t);
            pause_ns(gap);
        }
    } else {
        let half = CAPACITY / 2;
        let mut i = 0u64;
        // Flow control: never more than half a ring ahead of the committed cursor. The
        // cursor is re-read only when the cached allowance runs out, so the producer does
        // not pull the consumer's cache line on every record.
        let mut limit = 0u64;
        while i < n {
            if i >= limit {
                p.notify();
                limit = cursor.cursor.load(Ordering::Acquire) + half;
                if i >= limit {
                    std::hint::spin_loop();
                    continue;
                }
            }
            p.push_quiet(&record(i));
            i += 1;
            if i.is_multiple_of(256) {
                p.notify();
            }
        }
        p.notify();
    }
    Ok(())
}
