//! What the agent hands to a popup process and what it gets back, the
//! words a native popup shows (`PopupText`, `NativeView`), and the web
//! popup's page (Windows). The page is built here, without any web engine,
//! so that it can be tested headless; `herald-popup` only puts it in a
//! window.

use chrono::{DateTime, Local, Utc};
use herald_protocol::Severity;
use serde::{Deserialize, Serialize};

use crate::i18n::Locale;
use crate::render::{body_html, body_text, escape};

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
}

/// What the user did, printed by the popup as one word on standard output.
/// A popup that exits without printing one crashed: the message stays due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Read,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Read => "read",
            Outcome::Cancelled => "cancelled",
        }
    }

    pub fn parse(stdout: &str) -> Option<Self> {
        match stdout.trim() {
            "read" => Some(Outcome::Read),
            "cancelled" => Some(Outcome::Cancelled),
            _ => None,
        }
    }
}

/// The popup's IPC messages from the page: the only two things it can say.
pub fn outcome_from_ipc(body: &str) -> Option<Outcome> {
    match body {
        "read" => Some(Outcome::Read),
        "cancel" => Some(Outcome::Cancelled),
        _ => None,
    }
}

/// What a native popup shows around the body, as plain text: the same
/// facts and words as the page. The GTK popup uses it as it is; the
/// Windows dialog through `NativeView`, which adds its access keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PopupText {
    /// "Warning": the word the page's banner upper-cases.
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

    /// The severity word upper case, as the page's banner shows it.
    pub fn banner(&self) -> String {
        self.severity.to_uppercase()
    }

    /// The severity and the title, for a screen reader or a window list.
    pub fn name(&self) -> String {
        format!("{} - {}", self.severity, self.title)
    }
}

/// What the native dialog shows when no web engine can: the same facts as
/// the page, as plain text, with the same two outcomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeView {
    pub window_title: String,
    /// The severity word, upper case, as the page's banner shows it.
    pub banner: String,
    pub title: String,
    /// Plain text with CRLF line ends.
    pub body: String,
    pub from_line: String,
    pub valid_line: String,
    /// The acknowledging control; none when the message is only shown again.
    pub read_label: Option<String>,
    pub close_label: String,
}

impl NativeView {
    pub fn new(req: &PopupRequest) -> Self {
        let text = PopupText::new(req);
        // The dialog puts `&` before an access key; the sender's text has none.
        let plain = |s: &str| s.replace('&', "&&");
        NativeView {
            window_title: text.name(),
            banner: text.banner(),
            title: plain(&text.title),
            body: body_text(&req.body_markdown),
            from_line: plain(&text.from_line),
            valid_line: text.valid_line,
            read_label: text.read_label.map(|l| format!("&{l}")),
            close_label: text.close_label,
        }
    }
}

const STYLE: &str = include_str!("popup.css");

// Icons are inline SVG: no font may lack them, and nothing is loaded.
const ICON_ALERT: &str = r##"<svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M7.9 2h8.2L22 7.9v8.2L16.1 22H7.9L2 16.1V7.9z"/><path fill="#b00020" d="M11 6h2v8h-2zm0 10h2v2h-2z"/></svg>"##;
const ICON_WARNING: &str = r##"<svg viewBox="0 0 24 24" width="22" height="22"><path fill="currentColor" d="M12 2 23 21H1z"/><path fill="#b35c00" d="M11 9h2v6h-2zm0 8h2v2h-2z"/></svg>"##;
const ICON_INFO: &str = r##"<svg viewBox="0 0 24 24" width="22" height="22"><circle fill="currentColor" cx="12" cy="12" r="10"/><path fill="#1f5fa8" d="M11 10h2v8h-2zm0-4h2v2h-2z"/></svg>"##;

