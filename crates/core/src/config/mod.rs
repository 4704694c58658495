//! Configuration types: parsed from TOML text, overridden by `SHMTRADER_*` variables,
//! validated before anything starts.
//!
//! Every struct denies unknown keys, so a typo (`max_restart` for `max_restarts`) refuses
//! to start with the key named instead of silently running on a default. Reading the
//! file is the caller's job: this crate does no I/O.

//!
//! Layout: the section types are in `types` (one struct per TOML table), the checks of
//! values that parse but make no sense in `validate`, loading and the `SHMTRADER_*`
//! overrides here.

mod types;
mod validate;

pub use types::*;
pub use validate::is_loopback_url;

use crate::error::{CoreError, Result};
use std::collections::BTreeMap;

/// The embedded default configuration (identical to `config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../../config/default.toml");

impl Config {
    /// The embedded defaults.
    pub fn embedded_default() -> Result<Config> {
        Config::from_toml_str(DEFAULT_TOML, "embedded default")
    }

    /// Parses and validates TOML text; `origin` names the source in errors.
    ///
    /// Keys absent from `text` take their value from the embedded default, so a user file
    /// only needs the keys it changes.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config> {
        let mut base: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| CoreError::Config {
                key: String::new(),
                reason: format!("embedded default does not parse: {e}"),
            })?;
        let user: toml::Table = toml::from_str(text).map_err(|e| CoreError::Config {
            key: String::new(),
            reason: format!("{origin}: {e}"),
        })?;
        merge_tables(&mut base, user);
        Config::from_table(base, origin)
    }

    /// Same as [`from_toml_str`](Self::from_toml_str), then applies `SHMTRADER_*`
    /// overrides (`SHMTRADER_RISK__LEVERAGE=5` sets `risk.leverage`; `__` separates
    /// table levels). Values are parsed as TOML, falling back to a plain string.
    pub fn from_toml_with_env<'a>(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config> {
        let mut base: toml::Table =
            toml::from_str(DEFAULT_TOML).map_err(|e| CoreError::Config {
                key: String::new(),
                reason: format!("embedded default does not parse: {e}"),
            })?;
        let user: toml::Table = toml::from_str(text).map_err(|e| CoreError::Config {
            key: String::new(),
            reason: format!("{origin}: {e}"),
        })?;
        merge_tables(&mut base, user);
        for (k, v) in env {
            let Some(rest) = k.strip_prefix("SHMTRADER_") else {
                continue;
            };
            // Variables of the tools that are not config keys (SHMTRADER_DATA,
            // SHMTRADER_BIN, ...) are skipped; any other SHMTRADER_ name must map to a
            // key, so a misspelt override is an error instead of a silent default.
            if NON_CONFIG_VARS.contains(&rest) {
                continue;
            }
            if !rest.contains("__") && !TOP_LEVEL_KEYS.contains(&rest) {
                return Err(CoreError::Config {
                    key: rest.to_ascii_lowercase(),
                    reason: format!(
                        "environment variable {k} maps to no config key (use SHMTRADER_<SECTION>__<KEY>, e.g. SHMTRADER_RISK__LEVERAGE; top-level keys: {})",
                        TOP_LEVEL_KEYS.join(", ")
                    ),
                });
            }
            let path: Vec<String> = rest.split("__").map(|p| p.to_ascii_lowercase()).collect();
            let value = parse_env_value(v);
            set_path(&mut base, &path, value).map_err(|reason| CoreError::Config {
                key: path.join("."),
                reason: format!("from environment variable {k}: {reason}"),
            })?;
        }
        Config::from_table(base, origin)
    }

    fn from_table(table: toml::Table, origin: &str) -> Result<Config> {
        let cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(
            |e: serde_path_to_error::Error<toml::de::Error>| {
                let path = e.path().to_string();
                let msg = e.inner().message().to_string();
                // For an unknown field the path names the table; append the field itself.
                let key = match (extract_key(&msg), path.as_str()) {
                    (k, _) if k.is_empty() => path.clone(),
                    (k, ".") => k,
                    (k, p) if msg.starts_with("unknown field") => format!("{p}.{k}"),
                    (_, p) => p.to_string(),
                };
                CoreError::Config {
                    key,
                    reason: format!("{origin}: {msg}"),
                }
            },
        )?;
        let mut cfg = cfg;
        cfg.resolve_urls();
        cfg.validate()?;
        Ok(cfg)
    }

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

/// `SHMTRADER_*` variables that are not configuration keys: the command line's
/// (`CONFIG`, `INSTANCE`), the test tools' (`DATA`, `REQUIRE_DATA`, `BIN`,
/// `TALIB_REF`) and the monitor's token (`MONITOR_TOKEN`).
pub const NON_CONFIG_VARS: &[&str] = &[
    "DATA",
    "REQUIRE_DATA",
    "BIN",
    "CONFIG",
    "INSTANCE",
    "LOG",
    "TALIB_REF",
    "MONITOR_TOKEN",
];

/// Top-level keys that `SHMTRADER_<KEY>` (no `__`) may set.
const TOP_LEVEL_KEYS: &[&str] = &["MODE", "SYMBOLS"];

fn parse_env_value(v: &str) -> toml::Value {
    let wrapped = format!("v = {v}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(v.to_string())),
        Err(_) => toml::Value::String(v.to_string()),
    }
}

fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> std::result::Result<(), String> {
    match path {
        [] => Err("empty key".into()),
        [last] => {
            table.insert(last.clone(), value);
            Ok(())
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            match entry {
                toml::Value::Table(t) => set_path(t, rest, value),
                _ => Err(format!("{first} is not a table")),
            }
        }
    }
}

fn merge_tables(base: &mut toml::Table, over: toml::Table) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Pulls the offending key out of a serde message such as "unknown field `foo`".
fn extract_key(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or("").to_string()
}

/// Serialises a config back to TOML, e.g. for `--print-config`.
pub fn to_toml(cfg: &Config) -> Result<String> {
    toml::to_string_pretty(cfg).map_err(|e| CoreError::Config {
        key: String::new(),
        reason: e.to_string(),
    })
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
