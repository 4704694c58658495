//! Market microstructure estimators, all causal (trailing data only) and O(1) per update
//! with memory fixed at construction.

use crate::error::{Result, StrategyError};
use shmtrader_core::Side;

fn param(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(StrategyError::Param(what.to_string()))
    }
}

/// Signed-volume imbalance of the last N trades: (buy − sell) / (buy + sell) of aggressor
/// volume. Named for what it is: it is not VPIN and not a book imbalance.
#[derive(Debug, Clone)]
pub struct SignedVolumeImbalance {
    window: Vec<f64>,
    head: usize,
    len: usize,
    signed: f64,
    total: f64,
}

impl SignedVolumeImbalance {
    /// Over the last `n` trades (n ≥ 1).
    pub fn new(n: usize) -> Result<Self> {
        param(n >= 1, "signed volume imbalance window must be >= 1")?;
        Ok(SignedVolumeImbalance {
            window: vec![0.0; n],
            head: 0,
            len: 0,
            signed: 0.0,
            total: 0.0,
        })
    }

    /// Adds one trade. Non-finite or negative quantities are rejected without
    /// touching the state.
    pub fn update(&mut self, qty: f64, aggressor: Side) -> Result<()> {
        if !(qty.is_finite() && qty >= 0.0) {
            return Err(StrategyError::Input(format!("trade quantity {qty}")));
        }
        let v = qty * aggressor.sign();
        if self.len == self.window.len() {
            let old = self.window[self.head];
            self.signed -= old;
            self.total -= old.abs();
        } else {
            self.len += 1;
        }
        self.window[self.head] = v;
        // Wrap by comparison: an integer modulo per trade costs more than the rest of
        // the update.
        self.head += 1;
        if self.head == self.window.len() {
            self.head = 0;
        }
        self.signed += v;
        self.total += qty;
        Ok(())
    }

    /// Imbalance in [-1, 1]; `None` until the window is full.
    pub fn value(&self) -> Option<f64> {
        (self.initialized() && self.total > 0.0)
            .then(|| (self.signed / self.total).clamp(-1.0, 1.0))
    }

    /// Whether the window is full.
    pub fn initialized(&self) -> bool {
        self.len == self.window.len()
    }

    /// Clears the window.
    pub fn reset(&mut self) {
        self.window.iter_mut().for_each(|x| *x = 0.0);
        self.head = 0;
        self.len = 0;
        self.signed = 0.0;
        self.total = 0.0;
    }
}

/// VPIN (Easley, López de Prado and O'Hara, 2012): trades are grouped into buckets of
/// equal volume `V`; for each bucket the buy and sell volume are known (exact aggressor
/// signs, or bulk volume classification); VPIN = Σ|V_buy − V_sell| / (n · V) over the last
/// `n` buckets. A trade that straddles a bucket boundary is split across buckets.
#[derive(Debug, Clone)]
pub struct Vpin {
    bucket_volume: f64,
    imbalances: Vec<f64>,
    head: usize,
    filled: usize,
    sum: f64,
    cur_buy: f64,
    cur_sell: f64,
    bvc: Option<Bvc>,
}

/// Bulk volume classification state: buy fraction = Φ(ΔP / σ_ΔP) per trade, with σ from
/// an exponentially weighted variance of price changes (trailing only).
#[derive(Debug, Clone)]
struct Bvc {
    last_px: f64,
    var: f64,
    alpha: f64,
    n: u64,
}

impl Vpin {
    /// Buckets of `bucket_volume` base units, a window of `n_buckets` (50 in the paper).
    pub fn new(bucket_volume: f64, n_buckets: usize) -> Result<Self> {
        param(
            bucket_volume.is_finite() && bucket_volume > 0.0,
            "VPIN bucket volume must be > 0",
        )?;
        param(n_buckets >= 1, "VPIN needs at least one bucket")?;
        Ok(Vpin {
            bucket_volume,
            imbalances: vec![0.0; n_buckets],
            head: 0,
            filled: 0,
            sum: 0.0,
            cur_buy: 0.0,
            cur_sell: 0.0,
            bvc: None,
        })
    }

