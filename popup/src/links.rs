//! Links in a message open in the default browser or mail program, never
//! in the popup, and only those three schemes: the body parser keeps no
//! other, and this checks again at the last moment.

/// Whether `url` may leave the popup.
pub fn allowed(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["http://", "https://", "mailto:"]
        .iter()
        .any(|s| lower.starts_with(s))
}

pub fn open_outside(url: &str) {
    if !allowed(url) {
        return;
    }
    if let Err(e) = open::that_detached(url) {
        eprintln!("herald-popup: cannot open {url}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::allowed;

    #[test]
    fn only_web_and_mail_links_leave() {
        for ok in [
            "https://intranet.example/vpn",
            "HTTP://x.example",
            "mailto:it@example.com",
        ] {
            assert!(allowed(ok), "{ok}");
        }
        for no in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,x",
            " https://x",
            "smb://host/share",
            "",
        ] {
            assert!(!allowed(no), "{no}");
        }
    }
}
