//! Configuration types: parsed from TOML text, overridden by `SHMTRADER_*` variables,
//! validated before anything starts.
//!
//! Every struct denies unknown keys, so a typo (`max_restart` for `max_restarts`) refuses
//! to start with the key named instead of silently running on a default; the file line
//! or variable that set a bad key, the value given and what is allowed are named too
//! (see `messages`). Reading a file is [`Config::from_file_with_env`]'s only I/O.
//!
//! Layout: the section types are in `types` (one struct per TOML table), the checks of
//! values that parse but make no sense in `validate`, loading and the `SHMTRADER_*`
//! overrides in `loading`, the wording of errors in `messages`.

mod loading;
mod messages;
mod types;
mod validate;

pub use loading::NON_CONFIG_VARS;
pub use types::*;
pub use validate::is_loopback_url;

use crate::error::Result;
use std::collections::BTreeMap;

/// The embedded default configuration (identical to `config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../../config/default.toml");

impl Config {
    /// The user-data stream layout in force (`auto` resolved against `ingest.paths`).
    pub fn user_stream_layout(&self) -> UserStreamLayout {
        match (self.venue.user_stream_path, self.ingest.paths) {
            (UserStreamLayout::Auto, PathLayout::Split) => UserStreamLayout::Private,
            (UserStreamLayout::Auto, PathLayout::Legacy) => UserStreamLayout::Legacy,
            (l, _) => l,
        }
    }

    /// Stage settings by name.
    pub fn stage(&self, name: &str) -> Option<&StageConfig> {
        match name {
            "ingest" => Some(&self.stages.ingest),
            "analytics" => Some(&self.stages.analytics),
            "executor" => Some(&self.stages.executor),
            _ => None,
        }
    }

    /// Symbol id for a name.
    pub fn symbol_id(&self, name: &str) -> Option<u32> {
        self.symbols
            .iter()
            .position(|s| s == name)
            .map(|i| i as u32)
    }
}

/// Serialises a config back to TOML, e.g. for `--print-config`.
pub fn to_toml(cfg: &Config) -> Result<String> {
    Ok(toml::to_string_pretty(cfg)?)
}

/// A flat key→value view, handy for status output.
pub fn flatten(cfg: &Config) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Ok(toml::Value::Table(t)) = toml::Value::try_from(cfg) {
        flatten_into("", &t, &mut out);
    }
    out
}

fn flatten_into(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(inner) => flatten_into(&key, inner, out),
            other => {
                out.insert(key, other.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests;
