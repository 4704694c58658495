//! A complete model (standardizer + scorer + isotonic calibration), how it is trained,
//! how the challenger is chosen, and how it is saved.
//!
//! Every split is chronological and purged: rows are ordered by signal time, the later
//! part is held out, and an earlier row whose label was not yet known when the held-out
//! part begins (exit time ≥ its first signal time) is dropped from the earlier part.
//! A shuffled split would let the model train on trades that overlap the ones it is
//! scored on, and report a skill it does not have.
//!
//! Training a model of one kind ([`fit`]): standardizer and scorer on the earlier
//! `1 − calib_fraction`, isotonic calibration on the later `calib_fraction`.
//! Choosing ([`select_model`]): both kinds trained on `train`, scored on `valid`; the
//! trees become the model only if they beat the logistic baseline's log loss on `valid`
//! by a margin that noise would rarely produce (paired z-test on per-example log loss).
//! [`train_auto`] does both: select on a purged train/valid split of the rows, then
//! refit the winner on all of them.

use crate::calibration::Isotonic;
use crate::error::{MlError, Result};
use crate::features::{FeatureVec, NAMES, N_FEATURES};
use crate::gbt::{Gbt, GbtParams};
use crate::label::Example;
use crate::logistic::{Logistic, LogisticParams, Standardizer};
use crate::metrics::{log_loss_one, Scores};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Model families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// L2 logistic regression (baseline).
    Logistic,
    /// Gradient-boosted trees (challenger).
    Gbt,
}

impl Kind {
    /// Lowercase name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Kind::Logistic => "logistic",
            Kind::Gbt => "gbt",
        }
    }
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Logistic regression.
    pub logistic: LogisticParams,
    /// Boosted trees.
    pub gbt: GbtParams,
    /// Latest fraction of rows (by signal time) held out for isotonic calibration.
    pub calib_fraction: f64,
    /// Latest fraction held out to choose between the baseline and the challenger.
    pub valid_fraction: f64,
    /// Fewest rows a model may be fitted on (after the holdouts).
    pub min_fit_rows: usize,
    /// Fewest rows for calibration and for validation.
    pub min_holdout_rows: usize,
    /// One-sided z the challenger's log-loss improvement must exceed (1.645 ≈ 5 %).
    pub select_z: f64,
    /// Whether the challenger is tried at all.
    pub try_challenger: bool,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            logistic: LogisticParams::default(),
            gbt: GbtParams::default(),
            calib_fraction: 0.25,
            valid_fraction: 0.2,
            min_fit_rows: 60,
            min_holdout_rows: 30,
            select_z: 1.645,
            try_challenger: true,
        }
    }
}

impl TrainParams {
    /// Rejects settings that cannot work, naming the field.
    pub fn validate(&self) -> Result<()> {
        let frac = |v: f64| v > 0.0 && v < 0.9;
        if !frac(self.calib_fraction) {
            return Err(MlError::Param(
                "train.calib_fraction must be in (0, 0.9)".into(),
            ));
        }
        if !frac(self.valid_fraction) {
            return Err(MlError::Param(
                "train.valid_fraction must be in (0, 0.9)".into(),
            ));
        }
        if self.min_fit_rows < 10 || self.min_holdout_rows < 5 {
            return Err(MlError::Param(
                "train.min_fit_rows must be >= 10 and min_holdout_rows >= 5".into(),
            ));
        }
        if !self.select_z.is_finite() {
            return Err(MlError::Param("train.select_z must be finite".into()));
        }
        Ok(())
    }
}

/// The scorer inside a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Scorer {
    /// Baseline.
    Logistic(Logistic),
    /// Challenger.
    Gbt(Gbt),
}

/// The challenger decision, kept in the model for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectionReport {
    /// The winner.
    pub chosen: Kind,
    /// Baseline scores on the validation rows.
    pub baseline: Scores,
    /// Challenger scores on the validation rows (`None` if it could not be fitted or
    /// was not tried).
    pub challenger: Option<Scores>,
    /// Paired z of the log-loss improvement (challenger better > 0).
    pub z: f64,
    /// Why, in words.
    pub reason: String,
}

