//! Message bodies: rendered to HTML for the web popup and to text for the
//! native one. Never a panic, and never a script in the HTML.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = std::str::from_utf8(data) else {
        return;
    };
    let html = herald_agent::render::body_html(body).to_ascii_lowercase();
    assert!(!html.contains("<script"), "script in {html}");
    assert!(
        !html.contains("href=\"javascript:"),
        "javascript: link in {html}"
    );
    let _ = herald_agent::render::body_text(body);
});
