#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! No look-ahead: the features stored when a signal fires equal the features recomputed
//! by an engine that was only ever fed the ticks up to that signal.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_core::{BookTop, Side, Tick};
use shmtrader_ml::{compute_features, FeatureVec, SignalClock, SignalContext};
use shmtrader_strategy::{Engine, EngineParams, InlineFitter, SignalParams};

#[derive(Clone, Copy)]
enum Ev {
    Tick(Tick),
    Book(BookTop),
}

/// A seeded market: trending and mean-reverting stretches, 6 trades a minute, a book
/// top after every trade.
fn market(bars: usize, seed: u64) -> Vec<Ev> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut px = 30_000.0f64;
    let mut drift = 0.0f64;
    let mut out = Vec::with_capacity(bars * 12);
    let mut agg = 1u64;
    for b in 0..bars as u64 {
        if b % 90 == 0 {
            drift = (rng.gen::<f64>() - 0.5) * 0.002;
        }
        for k in 0..6u64 {
            let ts = (1_700_000_000_000 + b * 60_000 + k * 10_000) * 1_000_000;
            px *= 1.0 + drift / 6.0 + (rng.gen::<f64>() - 0.5) * 0.0015;
            px = (px * 10.0).round() / 10.0;
            let side = if rng.gen::<f64>() < 0.5 + drift * 200.0 {
                Side::Buy
            } else {
                Side::Sell
            };
            out.push(Ev::Tick(Tick {
                symbol_id: 0,
                side: side.code(),
                exchange_ts_ns: ts,
                recv_ts_ns: ts,
                price: px,
                qty: 0.01 + rng.gen::<f64>(),
                agg_id: agg,
                ..Tick::default()
            }));
            agg += 1;
            out.push(Ev::Book(BookTop {
                symbol_id: 0,
                exchange_ts_ns: ts + 1,
                recv_ts_ns: ts + 1,
                bid_px: px - 0.1,
                bid_qty: 0.5 + rng.gen::<f64>() * 5.0,
                ask_px: px + 0.1,
                ask_qty: 0.5 + rng.gen::<f64>() * 5.0,
                ..BookTop::default()
            }));
        }
    }
    out
}

fn params() -> EngineParams {
    EngineParams {
        signal: SignalParams {
            cooldown_ns: 10 * 60_000_000_000,
            ..SignalParams::default()
        },
        ..EngineParams::default()
    }
}

/// Feeds events; at every signal computes the features the filter would store.
/// Returns (event index of the signal, features).
fn run(events: &[Ev]) -> (Engine, Vec<(usize, FeatureVec)>) {
    let mut e = Engine::new(params(), 1, Box::<InlineFitter>::default()).unwrap();
    let mut clock = SignalClock::new(1);
    let mut out = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Ev::Book(b) => e.on_book(b),
            Ev::Tick(t) => {
                if let Some(s) = e.on_tick(i as u64, t) {
                    let since = clock.since_and_mark(0, s.exchange_ts_ns);
                    let ctx = SignalContext::from_signal(&s, since, None).unwrap();
                    out.push((i, compute_features(e.features(0).unwrap(), &ctx)));
                }
            }
        }
    }
    (e, out)
}

#[test]
fn features_from_a_truncated_history_equal_the_stored_ones() {
    let events = market(1_500, 42);
    let (full_engine, stored) = run(&events);
    eprintln!("{} signals over {} events", stored.len(), events.len());
    assert!(stored.len() >= 10, "too few signals: {}", stored.len());
    // Several signals, early and late (late ones have the HMM regime and VPIN).
    let picks = [0, 1, stored.len() / 2, stored.len() - 2, stored.len() - 1];
    for &k in &picks {
        let (i, x) = stored[k];
        let (_, truncated) = run(&events[..=i]);
        let (j, y) = *truncated.last().unwrap();
        assert_eq!(j, i, "the truncated replay fired its last signal elsewhere");
        assert_eq!(truncated.len(), k + 1);
        // Bit-identical, feature by feature (f64 equality is the point here).
        for f in 0..x.len() {
            assert!(
                x[f].to_bits() == y[f].to_bits(),
                "signal {k}, feature {} ({}): stored {} vs truncated {}",
                f,
                shmtrader_ml::NAMES[f],
                x[f],
                y[f]
            );
        }
    }
    // The test can fail: the engine fed the whole tape sees a different state at its
    // end than at the last signal.
    let (i_last, x_last) = *stored.last().unwrap();
    assert!(i_last < events.len() - 1);
    let s = shmtrader_core::Signal {
        side: Side::Buy.code(),
        strength: 0.5,
        threshold: 0.35,
        ..Default::default()
    };
    let ctx = SignalContext::from_signal(&s, None, None).unwrap();
    let later = compute_features(full_engine.features(0).unwrap(), &ctx);
    assert_ne!(later[..14], x_last[..14]);
    // Late signals have the engine's slower features warm.
    let (_, late) = stored[stored.len() - 1];
    assert!(late[12] != 0.0 || late[13] != 0.5, "regime never fitted");
    assert!(late[9] != 0.0, "book features missing");
}