/// What a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Rows the standardizer and scorer were fitted on.
    pub fit_rows: usize,
    /// Rows the calibration was fitted on.
    pub calib_rows: usize,
    /// Rows purged because their label overlapped the calibration period.
    pub purged_rows: usize,
    /// Signal time of the last row used (ns).
    pub last_ts_ns: u64,
    /// The selection that chose this kind, if one was made.
    pub selection: Option<SelectionReport>,
}

/// A complete model: `x → standardize → score → calibrate → P(net PnL > 0)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    version: u64,
    std: Standardizer,
    scorer: Scorer,
    calib: Option<Isotonic>,
    /// Provenance.
    pub info: ModelInfo,
}

impl Model {
    /// Version id (assigned by the online filter when installed; 0 = never installed).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Sets the version id.
    pub fn set_version(&mut self, v: u64) {
        self.version = v;
    }

    /// Its family.
    pub fn kind(&self) -> Kind {
        match self.scorer {
            Scorer::Logistic(_) => Kind::Logistic,
            Scorer::Gbt(_) => Kind::Gbt,
        }
    }

    /// The uncalibrated probability.
    #[inline]
    pub fn predict_raw(&self, x: &FeatureVec) -> f64 {
        let z = self.std.apply(x);
        match &self.scorer {
            Scorer::Logistic(m) => m.prob(&z),
            Scorer::Gbt(m) => m.prob(&z),
        }
    }

    /// P(the trade is profitable after costs). Allocation-free.
    #[inline]
    pub fn predict(&self, x: &FeatureVec) -> f64 {
        let raw = self.predict_raw(x);
        match &self.calib {
            Some(c) => c.apply(raw),
            None => raw,
        }
    }

    pub(crate) fn validate(&self) -> std::result::Result<(), String> {
        self.std.validate()?;
        match &self.scorer {
            Scorer::Logistic(m) => {
                if !(m.b.is_finite() && m.w.iter().all(|v| v.is_finite())) {
                    return Err("logistic: non-finite coefficients".into());
                }
            }
            Scorer::Gbt(m) => m.validate()?,
        }
        if let Some(c) = &self.calib {
            c.validate()?;
        }
        Ok(())
    }

    /// Writes the model as JSON, atomically (temporary file + rename), so a crash
    /// mid-write leaves the previous file intact.
    pub fn save(&self, path: &Path) -> Result<()> {
        let file = ModelFile {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            model: self.clone(),
        };
        let text = serde_json::to_string(&file).map_err(|e| MlError::Format {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        write_atomic(path, text.as_bytes())
    }

    /// Reads a model written by [`Model::save`]; refuses other formats and damaged
    /// contents (non-finite values, inconsistent trees, unsorted calibration).
    pub fn load(path: &Path) -> Result<Model> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| MlError::io(format!("reading model {}", path.display()), e))?;
        let bad = |reason: String| MlError::Format {
            path: path.display().to_string(),
            reason,
        };
        let file: ModelFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        if file.format != FORMAT || file.format_version != FORMAT_VERSION {
            return Err(bad(format!(
                "format {:?} v{} is not {FORMAT:?} v{FORMAT_VERSION}",
                file.format, file.format_version
            )));
        }
        file.model.validate().map_err(bad)?;
        Ok(file.model)
    }
}

const FORMAT: &str = "shmtrader-ml-model";
const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    format_version: u32,
    model: Model,
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)
        .map_err(|e| MlError::io(format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        MlError::io(
            format!("renaming {} to {}", tmp.display(), path.display()),
            e,
        )
    })
}

