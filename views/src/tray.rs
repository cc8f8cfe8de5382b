//! What the tray icon says: its state, its tooltip and its pictures. Pure
//! functions of the last contacts and the time; the agent binary only
//! hands the result to the platform's tray, and every window takes its
//! icon from here.

use chrono::{DateTime, Local, Utc};

use crate::i18n::Texts;

/// What the tray needs to know of the agent's contacts with the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contacts {
    pub last_success: Option<DateTime<Utc>>,
    pub last_attempt: Option<DateTime<Utc>>,
    /// Failed contacts since the last successful one.
    pub failures: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    Normal,
    /// Messages are due but not on screen: closed without reading, queued
    /// behind the one on screen, or held by do-not-disturb.
    Waiting,
    /// The last contact with the server failed.
    Unreachable,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub state: TrayState,
    pub tooltip: String,
}

/// The tray's state and tooltip. `waiting` counts the valid messages the
/// user has not read that are not on screen.
pub fn view(
    sync: &Contacts,
    waiting: usize,
    dnd_until: Option<DateTime<Utc>>,
    popup_trouble: Option<&str>,
    now: DateTime<Utc>,
    t: &Texts,
) -> TrayView {
    let local = |d: DateTime<Utc>| d.with_timezone(&Local).format("%H:%M").to_string();
    let day = |d: DateTime<Utc>| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string();
    let mut lines = vec!["Herald".to_owned()];
    let unreachable = sync.failures > 0;
    if unreachable {
        // Since the first failure after the last success: the last attempt
        // is all the store keeps, so say when it was last tried.
        let since = sync.last_success.or(sync.last_attempt);
        lines.push(match since {
            Some(d) => format!("{} {}", t.unreachable_since, day(d)),
            None => t.unreachable_since.trim_end().to_owned(),
        });
    } else {
        lines.push(match sync.last_success {
            Some(d) => format!("{}: {}", t.last_contact, day(d)),
            None => t.never_contacted.to_owned(),
        });
    }
    if waiting > 0 {
        lines.push(t.waiting_count(waiting));
    }
    if let Some(reason) = popup_trouble {
        lines.push(format!("{}: {reason}", t.cannot_show));
    }
    if let Some(until) = dnd_until.filter(|u| *u > now) {
        lines.push(format!("{} {}", t.dnd_until, local(until)));
    }
    let state = if unreachable {
        TrayState::Unreachable
    } else if waiting > 0 {
        TrayState::Waiting
    } else {
        TrayState::Normal
    };
    TrayView {
        state,
        tooltip: lines.join("\n"),
    }
}

/// Side of the square icon, in pixels.
pub const ICON_SIZE: u32 = 32;

/// The icon for a state, as RGBA rows. Drawn here so that no image file
/// has to ship and the states differ by shape, not only by colour: a plain
/// disc, a disc with a badge, a hollow ring with a bar.
pub fn icon_rgba(state: TrayState) -> Vec<u8> {
    let n = ICON_SIZE as i32;
    let c = (n - 1) as f32 / 2.0;
    let mut px = Vec::with_capacity((n * n * 4) as usize);
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let r = (dx * dx + dy * dy).sqrt();
            let rgba: [u8; 4] = match state {
                TrayState::Normal if r <= 14.0 => [0x1f, 0x5f, 0xa8, 0xff],
                TrayState::Waiting => {
                    let (bx, by) = (x as f32 - 24.0, y as f32 - 7.0);
                    if (bx * bx + by * by).sqrt() <= 6.5 {
                        [0xd3, 0x2f, 0x2f, 0xff]
                    } else if r <= 14.0 {
                        [0xe0, 0x8a, 0x00, 0xff]
                    } else {
                        [0, 0, 0, 0]
                    }
                }
                TrayState::Unreachable if (10.0..=14.0).contains(&r) => [0x70, 0x70, 0x70, 0xff],
                TrayState::Unreachable if dx.abs() <= 7.0 && dy.abs() <= 2.0 => {
                    [0x70, 0x70, 0x70, 0xff]
                }
                _ => [0, 0, 0, 0],
            };
            px.extend_from_slice(&rgba);
        }
    }
    px
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
    }

    #[test]
    fn states_follow_contact_and_waiting() {
        let t = Locale::En.texts();
        let mut sync = Contacts::default();
        let v = view(&sync, 0, None, None, at(0), t);
        assert_eq!(v.state, TrayState::Normal);
        assert!(v.tooltip.contains("No contact"), "{}", v.tooltip);

        sync.last_success = Some(at(-60));
        let v = view(&sync, 2, None, None, at(0), t);
        assert_eq!(v.state, TrayState::Waiting);
        assert!(v.tooltip.contains("Last contact with the server: "));
        assert!(v.tooltip.contains("2 messages waiting"));

        sync.failures = 3;
        let v = view(&sync, 2, Some(at(3600)), None, at(0), t);
        assert_eq!(v.state, TrayState::Unreachable);
        assert!(v.tooltip.contains("Cannot reach the server since"));
        assert!(v.tooltip.contains("Do not disturb until"));
        // An ended do-not-disturb is not mentioned.
        assert!(!view(&sync, 0, Some(at(-1)), None, at(0), t)
            .tooltip
            .contains("disturb"));
    }

    #[test]
    fn a_popup_that_cannot_start_is_in_the_tooltip() {
        let t = Locale::En.texts();
        let sync = Contacts {
            last_success: Some(at(-60)),
            ..Contacts::default()
        };
        let v = view(&sync, 1, None, Some("no display"), at(0), t);
        assert_eq!(v.state, TrayState::Waiting);
        assert!(
            v.tooltip.contains("Messages cannot be shown: no display"),
            "{}",
            v.tooltip
        );
    }

    #[test]
    fn icons_are_square_rgba_and_differ() {
        let icons: Vec<Vec<u8>> = [
            TrayState::Normal,
            TrayState::Waiting,
            TrayState::Unreachable,
        ]
        .into_iter()
        .map(icon_rgba)
        .collect();
        for i in &icons {
            assert_eq!(i.len(), (ICON_SIZE * ICON_SIZE * 4) as usize);
            assert!(i.chunks(4).any(|p| p[3] == 0xff));
        }
        assert_ne!(icons[0], icons[1]);
        assert_ne!(icons[1], icons[2]);
    }
}
