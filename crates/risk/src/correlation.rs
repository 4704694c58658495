//! Rolling Pearson correlation of per-bar returns between every pair of symbols.
//!
//! Each symbol keeps a ring of its last `window` returns; each pair keeps running sums
//! (n, Σx, Σy, Σx², Σy², Σxy) over the bars where *both* symbols had a return, so a
//! correlation query is O(1) and the gate's check is O(open positions). Closing a bar
//! updates every pair (O(symbols²), once per bar, off the per-signal path). Running sums
//! drift with float cancellation, so every `window` bars all sums are recomputed exactly
//! from the rings.

/// Largest supported correlation window (bars); rings are sized to the configured window.
pub const MAX_CORR_WINDOW: usize = 4096;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct PairSums {
    n: u32,
    sx: f64,
    sy: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

/// Return rings and pairwise sums.
#[derive(Debug, Clone)]
pub struct CorrelationTracker {
    n: usize,
    window: usize,
    min_samples: u32,
    /// `n × window` returns; symbol `i`'s ring is `rets[i*window..(i+1)*window]`.
    rets: Vec<f64>,
    /// Number of bars pushed so far (the ring write index is `t % window`).
    t: u64,
    /// Bar index at which each symbol got its first return (`u64::MAX`: not yet).
    start: Vec<u64>,
    pairs: Vec<PairSums>,
    since_resync: usize,
}

impl CorrelationTracker {
    /// Tracker for `n` symbols over `window` bars; correlations need `min_samples` common
    /// bars before they are reported.
    pub fn new(n: usize, window: usize, min_samples: usize) -> Self {
        let window = window.clamp(2, MAX_CORR_WINDOW);
        CorrelationTracker {
            n,
            window,
            min_samples: min_samples.clamp(2, window) as u32,
            rets: vec![0.0; n * window],
            t: 0,
            start: vec![u64::MAX; n],
            pairs: vec![PairSums::default(); n * n.saturating_sub(1) / 2],
            since_resync: 0,
        }
    }

    /// Window length in bars.
    pub fn window(&self) -> usize {
        self.window
    }

    #[inline]
    fn pair_index(&self, i: usize, j: usize) -> usize {
        let (a, b) = if i < j { (i, j) } else { (j, i) };
        a * self.n - a * (a + 1) / 2 + (b - a - 1)
    }

    /// Appends one bar: `rets[i]` is symbol `i`'s return, NaN if it has none yet. Once a
    /// symbol has had a return it must get one (possibly 0) on every later bar; a NaN
    /// after that is treated as 0.
    pub fn push_bar(&mut self, rets: &[f64]) {
        let w = self.window;
        let slot = (self.t % w as u64) as usize;
        let mut have = [false; shmtrader_core::MAX_SYMBOLS];
        let mut newv = [0.0f64; shmtrader_core::MAX_SYMBOLS];
        let mut oldv = [0.0f64; shmtrader_core::MAX_SYMBOLS];
        for i in 0..self.n.min(rets.len()) {
            let started = self.start[i] != u64::MAX;
            let r = rets[i];
            if !started && !r.is_finite() {
                continue;
            }
            if !started {
                self.start[i] = self.t;
            }
            have[i] = true;
            newv[i] = if r.is_finite() { r } else { 0.0 };
            oldv[i] = self.rets[i * w + slot];
            self.rets[i * w + slot] = newv[i];
        }
        for i in 0..self.n {
            if !have[i] {
                continue;
            }
            for j in (i + 1)..self.n {
                if !have[j] {
                    continue;
                }
                let idx = self.pair_index(i, j);
                let p = &mut self.pairs[idx];
                let (x, y) = (newv[i], newv[j]);
                if p.n as usize >= w {
                    let (ox, oy) = (oldv[i], oldv[j]);
                    p.sx -= ox;
                    p.sy -= oy;
                    p.sxx -= ox * ox;
                    p.syy -= oy * oy;
                    p.sxy -= ox * oy;
                } else {
                    p.n += 1;
                }
                p.sx += x;
                p.sy += y;
                p.sxx += x * x;
                p.syy += y * y;
                p.sxy += x * y;
            }
        }
        self.t += 1;
        self.since_resync += 1;
        if self.since_resync >= w {
            self.resync();
        }
    }

    /// Recomputes every pair's sums exactly from the rings.
    fn resync(&mut self) {
        self.since_resync = 0;
        let w = self.window;
        for i in 0..self.n {
            for j in (i + 1)..self.n {
                let idx = self.pair_index(i, j);
                let n = self.pairs[idx].n as u64;
                let mut s = PairSums {
                    n: n as u32,
                    ..PairSums::default()
                };
                for k in 0..n {
                    let slot = ((self.t - 1 - k) % w as u64) as usize;
                    let x = self.rets[i * w + slot];
                    let y = self.rets[j * w + slot];
                    s.sx += x;
                    s.sy += y;
                    s.sxx += x * x;
                    s.syy += y * y;
                    s.sxy += x * y;
                }
                self.pairs[idx] = s;
            }
        }
    }

    /// Pearson correlation of the two symbols' returns over their common trailing window;
    /// `None` with fewer than `min_samples` common bars or when either series is flat.
    #[inline]
    pub fn correlation(&self, i: usize, j: usize) -> Option<f64> {
        if i == j || i >= self.n || j >= self.n {
            return None;
        }
        let p = self.pairs[self.pair_index(i, j)];
        if p.n < self.min_samples {
            return None;
        }
        let n = p.n as f64;
        let cov = p.sxy - p.sx * p.sy / n;
        let vx = p.sxx - p.sx * p.sx / n;
        let vy = p.syy - p.sy * p.sy / n;
        // Relative guard: a series whose variance is lost in rounding has no correlation.
        let tiny = 1e-12 * (p.sxx + p.syy) + 1e-30;
        if vx <= tiny || vy <= tiny {
            return None;
        }
        Some((cov / (vx * vy).sqrt()).clamp(-1.0, 1.0))
    }

    /// Number of common bars of a pair.
    pub fn samples(&self, i: usize, j: usize) -> u32 {
        if i == j || i >= self.n || j >= self.n {
            return 0;
        }
        self.pairs[self.pair_index(i, j)].n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pearson(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len() as f64;
        let mx = x.iter().sum::<f64>() / n;
        let my = y.iter().sum::<f64>() / n;
        let mut c = 0.0;
        let mut vx = 0.0;
        let mut vy = 0.0;
        for (a, b) in x.iter().zip(y) {
            c += (a - mx) * (b - my);
            vx += (a - mx) * (a - mx);
            vy += (b - my) * (b - my);
        }
        c / (vx * vy).sqrt()
    }

    fn lcg(s: &mut u64) -> f64 {
        *s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((*s >> 11) as f64 / (1u64 << 53) as f64) - 0.5
    }

    #[test]
    fn rolling_matches_batch_pearson() {
        let w = 20;
        let mut c = CorrelationTracker::new(3, w, 5);
        let mut seed = 42u64;
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        let mut zs = Vec::new();
        for k in 0..137 {
            let common = lcg(&mut seed);
            let x = common + 0.3 * lcg(&mut seed);
            let y = common + 0.3 * lcg(&mut seed);
            let z = lcg(&mut seed);
            // symbol 2 starts late
            let zr = if k >= 50 { z } else { f64::NAN };
            c.push_bar(&[x, y, zr]);
            xs.push(x);
            ys.push(y);
            if k >= 50 {
                zs.push(z);
            }
            if k >= 4 {
                let lo = xs.len().saturating_sub(w);
                let want = pearson(&xs[lo..], &ys[lo..]);
                let got = c.correlation(0, 1).unwrap();
                assert!((got - want).abs() < 1e-9, "bar {k}: {got} vs {want}");
            }
        }
        let lo = zs.len().saturating_sub(w);
        let want = pearson(&xs[xs.len() - zs[lo..].len()..], &zs[lo..]);
        assert!((c.correlation(0, 2).unwrap() - want).abs() < 1e-9);
        assert!(c.correlation(0, 1).unwrap() > 0.7);
        assert_eq!(c.samples(0, 1), w as u32);
    }

    #[test]
    fn not_enough_samples_or_flat_series_is_none() {
        let mut c = CorrelationTracker::new(2, 10, 5);
        for k in 0..4 {
            c.push_bar(&[k as f64 * 0.01, k as f64 * 0.02]);
        }
        assert_eq!(c.correlation(0, 1), None);
        c.push_bar(&[0.05, 0.1]);
        assert!((c.correlation(0, 1).unwrap() - 1.0).abs() < 1e-9);
        let mut flat = CorrelationTracker::new(2, 10, 2);
        for k in 0..5 {
            flat.push_bar(&[0.0, k as f64]);
        }
        assert_eq!(flat.correlation(0, 1), None);
        assert_eq!(flat.correlation(0, 0), None);
    }
}