/// The whole page. The Content-Security-Policy lets only the page's own
/// script (by nonce) run and forbids every load, so even if the sanitizer
/// missed something, nothing in the body could execute or fetch.
pub fn page(req: &PopupRequest, nonce: &str) -> String {
    let t = req.locale.texts();
    let (class, icon) = match req.severity {
        Severity::Alert => ("alert", ICON_ALERT),
        Severity::Warning => ("warning", ICON_WARNING),
        Severity::Info => ("info", ICON_INFO),
    };
    let when = |d: DateTime<Utc>| d.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string();
    let nonce = escape(nonce);
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'none'; base-uri 'none'">
<title>{title}</title><style>{STYLE}</style></head>
<body class="{class}">
<div class="banner" role="banner"><span class="icon" aria-hidden="true">{icon}</span><span class="word">{word}</span></div>
<main><h1>{title}</h1><div class="body">{body}</div></main>
<footer>
<p class="meta">{from_label} {sender} &middot; {revised}</p>
<p class="meta">{valid_label} {valid_from} &ndash; {valid_until}</p>
<button id="read" type="button">{read}</button>
</footer>
<script nonce="{nonce}">
document.addEventListener('keydown', function (e) {{
  if (e.key === 'Escape') {{ e.preventDefault(); window.ipc.postMessage('cancel'); }}
}});
document.getElementById('read').addEventListener('click', function () {{ window.ipc.postMessage('read'); }});
</script>
</body></html>"#,
        lang = t.lang,
        title = escape(&req.title),
        word = t.severity(req.severity),
        body = body_html(&req.body_markdown),
        from_label = t.from,
        sender = escape(&req.sender),
        revised = when(req.revised_at),
        valid_label = t.valid,
        valid_from = when(req.valid_from),
        valid_until = when(req.valid_until),
        read = escape(if req.review {
            t.close_button
        } else {
            t.read_button
        }),
    )
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
        }
    }

    #[test]
    fn a_review_only_closes() {
        let mut r = req(Locale::De);
        r.review = true;
        let html = page(&r, "n");
        assert!(html.contains(">Schließen</button>"));
        assert!(!html.contains("gelesen"));
    }

    #[test]
    fn the_page_has_one_script_ours_and_escapes_the_rest() {
        let html = page(&req(Locale::En), "n0nce");
        assert_eq!(html.matches("<script").count(), 1, "{html}");
        assert!(html.contains(r#"<script nonce="n0nce">"#));
        assert!(html.contains("script-src 'nonce-n0nce'"));
        assert!(html.contains("Mail &lt;down&gt;"));
        assert!(!html.contains("javascript:"));
        assert!(html.contains(r#"class="warning""#) && html.contains(">Warning<"));
    }

    #[test]
    fn the_page_speaks_the_users_language() {
        assert!(page(&req(Locale::Fr), "n").contains("J&#39;ai lu le message"));
        assert!(page(&req(Locale::De), "n").contains("Ich habe die Nachricht gelesen"));
    }

    #[test]
    fn the_native_view_is_plain_text_with_the_same_choices() {
        let mut r = req(Locale::En);
        r.title = "Salt & pepper".into();
        let v = NativeView::new(&r);
        assert_eq!(v.banner, "WARNING");
        assert_eq!(v.window_title, "Warning - Salt & pepper");
        assert_eq!(v.title, "Salt && pepper");
        assert!(v.body.contains("<script>alert(1)</script>"), "{}", v.body);
        assert!(v.from_line.starts_with("From IT "), "{}", v.from_line);
        assert_eq!(v.read_label.as_deref(), Some("&I have read the message"));
        assert_eq!(v.close_label, "Close");
        r.review = true;
        assert_eq!(NativeView::new(&r).read_label, None);
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
            Outcome::parse(Outcome::Cancelled.as_str()),
            Some(Outcome::Cancelled)
        );
        assert_eq!(Outcome::parse(""), None);
        assert_eq!(outcome_from_ipc("cancel"), Some(Outcome::Cancelled));
        assert_eq!(outcome_from_ipc("rm -rf"), None);
    }
}
