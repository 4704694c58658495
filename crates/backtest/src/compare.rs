//! `--compare`: the same data through variants of the decision chain, in one table.
//!
//! | variant | engine | filter before the risk gate |
//! |---|---|---|
//! | `rules` | adaptive threshold off, regime ignored | none |
//! | `adaptive` | adaptive threshold on | none |
//! | `adaptive+regime` | adaptive threshold on | only signals whose kind agrees with the regime ([`crate::sim::signal_kind`]: trend signals in trending regimes, reversion signals in ranging ones, nothing while unknown) |
//! | `ml_filter` | rules | the ML filter, trained walk-forward with purging and an embargo (below) |
//! | `ml_online` | rules | the live online filter replayed as analytics runs it ([`SignalFilter::Online`]) |
//! | `random` | rules | each signal the ML filter scored passes at the ML filter's pass rate (seeded) |
//! | `random_regime` | adaptive | each signal passes at the regime filter's pass rate (seeded) |
//!
//! **The ML variant.** The `rules` run records, for every signal, the 18 features at
//! signal time and the label of its shadow trade ([`shmtrader_risk::ShadowBook`]: the
//! trade as the risk rules would have exited it, after spread, impact and fees, whether
//! or not the account took it). [`shmtrader_ml::walk_forward`] cuts the signals into
//! consecutive windows of [`ML_TEST_SIZE`] and scores each window with a model trained
//! only on examples whose shadow exit is more than [`ML_EMBARGO_NS`] before the window's
//! first signal (so no training label overlaps a test window), on at most `ml.window` of
//! the latest, with the live filter's model selection. Windows with fewer than
//! `ml.min_examples` usable examples are not scored, and their signals pass, as the live
//! filter passes signals while it has no model. A scored signal passes if its
//! probability is at least `ml.ml_confidence_threshold`. These verdicts are then applied
//! to the `rules` engine's signal stream, which does not depend on which trades were
//! taken (the adaptive threshold is off), so the verdicts line up signal for signal
//! (checked). The filter sits on the rules engine because the question is whether it
//! beats the rules alone.
//!
//! **Random controls.** `random` draws only on the signals the ML filter scored, with
//! its pass rate among them, so it differs from `ml_filter` in which signals it picks,
//! not how many: "does the filter pick better trades than chance at the same rate?".
//! `random_regime` asks the same of the regime filter. The **pass rate** of a filter
//! variant is measured against the signals it saw (for `adaptive`, its signals over the
//! `rules` signals).
//!
//! For every variant, `pnl_diff_ci` is a 95 % interval of (variant − `rules`) total net
//! PnL from a moving-block bootstrap over UTC days ([`crate::metrics::block_bootstrap_ci`],
//! block ⌈days^(1/3)⌉, seeded). An interval that contains 0 means the data cannot tell
//! the variant from the baseline. `ml_filter` also gets `pnl_diff_ci_vs_random`, the same
//! interval against `random`: the filter against chance at its own pass rate.
//!
//! Independent variants run in parallel (`std::thread::scope`): each has its own
//! account, so nothing is shared but the read-only data.

use crate::data::Market;
use crate::error::{BacktestError, Result};
use crate::metrics::{block_bootstrap_ci, block_length, daily_pnl, Summary};
use crate::report::{opt, Report};
use crate::sim::{simulate, MlExample, SignalFilter, Verdict};
use crate::BacktestOptions;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use shmtrader_core::Config;
use shmtrader_ml::{walk_forward, Scores, WalkForwardParams, WfModel};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

/// Signals per walk-forward test window of the ML variant.
pub const ML_TEST_SIZE: usize = 200;
/// Gap between the last training label and a test window (1 hour): labels of trades
/// that exited just before the window still share its market state.
pub const ML_EMBARGO_NS: u64 = 3_600 * 1_000_000_000;

