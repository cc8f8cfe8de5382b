//! Pure scheduling decisions: which message is shown next, and when the
//! agent must wake up. Every function takes the time as an argument.

use std::cmp::Reverse;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::store::{MessageState, StoredMessage};

/// Due: waiting for the user (never read at this revision, not cancelled
/// since the last contact) and valid now, `valid_from <= now < valid_until`.
pub fn is_due(m: &StoredMessage, now: DateTime<Utc>) -> bool {
    matches!(m.state, MessageState::Staged | MessageState::Shown)
        && m.valid_from <= now
        && now < m.valid_until
}

/// The due messages in the order they are shown: alerts, then warnings,
/// then infos; within a severity the earliest valid-from first, then by id.
pub fn queue(messages: &[StoredMessage], now: DateTime<Utc>) -> Vec<&StoredMessage> {
    let mut due: Vec<&StoredMessage> = messages.iter().filter(|m| is_due(m, now)).collect();
    due.sort_by(|a, b| {
        (Reverse(a.severity), a.valid_from, &a.id).cmp(&(Reverse(b.severity), b.valid_from, &b.id))
    });
    due
}

/// The next message to show, if any.
pub fn next(messages: &[StoredMessage], now: DateTime<Utc>) -> Option<&StoredMessage> {
    queue(messages, now).into_iter().next()
}

/// The next moment the queue changes by itself: a staged message becoming
/// valid, or a due one expiring.
pub fn next_change(messages: &[StoredMessage], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    messages
        .iter()
        .filter(|m| matches!(m.state, MessageState::Staged | MessageState::Shown))
        .filter_map(|m| {
            if m.valid_from > now {
                Some(m.valid_from)
            } else if m.valid_until > now {
                Some(m.valid_until)
            } else {
                None
            }
        })
        .min()
}

/// The state to show a user: a message still open past its validity is
/// expired even if no contact has told the store so yet.
pub fn effective_state(m: &StoredMessage, now: DateTime<Utc>) -> MessageState {
    if m.state.is_open() && now >= m.valid_until {
        MessageState::Expired
    } else {
        m.state
    }
}

/// How long do-not-disturb lasts when the user turns it on: what the agent
/// offers, no longer than the central server's limit; `None` when the
/// limit is zero and it may not be turned on.
pub fn dnd_span(wanted: chrono::Duration, max_minutes: Option<u64>) -> Option<chrono::Duration> {
    match max_minutes {
        None => Some(wanted),
        Some(0) => None,
        Some(m) => {
            let max = chrono::Duration::minutes(i64::try_from(m).unwrap_or(i64::MAX / 60_000));
            Some(wanted.min(max))
        }
    }
}

/// Do-not-disturb holds back everything but alerts until it ends (local
/// time: it is the user's hour, not the server's).
pub fn allowed_now(
    m: &StoredMessage,
    dnd_until: Option<DateTime<Utc>>,
    local_now: DateTime<Utc>,
) -> bool {
    m.severity == herald_protocol::Severity::Alert || dnd_until.is_none_or(|u| local_now >= u)
}

/// Whether putting `m` on screen plays the alert sound: its sender asked
/// for one, this revision has not been on screen yet (it rings once), and
/// do-not-disturb is off, unless it is an alert.
pub fn rings(
    m: &StoredMessage,
    dnd_until: Option<DateTime<Utc>>,
    local_now: DateTime<Utc>,
) -> bool {
    m.sound == herald_protocol::Sound::Alert
        && m.shown_revision != Some(m.revision)
        && (m.severity == herald_protocol::Severity::Alert
            || dnd_until.is_none_or(|u| local_now >= u))
}

/// The popup on screen, as far as the scheduler cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnScreen {
    pub id: String,
    pub revision: u32,
    pub severity: herald_protocol::Severity,
}

/// What to do with the screen, given what is on it and the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenChange<'a> {
    Nothing,
    /// Nothing on screen: show this.
    Show(&'a StoredMessage),
    /// A more urgent message is due: it takes the screen, and the one shown
    /// goes back to the queue untouched.
    Preempt(&'a StoredMessage),
    /// What is on screen is no longer due at that revision (read elsewhere,
    /// withdrawn, expired, revised): take it down.
    Close,
}

/// At most one popup at a time, the most urgent one.
pub fn screen_change<'a>(
    on_screen: Option<&OnScreen>,
    queue: &[&'a StoredMessage],
) -> ScreenChange<'a> {
    let Some(shown) = on_screen else {
        return queue
            .first()
            .map_or(ScreenChange::Nothing, |m| ScreenChange::Show(m));
    };
    if !queue
        .iter()
        .any(|m| m.id == shown.id && m.revision == shown.revision)
    {
        return ScreenChange::Close;
    }
    match queue.first() {
        Some(first) if first.severity > shown.severity => ScreenChange::Preempt(first),
        _ => ScreenChange::Nothing,
    }
}

