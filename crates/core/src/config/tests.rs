#![allow(clippy::unwrap_used)]

use super::*;

mod error_messages;

#[test]
fn embedded_default_is_valid_paper() {
    let c = Config::embedded_default().unwrap();
    assert_eq!(c.mode, Mode::Paper);
    assert!(!c.symbols.is_empty());
}

#[test]
fn shipped_config_files_are_valid_and_say_their_mode() {
    for (name, mode, rest) in [
        ("default.toml", Mode::Paper, "http://127.0.0.1:18080"),
        ("stress.toml", Mode::Paper, "http://127.0.0.1:18080"),
        ("demo.toml", Mode::Demo, "https://demo-fapi.binance.com"),
        (
            "testnet.toml",
            Mode::Testnet,
            "https://testnet.binancefuture.com",
        ),
        ("live.toml", Mode::Live, "https://fapi.binance.com"),
    ] {
        let path = format!("{}/../../config/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap();
        let c = Config::from_toml_str(&text, &path).unwrap();
        assert_eq!(c.mode, mode, "{name}");
        assert_eq!(c.venue.rest_url, rest, "{name}");
        assert!(c.executor.exchange_stops, "{name}");
    }
}

#[test]
fn empty_urls_take_the_modes_defaults() {
    let c = Config::from_toml_str(
        "mode = \"demo\"\n[venue]\nrest_url = \"\"\nws_url = \"\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(c.venue.rest_url, "https://demo-fapi.binance.com");
    assert_eq!(c.venue.ws_url, "wss://fstream.binancefuture.com");
    assert_eq!(c.venue.user_ws_url, c.venue.ws_url);
    let c = Config::from_toml_str(
        "[mock]\nlisten = \"127.0.0.1:19999\"\n[venue]\nrest_url = \"\"\nws_url = \"\"\n",
        "t",
    )
    .unwrap();
    assert_eq!(c.venue.rest_url, "http://127.0.0.1:19999");
    assert_eq!(c.venue.ws_url, "ws://127.0.0.1:19999");
}

#[test]
fn the_loopback_guard_parses_the_host() {
    for (url, loopback) in [
        ("http://127.0.0.1:18080", true),
        ("http://127.9.9.9", true),
        ("http://localhost:1", true),
        ("ws://[::1]:80", true),
        ("http://localhost.evil.example", false),
        ("http://127.0.0.1.evil.example", false),
        ("http://127.0.0.1@evil.example", false),
        ("https://fapi.binance.com", false),
        ("not a url", false),
    ] {
        assert_eq!(is_loopback_url(url), loopback, "{url}");
    }
    let e = Config::from_toml_str(
        "[venue]\nrest_url = \"http://localhost.evil.example\"\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("venue.rest_url"), "{e}");
}

#[test]
fn outside_paper_keys_never_travel_in_clear_text_and_stops_stay_on() {
    let e = Config::from_toml_str(
        "mode = \"live\"\n[venue]\nrest_url = \"http://fapi.binance.com\"\n",
        "t",
    )
    .unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    let e = Config::from_toml_str("mode = \"demo\"\n[executor]\nexchange_stops = false\n", "t")
        .unwrap_err();
    assert!(e.to_string().contains("executor.exchange_stops"), "{e}");
    // A demo venue on loopback (the mock posing as Demo in tests) is allowed.
    Config::from_toml_str("mode = \"demo\"\n[venue]\nrest_url = \"http://127.0.0.1:1\"\nws_url = \"ws://127.0.0.1:1\"\n", "t").unwrap();
}

#[test]
fn an_environment_variable_that_maps_to_no_key_is_an_error() {
    let e = Config::from_toml_with_env("", "t", [("SHMTRADER_LEVERAGE", "7")]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("SHMTRADER_LEVERAGE"), "{msg}");
    assert!(msg.contains("SHMTRADER_RISK__LEVERAGE"), "{msg}");
    // The tools' own variables are not config keys and pass.
    Config::from_toml_with_env(
        "",
        "t",
        [
            ("SHMTRADER_DATA", "/x"),
            ("SHMTRADER_TALIB_REF", "/y"),
            ("SHMTRADER_MODE", "paper"),
        ],
    )
    .unwrap();
}

#[test]
fn unknown_key_is_named() {
    let e = Config::from_toml_str("[supervisor]\nmax_restart = 3\n", "t").unwrap_err();
    let s = e.to_string();
    assert!(s.contains("max_restart"), "{s}");
}

#[test]
fn unknown_top_level_key_is_named() {
    let e = Config::from_toml_str("bogus = 1\n", "t").unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
}

#[test]
fn bad_value_is_named() {
    let e = Config::from_toml_str("[rings]\nticks = 1000\n", "t").unwrap_err();
    assert!(e.to_string().contains("rings.ticks"), "{e}");
    let e = Config::from_toml_str("[risk]\nleverage = \"ten\"\n", "t").unwrap_err();
    assert!(e.to_string().contains("leverage"), "{e}");
    let e = Config::from_toml_str("[strategy]\nregime_threshold_mult = [1, 1, 0, 1]\n", "t")
        .unwrap_err();
    assert!(
        e.to_string().contains("strategy.regime_threshold_mult"),
        "{e}"
    );
    let e = Config::from_toml_str("[rings]\nbars = 100\n", "t").unwrap_err();
    assert!(e.to_string().contains("rings.bars"), "{e}");
}

#[test]
fn paper_mode_refuses_remote_venue() {
    let e = Config::from_toml_str("[venue]\nrest_url = \"https://fapi.binance.com\"\n", "t")
        .unwrap_err();
    assert!(e.to_string().contains("venue.rest_url"), "{e}");
}

#[test]
fn partial_file_keeps_defaults_and_env_overrides() {
    let c = Config::from_toml_with_env(
        "instance = \"x1\"\n",
        "t",
        [
            ("SHMTRADER_RISK__LEVERAGE", "7"),
            ("SHMTRADER_DATA", "/nope"),
            ("SHMTRADER_TALIB_REF", "/tmp/talib-ref"),
        ],
    )
    .unwrap();
    assert_eq!(c.instance, "x1");
    assert_eq!(c.risk.leverage, 7);
    let d = Config::embedded_default().unwrap();
    assert_eq!(c.rings, d.rings);
}

#[test]
fn env_override_with_unknown_key_is_refused() {
    let e = Config::from_toml_with_env("", "t", [("SHMTRADER_RISK__LEVERAGEE", "7")]).unwrap_err();
    assert!(e.to_string().contains("SHMTRADER_RISK__LEVERAGEE"), "{e}");
}
