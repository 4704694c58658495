#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The filter is measured honestly: out of sample, it finds nothing where there is
//! nothing, and finds what was planted.

mod common;

use common::{shuffle_labels, trades, tuples, Truth};
use shmtrader_ml::metrics::log_loss;
use shmtrader_ml::{
    purged_split, select_model, walk_forward, Kind, TrainParams, WalkForwardParams, WfModel,
};

fn wf(rows: &[shmtrader_ml::Example], model: WfModel) -> shmtrader_ml::WalkForward {
    let p = WalkForwardParams {
        test_size: 500,
        min_train: 400,
        embargo_ns: 60_000_000_000,
        max_train: Some(2_000),
        model,
        train: TrainParams::default(),
    };
    walk_forward(&tuples(rows), &p).unwrap()
}

/// Out-of-sample AUC ≈ 0.5 and no log-loss gain over always answering the base rate.
fn assert_no_gain(rows: &[shmtrader_ml::Example], what: &str) {
    for model in [WfModel::Logistic, WfModel::Gbt, WfModel::Auto] {
        let r = wf(rows, model);
        let s = r.scores.unwrap();
        let (p, y): (Vec<f64>, Vec<bool>) = r
            .probs
            .iter()
            .zip(rows)
            .filter_map(|(p, e)| p.map(|q| (q, e.label)))
            .unzip();
        let base = log_loss(&vec![s.base_rate; y.len()], &y);
        let auc = s.auc.unwrap();
        eprintln!(
            "{what} {model:?}: n {} auc {auc:.3} log loss {:.4} (base rate {base:.4}) brier {:.4}",
            s.n, s.log_loss, s.brier
        );
        assert!(s.n >= 2_000);
        // One draw: AUC's standard error at n = 2500 is ≈ 0.012, so ±0.05 is ≈ 4σ.
        assert!((auc - 0.5).abs() < 0.05, "{what} {model:?}: auc {auc}");
        // Calibrated probabilities must not claim a skill they do not have: no better
        // than the (in hindsight) base rate, and not much worse.
        assert!(
            s.log_loss > base - 0.005,
            "{what} {model:?}: {} vs {base}",
            s.log_loss
        );
        assert!(
            s.log_loss < base + 0.05,
            "{what} {model:?}: {} vs {base}",
            s.log_loss
        );
        assert_eq!(p.len(), s.n);
    }
}

#[test]
fn no_gain_on_pure_noise() {
    assert_no_gain(&trades(3_000, Truth::Noise, 1), "noise");
}

#[test]
fn no_gain_on_shuffled_labels() {
    let mut rows = trades(3_000, Truth::Linear, 2);
    shuffle_labels(&mut rows, 3);
    assert_no_gain(&rows, "shuffled");
}

/// One seed can land 3σ out; across seeds the shuffled-label AUC must centre on 0.5.
#[test]
fn shuffled_label_auc_centres_on_half_across_seeds() {
    let mut aucs = Vec::new();
    for seed in 10..18u64 {
        let mut rows = trades(3_000, Truth::Linear, seed);
        shuffle_labels(&mut rows, seed + 100);
        let s = wf(&rows, WfModel::Logistic).scores.unwrap();
        aucs.push(s.auc.unwrap());
    }
    let mean = aucs.iter().sum::<f64>() / aucs.len() as f64;
    eprintln!("shuffled AUCs {aucs:.3?}, mean {mean:.4}");
    // Standard error of the mean of 8 ≈ 0.012 / √8 ≈ 0.004.
    assert!((mean - 0.5).abs() < 0.015, "mean {mean}");
    assert!(aucs.iter().all(|a| (a - 0.5).abs() < 0.05), "{aucs:?}");
}

#[test]
fn gain_on_a_planted_signal() {
    let rows = trades(3_000, Truth::Linear, 4);
    for model in [WfModel::Logistic, WfModel::Gbt, WfModel::Auto] {
        let s = wf(&rows, model).scores.unwrap();
        let y: Vec<bool> = rows.iter().map(|r| r.label).collect();
        let base = log_loss(&vec![s.base_rate; y.len()], &y);
        eprintln!(
            "planted {model:?}: n {} auc {:.3} log loss {:.4} (base rate {base:.4}) brier {:.4}",
            s.n,
            s.auc.unwrap(),
            s.log_loss,
            s.brier
        );
        assert!(s.auc.unwrap() > 0.7, "{model:?}: {s:?}");
        assert!(s.log_loss < base - 0.03, "{model:?}: {s:?}");
    }
}

#[test]
fn baseline_stays_on_linear_data_and_noise() {
    for (truth, seed) in [(Truth::Linear, 5), (Truth::Noise, 6)] {
        let rows = trades(2_000, truth, seed);
        let (train, valid, _) = purged_split(&rows, 0.25);
        let sel = select_model(&train, &valid, &TrainParams::default()).unwrap();
        eprintln!("{truth:?}: {}", sel.report.reason);
        assert_eq!(sel.report.chosen, Kind::Logistic, "{}", sel.report.reason);
        assert_eq!(sel.model.kind(), Kind::Logistic);
    }
}

#[test]
fn challenger_wins_only_where_it_is_better() {
    let rows = trades(3_000, Truth::Interaction, 7);
    let (train, valid, _) = purged_split(&rows, 0.25);
    let sel = select_model(&train, &valid, &TrainParams::default()).unwrap();
    eprintln!("interaction: {}", sel.report.reason);
    assert_eq!(sel.report.chosen, Kind::Gbt, "{}", sel.report.reason);
    assert!(sel.report.z > 1.645);
    let c = sel.report.challenger.unwrap();
    assert!(c.log_loss < sel.report.baseline.log_loss);
    assert!(c.auc.unwrap() > 0.65);
}
