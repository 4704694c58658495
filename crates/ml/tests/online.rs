#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The online filter: labels only from exited trades, refits swap the model (new
//! version, cache cleared), save/load predicts identically, metrics.

mod common;

use common::{trades, Truth};
use shmtrader_core::{ExitReason, Outcome};
use shmtrader_ml::{
    fit, Example, FilterParams, Kind, MlError, Model, OnlineFilter, RefitMode, TrainParams,
};
use std::time::Duration;

fn outcome(seq: u64, e: &Example) -> Outcome {
    Outcome {
        signal_seq: seq,
        side: 0,
        exit_reason: ExitReason::TakeProfit.code(),
        entry_ts_ns: e.ts_ns,
        exit_ts_ns: e.exit_ts_ns,
        net_pnl: if e.label { 3.0 } else { -2.0 },
        fees: 0.4,
        ..Outcome::default()
    }
}

fn params(mode: RefitMode, cache: usize) -> FilterParams {
    FilterParams {
        threshold: 0.5,
        window: 2_000,
        refit_every: 100,
        min_examples: 300,
        cache_capacity: cache,
        mode,
        ..FilterParams::default()
    }
}

fn tmp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("shmtrader-ml-{}-{name}", std::process::id()))
}

/// Signals and their outcomes in arrival order (an outcome arrives once the trade has
/// exited, i.e. after later signals).
fn replay(f: &mut OnlineFilter, rows: &[Example]) {
    let mut open: Vec<(u64, usize)> = Vec::new();
    for (i, e) in rows.iter().enumerate() {
        // Close everything that exited before this signal.
        open.sort_by_key(|&(exit, _)| exit);
        let n_done = open
            .iter()
            .take_while(|&&(exit, _)| exit <= e.ts_ns)
            .count();
        for (_, k) in open.drain(..n_done) {
            assert!(f.on_outcome(&outcome(k as u64, &rows[k])).unwrap());
        }
        f.on_signal(i as u64, e.ts_ns, &e.x);
        open.push((e.exit_ts_ns, i));
    }
    open.sort_by_key(|&(exit, _)| exit);
    for (_, k) in open {
        assert!(f.on_outcome(&outcome(k as u64, &rows[k])).unwrap());
    }
}

#[test]
fn learns_online_and_refits_every_n_labels() {
    let rows = trades(1_000, Truth::Linear, 21);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 0)).unwrap();
    assert_eq!(f.version(), 0);
    let v = f.on_signal(99_999, rows[0].ts_ns, &rows[0].x);
    assert!(v.pass && v.prob.is_none(), "no model yet: pass, unscored");
    assert_eq!(v.prob_ppm(), 0);
    replay(&mut f, &rows);
    let st = f.stats();
    eprintln!("{st:?}");
    // Labels 300, 400, ..., 1000 → 8 refits.
    assert_eq!(
        (st.refits, st.version, st.refit_failures),
        (8, 8, 0),
        "{st:?}"
    );
    assert_eq!(st.labelled, 1_000);
    assert_eq!(st.window, 1_000);
    let m = f.metrics();
    eprintln!("{m:?}");
    // Predictions made while trading (each by the model of the time) rank the trades.
    assert!(m.scores.auc.unwrap() > 0.75, "{m:?}");
    assert!(m.passed > 0 && m.rejected > 0);
    assert!(m.passed_win_rate.unwrap() > m.rejected_win_rate.unwrap() + 0.2);
    let info = &f.model().unwrap().info;
    assert!(info.selection.is_some());
}

#[test]
fn only_exited_trades_become_labels() {
    let rows = trades(10, Truth::Noise, 22);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 0)).unwrap();
    f.on_signal(1, rows[1].ts_ns, &rows[1].x);
    let open = Outcome {
        exit_reason: 0,
        ..outcome(1, &rows[1])
    };
    assert!(matches!(f.on_outcome(&open), Err(MlError::NotExited(_))));
    let backwards = Outcome {
        exit_ts_ns: rows[1].ts_ns - 1,
        entry_ts_ns: rows[1].ts_ns,
        ..outcome(1, &rows[1])
    };
    assert!(f.on_outcome(&backwards).is_err());
    assert_eq!(f.window().count(), 0);
    // Unknown signal: not an error, counted.
    assert!(!f.on_outcome(&outcome(77, &rows[2])).unwrap());
    // The real exit is accepted.
    assert!(f.on_outcome(&outcome(1, &rows[1])).unwrap());
    let st = f.stats();
    assert_eq!(
        (st.refused, st.unmatched, st.labelled, st.window),
        (2, 1, 1, 1)
    );
}

