//! Times given by administrators: RFC 3339, or relative to now (`+30s`).

use chrono::{DateTime, Duration, Utc};

use crate::error::Error;

/// Parses `2026-11-23T18:00:00Z` or `+N` followed by `s`, `m`, `h` or `d`.
pub fn parse(spec: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let spec = spec.trim();
    if let Some(rel) = spec.strip_prefix('+') {
        return relative(rel).map(|d| now + d).ok_or_else(|| {
            Error::bad(format!(
                "bad relative time '{spec}': use +30s, +5m, +2h or +1d"
            ))
        });
    }
    DateTime::parse_from_rfc3339(spec)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            Error::bad(format!(
                "bad time '{spec}': {e} (use RFC 3339 or +30s, +5m, +2h, +1d)"
            ))
        })
}

fn relative(rel: &str) -> Option<Duration> {
    let unit = rel.chars().last()?;
    let n: i64 = rel[..rel.len() - unit.len_utf8()].parse().ok()?;
    if !(0..=3650 * 86_400).contains(&n) {
        return None;
    }
    match unit {
        's' => Some(Duration::seconds(n)),
        'm' => Some(Duration::minutes(n)),
        'h' => Some(Duration::hours(n)),
        'd' => Some(Duration::days(n)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_and_absolute() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse("+30s", now).unwrap(), now + Duration::seconds(30));
        assert_eq!(parse("+2h", now).unwrap(), now + Duration::hours(2));
        assert_eq!(
            parse("2026-01-02T01:00:00+01:00", now).unwrap(),
            now + Duration::days(1)
        );
        for bad in ["+", "+5", "+5y", "+-3s", "tomorrow", ""] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
    }
}
