//! `shmtrader`: one binary, one subcommand per process or tool. Parsing and wiring
//! only; everything else lives in the library crates.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use shmtrader_core::{Config, Mode};
use shmtrader_shm::Instance;
use shmtrader_stages::launcher::{self, LaunchOptions};
use shmtrader_stages::runtime::StageCtx;
use shmtrader_stages::{analytics, control_cmd, executor, ingest, mock, status};
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "shmtrader",
    version,
    about = "Low-latency Binance USD-M trading over shared-memory rings"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Configuration file (TOML). Without it the embedded defaults are used (paper mode).
    #[arg(long, short = 'c', env = "SHMTRADER_CONFIG")]
    config: Option<PathBuf>,
    /// Instance name (overrides `instance` in the config).
    #[arg(long, env = "SHMTRADER_INSTANCE")]
    instance: Option<String>,
    /// Required, in addition to `mode = "live"`, to trade real money.
    #[arg(long)]
    live: bool,
}

/// Arguments of the control commands (`flatten`, `stop-entries`, `resume`).
#[derive(Args, Debug, Clone)]
struct ControlArgs {
    #[command(flatten)]
    common: Common,
    /// Seconds to wait for the executor's report (also how long the command keeps other
    /// commands out if the executor does not take it).
    #[arg(long, default_value_t = control_cmd::DEFAULT_TIMEOUT.as_secs_f64())]
    timeout: f64,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Launcher: create the segments, start and supervise the stages.
    Run {
        #[command(flatten)]
        common: Common,
        /// Stop cleanly after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
        /// Leave the shared-memory segments in place after exit (debugging, tests).
        #[arg(long)]
        keep_segments: bool,
        /// Leave this stage (ingest, analytics, executor, mock-exchange) to a process you
        /// start by hand, e.g. under a debugger: the launcher starts and supervises the
        /// others, shows it as manual in `status` and never restarts it. Repeatable.
        #[arg(long, value_name = "STAGE")]
        manual: Vec<String>,
    },
    /// Run the ingest stage alone against an existing instance.
    Ingest {
        #[command(flatten)]
        common: Common,
    },
    /// Run the analytics stage alone against an existing instance.
    Analytics {
        #[command(flatten)]
        common: Common,
    },
    /// Run the executor stage alone against an existing instance.
    Executor {
        #[command(flatten)]
        common: Common,
    },
    /// Show stages, rings, counters, trading figures and latencies of an instance.
    Status {
        #[command(flatten)]
        common: Common,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancel this instance's orders and stops and close its positions.
    ///
    /// Asks the running executor (through the control segment) and prints its report.
    /// Exit status: 0 done, 1 refused or failed, 3 no report within the timeout (the
    /// command then stays pending until the executor takes it), 2 error (instance not
    /// running, another command in progress).
    Flatten {
        #[command(flatten)]
        args: ControlArgs,
    },
    /// Stop opening positions (open ones are still managed and exited); same exit
    /// status as `flatten`.
    StopEntries {
        #[command(flatten)]
        args: ControlArgs,
    },
    /// Accept entries again after `stop-entries`; same exit status as `flatten`.
    Resume {
        #[command(flatten)]
        args: ControlArgs,
    },
    /// The offline venue: a mock of Binance USD-M (REST + websockets) on loopback.
    MockExchange {
        #[command(flatten)]
        common: Common,
        /// Address to listen on (default: `[mock] listen` from the config).
        #[arg(long)]
        listen: Option<String>,
        /// Recorded data to replay instead of the synthetic market (repeatable).
        #[arg(long, num_args = 1..)]
        data: Vec<PathBuf>,
        /// Replay speed: 1x, 10x, max or a factor.
        #[arg(long)]
        speed: Option<String>,
        /// API key the mock accepts.
        #[arg(long)]
        api_key: Option<String>,
        /// API secret the mock checks signatures with.
        #[arg(long)]
        api_secret: Option<String>,
        /// Seed of the synthetic market.
        #[arg(long)]
        seed: Option<u64>,
        /// Register in the instance's control block (set by the launcher).
        #[arg(long, hide = true)]
        attach: bool,
    },
    /// Print the indicators of a kline file as CSV (periods from the config).
    Indicators {
        #[command(flatten)]
        common: Common,
        /// Kline file: `open_time_ms,open,high,low,close,volume` or Binance public-data
        /// klines (with or without a header), plain or .gz.
        #[arg(long)]
        data: PathBuf,
    },
    /// Replay recorded data through the strategy, risk and fill code; report net results.
    Backtest {
        #[command(flatten)]
        common: Common,
        /// Data files: trade CSVs, raw captures, Binance aggTrades CSVs, kline files
        /// (`SYMBOL=PATH` names a kline file's symbol). Files of several symbols share one
        /// account.
        #[arg(long, num_args = 1.., required = true)]
        data: Vec<PathBuf>,
        /// Write `{"summary", "per_symbol", "trades"}` here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Write a self-contained HTML report here.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Compare variants (rules, adaptive, regime, ML, random filter) on the same data.
        #[arg(long)]
        compare: bool,
        /// One account per symbol instead of one shared account: the symbols run in
        /// parallel and the table has one row per account.
        #[arg(long)]
        separate: bool,
    },
    /// Run the benchmark suite (or one benchmark) and print a table.
    Bench {
        /// Benchmark name (`ring`, ...); all when omitted.
        name: Option<String>,
        /// Also write the rows as a JSON array to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Fewer samples (smoke test).
        #[arg(long)]
        quick: bool,
        /// Producer and consumer cores, e.g. `0,1`.
        #[arg(long, default_value = "0,1")]
        cpus: String,
    },
    /// Internal: helper process of a benchmark.
    #[command(hide = true)]
    BenchChild {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Loads the configuration: file (or embedded defaults), then `SHMTRADER_*` overrides,
/// then `--instance`; refuses live mode without `--live`.
fn load_config(common: &Common) -> Result<Config> {
    let env: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SHMTRADER_"))
        .collect();
    let loaded = Config::from_file_with_env(
        common.config.as_deref(),
        env.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    // A file that cannot be read says so itself; anything else is a bad configuration.
    let mut cfg = match loaded {
        Err(e @ shmtrader_core::CoreError::ConfigFile { .. }) => return Err(e.into()),
        other => other.context("invalid configuration")?,
    };
    if let Some(i) = &common.instance {
        cfg.instance = i.clone();
        cfg.validate().context("invalid configuration")?;
    }
    match (cfg.mode, common.live) {
        (Mode::Live, false) => bail!(
            "config says mode = \"live\" but --live was not given; refusing to trade real money"
        ),
        (m, true) if m != Mode::Live => bail!(
            "--live was given but the config's mode is {:?}; set mode = \"live\" to trade real money",
            m.as_str()
        ),
        _ => {}
    }
    shmtrader_stages::settings::validate(&cfg).context("invalid configuration")?;
    Ok(cfg)
}

fn child_args(common: &Common, cfg: &Config) -> Vec<String> {
    let mut v = vec!["--instance".to_string(), cfg.instance.clone()];
    if let Some(p) = &common.config {
        let abs = std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
        v.push("--config".into());
        v.push(abs.display().to_string());
    }
    if common.live {
        v.push("--live".into());
    }
    v
}

fn ticks_rate(inst: &Instance) -> f64 {
    let a = inst.ticks.write_seq();
    std::thread::sleep(Duration::from_millis(250));
    (inst.ticks.write_seq() - a) as f64 / 0.25
}

fn main() {
    init_logging();
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("shmtrader: error: {e:#}");
            std::process::exit(2);
        }
    }
}

fn real_main(cli: Cli) -> Result<i32> {
    match cli.cmd {
        Cmd::Run {
            common,
            duration,
            keep_segments,
            manual,
        } => {
            let cfg = load_config(&common)?;
            let exe = std::env::current_exe().context("cannot locate the shmtrader executable")?;
            let duration = match duration {
                Some(d) if d.is_finite() && d > 0.0 => Some(Duration::from_secs_f64(d)),
                Some(d) => bail!("--duration must be a positive number of seconds, got {d}"),
                None => None,
            };
            let opts = LaunchOptions {
                exe,
                child_args: child_args(&common, &cfg),
                duration,
                keep_segments,
                manual,
            };
            Ok(launcher::run(&cfg, opts)?)
        }
        Cmd::Ingest { common } => {
            ingest::run(StageCtx::start(load_config(&common)?, "ingest")?)?;
            Ok(0)
        }
        Cmd::Analytics { common } => {
            analytics::run(StageCtx::start(load_config(&common)?, "analytics")?)?;
            Ok(0)
        }
        Cmd::Executor { common } => {
            executor::run(StageCtx::start(load_config(&common)?, "executor")?)?;
            Ok(0)
        }
        Cmd::Status { common, json } => {
            let cfg = load_config(&common)?;
            let inst = Instance::open(&cfg.instance).with_context(|| {
                format!(
                    "instance {:?} is not running (no segments in /dev/shm)",
                    cfg.instance
                )
            })?;
            let v = status::status_json(&inst, &cfg.venue.rest_url, ticks_rate(&inst));
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print!("{}", status::status_text(&v));
            }
            Ok(0)
        }
        Cmd::Flatten { args } => control_command(&args, shmtrader_shm::Command::Flatten),
        Cmd::StopEntries { args } => control_command(&args, shmtrader_shm::Command::StopEntries),
        Cmd::Resume { args } => control_command(&args, shmtrader_shm::Command::Resume),
        Cmd::MockExchange {
            common,
            listen,
            data,
            speed,
            api_key,
            api_secret,
            seed,
            attach,
        } => {
            let cfg = load_config(&common)?;
            let o = mock::MockOverrides {
                listen,
                data,
                speed,
                api_key,
                api_secret,
                seed,
            };
            let mcfg = mock::mock_config(&cfg, &o)?;
            mock::run(
                mcfg,
                attach.then_some((&cfg, cfg.supervisor.heartbeat_interval_ms)),
            )?;
            Ok(0)
        }
        Cmd::Indicators { common, data } => {
            let cfg = load_config(&common)?;
            let params = analytics::indicator_params(&cfg);
            let klines = shmtrader_indicators::read_klines(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            shmtrader_indicators::write_indicator_csv(&mut out, &klines, &params)?;
            std::io::Write::flush(&mut out).context("writing to stdout")?;
            Ok(0)
        }
        Cmd::Backtest {
            common,
            data,
            json,
            report,
            compare,
            separate,
        } => {
            let cfg = load_config(&common)?;
            let code = shmtrader_backtest::cli(shmtrader_backtest::BacktestArgs {
                config: cfg,
                data,
                json,
                report,
                compare,
                separate,
            })?;
            Ok(code)
        }
        Cmd::Bench {
            name,
            json,
            quick,
            cpus,
        } => bench(name.as_deref(), json.as_deref(), quick, &cpus),
        Cmd::BenchChild { args } => {
            bench_child(&args)?;
            Ok(0)
        }
    }
}

/// Posts a control command to the instance's executor, waits for its report and prints
/// it; the exit code says how it ended.
fn control_command(args: &ControlArgs, cmd: shmtrader_shm::Command) -> Result<i32> {
    // `--instance` alone is enough: no config is needed to talk to a running instance.
    let instance = match &args.common.instance {
        Some(i) => i.clone(),
        None => load_config(&args.common)?.instance,
    };
    let t = args.timeout;
    if !(t.is_finite() && t > 0.0 && t <= 86_400.0) {
        bail!("--timeout must be a number of seconds in (0, 86400], got {t}");
    }
    let inst = control_cmd::open_running(&instance)?;
    let res = control_cmd::post_and_wait(&inst, cmd, Duration::from_secs_f64(t))?;
    print!("{}", res.render());
    if let Some(why) = res.failure_reason() {
        eprintln!("shmtrader: {why}");
    }
    Ok(res.exit_code())
}

fn bench(name: Option<&str>, json: Option<&Path>, quick: bool, cpus: &str) -> Result<i32> {
    let parse = |s: Option<&str>| s.and_then(|v| v.trim().parse::<usize>().ok());
    let mut it = cpus.split(',');
    let (Some(a), Some(b)) = (parse(it.next()), parse(it.next())) else {
        bail!("--cpus must be two core numbers like 0,1, got {cpus:?}");
    };
    let exe = std::env::current_exe().context("cannot locate the shmtrader executable")?;
    let opts = shmtrader_bench::BenchOptions {
        quick,
        cpus: (a, b),
    };
    let rows = shmtrader_bench::run(name, &exe, &opts)?;
    print!("{}", shmtrader_bench::print_table(&rows));
    if let Some(p) = json {
        shmtrader_bench::write_json(&rows, p)?;
        eprintln!("rows written to {}", p.display());
    }
    Ok(0)
}

fn bench_child(args: &[String]) -> Result<()> {
    Ok(shmtrader_bench::child_main(args)?)
}
