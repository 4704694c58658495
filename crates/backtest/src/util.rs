//! Small helpers: UTC dates without a date crate, and the progress bar.

use std::io::IsTerminal;

/// Days since the epoch → (year, month, day), proleptic Gregorian (H. Hinnant's
/// `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `YYYY-MM-DD` of a day number since the epoch.
pub fn iso_date(day: u64) -> String {
    let (y, m, d) = civil_from_days(day as i64);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a time in ms since the epoch.
pub fn iso_utc(ms: u64) -> String {
    let day = ms / 86_400_000;
    let rem = ms % 86_400_000;
    let (h, mi, s, milli) = (
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1_000 % 60,
        rem % 1_000,
    );
    format!("{}T{h:02}:{mi:02}:{s:02}.{milli:03}Z", iso_date(day))
}

/// A progress bar on stderr, or `None` when not wanted or stderr is not a terminal (so
/// logs and CI output stay clean).
pub fn progress_bar(wanted: bool, len: u64, label: &str) -> Option<indicatif::ProgressBar> {
    if !wanted || !std::io::stderr().is_terminal() || len < 1_000_000 {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr_with_hz(4),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>12} [{bar:40}] {percent:>3}% {per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(label.to_string());
    Some(bar)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(iso_utc(0), "1970-01-01T00:00:00.000Z");
        // 2025-05-04 15:33 UTC
        assert_eq!(iso_utc(1_746_372_780_000), "2025-05-04T15:33:00.000Z");
        assert_eq!(iso_date(20_089), "2025-01-01");
        assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }
}
