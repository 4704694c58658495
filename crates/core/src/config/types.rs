//! The configuration's tables, one struct per TOML table; every struct denies unknown
//! keys.

use crate::error::{CoreError, Result};
use serde::{Deserialize, Serialize};

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
    /// Minutes of seeded 1-minute kline history before the synthetic market's start,
    /// served by `GET /fapi/v1/klines` for warm starts (0: none; at most 10080, the
    /// 7 days of bars the mock keeps). Replay ignores it.
    pub history_minutes: u32,
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
    /// Bars ring capacity (closed bars with their ATR, analytics to the executor).
    pub bars: u64,
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
    /// Prediction-cache entries (LRU keyed by model version and quantized features);
    /// 0 = off. Its hit rate is in `status`.
    pub cache_size: u32,
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
    /// Closed bars fetched from the venue's klines at start to seed the indicators,
    /// VPIN's daily volume and the regime window before the first live trade (0 = start
    /// cold). Used when `bar_interval_ms` is a kline interval (1m, 3m, 5m, ...).
    pub warmup_bars: u32,
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
    /// Adaptive threshold multiplier per regime, in the order trending_low_vol,
    /// trending_high_vol, ranging_low_vol, ranging_high_vol (unknown: 1).
    pub regime_threshold_mult: [f64; 4],
}

impl StrategyConfig {
    /// Parses `trading_window_utc` into UTC minutes `[start, end)`.
    pub fn trading_window(&self) -> Result<Option<(u32, u32)>> {
        let w = self.trading_window_utc.trim();
        if w.is_empty() {
            return Ok(None);
        }
        let err = || {
            CoreError::config_value(
                "strategy.trading_window_utc",
                format!("{w:?}"),
                "expected \"HH:MM-HH:MM\" (UTC) or \"\"",
            )
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
