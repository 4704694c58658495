//! Configuration types: parsed from TOML text, overridden by `SHMTRADER_*` variables,
//! validated before anything starts.
//!
//! Every struct denies unknown keys, so a typo (`max_restart` for `max_restarts`) refuses
//! to start with the key named instead of silently running on a default. Reading the
//! file is the caller's job: this crate does no I/O.

use crate::error::{CoreError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The embedded default configuration (identical to `config/default.toml`).
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// Trading mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Paper trading against the local mock exchange (the default).
    Paper,
    /// Binance futures testnet.
    Testnet,
    /// Real money; additionally requires `--live` on the command line.
    Live,
}

/// How a consumer waits for new records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitMode {
    /// Spin forever: lowest latency, burns a dedicated core.
    Spin,
    /// Spin briefly, then sleep on the shared futex.
    Futex,
}

/// Where the executor sends orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExecVenue {
    /// Signed REST orders to `venue.rest_url` (the mock exchange in paper mode).
    Exchange,
    /// The in-process paper broker (fees, slippage, latency), no venue.
    Simulated,
}

/// Where ingest gets its market data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IngestSource {
    /// The venue's websockets (the mock exchange in paper mode, Binance otherwise).
    Exchange,
    /// A seeded synthetic tape generated in-process (benchmarks, tests, demos).
    Synthetic,
}

/// Websocket path layout of the venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathLayout {
    /// Everything under `/ws/...` and `/stream?...` (pre-2026 Binance, most testnets).
    Legacy,
    /// Binance's 2026 split: `/market` (aggTrade), `/public` (bookTicker, depth).
    Split,
}

/// Market-data ingest settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestConfig {
    /// `exchange` (websockets) or `synthetic`.
    pub source: IngestSource,
    /// `legacy` or `split` websocket paths.
    pub paths: PathLayout,
    /// One combined connection for all symbols instead of one per symbol.
    pub combined: bool,
    /// Subscribe `<sym>@aggTrade`.
    pub agg_trade: bool,
    /// Subscribe `<sym>@bookTicker`.
    pub book_ticker: bool,
    /// Subscribe diff depth and keep a local order book (snapshot + `pu` chain).
    pub depth: bool,
    /// Subscribe `<sym>@markPrice@1s` and publish mark prices on the `mark` ring (the
    /// executor marks positions and judges stops at the mark price, as Binance does).
    pub mark_price: bool,
    /// Cap of the reconnect backoff (ms); it starts at `venue.websocket_reconnect_delay_ms`.
    pub reconnect_max_ms: u64,
    /// Replace a connection after this many seconds (Binance cuts them at 24 h).
    pub max_connection_age_s: u64,
    /// Reopen a connection that has been silent (no data, no ping) this long (s).
    pub idle_timeout_s: u64,
}

/// Top-level configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `paper` (default), `testnet` or `live`.
    pub mode: Mode,
    /// Instance name; segments are `shmtrader-<instance>-<ring>`.
    pub instance: String,
    /// Symbols traded, in symbol-id order.
    pub symbols: Vec<String>,
    /// Exchange endpoints.
    pub venue: VenueConfig,
    /// Market-data ingest.
    pub ingest: IngestConfig,
    /// Synthetic market used by the walking skeleton / mock exchange.
    pub synthetic: SyntheticConfig,
    /// The local mock exchange started by the launcher in paper mode.
    pub mock: MockConfig,
    /// Ring capacities.
    pub rings: RingsConfig,
    /// Supervisor behaviour.
    pub supervisor: SupervisorConfig,
    /// Per-stage settings keyed by stage name.
    pub stages: StagesConfig,
    /// Indicator periods and the bar interval.
    pub indicators: IndicatorsConfig,
    /// Strategy parameters.
    pub strategy: StrategyConfig,
    /// The ML signal filter.
    pub ml: MlConfig,
    /// Risk and sizing parameters.
    pub risk: RiskConfig,
    /// Executor settings.
    pub executor: ExecutorConfig,
}

/// Executor settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutorConfig {
    /// Where orders go: `exchange` (REST to the venue: the mock in paper mode) or
    /// `simulated` (the in-process paper broker, no venue at all).
    pub venue: ExecVenue,
    /// Orders per 10 s the executor allows itself (Binance: 300); entries stop at 80 %.
    pub max_orders_per_10s: u32,
    /// Directory of the order journal.
    pub journal_dir: String,
    /// While this file exists: flatten everything, refuse new entries.
    pub kill_switch_file: String,
}

