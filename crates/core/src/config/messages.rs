//! What a config error says: where a key was set, the nearest valid key, the line of a
//! syntax error, a value written as TOML.
//!
//! A new user's first mistakes are a misspelt key, a value out of range and a missing
//! quote. Each message names the key once, the value given, what is allowed and the
//! file line or environment variable to fix, so the user need not read the source to
//! find out what went wrong. The values are merged (file over embedded default, then
//! environment) before serde sees them, so serde's own errors cannot say where a key
//! came from: [`Sources`] remembers that while merging.

use crate::error::{ConfigOrigin, CoreError};
use std::collections::BTreeMap;

/// Where each key of the merged configuration was set (file line or environment
/// variable). Keys the embedded default set are absent.
#[derive(Debug, Default)]
pub(super) struct Sources {
    /// Dotted key → origin, and whether the entry is a `[table]` header (a header
    /// locates keys it defines, never keys the default filled in under it).
    keys: BTreeMap<String, (ConfigOrigin, bool)>,
}

impl Sources {
    /// Records the line of every key and table header in `text` (already known to
    /// parse). Uses `toml_edit` because `toml` keeps no spans of nested keys.
    pub(super) fn from_file(text: &str, file: &str) -> Sources {
        let mut s = Sources::default();
        if let Ok(doc) = toml_edit::ImDocument::parse(text) {
            s.walk_table(doc.as_table(), "", text, file);
        }
        s
    }

    fn walk_table(&mut self, t: &toml_edit::Table, prefix: &str, text: &str, file: &str) {
        for (k, item) in t.iter() {
            let key = join(prefix, k);
            let key_span = t.key(k).and_then(|k| k.span());
            match item {
                toml_edit::Item::Table(sub) => {
                    // A `[header]` is located by its own span; a dotted `a.b = 1` by its key.
                    if let Some(span) = sub.span().or(key_span) {
                        self.insert_file(&key, file, line_col(text, span.start).0, true);
                    }
                    self.walk_table(sub, &key, text, file);
                }
                toml_edit::Item::Value(toml_edit::Value::InlineTable(inline)) => {
                    if let Some(span) = key_span {
                        self.insert_file(&key, file, line_col(text, span.start).0, false);
                    }
                    self.walk_inline(inline, &key, text, file);
                }
                _ => {
                    if let Some(span) = key_span {
                        self.insert_file(&key, file, line_col(text, span.start).0, false);
                    }
                }
            }
        }
    }

    fn walk_inline(&mut self, t: &toml_edit::InlineTable, prefix: &str, text: &str, file: &str) {
        for (k, v) in t.iter() {
            let key = join(prefix, k);
            if let Some(span) = t.key(k).and_then(|k| k.span()) {
                self.insert_file(&key, file, line_col(text, span.start).0, false);
            }
            if let toml_edit::Value::InlineTable(inner) = v {
                self.walk_inline(inner, &key, text, file);
            }
        }
    }

    fn insert_file(&mut self, key: &str, file: &str, line: usize, header: bool) {
        let origin = ConfigOrigin::File {
            file: file.to_string(),
            line,
        };
        self.keys.insert(key.to_string(), (origin, header));
    }

    /// Records that environment variable `var` set `key` (over any file line).
    pub(super) fn set_env(&mut self, key: &str, var: &str) {
        let origin = ConfigOrigin::Env {
            var: var.to_string(),
        };
        self.keys.insert(key.to_string(), (origin, false));
    }

    /// Where `key` was set: the key itself, else the nearest enclosing key that was
    /// set as a value (`risk = 3` sets every `risk.*`). `None` for the default's keys.
    pub(super) fn origin_of(&self, key: &str) -> Option<&ConfigOrigin> {
        // An array element (`mult[1]`) was set where its array was.
        let key = key.split('[').next().unwrap_or(key);
        if let Some((o, _)) = self.keys.get(key) {
            return Some(o);
        }
        let mut k = key;
        while let Some((parent, _)) = k.rsplit_once('.') {
            if let Some((o, false)) = self.keys.get(parent) {
                return Some(o);
            }
            k = parent;
        }
        None
    }

