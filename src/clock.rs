//! Phone time, shared by the simulator and the agent. Every duration in a profile is in seconds of phone time;
//! simulated phones divide them by the time scale, so with `--time-scale 180` a 3-minute reboot takes one second,
//! and an agent talking to them scales its own waits alike. Built on `tokio::time`, so tests may pause time.

use std::time::Duration;

use tokio::time::Instant;

/// Converts between phone time and wall time.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    scale: f64,
}

/// Phone seconds per wall second that a run accepts (`--time-scale`): a simulated fleet runs at most a million
/// times faster than life; below a thousandth the waits no longer fit in a timer.
pub const SCALE_RANGE: std::ops::RangeInclusive<f64> = 0.001..=1_000_000.0;

/// `scale` when a run can use it, else what is wrong with it.
pub fn check_scale(scale: f64) -> Result<f64, String> {
    if scale.is_finite() && SCALE_RANGE.contains(&scale) {
        Ok(scale)
    } else {
        Err(format!(
            "--time-scale {scale}: use a number from {} to {} (1 = real time)",
            SCALE_RANGE.start(),
            SCALE_RANGE.end()
        ))
    }
}

impl Clock {
    /// `scale` > 0: how many phone seconds pass per wall second.
    pub fn new(scale: f64) -> Clock {
        Clock {
            scale: if scale.is_finite() && scale > 0.0 {
                scale
            } else {
                1.0
            },
        }
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// Wall duration of `secs` phone seconds.
    pub fn wall(&self, secs: f64) -> Duration {
        Duration::from_secs_f64((secs / self.scale).max(0.0))
    }

    /// Sleep for `secs` phone seconds.
    pub async fn sleep(&self, secs: f64) {
        tokio::time::sleep(self.wall(secs)).await;
    }

    /// Phone seconds elapsed since `since`.
    pub fn since(&self, since: Instant) -> f64 {
        since.elapsed().as_secs_f64() * self.scale
    }

    pub fn now(&self) -> Instant {
        Instant::now()
    }
}

/// (year, month, day, hour, minute, second, millisecond) of a wall-clock time, UTC (Howard Hinnant's
/// `civil_from_days`).
pub fn civil(t: std::time::SystemTime) -> (i64, u64, u64, u64, u64, u64, u32) {
    let d = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let z = (secs / 86400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u64;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u64;
    let year = yoe + era * 400 + i64::from(month <= 2);
    let rem = secs % 86400;
    (
        year,
        month,
        day,
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_millis(),
    )
}

/// Wall-clock Unix seconds now (0 before 1970).
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// ISO 8601 UTC with milliseconds, as HAR files and logs write it: `2026-11-23T11:16:13.000Z`.
pub fn iso8601(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s, ms) = civil(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// A compact stamp for directory names: `20261123-111613`.
pub fn stamp(t: std::time::SystemTime) -> String {
    let (y, mo, d, h, mi, s, _) = civil(t);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A known instant: 2026-11-23 11:16:13 UTC.
    #[test]
    fn calendar() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_795_432_573);
        assert_eq!(iso8601(t), "2026-11-23T11:16:13.000Z");
        assert_eq!(stamp(t), "20261123-111613");
    }
}