/// Exchange endpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// REST base URL.
    pub rest_url: String,
    /// Websocket base URL.
    pub ws_url: String,
    /// Reconnect delay after a dropped websocket (ms).
    pub websocket_reconnect_delay_ms: u64,
}

/// Seeded synthetic market.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyntheticConfig {
    /// RNG seed: the same seed gives the same tape.
    pub seed: u64,
    /// Trades per second across all symbols.
    pub ticks_per_sec: u32,
}

/// The mock exchange (paper mode's venue).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockConfig {
    /// Loopback address it listens on (HTTP and websocket on one port).
    pub listen: String,
    /// API key the mock accepts (paper mode only; not a secret).
    pub api_key: String,
    /// API secret the mock checks signatures against (paper mode only; not a secret).
    pub api_secret: String,
    /// Recorded data files to replay; empty means the seeded synthetic market.
    pub data: Vec<String>,
    /// Replay speed: "1x", "10x", "max" or a factor.
    pub speed: String,
    /// Synthetic trades per second across all symbols.
    pub trades_per_sec: f64,
    /// Taker fee rate charged on fills.
    pub taker_fee: f64,
    /// Maker fee rate charged on fills.
    pub maker_fee: f64,
    /// Extra slippage on market orders (basis points).
    pub slippage_bps: f64,
    /// Starting USDT wallet balance.
    pub starting_balance: f64,
}

/// Ring capacities (records, each a power of two).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RingsConfig {
    /// Ticks ring capacity.
    pub ticks: u64,
    /// Book ring capacity.
    pub book: u64,
    /// Signals ring capacity.
    pub signals: u64,
    /// Outcomes ring capacity.
    pub outcomes: u64,
    /// Mark-price ring capacity.
    pub mark: u64,
}

/// Supervisor (launcher) behaviour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    /// How often stages write their heartbeat (ms).
    pub heartbeat_interval_ms: u64,
    /// A stage whose heartbeat is older than this is hung and restarted (ms).
    pub heartbeat_timeout_ms: u64,
    /// First restart delay (ms); doubles on each consecutive failure.
    pub restart_backoff_min_ms: u64,
    /// Maximum restart delay (ms).
    pub restart_backoff_max_ms: u64,
    /// More restarts than this within `restart_window_s` stops everything.
    pub max_restarts: u32,
    /// Window for `max_restarts` (s).
    pub restart_window_s: u64,
    /// Interval of the one-line summary (s); 0 disables it.
    pub summary_interval_s: u64,
    /// Grace period for a stage to exit after SIGTERM before SIGKILL (ms).
    pub stop_timeout_ms: u64,
}

/// Settings of one stage process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageConfig {
    /// CPU core to pin to; absent means unpinned.
    #[serde(default)]
    pub cpu: Option<usize>,
    /// How the stage waits on its input ring.
    pub wait: WaitMode,
    /// Spin iterations before sleeping on the futex (futex mode).
    pub spin_iters: u32,
}

/// Per-stage settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StagesConfig {
    /// Market data ingest.
    pub ingest: StageConfig,
    /// Indicators and signals.
    pub analytics: StageConfig,
    /// Orders and positions.
    pub executor: StageConfig,
}

/// The ML signal filter (crates/ml).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MlConfig {
    /// Score every signal and drop those under `ml_confidence_threshold`.
    pub enabled: bool,
    /// Minimum P(profitable after costs) to trade a signal.
    pub ml_confidence_threshold: f64,
    /// Closed trades in the training window.
    pub window: u32,
    /// Refit (on a background thread) after this many new closed trades.
    pub refit_every: u32,
    /// No model before this many closed trades; until then every signal passes.
    pub min_examples: u32,
    /// Where the model is saved and reloaded from (per instance: `<dir>/<instance>.model.json`).
    pub model_dir: String,
}

/// Indicator periods (TA-Lib's defaults) and the bar they commit on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorsConfig {
    /// Bar interval (ms) on which indicators commit.
    pub bar_interval_ms: u64,
    /// Fast EMA period (bars).
    pub ema_fast: u32,
    /// Slow EMA period (bars).
    pub ema_slow: u32,
    /// RSI period (Wilder).
    pub rsi: u32,
    /// MACD fast period.
    pub macd_fast: u32,
    /// MACD slow period.
    pub macd_slow: u32,
    /// MACD signal period.
    pub macd_signal: u32,
    /// Bollinger period.
    pub bb_period: u32,
    /// Bollinger width (standard deviations).
    pub bb_k: f64,
    /// ATR period (Wilder).
    pub atr: u32,
    /// Realized-volatility window (bars).
    pub rv: u32,
    /// VWAP anchor period (ms); 86400000 = daily session VWAP.
    pub vwap_anchor_ms: u64,
}