    /// The error for a key no table has, blamed on the variable or file line that set
    /// it; `known` are the valid dotted keys the suggestion is drawn from.
    pub(super) fn unknown_key(&self, key: &str, file: &str, known: &[String]) -> CoreError {
        // serde names the first unknown level: for `SHMTRADER_FOO__BAR` that is `foo`,
        // set by no one but the variable that set `foo.bar`.
        let prefix = format!("{key}.");
        let origin = self.origin_of(key).or_else(|| {
            self.keys
                .iter()
                .find(|(k, _)| k.starts_with(&prefix))
                .map(|(_, (o, _))| o)
        });
        let suggestion = suggest(key, known);
        match origin {
            Some(ConfigOrigin::Env { var }) => CoreError::UnknownConfigVar {
                var: var.clone(),
                // Suggest from the whole variable, not the level serde stopped at.
                suggestion: suggest(&env_key(var), known)
                    .map(|s| env_var_for(&s))
                    .filter(|s| s != var),
            },
            Some(ConfigOrigin::File { file, line }) => CoreError::UnknownConfigKey {
                key: key.to_string(),
                file: file.clone(),
                line: Some(*line),
                suggestion,
            },
            None => CoreError::UnknownConfigKey {
                key: key.to_string(),
                file: file.to_string(),
                line: None,
                suggestion,
            },
        }
    }
}

fn join(prefix: &str, k: &str) -> String {
    if prefix.is_empty() {
        k.to_string()
    } else {
        format!("{prefix}.{k}")
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
pub(super) fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = text.get(..at).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}

/// A TOML syntax error in `text` (read from `file`) with its line, column and the
/// offending line, the parser's multi-line explanation joined into one.
pub(super) fn syntax_error(file: &str, text: &str, e: &toml::de::Error) -> CoreError {
    let at = e.span().map_or(text.len(), |s| s.start);
    let (line, column) = line_col(text, at);
    let line_text = text.lines().nth(line - 1).unwrap_or("").trim().to_string();
    let message = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(", ");
    CoreError::ConfigSyntax {
        file: file.to_string(),
        line,
        column,
        text: line_text,
        message,
    }
}

/// Every dotted key (tables and values) of `table`: the valid keys suggestions are
/// drawn from, taken from the embedded default, which lists every key.
pub(super) fn known_keys(table: &toml::Table) -> Vec<String> {
    fn walk(t: &toml::Table, prefix: &str, out: &mut Vec<String>) {
        for (k, v) in t {
            let key = join(prefix, k);
            if let toml::Value::Table(sub) = v {
                walk(sub, &key, out);
            }
            out.push(key);
        }
    }
    let mut out = Vec::new();
    walk(table, "", &mut out);
    out
}

/// The valid key nearest to `unknown`, only when it is close: first a sibling in the
/// same table (`risk.leverge` → `risk.leverage`, `max_restart` → `max_restarts`), then
/// the same name in another table (`leverage` → `risk.leverage`, `risk.ema_fast` →
/// `indicators.ema_fast`). Distances count a transposition as one edit (`rsik` →
/// `risk`).
pub(super) fn suggest(unknown: &str, known: &[String]) -> Option<String> {
    let (parent, leaf) = unknown.rsplit_once('.').unwrap_or(("", unknown));
    let split = |k: &'_ String| -> (String, String) {
        let (p, l) = k.rsplit_once('.').unwrap_or(("", k));
        (p.to_string(), l.to_string())
    };
    let close = |a: &str, b: &str| {
        let d = strsim::osa_distance(a, b);
        (d <= max_edits(a)).then_some(d)
    };
    let sibling = known
        .iter()
        .filter(|k| k.as_str() != unknown && split(k).0 == parent)
        .filter_map(|k| close(leaf, &split(k).1).map(|d| (d, k)))
        .min_by_key(|(d, _)| *d);
    if let Some((_, k)) = sibling {
        return Some(k.clone());
    }
    // In another table the name must be the same, or both the table and the name
    // close (`riskk.leverge`); `foo.bar` is not `rings.bars`.
    known
        .iter()
        .filter(|k| k.as_str() != unknown)
        .filter_map(|k| {
            let (p, l) = split(k);
            let d = close(leaf, &l)?;
            let dp = if d == 0 {
                strsim::osa_distance(parent, &p)
            } else {
                close(parent, &p)?
            };
            Some((d + dp, k))
        })
        .min_by_key(|(d, k)| (*d, k.len()))
        .map(|(_, k)| k.clone())
}

