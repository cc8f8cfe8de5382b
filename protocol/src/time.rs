//! The range of times the API carries. chrono reaches year 262,143, far
//! beyond anything meaningful, and adding to a time near its end panics;
//! bounding every time at the edges keeps all arithmetic on them safe.

use chrono::{DateTime, Utc};

/// Earliest time accepted anywhere in the API: 1970-01-01T00:00:00Z.
pub const EARLIEST_MS: i64 = 0;

/// Latest time accepted anywhere in the API: 9999-12-31T23:59:59.999Z.
pub const LATEST_MS: i64 = 253_402_300_799_999;

/// Whether `t` lies in the API's range of times.
pub fn in_range(t: DateTime<Utc>) -> bool {
    (EARLIEST_MS..=LATEST_MS).contains(&t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_named_instants() {
        let latest = DateTime::from_timestamp_millis(LATEST_MS).map(|t| t.to_rfc3339());
        assert_eq!(latest.as_deref(), Some("9999-12-31T23:59:59.999+00:00"));
        let earliest = DateTime::from_timestamp_millis(EARLIEST_MS);
        assert!(earliest.is_some_and(in_range));
        assert!(DateTime::from_timestamp_millis(LATEST_MS + 1).is_some_and(|t| !in_range(t)));
        assert!(DateTime::from_timestamp_millis(-1).is_some_and(|t| !in_range(t)));
    }
}