/// Splits rows into an earlier and a later part by signal time: the later part is the
/// last `tail_fraction` of rows; earlier rows whose exit is not strictly before the later
/// part's first signal are purged. Returns (earlier, later, purged count). Rows need not
/// be sorted.
pub fn purged_split(rows: &[Example], tail_fraction: f64) -> (Vec<Example>, Vec<Example>, usize) {
    let mut sorted = rows.to_vec();
    sorted.sort_by_key(|r| r.ts_ns);
    let n = sorted.len();
    let n_tail = ((n as f64 * tail_fraction).round() as usize).clamp(0, n);
    let cut = n - n_tail;
    let tail = sorted.split_off(cut);
    let start = tail.first().map_or(u64::MAX, |r| r.ts_ns);
    let before = sorted.len();
    sorted.retain(|r| r.exit_ts_ns < start);
    let purged = before - sorted.len();
    (sorted, tail, purged)
}

fn xy(rows: &[Example]) -> (Vec<FeatureVec>, Vec<bool>) {
    rows.iter().map(|r| (r.x, r.label)).unzip()
}

/// Fits one model of `kind` (see the module doc). Needs `min_fit_rows` rows before the
/// calibration holdout and `min_holdout_rows` in it.
pub fn fit(kind: Kind, rows: &[Example], p: &TrainParams) -> Result<Model> {
    p.validate()?;
    let (fit_rows, cal_rows, purged) = purged_split(rows, p.calib_fraction);
    if fit_rows.len() < p.min_fit_rows || cal_rows.len() < p.min_holdout_rows {
        return Err(MlError::Data(format!(
            "{} rows: {} to fit (need {}), {} to calibrate (need {}), {purged} purged",
            rows.len(),
            fit_rows.len(),
            p.min_fit_rows,
            cal_rows.len(),
            p.min_holdout_rows
        )));
    }
    let (xs, ys) = xy(&fit_rows);
    let std = Standardizer::fit(&xs)?;
    let zs: Vec<FeatureVec> = xs.iter().map(|x| std.apply(x)).collect();
    let scorer = match kind {
        Kind::Logistic => Scorer::Logistic(Logistic::fit(&zs, &ys, &p.logistic)?),
        Kind::Gbt => Scorer::Gbt(Gbt::fit(&zs, &ys, &p.gbt)?),
    };
    let mut m = Model {
        version: 0,
        std,
        scorer,
        calib: None,
        info: ModelInfo {
            fit_rows: fit_rows.len(),
            calib_rows: cal_rows.len(),
            purged_rows: purged,
            last_ts_ns: cal_rows.iter().map(|r| r.ts_ns).max().unwrap_or(0),
            selection: None,
        },
    };
    let raw: Vec<f64> = cal_rows.iter().map(|r| m.predict_raw(&r.x)).collect();
    let labels: Vec<bool> = cal_rows.iter().map(|r| r.label).collect();
    m.calib = Some(Isotonic::fit(&raw, &labels)?);
    Ok(m)
}

/// The result of [`select_model`]: the chosen model (fitted on `train`) and why.
#[derive(Debug, Clone)]
pub struct Selection {
    /// The winner, fitted on `train`.
    pub model: Model,
    /// Scores and the reason.
    pub report: SelectionReport,
}

