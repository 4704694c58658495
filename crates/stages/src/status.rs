//! `shmtrader status`: everything the control block knows, as JSON or a table.

use crate::runtime::{counter, fig, hist, mlfig, stage_idx};
use serde_json::{json, Map, Value};
use shmtrader_shm::clock::{mono_ns, now_ns};
use shmtrader_shm::control::Histogram;
use shmtrader_shm::{
    consumer_id, ring_id, Command, CommandPhase, CompletedCommand, Instance, MailboxSnapshot,
    RingInfo, StageState,
};
use std::sync::atomic::Ordering;

fn ring_info(inst: &Instance, r: usize) -> Option<RingInfo> {
    match r {
        ring_id::TICKS => Some(inst.ticks.info()),
        ring_id::BOOK => Some(inst.book.info()),
        ring_id::SIGNALS => Some(inst.signals.info()),
        ring_id::OUTCOMES => Some(inst.outcomes.info()),
        ring_id::MARK => Some(inst.mark.info()),
        _ => None,
    }
}

fn completed_json(c: &CompletedCommand, now_wall_ns: u64) -> Value {
    let r = &c.report;
    json!({
        "seq": c.seq,
        "command": c.command.map(Command::as_str),
        "status": r.status.as_str(),
        "orders_canceled": r.orders_canceled,
        "conditional_canceled": r.conditional_canceled,
        "positions_closed": r.positions_closed,
        "positions_left_open": r.positions_left_open,
        "message": r.message,
        "completed_ns": c.completed_ns,
        "age_s": now_wall_ns.saturating_sub(c.completed_ns) as f64 / 1e9,
    })
}

/// The `commands` section: the mailbox's latest command and the last report.
pub fn commands_json(m: &MailboxSnapshot, now_wall_ns: u64) -> Value {
    let latest = (m.phase != CommandPhase::Empty).then(|| {
        json!({
            "seq": m.seq,
            "command": m.command.map(Command::as_str),
            "state": m.phase.as_str(),
            "lease_left_s": m.lease_left.as_secs_f64(),
            "taker_pid": if m.taker_pid != 0 { json!(m.taker_pid) } else { Value::Null },
        })
    });
    json!({
        "latest": latest.unwrap_or(Value::Null),
        "last_report": m
            .last_report
            .as_ref()
            .map_or(Value::Null, |c| completed_json(c, now_wall_ns)),
    })
}

fn hist_json(h: &Histogram) -> Value {
    let n = h.count.load(Ordering::Relaxed);
    if n == 0 {
        return json!({"count": 0});
    }
    json!({
        "count": n,
        "mean_ns": h.sum.load(Ordering::Relaxed) / n,
        "p50_ns": h.quantile(0.5),
        "p99_ns": h.quantile(0.99),
        "p999_ns": h.quantile(0.999),
        "max_ns": h.max.load(Ordering::Relaxed),
    })
}

