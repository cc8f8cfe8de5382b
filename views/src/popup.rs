//! What the agent hands to a popup process and what it gets back, and the
//! words the popup shows around the body (`PopupText`), the same on Linux
//! and Windows.

use chrono::{DateTime, Local, Utc};
use herald_protocol::Severity;
use serde::{Deserialize, Serialize};

use crate::i18n::Locale;

/// Written as JSON on the popup's standard input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopupRequest {
    pub id: String,
    pub revision: u32,
    pub severity: Severity,
    pub title: String,
    pub body_markdown: String,
    pub sender: String,
    pub revised_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub locale: Locale,
    /// Shown again from the history: the button only closes, and what the
    /// user does changes nothing.
    #[serde(default)]
    pub review: bool,
    /// 2 to 5 answers, in the shown language, offered instead of the read
    /// button; the popup prints `answer N` (1-based) for the one chosen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    /// Cover every monitor until the message is read or answered.
    #[serde(default)]
    pub fullscreen: bool,
    /// Play the desktop's alert sound once when the window appears.
    #[serde(default)]
    pub ring: bool,
}

impl PopupRequest {
    /// Escape and the close box leave it open: a fullscreen message that
    /// asks for an answer waits for one.
    pub fn cancellable(&self) -> bool {
        self.review || !self.fullscreen || self.answers.is_empty()
    }
}

/// What the user did, printed by the popup as one word on standard output.
/// A popup that exits without printing one crashed: the message stays due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Read,
    Cancelled,
    /// The answer chosen, 1-based, as the request listed them.
    Answered(u8),
}

impl Outcome {
    /// The line the popup prints.
    pub fn line(self) -> String {
        match self {
            Outcome::Read => "read".to_owned(),
            Outcome::Cancelled => "cancelled".to_owned(),
            Outcome::Answered(n) => format!("answer {n}"),
        }
    }

    pub fn parse(stdout: &str) -> Option<Self> {
        match stdout.trim() {
            "read" => Some(Outcome::Read),
            "cancelled" => Some(Outcome::Cancelled),
            other => {
                let n: u8 = other.strip_prefix("answer ")?.parse().ok()?;
                (1..=herald_protocol::MAX_ANSWERS as u8)
                    .contains(&n)
                    .then_some(Outcome::Answered(n))
            }
        }
    }
}

/// What the popup shows around the body, as plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopupText {
    /// "Warning": the word the banner upper-cases.
    pub severity: String,
    pub title: String,
    pub from_line: String,
    pub valid_line: String,
    /// The acknowledging control; none when the message is only shown again.
    pub read_label: Option<String>,
    pub close_label: String,
}

impl PopupText {
    pub fn new(req: &PopupRequest) -> Self {
        let t = req.locale.texts();
        let when = |d: DateTime<Utc>| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string();
        PopupText {
            severity: t.severity(req.severity).to_owned(),
            title: req.title.clone(),
            from_line: format!("{} {} \u{b7} {}", t.from, req.sender, when(req.revised_at)),
            valid_line: format!(
                "{} {} \u{2013} {}",
                t.valid,
                when(req.valid_from),
                when(req.valid_until)
            ),
            read_label: (!req.review).then(|| t.read_button.to_owned()),
            close_label: t.close_button.to_owned(),
        }
    }

    /// The severity word upper case, as the banner shows it.
    pub fn banner(&self) -> String {
        self.severity.to_uppercase()
    }

    /// The severity and the title, for a screen reader or a window list.
    pub fn name(&self) -> String {
        format!("{} - {}", self.severity, self.title)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(locale: Locale) -> PopupRequest {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        PopupRequest {
            id: "m1".into(),
            revision: 1,
            severity: Severity::Warning,
            title: "Mail <down>".into(),
            body_markdown: "Hello <script>alert(1)</script> [x](javascript:alert(2))".into(),
            sender: "IT".into(),
            revised_at: t,
            valid_from: t,
            valid_until: t,
            locale,
            review: false,
            answers: Vec::new(),
            fullscreen: false,
            ring: false,
        }
    }

    #[test]
    fn the_popup_text_is_plain() {
        let mut r = req(Locale::Fr);
        r.title = "Sel & poivre".into();
        let t = PopupText::new(&r);
        assert_eq!(t.banner(), "AVERTISSEMENT");
        assert_eq!(t.name(), "Avertissement - Sel & poivre");
        assert!(t.from_line.starts_with("De IT "), "{}", t.from_line);
        assert_eq!(t.read_label.as_deref(), Some("J'ai lu le message"));
        r.review = true;
        let t = PopupText::new(&r);
        assert_eq!((t.read_label, t.close_label.as_str()), (None, "Fermer"));
    }

    #[test]
    fn outcomes() {
        assert_eq!(Outcome::parse("read\n"), Some(Outcome::Read));
        assert_eq!(
            Outcome::parse(&Outcome::Cancelled.line()),
            Some(Outcome::Cancelled)
        );
        assert_eq!(Outcome::parse("answer 2\n"), Some(Outcome::Answered(2)));
        assert_eq!(Outcome::parse("answer 0"), None);
        assert_eq!(Outcome::parse("answer 6"), None);
        assert_eq!(Outcome::parse(""), None);
    }
}