/// Strategy parameters: signal, microstructure, regime, adaptive threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// |strength| needed to fire (the base when the threshold adapts).
    pub threshold: f64,
    /// Indicator components that must agree with the direction (of 4).
    pub min_confirmations: u32,
    /// Minimum |component| to count as a confirmation.
    pub confirm_level: f64,
    /// Relative price move since the last evaluated tick below which a tick is skipped.
    pub price_change_threshold: f64,
    /// Minimum time between two signals on one symbol (ms).
    pub cooldown_ms: u64,
    /// Trading window in UTC, "HH:MM-HH:MM" (may wrap midnight); empty = always.
    pub trading_window_utc: String,
    /// Adapt the threshold to the recent win rate and the regime.
    pub adaptive: bool,
    /// Win rate the adaptive threshold steers toward.
    pub target_win_rate: f64,
    /// Lower bound of the adaptive threshold.
    pub threshold_min: f64,
    /// Upper bound of the adaptive threshold.
    pub threshold_max: f64,
    /// Closed trades in the win-rate window.
    pub adaptive_window: u32,
    /// Largest threshold change per closed trade.
    pub adaptive_max_step: f64,
    /// Use book tops (imbalance veto, features).
    pub use_book: bool,
    /// Drop a signal when the top-of-book imbalance opposes it by at least this; 1 disables.
    pub book_veto: f64,
    /// No entries while VPIN is at or above this; 1 disables.
    pub vpin_max: f64,
    /// Trades in the signed-volume imbalance window.
    pub svi_trades: u32,
    /// HMM regime states (2..=4).
    pub regime_states: u32,
    /// Trailing bars the HMM is fitted on.
    pub regime_window_bars: u32,
    /// Refit the HMM every this many bars (on a worker thread).
    pub regime_refit_every_bars: u32,
    /// Efficiency-ratio window (bars).
    pub er_bars: u32,
    /// Efficiency ratio above which the market counts as trending.
    pub er_trending: f64,
    /// Bars a new regime label must persist before it is adopted.
    pub regime_hold_bars: u32,
}

impl StrategyConfig {
    /// Parses `trading_window_utc` into UTC minutes `[start, end)`.
    pub fn trading_window(&self) -> Result<Option<(u32, u32)>> {
        let w = self.trading_window_utc.trim();
        if w.is_empty() {
            return Ok(None);
        }
        let err = || CoreError::Config {
            key: "strategy.trading_window_utc".into(),
            reason: format!("{w:?} is not HH:MM-HH:MM"),
        };
        let hm = |x: &str| -> Result<u32> {
            let (h, m) = x.trim().split_once(':').ok_or_else(err)?;
            let h: u32 = h.parse().map_err(|_| err())?;
            let m: u32 = m.parse().map_err(|_| err())?;
            if h > 23 || m > 59 {
                return Err(err());
            }
            Ok(h * 60 + m)
        };
        let (a, b) = w.split_once('-').ok_or_else(err)?;
        Ok(Some((hm(a)?, hm(b)?)))
    }
}

