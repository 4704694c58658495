//! What a config error says: the key once, the value given, what is allowed, the file
//! line or environment variable that set it, and the nearest valid key. Messages are
//! compared whole where they are short, so a change of wording is a visible decision.

use crate::config::{messages, Config};
use crate::error::{ConfigOrigin, CoreError};

/// The embedded default's origin, as the binary passes it when no file is given.
fn env_only(vars: &[(&str, &str)]) -> CoreError {
    Config::from_file_with_env(None, vars.iter().copied()).unwrap_err()
}

#[test]
fn a_misspelt_key_in_a_file_names_it_once_with_file_line_and_the_nearest_key() {
    let e = Config::from_toml_str("[risk]\nleverage = 3\nleverge = 3\n", "my.toml").unwrap_err();
    let msg = e.to_string();
    assert_eq!(
        msg,
        "unknown config key `risk.leverge` (my.toml, line 3): did you mean `risk.leverage`?"
    );
    assert_eq!(msg.matches("leverge").count(), 1, "{msg}");
    assert!(matches!(
        e,
        CoreError::UnknownConfigKey { ref key, line: Some(3), suggestion: Some(ref s), .. }
            if key == "risk.leverge" && s == "risk.leverage"
    ));
}

#[test]
fn unknown_keys_are_located_in_headers_dotted_keys_and_inline_tables() {
    for (text, expected) in [
        // A misspelt table: serde stops at the table, named by its header's line.
        (
            "# x\n[rsik]\nleverage = 3\n",
            "unknown config key `rsik` (t, line 2): did you mean `risk`?",
        ),
        (
            "mode = \"paper\"\nrisk.leverge = 3\n",
            "unknown config key `risk.leverge` (t, line 2): did you mean `risk.leverage`?",
        ),
        (
            "risk = { leverage = 3, leverge = 3 }\n",
            "unknown config key `risk.leverge` (t, line 1): did you mean `risk.leverage`?",
        ),
        // Nothing close: no suggestion rather than a wrong one.
        (
            "[risk]\n\nfoo = 1\n",
            "unknown config key `risk.foo` (t, line 3)",
        ),
    ] {
        let e = Config::from_toml_str(text, "t").unwrap_err();
        assert_eq!(e.to_string(), expected, "{text:?}");
    }
}

#[test]
fn suggestions_are_made_only_when_close() {
    let base: toml::Table = toml::from_str(crate::config::DEFAULT_TOML).unwrap();
    let known = messages::known_keys(&base);
    for (unknown, expected) in [
        // One letter dropped.
        ("risk.leverge", Some("risk.leverage")),
        ("supervisor.max_restart", Some("supervisor.max_restarts")),
        // Transposed letters count as one edit.
        ("rsik", Some("risk")),
        // The right name in the wrong table, or in no table.
        ("risk.ema_fast", Some("indicators.ema_fast")),
        ("leverage", Some("risk.leverage")),
        // Both the table and the name a little off.
        ("riskk.leverge", Some("risk.leverage")),
        // Too far: nothing.
        ("risk.lev", None),
        ("risk.foo", None),
        // `bar` is close to `bars`, but `foo` is no `rings`.
        ("foo.bar", None),
    ] {
        assert_eq!(
            messages::suggest(unknown, &known).as_deref(),
            expected,
            "{unknown}"
        );
    }
}

#[test]
fn a_value_out_of_range_names_key_value_range_and_line() {
    let e = Config::from_toml_str("[rings]\nticks = 1000\n", "my.toml").unwrap_err();
    assert_eq!(
        e.to_string(),
        "rings.ticks = 1000: must be a power of two in 16..=2^26 (my.toml, line 2)"
    );
    assert!(matches!(
        e,
        CoreError::ConfigValue { ref key, ref value, origin: Some(ConfigOrigin::File { line: 2, .. }), .. }
            if key == "rings.ticks" && value == "1000"
    ));
}

