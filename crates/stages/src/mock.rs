//! The `mock-exchange` process: the mock venue, attached to an instance's control block
//! when started by the launcher (so it shows in `status` and is supervised like any
//! stage), or standalone.

use crate::error::{Result, StageError};
use crate::runtime::stage_idx;
use shmtrader_core::Config;
use shmtrader_mockex::{MockConfig, Speed};
use shmtrader_shm::clock::mono_ns;
use shmtrader_shm::{Instance, StageState};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Command-line overrides of the `[mock]` section.
#[derive(Debug, Clone, Default)]
pub struct MockOverrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--data` (replaces the configured list when non-empty).
    pub data: Vec<PathBuf>,
    /// `--speed`.
    pub speed: Option<String>,
    /// `--api-key`.
    pub api_key: Option<String>,
    /// `--api-secret`.
    pub api_secret: Option<String>,
    /// `--seed`.
    pub seed: Option<u64>,
}

/// Builds the mock's configuration from the app config and overrides.
pub fn mock_config(cfg: &Config, o: &MockOverrides) -> Result<MockConfig> {
    let m = &cfg.mock;
    let listen_s = o.listen.clone().unwrap_or_else(|| m.listen.clone());
    let listen: SocketAddr = listen_s.parse().map_err(|e| {
        StageError::Config(shmtrader_core::CoreError::config_value(
            "mock.listen",
            format!("{listen_s:?}"),
            format!("not an IP:port: {e}"),
        ))
    })?;
    let speed_s = o.speed.clone().unwrap_or_else(|| m.speed.clone());
    let speed: Speed = speed_s.parse()?;
    let data = if o.data.is_empty() {
        m.data.iter().map(PathBuf::from).collect()
    } else {
        o.data.clone()
    };
    for f in &data {
        if !f.exists() {
            return Err(StageError::MissingFile {
                what: "mock data file",
                path: f.clone(),
            });
        }
    }
    Ok(MockConfig {
        listen,
        api_key: o.api_key.clone().unwrap_or_else(|| m.api_key.clone()),
        api_secret: o.api_secret.clone().unwrap_or_else(|| m.api_secret.clone()),
        symbols: cfg.symbols.clone(),
        seed: o.seed.unwrap_or(cfg.synthetic.seed),
        data,
        speed,
        taker_fee: m.taker_fee,
        maker_fee: m.maker_fee,
        slippage_bps: m.slippage_bps,
        trades_per_sec: m.trades_per_sec,
        starting_balance: m.starting_balance,
        listen_key_ttl: std::time::Duration::from_secs_f64(m.listen_key_ttl_s),
        fee_asset: m.fee_asset.clone(),
        history_minutes: m.history_minutes,
        ..MockConfig::default()
    })
}

/// Serves until SIGTERM/SIGINT. With `attach`, registers in the instance's control block
/// and heartbeats from a side thread.
pub fn run(mcfg: MockConfig, attach: Option<(&Config, u64)>) -> Result<()> {
    let term = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, term.clone())
            .map_err(|e| StageError::io("installing signal handler", e))?;
    }
    let mut hb_thread = None;
    let inst = match attach {
        Some((cfg, hb_ms)) => {
            let inst = Instance::open(&cfg.instance)?;
            if let Some(slot) = inst.control.stage(stage_idx::MOCK) {
                let now = mono_ns();
                slot.pid.store(std::process::id(), Ordering::Release);
                slot.cpu.store(-1, Ordering::Release);
                slot.started_ns.store(now, Ordering::Release);
                slot.heartbeat_ns.store(now, Ordering::Release);
                slot.set_state(StageState::Running);
            }
            let (i2, t2) = (inst.clone(), term.clone());
            hb_thread = Some(std::thread::spawn(move || {
                while !t2.load(Ordering::Relaxed) {
                    if let Some(slot) = i2.control.stage(stage_idx::MOCK) {
                        slot.heartbeat_ns.store(mono_ns(), Ordering::Release);
                    }
                    // No orphan venue when the launcher is gone.
                    if !i2.control.owner_alive() {
                        tracing::warn!("the launcher is gone; stopping the mock exchange");
                        t2.store(true, Ordering::Relaxed);
                        // A graceful stop waits for connections to close; an orphan
                        // venue must not outlive that wait.
                        std::thread::spawn(|| {
                            std::thread::sleep(Duration::from_secs(5));
                            tracing::warn!("the mock exchange did not stop within 5 s; exiting");
                            std::process::exit(0);
                        });
                    }
                    std::thread::sleep(Duration::from_millis(hb_ms.max(1)));
                }
            }));
            Some(inst)
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| StageError::io("starting the tokio runtime", e))?;
    tracing::info!(listen = %mcfg.listen, data = mcfg.data.len(), "mock exchange starting");
    let t3 = term.clone();
    let shutdown = async move {
        while !t3.load(Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let res = rt.block_on(shmtrader_mockex::serve(mcfg, shutdown));
    term.store(true, Ordering::Relaxed);
    if let Some(h) = hb_thread {
        let _ = h.join();
    }
    if let Some(inst) = inst {
        if let Some(slot) = inst.control.stage(stage_idx::MOCK) {
            slot.set_state(StageState::Stopped);
        }
    }
    Ok(res?)
}
