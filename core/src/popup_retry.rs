//! When to try again to put a popup on screen after one failed, and when
//! to tell the user: a pure record of the streak, driven by the run loop.

use chrono::{DateTime, Utc};

/// Consecutive failures to put a popup on screen: a popup that cannot
/// start, or dies without an answer. While they last, the agent retries
/// with backoff instead of every few seconds, and tells the user and the
/// exchange log once per streak, not at every try.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PopupTrouble {
    failures: u32,
    reason: Option<String>,
    retry_at: Option<DateTime<Utc>>,
}

/// The first retry after a failure; each further failure doubles it.
pub const RETRY_FIRST: chrono::Duration = chrono::Duration::seconds(10);
/// The longest wait between two tries.
pub const RETRY_MAX: chrono::Duration = chrono::Duration::seconds(300);

impl PopupTrouble {
    /// Records a failure at `now`; true when it starts a streak, which is
    /// when the user and the log are told.
    pub fn failed(&mut self, reason: &str, now: DateTime<Utc>) -> bool {
        self.failures = self.failures.saturating_add(1);
        let doublings = self.failures.saturating_sub(1).min(10);
        let delay = (RETRY_FIRST * 2_i32.pow(doublings)).min(RETRY_MAX);
        self.retry_at = Some(now + delay);
        let first = self.reason.is_none();
        self.reason = Some(reason.to_owned());
        first
    }

    /// A popup came up; returns how many tries had failed before, if any.
    pub fn recovered(&mut self) -> Option<u32> {
        let failures = std::mem::take(self).failures;
        (failures > 0).then_some(failures)
    }

    /// When the next try may happen, if that is still to come.
    pub fn retry_at(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.retry_at.filter(|t| *t > now)
    }

    /// Why the last try failed, while the streak lasts.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popup_failures_back_off_and_are_told_once_per_streak() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let mut t = PopupTrouble::default();
        assert_eq!(t.retry_at(t0), None);
        assert!(t.failed("no display", t0));
        assert_eq!(t.retry_at(t0), Some(t0 + RETRY_FIRST));
        assert_eq!(t.reason(), Some("no display"));
        let mut at = t0;
        let mut delays = Vec::new();
        for _ in 0..8 {
            at = t.retry_at(at).unwrap();
            assert!(!t.failed("still no display", at), "told twice");
            delays.push((t.retry_at(at).unwrap() - at).num_seconds());
        }
        assert_eq!(delays, [20, 40, 80, 160, 300, 300, 300, 300]);
        assert_eq!(t.retry_at(at + RETRY_MAX), None);
        assert_eq!(t.recovered(), Some(9));
        assert_eq!(t.reason(), None);
        assert_eq!(t.recovered(), None);
        assert!(t.failed("again", at), "a new streak is told again");
    }
}