#[test]
fn shadow_outcomes_feed_rejected_win_rate_and_optionally_training() {
    let rows = trades(700, Truth::Linear, 23);
    let mut p = params(RefitMode::Inline, 0);
    p.train_on_shadow = false;
    let mut f = OnlineFilter::new(p).unwrap();
    replay(&mut f, &rows);
    let m = f.metrics();
    // Without shadow training the window holds only passed trades after the first model.
    assert!(f.window().count() < 700);
    assert_eq!(f.stats().labelled, 700);
    assert!(m.rejected > 0);
}

#[test]
fn inline_swap_changes_version_and_clears_cache() {
    let rows = trades(600, Truth::Linear, 24);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 256)).unwrap();
    let m = fit(Kind::Logistic, &rows[..400], &TrainParams::default()).unwrap();
    let v1 = f.install(m);
    assert_eq!(v1, 1);
    for r in &rows[..50] {
        f.predict(&r.x).unwrap();
    }
    let (p1, _) = f.predict(&rows[0].x).unwrap();
    assert_eq!(f.cache_len(), 50);
    assert_eq!(f.stats().cache_hits, 1);
    // Feed labels until a refit installs version 2.
    for (i, r) in rows.iter().enumerate() {
        f.on_signal(1_000 + i as u64, r.ts_ns, &r.x);
    }
    for (i, r) in rows.iter().enumerate().take(300) {
        f.on_outcome(&outcome(1_000 + i as u64, r)).unwrap();
    }
    assert_eq!(f.version(), 2);
    assert_eq!(f.cache_len(), 0, "swap must clear the cache");
    let (p2, v) = f.predict(&rows[0].x).unwrap();
    assert_eq!(v, 2);
    assert_eq!(f.cache_len(), 1);
    assert_ne!(p1, p2);
}

#[test]
fn background_refit_swaps_without_blocking_prediction() {
    let rows = trades(1_200, Truth::Linear, 25);
    let mut f = OnlineFilter::new(params(RefitMode::Background, 256)).unwrap();
    f.install(fit(Kind::Logistic, &rows[..400], &TrainParams::default()).unwrap());
    for r in &rows[..20] {
        f.predict(&r.x).unwrap();
    }
    assert_eq!(f.cache_len(), 20);
    for (i, r) in rows.iter().enumerate() {
        f.on_signal(i as u64, r.ts_ns, &r.x);
    }
    // 300 labels → the worker refits; prediction keeps answering meanwhile.
    for (i, r) in rows.iter().enumerate().take(300) {
        f.on_outcome(&outcome(i as u64, r)).unwrap();
    }
    let mut answered = 0;
    while f.version() < 2 && answered < 10_000_000 {
        assert!(f.predict(&rows[answered % 1_000].x).is_some());
        answered += 1;
    }
    assert!(f.wait_for_version(2, Duration::from_secs(60)));
    eprintln!("{answered} predictions answered during the background refit");
    f.sync_cache();
    // The old version's entries (≥ 20) are gone; at most one entry of the new version
    // exists, from a prediction that raced with the swap at the end of the loop.
    assert!(
        f.cache_len() <= 1,
        "swap must clear the cache: {}",
        f.cache_len()
    );
    let (_, v) = f.predict(&rows[0].x).unwrap();
    assert_eq!(v, 2);
    assert_eq!(f.stats().refits, 1);
}

