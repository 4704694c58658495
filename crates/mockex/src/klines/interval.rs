//! Binance's kline intervals and how their bars are aligned: every interval up to one
//! day on multiples of its length since the epoch (UTC), three days on multiples of
//! three days since the epoch (UNCERTAIN: assumed, not confirmed from Binance's data),
//! weeks from Monday 00:00 UTC, months on calendar months (UTC).

const MINUTE: u64 = 60_000;
const DAY: u64 = 86_400_000;
/// 1970-01-01 was a Thursday: the first Monday is day 4.
const MONDAY_OFFSET: u64 = 4 * DAY;

/// A kline interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    /// A bar of a fixed length in ms, aligned to multiples of it since the epoch
    /// (`1m` .. `3d`).
    Fixed(&'static str, u64),
    /// `1w`: Monday 00:00 UTC to the next Monday.
    Week,
    /// `1M`: a calendar month (UTC).
    Month,
}

/// Every interval Binance has, shortest first.
pub const ALL: [Interval; 15] = [
    Interval::Fixed("1m", MINUTE),
    Interval::Fixed("3m", 3 * MINUTE),
    Interval::Fixed("5m", 5 * MINUTE),
    Interval::Fixed("15m", 15 * MINUTE),
    Interval::Fixed("30m", 30 * MINUTE),
    Interval::Fixed("1h", 60 * MINUTE),
    Interval::Fixed("2h", 120 * MINUTE),
    Interval::Fixed("4h", 240 * MINUTE),
    Interval::Fixed("6h", 360 * MINUTE),
    Interval::Fixed("8h", 480 * MINUTE),
    Interval::Fixed("12h", 720 * MINUTE),
    Interval::Fixed("1d", DAY),
    Interval::Fixed("3d", 3 * DAY),
    Interval::Week,
    Interval::Month,
];

/// Days since 1970-01-01 → (year, month 1..=12), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`, for non-negative days).
fn year_month(days: u64) -> (u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m)
}

/// First day of `year`-`month` as days since 1970-01-01 (`days_from_civil`).
fn month_start(year: u64, month: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Interval {
    /// The interval named `name` (case-sensitive: `1m` a minute, `1M` a month).
    pub fn parse(name: &str) -> Option<Interval> {
        ALL.iter().copied().find(|i| i.name() == name)
    }

    /// Binance's name.
    pub fn name(self) -> &'static str {
        match self {
            Interval::Fixed(n, _) => n,
            Interval::Week => "1w",
            Interval::Month => "1M",
        }
    }

    /// Open time of the bar that contains `t` (ms).
    pub fn open_of(self, t: u64) -> u64 {
        match self {
            Interval::Fixed(_, ms) => t - t % ms,
            Interval::Week if t < MONDAY_OFFSET => 0,
            Interval::Week => t - (t - MONDAY_OFFSET) % (7 * DAY),
            Interval::Month => {
                let (y, m) = year_month(t / DAY);
                month_start(y, m) * DAY
            }
        }
    }

    /// Open time of the bar after the one that opens at `open`.
    pub fn next_open(self, open: u64) -> u64 {
        match self {
            Interval::Fixed(_, ms) => open + ms,
            Interval::Week => self.open_of(open) + 7 * DAY,
            Interval::Month => {
                let (y, m) = year_month(open / DAY);
                let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                month_start(y, m) * DAY
            }
        }
    }

    /// Close time of the bar that opens at `open`: the next open − 1 ms, as Binance
    /// stamps it.
    pub fn close_of(self, open: u64) -> u64 {
        self.next_open(open) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_align_like_binance() {
        // 2024-02-29T13:47:12.345Z, a Thursday in a leap February.
        let t = 1_709_214_432_345u64;
        let cases: [(&str, u64, u64); 7] = [
            ("1m", 1_709_214_420_000, 1_709_214_479_999),
            ("15m", 1_709_214_300_000, 1_709_215_199_999),
            ("4h", 1_709_208_000_000, 1_709_222_399_999),
            ("1d", 1_709_164_800_000, 1_709_251_199_999),
            // Monday 2024-02-26 to Monday 2024-03-04.
            ("1w", 1_708_905_600_000, 1_709_510_399_999),
            // 2024-02-01 to 2024-03-01.
            ("1M", 1_706_745_600_000, 1_709_251_199_999),
            ("3d", t - t % (3 * DAY), t - t % (3 * DAY) + 3 * DAY - 1),
        ];
        for (name, open, close) in cases {
            let iv = Interval::parse(name).unwrap();
            assert_eq!(iv.name(), name);
            assert_eq!(iv.open_of(t), open, "{name} open");
            assert_eq!(iv.close_of(open), close, "{name} close");
            assert_eq!(iv.open_of(open), open, "{name} open is its own open");
            assert_eq!(iv.open_of(close), open, "{name} close is inside");
        }
        // December rolls into January; a week opens on a Monday.
        let dec = Interval::Month.open_of(1_703_980_800_000); // 2023-12-31
        assert_eq!(dec, 1_701_388_800_000); // 2023-12-01
        assert_eq!(Interval::Month.next_open(dec), 1_704_067_200_000); // 2024-01-01
        assert_eq!(Interval::Week.open_of(1_704_067_200_000), 1_704_067_200_000); // a Monday
        assert_eq!(Interval::Week.open_of(1_703_980_800_000), 1_703_462_400_000); // Sun → Mon 12-25
        assert!(Interval::parse("1s").is_none() && Interval::parse("1H").is_none());
    }
}