#[test]
fn a_value_of_the_wrong_type_names_the_type_and_its_range() {
    for (text, expected) in [
        (
            "[risk]\nleverage = \"ten\"\n",
            "risk.leverage = \"ten\": expected an integer in 0..=4294967295 (t, line 2)",
        ),
        (
            "[risk]\nleverage = -1\n",
            "risk.leverage = -1: expected an integer in 0..=4294967295 (t, line 2)",
        ),
        (
            "[strategy]\nregime_threshold_mult = [1, \"x\", 1, 1]\n",
            "strategy.regime_threshold_mult[1] = \"x\": expected a number (t, line 2)",
        ),
        ("risk = 3\n", "risk = 3: expected a table (t, line 1)"),
        (
            "mode = \"papper\"\n",
            "mode = \"papper\": expected one of `paper`, `demo`, `testnet`, `live` (t, line 1)",
        ),
    ] {
        let e = Config::from_toml_str(text, "t").unwrap_err();
        assert_eq!(e.to_string(), expected, "{text:?}");
    }
}

#[test]
fn a_syntax_error_names_file_line_column_and_the_offending_text() {
    let text = "# 1\n# 2\n# 3\n[risk]\nleverage = 3\nmax_drawdown = 0.2\nbase_position_usd = = 3\n";
    let e = Config::from_toml_str(text, "my.toml").unwrap_err();
    assert!(
        matches!(e, CoreError::ConfigSyntax { line: 7, column: 21, ref text, .. }
            if text == "base_position_usd = = 3"),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(
        msg.starts_with("my.toml, line 7, column 21: TOML syntax error: "),
        "{msg}"
    );
    assert!(msg.ends_with(": `base_position_usd = = 3`"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    // An unclosed header points at the header, not at an empty key.
    let e = Config::from_toml_str("[risk\nleverage = 3\n", "my.toml").unwrap_err();
    assert!(
        e.to_string().starts_with("my.toml, line 1, column 6: "),
        "{e}"
    );
}

#[test]
fn a_misspelt_env_var_is_named_with_the_nearest_var_not_the_default() {
    let e = env_only(&[("SHMTRADER_RISK__LEVERGE", "3")]);
    assert_eq!(
        e.to_string(),
        "environment variable SHMTRADER_RISK__LEVERGE names no config key: did you mean SHMTRADER_RISK__LEVERAGE?"
    );
    // A table no one has: serde stops at `foo`, the variable is still the one blamed.
    let e = env_only(&[("SHMTRADER_FOO__BAR", "1")]);
    assert!(
        matches!(e, CoreError::UnknownConfigVar { ref var, suggestion: None } if var == "SHMTRADER_FOO__BAR"),
        "{e}"
    );
    // A misspelt section.
    let e = env_only(&[("SHMTRADER_RISKK__LEVERAGE", "1")]);
    assert!(
        e.to_string()
            .ends_with("did you mean SHMTRADER_RISK__LEVERAGE?"),
        "{e}"
    );
    // A key under a value (`mode` is a string).
    let e = env_only(&[("SHMTRADER_MODE__X", "1")]);
    assert!(e.to_string().contains("SHMTRADER_MODE__X"), "{e}");
}

#[test]
fn a_bad_env_value_names_the_var_and_the_value() {
    for (var, value, expected) in [
        (
            "SHMTRADER_RISK__LEVERAGE",
            "abc",
            "risk.leverage = \"abc\": expected an integer in 0..=4294967295 (set by environment variable SHMTRADER_RISK__LEVERAGE)",
        ),
        (
            "SHMTRADER_RINGS__TICKS",
            "1000",
            "rings.ticks = 1000: must be a power of two in 16..=2^26 (set by environment variable SHMTRADER_RINGS__TICKS)",
        ),
    ] {
        let msg = env_only(&[(var, value)]).to_string();
        assert_eq!(msg, expected);
        assert!(!msg.contains("default"), "{msg}");
    }
    // A variable overrides the file: it is the one blamed.
    let e = Config::from_toml_with_env(
        "[rings]\nticks = 64\n",
        "my.toml",
        [("SHMTRADER_RINGS__TICKS", "1000")],
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .ends_with("(set by environment variable SHMTRADER_RINGS__TICKS)"),
        "{e}"
    );
}

#[test]
fn a_default_value_under_a_users_table_is_not_blamed_on_the_header() {
    // The user set the interval; the timeout (2000, from the default) is what breaks.
    let e = Config::from_toml_str("[supervisor]\nheartbeat_interval_ms = 5000\n", "my.toml")
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "supervisor.heartbeat_timeout_ms = 2000: must be at least twice heartbeat_interval_ms (5000)"
    );
}

#[test]
fn a_missing_file_names_the_path() {
    let p = std::path::Path::new("/nonexistent/shmtrader-cfg.toml");
    let e = Config::from_file_with_env(Some(p), []).unwrap_err();
    assert!(matches!(e, CoreError::ConfigFile { ref path, .. } if path == p));
    assert_eq!(
        e.to_string(),
        "cannot read config file /nonexistent/shmtrader-cfg.toml"
    );
    let source = std::error::Error::source(&e)
        .map(|s| s.to_string())
        .unwrap_or_default();
    assert!(source.contains("No such file"), "{source}");
}

#[test]
fn every_validation_refusal_prints_key_equals_value() {
    for (text, expected) in [
        (
            "instance = \"a b\"\n",
            "instance = \"a b\": must be non-empty [A-Za-z0-9_-] (t, line 1)",
        ),
        (
            "symbols = [\"btc\"]\n",
            "symbols = [\"btc\"]: \"btc\" is not an upper-case symbol of ≤16 chars (t, line 1)",
        ),
        ("[ml]\nwindow = 5\n", "ml.window = 5: must be >= 20 (t, line 2)"),
        ("[ml]\nrefit_every = 0\n", "ml.refit_every = 0: must be > 0 (t, line 2)"),
        (
            "[strategy]\nthreshold = 0.1\n",
            "strategy.threshold = 0.1: need threshold_min (0.2) <= threshold <= threshold_max (0.8) (t, line 2)",
        ),
        (
            "[strategy]\ntrading_window_utc = \"25:00-26:00\"\n",
            "strategy.trading_window_utc = \"25:00-26:00\": expected \"HH:MM-HH:MM\" (UTC) or \"\" (t, line 2)",
        ),
        (
            "[mock]\nspeed = \"fast\"\n",
            "mock.speed = \"fast\": use 1x, 10x, max or a positive factor (t, line 2)",
        ),
        (
            "[venue]\nrest_url = \"https://fapi.binance.com\"\n",
            "venue.rest_url = \"https://fapi.binance.com\": paper mode only talks to a loopback mock exchange (no network) (t, line 2)",
        ),
        (
            "[executor]\nentry_budget = 1.5\n",
            "executor.entry_budget = 1.5: must be in (0, 1): the rest of each budget is kept for stops and exits (t, line 2)",
        ),
        (
            "[venue]\nrecv_window_ms = 10\n",
            "venue.recv_window_ms = 10: must be in 1000..=60000 (t, line 2)",
        ),
    ] {
        let e = Config::from_toml_str(text, "t").unwrap_err();
        assert_eq!(e.to_string(), expected, "{text:?}");
    }
}

#[test]
fn line_and_column_count_characters_not_bytes() {
    // "a\n" is 2 bytes, "ß" 2 more: byte 4 is the `x`, the second character of line 2.
    assert_eq!(messages::line_col("a\nßx", 4), (2, 2));
    assert_eq!(messages::line_col("abc", 0), (1, 1));
    assert_eq!(messages::line_col("abc", 99), (1, 4));
}
