//! The 18 features the filter sees, computed causally at signal time.
//!
//! Everything comes from what the engine knows at the tick that fired the signal
//! ([`shmtrader_strategy::Features`], provisional indicator values included) plus the
//! signal itself and two values the caller tracks: the time since the symbol's previous
//! signal and, where an L2 feed runs a spoofing detector, its score. Nothing here looks at
//! a later tick, so the vector stored at signal time is exactly what a replay truncated at
//! that tick recomputes (tested in `tests/no_look_ahead.rs`).
//!
//! **Side alignment.** Directional features (EMA spread, RSI, MACD, %B, VWAP distance,
//! signed-volume imbalance, book imbalance, microprice, OFI) are multiplied by the side's
//! sign (+1 long, −1 short), so a positive value always means "the market leans the way
//! of the trade". A linear model cannot learn the side × feature interaction by itself,
//! and without alignment a long and a short with the same market state would look
//! identical. The side itself stays a feature (long/short bias).
//!
//! **Missing values.** A `None` (indicator not warm, no book feed, regime not fitted) or a
//! non-finite value becomes that feature's documented neutral value in [`NEUTRAL`] — no
//! extra "missing" flags, so the vector stays 18 wide. A feature that is always missing
//! (e.g. book features in a kline backtest) is then constant, gets zero weight after
//! standardization, and changes nothing.
//!
//! Computing a vector is a handful of float operations on the stack: no allocation.

use shmtrader_core::{Side, Signal};
use shmtrader_strategy::{Features, Regime};

/// Width of the feature vector.
pub const N_FEATURES: usize = 18;

/// One feature vector (f64: the standardization and the models are f64 anyway, and the
/// vector is 144 bytes on the stack).
pub type FeatureVec = [f64; N_FEATURES];

/// Feature names, in vector order (for reports and the saved model).
pub const NAMES: [&str; N_FEATURES] = [
    "ema_spread_bps",
    "rsi_centered",
    "macd_hist_bps",
    "pct_b_centered",
    "atr_bps",
    "log_rv",
    "vwap_dist_bps",
    "svi",
    "vpin",
    "book_imbalance",
    "microprice_bps",
    "ofi",
    "regime_trend",
    "p_high_vol",
    "side",
    "strength_margin",
    "log_secs_since_last",
    "spoof_score",
];

/// `ln(1 + 86400)`: the value of "time since the last signal" for a symbol's first
/// signal — as if the previous one were a day ago, i.e. long enough to be irrelevant.
pub const LOG_SECS_NO_PREVIOUS: f64 = 11.366_754_528_799_243;

/// ln of a per-bar realized volatility of 0.09 %, a typical one-minute figure for the
/// majors: stands in for a missing RV so a cold symbol looks ordinary, not extreme.
pub const LOG_RV_MISSING: f64 = -7.0;

/// The value each feature takes when its input is missing or not finite, with why:
///
/// | # | feature | neutral | why |
/// |---|---|---|---|
/// | 0 | EMA spread (bps, side-aligned) | 0 | no trend |
/// | 1 | RSI/100 − 0.5 (side-aligned) | 0 | RSI 50 |
/// | 2 | MACD histogram (bps, side-aligned) | 0 | no momentum |
/// | 3 | %B − 0.5 (side-aligned) | 0 | at the middle band |
/// | 4 | ATR (bps of price) | 0 | no range information |
/// | 5 | ln RV | −7 | [`LOG_RV_MISSING`] |
/// | 6 | VWAP distance (bps, side-aligned) | 0 | at VWAP |
/// | 7 | signed-volume imbalance (side-aligned) | 0 | balanced flow |
/// | 8 | VPIN | 0 | no evidence of toxic flow (the engine does not veto on a missing VPIN either) |
/// | 9 | top-of-book imbalance (side-aligned) | 0 | balanced book / no book feed |
/// | 10 | microprice − mid (bps, side-aligned) | 0 | microprice at mid |
/// | 11 | order-flow imbalance (side-aligned) | 0 | balanced |
/// | 12 | regime trend axis: +1 trending, −1 ranging | 0 | regime unknown |
/// | 13 | P(high-volatility state) | 0.5 | maximum uncertainty |
/// | 14 | side: +1 long, −1 short | — | never missing |
/// | 15 | \|strength\| − threshold | 0 | exactly at the threshold |
/// | 16 | ln(1 + seconds since the symbol's last signal) | [`LOG_SECS_NO_PREVIOUS`] | first signal |
/// | 17 | spoofing score of the book side supporting the trade | 0 | **unavailable**: the engine's `Features` carries no spoofing score; only a caller running a `SpoofDetector` on an L2 depth feed can pass one |
pub const NEUTRAL: FeatureVec = [
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    LOG_RV_MISSING,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.5,
    0.0,
    0.0,
    LOG_SECS_NO_PREVIOUS,
    0.0,
];