#[test]
fn saved_and_reloaded_models_predict_identically() {
    let rows = trades(1_500, Truth::Interaction, 26);
    let probe = trades(1_000, Truth::Noise, 27);
    for kind in [Kind::Logistic, Kind::Gbt] {
        let mut m = fit(kind, &rows, &TrainParams::default()).unwrap();
        m.set_version(7);
        let path = tmp(&format!("model-{}.json", kind.as_str()));
        m.save(&path).unwrap();
        let back = Model::load(&path).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.version(), 7);
        for r in &probe {
            assert_eq!(back.predict(&r.x).to_bits(), m.predict(&r.x).to_bits());
        }
        let _ = std::fs::remove_file(&path);
    }
}

#[test]
fn saved_and_reloaded_filter_resumes() {
    let rows = trades(800, Truth::Linear, 28);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 0)).unwrap();
    replay(&mut f, &rows);
    let path = tmp("filter.json");
    f.save(&path).unwrap();
    let mut g = OnlineFilter::load(params(RefitMode::Inline, 0), &path).unwrap();
    assert_eq!(g.version(), f.version());
    assert_eq!(g.window().count(), f.window().count());
    for r in &rows {
        assert_eq!(g.predict(&r.x), f.predict(&r.x));
    }
    // Refits after the restart continue the version sequence.
    g.refit_now().unwrap();
    assert_eq!(g.version(), f.version() + 1);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn damaged_files_are_refused_with_the_path() {
    let path = tmp("garbage.json");
    std::fs::write(&path, "{\"format\":\"something else\"}").unwrap();
    let e = Model::load(&path).unwrap_err();
    assert!(e.to_string().contains("garbage.json"), "{e}");
    let rows = trades(400, Truth::Linear, 29);
    let m = fit(Kind::Logistic, &rows, &TrainParams::default()).unwrap();
    m.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    // A corrupted coefficient (not a number) is refused.
    let bad = text.replacen("\"b\":", "\"b\":\"x\",\"c\":", 1);
    std::fs::write(&path, bad).unwrap();
    assert!(Model::load(&path).is_err());
    assert!(Model::load(&tmp("missing.json")).is_err());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn bad_params_are_refused() {
    let p = FilterParams {
        threshold: 1.5,
        ..FilterParams::default()
    };
    assert!(matches!(OnlineFilter::new(p), Err(MlError::Param(_))));
    let p = FilterParams {
        min_examples: 5_000,
        ..FilterParams::default()
    };
    assert!(OnlineFilter::new(p).is_err());
}

/// The analytics stage enters a signal under a private key before the verdict and
/// re-keys a passed one to the signals-ring sequence its real outcome will carry; the
/// old key is then free and an outcome under it is unmatched.
#[test]
fn rekeyed_signals_take_their_outcome_under_the_new_key() {
    let rows = trades(2, Truth::Linear, 5);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 0)).unwrap();
    let private = 1u64 << 63;
    f.on_signal(private, rows[0].ts_ns, &rows[0].x);
    assert!(f.rekey(private, 7));
    assert!(!f.rekey(private, 8), "nothing left under the old key");
    assert!(!f.on_outcome(&outcome(private, &rows[0])).unwrap());
    assert!(f.on_outcome(&outcome(7, &rows[0])).unwrap());
    assert_eq!((f.stats().labelled, f.stats().unmatched), (1, 1));
}

/// A saved training row whose label is dated before its signal would make every later
/// refit fail: the file is refused, naming the row.
#[test]
fn filter_state_with_a_damaged_training_row_is_refused() {
    let rows = trades(400, Truth::Linear, 31);
    let mut f = OnlineFilter::new(params(RefitMode::Inline, 0)).unwrap();
    replay(&mut f, &rows);
    let path = tmp("damaged-row.json");
    f.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"exit_ts_ns\":"));
    let bad = text.replacen("\"exit_ts_ns\":", "\"exit_ts_ns\":0,\"was\":", 1);
    std::fs::write(&path, bad).unwrap();
    let e = OnlineFilter::load(params(RefitMode::Inline, 0), &path).unwrap_err();
    assert!(e.to_string().contains("training row 0"), "{e}");
    let _ = std::fs::remove_file(&path);
}
