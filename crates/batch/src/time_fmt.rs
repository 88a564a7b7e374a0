//! Job timestamps: Unix milliseconds inside, ISO-8601 with milliseconds on the wire.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    let now = OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}

/// `2025-06-01T02:00:00.000Z`.
pub fn format_ms(ms: i64) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Parses a query timestamp: ISO-8601 / RFC 3339 (what the SDKs send), or epoch seconds.
pub fn parse_ms(text: &str) -> Option<i64> {
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Some((t.unix_timestamp_nanos() / 1_000_000) as i64);
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite())
        .map(|s| (s * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_millis_and_parses_back() {
        assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_ms(1_748_743_200_123), "2025-06-01T02:00:00.123Z");
        assert_eq!(
            parse_ms("2025-06-01T02:00:00.123Z"),
            Some(1_748_743_200_123)
        );
        assert_eq!(parse_ms("2025-06-01T02:00:00Z"), Some(1_748_743_200_000));
        assert_eq!(parse_ms("1748743200"), Some(1_748_743_200_000));
        assert_eq!(parse_ms("yesterday"), None);
    }
}