/// Edits allowed for a suggestion: one for short names (where two edits make any
/// name "close"), a quarter of the length, at least two, for longer ones.
fn max_edits(name: &str) -> usize {
    let n = name.chars().count();
    if n <= 4 {
        1
    } else {
        (n / 4).max(2)
    }
}

/// The dotted key environment variable `var` sets: `SHMTRADER_RISK__LEVERAGE` →
/// `risk.leverage`.
pub(super) fn env_key(var: &str) -> String {
    let rest = var.strip_prefix("SHMTRADER_").unwrap_or(var);
    rest.split("__")
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(".")
}

/// The environment variable that sets dotted `key`: `risk.leverage` →
/// `SHMTRADER_RISK__LEVERAGE`.
pub(super) fn env_var_for(key: &str) -> String {
    format!("SHMTRADER_{}", key.replace('.', "__").to_ascii_uppercase())
}

/// The value at serde path `path` (`risk.leverage`, `strategy.regime_threshold_mult[2]`)
/// of `table`, written as TOML.
pub(super) fn value_at(table: &toml::Table, path: &str) -> Option<String> {
    let mut cur: Option<&toml::Value> = None;
    for seg in path.split('.') {
        let (name, indices) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        cur = match cur {
            None => table.get(name),
            Some(toml::Value::Table(t)) => t.get(name),
            Some(_) => None,
        };
        for idx in indices.split(['[', ']']).filter(|s| !s.is_empty()) {
            let i: usize = idx.parse().ok()?;
            cur = cur.and_then(|v| v.as_array()).and_then(|a| a.get(i));
        }
        cur?;
    }
    cur.map(|v| v.to_string())
}

/// A value written as TOML (`500`, `"ten"`, `[1.0, 0.0]`), for `key = value` messages.
pub(super) fn toml_text<V: serde::Serialize + ?Sized>(v: &V) -> String {
    toml::Value::try_from(v).map_or_else(|e| format!("<{e}>"), |v| v.to_string())
}

/// serde's explanation of a bad value, reworded to say what is allowed:
/// `invalid type: string "ten", expected u32` → `expected an integer in 0..=4294967295`
/// (the value itself is printed once, before the colon, by the caller).
pub(super) fn what_is_allowed(msg: &str) -> String {
    let msg = msg.lines().next().unwrap_or(msg).trim();
    let Some((_, expected)) = msg.split_once(", expected ") else {
        return msg.to_string();
    };
    let ty = match expected {
        "u8" => "an integer in 0..=255".to_string(),
        "u16" => "an integer in 0..=65535".to_string(),
        "u32" => format!("an integer in 0..={}", u32::MAX),
        // TOML integers are i64: that is the largest a file can give.
        "u64" | "usize" => format!("an integer in 0..={}", i64::MAX),
        "i64" => "an integer".to_string(),
        "f32" | "f64" => "a number".to_string(),
        s if s.starts_with("struct ") => "a table".to_string(),
        other => other.to_string(),
    };
    format!("expected {ty}")
}
