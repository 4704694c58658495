//! Where HMM refits run. The engine asks for a refit at one bar and installs the result
//! at a later, fixed bar ([`Fitter::collect`] waits if needed), so *where* a fit runs
//! never changes *what* the engine does: a run with [`InlineFitter`] and one with
//! [`ThreadFitter`] are bit-identical.

use crate::error::{Result, StrategyError};
use crate::regime::{FitScratch, GaussianHmm, DIM};

/// Runs HMM fits off the tick path. `submit` hands over a trailing window; `collect`
/// returns the model for that symbol, waiting for it if needed (`None` if the fit
/// failed, e.g. a degenerate window).
pub trait Fitter: Send {
    /// Starts a fit.
    fn submit(&mut self, symbol: usize, data: Vec<[f64; DIM]>, states: usize, iters: usize);
    /// The result of the last submit for `symbol`.
    fn collect(&mut self, symbol: usize) -> Option<GaussianHmm>;
}

/// Fits on the calling thread (tests, replays that must not start threads).
#[derive(Debug, Default)]
pub struct InlineFitter {
    done: Vec<Option<GaussianHmm>>,
    scratch: FitScratch,
}

impl Fitter for InlineFitter {
    fn submit(&mut self, symbol: usize, data: Vec<[f64; DIM]>, states: usize, iters: usize) {
        if self.done.len() <= symbol {
            self.done.resize(symbol + 1, None);
        }
        self.done[symbol] = GaussianHmm::fit_with(&mut self.scratch, &data, states, iters).ok();
    }
    fn collect(&mut self, symbol: usize) -> Option<GaussianHmm> {
        self.done.get_mut(symbol).and_then(Option::take)
    }
}

type FitJob = (usize, Vec<[f64; DIM]>, usize, usize);

/// Runs HMM fits on a worker thread: the analytics stage's fitter, and the backtest's,
/// so a refit (about a millisecond for 720 bars) never stalls the tick loop. `collect`
/// waits only if the fit is still running when its install bar arrives. The worker
/// stops when the fitter is dropped.
#[derive(Debug)]
pub struct ThreadFitter {
    jobs: std::sync::mpsc::Sender<FitJob>,
    results: std::sync::mpsc::Receiver<(usize, Option<GaussianHmm>)>,
    ready: Vec<Option<Option<GaussianHmm>>>,
    outstanding: Vec<bool>,
}

impl ThreadFitter {
    /// Starts the worker.
    pub fn spawn() -> Result<ThreadFitter> {
        let (jtx, jrx) = std::sync::mpsc::channel::<FitJob>();
        let (rtx, rrx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("hmm-fit".into())
            .spawn(move || {
                let mut scratch = FitScratch::default();
                while let Ok((sym, data, k, iters)) = jrx.recv() {
                    let m = GaussianHmm::fit_with(&mut scratch, &data, k, iters).ok();
                    if rtx.send((sym, m)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| StrategyError::Param(format!("cannot start the HMM fit thread: {e}")))?;
        Ok(ThreadFitter {
            jobs: jtx,
            results: rrx,
            ready: Vec::new(),
            outstanding: Vec::new(),
        })
    }

    fn grow(&mut self, symbol: usize) {
        if self.ready.len() <= symbol {
            self.ready.resize(symbol + 1, None);
            self.outstanding.resize(symbol + 1, false);
        }
    }
}

impl Fitter for ThreadFitter {
    fn submit(&mut self, symbol: usize, data: Vec<[f64; DIM]>, states: usize, iters: usize) {
        self.grow(symbol);
        self.ready[symbol] = None;
        self.outstanding[symbol] = self.jobs.send((symbol, data, states, iters)).is_ok();
    }

    fn collect(&mut self, symbol: usize) -> Option<GaussianHmm> {
        self.grow(symbol);
        loop {
            if let Some(r) = self.ready[symbol].take() {
                return r;
            }
            if !self.outstanding[symbol] {
                return None;
            }
            let (s, m) = self.results.recv().ok()?;
            self.grow(s);
            self.outstanding[s] = false;
            self.ready[s] = Some(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same windows, same models, whichever thread fits them, in whatever order the
    /// results come back.
    #[test]
    fn thread_fitter_returns_what_inline_fitting_returns() {
        let data: Vec<[f64; DIM]> = (0..400)
            .map(|i| {
                let x = i as f64;
                [
                    (x * 0.37).sin() + if i % 100 < 50 { 2.0 } else { 0.0 },
                    (x * 0.11).cos() * 1e-3,
                ]
            })
            .collect();
        let mut inline = InlineFitter::default();
        let mut thread = ThreadFitter::spawn().unwrap();
        for (sym, w) in [(0usize, &data[..300]), (1, &data[100..]), (2, &data[..20])] {
            inline.submit(sym, w.to_vec(), 2, 20);
            thread.submit(sym, w.to_vec(), 2, 20);
        }
        for sym in [2usize, 0, 1] {
            assert_eq!(thread.collect(sym), inline.collect(sym), "symbol {sym}");
        }
        assert_eq!(thread.collect(0), None, "collected once");
    }
}
