//! API keys: from the environment, else from a `.env` file that only its owner can read.
//!
//! Live keys are `BINANCE_API_KEY` / `BINANCE_API_SECRET`; Demo Trading and the testnet
//! use `BINANCE_TESTNET_API_KEY` / `BINANCE_TESTNET_API_SECRET`; paper mode needs none
//! (the mock's keys are not secrets). A variable set in the environment wins over the
//! file. A `.env` readable by group or others is refused with the fix (`chmod 600`),
//! and a missing key names its variable.
//!
//! The key and secret are held in the exchange crate's credential types, whose `Debug`
//! and `Display` print `***`, so no log line, panic message or `{:?}` can show them;
//! nothing here prints a value read from the file either.

use crate::error::{Result, StageError};
use shmtrader_core::Mode;
use shmtrader_exchange::sign::Credentials;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Parses `.env` text: `KEY=value` lines, `#` comments, blank lines, an optional
/// `export ` prefix and matching single or double quotes around the value.
pub fn parse_env_file(text: &str, path: &Path) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line).trim_start();
        let Some((k, v)) = line.split_once('=') else {
            return Err(StageError::EnvFileSyntax {
                path: path.to_path_buf(),
                line: n + 1,
            });
        };
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(StageError::EnvFileSyntax {
                path: path.to_path_buf(),
                line: n + 1,
            });
        }
        let v = v.trim();
        let v = match (v.as_bytes().first(), v.as_bytes().last()) {
            (Some(b'"'), Some(b'"')) | (Some(b'\''), Some(b'\'')) if v.len() >= 2 => {
                &v[1..v.len() - 1]
            }
            _ => v,
        };
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// Reads the env file if it exists, refusing one that group or others may read.
fn read_env_file(path: &Path) -> Result<HashMap<String, String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => return Err(StageError::io(format!("reading {}", path.display()), e)),
    };
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StageError::EnvFilePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| StageError::io(format!("reading {}", path.display()), e))?;
    parse_env_file(&text, path)
}

/// The credentials `mode` trades with: the environment first (`env` looks a variable
/// up), then `env_file`. `None` in paper mode.
pub fn load(
    mode: Mode,
    env: &dyn Fn(&str) -> Option<String>,
    env_file: &Path,
) -> Result<Option<Credentials>> {
    let Some((key_var, secret_var)) = mode.key_vars() else {
        return Ok(None);
    };
    let from_env = |v: &str| env(v).filter(|s| !s.trim().is_empty());
    let (mut key, mut secret) = (from_env(key_var), from_env(secret_var));
    if key.is_none() || secret.is_none() {
        let file = read_env_file(env_file)?;
        let get = |v: &str| file.get(v).filter(|s| !s.trim().is_empty()).cloned();
        key = key.or_else(|| get(key_var));
        secret = secret.or_else(|| get(secret_var));
    }
    let key = key.ok_or_else(|| StageError::MissingKey {
        var: key_var,
        env_file: env_file.to_path_buf(),
    })?;
    let secret = secret.ok_or_else(|| StageError::MissingKey {
        var: secret_var,
        env_file: env_file.to_path_buf(),
    })?;
    Ok(Some(Credentials::new(key.trim(), secret.trim())?))
}

/// [`load`] with the process environment.
pub fn load_from_process(mode: Mode, env_file: &Path) -> Result<Option<Credentials>> {
    load(mode, &|v| std::env::var(v).ok(), env_file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tmp(name: &str, text: &str, mode: u32) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("shmtrader-keys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }

    const SECRET: &str = "s3cr3t-never-printed-0123456789";

    #[test]
    fn a_0600_env_file_gives_the_modes_keys() {
        let p = tmp(
            "ok.env",
            &format!("# demo keys\nexport BINANCE_TESTNET_API_KEY=\"k-demo\"\nBINANCE_TESTNET_API_SECRET='{SECRET}'\n\nBINANCE_API_KEY=live\n"),
            0o600,
        );
        let c = load(Mode::Demo, &|_| None, &p).unwrap().unwrap();
        assert_eq!(c.key.expose(), "k-demo");
        // The secret never shows in a Debug print.
        assert!(!format!("{c:?}").contains(SECRET));
        assert!(load(Mode::Paper, &|_| None, &p).unwrap().is_none());
    }

    #[test]
    fn a_group_readable_env_file_is_refused_with_the_fix() {
        let p = tmp(
            "open.env",
            "BINANCE_API_KEY=a\nBINANCE_API_SECRET=b\n",
            0o644,
        );
        let e = load(Mode::Live, &|_| None, &p).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("chmod 600"), "{msg}");
        assert!(msg.contains("644"), "{msg}");
    }

    #[test]
    fn a_missing_key_names_the_variable() {
        let p = tmp("half.env", "BINANCE_API_KEY=a\n", 0o600);
        let e = load(Mode::Live, &|_| None, &p).unwrap_err();
        assert!(e.to_string().contains("BINANCE_API_SECRET"), "{e}");
        let none = std::env::temp_dir().join("shmtrader-no-such.env");
        let e = load(Mode::Testnet, &|_| None, &none).unwrap_err();
        assert!(e.to_string().contains("BINANCE_TESTNET_API_KEY"), "{e}");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let p = tmp(
            "both.env",
            "BINANCE_API_KEY=file\nBINANCE_API_SECRET=file\n",
            0o600,
        );
        let env = |v: &str| match v {
            "BINANCE_API_KEY" => Some("env-key".to_string()),
            "BINANCE_API_SECRET" => Some("env-secret".to_string()),
            _ => None,
        };
        let c = load(Mode::Live, &env, &p).unwrap().unwrap();
        assert_eq!(c.key.expose(), "env-key");
    }

    #[test]
    fn a_malformed_line_is_named() {
        let p = tmp(
            "bad.env",
            "BINANCE_API_KEY=a\nthis line has no equals\n",
            0o600,
        );
        let e = load(Mode::Live, &|_| None, &p).unwrap_err();
        assert!(e.to_string().contains("bad.env:2"), "{e}");
    }
}
