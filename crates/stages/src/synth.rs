//! A seeded synthetic market for the walking skeleton: several symbols named and priced
//! like the real perpetuals, regime-switching volatility, log-normal trade sizes and a
//! book around the price.
//!
//! Deterministic: the n-th trade depends only on the seed and n, so a restarted ingest
//! fast-forwards to the ring's write sequence and continues the identical tape.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use shmtrader_core::{BookTop, Side, Tick};

/// Reference price, tick size and typical trade size for well-known perpetuals.
fn profile(symbol: &str) -> (f64, f64, f64) {
    match symbol {
        "BTCUSDT" => (64_000.0, 0.1, 0.01),
        "ETHUSDT" => (3_400.0, 0.01, 0.2),
        "SOLUSDT" => (150.0, 0.01, 5.0),
        "BNBUSDT" => (600.0, 0.01, 1.0),
        "XRPUSDT" => (2.2, 0.0001, 500.0),
        "DOGEUSDT" => (0.18, 0.00001, 5_000.0),
        "ADAUSDT" => (0.7, 0.0001, 1_000.0),
        _ => (100.0, 0.01, 10.0),
    }
}

#[derive(Debug, Clone)]
struct SymState {
    price: f64,
    tick: f64,
    size: f64,
    agg_id: u64,
    trade_id: u64,
    high_vol: bool,
}

/// The generator.
#[derive(Debug, Clone)]
pub struct SyntheticMarket {
    rng: ChaCha8Rng,
    syms: Vec<SymState>,
    produced: u64,
}

impl SyntheticMarket {
    /// A market over `symbols` (ids are positions in the slice).
    pub fn new(seed: u64, symbols: &[String]) -> SyntheticMarket {
        let syms = symbols
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let (price, tick, size) = profile(s);
                SymState {
                    price,
                    tick,
                    size,
                    agg_id: 1_000_000 * (i as u64 + 1),
                    trade_id: 5_000_000 * (i as u64 + 1),
                    high_vol: false,
                }
            })
            .collect();
        SyntheticMarket {
            rng: ChaCha8Rng::seed_from_u64(seed),
            syms,
            produced: 0,
        }
    }

    /// Trades produced so far.
    pub fn produced(&self) -> u64 {
        self.produced
    }

    /// Advances without returning trades (restart fast-forward).
    pub fn skip(&mut self, n: u64) {
        for _ in 0..n {
            self.next_trade(0);
        }
    }

    /// The next trade, stamped with `ts_ns` as exchange and receive time.
    pub fn next_trade(&mut self, ts_ns: u64) -> Tick {
        self.produced += 1;
        let n = self.syms.len().max(1);
        let i = self.rng.gen_range(0..n);
        let u: f64 = self.rng.gen();
        let z: f64 = normal(&mut self.rng);
        let size_z: f64 = normal(&mut self.rng);
        let side_u: f64 = self.rng.gen();
        let Some(s) = self.syms.get_mut(i) else {
            return Tick::default();
        };
        // Regime switch: rare flips between calm and turbulent volatility.
        if u < 0.0005 {
            s.high_vol = !s.high_vol;
        }
        let vol = if s.high_vol { 4e-4 } else { 1e-4 };
        // Momentum-tinged aggressor: buyers more likely after up moves.
        let ret = vol * z;
        s.price = (s.price * (1.0 + ret)).max(s.tick);
        s.price = (s.price / s.tick).round() * s.tick;
        let side = if side_u < 0.5 + (z * 0.1).clamp(-0.2, 0.2) {
            Side::Buy
        } else {
            Side::Sell
        };
        let qty = (s.size * (0.8 * size_z).exp()).max(s.size * 0.01);
        let fills = 1 + (size_z.abs() * 1.5) as u64;
        s.agg_id += 1;
        s.trade_id += fills;
        Tick {
            symbol_id: i as u32,
            side: side.code(),
            flags: Tick::FLAG_SYNTHETIC,
            _pad: 0,
            exchange_ts_ns: ts_ns,
            recv_ts_ns: ts_ns,
            publish_ts_ns: 0,
            price: s.price,
            qty,
            agg_id: s.agg_id,
            last_trade_id: s.trade_id,
        }
    }

    /// A book top around the current price of `symbol_id`.
    pub fn book(&self, symbol_id: u32, ts_ns: u64) -> Option<BookTop> {
        let s = self.syms.get(symbol_id as usize)?;
        Some(BookTop {
            symbol_id,
            flags: 0,
            exchange_ts_ns: ts_ns,
            recv_ts_ns: ts_ns,
            publish_ts_ns: 0,
            bid_px: s.price - s.tick,
            bid_qty: s.size * 3.0,
            ask_px: s.price + s.tick,
            ask_qty: s.size * 3.0,
        })
    }
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; u1 in (0, 1] so ln is finite.
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tape_is_deterministic_and_skip_matches() {
        let syms = vec!["BTCUSDT".to_string(), "ETHUSDT".to_string()];
        let mut a = SyntheticMarket::new(7, &syms);
        let mut b = SyntheticMarket::new(7, &syms);
        let ta: Vec<Tick> = (0..1000).map(|_| a.next_trade(1)).collect();
        b.skip(500);
        for t in &ta[500..] {
            assert_eq!(*t, b.next_trade(1));
        }
        assert!(ta.iter().all(|t| t.price > 0.0 && t.qty > 0.0));
        // Aggregate ids increase per symbol.
        let btc: Vec<u64> = ta
            .iter()
            .filter(|t| t.symbol_id == 0)
            .map(|t| t.agg_id)
            .collect();
        assert!(btc.windows(2).all(|w| w[1] == w[0] + 1));
    }
}
