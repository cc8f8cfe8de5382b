//! Times given by administrators: RFC 3339, or relative to now (`+30s`).
//! Every result is checked against the API's range of times, so that no
//! later arithmetic on it can overflow.

use chrono::{DateTime, Duration, Utc};
use herald_protocol::{time_in_range, LATEST_MS};

use crate::error::Error;

/// Parses `2026-11-23T18:00:00Z` or `+N` followed by `s`, `m`, `h` or `d`.
pub fn parse(spec: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Error> {
    let spec = spec.trim();
    let t = if let Some(rel) = spec.strip_prefix('+') {
        let d = relative(rel).ok_or_else(|| {
            Error::bad(format!(
                "bad relative time '{spec}': use +30s, +5m, +2h or +1d"
            ))
        })?;
        now.checked_add_signed(d)
            .ok_or_else(|| out_of_range(spec))?
    } else {
        DateTime::parse_from_rfc3339(spec)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::bad(format!(
                    "bad time '{spec}': {e} (use RFC 3339 or +30s, +5m, +2h, +1d)"
                ))
            })?
    };
    if time_in_range(t) {
        Ok(t)
    } else {
        Err(out_of_range(spec))
    }
}

fn out_of_range(spec: &str) -> Error {
    let latest = DateTime::from_timestamp_millis(LATEST_MS)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_default();
    Error::bad(format!(
        "time '{spec}' is out of range: give a time from 1970-01-01 to {latest}"
    ))
}

fn relative(rel: &str) -> Option<Duration> {
    let unit = rel.chars().last()?;
    let n: i64 = rel[..rel.len() - unit.len_utf8()].parse().ok()?;
    if n < 0 {
        return None;
    }
    match unit {
        's' => Duration::try_seconds(n),
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn relative_and_absolute() {
        let now = at("2026-01-01T00:00:00Z");
        assert_eq!(parse("+30s", now).unwrap(), now + Duration::seconds(30));
        assert_eq!(parse("+2h", now).unwrap(), now + Duration::hours(2));
        assert_eq!(
            parse("2026-01-02T01:00:00+01:00", now).unwrap(),
            now + Duration::days(1)
        );
        for bad in ["+", "+5", "+5y", "+-3s", "tomorrow", "", "+é", "+1é"] {
            assert!(parse(bad, now).is_err(), "{bad}");
        }
    }

    #[test]
    fn huge_or_far_times_are_refused_not_overflowed() {
        let now = at("2026-01-01T00:00:00Z");
        for far in [
            "+100000000d",
            "+9223372036854775807s",
            "+9223372036854775807d",
            "+3000000d",
            "1969-12-31T23:59:59Z",
        ] {
            let err = parse(far, now).unwrap_err().to_string();
            assert!(
                err.contains("out of range") || err.contains("bad"),
                "{far}: {err}"
            );
        }
        assert!(parse("9999-12-31T23:59:59Z", now).is_ok());
        // Near the end of the range, a relative time overflows chrono's too.
        let late = at("9999-12-31T00:00:00Z");
        assert!(parse("+2d", late).is_err());
    }
}
