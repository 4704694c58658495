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

/// Trading mode: which account the executor trades.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Paper trading against the local mock exchange (the default): no keys, no network.
    Paper,
    /// Binance Demo Trading (`https://demo-fapi.binance.com`), demo keys.
    Demo,
    /// The legacy Binance futures testnet (`https://testnet.binancefuture.com`).
    Testnet,
    /// Real money on Binance; additionally requires `--live` on the command line.
    Live,
}

impl Mode {
    /// The mode's name as in the config file.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Paper => "paper",
            Mode::Demo => "demo",
            Mode::Testnet => "testnet",
            Mode::Live => "live",
        }
    }

    /// Default REST base URL (paper: the local mock, derived from `mock.listen`).
    pub fn default_rest_url(self) -> Option<&'static str> {
        match self {
            Mode::Paper => None,
            Mode::Demo => Some("https://demo-fapi.binance.com"),
            Mode::Testnet => Some("https://testnet.binancefuture.com"),
            Mode::Live => Some("https://fapi.binance.com"),
        }
    }

    /// Default websocket base URL for market and user-data streams. Demo's is not
    /// settled (Binance's own connector uses `fstream.binancefuture.com`, community code
    /// `demo-fstream.binance.com`): it is a key, `venue.ws_url`, for that reason.
    pub fn default_ws_url(self) -> Option<&'static str> {
        match self {
            Mode::Paper => None,
            Mode::Demo | Mode::Testnet => Some("wss://fstream.binancefuture.com"),
            Mode::Live => Some("wss://fstream.binance.com"),
        }
    }

    /// Environment variables holding this mode's API key and secret (none in paper
    /// mode: the mock's keys are not secrets and come from `[mock]`).
    pub fn key_vars(self) -> Option<(&'static str, &'static str)> {
        match self {
            Mode::Paper => None,
            Mode::Demo | Mode::Testnet => {
                Some(("BINANCE_TESTNET_API_KEY", "BINANCE_TESTNET_API_SECRET"))
            }
            Mode::Live => Some(("BINANCE_API_KEY", "BINANCE_API_SECRET")),
        }
    }
}

/// How the user-data stream URL is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserStreamLayout {
    /// Follow `ingest.paths`: `split` → `private`, `legacy` → `legacy`.
    Auto,
    /// `<ws_url>/private/ws?listenKey=<key>` (Binance's 2026 split).
    Private,
    /// `<ws_url>/ws/<listenKey>`.
    Legacy,
}

/// Which price an exchange-held stop triggers on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StopWorkingType {
    /// The mark price (`MARK_PRICE`): immune to a single off-market print.
    Mark,
    /// The last trade price (`CONTRACT_PRICE`).
    Contract,
}

/// Margin mode set on every traded symbol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MarginMode {
    /// Cross margin.
    Cross,
    /// Isolated margin.
    Isolated,
}

/// How market impact grows with order size in paper fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImpactShape {
    /// `impact ∝ notional`.
    Linear,
    /// `impact ∝ sqrt(notional)` (the square-root law).
    Sqrt,
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
    /// Orders per 10 s the executor allows itself (Binance: 300).
    pub max_orders_per_10s: u32,
    /// Orders per minute the executor allows itself (Binance: 1200).
    pub max_orders_per_min: u32,
    /// REST request weight per minute the executor allows itself (Binance: 2400).
    pub max_weight_per_min: u32,
    /// Share of each budget new entries may use; the rest is kept for stops and exits.
    pub entry_budget: f64,
    /// Every position gets a protective STOP_MARKET resting on the exchange (algo
    /// order). Required outside paper mode.
    pub exchange_stops: bool,
    /// Also rest a TAKE_PROFIT_MARKET at the take-profit level.
    pub exchange_take_profit: bool,
    /// Price the exchange stop triggers on: `mark` or `contract` (last trade).
    pub stop_working_type: StopWorkingType,
    /// The exchange stop sits this many ATRs beyond the client-side stop, so the fast
    /// client exit normally acts first and the exchange stop is the floor.
    pub stop_extra_atr: f64,
    /// ...and at least this many basis points of the price beyond it (in a calm market
    /// an ATR can be smaller than spread plus slippage).
    pub stop_min_distance_bps: f64,
    /// A stop not acknowledged within this (ms) closes the position at market.
    pub stop_ack_timeout_ms: u64,
    /// A trailing stop is moved on the exchange at most this often (ms).
    pub stop_replace_min_interval_ms: u64,
    /// An order whose terminal state is known but whose fills have not arrived on the
    /// user stream within this (ms) is completed from REST (userTrades).
    pub fill_timeout_ms: u64,
    /// Directory of the order journal.
    pub journal_dir: String,
    /// While this file exists: flatten everything, refuse new entries.
    pub kill_switch_file: String,
}