/// Builds the status document. `venue_rest_url` names the venue in use.
pub fn status_json(inst: &Instance, venue_rest_url: &str, ticks_per_sec: f64) -> Value {
    let ctl = &inst.control;
    let now = mono_ns();
    let mut stages = Map::new();
    for (i, name) in stage_idx::NAMES.iter().enumerate() {
        let Some(s) = ctl.stage(i) else { continue };
        let state = s.state();
        if state == StageState::Down && s.pid.load(Ordering::Relaxed) == 0 {
            continue;
        }
        let hb = s.heartbeat_ns.load(Ordering::Acquire);
        let cpu = s.cpu.load(Ordering::Relaxed);
        let c = |k: usize| s.counters[k].load(Ordering::Relaxed);
        stages.insert(
            name.to_string(),
            json!({
                "pid": s.pid.load(Ordering::Relaxed),
                "cpu": if cpu >= 0 { json!(cpu) } else { Value::Null },
                "state": state.as_str(),
                "manual": s.manual.load(Ordering::Relaxed) != 0,
                "heartbeat_age_ms": now.saturating_sub(hb) as f64 / 1e6,
                "restarts": s.restarts.load(Ordering::Relaxed),
                "last_reason": s.reason(),
                "records_in": s.records_in.load(Ordering::Relaxed),
                "records_out": s.records_out.load(Ordering::Relaxed),
                "malformed": s.malformed.load(Ordering::Relaxed),
                "errors": s.errors.load(Ordering::Relaxed),
                "counters": {
                    "duplicates_dropped": c(counter::DUPLICATES_DROPPED),
                    "rewarmed": c(counter::REWARMED),
                    "aux_in": c(counter::AUX_IN),
                    "orders": c(counter::ORDERS),
                    "outcomes": c(counter::OUTCOMES),
                    "gaps": c(counter::GAPS),
                },
            }),
        );
    }
    let mut rings = Map::new();
    for (r, rname) in ring_id::NAMES.iter().enumerate() {
        let Some(info) = ring_info(inst, r) else {
            continue;
        };
        let mut consumers = Map::new();
        for (ri, ci, who) in consumer_id::ALL {
            if ri != r {
                continue;
            }
            if let Ok(cur) = ctl.cursor_ref(ri, ci) {
                let c = cur.cursor.load(Ordering::Acquire);
                consumers.insert(
                    who.to_string(),
                    json!({
                        "cursor": c,
                        "lag": info.write_seq.saturating_sub(c),
                        "gaps": cur.gaps.load(Ordering::Relaxed),
                    }),
                );
            }
        }
        rings.insert(
            rname.to_string(),
            json!({
                "write_seq": info.write_seq,
                "capacity": info.capacity,
                "producer_pid": info.producer_pid,
                "producer_epoch": info.producer_epoch,
                "consumers": consumers,
            }),
        );
    }
    let trading = ctl.trading().map(|f| {
        json!({
            "trades": f[fig::TRADES],
            "wins": f[fig::WINS],
            "win_rate": f[fig::WIN_RATE],
            "realized_pnl": f[fig::REALIZED],
            "unrealized_pnl": f[fig::UNREALIZED],
            "fees": f[fig::FEES],
            "profit_factor": f[fig::PROFIT_FACTOR],
            "avg_win": f[fig::AVG_WIN],
            "avg_loss": f[fig::AVG_LOSS],
            "max_drawdown": f[fig::MAX_DRAWDOWN],
            "max_drawdown_usd": f[fig::MAX_DRAWDOWN_USD],
            "exposure": f[fig::EXPOSURE],
            "equity": f[fig::EQUITY],
            "open_positions": f[fig::OPEN],
            "orders": f[fig::ORDERS],
            "refused": f[fig::REFUSED],
            "last_refusal": shmtrader_risk::RefuseReason::name_of_code(f[fig::LAST_REFUSAL] as u8),
            "kill_switch": f[fig::KILL_SWITCH] != 0.0,
            "alerts": f[fig::ALERTS],
            "user_stream_up": f[fig::STREAM_UP] != 0.0,
            "open_stops": f[fig::OPEN_STOPS],
            "launch": f[fig::LAUNCH],
            "entries_stopped": f[fig::ENTRIES_STOPPED] != 0.0,
            "funding": f[fig::FUNDING],
            "wallet": f[fig::WALLET],
            "peak_equity": f[fig::PEAK_EQUITY],
            "blocked_symbols": f[fig::BLOCKED_SYMBOLS],
        })
    });
    let ml = ctl.ml().map(|f| {
        // NaN ("not known yet") becomes null.
        let n = |i: usize| {
            let x = f[i];
            if x.is_finite() {
                json!(x)
            } else {
                Value::Null
            }
        };
        let (h, m) = (f[mlfig::CACHE_HITS], f[mlfig::CACHE_MISSES]);
        let hit_rate = if h + m > 0.0 {
            json!(h / (h + m))
        } else {
            Value::Null
        };
        json!({
            "enabled": f[mlfig::ENABLED] != 0.0,
            "threshold": n(mlfig::THRESHOLD),
            "model_version": n(mlfig::VERSION),
            "signals_scored": n(mlfig::SIGNALS),
            "signals_passed": n(mlfig::SIGNALS_PASSED),
            "labelled": n(mlfig::LABELLED),
            "window": n(mlfig::WINDOW),
            "refits": n(mlfig::REFITS),
            "refit_failures": n(mlfig::REFIT_FAILURES),
            "rolling": {
                "n": n(mlfig::SCORED),
                "auc": n(mlfig::AUC),
                "log_loss": n(mlfig::LOG_LOSS),
                "brier": n(mlfig::BRIER),
                "base_rate": n(mlfig::BASE_RATE),
                "passed": n(mlfig::PASSED),
                "passed_win_rate": n(mlfig::PASSED_WIN_RATE),
                "rejected": n(mlfig::REJECTED),
                "rejected_shadow_win_rate": n(mlfig::REJECTED_WIN_RATE),
            },
            "cache": {
                "hits": n(mlfig::CACHE_HITS),
                "misses": n(mlfig::CACHE_MISSES),
                "hit_rate": hit_rate,
            },
            "pending_signals": n(mlfig::PENDING),
            "unmatched_outcomes": n(mlfig::UNMATCHED),
            "shadow_open": n(mlfig::SHADOW_OPEN),
            "shadow_closed": n(mlfig::SHADOW_CLOSED),
        })
    });
    let symbols = ctl.symbols();
    let mut positions = Map::new();
    if let Some(rows) = ctl.positions() {
        for (i, r) in rows.iter().enumerate() {
            if r[0] != 0.0 {
                let name = symbols.get(i).cloned().unwrap_or_else(|| format!("#{i}"));
                positions.insert(
                    name,
                    json!({"size": r[0], "side": if r[0] > 0.0 { "LONG" } else { "SHORT" },
                           "entry_price": r[1], "mark_price": r[2], "unrealized_pnl": r[3]}),
                );
            }
        }
    }
    let mut markets = Map::new();
    if let Some(rows) = ctl.symbol_figures() {
        use crate::runtime::symfig;
        let num = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
        for (i, name) in symbols.iter().enumerate() {
            let Some(r) = rows.get(i) else { continue };
            markets.insert(
                name.clone(),
                json!({
                    "state": if r[symfig::READY] == 1.0 { "ready" } else { "warming" },
                    "bars": r[symfig::BARS],
                    "warm_start_bars": r[symfig::WARM_BARS],
                    "last_price": num(r[symfig::LAST_PRICE]),
                    "threshold": num(r[symfig::THRESHOLD]),
                    "regime": shmtrader_strategy::Regime::from_code(r[symfig::REGIME] as u8).as_str(),
                    "last_signal_strength": num(r[symfig::LAST_STRENGTH]),
                    "signals": r[symfig::SIGNALS],
                }),
            );
        }
    }
    let mut latency = Map::new();
    for (i, name) in hist::NAMES.iter().enumerate() {
        latency.insert(name.to_string(), hist_json(&ctl.block().histograms[i]));
    }
    json!({
        "instance": inst.name,
        "owner_pid": ctl.owner_pid(),
        "owner_alive": ctl.owner_alive(),
        "symbols": ctl.symbols(),
        "venue": {"rest_url": venue_rest_url},
        "ticks_per_sec": ticks_per_sec,
        "stages": stages,
        "rings": rings,
        "trading": trading.unwrap_or(Value::Null),
        "ml": ml.unwrap_or(Value::Null),
        "positions": positions,
        "markets": markets,
        "latency": latency,
        "commands": commands_json(&ctl.mailbox(), now_ns()),
    })
}

