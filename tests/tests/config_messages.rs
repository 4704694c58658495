//! End-to-end: what `shmtrader run` prints for a bad configuration, a new user's first
//! error. Each case exits non-zero before anything starts, with one line that names
//! the key once, the value given, what is allowed and where it was set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use shmtrader_e2e::*;

/// Runs `shmtrader` with `args` and extra variables, checks it refused to start, and
/// returns its error line (log lines around it are not the message under test).
fn refused(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut c = cmd(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}: {err}");
    let line = err.lines().find(|l| l.starts_with("shmtrader: error: "));
    line.unwrap_or_else(|| panic!("no error line: {err}"))
        .to_string()
}

#[test]
fn bad_config_files_are_refused_with_key_value_file_and_line() {
    let dir = std::env::temp_dir().join(format!("shmtrader-e2e-cfgmsg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let syntax =
        "# 1\n# 2\n# 3\n[risk]\nleverage = 3\nmax_drawdown = 0.2\nbase_position_usd = = 3\n";
    let cases: [(&str, &str, &[&str]); 4] = [
        (
            "typo.toml",
            "[risk]\nleverge = 3\n",
            &[
                "unknown config key `risk.leverge` (",
                "typo.toml, line 2): did you mean `risk.leverage`?",
            ],
        ),
        // The risk crate's range check: the key, the value and the range.
        (
            "leverage.toml",
            "[risk]\nleverage = 500\n",
            &["risk.leverage", "500", "1..=125"],
        ),
        (
            "rings.toml",
            "[rings]\nticks = 1000\n",
            &[
                "rings.ticks = 1000: must be a power of two in 16..=2^26 (",
                "rings.toml, line 2)",
            ],
        ),
        (
            "syntax.toml",
            syntax,
            &[
                "syntax.toml, line 7, column 21: TOML syntax error",
                "`base_position_usd = = 3`",
            ],
        ),
    ];
    for (file, text, expected) in cases {
        let p = dir.join(file);
        std::fs::write(&p, text).unwrap();
        let err = refused(
            &["run", "--config", p.to_str().unwrap(), "--duration", "1"],
            &[],
        );
        for e in expected {
            assert!(err.contains(e), "{file}: no {e:?} in {err}");
        }
        assert_eq!(
            err.matches("leverge").count(),
            usize::from(file == "typo.toml"),
            "{err}"
        );
    }
    let err = refused(&["run", "--config", "/nonexistent/shmtrader.toml"], &[]);
    assert!(
        err.contains("cannot read config file /nonexistent/shmtrader.toml: No such file"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_environment_variables_are_named_not_the_embedded_default() {
    let err = refused(
        &["run", "--duration", "1"],
        &[("SHMTRADER_RISK__LEVERGE", "3")],
    );
    assert!(
        err.contains("environment variable SHMTRADER_RISK__LEVERGE names no config key: did you mean SHMTRADER_RISK__LEVERAGE?"),
        "{err}"
    );
    assert!(!err.contains("default"), "{err}");
    let err = refused(
        &["run", "--duration", "1"],
        &[("SHMTRADER_RISK__LEVERAGE", "abc")],
    );
    assert!(
        err.contains("risk.leverage = \"abc\": expected an integer in 0..=4294967295 (set by environment variable SHMTRADER_RISK__LEVERAGE)"),
        "{err}"
    );
    assert!(!err.contains("default"), "{err}");
}