/// Fits the baseline and the challenger on `train` and keeps the challenger only if its
/// out-of-sample log loss on `valid` is better by more than `select_z` standard errors
/// of the paired per-example difference. Log loss, a proper scoring rule, is the
/// criterion because the filter thresholds probabilities; AUC is reported alongside.
pub fn select_model(train: &[Example], valid: &[Example], p: &TrainParams) -> Result<Selection> {
    if valid.len() < p.min_holdout_rows {
        return Err(MlError::Data(format!(
            "{} validation rows, need {}",
            valid.len(),
            p.min_holdout_rows
        )));
    }
    let base = fit(Kind::Logistic, train, p)?;
    let labels: Vec<bool> = valid.iter().map(|r| r.label).collect();
    let pb: Vec<f64> = valid.iter().map(|r| base.predict(&r.x)).collect();
    let base_scores = Scores::of(&pb, &labels);
    let chal = if p.try_challenger {
        Some(fit(Kind::Gbt, train, p))
    } else {
        None
    };
    let (model, report) = match chal {
        None => (
            base,
            SelectionReport {
                chosen: Kind::Logistic,
                baseline: base_scores,
                challenger: None,
                z: 0.0,
                reason: "challenger disabled".into(),
            },
        ),
        Some(Err(e)) => (
            base,
            SelectionReport {
                chosen: Kind::Logistic,
                baseline: base_scores,
                challenger: None,
                z: 0.0,
                reason: format!("challenger could not be fitted: {e}"),
            },
        ),
        Some(Ok(gbt)) => {
            let pc: Vec<f64> = valid.iter().map(|r| gbt.predict(&r.x)).collect();
            let chal_scores = Scores::of(&pc, &labels);
            let d: Vec<f64> = pb
                .iter()
                .zip(&pc)
                .zip(&labels)
                .map(|((&b, &c), &y)| log_loss_one(b, y) - log_loss_one(c, y))
                .collect();
            let n = d.len() as f64;
            let mean = d.iter().sum::<f64>() / n;
            let var = d.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
            let se = (var / n).sqrt();
            let z = if se > 0.0 { mean / se } else { 0.0 };
            let wins = z > p.select_z;
            let reason = format!(
                "validation log loss: logistic {:.4}, gbt {:.4} (AUC {} vs {}); improvement \
                 {:.4} per trade, z = {z:.2} {} {:.2}: {}",
                base_scores.log_loss,
                chal_scores.log_loss,
                fmt_auc(base_scores.auc),
                fmt_auc(chal_scores.auc),
                mean,
                if wins { ">" } else { "<=" },
                p.select_z,
                if wins {
                    "the challenger wins"
                } else {
                    "the baseline stays"
                }
            );
            let report = SelectionReport {
                chosen: if wins { Kind::Gbt } else { Kind::Logistic },
                baseline: base_scores,
                challenger: Some(chal_scores),
                z,
                reason,
            };
            (if wins { gbt } else { base }, report)
        }
    };
    Ok(Selection { model, report })
}

fn fmt_auc(a: Option<f64>) -> String {
    a.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// Chooses the kind on a purged (train, valid) split of `rows`, then refits that kind on
/// all of them; the selection report goes into the model's info.
pub fn train_auto(rows: &[Example], p: &TrainParams) -> Result<Model> {
    p.validate()?;
    let (train, valid, _) = purged_split(rows, p.valid_fraction);
    let sel = select_model(&train, &valid, p)?;
    let mut m = fit(sel.report.chosen, rows, p)?;
    m.info.selection = Some(sel.report);
    Ok(m)
}

const _: () = assert!(N_FEATURES == NAMES.len());

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Example> {
        (0..n as u64)
            .map(|i| Example {
                ts_ns: i * 10,
                exit_ts_ns: i * 10 + 25,
                x: [i as f64; N_FEATURES],
                label: i % 3 == 0,
            })
            .collect()
    }

    #[test]
    fn split_is_chronological_and_purged() {
        let mut r = rows(100);
        r.reverse();
        let (a, b, purged) = purged_split(&r, 0.2);
        assert_eq!(b.len(), 20);
        let start = b[0].ts_ns;
        assert_eq!(start, 800);
        assert!(a.iter().all(|x| x.exit_ts_ns < start));
        // Rows 78 and 79 (exits 805, 815) overlap the holdout and are purged.
        assert_eq!((a.len(), purged), (78, 2));
    }

    #[test]
    fn too_few_rows_is_a_clear_error() {
        let e = fit(Kind::Logistic, &rows(20), &TrainParams::default()).unwrap_err();
        assert!(e.to_string().contains("to fit"), "{e}");
        let bad = TrainParams {
            calib_fraction: 1.5,
            ..TrainParams::default()
        };
        assert!(matches!(bad.validate(), Err(MlError::Param(_))));
    }
}