/// A human-readable rendering of [`status_json`].
pub fn status_text(v: &Value) -> String {
    let mut out = String::new();
    let g = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    // serde_json's Display ignores width/alignment, so render to plain strings first.
    let t = |v: &Value, k: &str| match v.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".to_string(),
        Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {
            format!("{}", n.as_f64().unwrap_or(0.0) as i64)
        }
        Some(other) => other.to_string(),
    };
    out.push_str(&format!(
        "instance {}  owner pid {}  ticks/s {:.0}\n\n",
        t(v, "instance"),
        t(v, "owner_pid"),
        g(v, "ticks_per_sec").as_f64().unwrap_or(0.0)
    ));
    out.push_str(&format!(
        "{:<14}{:>8}{:>5}{:>10}{:>10}{:>9}{:>12}{:>12}  last reason\n",
        "stage", "pid", "cpu", "state", "hb age ms", "restarts", "in", "out"
    ));
    if let Some(stages) = v.get("stages").and_then(|s| s.as_object()) {
        if stages
            .values()
            .any(|s| g(s, "manual").as_bool() == Some(true))
        {
            out.push_str("(* started by hand: `run --manual`, not supervised)\n");
        }
        for (name, s) in stages {
            out.push_str(&format!(
                "{:<14}{:>8}{:>5}{:>10}{:>10.1}{:>9}{:>12}{:>12}  {}\n",
                if g(s, "manual").as_bool() == Some(true) {
                    format!("{name}*")
                } else {
                    name.to_string()
                },
                t(s, "pid"),
                g(s, "cpu")
                    .as_i64()
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                t(s, "state"),
                g(s, "heartbeat_age_ms").as_f64().unwrap_or(0.0),
                t(s, "restarts"),
                t(s, "records_in"),
                t(s, "records_out"),
                g(s, "last_reason").as_str().unwrap_or(""),
            ));
        }
    }
    out.push_str(&format!(
        "\n{:<10}{:>12}{:>10}  consumers (cursor / lag / gaps)\n",
        "ring", "write_seq", "capacity"
    ));
    if let Some(rings) = v.get("rings").and_then(|s| s.as_object()) {
        for (name, r) in rings {
            let mut cons = String::new();
            if let Some(c) = r.get("consumers").and_then(|c| c.as_object()) {
                for (who, x) in c {
                    cons.push_str(&format!(
                        "{who}: {} / {} / {}  ",
                        t(x, "cursor"),
                        t(x, "lag"),
                        t(x, "gaps")
                    ));
                }
            }
            out.push_str(&format!(
                "{:<10}{:>12}{:>10}  {}\n",
                name,
                t(r, "write_seq"),
                t(r, "capacity"),
                cons
            ));
        }
    }
    if let Some(tr) = v.get("trading").filter(|t| !t.is_null()) {
        out.push_str(&format!(
            "\ntrading: trades {}  win rate {:.1}%  realized {:.2}  unrealized {:.2}  fees {:.2}  PF {:.2}  max DD {:.2}  open {}  refused {}{}\n",
            t(tr, "trades"),
            g(tr, "win_rate").as_f64().unwrap_or(0.0) * 100.0,
            g(tr, "realized_pnl").as_f64().unwrap_or(0.0),
            g(tr, "unrealized_pnl").as_f64().unwrap_or(0.0),
            g(tr, "fees").as_f64().unwrap_or(0.0),
            g(tr, "profit_factor").as_f64().unwrap_or(0.0),
            g(tr, "max_drawdown").as_f64().unwrap_or(0.0),
            t(tr, "open_positions"),
            t(tr, "refused"),
            g(tr, "last_refusal")
                .as_str()
                .map(|r| format!(" (last: {r})"))
                .unwrap_or_default(),
        ));
        out.push_str(&format!(
            "account: wallet {:.2}  equity {:.2}  peak {:.2}  funding {:.2}  stops on exchange {}  user stream {}  alerts {}  blocked symbols {}{}{}\n",
            g(tr, "wallet").as_f64().unwrap_or(0.0),
            g(tr, "equity").as_f64().unwrap_or(0.0),
            g(tr, "peak_equity").as_f64().unwrap_or(0.0),
            g(tr, "funding").as_f64().unwrap_or(0.0),
            t(tr, "open_stops"),
            if g(tr, "user_stream_up").as_bool().unwrap_or(false) { "up" } else { "DOWN" },
            t(tr, "alerts"),
            t(tr, "blocked_symbols"),
            if g(tr, "kill_switch").as_bool().unwrap_or(false) { "  KILL SWITCH ON" } else { "" },
            if g(tr, "entries_stopped").as_bool().unwrap_or(false) { "  ENTRIES STOPPED" } else { "" },
        ));
    }
    if let Some(ml) = v.get("ml").filter(|t| !t.is_null()) {
        if ml.get("enabled").and_then(Value::as_bool) == Some(true) {
            let r = g(ml, "rolling");
            let f = |x: &Value, k: &str, d: usize| {
                x.get(k)
                    .and_then(Value::as_f64)
                    .map_or_else(|| "n/a".to_string(), |y| format!("{y:.d$}"))
            };
            out.push_str(&format!(
                "\nml filter: model v{}  scored {} passed {}  labels {}  refits {}  shadow open {}\n  last {} labelled: AUC {}  log loss {}  Brier {}  win rate passed {} ({}) rejected {} ({})  cache hit rate {}\n",
                f(ml, "model_version", 0),
                f(ml, "signals_scored", 0),
                f(ml, "signals_passed", 0),
                f(ml, "labelled", 0),
                f(ml, "refits", 0),
                f(ml, "shadow_open", 0),
                f(&r, "n", 0),
                f(&r, "auc", 3),
                f(&r, "log_loss", 4),
                f(&r, "brier", 4),
                f(&r, "passed_win_rate", 3),
                f(&r, "passed", 0),
                f(&r, "rejected_shadow_win_rate", 3),
                f(&r, "rejected", 0),
                f(&g(ml, "cache"), "hit_rate", 3),
            ));
        } else {
            out.push_str("\nml filter: off\n");
        }
    }
    if let Some(m) = v
        .get("markets")
        .and_then(|m| m.as_object())
        .filter(|m| !m.is_empty())
    {
        out.push_str("\nmarkets     state     bars  warm-start        price  threshold  regime              last signal\n");
        for (sym, x) in m {
            let f = |k: &str, d: usize| {
                x.get(k)
                    .and_then(Value::as_f64)
                    .map_or_else(|| "-".to_string(), |y| format!("{y:.d$}"))
            };
            out.push_str(&format!(
                "  {:<10}{:<8}{:>6}{:>12}{:>13}{:>11}  {:<20}{:>6} ({} signals)\n",
                sym,
                t(x, "state"),
                f("bars", 0),
                f("warm_start_bars", 0),
                f("last_price", 4),
                f("threshold", 3),
                t(x, "regime"),
                f("last_signal_strength", 3),
                f("signals", 0),
            ));
        }
    }
    if let Some(p) = v
        .get("positions")
        .and_then(|p| p.as_object())
        .filter(|p| !p.is_empty())
    {
        out.push_str("\npositions\n");
        for (sym, x) in p {
            out.push_str(&format!(
                "  {:<10} {:>5} size {:>12} entry {:>12} mark {:>12} uPnL {:>10.2}\n",
                sym,
                t(x, "side"),
                t(x, "size"),
                t(x, "entry_price"),
                t(x, "mark_price"),
                g(x, "unrealized_pnl").as_f64().unwrap_or(0.0)
            ));
        }
    }
    out.push_str(&commands_text(v.get("commands").unwrap_or(&Value::Null)));
    if let Some(l) = v.get("latency").and_then(|l| l.as_object()) {
        out.push_str("\nlatency (ns)            count       p50       p99     p99.9\n");
        for (name, h) in l {
            if g(h, "count").as_u64().unwrap_or(0) == 0 {
                continue;
            }
            out.push_str(&format!(
                "{:<20}{:>9}{:>10}{:>10}{:>10}\n",
                name,
                t(h, "count"),
                t(h, "p50_ns"),
                t(h, "p99_ns"),
                t(h, "p999_ns")
            ));
        }
    }
    out
}