/// One row of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Variant {
    /// Short name.
    pub name: String,
    /// What the variant does.
    pub description: String,
    /// Figures; `null` for a variant that is not built.
    pub summary: Option<Summary>,
    /// 95 % bootstrap interval of the net-PnL difference to `rules`.
    pub pnl_diff_ci: Option<[f64; 2]>,
    /// 95 % bootstrap interval of the net-PnL difference to `random` (`ml_filter` only):
    /// the filter against chance at its pass rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pnl_diff_ci_vs_random: Option<[f64; 2]>,
    /// Fraction of its base's signals that reached the risk gate (filter variants).
    pub pass_rate: Option<f64>,
    /// Remarks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Out-of-sample evaluation of the walk-forward ML filter (`ml_filter` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ml: Option<MlEvaluation>,
    /// The full report (HTML, tests); not serialised.
    #[serde(skip)]
    pub report: Option<Report>,
}

/// How the walk-forward ML filter did out of sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MlEvaluation {
    /// Signals of the `rules` engine.
    pub signals: usize,
    /// Signals with a shadow label (the rest had no ATR yet or had not exited by the end).
    pub labelled: usize,
    /// Signals scored by a model trained strictly before their window.
    pub scored: usize,
    /// Scored signals at or above the threshold.
    pub scored_passed: usize,
    /// `ml.ml_confidence_threshold`.
    pub threshold: f64,
    /// Signals per test window.
    pub test_size: usize,
    /// Fewest training labels for a window to be scored (`ml.min_examples`).
    pub min_train: usize,
    /// Latest labels trained on (`ml.window`).
    pub max_train: usize,
    /// Embargo (ms).
    pub embargo_ms: u64,
    /// Test windows, and how many were scored.
    pub folds: usize,
    /// See `folds`.
    pub folds_scored: usize,
    /// Model kind chosen per scored window.
    pub models: BTreeMap<String, usize>,
    /// Out-of-sample AUC, log loss, Brier score and base rate over the scored signals.
    pub scores: Option<Scores>,
    /// Shadow win rate of the scored signals the filter passed.
    pub shadow_win_rate_passed: Option<f64>,
    /// Shadow win rate of the scored signals it rejected.
    pub shadow_win_rate_rejected: Option<f64>,
    /// Mean shadow net PnL (USDT at the reference notional) of all scored signals: what
    /// a random filter earns per passed signal, at any pass rate.
    pub shadow_mean_net_scored: Option<f64>,
    /// The same out-of-sample probabilities at other thresholds (shadow trades only, no
    /// account): does the ranking pick better trades than chance?
    pub threshold_sweep: Vec<SweepRow>,
    /// The single feature that best separates the scored signals' labels, and its AUC
    /// (oriented, ≥ 0.5): how much of the model's AUC one input explains.
    pub best_single_feature: Option<(String, f64)>,
}

/// The walk-forward filter at one threshold, on the scored signals' shadow trades.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepRow {
    /// Probability threshold.
    pub threshold: f64,
    /// Scored signals at or above it.
    pub passed: usize,
    /// `passed` / scored.
    pub pass_rate: f64,
    /// Shadow win rate of those.
    pub win_rate: Option<f64>,
    /// Their mean shadow net PnL (USDT).
    pub mean_net: Option<f64>,
}

/// Thresholds of [`MlEvaluation::threshold_sweep`].
pub const SWEEP_THRESHOLDS: [f64; 8] = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5];

/// Bootstrap settings used.
#[derive(Debug, Clone, Serialize)]
pub struct BootstrapInfo {
    /// UTC days resampled.
    pub days: usize,
    /// Block length (days).
    pub block_days: usize,
    /// Resamples.
    pub resamples: usize,
    /// Seed.
    pub seed: u64,
}

/// The comparison.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// Variants in table order.
    pub variants: Vec<Variant>,
    /// How the intervals were computed.
    pub bootstrap: BootstrapInfo,
}

