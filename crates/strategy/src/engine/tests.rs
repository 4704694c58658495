use super::*;
use crate::fitter::InlineFitter;
use crate::regime::GaussianHmm;
use shmtrader_core::Side;
use shmtrader_indicators::{read_klines, Bar};
use std::path::PathBuf;

fn data_dir() -> PathBuf {
    std::env::var_os("SHMTRADER_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn real_klines(rel: &str) -> Option<Vec<Bar>> {
    let p = data_dir().join(rel);
    if !p.exists() {
        let req = std::env::var("SHMTRADER_REQUIRE_DATA").is_ok_and(|v| v == "1");
        assert!(!req, "{} missing", p.display());
        eprintln!("SKIPPED: {} missing", p.display());
        return None;
    }
    Some(read_klines(&p).unwrap())
}

/// Each kline traced by four trades (open, high, low, close; the low first on down
/// bars), the way the backtest replays klines.
fn ticks_of(klines: &[Bar]) -> Vec<Tick> {
    let mut out = Vec::with_capacity(klines.len() * 4);
    let mut agg = 1u64;
    for k in klines {
        let path = if k.close >= k.open {
            [k.open, k.low, k.high, k.close]
        } else {
            [k.open, k.high, k.low, k.close]
        };
        for (j, px) in path.into_iter().enumerate() {
            let ts = (k.open_time_ms + [0, 15_000, 30_000, 59_000][j]) as u64 * 1_000_000;
            out.push(Tick {
                symbol_id: 0,
                side: if j % 2 == 0 {
                    Side::Buy.code()
                } else {
                    Side::Sell.code()
                },
                exchange_ts_ns: ts,
                recv_ts_ns: ts,
                price: px,
                qty: k.volume / 4.0,
                agg_id: agg,
                ..Tick::default()
            });
            agg += 1;
        }
    }
    out
}

fn params() -> EngineParams {
    EngineParams {
        adaptive_enabled: false,
        signal: SignalParams {
            cooldown_ns: 15 * 60_000_000_000,
            ..SignalParams::default()
        },
        ..EngineParams::default()
    }
}

fn run(ticks: &[Tick], fitter: Box<dyn Fitter>) -> (Vec<Signal>, EngineStats) {
    let mut e = Engine::new(params(), 1, fitter).unwrap();
    let sigs = ticks
        .iter()
        .enumerate()
        .filter_map(|(i, t)| e.on_tick(i as u64, t))
        .collect();
    (sigs, e.stats())
}

type Job = (Vec<[f64; DIM]>, usize, usize);

/// A fitter that does the work only when asked for the result, like a worker
/// thread that is slow: the installed model and the signals must not change.
#[derive(Default)]
struct LateFitter {
    jobs: Vec<Option<Job>>,
}
impl Fitter for LateFitter {
    fn submit(&mut self, symbol: usize, data: Vec<[f64; DIM]>, k: usize, iters: usize) {
        if self.jobs.len() <= symbol {
            self.jobs.resize(symbol + 1, None);
        }
        self.jobs[symbol] = Some((data, k, iters));
    }
    fn collect(&mut self, symbol: usize) -> Option<GaussianHmm> {
        let (d, k, it) = self.jobs.get_mut(symbol)?.take()?;
        GaussianHmm::fit(&d, k, it).ok()
    }
}

#[test]
fn signals_on_real_btc_klines_are_deterministic_and_confirmed() {
    let Some(k) = real_klines("typhonun_DcaTpStrategy/futures/BTC_USDT_USDT-1m-futures.csv.gz")
    else {
        return;
    };
    let k = &k[..k.len().min(8_000)];
    let ticks = ticks_of(k);
    let (a, st) = run(&ticks, Box::<InlineFitter>::default());
    let (b, _) = run(&ticks, Box::<LateFitter>::default());
    assert_eq!(a, b, "fit timing changed the signals");
    let longs = a.iter().filter(|s| s.side == Side::Buy.code()).count();
    let shorts = a.len() - longs;
    eprintln!(
        "{} bars: {} signals ({longs} long, {shorts} short), {} vetoed, {} HMM refits",
        k.len(),
        a.len(),
        st.vetoed,
        st.refits
    );
    assert!(longs > 5 && shorts > 5, "{longs} long / {shorts} short");
    assert!(st.refits > 10);
    for s in &a {
        assert!(s.strength.abs() >= s.threshold, "{s:?}");
        assert_eq!(s.strength > 0.0, s.side == Side::Buy.code());
    }
    // Cooldown: 15 minutes between signals of one symbol.
    for w in a.windows(2) {
        assert!(w[1].exchange_ts_ns - w[0].exchange_ts_ns >= 15 * 60_000_000_000);
    }
    // Regimes get labelled once the HMM is fitted.
    assert!(a.iter().any(|s| s.regime != 0));
}

/// No look-ahead: the signals up to tick n do not depend on anything after n.
#[test]
fn no_look_ahead() {
    let Some(k) = real_klines("typhonun_DcaTpStrategy/futures/ETH_USDT_USDT-1m-futures.csv.gz")
    else {
        return;
    };
    let ticks = ticks_of(&k[..3_000]);
    let (full, _) = run(&ticks, Box::<InlineFitter>::default());
    let cut = ticks.len() / 2;
    let (half, _) = run(&ticks[..cut], Box::<InlineFitter>::default());
    let prefix: Vec<_> = full
        .iter()
        .filter(|s| (s.source_seq as usize) < cut)
        .cloned()
        .collect();
    assert_eq!(half, prefix);
}

#[test]
fn bad_duplicate_and_late_ticks_are_counted_not_used() {
    let mut e = Engine::new(params(), 2, Box::<InlineFitter>::default()).unwrap();
    let t = Tick {
        symbol_id: 1,
        side: Side::Buy.code(),
        exchange_ts_ns: 120_000_000_000,
        price: 100.0,
        qty: 1.0,
        agg_id: 10,
        ..Tick::default()
    };
    e.on_tick(0, &t);
    e.on_tick(1, &t); // same agg id
    e.on_tick(2, &Tick { agg_id: 9, ..t }); // older
    e.on_tick(
        3,
        &Tick {
            agg_id: 11,
            price: f64::NAN,
            ..t
        },
    );
    e.on_tick(
        4,
        &Tick {
            agg_id: 12,
            price: -1.0,
            ..t
        },
    );
    e.on_tick(
        5,
        &Tick {
            agg_id: 13,
            symbol_id: 7,
            ..t
        },
    );
    e.on_tick(
        6,
        &Tick {
            agg_id: 14,
            side: 9,
            ..t
        },
    );
    e.on_tick(
        7,
        &Tick {
            agg_id: 15,
            exchange_ts_ns: 1_000_000,
            ..t
        },
    );
    let s = e.stats();
    assert_eq!(
        (s.duplicates, s.rejected, s.out_of_order),
        (2, 4, 1),
        "{s:?}"
    );
    assert_eq!(e.last_agg_id(1), Some(10));
    // The good tick after all that is still used.
    e.on_tick(
        8,
        &Tick {
            agg_id: 16,
            price: 101.0,
            ..t
        },
    );
    assert_eq!(e.last_agg_id(1), Some(16));
    assert_eq!(e.features(1).unwrap().ind.price, 101.0);
}

#[test]
fn bad_params_rejected() {
    let mut p = params();
    p.regime.states = 7;
    assert!(Engine::new(p, 1, Box::<InlineFitter>::default()).is_err());
    let mut p = params();
    p.micro.vpin_max = 0.0;
    assert!(Engine::new(p, 1, Box::<InlineFitter>::default()).is_err());
    let mut p = params();
    p.indicators.ema_fast = 0;
    assert!(Engine::new(p, 1, Box::<InlineFitter>::default()).is_err());
}