    /// The paper's bucket size: trailing average daily volume / 50.
    pub fn bucket_from_daily_volume(avg_daily_volume: f64) -> f64 {
        avg_daily_volume / 50.0
    }

    /// Switches to bulk volume classification with an EWMA half-life of `half_life`
    /// trades for σ_ΔP.
    pub fn with_bvc(mut self, half_life: f64) -> Result<Self> {
        param(
            half_life.is_finite() && half_life > 0.0,
            "BVC half-life must be > 0",
        )?;
        let alpha = 1.0 - (0.5f64).powf(1.0 / half_life);
        self.bvc = Some(Bvc {
            last_px: f64::NAN,
            var: 0.0,
            alpha,
            n: 0,
        });
        Ok(self)
    }

    /// Adds one trade.
    pub fn update(&mut self, price: f64, qty: f64, aggressor: Side) -> Result<()> {
        if !(qty.is_finite() && qty >= 0.0 && price.is_finite() && price > 0.0) {
            return Err(StrategyError::Input(format!(
                "trade price {price} qty {qty}"
            )));
        }
        let buy_frac = match &mut self.bvc {
            None => {
                if aggressor == Side::Buy {
                    1.0
                } else {
                    0.0
                }
            }
            Some(b) => {
                let f = if b.last_px.is_finite() {
                    let dp = price - b.last_px;
                    let f = if b.n >= 2 && b.var > 0.0 {
                        norm_cdf(dp / b.var.sqrt())
                    } else {
                        0.5
                    };
                    b.var = (1.0 - b.alpha) * b.var + b.alpha * dp * dp;
                    b.n += 1;
                    f
                } else {
                    0.5
                };
                b.last_px = price;
                f
            }
        };
        let mut left = qty;
        while left > 0.0 {
            let room = self.bucket_volume - (self.cur_buy + self.cur_sell);
            let take = left.min(room);
            self.cur_buy += take * buy_frac;
            self.cur_sell += take * (1.0 - buy_frac);
            left -= take;
            if self.cur_buy + self.cur_sell >= self.bucket_volume * (1.0 - 1e-12) {
                self.close_bucket();
            }
        }
        Ok(())
    }

    fn close_bucket(&mut self) {
        let imb = (self.cur_buy - self.cur_sell).abs();
        if self.filled == self.imbalances.len() {
            self.sum -= self.imbalances[self.head];
        } else {
            self.filled += 1;
        }
        self.imbalances[self.head] = imb;
        self.sum += imb;
        self.head += 1;
        if self.head == self.imbalances.len() {
            self.head = 0;
        }
        self.cur_buy = 0.0;
        self.cur_sell = 0.0;
    }

    /// VPIN in [0, 1]; `None` until `n_buckets` buckets have closed.
    pub fn value(&self) -> Option<f64> {
        self.initialized().then(|| {
            (self.sum / (self.imbalances.len() as f64 * self.bucket_volume)).clamp(0.0, 1.0)
        })
    }

    /// Whether the bucket window is full.
    pub fn initialized(&self) -> bool {
        self.filled == self.imbalances.len()
    }

    /// Clears all buckets.
    pub fn reset(&mut self) {
        self.imbalances.iter_mut().for_each(|x| *x = 0.0);
        self.head = 0;
        self.filled = 0;
        self.sum = 0.0;
        self.cur_buy = 0.0;
        self.cur_sell = 0.0;
        if let Some(b) = &mut self.bvc {
            b.last_px = f64::NAN;
            b.var = 0.0;
            b.n = 0;
        }
    }
}

/// Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf, |error| < 1.5e-7).
fn norm_cdf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z.abs());
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t
            + 0.254_829_592)
            * t
            * (-z * z).exp();
    let erf = if z >= 0.0 { y } else { -y };
    0.5 * (1.0 + erf)
}

/// Top-of-book imbalance (bidQ − askQ) / (bidQ + askQ), in [-1, 1].
pub fn top_imbalance(bid_qty: f64, ask_qty: f64) -> Option<f64> {
    let t = bid_qty + ask_qty;
    (t > 0.0 && t.is_finite()).then(|| (bid_qty - ask_qty) / t)
}

