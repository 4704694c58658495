//! An LRU prediction cache keyed by (model version, quantized features).
//!
//! Fixed capacity, all memory reserved at construction (hash map with reserved capacity,
//! slot arrays, intrusive LRU list), so neither a hit nor a miss allocates. The model
//! version is held once for the whole cache: a lookup under a different version clears
//! it first, which is the same as keying every entry by version and dropping the old
//! ones on a swap.
//!
//! Quantization: every feature is rounded to a multiple of `quantum` and, on a miss, the
//! model is evaluated on the *rounded* vector, so the answer is a function of the key —
//! a hit returns exactly what a miss would have computed, and results do not depend on
//! what happened to be cached. The price is an error of at most `quantum / 2` per
//! feature compared with the uncached path.
//!
//! Whether it is worth having is measured, not assumed (`shmtrader bench ml`): signals
//! are rare (a cooldown per symbol) and their features continuous, so exact repeats are
//! unlikely live; the online filter leaves it disabled by default.

use crate::features::{FeatureVec, N_FEATURES};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

type Key = [i32; N_FEATURES];
const NIL: u32 = u32::MAX;

/// A small multiplicative hasher (FxHash's mixing): SipHash over 72 bytes costs more than
/// the logistic prediction the cache is supposed to save.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    #[inline]
    fn write_usize(&mut self, v: usize) {
        self.write(&v.to_le_bytes());
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// The cache (see the module doc).
#[derive(Debug)]
pub struct PredictionCache {
    version: u64,
    quantum: f64,
    cap: usize,
    map: HashMap<Key, u32, BuildHasherDefault<FxHasher>>,
    keys: Vec<Key>,
    vals: Vec<f64>,
    prev: Vec<u32>,
    next: Vec<u32>,
    head: u32,
    tail: u32,
    hits: u64,
    misses: u64,
}

impl PredictionCache {
    /// A cache of `cap` (≥ 1) entries rounding features to multiples of `quantum`
    /// (> 0; non-positive or non-finite values fall back to 1e-6).
    pub fn new(cap: usize, quantum: f64) -> PredictionCache {
        let cap = cap.clamp(1, NIL as usize - 1);
        let quantum = if quantum.is_finite() && quantum > 0.0 {
            quantum
        } else {
            1e-6
        };
        PredictionCache {
            version: 0,
            quantum,
            cap,
            // Twice the entries: with removals leaving tombstones, a table at most half
            // full is rehashed in place rather than reallocated.
            map: HashMap::with_capacity_and_hasher(2 * cap, BuildHasherDefault::default()),
            keys: Vec::with_capacity(cap),
            vals: Vec::with_capacity(cap),
            prev: Vec::with_capacity(cap),
            next: Vec::with_capacity(cap),
            head: NIL,
            tail: NIL,
            hits: 0,
            misses: 0,
        }
    }

    #[inline]
    fn quantize(&self, x: &FeatureVec) -> Key {
        let mut k = [0i32; N_FEATURES];
        for (q, v) in k.iter_mut().zip(x) {
            // `as` saturates and maps NaN to 0.
            *q = (v / self.quantum).round() as i32;
        }
        k
    }

    #[inline]
    fn dequantize(&self, k: &Key) -> FeatureVec {
        let mut x = [0.0; N_FEATURES];
        for (v, q) in x.iter_mut().zip(k) {
            *v = f64::from(*q) * self.quantum;
        }
        x
    }

    fn unlink(&mut self, i: u32) {
        let (p, n) = (self.prev[i as usize], self.next[i as usize]);
        if p == NIL {
            self.head = n;
        } else {
            self.next[p as usize] = n;
        }
        if n == NIL {
            self.tail = p;
        } else {
            self.prev[n as usize] = p;
        }
    }

    fn push_front(&mut self, i: u32) {
        self.prev[i as usize] = NIL;
        self.next[i as usize] = self.head;
        if self.head != NIL {
            self.prev[self.head as usize] = i;
        }
        self.head = i;
        if self.tail == NIL {
            self.tail = i;
        }
    }

    /// Drops every entry and adopts `version` (capacity is kept: no allocation).
    pub fn reset(&mut self, version: u64) {
        self.map.clear();
        self.keys.clear();
        self.vals.clear();
        self.prev.clear();
        self.next.clear();
        self.head = NIL;
        self.tail = NIL;
        self.version = version;
    }

    /// The prediction for `x` under model `version`: cached, or `predict` evaluated on
    /// the quantized `x` and remembered. A different version clears the cache first.
    #[inline]
    pub fn get_or_insert_with(
        &mut self,
        version: u64,
        x: &FeatureVec,
        predict: impl FnOnce(&FeatureVec) -> f64,
    ) -> f64 {
        if version != self.version {
            self.reset(version);
        }
        let k = self.quantize(x);
        if let Some(&i) = self.map.get(&k) {
            self.hits += 1;
            if self.head != i {
                self.unlink(i);
                self.push_front(i);
            }
            return self.vals[i as usize];
        }
        self.misses += 1;
        let v = predict(&self.dequantize(&k));
        let i = if self.keys.len() < self.cap {
            let i = self.keys.len() as u32;
            self.keys.push(k);
            self.vals.push(v);
            self.prev.push(NIL);
            self.next.push(NIL);
            i
        } else {
            let i = self.tail;
            self.unlink(i);
            self.map.remove(&self.keys[i as usize]);
            self.keys[i as usize] = k;
            self.vals[i as usize] = v;
            i
        };
        self.map.insert(k, i);
        self.push_front(i);
        v
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Nothing cached.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The model version the entries belong to.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// (hits, misses) since construction.
    pub fn counters(&self) -> (u64, u64) {
        (self.hits, self.misses)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(v: f64) -> FeatureVec {
        let mut a = [0.0; N_FEATURES];
        a[0] = v;
        a
    }

    #[test]
    fn hits_misses_and_lru_eviction() {
        let mut c = PredictionCache::new(2, 1e-3);
        let f = |z: &FeatureVec| z[0] * 10.0;
        assert_eq!(c.get_or_insert_with(1, &x(1.0), f), 10.0);
        assert_eq!(c.get_or_insert_with(1, &x(2.0), f), 20.0);
        // Within the quantum: a hit, same value.
        assert_eq!(c.get_or_insert_with(1, &x(1.0001), |_| -1.0), 10.0);
        assert_eq!(c.counters(), (1, 2));
        // 2.0 is now least recently used and goes.
        c.get_or_insert_with(1, &x(3.0), f);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get_or_insert_with(1, &x(2.0), |_| -2.0), -2.0);
        assert_eq!(c.get_or_insert_with(1, &x(3.0), |_| -3.0), 30.0);
        for i in 0..1_000 {
            c.get_or_insert_with(1, &x(f64::from(i)), f);
            assert!(c.len() <= 2);
        }
    }

    #[test]
    fn a_new_version_clears_the_cache() {
        let mut c = PredictionCache::new(8, 1e-6);
        c.get_or_insert_with(1, &x(1.0), |_| 0.1);
        c.get_or_insert_with(1, &x(2.0), |_| 0.2);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get_or_insert_with(2, &x(1.0), |_| 0.9), 0.9);
        assert_eq!((c.len(), c.version()), (1, 2));
    }

    #[test]
    fn a_miss_evaluates_the_quantized_vector() {
        let mut c = PredictionCache::new(8, 0.5);
        let got = c.get_or_insert_with(1, &x(1.3), |z| z[0]);
        assert_eq!(got, 1.5);
        assert_eq!(c.get_or_insert_with(1, &x(f64::NAN), |z| z[0]), 0.0);
    }
}
