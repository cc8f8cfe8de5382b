//! The hostile corpus (`tests/data/xss.txt`) through the HTML renderer (the
//! history window's and the console's): nothing that could run or load
//! survives. The popup's emitters take the same corpus in `body::tests`;
//! the end-to-end tests send it to the real popup and history window.

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
