//! The USD-M perpetuals shmtrader knows without asking an exchange: their real filters
//! (mid-2024 Binance values), used offline — by the mock exchange, which lists exactly
//! these rules in its `exchangeInfo`, by paper trading and by the backtest — so every
//! offline component sizes and rounds on the same rules a venue would enforce.
//!
//! MIN_NOTIONAL is the real one too: 100 USDT for BTCUSDT, 20 for ETHUSDT and LTCUSDT,
//! 5 for the rest, so a client that sizes from the filters is exercised honestly.

use super::{pow10, Instrument, LotRule};

/// One listed perpetual: its filters in integer units plus what the catalog's users
/// need beside them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Listing {
    /// `BTCUSDT`.
    pub symbol: &'static str,
    /// `BTC`.
    pub base: &'static str,
    /// Decimals of a price (Binance `pricePrecision`).
    pub price_dp: u32,
    /// Tick in price units.
    pub tick: i64,
    /// Decimals of a quantity (`quantityPrecision`).
    pub qty_dp: u32,
    /// Step in quantity units (LOT_SIZE and MARKET_LOT_SIZE alike).
    pub step: i64,
    /// LOT_SIZE minQty in quantity units.
    pub min_qty: i64,
    /// LOT_SIZE maxQty in quantity units.
    pub max_qty: i64,
    /// MARKET_LOT_SIZE maxQty in quantity units.
    pub market_max_qty: i64,
    /// MIN_NOTIONAL in whole USDT.
    pub min_notional_usdt: i64,
    /// Maximum leverage (first bracket).
    pub max_leverage: u32,
    /// Listing date (ms).
    pub onboard_ms: u64,
}

impl Listing {
    /// Highest price PRICE_FILTER allows, in price units (1,000,000 quote units).
    pub fn max_price(&self) -> i64 {
        1_000_000 * pow10(self.price_dp)
    }

    /// The listing's rules, in the units a client derives from the printed filters:
    /// the fewest decimals that express the tick and the step (BTCUSDT prints prices
    /// with 2 decimals, but its tick 0.10 needs one), so the rules built here equal the
    /// rules a client parses from the mock's `exchangeInfo`.
    pub fn instrument(&self) -> Instrument {
        let (price_dp, pf) = minimal_dp(self.price_dp, self.tick);
        let (qty_dp, qf) = minimal_dp(self.qty_dp, self.step.min(self.min_qty));
        let lot = LotRule {
            min: self.min_qty / qf,
            max: self.max_qty / qf,
            step: self.step / qf,
        };
        let market_lot = LotRule {
            max: self.market_max_qty / qf,
            ..lot
        };
        let notional = self.min_notional_usdt as i128 * pow10(price_dp + qty_dp) as i128;
        Instrument::assemble(
            self.symbol,
            price_dp,
            self.tick / pf,
            self.tick / pf,
            self.max_price() / pf,
            qty_dp,
            lot,
            market_lot,
            notional,
        )
    }
}

/// Drops decimals that `grid` (in units of `10^-dp`) does not need: returns the reduced
/// dp and the divisor that converts units.
fn minimal_dp(dp: u32, grid: i64) -> (u32, i64) {
    let (mut dp, mut f) = (dp, 1i64);
    while dp > 0 && grid > 0 && (grid / f) % 10 == 0 {
        dp -= 1;
        f *= 10;
    }
    (dp, f)
}

macro_rules! listing {
    ($sym:expr, $base:expr, $pdp:expr, $tick:expr, $qdp:expr, $step:expr, $minq:expr, $maxq:expr,
     $mmaxq:expr, $notional:expr, $lev:expr, $onboard:expr) => {
        Listing {
            symbol: $sym,
            base: $base,
            price_dp: $pdp,
            tick: $tick,
            qty_dp: $qdp,
            step: $step,
            min_qty: $minq,
            max_qty: $maxq,
            market_max_qty: $mmaxq,
            min_notional_usdt: $notional,
            max_leverage: $lev,
            onboard_ms: $onboard,
        }
    };
}

/// Every listing, in a fixed order (the default config trades the first three).
pub const LISTINGS: [Listing; 10] = [
    listing!(
        "BTCUSDT",
        "BTC",
        2,
        10,
        3,
        1,
        1,
        1_000_000,
        120_000,
        100,
        125,
        1_569_398_400_000
    ),
    listing!(
        "ETHUSDT",
        "ETH",
        2,
        1,
        3,
        1,
        1,
        10_000_000,
        2_000_000,
        20,
        125,
        1_569_398_400_000
    ),
    listing!(
        "SOLUSDT",
        "SOL",
        4,
        100,
        0,
        1,
        1,
        1_000_000,
        5_000,
        5,
        100,
        1_600_000_000_000
    ),
    listing!(
        "BNBUSDT",
        "BNB",
        3,
        10,
        2,
        1,
        1,
        10_000_000,
        200_000,
        5,
        75,
        1_581_000_000_000
    ),
    listing!(
        "XRPUSDT",
        "XRP",
        4,
        1,
        1,
        1,
        1,
        100_000_000,
        20_000_000,
        5,
        75,
        1_578_000_000_000
    ),
    listing!(
        "DOGEUSDT",
        "DOGE",
        6,
        10,
        0,
        1,
        1,
        50_000_000,
        30_000_000,
        5,
        75,
        1_594_000_000_000
    ),
    listing!(
        "ADAUSDT",
        "ADA",
        4,
        1,
        0,
        1,
        1,
        10_000_000,
        3_000_000,
        5,
        75,
        1_578_000_000_000
    ),
    listing!(
        "LTCUSDT",
        "LTC",
        2,
        1,
        3,
        1,
        1,
        100_000_000,
        5_000_000,
        20,
        75,
        1_578_000_000_000
    ),
    listing!(
        "LINKUSDT",
        "LINK",
        3,
        1,
        2,
        10,
        10,
        20_000_000,
        200_000,
        5,
        75,
        1_578_000_000_000
    ),
    listing!(
        "AVAXUSDT",
        "AVAX",
        4,
        10,
        0,
        1,
        1,
        1_000_000,
        20_000,
        5,
        75,
        1_600_600_000_000
    ),
];

/// A listing by symbol (case-insensitive).
pub fn listing(symbol: &str) -> Option<&'static Listing> {
    LISTINGS
        .iter()
        .find(|l| l.symbol.eq_ignore_ascii_case(symbol))
}

/// The rules of `symbol` offline: the catalog's listing, or [`Instrument::generic`] for
/// a symbol it does not list.
pub fn instrument_or_generic(symbol: &str) -> Instrument {
    match listing(symbol) {
        Some(l) => l.instrument(),
        None => Instrument::generic(symbol),
    }
}