/// The mailbox lines of the status text (from the `commands` JSON section).
fn commands_text(c: &Value) -> String {
    let str_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("-").to_string();
    let u = |v: &Value, k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    let latest = c.get("latest").filter(|l| !l.is_null());
    let report = c.get("last_report").filter(|r| !r.is_null());
    let Some(l) = latest else {
        return "\ncommands: none posted\n".to_string();
    };
    let mut out = format!(
        "\ncommands: latest #{} {} {}",
        u(l, "seq"),
        str_of(l, "command"),
        str_of(l, "state")
    );
    match l.get("state").and_then(Value::as_str) {
        Some("pending") => {
            let left = l.get("lease_left_s").and_then(Value::as_f64).unwrap_or(0.0);
            if left > 0.0 {
                out.push_str(&format!(" (not taken yet; lease {left:.0} s left)"));
            } else {
                out.push_str(" (not taken; lease expired, runs when the executor comes back)");
            }
        }
        Some("executing") => out.push_str(&format!(" (executor pid {})", u(l, "taker_pid"))),
        _ => {}
    }
    out.push('\n');
    if let Some(r) = report {
        out.push_str(&format!(
            "  report #{} {}: {}  {:.0} s ago  orders canceled {}  conditional canceled {}  \
             positions closed {}  left open {}\n",
            u(r, "seq"),
            str_of(r, "command"),
            str_of(r, "status"),
            r.get("age_s").and_then(Value::as_f64).unwrap_or(0.0),
            u(r, "orders_canceled"),
            u(r, "conditional_canceled"),
            u(r, "positions_closed"),
            u(r, "positions_left_open"),
        ));
        let msg = str_of(r, "message");
        if !msg.is_empty() && msg != "-" {
            out.push_str(&format!("  {msg}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmtrader_shm::{CommandReport, CommandStatus};
    use std::time::Duration;

    fn snapshot(phase: CommandPhase, report: bool) -> MailboxSnapshot {
        let mut r = CommandReport::new(CommandStatus::Done, "closed 1 of 1");
        r.orders_canceled = 3;
        r.positions_closed = 1;
        MailboxSnapshot {
            seq: 4,
            command: Some(Command::Flatten),
            phase,
            lease_left: Duration::from_secs(12),
            taker_pid: if phase == CommandPhase::Pending {
                0
            } else {
                77
            },
            last_report: report.then(|| CompletedCommand {
                seq: if phase == CommandPhase::Completed {
                    4
                } else {
                    3
                },
                command: Some(Command::Flatten),
                completed_ns: 1_000_000_000,
                report: r,
            }),
        }
    }

    /// The `commands` section in JSON and text for each mailbox phase.
    #[test]
    fn commands_section_shows_latest_command_and_last_report() {
        let now = 3_000_000_000;
        let empty = MailboxSnapshot {
            seq: 0,
            command: None,
            phase: CommandPhase::Empty,
            lease_left: Duration::ZERO,
            taker_pid: 0,
            last_report: None,
        };
        let j = commands_json(&empty, now);
        assert!(j["latest"].is_null() && j["last_report"].is_null(), "{j}");
        assert!(commands_text(&j).contains("none posted"));

        let j = commands_json(&snapshot(CommandPhase::Pending, false), now);
        assert_eq!(j["latest"]["state"], "pending");
        assert_eq!(j["latest"]["command"], "flatten");
        assert!(j["latest"]["taker_pid"].is_null());
        assert!(
            commands_text(&j).contains("not taken yet; lease 12 s left"),
            "{}",
            commands_text(&j)
        );

        let j = commands_json(&snapshot(CommandPhase::Executing, true), now);
        assert_eq!(j["latest"]["taker_pid"], 77);
        assert_eq!(j["last_report"]["seq"], 3);
        assert!(commands_text(&j).contains("executor pid 77"));

        let j = commands_json(&snapshot(CommandPhase::Completed, true), now);
        let r = &j["last_report"];
        assert_eq!(
            (r["seq"].as_u64(), r["status"].as_str()),
            (Some(4), Some("done"))
        );
        assert_eq!(r["orders_canceled"], 3);
        assert_eq!(r["age_s"], 2.0);
        let t = commands_text(&j);
        assert!(
            t.contains("report #4 flatten: done") && t.contains("closed 1 of 1"),
            "{t}"
        );
    }
}