/// Depth imbalance over the first `k` levels with weights `1/(i+1)` (nearer levels
/// matter more). Levels are `(price, qty)`, best first.
pub fn depth_imbalance(bids: &[(f64, f64)], asks: &[(f64, f64)], k: usize) -> Option<f64> {
    let w = |lv: &[(f64, f64)]| -> f64 {
        lv.iter()
            .take(k)
            .enumerate()
            .map(|(i, (_, q))| q / (i as f64 + 1.0))
            .sum()
    };
    let (b, a) = (w(bids), w(asks));
    let t = b + a;
    (t > 0.0 && t.is_finite()).then(|| (b - a) / t)
}

/// Microprice: the mid weighted by the opposite side's size, (bid·askQ + ask·bidQ) /
/// (bidQ + askQ); it leans towards the side more likely to be hit next.
pub fn microprice(bid: f64, bid_qty: f64, ask: f64, ask_qty: f64) -> Option<f64> {
    let t = bid_qty + ask_qty;
    (t > 0.0 && bid > 0.0 && ask >= bid).then(|| (bid * ask_qty + ask * bid_qty) / t)
}

/// Order-flow imbalance (Cont, Kukanov and Stoikov, 2014) summed over the last N
/// best-quote updates:
/// e_n = 1{P^b_n ≥ P^b_{n−1}}·q^b_n − 1{P^b_n ≤ P^b_{n−1}}·q^b_{n−1}
///     − 1{P^a_n ≤ P^a_{n−1}}·q^a_n + 1{P^a_n ≥ P^a_{n−1}}·q^a_{n−1}.
#[derive(Debug, Clone)]
pub struct OrderFlowImbalance {
    window: Vec<f64>,
    head: usize,
    len: usize,
    sum: f64,
    prev: Option<(f64, f64, f64, f64)>,
}

impl OrderFlowImbalance {
    /// Sums the last `n` events.
    pub fn new(n: usize) -> Result<Self> {
        param(n >= 1, "OFI window must be >= 1")?;
        Ok(OrderFlowImbalance {
            window: vec![0.0; n],
            head: 0,
            len: 0,
            sum: 0.0,
            prev: None,
        })
    }

    /// Adds one best bid/offer update.
    pub fn update(&mut self, bid: f64, bid_qty: f64, ask: f64, ask_qty: f64) -> Result<()> {
        if ![bid, bid_qty, ask, ask_qty]
            .iter()
            .all(|v| v.is_finite() && *v >= 0.0)
        {
            return Err(StrategyError::Input(
                "book update with a non-finite or negative field".into(),
            ));
        }
        if let Some((pb, pbq, pa, paq)) = self.prev {
            let mut e = 0.0;
            if bid >= pb {
                e += bid_qty;
            }
            if bid <= pb {
                e -= pbq;
            }
            if ask <= pa {
                e -= ask_qty;
            }
            if ask >= pa {
                e += paq;
            }
            if self.len == self.window.len() {
                self.sum -= self.window[self.head];
            } else {
                self.len += 1;
            }
            self.window[self.head] = e;
            self.sum += e;
            self.head = (self.head + 1) % self.window.len();
        }
        self.prev = Some((bid, bid_qty, ask, ask_qty));
        Ok(())
    }

    /// Sum of e_n over the window; `None` until it is full.
    pub fn value(&self) -> Option<f64> {
        (self.len == self.window.len()).then_some(self.sum)
    }