#[derive(Clone)]
struct Spec {
    name: &'static str,
    description: &'static str,
    adaptive: bool,
    filter: SignalFilter,
    record: bool,
}

/// What one variant's run produced.
struct Run {
    report: Report,
    examples: Vec<MlExample>,
    signal_log: Vec<(u64, u32)>,
}

/// Runs the comparison over `files`.
pub fn compare(cfg: &Config, files: &[PathBuf], opts: &BacktestOptions) -> Result<Comparison> {
    let market = crate::data::load(files, opts.intrabar)?;
    compare_market(cfg, &market, opts)
}

fn run_spec(
    cfg: &Config,
    market: &Market,
    opts: &BacktestOptions,
    s: &Spec,
    progress: bool,
) -> Result<Run> {
    let mut st = crate::settings(cfg, market, opts, s.adaptive, s.filter.clone(), s.name)?;
    // One bar at a time on the terminal: parallel variants would overwrite each other.
    st.progress = opts.progress && progress;
    st.record_examples = s.record;
    let mut sim = simulate(market, &st)?;
    let examples = std::mem::take(&mut sim.examples);
    let signal_log = std::mem::take(&mut sim.signal_log);
    Ok(Run {
        report: Report::new(sim, market, &st, opts.intrabar),
        examples,
        signal_log,
    })
}

/// Runs `specs` in parallel, results in order.
fn run_all(
    cfg: &Config,
    market: &Market,
    opts: &BacktestOptions,
    specs: &[Spec],
) -> Result<Vec<Run>> {
    let results: Vec<Result<Run>> = std::thread::scope(|sc| {
        let handles: Vec<_> = specs
            .iter()
            .enumerate()
            .map(|(i, s)| sc.spawn(move || run_spec(cfg, market, opts, s, i == 0)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(BacktestError::Report("a variant thread panicked".into()))
                })
            })
            .collect()
    });
    results.into_iter().collect()
}

/// The walk-forward settings of the ML variant (see the module doc).
pub fn ml_walk_forward_params(cfg: &Config) -> WalkForwardParams {
    WalkForwardParams {
        test_size: ML_TEST_SIZE,
        min_train: (cfg.ml.min_examples as usize).max(20),
        embargo_ns: ML_EMBARGO_NS,
        max_train: Some((cfg.ml.window as usize).max(20)),
        model: WfModel::Auto,
        train: shmtrader_ml::TrainParams::default(),
    }
}

/// What the walk-forward evaluation decides for the rules stream.
struct MlVerdicts {
    /// The ML filter's verdict per signal.
    ml: Arc<[Verdict]>,
    /// A random filter's, at the ML filter's pass rate among the signals it scored.
    random: Arc<[Verdict]>,
    /// That pass rate.
    rate: f64,
    eval: MlEvaluation,
}

