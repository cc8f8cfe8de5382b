//! Message bodies: Markdown in, sanitized HTML out. A body comes from the
//! server and is shown in a web view, so nothing in it may run or load:
//! raw HTML is shown as text, then the result is cleaned with an allow-list
//! (no scripts, no event handlers, no images or other remote content, links
//! only to http, https and mailto).

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

/// Renders a message body to HTML that is safe to put in a page.
pub fn body_html(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    // Raw HTML in the Markdown becomes literal text: the sender meant it to
    // be read, and this keeps it out of the sanitizer's hands altogether.
    let events = Parser::new_ext(markdown, options).map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Event::Text(h),
        other => other,
    });
    let mut html = String::with_capacity(markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, events);
    ammonia::Builder::default()
        .rm_tags(["img"])
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        // A relative link has nothing to point at in a popup; left in, a
        // click would navigate the page.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        .clean(&html)
        .to_string()
}

/// Renders a message body to plain text, for the native dialog that shows
/// a message when no web engine can: paragraphs, list bullets and link
/// targets survive; markup and raw HTML show as the text they contain.
/// Lines end with CRLF, as a Windows edit control needs.
pub fn body_text(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let mut out = String::with_capacity(markdown.len());
    let mut links: Vec<String> = Vec::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    let block_break = |out: &mut String| {
        let trimmed = out.trim_end_matches([' ', '\r', '\n']).len();
        if trimmed > 0 {
            out.truncate(trimmed);
            out.push_str("\n\n");
        }
    };
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&t);
            }
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => {
                block_break(&mut out);
                out.push_str("----\n\n");
            }
            Event::Start(Tag::List(start)) => {
                lists.push(start);
                block_break(&mut out);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                block_break(&mut out);
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                let depth = lists.len().saturating_sub(1);
                out.push_str(&"  ".repeat(depth));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("\u{2022} "),
                }
            }
            Event::Start(Tag::Link { dest_url, .. }) => links.push(dest_url.to_string()),
            Event::End(TagEnd::Link) => {
                if let Some(url) = links.pop().filter(|u| !out.ends_with(u.as_str())) {
                    out.push_str(&format!(" <{url}>"));
                }
            }
            Event::End(TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::CodeBlock)
            | Event::End(TagEnd::Table | TagEnd::BlockQuote(_)) => block_break(&mut out),
            Event::End(TagEnd::TableCell) => out.push('\t'),
            Event::End(TagEnd::TableRow | TagEnd::TableHead) => out.push('\n'),
            _ => {}
        }
    }
    let text = out.trim_end().to_owned();
    // Only CR and LF shape the text; other control characters would show as
    // boxes or be taken as commands by the control.
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .replace('\n', "\r\n")
}

/// Escapes text for an HTML text node or a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_keeps_paragraphs_bullets_and_link_targets() {
        let text = body_text(
            "Leave by the **nearest exit**.\nNow.\n\n- one\n- two\n\n1. first\n2. second\n\nSee [the plan](https://x.example/plan).",
        );
        assert_eq!(
            text,
            "Leave by the nearest exit. Now.\r\n\r\n\u{2022} one\r\n\u{2022} two\r\n\r\n1. first\r\n2. second\r\n\r\nSee the plan <https://x.example/plan>."
        );
    }

    #[test]
    fn plain_text_shows_html_as_text_and_drops_control_characters() {
        let text = body_text("<script>alert(1)</script>\n\nbell\u{7} here");
        assert!(text.contains("<script>alert(1)</script>"), "{text}");
        assert!(text.ends_with("bell here"), "{text:?}");
        assert_eq!(body_text("<https://a.example>"), "https://a.example");
    }

    #[test]
    fn markdown_is_rendered() {
        let html =
            body_html("**Mail** is *down*.\n\n- one\n- two\n\n[status](https://status.example)");
        assert!(html.contains("<strong>Mail</strong>"), "{html}");
        assert!(html.contains("<li>two</li>"), "{html}");
        assert!(html.contains(r#"href="https://status.example""#), "{html}");
        assert!(html.contains("noopener"), "{html}");
    }

    #[test]
    fn scripts_and_handlers_never_survive() {
        let attacks = [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "[click](javascript:alert(1))",
            "[click](JaVaScRiPt:alert(1))",
            "<a href=\"javascript:alert(1)\">x</a>",
            "<iframe src=\"https://evil.example\"></iframe>",
            "![pixel](https://tracker.example/p.gif)",
            "<svg onload=alert(1)>",
            "[x](data:text/html;base64,PHNjcmlwdD4=)",
            "<style>body{display:none}</style>",
        ];
        for a in attacks {
            let html = body_html(a).to_ascii_lowercase();
            for tag in tags(&html) {
                let name = tag.split_whitespace().next().unwrap_or("");
                assert!(
                    ["p", "/p", "a", "/a"].contains(&name),
                    "{a:?} left the tag <{tag}>"
                );
                assert!(!tag.contains(" on"), "{a:?} left a handler in <{tag}>");
                assert!(
                    !tag.contains("javascript:") && !tag.contains("data:"),
                    "{a:?} left <{tag}>"
                );
            }
        }
        // Raw HTML is shown, not dropped: the user sees what was sent.
        assert!(body_html("<script>alert(1)</script>").contains("&lt;script&gt;"));
    }

    /// The insides of the real tags of a piece of HTML (text is escaped, so
    /// every `<` starts a tag).
    fn tags(html: &str) -> Vec<&str> {
        html.split('<')
            .skip(1)
            .map(|t| t.split('>').next().unwrap_or(""))
            .collect()
    }

    #[test]
    fn escape_covers_attribute_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