    /// Whether the window is full.
    pub fn initialized(&self) -> bool {
        self.len == self.window.len()
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.window.iter_mut().for_each(|x| *x = 0.0);
        self.head = 0;
        self.len = 0;
        self.sum = 0.0;
        self.prev = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_volume_imbalance_over_a_window() {
        let mut s = SignedVolumeImbalance::new(3).unwrap();
        s.update(1.0, Side::Buy).unwrap();
        s.update(1.0, Side::Buy).unwrap();
        assert_eq!(s.value(), None);
        s.update(2.0, Side::Sell).unwrap();
        assert_eq!(s.value(), Some(0.0));
        s.update(4.0, Side::Buy).unwrap(); // window: +1, -2, +4
        assert!((s.value().unwrap() - 3.0 / 7.0).abs() < 1e-12);
        assert!(s.update(f64::NAN, Side::Buy).is_err());
        assert!(
            (s.value().unwrap() - 3.0 / 7.0).abs() < 1e-12,
            "state unchanged"
        );
    }

    /// Worked by hand: V = 10, 2 buckets.
    /// Trades: buy 6, sell 7, buy 3, sell 4.
    /// Bucket 1: buy 6 + sell 4 (of the 7) = 10 → |6 − 4| = 2.
    /// Bucket 2: sell 3 (rest of the 7) + buy 3 + sell 4 = 10 → buy 3, sell 7 → 4.
    /// VPIN = (2 + 4) / (2 · 10) = 0.3.
    #[test]
    fn vpin_worked_example() {
        let mut v = Vpin::new(10.0, 2).unwrap();
        v.update(100.0, 6.0, Side::Buy).unwrap();
        v.update(100.0, 7.0, Side::Sell).unwrap();
        assert_eq!(v.value(), None, "only one bucket closed");
        v.update(100.0, 3.0, Side::Buy).unwrap();
        v.update(100.0, 4.0, Side::Sell).unwrap();
        assert!((v.value().unwrap() - 0.3).abs() < 1e-12, "{:?}", v.value());
        // A third bucket of pure buying: window = buckets 2 and 3 → (4 + 10) / 20 = 0.7.
        v.update(100.0, 10.0, Side::Buy).unwrap();
        assert!((v.value().unwrap() - 0.7).abs() < 1e-12);
    }

    #[test]
    fn vpin_bvc_classifies_up_moves_as_buying() {
        let mut v = Vpin::new(5.0, 4).unwrap().with_bvc(20.0).unwrap();
        let mut px = 100.0;
        for i in 0..200 {
            px += if i % 2 == 0 { 0.05 } else { -0.04 };
            v.update(px, 1.0, Side::Sell).unwrap(); // aggressor flag ignored under BVC
        }
        let balanced = v.value().unwrap();
        for _ in 0..40 {
            px += 0.2;
            v.update(px, 1.0, Side::Sell).unwrap();
        }
        assert!(
            v.value().unwrap() > balanced,
            "{} vs {balanced}",
            v.value().unwrap()
        );
        assert!((norm_cdf(0.0) - 0.5).abs() < 1e-9 && (norm_cdf(1.96) - 0.975).abs() < 1e-4);
    }

    #[test]
    fn book_measures() {
        assert_eq!(top_imbalance(3.0, 1.0), Some(0.5));
        assert_eq!(top_imbalance(0.0, 0.0), None);
        let m = microprice(100.0, 3.0, 101.0, 1.0).unwrap();
        assert!(
            (m - 100.75).abs() < 1e-12,
            "leans to the ask when the bid is heavy"
        );
        let d = depth_imbalance(
            &[(100.0, 1.0), (99.0, 2.0)],
            &[(101.0, 1.0), (102.0, 0.0)],
            2,
        )
        .unwrap();
        assert!((d - 1.0 / 3.0).abs() < 1e-12, "(1 + 2/2 − 1) / 3");
    }

    #[test]
    fn ofi_follows_cont_kukanov_stoikov() {
        let mut o = OrderFlowImbalance::new(2).unwrap();
        o.update(100.0, 5.0, 101.0, 5.0).unwrap();
        // Bid size grows at the same price: e = +2 (7 − 5); ask unchanged: 0.
        o.update(100.0, 7.0, 101.0, 5.0).unwrap();
        // Ask price drops (new better ask with 3): e = −3 − ... ask ≤: −3; ask ≥ false.
        // Bid same price, same size: +7 − 7 = 0. Total −3.
        o.update(100.0, 7.0, 100.5, 3.0).unwrap();
        assert_eq!(o.value(), Some(2.0 - 3.0));
    }
}