/// The walk-forward ML verdicts on the rules stream, the random verdicts at the same
/// pass rate, and the evaluation.
fn ml_verdicts(cfg: &Config, rules: &Run, seed: u64) -> Result<MlVerdicts> {
    let p = ml_walk_forward_params(cfg);
    let threshold = cfg.ml.ml_confidence_threshold;
    let rows: Vec<_> = rules
        .examples
        .iter()
        .map(|e| (e.ts_ns, e.exit_ts_ns, e.x, e.net_pnl > 0.0))
        .collect();
    let wf = walk_forward(&rows, &p).map_err(|e| BacktestError::Report(format!("ml: {e}")))?;
    let n = rules.signal_log.len();
    let mut prob = vec![None; n];
    let mut label = vec![None; n];
    let mut net = vec![0.0; n];
    let mut xs: Vec<Option<shmtrader_ml::FeatureVec>> = vec![None; n];
    for (e, pr) in rules.examples.iter().zip(&wf.probs) {
        let i = usize::try_from(e.signal_seq).unwrap_or(usize::MAX);
        if i >= n {
            return Err(BacktestError::Report(format!(
                "ml: example of signal {} beyond the {n} signals",
                e.signal_seq
            )));
        }
        prob[i] = *pr;
        label[i] = Some(e.net_pnl > 0.0);
        net[i] = e.net_pnl;
        xs[i] = Some(e.x);
    }
    let verdict = |i: usize, pass: bool| Verdict {
        ts_ns: rules.signal_log[i].0,
        symbol_id: rules.signal_log[i].1,
        pass,
    };
    let ml: Arc<[Verdict]> = (0..n)
        .map(|i| verdict(i, prob[i].is_none_or(|q| q >= threshold)))
        .collect();
    let scored = prob.iter().filter(|q| q.is_some()).count();
    let scored_passed = prob.iter().flatten().filter(|&&q| q >= threshold).count();
    let rate = if scored > 0 {
        scored_passed as f64 / scored as f64
    } else {
        1.0
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x4D4C_F11E);
    let random: Arc<[Verdict]> = (0..n)
        .map(|i| verdict(i, prob[i].is_none() || rng.gen::<f64>() < rate))
        .collect();
    let win_rate = |want: bool| {
        let (mut k, mut w) = (0usize, 0usize);
        for i in 0..n {
            if let (Some(q), Some(y)) = (prob[i], label[i]) {
                if (q >= threshold) == want {
                    k += 1;
                    w += usize::from(y);
                }
            }
        }
        (k > 0).then(|| w as f64 / k as f64)
    };
    // Scored and labelled signals: (probability, label, net, features).
    let scored_rows: Vec<(f64, bool, f64, shmtrader_ml::FeatureVec)> = (0..n)
        .filter_map(|i| Some((prob[i]?, label[i]?, net[i], xs[i]?)))
        .collect();
    let mean = |v: &mut dyn Iterator<Item = f64>| {
        let (mut k, mut sum) = (0usize, 0.0);
        for x in v {
            k += 1;
            sum += x;
        }
        (k > 0).then(|| sum / k as f64)
    };
    let threshold_sweep = SWEEP_THRESHOLDS
        .iter()
        .map(|&t| {
            let passed: Vec<_> = scored_rows.iter().filter(|r| r.0 >= t).collect();
            SweepRow {
                threshold: t,
                passed: passed.len(),
                pass_rate: passed.len() as f64 / scored_rows.len().max(1) as f64,
                win_rate: mean(&mut passed.iter().map(|r| f64::from(u8::from(r.1)))),
                mean_net: mean(&mut passed.iter().map(|r| r.2)),
            }
        })
        .collect();
    let ys: Vec<bool> = scored_rows.iter().map(|r| r.1).collect();
    let best_single_feature = (0..shmtrader_ml::N_FEATURES)
        .filter_map(|j| {
            let col: Vec<f64> = scored_rows.iter().map(|r| r.3[j]).collect();
            shmtrader_ml::auc(&col, &ys).map(|a| (shmtrader_ml::NAMES[j], a.max(1.0 - a)))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(name, a)| (name.to_string(), a));
    let mut models = BTreeMap::new();
    for f in &wf.folds {
        if let Some(k) = f.kind {
            *models.entry(k.as_str().to_string()).or_insert(0) += 1;
        }
    }
    let eval = MlEvaluation {
        signals: n,
        labelled: rules.examples.len(),
        scored,
        scored_passed,
        threshold,
        test_size: p.test_size,
        min_train: p.min_train,
        max_train: p.max_train.unwrap_or(0),
        embargo_ms: p.embargo_ns / 1_000_000,
        folds: wf.folds.len(),
        folds_scored: wf.folds.iter().filter(|f| f.kind.is_some()).count(),
        models,
        scores: wf.scores,
        shadow_win_rate_passed: win_rate(true),
        shadow_win_rate_rejected: win_rate(false),
        shadow_mean_net_scored: mean(&mut scored_rows.iter().map(|r| r.2)),
        threshold_sweep,
        best_single_feature,
    };
    Ok(MlVerdicts {
        ml,
        random,
        rate,
        eval,
    })
}

/// Runs the comparison over a loaded market.
pub fn compare_market(cfg: &Config, market: &Market, opts: &BacktestOptions) -> Result<Comparison> {
    let base = [
        Spec {
            name: "rules",
            description: "rules only: adaptive threshold off, regime ignored",
            adaptive: false,
            filter: SignalFilter::None,
            record: true,
        },
        Spec {
            name: "adaptive",
            description: "+ adaptive threshold",
            adaptive: true,
            filter: SignalFilter::None,
            record: false,
        },
        Spec {
            name: "adaptive+regime",
            description: "+ regime: trend signals only in trending regimes, reversion signals only in ranging ones",
            adaptive: true,
            filter: SignalFilter::Regime,
            record: false,
        },
    ];
    let mut first = run_all(cfg, market, opts, &base)?.into_iter();
    let (Some(rules), Some(adaptive), Some(regime)) = (first.next(), first.next(), first.next())
    else {
        return Err(BacktestError::Report("missing variant results".into()));
    };
    let rate = |num: u64, den: u64| {
        if den == 0 {
            0.0
        } else {
            (num as f64 / den as f64).min(1.0)
        }
    };
    let adaptive_rate = rate(
        adaptive.report.summary.signals,
        rules.report.summary.signals,
    );
    let rs = &regime.report.summary;
    let regime_rate = rate(rs.signals - rs.filtered, rs.signals);
    let MlVerdicts {
        ml: ml_v,
        random: random_v,
        rate: ml_rate,
        eval,
    } = ml_verdicts(cfg, &rules, opts.seed)?;
    let second = [
        Spec {
            name: "ml_filter",
            description: "rules + ML filter, trained walk-forward (purged, embargoed)",
            adaptive: false,
            filter: SignalFilter::Precomputed(ml_v),
            record: false,
        },
        Spec {
            name: "ml_online",
            description: "rules + the live online ML filter (inline refits)",
            adaptive: false,
            filter: SignalFilter::Online(Box::new(crate::params::ml_filter_params(cfg))),
            record: false,
        },
        Spec {
            name: "random",
            description: "rules + random filter at the ML filter's pass rate",
            adaptive: false,
            filter: SignalFilter::Precomputed(random_v),
            record: false,
        },
        Spec {
            name: "random_regime",
            description: "adaptive + random filter at the regime filter's pass rate",
            adaptive: true,
            filter: SignalFilter::Random {
                pass_rate: regime_rate,
                seed: opts.seed,
            },
            record: false,
        },
    ];
    let mut later = run_all(cfg, market, opts, &second)?.into_iter();
    let (Some(ml), Some(online), Some(random), Some(random_regime)) =
        (later.next(), later.next(), later.next(), later.next())
    else {
        return Err(BacktestError::Report("missing variant results".into()));
    };

    // Bootstrap over the baseline's days.
    let base_days = daily_pnl(
        rules.report.summary.starting_equity,
        &rules.report.daily_equity,
    );
    let days = base_days.len();
    let block = block_length(days);
    let ci_between = |r: &Report, base: &BTreeMap<u64, f64>| -> Option<[f64; 2]> {
        let b = base;
        let v = daily_pnl(r.summary.starting_equity, &r.daily_equity);
        let keys: std::collections::BTreeSet<u64> = b.keys().chain(v.keys()).copied().collect();
        let diffs: Vec<f64> = keys
            .iter()
            .map(|k| v.get(k).copied().unwrap_or(0.0) - b.get(k).copied().unwrap_or(0.0))
            .collect();
        block_bootstrap_ci(&diffs, block, opts.bootstrap_resamples, opts.seed ^ 0xB007)
    };
    let ci = |r: &Report| ci_between(r, &base_days);
    // The filter against chance at its own pass rate, on the same days.
    let random_days = daily_pnl(
        random.report.summary.starting_equity,
        &random.report.daily_equity,
    );
    let ml_vs_random = ci_between(&ml.report, &random_days);
    let row = |spec: &Spec, r: Run, pass: Option<f64>, note: Option<String>| Variant {
        name: spec.name.to_string(),
        description: spec.description.to_string(),
        summary: Some(r.report.summary.clone()),
        pnl_diff_ci: ci(&r.report),
        pnl_diff_ci_vs_random: None,
        pass_rate: pass,
        note,
        ml: None,
        report: Some(r.report),
    };
    let online_rate = {
        let s = &online.report.summary;
        rate(s.signals - s.filtered, s.signals)
    };
    let ml_note = if eval.scored == 0 {
        Some(format!(
            "no signal scored: fewer than {} labelled signals before any test window, so every signal passed",
            eval.min_train
        ))
    } else {
        Some(format!(
            "{} of {} signals scored out of sample; pass rate among them {:.3}",
            eval.scored, eval.signals, ml_rate
        ))
    };
    let mut ml_row = row(
        &second[0],
        ml,
        Some(rate(
            (eval.signals - eval.scored + eval.scored_passed) as u64,
            eval.signals as u64,
        )),
        ml_note,
    );
    ml_row.ml = Some(eval);
    ml_row.pnl_diff_ci_vs_random = ml_vs_random;
    let variants = vec![
        row(&base[0], rules, None, None),
        row(&base[1], adaptive, Some(adaptive_rate), None),
        row(&base[2], regime, Some(regime_rate), None),
        ml_row,
        row(&second[1], online, Some(online_rate), None),
        row(
            &second[2],
            random,
            Some(ml_rate),
            Some("pass rate of ml_filter among the signals it scored".into()),
        ),
        row(
            &second[3],
            random_regime,
            Some(regime_rate),
            Some("pass rate of adaptive+regime".into()),
        ),
    ];
    Ok(Comparison {
        variants,
        bootstrap: BootstrapInfo {
            days,
            block_days: block,
            resamples: opts.bootstrap_resamples,
            seed: opts.seed ^ 0xB007,
        },
    })
}

impl Comparison {
    /// `{"variants": [...], "bootstrap": {...}}`, deterministic.
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string_pretty(self).map_err(|e| BacktestError::Report(e.to_string()))
    }

    /// One aligned table.
    pub fn table(&self) -> String {
        let mut o = format!(
            "{:<16}{:>7}{:>7}{:>11}{:>10}{:>10}{:>9}{:>7}{:>8}{:>8}{:>7}  {}\n",
            "variant",
            "trades",
            "win%",
            "net",
            "fees",
            "slippage",
            "funding",
            "PF",
            "maxDD%",
            "sharpe",
            "pass",
            "net vs rules, 95% CI"
        );
        for v in &self.variants {
            match &v.summary {
                None => {
                    let _ = writeln!(
                        o,
                        "{:<16}{}",
                        v.name,
                        v.note.as_deref().unwrap_or("no figures")
                    );
                }
                Some(s) => {
                    let st = &s.stats;
                    let ci = v
                        .pnl_diff_ci
                        .map_or_else(|| "-".to_string(), |[a, b]| format!("[{a:.2}, {b:.2}]"));
                    let _ = writeln!(
                        o,
                        "{:<16}{:>7}{:>7.1}{:>11.2}{:>10.2}{:>10.2}{:>9.2}{:>7}{:>8.2}{:>8}{:>7}  {}",
                        v.name,
                        st.trades,
                        st.win_rate * 100.0,
                        st.net_pnl,
                        st.fees,
                        st.slippage,
                        st.funding,
                        opt(st.profit_factor, 2),
                        s.max_drawdown * 100.0,
                        opt(s.sharpe, 2),
                        v.pass_rate.map_or_else(|| "-".into(), |x| format!("{x:.2}")),
                        ci
                    );
                }
            }
        }
        o.push_str(&self.ml_text());
        let _ = writeln!(
            o,
            "CI: moving-block bootstrap over {} UTC days (block {} days, {} resamples, seed {}).",
            self.bootstrap.days,
            self.bootstrap.block_days,
            self.bootstrap.resamples,
            self.bootstrap.seed
        );
        o
    }

    /// The ML rows' evaluation: the filter against random, the walk-forward scores, the
    /// threshold sweep, the online filter's rolling figures.
    pub fn ml_text(&self) -> String {
        let mut o = String::new();
        for v in &self.variants {
            if let Some([a, b]) = v.pnl_diff_ci_vs_random {
                let _ = writeln!(
                    o,
                    "{} vs random at the same pass rate: net difference 95% CI [{a:.2}, {b:.2}]",
                    v.name
                );
            }
            if let Some(e) = &v.ml {
                let sc = e.scores.as_ref();
                let _ = writeln!(
                    o,
                    "{}: {} signals, {} with a shadow label, {} scored out of sample in {}/{} windows of {} (purged, embargo {} min, train on <= {} latest, >= {}); \
                     AUC {}, log loss {}, Brier {}, base rate {}; shadow win rate of passed {} vs rejected {}",
                    v.name,
                    e.signals,
                    e.labelled,
                    e.scored,
                    e.folds_scored,
                    e.folds,
                    e.test_size,
                    e.embargo_ms / 60_000,
                    e.max_train,
                    e.min_train,
                    opt(sc.and_then(|s| s.auc), 3),
                    opt(sc.map(|s| s.log_loss), 4),
                    opt(sc.map(|s| s.brier), 4),
                    opt(sc.map(|s| s.base_rate), 3),
                    opt(e.shadow_win_rate_passed, 3),
                    opt(e.shadow_win_rate_rejected, 3),
                );
                if let Some((name, a)) = &e.best_single_feature {
                    let _ = writeln!(o, "  best single feature: {name}, AUC {a:.3}");
                }
                let _ = writeln!(
                    o,
                    "  threshold sweep on the scored signals' shadow trades (all scored: mean net {} USDT per signal):",
                    opt(e.shadow_mean_net_scored, 3)
                );
                for r in &e.threshold_sweep {
                    let _ = writeln!(
                        o,
                        "    p >= {:<5} pass {:>6} ({:>5.1}%)  win {:>6}  mean net {:>8} USDT",
                        r.threshold,
                        r.passed,
                        r.pass_rate * 100.0,
                        opt(r.win_rate, 3),
                        opt(r.mean_net, 3)
                    );
                }
            }
            if let Some(m) = v.report.as_ref().and_then(|r| r.ml_filter.as_ref()) {
                let _ = writeln!(
                    o,
                    "{}: model v{}, {} labels, {} refits; last {} labelled: AUC {}, log loss {:.4}, Brier {:.4}; win rate passed {} ({}), rejected {} ({})",
                    v.name,
                    m.stats.version,
                    m.stats.labelled,
                    m.stats.refits,
                    m.metrics.scores.n,
                    opt(m.metrics.scores.auc, 3),
                    m.metrics.scores.log_loss,
                    m.metrics.scores.brier,
                    opt(m.metrics.passed_win_rate, 3),
                    m.metrics.passed,
                    opt(m.metrics.rejected_win_rate, 3),
                    m.metrics.rejected,
                );
            }
        }
        o
    }

    /// HTML page with the table and the variants' equity curves.
    pub fn to_html(&self) -> Result<String> {
        crate::html::compare_html(self)
    }

    /// The variants with figures, by name.
    pub fn by_name(&self) -> BTreeMap<&str, &Variant> {
        self.variants.iter().map(|v| (v.name.as_str(), v)).collect()
    }
}
