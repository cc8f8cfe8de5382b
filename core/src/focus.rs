//! The desktop's own "do not disturb": on Windows, Focus Assist (quiet
//! hours), a presentation, or a full-screen game or video. While the user
//! is in one of those, infos and warnings wait; alerts go through, as with
//! Herald's own do-not-disturb.

use herald_protocol::Severity;

/// What the desktop says about the user's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attention {
    /// Notifications are welcome.
    Available,
    /// A full-screen application (game, video, Direct3D) has the screen.
    Busy,
    /// Presentation mode.
    Presenting,
    /// Focus Assist or quiet hours.
    QuietTime,
    /// Locked, screen saver, or another user's session in front. A popup
    /// waits there until the user is back, so it may go up.
    Away,
}

impl Attention {
    /// From `SHQueryUserNotificationState`'s answer (`QUERY_USER_NOTIFICATION_STATE`).
    /// Values the function may add later count as available: an unknown
    /// state must never hold an alert, and holds nothing else either.
    pub fn from_quns(value: i32) -> Self {
        match value {
            1 => Attention::Away,
            2 | 3 | 7 => Attention::Busy,
            4 => Attention::Presenting,
            6 => Attention::QuietTime,
            _ => Attention::Available,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Attention::Available => "available",
            Attention::Busy => "busy (full screen)",
            Attention::Presenting => "presenting",
            Attention::QuietTime => "quiet time (Focus Assist)",
            Attention::Away => "away",
        }
    }
}

/// Whether a message of this severity may go on screen now.
pub fn lets_through(attention: Attention, severity: Severity) -> bool {
    severity == Severity::Alert || matches!(attention, Attention::Available | Attention::Away)
}

/// Asks the desktop. Elsewhere than on Windows there is nothing to ask.
#[cfg(not(windows))]
pub fn probe() -> Attention {
    Attention::Available
}

/// Asks Windows (`SHQueryUserNotificationState`); available if it cannot say.
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn probe() -> Attention {
    use windows_sys::Win32::UI::Shell::SHQueryUserNotificationState;
    let mut state = 0;
    // Writes one i32 into a local; no handles or buffers involved.
    let hr = unsafe { SHQueryUserNotificationState(&mut state) };
    if hr < 0 {
        return Attention::Available;
    }
    Attention::from_quns(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_windows_states_map_as_documented() {
        let got: Vec<Attention> = (0..=8).map(Attention::from_quns).collect();
        use Attention::*;
        assert_eq!(
            got,
            [Available, Away, Busy, Busy, Presenting, Available, QuietTime, Busy, Available]
        );
    }

    #[test]
    fn alerts_always_pass_the_rest_waits_while_busy_presenting_or_quiet() {
        for a in [
            Attention::Available,
            Attention::Busy,
            Attention::Presenting,
            Attention::QuietTime,
            Attention::Away,
        ] {
            assert!(lets_through(a, Severity::Alert), "{a:?} held an alert");
            let open = matches!(a, Attention::Available | Attention::Away);
            assert_eq!(lets_through(a, Severity::Warning), open, "{a:?}");
            assert_eq!(lets_through(a, Severity::Info), open, "{a:?}");
        }
    }
}
