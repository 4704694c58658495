//! A fixed-capacity ring of the last `n` values, allocated once at construction so the
//! streaming update never allocates.

/// The last `cap` values pushed, oldest first.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    buf: Vec<f64>,
    /// Index of the oldest value once full; the next write position before.
    head: usize,
    len: usize,
}

impl Window {
    pub(crate) fn new(cap: usize) -> Window {
        Window {
            buf: vec![0.0; cap.max(1)],
            head: 0,
            len: 0,
        }
    }

    pub(crate) fn cap(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_full(&self) -> bool {
        self.len == self.buf.len()
    }

    /// The oldest value (the one the next push evicts once full).
    pub(crate) fn oldest(&self) -> f64 {
        if self.is_full() {
            self.buf[self.head]
        } else {
            self.buf[0]
        }
    }

    /// Appends `x`; returns the evicted value when the window was full.
    pub(crate) fn push(&mut self, x: f64) -> Option<f64> {
        let cap = self.buf.len();
        if self.len < cap {
            self.buf[self.len] = x;
            self.len += 1;
            None
        } else {
            let old = self.buf[self.head];
            self.buf[self.head] = x;
            self.head += 1;
            if self.head == cap {
                self.head = 0;
            }
            Some(old)
        }
    }

    /// The `i`-th value, oldest first.
    pub(crate) fn get(&self, i: usize) -> f64 {
        let cap = self.buf.len();
        if self.is_full() {
            self.buf[(self.head + i) % cap]
        } else {
            self.buf[i]
        }
    }

    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_order_and_eviction() {
        let mut w = Window::new(3);
        assert_eq!(w.push(1.0), None);
        assert_eq!(w.push(2.0), None);
        assert_eq!(w.oldest(), 1.0);
        assert_eq!(w.push(3.0), None);
        assert!(w.is_full());
        assert_eq!(w.push(4.0), Some(1.0));
        assert_eq!((w.get(0), w.get(1), w.get(2)), (2.0, 3.0, 4.0));
        assert_eq!(w.oldest(), 2.0);
        w.clear();
        assert_eq!(w.len(), 0);
        assert_eq!(w.cap(), 3);
    }
}