/// Exchange endpoints and the account connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VenueConfig {
    /// REST base URL; empty = the mode's default (resolved at load).
    pub rest_url: String,
    /// Websocket base URL (market and user-data streams); empty = the mode's default.
    pub ws_url: String,
    /// User-data stream base URL; empty = `ws_url`.
    pub user_ws_url: String,
    /// User-data stream layout: `auto`, `private` or `legacy`.
    pub user_stream_path: UserStreamLayout,
    /// Reconnect delay after a dropped websocket (ms).
    pub websocket_reconnect_delay_ms: u64,
    /// File the API keys may come from (besides the environment); must be mode 0600.
    pub env_file: String,
    /// `recvWindow` of signed requests (ms).
    pub recv_window_ms: u32,
    /// Re-measure the clock offset to the venue this often (s).
    pub time_sync_interval_s: u64,
    /// A clock offset larger than this (ms) refuses to start: signed requests would be
    /// judged against a clock the venue does not share.
    pub max_time_offset_ms: u64,
    /// Reload exchangeInfo this often (s): tick-size changes and symbols leaving
    /// TRADING stop entries instead of looping on rejects.
    pub exchange_info_refresh_s: u64,
    /// listenKey keepalive period (s); Binance keys expire after 60 min.
    pub listen_key_keepalive_s: u64,
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
    /// Lifetime of a listenKey without keepalive (s); Binance: 3600. Tests shorten it.
    pub listen_key_ttl_s: f64,
    /// Asset commissions are reported in: `USDT`, or `BNB` (Binance's BNB fee
    /// discount; the wallet is still debited in USDT).
    pub fee_asset: String,
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

