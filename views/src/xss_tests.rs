//! The hostile corpus (`tests/data/xss.txt`) through the renderer and the
//! popup page: nothing that could run or load survives. The same corpus
//! goes to the real popup and history window in the end-to-end tests.

use chrono::{DateTime, Utc};
use herald_protocol::Severity;

use crate::i18n::Locale;
use crate::popup::{page, PopupRequest};
use crate::render::body_html;

const CORPUS: &str = include_str!("../../tests/data/xss.txt");
const JS: &str = "window.ipc.postMessage('xss-ran')";

pub fn payloads() -> Vec<String> {
    CORPUS
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("{JS}", JS))
        .collect()
}

/// Tags the rendered HTML may hold, and the attributes they may carry.
const TAGS: &[&str] = &[
    "p",
    "a",
    "em",
    "strong",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "br",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "del",
];

/// Every tag in `html` as (name, attributes text); `<` followed by
/// anything but a letter or `/` is text.
fn tags(html: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let rest_tag = rest.strip_prefix('/').unwrap_or(rest);
        if !rest_tag.starts_with(|c: char| c.is_ascii_alphabetic()) {
            continue;
        }
        let end = rest_tag.find('>').unwrap_or(rest_tag.len());
        let inner = &rest_tag[..end];
        let name_len = inner
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(inner.len());
        out.push((
            inner[..name_len].to_ascii_lowercase(),
            inner[name_len..].to_owned(),
        ));
    }
    out
}

/// The attributes of a tag: (key, value), values unquoted.
fn attributes(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.trim_end_matches('/').chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let key: String =
            std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=')).collect();
        if key.is_empty() {
            return out;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            match chars.peek().copied() {
                Some(q @ ('"' | '\'')) => {
                    chars.next();
                    value = std::iter::from_fn(|| chars.next_if(|c| *c != q)).collect();
                    chars.next();
                }
                _ => value = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect(),
            }
        }
        out.push((key.to_ascii_lowercase(), value));
    }
}

fn assert_inert(html: &str, payload: &str) {
    for (name, attrs) in tags(html) {
        assert!(
            TAGS.contains(&name.as_str()),
            "<{name}> survived {payload:?}: {html}"
        );
        for (key, value) in attributes(&attrs) {
            assert!(
                ["href", "title", "rel", "align", "start"].contains(&key.as_str()),
                "attribute {key:?} survived {payload:?}: {html}"
            );
            if key == "href" {
                assert!(
                    ["http://", "https://", "mailto:"]
                        .iter()
                        .any(|s| value.to_ascii_lowercase().starts_with(s)),
                    "link target {value:?} survived {payload:?}: {html}"
                );
            }
        }
    }
}

#[test]
fn the_corpus_is_large_and_varied() {
    let p = payloads();
    assert!(p.len() >= 100, "{} payloads", p.len());
    for needle in [
        "<script",
        "onerror",
        "javascript:",
        "data:",
        "vbscript:",
        "<svg",
        "<math",
        "expression(",
        "&#",
        "\u{202e}",
        "\u{200b}",
    ] {
        assert!(
            p.iter().any(|x| x.contains(needle)),
            "no payload with {needle}"
        );
    }
}

#[test]
fn no_payload_survives_the_renderer_as_body_or_link() {
    for p in payloads() {
        for markdown in [
            p.clone(),
            format!("[link]({p})"),
            format!("<{p}>"),
            format!("- {p}\n- [x]({p})"),
        ] {
            assert_inert(&body_html(&markdown), &p);
        }
    }
}

#[test]
fn no_payload_in_title_or_sender_becomes_markup_in_the_popup() {
    let t = DateTime::<Utc>::from_timestamp(1_800_000_000, 0).unwrap();
    for p in payloads() {
        let mut req = PopupRequest {
            id: "m".into(),
            revision: 1,
            severity: Severity::Alert,
            title: p.clone(),
            body_markdown: p.clone(),
            sender: p.clone(),
            revised_at: t,
            valid_from: t,
            valid_until: t,
            locale: Locale::En,
            review: false,
        };
        req.body_markdown = String::new();
        let hostile = tags(&page(&req, "n0nce"));
        req.title = "benign".into();
        req.sender = "benign".into();
        // Title and sender are text: the page has the same tags as with
        // harmless ones. (The body is the renderer's, tested above.)
        assert_eq!(hostile, tags(&page(&req, "n0nce")), "{p:?}");
    }
}
