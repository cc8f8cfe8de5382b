//! Message bodies: Markdown in, sanitized HTML out. A body comes from the
//! server and is shown in a web view, so nothing in it may run or load:
//! raw HTML is shown as text, then the result is cleaned with an allow-list
//! (no scripts, no event handlers, no images or other remote content, links
//! only to http, https and mailto).

use pulldown_cmark::{Event, Options, Parser};

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
        .link_rel(Some("noopener noreferrer"))
        .clean(&html)
        .to_string()
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
