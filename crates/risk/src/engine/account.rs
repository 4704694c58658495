//! The account side of the risk engine: what the venue says the account is (wallet,
//! marks), what must outlive a launch (peak equity, the day's starting equity, the kill
//! switch), and the blocks and caps the executor sets from the venue.

use super::{RiskEngine, NS_PER_DAY};

/// The part of the risk state that must outlive a launch: journaled by the executor
/// and restored at start, so a relaunch after a 9 % drawdown does not get a fresh 10 %
/// allowance, a daily loss limit hit this morning still holds this afternoon, and the
/// kill switch stays on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PersistedRisk {
    /// Highest equity seen.
    pub peak_equity: f64,
    /// UTC day number of `day_start_equity` (`ts / NS_PER_DAY`).
    pub day: u64,
    /// Equity at the start of that day.
    pub day_start_equity: f64,
    /// Kill switch.
    pub kill_switch: bool,
    /// The drawdown from the peak is at or past the limit (new entries halted).
    pub drawdown_halted: bool,
}

impl RiskEngine {
    /// Blocks (or unblocks) new entries on a symbol: a position the journal cannot
    /// explain, a symbol that left TRADING. Exits are never blocked.
    pub fn block_entries(&mut self, symbol_id: u32, on: bool) {
        if (symbol_id as usize) < self.n {
            if on {
                self.blocked |= 1u64 << symbol_id;
            } else {
                self.blocked &= !(1u64 << symbol_id);
            }
        }
    }

    /// Entries on the symbol are blocked.
    pub fn entries_blocked(&self, symbol_id: u32) -> bool {
        (symbol_id as usize) < self.n && self.blocked & (1u64 << symbol_id) != 0
    }

    /// Caps the notional held in one symbol below `max_symbol_notional_usd` (the
    /// exchange's leverage bracket at the configured leverage).
    pub fn set_symbol_notional_cap(&mut self, symbol_id: u32, cap_usd: f64) {
        if let Some(c) = self.caps.get_mut(symbol_id as usize) {
            if cap_usd.is_finite() && cap_usd > 0.0 {
                *c = cap_usd.min(self.p.max_symbol_notional_usd);
            }
        }
    }

    /// The state to journal (see [`PersistedRisk`]).
    pub fn persisted(&self) -> PersistedRisk {
        PersistedRisk {
            peak_equity: self.peak_equity,
            day: self.day,
            day_start_equity: self.day_start_equity,
            kill_switch: self.kill,
            drawdown_halted: self.drawdown() >= self.p.max_drawdown,
        }
    }

    /// Re-bases the account after the journal's fills were replayed into this engine:
    /// the wallet becomes the venue's (when known: replaying fills onto a starting
    /// equity that already contains them would count them twice), the peak is the
    /// journaled peak or today's equity — never a peak the replay passed through on
    /// the way, which would invent a drawdown —, the day's starting equity is the
    /// journaled one while it is still that UTC day, and the kill switch is restored.
    pub fn rebase(&mut self, wallet: Option<f64>, persisted: Option<&PersistedRisk>, now_ns: u64) {
        if let Some(w) = wallet.filter(|w| w.is_finite()) {
            self.cash = w;
        }
        let eq = self.equity();
        let today = now_ns / NS_PER_DAY;
        self.peak_equity = eq;
        self.day = today;
        self.day_start_equity = eq;
        if let Some(s) = persisted {
            self.restore(s, now_ns);
        }
    }

    /// Restores journaled state after the journal's fills were replayed: the peak
    /// equity never goes down, the day's starting equity is kept while it is the same
    /// UTC day as `now_ns`, the kill switch is restored.
    pub fn restore(&mut self, s: &PersistedRisk, now_ns: u64) {
        if s.peak_equity.is_finite() && s.peak_equity > self.peak_equity {
            self.peak_equity = s.peak_equity;
        }
        let today = now_ns / NS_PER_DAY;
        if s.day == today && s.day_start_equity.is_finite() && s.day_start_equity > 0.0 {
            self.day = today;
            self.day_start_equity = s.day_start_equity;
        }
        self.kill = self.kill || s.kill_switch;
    }

    /// Sets equity to the account's: the wallet balance (realized PnL, fees and funding
    /// already in it) plus the open positions' unrealized PnL. Used at start and on
    /// each balance update from the venue, so sizing and the drawdown limit see the
    /// account, not a local estimate. Statistics (realized, fees) are not touched.
    pub fn set_wallet_balance(&mut self, wallet: f64) {
        if wallet.is_finite() {
            self.cash = wallet;
            let eq = self.equity();
            if eq > self.peak_equity {
                self.peak_equity = eq;
            }
        }
    }

    /// Wallet balance as the engine has it (starting equity + realized − fees + funding,
    /// or the venue's figure once [`set_wallet_balance`](Self::set_wallet_balance) ran).
    pub fn wallet_balance(&self) -> f64 {
        self.cash
    }

    /// A mark price: open positions are valued at the mark from now on (as Binance
    /// values them), and trade prints no longer re-mark the symbol.
    pub fn on_mark(&mut self, symbol_id: u32, mark: f64, ts_ns: u64) {
        let i = symbol_id as usize;
        if i >= self.n || !mark.is_finite() || mark <= 0.0 {
            return;
        }
        self.mark_fed |= 1u64 << i;
        self.marks[i] = mark;
        self.roll_day(ts_ns);
        if !self.slots[i].pos.is_flat() {
            self.slots[i].pos.mark(mark);
            self.refresh_unrealized(i);
        }
    }

    /// Books an account-level funding settlement the venue reported (its balance
    /// update carries no symbol for cross positions): the funding statistic only — the
    /// wallet balance itself comes from the venue.
    pub fn book_funding(&mut self, amount: f64) {
        if amount.is_finite() {
            self.funding += amount;
        }
    }
}
