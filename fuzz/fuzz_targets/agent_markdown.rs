//! Message bodies: rendered to HTML for the web popup and to text for the
//! native one. Never a panic, and never a script in the HTML: no script
//! element, no event handler, no `javascript:` link in any real tag (text
//! that merely reads like one is escaped, so its `<` is `&lt;`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let html = herald_agent::render::body_html(body).to_ascii_lowercase();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let name = tag.split_whitespace().next().unwrap_or("");
        assert_ne!(name, "script", "script element in {html}");
        assert!(!tag.contains("javascript:"), "javascript: in <{tag}> of {html}");
        assert!(
            !tag.split_whitespace().any(|attr| attr.starts_with("on")),
            "event handler in <{tag}> of {html}"
        );
    }
    let _ = herald_agent::render::body_text(body);
});
