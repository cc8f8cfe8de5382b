//! Message bodies: rendered to HTML for the web popup and to text for the
//! native one. Never a panic, and never a script in the HTML: no script
//! element, no event handler, no link or source whose scheme runs code, in
//! any real tag. Text that merely reads like a tag is escaped (its `<` is
//! `&lt;`), and a relative link that contains "javascript:" further on is
//! not a javascript: link: both were harness mistakes found on the way.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let html = herald_views::render::body_html(body).to_ascii_lowercase();
    for tag in html.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or("");
        let name = tag.split_whitespace().next().unwrap_or("");
        assert_ne!(name, "script", "script element in {html}");
        for attr in tag.split_whitespace() {
            let value = ["href=\"", "src=\""]
                .iter()
                .find_map(|p| attr.strip_prefix(p))
                .unwrap_or("");
            for scheme in ["javascript:", "vbscript:", "data:"] {
                assert!(!value.starts_with(scheme), "{scheme} in <{tag}> of {html}");
            }
        }
        assert!(
            !tag.split_whitespace().any(|attr| attr.starts_with("on")),
            "event handler in <{tag}> of {html}"
        );
    }
    let _ = herald_views::render::body_text(body);
});