/// What the filter needs to know about the signal besides the market state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SignalContext {
    /// Proposed side.
    pub side: Side,
    /// Signal strength (its sign is ignored: the side carries it).
    pub strength: f64,
    /// The threshold the strength passed (adaptive or fixed).
    pub threshold: f64,
    /// Seconds since the previous signal of the same symbol (`None` for the first one);
    /// see [`SignalClock`].
    pub secs_since_last: Option<f64>,
    /// Spoofing score (`SpoofDetector::score`) of the book side that supports the trade —
    /// bids for a long, asks for a short: spoofed support is fake support. `None` when no
    /// L2 depth feed runs a detector, which is the case for everything the engine alone
    /// produces.
    pub spoof_score: Option<f64>,
}

impl SignalContext {
    /// From a published signal; `None` if its side code is invalid.
    pub fn from_signal(
        s: &Signal,
        secs_since_last: Option<f64>,
        spoof_score: Option<f64>,
    ) -> Option<SignalContext> {
        Some(SignalContext {
            side: s.side()?,
            strength: f64::from(s.strength),
            threshold: f64::from(s.threshold),
            secs_since_last,
            spoof_score,
        })
    }
}

/// Per-symbol time of the last signal, so the caller can fill
/// [`SignalContext::secs_since_last`]. Fixed size, no allocation after construction.
#[derive(Debug, Clone)]
pub struct SignalClock {
    last_ns: Vec<Option<u64>>,
}

impl SignalClock {
    /// A clock for `n_symbols` symbols.
    pub fn new(n_symbols: usize) -> SignalClock {
        SignalClock {
            last_ns: vec![None; n_symbols],
        }
    }

    /// Seconds since the symbol's previous signal (`None` for its first, or an unknown
    /// symbol), then records `ts_ns` as its last signal.
    pub fn since_and_mark(&mut self, symbol: usize, ts_ns: u64) -> Option<f64> {
        let slot = self.last_ns.get_mut(symbol)?;
        let out = slot.map(|l| ts_ns.saturating_sub(l) as f64 / 1e9);
        *slot = Some(ts_ns);
        out
    }
}

#[inline]
fn or_neutral(v: Option<f64>, i: usize) -> f64 {
    match v {
        Some(x) if x.is_finite() => x,
        _ => NEUTRAL[i],
    }
}

/// Computes the feature vector (see the module doc and [`NEUTRAL`]). Pure, causal and
/// allocation-free.
#[inline]
pub fn compute(f: &Features, ctx: &SignalContext) -> FeatureVec {
    let d = ctx.side.sign();
    let ind = &f.ind;
    let px = ind.price;
    let px_ok = px.is_finite() && px > 0.0;
    // Relative to price, in basis points; `None` when there is no usable price.
    let bps = |v: Option<f64>| -> Option<f64> {
        if px_ok {
            v.map(|v| v / px * 1e4)
        } else {
            None
        }
    };
    let ema_spread = match (ind.ema_fast, ind.ema_slow) {
        (Some(a), Some(b)) => bps(Some(a - b)),
        _ => None,
    };
    let vwap_dist = match ind.vwap {
        Some(v) if v.is_finite() && v > 0.0 && px_ok => Some((px - v) / v * 1e4),
        _ => None,
    };
    let log_rv = match ind.rv {
        Some(r) if r > 0.0 => Some(r.ln()),
        _ => None,
    };
    let regime = match f.regime {
        Regime::TrendingLowVol | Regime::TrendingHighVol => Some(1.0),
        Regime::RangingLowVol | Regime::RangingHighVol => Some(-1.0),
        Regime::Unknown => None,
    };
    let margin = {
        let m = ctx.strength.abs() - ctx.threshold;
        m.is_finite().then_some(m)
    };
    let since = match ctx.secs_since_last {
        Some(s) if s >= 0.0 => Some(s.ln_1p()),
        _ => None,
    };
    let aligned = |v: Option<f64>| v.map(|x| d * x);
    [
        or_neutral(aligned(ema_spread), 0),
        or_neutral(aligned(ind.rsi.map(|r| r / 100.0 - 0.5)), 1),
        or_neutral(aligned(bps(ind.macd.map(|m| m.hist))), 2),
        or_neutral(aligned(ind.bb.map(|b| b.pct_b - 0.5)), 3),
        or_neutral(bps(ind.atr), 4),
        or_neutral(log_rv, 5),
        or_neutral(aligned(vwap_dist), 6),
        or_neutral(aligned(f.svi), 7),
        or_neutral(f.vpin, 8),
        or_neutral(aligned(f.book_imbalance), 9),
        or_neutral(aligned(f.microprice_bps), 10),
        or_neutral(aligned(f.ofi), 11),
        or_neutral(regime, 12),
        or_neutral(f.p_high_vol, 13),
        d,
        or_neutral(margin, 15),
        or_neutral(since, 16),
        or_neutral(ctx.spoof_score, 17),
    ]
}