/// Shortest wait before retrying a failed contact.
pub const RETRY_BASE: Duration = Duration::from_secs(5);

/// How long to wait before the next contact. After a success, the server's
/// interval give or take 10%, so that agents started together drift apart.
/// After failures, exponential backoff from `RETRY_BASE`, capped at the
/// interval, with the upper half randomised. `jitter` is uniform in [0, 1).
pub fn poll_delay(interval: Duration, failures: u32, jitter: f64) -> Duration {
    let jitter = jitter.clamp(0.0, 1.0);
    // Whatever the store holds, the arithmetic below cannot overflow.
    let interval = interval.clamp(Duration::from_secs(1), Duration::from_secs(7 * 86_400));
    if failures == 0 {
        return interval.mul_f64(0.9 + 0.2 * jitter);
    }
    let exp = RETRY_BASE.saturating_mul(1u32 << (failures - 1).min(20));
    exp.min(interval)
        .mul_f64(0.5 + 0.5 * jitter)
        .max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_protocol::{ReceiptPolicy, Severity};

    #[test]
    fn do_not_disturb_is_no_longer_than_the_central_limit() {
        let hour = chrono::Duration::hours(1);
        assert_eq!(dnd_span(hour, None), Some(hour));
        assert_eq!(dnd_span(hour, Some(90)), Some(hour));
        assert_eq!(
            dnd_span(hour, Some(20)),
            Some(chrono::Duration::minutes(20))
        );
        assert_eq!(dnd_span(hour, Some(0)), None);
    }

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    fn msg(
        id: &str,
        severity: Severity,
        from: i64,
        until: i64,
        state: MessageState,
    ) -> StoredMessage {
        StoredMessage {
            id: id.into(),
            revision: 1,
            severity,
            title: id.into(),
            body: String::new(),
            sender: "x".into(),
            valid_from: t(from),
            valid_until: t(until),
            receipt: ReceiptPolicy::Read,
            revised_at: t(0),
            received_at: t(0),
            state,
            state_at: t(0),
            read_revision: None,
            note: None,
            extras: Default::default(),
            sound: Default::default(),
            shown_lang: None,
            shown_revision: None,
            answer: None,
        }
    }

    #[test]
    fn the_sound_rings_once_per_revision_and_dnd_silences_all_but_alerts() {
        use herald_protocol::Sound;
        let mut a = msg("a", Severity::Alert, 0, 100, MessageState::Staged);
        a.sound = Sound::Alert;
        let dnd = Some(t(50));
        assert!(rings(&a, None, t(10)));
        assert!(rings(&a, dnd, t(10)));
        let mut w = a.clone();
        w.severity = Severity::Warning;
        assert!(rings(&w, None, t(10)));
        assert!(!rings(&w, dnd, t(10)));
        assert!(rings(&w, dnd, t(60)));
        a.shown_revision = Some(1);
        assert!(!rings(&a, None, t(10)));
        a.revision = 2;
        assert!(rings(&a, None, t(10)));
        a.sound = Sound::None;
        assert!(!rings(&a, None, t(10)));
    }

    fn ids(q: Vec<&StoredMessage>) -> Vec<&str> {
        q.into_iter().map(|m| m.id.as_str()).collect()
    }

    #[test]
    fn severity_then_valid_from_then_id() {
        use MessageState::Staged;
        let ms = vec![
            msg("i1", Severity::Info, 0, 100, Staged),
            msg("w2", Severity::Warning, 5, 100, Staged),
            msg("w1", Severity::Warning, 1, 100, Staged),
            msg("a2", Severity::Alert, 3, 100, Staged),
            msg("a1", Severity::Alert, 3, 100, Staged),
        ];
        assert_eq!(ids(queue(&ms, t(10))), ["a1", "a2", "w1", "w2", "i1"]);
    }

    #[test]
    fn validity_window_is_half_open() {
        let ms = vec![msg("m", Severity::Info, 10, 20, MessageState::Staged)];
        assert!(queue(&ms, t(9)).is_empty());
        assert_eq!(ids(queue(&ms, t(10))), ["m"]);
        assert_eq!(ids(queue(&ms, t(19))), ["m"]);
        assert!(queue(&ms, t(20)).is_empty());
    }

    #[test]
    fn read_cancelled_and_stopped_are_not_due_shown_is() {
        let ms = vec![
            msg("read", Severity::Alert, 0, 100, MessageState::Read),
            msg(
                "cancelled",
                Severity::Alert,
                0,
                100,
                MessageState::Cancelled,
            ),
            msg(
                "withdrawn",
                Severity::Alert,
                0,
                100,
                MessageState::Withdrawn,
            ),
            msg("expired", Severity::Alert, 0, 100, MessageState::Expired),
            msg("shown", Severity::Info, 0, 100, MessageState::Shown),
        ];
        assert_eq!(ids(queue(&ms, t(1))), ["shown"]);
        assert_eq!(next(&ms, t(1)).map(|m| m.id.as_str()), Some("shown"));
    }

    #[test]
    fn next_change_is_the_nearest_start_or_end() {
        let ms = vec![
            msg("later", Severity::Info, 50, 100, MessageState::Staged),
            msg("now", Severity::Info, 0, 30, MessageState::Staged),
            msg("read", Severity::Info, 0, 5, MessageState::Read),
        ];
        assert_eq!(next_change(&ms, t(1)), Some(t(30)));
        assert_eq!(next_change(&ms, t(40)), Some(t(50)));
        assert_eq!(next_change(&ms, t(200)), None);
    }

    #[test]
    fn expired_is_derived_from_time() {
        let m = msg("m", Severity::Info, 0, 10, MessageState::Cancelled);
        assert_eq!(effective_state(&m, t(5)), MessageState::Cancelled);
        assert_eq!(effective_state(&m, t(10)), MessageState::Expired);
        let r = msg("r", Severity::Info, 0, 10, MessageState::Read);
        assert_eq!(effective_state(&r, t(50)), MessageState::Read);
    }

    #[test]
    fn one_popup_at_a_time_and_only_more_urgent_preempts() {
        use MessageState::Staged;
        let alert = msg("a", Severity::Alert, 0, 100, Staged);
        let warning = msg("w", Severity::Warning, 0, 100, Staged);
        let info = msg("i", Severity::Info, 0, 100, Staged);
        let on = |m: &StoredMessage| OnScreen {
            id: m.id.clone(),
            revision: m.revision,
            severity: m.severity,
        };

        assert_eq!(screen_change(None, &[]), ScreenChange::Nothing);
        assert_eq!(
            screen_change(None, &[&warning, &info]),
            ScreenChange::Show(&warning)
        );
        // Same or lower severity waits its turn.
        let other_warning = msg("w2", Severity::Warning, 0, 100, Staged);
        assert_eq!(
            screen_change(Some(&on(&warning)), &[&other_warning, &warning]),
            ScreenChange::Nothing
        );
        assert_eq!(
            screen_change(Some(&on(&warning)), &[&warning, &info]),
            ScreenChange::Nothing
        );
        assert_eq!(
            screen_change(Some(&on(&info)), &[&alert, &info]),
            ScreenChange::Preempt(&alert)
        );
        // Gone from the queue, or revised: take it down.
        assert_eq!(
            screen_change(Some(&on(&info)), &[&warning]),
            ScreenChange::Close
        );
        let mut revised = info.clone();
        revised.revision = 2;
        assert_eq!(
            screen_change(Some(&on(&info)), &[&revised]),
            ScreenChange::Close
        );
    }

    #[test]
    fn poll_delay_jitters_and_backs_off() {
        let five = Duration::from_secs(300);
        assert_eq!(poll_delay(five, 0, 0.0), Duration::from_secs(270));
        assert_eq!(poll_delay(five, 0, 1.0), Duration::from_secs(330));
        assert_eq!(poll_delay(five, 1, 1.0), Duration::from_secs(5));
        assert_eq!(poll_delay(five, 3, 1.0), Duration::from_secs(20));
        assert_eq!(poll_delay(five, 3, 0.0), Duration::from_secs(10));
        // Capped at the interval however long the outage.
        assert_eq!(poll_delay(five, 30, 1.0), five);
        assert!(poll_delay(Duration::ZERO, 0, 0.0) >= Duration::from_millis(900));
        // A huge interval from a hostile server (or an old store) is capped,
        // never a panic in the arithmetic.
        let week = Duration::from_secs(7 * 86_400);
        assert_eq!(poll_delay(Duration::MAX, 0, 0.5), week);
        assert_eq!(
            poll_delay(Duration::MAX, 40, 1.0),
            week.min(poll_delay(week, 40, 1.0))
        );
    }

    #[test]
    fn do_not_disturb_lets_only_alerts_through_until_it_ends() {
        let alert = msg("a", Severity::Alert, 0, 100, MessageState::Staged);
        let info = msg("i", Severity::Info, 0, 100, MessageState::Staged);
        let until = Some(t(3600));
        assert!(allowed_now(&alert, until, t(10)));
        assert!(!allowed_now(&info, until, t(10)));
        assert!(allowed_now(&info, until, t(3600)));
        assert!(allowed_now(&info, None, t(10)));
    }
}