/// Risk and sizing parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Notional per position before volatility scaling (USD).
    pub base_position_usd: f64,
    /// Leverage set on the exchange.
    pub leverage: u32,
    /// Maximum simultaneously open positions.
    pub max_concurrent_positions: u32,
    /// Stop loss distance as a fraction of entry.
    pub stop_loss_pct: f64,
    /// Take profit distance as a fraction of entry.
    pub take_profit_pct: f64,
    /// Maximum holding time (ms).
    pub max_hold_ms: u64,
    /// Taker fee rate used for paper fills.
    pub taker_fee: f64,
    /// Slippage applied to paper fills (fraction of price).
    pub slippage: f64,
}

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
            // Variables that are not config keys (SHMTRADER_DATA, SHMTRADER_BIN,
            // SHMTRADER_TALIB_REF, ...): a name without `__` is a key only if it is one
            // of the top-level scalars.
            if NON_CONFIG_VARS.contains(&rest)
                || (!rest.contains("__") && !TOP_LEVEL_KEYS.contains(&rest))
            {
                continue;
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
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks values that parse but make no sense; names the key on failure.
    pub fn validate(&self) -> Result<()> {
        fn bad(key: &str, reason: impl Into<String>) -> Result<()> {
            Err(CoreError::Config {
                key: key.to_string(),
                reason: reason.into(),
            })
        }
        if self.instance.is_empty()
            || !self
                .instance
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad("instance", "must be non-empty [A-Za-z0-9_-]");
        }
        if self.symbols.is_empty() {
            return bad("symbols", "at least one symbol is required");
        }
        if self.symbols.len() > crate::MAX_SYMBOLS {
            return bad("symbols", format!("at most {} symbols", crate::MAX_SYMBOLS));
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
        ] {
            if !cap.is_power_of_two() || !(16..=(1 << 26)).contains(&cap) {
                return bad(name, format!("{cap} must be a power of two in 16..=2^26"));
            }
        }
        let s = &self.supervisor;
        if s.heartbeat_interval_ms == 0 {
            return bad("supervisor.heartbeat_interval_ms", "must be > 0");
        }
        if s.heartbeat_timeout_ms < 2 * s.heartbeat_interval_ms {
            return bad(
                "supervisor.heartbeat_timeout_ms",
                "must be at least twice heartbeat_interval_ms",
            );
        }
        if s.restart_backoff_min_ms == 0 || s.restart_backoff_max_ms < s.restart_backoff_min_ms {
            return bad(
                "supervisor.restart_backoff_max_ms",
                "need 0 < restart_backoff_min_ms <= restart_backoff_max_ms",
            );
        }
        if s.max_restarts == 0 {
            return bad("supervisor.max_restarts", "must be > 0");
        }
        if self.synthetic.ticks_per_sec == 0 || self.synthetic.ticks_per_sec > 10_000_000 {
            return bad("synthetic.ticks_per_sec", "must be in 1..=10000000");
        }
        if self.executor.max_orders_per_10s == 0 || self.executor.max_orders_per_10s > 300 {
            return bad(
                "executor.max_orders_per_10s",
                "must be in 1..=300 (Binance's limit)",
            );
        }
        let ml = &self.ml;
        if !(ml.ml_confidence_threshold.is_finite()
            && (0.0..=1.0).contains(&ml.ml_confidence_threshold))
        {
            return bad("ml.ml_confidence_threshold", "must be in [0, 1]");
        }
        if ml.window < 20 || ml.refit_every == 0 || ml.min_examples > ml.window {
            return bad(
                "ml.window",
                "need window >= 20, refit_every > 0, min_examples <= window",
            );
        }
        let ig = &self.ingest;
        if ig.source == IngestSource::Exchange && !(ig.agg_trade || ig.book_ticker || ig.depth) {
            return bad("ingest.agg_trade", "subscribe at least one stream");
        }
        if ig.reconnect_max_ms < self.venue.websocket_reconnect_delay_ms {
            return bad(
                "ingest.reconnect_max_ms",
                "must be >= venue.websocket_reconnect_delay_ms",
            );
        }
        if ig.max_connection_age_s < 60 || ig.max_connection_age_s > 86_400 {
            return bad(
                "ingest.max_connection_age_s",
                "must be in 60..=86400 (Binance cuts at 24 h)",
            );
        }
        if ig.idle_timeout_s == 0 {
            return bad("ingest.idle_timeout_s", "must be > 0");
        }
        let ind = &self.indicators;
        if ind.bar_interval_ms == 0 {
            return bad("indicators.bar_interval_ms", "must be > 0");
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
                return bad(k, "periods must be in 1..=100000");
            }
        }
        if ind.ema_fast >= ind.ema_slow {
            return bad(
                "indicators.ema_fast",
                "must be smaller than indicators.ema_slow",
            );
        }
        if ind.macd_fast >= ind.macd_slow {
            return bad(
                "indicators.macd_fast",
                "must be smaller than indicators.macd_slow",
            );
        }
        if !(ind.bb_k.is_finite() && ind.bb_k > 0.0) {
            return bad("indicators.bb_k", "must be a positive number");
        }
        if ind.vwap_anchor_ms == 0 {
            return bad("indicators.vwap_anchor_ms", "must be > 0");
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
                return bad(k, format!("must be in [{lo}, {hi}]"));
            }
        }
        if st.min_confirmations > 4 {
            return bad(
                "strategy.min_confirmations",
                "there are 4 components; use 0..=4",
            );
        }
        if st.threshold_min > st.threshold || st.threshold > st.threshold_max {
            return bad(
                "strategy.threshold",
                "need threshold_min <= threshold <= threshold_max",
            );
        }
        if !(2..=4).contains(&st.regime_states) {
            return bad("strategy.regime_states", "must be 2..=4");
        }
        if st.regime_window_bars < 10 * st.regime_states {
            return bad(
                "strategy.regime_window_bars",
                "needs at least 10 bars per state",
            );
        }
        if st.regime_refit_every_bars < 2 {
            return bad("strategy.regime_refit_every_bars", "must be >= 2");
        }
        if st.adaptive_window == 0 || st.svi_trades == 0 || st.er_bars == 0 {
            return bad(
                "strategy.adaptive_window",
                "adaptive_window, svi_trades and er_bars must be > 0",
            );
        }
        st.trading_window()?;
        let r = &self.risk;
        if !(r.base_position_usd.is_finite() && r.base_position_usd > 0.0) {
            return bad("risk.base_position_usd", "must be a positive number");
        }
        if !(1..=125).contains(&r.leverage) {
            return bad("risk.leverage", "must be in 1..=125");
        }
        for (k, v) in [
            ("risk.stop_loss_pct", r.stop_loss_pct),
            ("risk.take_profit_pct", r.take_profit_pct),
        ] {
            if !(v.is_finite() && v > 0.0 && v < 1.0) {
                return bad(k, "must be in (0, 1)");
            }
        }
        for (k, v) in [
            ("risk.taker_fee", r.taker_fee),
            ("risk.slippage", r.slippage),
        ] {
            if !(v.is_finite() && (0.0..0.1).contains(&v)) {
                return bad(k, "must be in [0, 0.1)");
            }
        }
        let m = &self.mock;
        match m.listen.parse::<std::net::SocketAddr>() {
            Ok(a) if a.ip().is_loopback() => {}
            Ok(_) => return bad("mock.listen", "the mock exchange only listens on loopback"),
            Err(e) => return bad("mock.listen", format!("{:?}: {e}", m.listen)),
        }
        for (k, v) in [
            ("mock.taker_fee", m.taker_fee),
            ("mock.maker_fee", m.maker_fee),
        ] {
            if !(v.is_finite() && (0.0..0.1).contains(&v)) {
                return bad(k, "must be in [0, 0.1)");
            }
        }
        if !(m.trades_per_sec.is_finite() && m.trades_per_sec > 0.0) {
            return bad("mock.trades_per_sec", "must be a positive number");
        }
        if !(m.slippage_bps.is_finite() && m.slippage_bps >= 0.0) {
            return bad("mock.slippage_bps", "must be >= 0");
        }
        if !(m.starting_balance.is_finite() && m.starting_balance > 0.0) {
            return bad("mock.starting_balance", "must be a positive number");
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
                format!("{:?}: use 1x, 10x, max or a positive factor", m.speed),
            );
        }
        if self.executor.journal_dir.trim().is_empty() {
            return bad("executor.journal_dir", "must not be empty");
        }
        if self.mode == Mode::Paper && !is_loopback_url(&self.venue.rest_url) {
            return bad(
                "venue.rest_url",
                "paper mode only talks to a loopback mock exchange",
            );
        }
        Ok(())
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