/// Times [`compute`] over a set of varied, fully populated inputs: `n` calls in batches
/// of 256 (one clock pair per batch, so the ~20 ns clock read does not swamp a ~20 ns
/// computation). Returns the mean ns per call of each batch, for percentiles.
pub fn bench_features(n: usize) -> Vec<f64> {
    use shmtrader_indicators::{BbValue, MacdValue, Snapshot};
    const BATCH: usize = 256;
    let inputs: Vec<(Features, SignalContext)> = (0..64)
        .map(|i| {
            let k = i as f64;
            let px = 60_000.0 + k * 3.0;
            let f = Features {
                ind: Snapshot {
                    price: px,
                    bar_open_ms: 0,
                    ema_fast: Some(px + k),
                    ema_slow: Some(px - k),
                    rsi: Some(30.0 + k),
                    macd: Some(MacdValue {
                        macd: k,
                        signal: k * 0.5,
                        hist: k * 0.5,
                    }),
                    bb: Some(BbValue {
                        upper: px + 100.0,
                        middle: px,
                        lower: px - 100.0,
                        pct_b: k / 64.0,
                    }),
                    atr: Some(50.0 + k),
                    rv: Some(0.001 + k * 1e-5),
                    vwap: Some(px - 10.0),
                },
                svi: Some(k / 64.0 - 0.5),
                vpin: Some(k / 128.0),
                book_imbalance: Some(0.5 - k / 64.0),
                microprice_bps: Some(k * 0.01),
                ofi: Some(-k / 100.0),
                regime: Regime::from_code((i % 5) as u8),
                p_high_vol: Some(k / 64.0),
            };
            let ctx = SignalContext {
                side: if i % 2 == 0 { Side::Buy } else { Side::Sell },
                strength: 0.4 + k / 200.0,
                threshold: 0.35,
                secs_since_last: (i % 7 != 0).then_some(60.0 * k),
                spoof_score: None,
            };
            (f, ctx)
        })
        .collect();
    let mut out = Vec::with_capacity(n / BATCH + 1);
    let mut done = 0;
    while done + BATCH <= n.max(BATCH) {
        let t0 = std::time::Instant::now();
        for j in 0..BATCH {
            let (f, c) = &inputs[(done + j) & 63];
            std::hint::black_box(compute(std::hint::black_box(f), c));
        }
        out.push(t0.elapsed().as_nanos() as f64 / BATCH as f64);
        done += BATCH;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use shmtrader_indicators::{BbValue, MacdValue, Snapshot};

    fn ctx(side: Side) -> SignalContext {
        SignalContext {
            side,
            strength: if side == Side::Buy { 0.5 } else { -0.5 },
            threshold: 0.35,
            secs_since_last: Some(120.0),
            spoof_score: None,
        }
    }

    fn full() -> Features {
        Features {
            ind: Snapshot {
                price: 100.0,
                bar_open_ms: 0,
                ema_fast: Some(101.0),
                ema_slow: Some(100.0),
                rsi: Some(70.0),
                macd: Some(MacdValue {
                    macd: 0.2,
                    signal: 0.1,
                    hist: 0.1,
                }),
                bb: Some(BbValue {
                    upper: 102.0,
                    middle: 100.0,
                    lower: 98.0,
                    pct_b: 0.8,
                }),
                atr: Some(0.5),
                rv: Some(0.002),
                vwap: Some(99.0),
            },
            svi: Some(0.3),
            vpin: Some(0.4),
            book_imbalance: Some(0.2),
            microprice_bps: Some(1.5),
            ofi: Some(-0.1),
            regime: Regime::TrendingHighVol,
            p_high_vol: Some(0.9),
        }
    }

    #[test]
    fn empty_features_are_the_neutral_vector() {
        let x = compute(&Features::default(), &ctx(Side::Buy));
        for i in 0..N_FEATURES {
            match i {
                14 => assert_eq!(x[i], 1.0),
                15 => assert!((x[i] - 0.15).abs() < 1e-12),
                16 => assert!((x[i] - 121f64.ln()).abs() < 1e-12),
                _ => assert_eq!(x[i], NEUTRAL[i], "feature {} ({})", i, NAMES[i]),
            }
        }
        let first = SignalContext {
            secs_since_last: None,
            ..ctx(Side::Buy)
        };
        assert_eq!(compute(&Features::default(), &first)[16], NEUTRAL[16]);
        assert!((LOG_SECS_NO_PREVIOUS - 86_401f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn values_and_side_alignment() {
        let f = full();
        let l = compute(&f, &ctx(Side::Buy));
        let s = compute(&f, &ctx(Side::Sell));
        assert!((l[0] - 100.0).abs() < 1e-9, "1 / 100 = 100 bps");
        assert!((l[1] - 0.2).abs() < 1e-12);
        assert!((l[2] - 10.0).abs() < 1e-9);
        assert!((l[3] - 0.3).abs() < 1e-12);
        assert!((l[4] - 50.0).abs() < 1e-9);
        assert!((l[5] - 0.002f64.ln()).abs() < 1e-12);
        assert!((l[6] - 1e4 / 99.0).abs() < 1e-9);
        assert_eq!((l[7], l[8], l[9], l[10], l[11]), (0.3, 0.4, 0.2, 1.5, -0.1));
        assert_eq!((l[12], l[13], l[14]), (1.0, 0.9, 1.0));
        // Directional features flip with the side, the others do not.
        let directional = [0, 1, 2, 3, 6, 7, 9, 10, 11, 14];
        for i in 0..N_FEATURES {
            if directional.contains(&i) {
                assert_eq!(l[i], -s[i], "{}", NAMES[i]);
            } else {
                assert_eq!(l[i], s[i], "{}", NAMES[i]);
            }
        }
    }

    #[test]
    fn non_finite_inputs_become_neutral() {
        let mut f = full();
        f.ind.price = f64::NAN;
        f.svi = Some(f64::INFINITY);
        f.p_high_vol = Some(f64::NAN);
        let x = compute(&f, &ctx(Side::Buy));
        assert!(x.iter().all(|v| v.is_finite()));
        for i in [0, 2, 4, 6, 7, 13] {
            assert_eq!(x[i], NEUTRAL[i], "{}", NAMES[i]);
        }
        f.ind.price = -1.0;
        assert_eq!(compute(&f, &ctx(Side::Buy))[0], 0.0);
    }

    #[test]
    fn clock_measures_time_since_last_signal_per_symbol() {
        let mut c = SignalClock::new(2);
        assert_eq!(c.since_and_mark(0, 10_000_000_000), None);
        assert_eq!(c.since_and_mark(1, 11_000_000_000), None);
        assert_eq!(c.since_and_mark(0, 70_000_000_000), Some(60.0));
        assert_eq!(c.since_and_mark(5, 1), None);
    }

    #[test]
    fn context_from_signal() {
        let s = Signal {
            side: 1,
            strength: -0.5,
            threshold: 0.25,
            ..Signal::default()
        };
        let c = SignalContext::from_signal(&s, None, Some(2.0)).unwrap();
        assert_eq!((c.side, c.strength, c.threshold), (Side::Sell, -0.5, 0.25));
        let bad = Signal { side: 9, ..s };
        assert!(SignalContext::from_signal(&bad, None, None).is_none());
    }

    #[test]
    fn bench_returns_samples() {
        let s = bench_features(1024);
        assert_eq!(s.len(), 4);
        assert!(s.iter().all(|v| v.is_finite() && *v >= 0.0));
    }
}
