//! Loading: the embedded default, then the user's file over it, then `SHMTRADER_*`
//! variables, then serde and the value checks.
//!
//! Every error names what the user has to change: the file and line of an unknown key
//! or a syntax error, the variable of a bad override (not the embedded default it was
//! merged into), the value given and what is allowed (see [`super::messages`]).

use super::messages::{self, Sources};
use super::{Config, DEFAULT_TOML};
use crate::error::{CoreError, Result};
use std::path::Path;

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

/// The origin named in errors about the embedded default itself.
const DEFAULT_ORIGIN: &str = "embedded default (config/default.toml)";

impl Config {
    /// The embedded defaults.
    pub fn embedded_default() -> Result<Config> {
        Config::from_toml_str(DEFAULT_TOML, DEFAULT_ORIGIN)
    }

    /// Parses and validates TOML text; `origin` names the source (usually the file
    /// path) in errors.
    ///
    /// Keys absent from `text` take their value from the embedded default, so a user file
    /// only needs the keys it changes.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Config> {
        Config::from_toml_with_env(text, origin, [])
    }

    /// Reads `path` (or, with `None`, only the embedded default), then applies
    /// `SHMTRADER_*` overrides as [`from_toml_with_env`](Self::from_toml_with_env) does.
    ///
    /// # Errors
    /// [`CoreError::ConfigFile`] naming the path when it cannot be read, else as
    /// `from_toml_with_env`.
    pub fn from_file_with_env<'a>(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config> {
        match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| CoreError::ConfigFile {
                    path: p.to_path_buf(),
                    source,
                })?;
                Config::from_toml_with_env(&text, &p.display().to_string(), env)
            }
            None => Config::from_toml_with_env("", DEFAULT_ORIGIN, env),
        }
    }

    /// Same as [`from_toml_str`](Self::from_toml_str), then applies `SHMTRADER_*`
    /// overrides (`SHMTRADER_RISK__LEVERAGE=5` sets `risk.leverage`; `__` separates
    /// table levels). Values are parsed as TOML, falling back to a plain string.
    ///
    /// # Errors
    /// [`CoreError::ConfigSyntax`] for text that is not TOML,
    /// [`CoreError::UnknownConfigKey`] / [`CoreError::UnknownConfigVar`] for a key no
    /// table has (with the nearest valid one), [`CoreError::ConfigValue`] for a value
    /// of the wrong type or out of range.
    pub fn from_toml_with_env<'a>(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Config> {
        let mut base: toml::Table = toml::from_str(DEFAULT_TOML)
            .map_err(|e| messages::syntax_error(DEFAULT_ORIGIN, DEFAULT_TOML, &e))?;
        let known = messages::known_keys(&base);
        let user: toml::Table =
            toml::from_str(text).map_err(|e| messages::syntax_error(origin, text, &e))?;
        let mut sources = Sources::from_file(text, origin);
        merge_tables(&mut base, user);
        for (var, v) in env {
            let Some(rest) = var.strip_prefix("SHMTRADER_") else {
                continue;
            };
            // Variables of the tools that are not config keys (SHMTRADER_DATA,
            // SHMTRADER_BIN, ...) are skipped; any other SHMTRADER_ name must map to a
            // key, so a misspelt override is an error instead of a silent default.
            if NON_CONFIG_VARS.contains(&rest) {
                continue;
            }
            let key = messages::env_key(var);
            let path: Vec<String> = key.split('.').map(str::to_string).collect();
            let unknown = || CoreError::UnknownConfigVar {
                var: var.to_string(),
                suggestion: messages::suggest(&key, &known)
                    .map(|k| messages::env_var_for(&k))
                    .filter(|s| s != var),
            };
            if !rest.contains("__") && !TOP_LEVEL_KEYS.contains(&rest) {
                return Err(unknown());
            }
            set_path(&mut base, &path, parse_env_value(v)).map_err(|()| unknown())?;
            sources.set_env(&key, var);
        }
        Config::from_table(base, origin, &sources, &known)
    }

    fn from_table(
        table: toml::Table,
        origin: &str,
        sources: &Sources,
        known: &[String],
    ) -> Result<Config> {
        let mut cfg: Config = serde_path_to_error::deserialize(toml::Value::Table(table.clone()))
            .map_err(|e: serde_path_to_error::Error<toml::de::Error>| {
            serde_error(&e, &table, origin, sources, known)
        })?;
        cfg.resolve_urls();
        cfg.validate().map_err(|e| match e {
            CoreError::ConfigValue {
                key,
                value,
                reason,
                origin: None,
            } => CoreError::ConfigValue {
                origin: sources.origin_of(&key).cloned(),
                key,
                value,
                reason,
            },
            other => other,
        })?;
        Ok(cfg)
    }
}

/// Turns serde's error into one naming the key once: an unknown field with its
/// origin and the nearest valid key, any other with the value given and what is
/// allowed.
fn serde_error(
    e: &serde_path_to_error::Error<toml::de::Error>,
    table: &toml::Table,
    origin: &str,
    sources: &Sources,
    known: &[String],
) -> CoreError {
    let path = e.path().to_string();
    let msg = e.inner().message();
    if let Some(field) = msg
        .strip_prefix("unknown field `")
        .and_then(|m| m.split('`').next())
    {
        // The path may or may not already end in the unknown field (it does for a
        // field of a nested table); never write it twice.
        let key = if path == "." || path.is_empty() {
            field.to_string()
        } else if path == field || path.ends_with(&format!(".{field}")) {
            path
        } else {
            format!("{path}.{field}")
        };
        return sources.unknown_key(&key, origin, known);
    }
    let key = if path == "." { String::new() } else { path };
    CoreError::ConfigValue {
        value: messages::value_at(table, &key).unwrap_or_else(|| "(missing)".into()),
        reason: messages::what_is_allowed(msg),
        origin: sources.origin_of(&key).cloned(),
        key,
    }
}

fn parse_env_value(v: &str) -> toml::Value {
    let wrapped = format!("v = {v}");
    match toml::from_str::<toml::Table>(&wrapped) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(v.to_string())),
        Err(_) => toml::Value::String(v.to_string()),
    }
}

/// Sets `path` in `table`; `Err` when a step of the path is a value, not a table
/// (`SHMTRADER_MODE__X`): the path names no key.
fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> std::result::Result<(), ()> {
    match path {
        [] => Err(()),
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
                _ => Err(()),
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