/// Risk, sizing, exit and paper-fill parameters: every limit the risk engine applies.
/// Range checks live in one place, `shmtrader_risk::RiskParams::validate`, which names
/// these keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskConfig {
    /// Notional per position before volatility and drawdown scaling (USDT).
    pub base_position_usd: f64,
    /// Leverage set on the exchange.
    pub leverage: u32,
    /// Margin mode set on every symbol: `cross` or `isolated`.
    pub margin_type: MarginMode,
    /// Maximum positions open (or entries pending) at once.
    pub max_concurrent_positions: u32,
    /// Largest notional held in one symbol (USDT); larger sizes are cut to it.
    pub max_symbol_notional_usd: f64,
    /// Per-bar ATR/price the base size is calibrated for: size ∝ target / (ATR/price).
    pub target_volatility: f64,
    /// Lower clamp of the volatility scale.
    pub min_vol_scale: f64,
    /// Upper clamp of the volatility scale.
    pub max_vol_scale: f64,
    /// Raise a size below the exchange minimum to the minimum (if caps allow) instead
    /// of refusing the entry.
    pub bump_to_min_qty: bool,
    /// Allow adding to a position in the same direction.
    pub allow_pyramiding: bool,
    /// Allow an opposite signal to close and reverse a position in one order.
    pub allow_reverse: bool,
    /// Bars of returns in the correlation window.
    pub correlation_window: u32,
    /// Fewer common bars than this and the correlation check passes.
    pub correlation_min_samples: u32,
    /// Refuse an entry whose direction-adjusted correlation with an open position
    /// exceeds this.
    pub correlation_threshold: f64,
    /// Drawdown from the equity peak (fraction) at which sizes start to shrink.
    pub drawdown_scale_start: f64,
    /// Size multiplier reached at `max_drawdown`.
    pub drawdown_min_scale: f64,
    /// Drawdown from the equity peak (fraction) that halts new entries. The peak is
    /// journaled, so a relaunch does not get a fresh allowance.
    pub max_drawdown: f64,
    /// Loss since 00:00 UTC as a fraction of that day's starting equity that halts new
    /// entries for the rest of the day.
    pub daily_loss_limit: f64,
    /// Stop distance in ATRs from the entry.
    pub stop_atr_mult: f64,
    /// Take-profit distance in ATRs (0 disables).
    pub take_profit_atr_mult: f64,
    /// Favourable move in ATRs that arms the trailing stop (0 disables trailing).
    pub trail_activation_atr_mult: f64,
    /// Trailing distance from the best price, in ATRs.
    pub trail_distance_atr_mult: f64,
    /// Maximum holding time (ms); 0 disables the time stop.
    pub max_hold_ms: u64,
    /// Taker fee rate charged on simulated fills (the venue's own commissions are used
    /// when orders go to a venue).
    pub taker_fee: f64,
    /// Maker fee rate charged on simulated fills.
    pub maker_fee: f64,
    /// Half-spread charged on simulated fills when no book top is known (fraction of
    /// price).
    pub slippage: f64,
    /// Market impact of simulated fills: basis points at `impact_typical_notional_usd`.
    pub impact_coeff_bps: f64,
    /// Order notional (USDT) at which impact equals `impact_coeff_bps`.
    pub impact_typical_notional_usd: f64,
    /// Impact shape: `sqrt` or `linear`.
    pub impact_model: ImpactShape,
    /// Decision-to-fill latency of simulated fills (ms).
    pub paper_latency_ms: u64,
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
        if !matches!(m.fee_asset.as_str(), "USDT" | "BNB") {
            return bad(
                "mock.fee_asset",
                format!("{:?}: use \"USDT\" or \"BNB\"", m.fee_asset),
            );
        }
        if !(m.listen_key_ttl_s.is_finite() && m.listen_key_ttl_s >= 0.05) {
            return bad("mock.listen_key_ttl_s", "must be at least 0.05 s");
        }
        if self.executor.journal_dir.trim().is_empty() {
            return bad("executor.journal_dir", "must not be empty");
        }
        self.validate_venue()?;
        self.validate_executor()
    }

    fn validate_venue(&self) -> Result<()> {
        fn bad(key: &str, reason: impl Into<String>) -> Result<()> {
            Err(CoreError::Config {
                key: key.to_string(),
                reason: reason.into(),
            })
        }
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
                Err(e) => return bad(key, format!("{url:?} is not a URL: {e}")),
            };
            if !schemes.contains(&parsed.scheme()) {
                return bad(
                    key,
                    format!("{url:?}: scheme must be {} or {}", schemes[0], schemes[1]),
                );
            }
            let loopback = is_loopback_url(url);
            if self.mode == Mode::Paper && !loopback {
                return bad(
                    key,
                    format!(
                        "{url:?}: paper mode only talks to a loopback mock exchange (no network)"
                    ),
                );
            }
            // Keys travel in headers: never in clear text to a remote host.
            if self.mode != Mode::Paper && !loopback && !matches!(parsed.scheme(), "https" | "wss")
            {
                return bad(
                    key,
                    format!(
                        "{url:?}: {} mode needs https/wss to a remote host",
                        self.mode.as_str()
                    ),
                );
            }
        }
        if v.env_file.trim().is_empty() {
            return bad("venue.env_file", "must not be empty");
        }
        if !(1000..=60_000).contains(&v.recv_window_ms) {
            return bad("venue.recv_window_ms", "must be in 1000..=60000");
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
                return bad(k, format!("must be >= {lo}"));
            }
        }
        if v.listen_key_keepalive_s >= 3600 {
            return bad(
                "venue.listen_key_keepalive_s",
                "must be below 3600 (Binance expires a listenKey after 60 min)",
            );
        }
        Ok(())
    }

    fn validate_executor(&self) -> Result<()> {
        fn bad(key: &str, reason: impl Into<String>) -> Result<()> {
            Err(CoreError::Config {
                key: key.to_string(),
                reason: reason.into(),
            })
        }
        let e = &self.executor;
        if self.mode != Mode::Paper && e.venue == ExecVenue::Simulated {
            return bad(
                "executor.venue",
                format!(
                    "{} mode trades on the exchange: use \"exchange\"",
                    self.mode.as_str()
                ),
            );
        }
        if self.mode != Mode::Paper && !e.exchange_stops {
            return bad(
                "executor.exchange_stops",
                "outside paper mode every position has a stop resting on the exchange; it cannot be turned off",
            );
        }
        if e.max_orders_per_min == 0 || e.max_orders_per_min > 1200 {
            return bad(
                "executor.max_orders_per_min",
                "must be in 1..=1200 (Binance's limit)",
            );
        }
        if e.max_weight_per_min == 0 || e.max_weight_per_min > 2400 {
            return bad(
                "executor.max_weight_per_min",
                "must be in 1..=2400 (Binance's limit)",
            );
        }
        if !(e.entry_budget.is_finite() && e.entry_budget > 0.0 && e.entry_budget < 1.0) {
            return bad(
                "executor.entry_budget",
                "must be in (0, 1): the rest of each budget is kept for stops and exits",
            );
        }
        if !(e.stop_extra_atr.is_finite() && e.stop_extra_atr >= 0.0) {
            return bad("executor.stop_extra_atr", "must be >= 0");
        }
        if !(e.stop_min_distance_bps.is_finite()
            && (0.0..1000.0).contains(&e.stop_min_distance_bps))
        {
            return bad("executor.stop_min_distance_bps", "must be in [0, 1000)");
        }
        for (k, v) in [
            ("executor.stop_ack_timeout_ms", e.stop_ack_timeout_ms),
            ("executor.fill_timeout_ms", e.fill_timeout_ms),
        ] {
            if v == 0 {
                return bad(k, "must be > 0");
            }
        }
        Ok(())
    }

    /// Fills empty URLs with the mode's defaults (paper: the local mock at
    /// `mock.listen`), so every stage reads the URL it will use.
    fn resolve_urls(&mut self) {
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
