//! Timestamp conventions: UTC, stored with microseconds, shown with milliseconds and `Z`.

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};

/// PostgreSQL keeps microseconds; truncating up front makes values round-trip exactly.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// `2026-05-16T12:00:00.000Z`
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats_with_millis_and_z() {
        let t = Utc.with_ymd_and_hms(2026, 5, 16, 12, 0, 0).unwrap();
        assert_eq!(format_timestamp(&t), "2026-05-16T12:00:00.000Z");
    }
}