/// `SHMTRADER_*` variables that are not configuration keys.
const NON_CONFIG_VARS: &[&str] = &["DATA", "REQUIRE_DATA", "BIN", "CONFIG", "INSTANCE", "LOG"];

/// Top-level keys that `SHMTRADER_<KEY>` (no `__`) may set.
const TOP_LEVEL_KEYS: &[&str] = &["MODE", "SYMBOLS"];

fn is_loopback_url(url: &str) -> bool {
    let rest = url.split("://").nth(1).unwrap_or("");
    rest.starts_with("127.") || rest.starts_with("localhost") || rest.starts_with("[::1]")
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
mod tests {
    use super::*;

    #[test]
    fn embedded_default_is_valid_paper() {
        let c = Config::embedded_default().unwrap();
        assert_eq!(c.mode, Mode::Paper);
        assert!(!c.symbols.is_empty());
    }

    #[test]
    fn shipped_config_files_are_valid() {
        for name in ["default.toml", "stress.toml"] {
            let path = format!("{}/../../config/{name}", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).unwrap();
            let c = Config::from_toml_str(&text, &path).unwrap();
            assert_eq!(c.mode, Mode::Paper, "{name}");
        }
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
        let e = Config::from_toml_str("[risk]\nleverage = 0\n", "t").unwrap_err();
        assert!(e.to_string().contains("risk.leverage"), "{e}");
        let e = Config::from_toml_str("[risk]\nleverage = \"ten\"\n", "t").unwrap_err();
        assert!(e.to_string().contains("leverage"), "{e}");
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
        let e =
            Config::from_toml_with_env("", "t", [("SHMTRADER_RISK__LEVERAGEE", "7")]).unwrap_err();
        assert!(e.to_string().contains("leveragee"), "{e}");
    }
}
