//! Values that parse but make no sense are refused here, naming the key and the value
//! given (every refusal goes through [`bad`], which prints `key = value: why`); empty
//! URLs are resolved to the mode's defaults before the checks.

use super::messages::toml_text;
use super::*;
use crate::error::{CoreError, Result};
use serde::Serialize;

/// Refuses `key`: the error prints `key = value: why`, the value written as TOML, so
/// the user sees what they gave next to what is allowed. The loader adds the file line
/// or variable that set the key.
fn bad<V: Serialize + ?Sized>(key: &str, value: &V, why: impl Into<String>) -> Result<()> {
    Err(CoreError::config_value(key, toml_text(value), why))
}

impl Config {
    /// Checks values that parse but make no sense; names the key and the value given on
    /// failure.
    ///
    /// # Errors
    /// [`CoreError::ConfigValue`] for the first key out of range.
    pub fn validate(&self) -> Result<()> {
        if self.instance.is_empty()
            || !self
                .instance
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad(
                "instance",
                &self.instance,
                "must be non-empty [A-Za-z0-9_-]",
            );
        }
        if self.symbols.is_empty() {
            return bad("symbols", &self.symbols, "at least one symbol is required");
        }
        if self.symbols.len() > crate::MAX_SYMBOLS {
            return bad(
                "symbols",
                &self.symbols,
                format!("at most {} symbols", crate::MAX_SYMBOLS),
            );
        }
        for s in &self.symbols {
            if s.is_empty()
                || s.len() > 16
                || !s
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            {
                return bad(
                    "symbols",
                    &self.symbols,
                    format!("{s:?} is not an upper-case symbol of ≤16 chars"),
                );
            }
        }
        for (name, cap) in [
            ("rings.ticks", self.rings.ticks),
            ("rings.book", self.rings.book),
            ("rings.signals", self.rings.signals),
            ("rings.outcomes", self.rings.outcomes),
            ("rings.mark", self.rings.mark),
            ("rings.bars", self.rings.bars),
        ] {
            if !cap.is_power_of_two() || !(16..=(1 << 26)).contains(&cap) {
                return bad(name, &cap, "must be a power of two in 16..=2^26");
            }
        }
        let s = &self.supervisor;
        if s.heartbeat_interval_ms == 0 {
            return bad(
                "supervisor.heartbeat_interval_ms",
                &s.heartbeat_interval_ms,
                "must be > 0",
            );
        }
        if s.heartbeat_timeout_ms < 2 * s.heartbeat_interval_ms {
            return bad(
                "supervisor.heartbeat_timeout_ms",
                &s.heartbeat_timeout_ms,
                format!(
                    "must be at least twice heartbeat_interval_ms ({})",
                    s.heartbeat_interval_ms
                ),
            );
        }
        if s.restart_backoff_min_ms == 0 {
            return bad(
                "supervisor.restart_backoff_min_ms",
                &s.restart_backoff_min_ms,
                "must be > 0",
            );
        }
        if s.restart_backoff_max_ms < s.restart_backoff_min_ms {
            return bad(
                "supervisor.restart_backoff_max_ms",
                &s.restart_backoff_max_ms,
                format!(
                    "must be >= restart_backoff_min_ms ({})",
                    s.restart_backoff_min_ms
                ),
            );
        }
        if s.max_restarts == 0 {
            return bad("supervisor.max_restarts", &s.max_restarts, "must be > 0");
        }
        if self.synthetic.ticks_per_sec == 0 || self.synthetic.ticks_per_sec > 10_000_000 {
            return bad(
                "synthetic.ticks_per_sec",
                &self.synthetic.ticks_per_sec,
                "must be in 1..=10000000",
            );
        }
        if self.executor.max_orders_per_10s == 0 || self.executor.max_orders_per_10s > 300 {
            return bad(
                "executor.max_orders_per_10s",
                &self.executor.max_orders_per_10s,
                "must be in 1..=300 (Binance's limit)",
            );
        }
        let ml = &self.ml;
        if !(ml.ml_confidence_threshold.is_finite()
            && (0.0..=1.0).contains(&ml.ml_confidence_threshold))
        {
            return bad(
                "ml.ml_confidence_threshold",
                &ml.ml_confidence_threshold,
                "must be in [0, 1]",
            );
        }
        if ml.window < 20 {
            return bad("ml.window", &ml.window, "must be >= 20");
        }
        if ml.refit_every == 0 {
            return bad("ml.refit_every", &ml.refit_every, "must be > 0");
        }
        if ml.min_examples > ml.window {
            return bad(
                "ml.min_examples",
                &ml.min_examples,
                format!("must be <= ml.window ({})", ml.window),
            );
        }
        let ig = &self.ingest;
        if ig.source == IngestSource::Exchange && !(ig.agg_trade || ig.book_ticker || ig.depth) {
            return bad(
                "ingest.agg_trade",
                &ig.agg_trade,
                "subscribe at least one stream (agg_trade, book_ticker or depth)",
            );
        }
        if ig.reconnect_max_ms < self.venue.websocket_reconnect_delay_ms {
            return bad(
                "ingest.reconnect_max_ms",
                &ig.reconnect_max_ms,
                format!(
                    "must be >= venue.websocket_reconnect_delay_ms ({})",
                    self.venue.websocket_reconnect_delay_ms
                ),
            );
        }
        if ig.max_connection_age_s < 60 || ig.max_connection_age_s > 86_400 {
            return bad(
                "ingest.max_connection_age_s",
                &ig.max_connection_age_s,
                "must be in 60..=86400 (Binance cuts at 24 h)",
            );
        }
        if ig.idle_timeout_s == 0 {
            return bad("ingest.idle_timeout_s", &ig.idle_timeout_s, "must be > 0");
        }
        let ind = &self.indicators;
        if ind.bar_interval_ms == 0 {
            return bad(
                "indicators.bar_interval_ms",
                &ind.bar_interval_ms,
                "must be > 0",
            );
        }
        for (k, v) in [
            ("indicators.ema_fast", ind.ema_fast),
            ("indicators.ema_slow", ind.ema_slow),
            ("indicators.rsi", ind.rsi),
            ("indicators.macd_fast", ind.macd_fast),
            ("indicators.macd_slow", ind.macd_slow),
            ("indicators.macd_signal", ind.macd_signal),
            ("indicators.bb_period", ind.bb_period),
            ("indicators.atr", ind.atr),
            ("indicators.rv", ind.rv),
        ] {
            if v == 0 || v > 100_000 {
                return bad(k, &v, "periods must be in 1..=100000");
            }
        }
        if ind.ema_fast >= ind.ema_slow {
            return bad(
                "indicators.ema_fast",
                &ind.ema_fast,
                format!(
                    "must be smaller than indicators.ema_slow ({})",
                    ind.ema_slow
                ),
            );
        }
        if ind.macd_fast >= ind.macd_slow {
            return bad(
                "indicators.macd_fast",
                &ind.macd_fast,
                format!(
                    "must be smaller than indicators.macd_slow ({})",
                    ind.macd_slow
                ),
            );
        }
        if !(ind.bb_k.is_finite() && ind.bb_k > 0.0) {
            return bad("indicators.bb_k", &ind.bb_k, "must be a positive number");
        }
        if ind.vwap_anchor_ms == 0 {
            return bad(
                "indicators.vwap_anchor_ms",
                &ind.vwap_anchor_ms,
                "must be > 0",
            );
        }
        let st = &self.strategy;
        for (k, v, lo, hi) in [
            ("strategy.threshold", st.threshold, 0.0, 1.0),
            ("strategy.confirm_level", st.confirm_level, 0.0, 1.0),
            (
                "strategy.price_change_threshold",
                st.price_change_threshold,
                0.0,
                1.0,
            ),
            ("strategy.target_win_rate", st.target_win_rate, 0.0, 1.0),
            ("strategy.threshold_min", st.threshold_min, 0.0, 1.0),
            ("strategy.threshold_max", st.threshold_max, 0.0, 1.0),
            ("strategy.adaptive_max_step", st.adaptive_max_step, 0.0, 1.0),
            ("strategy.book_veto", st.book_veto, f64::MIN_POSITIVE, 1.0),
            ("strategy.vpin_max", st.vpin_max, f64::MIN_POSITIVE, 1.0),
            ("strategy.er_trending", st.er_trending, 0.0, 1.0),
        ] {
            if !(v.is_finite() && v >= lo && v <= hi) {
                return bad(k, &v, format!("must be in [{lo}, {hi}]"));
            }
        }
        for (k, m) in st.regime_threshold_mult.iter().enumerate() {
            if !(m.is_finite() && *m > 0.0 && *m <= 5.0) {
                return bad(
                    "strategy.regime_threshold_mult",
                    &st.regime_threshold_mult,
                    format!("element {k} ({m}) must be in (0, 5]"),
                );
            }
        }
        if st.min_confirmations > 4 {
            return bad(
                "strategy.min_confirmations",
                &st.min_confirmations,
                "must be in 0..=4 (there are 4 components)",
            );
        }
        if st.threshold_min > st.threshold || st.threshold > st.threshold_max {
            return bad(
                "strategy.threshold",
                &st.threshold,
                format!(
                    "need threshold_min ({}) <= threshold <= threshold_max ({})",
                    st.threshold_min, st.threshold_max
                ),
            );
        }
        if !(2..=4).contains(&st.regime_states) {
            return bad(
                "strategy.regime_states",
                &st.regime_states,
                "must be in 2..=4",
            );
        }
        if st.regime_window_bars < 10 * st.regime_states {
            return bad(
                "strategy.regime_window_bars",
                &st.regime_window_bars,
                format!(
                    "must be >= {} (10 bars per regime state, strategy.regime_states = {})",
                    10 * st.regime_states,
                    st.regime_states
                ),
            );
        }
        if st.regime_refit_every_bars < 2 {
            return bad(
                "strategy.regime_refit_every_bars",
                &st.regime_refit_every_bars,
                "must be >= 2",
            );
        }
        for (k, v) in [
            ("strategy.adaptive_window", st.adaptive_window),
            ("strategy.svi_trades", st.svi_trades),
            ("strategy.er_bars", st.er_bars),
        ] {
            if v == 0 {
                return bad(k, &v, "must be > 0");
            }
        }
        st.trading_window()?;
        let m = &self.mock;
        match m.listen.parse::<std::net::SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => {}
            Ok(_) => {
                return bad(
                    "mock.listen",
                    &m.listen,
                    "the mock exchange only listens on loopback",
                )
            }
            Err(e) => return bad("mock.listen", &m.listen, format!("not an IP:port: {e}")),
        }
        for (k, v) in [
            ("mock.taker_fee", m.taker_fee),
            ("mock.maker_fee", m.maker_fee),
        ] {
            if !(v.is_finite() && (0.0..0.1).contains(&v)) {
                return bad(k, &v, "must be in [0, 0.1)");
            }
        }
        if !(m.trades_per_sec.is_finite() && m.trades_per_sec > 0.0) {
            return bad(
                "mock.trades_per_sec",
                &m.trades_per_sec,
                "must be a positive number",
            );
        }
        if !(m.slippage_bps.is_finite() && m.slippage_bps >= 0.0) {
            return bad("mock.slippage_bps", &m.slippage_bps, "must be >= 0");
        }
        if !(m.starting_balance.is_finite() && m.starting_balance > 0.0) {
            return bad(
                "mock.starting_balance",
                &m.starting_balance,
                "must be a positive number",
            );
        }
        let sp = m.speed.trim().to_ascii_lowercase();
        let speed_ok = sp == "max"
            || sp
                .strip_suffix('x')
                .unwrap_or(&sp)
                .parse::<f64>()
                .is_ok_and(|f| f.is_finite() && f > 0.0);
        if !speed_ok {
            return bad(
                "mock.speed",
                &m.speed,
                "use 1x, 10x, max or a positive factor",
            );
        }
        if !matches!(m.fee_asset.as_str(), "USDT" | "BNB") {
            return bad("mock.fee_asset", &m.fee_asset, "use \"USDT\" or \"BNB\"");
        }
        if !(m.listen_key_ttl_s.is_finite() && m.listen_key_ttl_s >= 0.05) {
            return bad(
                "mock.listen_key_ttl_s",
                &m.listen_key_ttl_s,
                "must be at least 0.05 s",
            );
        }
        if m.history_minutes > 10_080 {
            return bad(
                "mock.history_minutes",
                &m.history_minutes,
                "must be at most 10080 (the 7 days of 1-minute bars the mock keeps)",
            );
        }
        if self.executor.journal_dir.trim().is_empty() {
            return bad(
                "executor.journal_dir",
                &self.executor.journal_dir,
                "must not be empty",
            );
        }
        self.validate_venue()?;
        self.validate_executor()
    }

    fn validate_venue(&self) -> Result<()> {
        let v = &self.venue;
        for (key, url, schemes) in [
            ("venue.rest_url", &v.rest_url, ["http", "https"]),
            ("venue.ws_url", &v.ws_url, ["ws", "wss"]),
            ("venue.user_ws_url", &v.user_ws_url, ["ws", "wss"]),
        ] {
            if url.is_empty() {
                continue;
            }
            let parsed = match url::Url::parse(url) {
                Ok(u) => u,
                Err(e) => return bad(key, url, format!("not a URL: {e}")),
            };
            if !schemes.contains(&parsed.scheme()) {
                return bad(
                    key,
                    url,
                    format!("scheme must be {} or {}", schemes[0], schemes[1]),
                );
            }
            let loopback = is_loopback_url(url);
            if self.mode == Mode::Paper && !loopback {
                return bad(
                    key,
                    url,
                    "paper mode only talks to a loopback mock exchange (no network)",
                );
            }
            // Keys travel in headers: never in clear text to a remote host.
            if self.mode != Mode::Paper && !loopback && !matches!(parsed.scheme(), "https" | "wss")
            {
                return bad(
                    key,
                    url,
                    format!(
                        "{} mode needs https/wss to a remote host",
                        self.mode.as_str()
                    ),
                );
            }
        }
        if v.env_file.trim().is_empty() {
            return bad("venue.env_file", &v.env_file, "must not be empty");
        }
        if !(1000..=60_000).contains(&v.recv_window_ms) {
            return bad(
                "venue.recv_window_ms",
                &v.recv_window_ms,
                "must be in 1000..=60000",
            );
        }
        for (k, val, lo) in [
            ("venue.time_sync_interval_s", v.time_sync_interval_s, 10),
            (
                "venue.exchange_info_refresh_s",
                v.exchange_info_refresh_s,
                10,
            ),
            ("venue.listen_key_keepalive_s", v.listen_key_keepalive_s, 1),
            ("venue.max_time_offset_ms", v.max_time_offset_ms, 1),
        ] {
            if val < lo {
                return bad(k, &val, format!("must be >= {lo}"));
            }
        }
        if v.listen_key_keepalive_s >= 3600 {
            return bad(
                "venue.listen_key_keepalive_s",
                &v.listen_key_keepalive_s,
                "must be below 3600 (Binance expires a listenKey after 60 min)",
            );
        }
        Ok(())
    }

    fn validate_executor(&self) -> Result<()> {
        let e = &self.executor;
        if self.mode != Mode::Paper && e.venue == ExecVenue::Simulated {
            return bad(
                "executor.venue",
                &e.venue,
                format!(
                    "{} mode trades on the exchange: use \"exchange\"",
                    self.mode.as_str()
                ),
            );
        }
        if self.mode != Mode::Paper && !e.exchange_stops {
            return bad(
                "executor.exchange_stops",
                &e.exchange_stops,
                "outside paper mode every position has a stop resting on the exchange; it cannot be turned off",
            );
        }
        if e.max_orders_per_min == 0 || e.max_orders_per_min > 1200 {
            return bad(
                "executor.max_orders_per_min",
                &e.max_orders_per_min,
                "must be in 1..=1200 (Binance's limit)",
            );
        }
        if e.max_weight_per_min == 0 || e.max_weight_per_min > 2400 {
            return bad(
                "executor.max_weight_per_min",
                &e.max_weight_per_min,
                "must be in 1..=2400 (Binance's limit)",
            );
        }
        if !(e.entry_budget.is_finite() && e.entry_budget > 0.0 && e.entry_budget < 1.0) {
            return bad(
                "executor.entry_budget",
                &e.entry_budget,
                "must be in (0, 1): the rest of each budget is kept for stops and exits",
            );
        }
        if !(e.stop_extra_atr.is_finite() && e.stop_extra_atr >= 0.0) {
            return bad("executor.stop_extra_atr", &e.stop_extra_atr, "must be >= 0");
        }
        if !(e.stop_min_distance_bps.is_finite()
            && (0.0..1000.0).contains(&e.stop_min_distance_bps))
        {
            return bad(
                "executor.stop_min_distance_bps",
                &e.stop_min_distance_bps,
                "must be in [0, 1000)",
            );
        }
        for (k, v) in [
            ("executor.stop_ack_timeout_ms", e.stop_ack_timeout_ms),
            ("executor.fill_timeout_ms", e.fill_timeout_ms),
        ] {
            if v == 0 {
                return bad(k, &v, "must be > 0");
            }
        }
        Ok(())
    }

    /// Fills empty URLs with the mode's defaults (paper: the local mock at
    /// `mock.listen`), so every stage reads the URL it will use.
    pub(super) fn resolve_urls(&mut self) {
        let v = &mut self.venue;
        if v.rest_url.is_empty() {
            v.rest_url = match self.mode.default_rest_url() {
                Some(u) => u.to_string(),
                None => format!("http://{}", self.mock.listen),
            };
        }
        if v.ws_url.is_empty() {
            v.ws_url = match self.mode.default_ws_url() {
                Some(u) => u.to_string(),
                None => format!("ws://{}", self.mock.listen),
            };
        }
        if v.user_ws_url.is_empty() {
            v.user_ws_url = v.ws_url.clone();
        }
    }
}

/// True if `url`'s host is the loopback interface: `localhost`, `127.0.0.0/8` or
/// `[::1]`. The host is parsed, not prefix-matched: `http://localhost.evil.example`
/// and `http://127.0.0.1@evil.example` are not loopback.
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
