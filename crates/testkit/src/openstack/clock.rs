//! The emulator's clock: tokio time (so tests can `tokio::time::pause` and `advance`) mapped
//! onto a wall-clock epoch for the timestamps the services print.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// Tokio instants plus the wall-clock time that corresponds to the emulator's start.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    start: Instant,
    start_unix: Duration,
}

impl Clock {
    /// A clock whose start corresponds to `epoch` (now when `None`).
    pub(crate) fn new(epoch: Option<SystemTime>) -> Self {
        let wall = epoch.unwrap_or_else(SystemTime::now);
        Clock {
            start: Instant::now(),
            start_unix: wall.duration_since(UNIX_EPOCH).unwrap_or_default(),
        }
    }

    /// The current tokio instant.
    pub(crate) fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix(&self, at: Instant) -> Duration {
        self.start_unix + at.saturating_duration_since(self.start)
    }

    /// Octavia's format: `2026-11-26T14:38:10`, no timezone (real-octavia README quirk 7).
    pub(crate) fn octavia(&self, at: Instant) -> String {
        format_utc(self.unix(at))
    }

    /// Neutron's format: `2026-11-26T14:38:21Z`.
    pub(crate) fn neutron(&self, at: Instant) -> String {
        format!("{}Z", format_utc(self.unix(at)))
    }

    /// Keystone's format: `2026-11-26T14:38:21.000000Z`.
    pub(crate) fn keystone(&self, at: Instant) -> String {
        let t = self.unix(at);
        format!("{}.{:06}Z", format_utc(t), t.subsec_micros())
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of a duration since the Unix epoch, UTC.
fn format_utc(since_epoch: Duration) -> String {
    let secs = since_epoch.as_secs();
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days`: days since 1970-01-01 to (year, month, day).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_dates() {
        assert_eq!(format_utc(Duration::ZERO), "1970-01-01T00:00:00");
        // 2026-11-26T14:38:10Z, the time of the real Octavia samples.
        assert_eq!(
            format_utc(Duration::from_secs(1_795_703_890)),
            "2026-11-26T14:38:10"
        );
        // A leap day.
        assert_eq!(
            format_utc(Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00"
        );
    }
}
