//! The languages the desktop's user reads, best first: which version of a
//! message they see.

/// In the order the UI's words are chosen: gettext's `LANGUAGE` list, then
/// `LC_ALL`, `LC_MESSAGES`, `LANG`; on Windows the user's UI language
/// comes first. Values as the environment writes them (`de_CH.UTF-8`);
/// `herald_protocol::content::pick` reads them.
pub fn desktop_languages() -> Vec<String> {
    let mut out = windows_ui_language().into_iter().collect::<Vec<_>>();
    out.extend(from_env(|v| std::env::var(v).ok()));
    out
}

/// The environment's part, given a lookup (tests pass their own).
pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut out: Vec<String> = var("LANGUAGE")
        .map(|l| l.split(':').map(str::to_owned).collect())
        .unwrap_or_default();
    out.extend(
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| var(v)),
    );
    out.retain(|v| !v.trim().is_empty());
    out
}

#[cfg(windows)]
#[allow(unsafe_code)]
fn windows_ui_language() -> Option<String> {
    use windows_sys::Win32::Globalization::GetUserDefaultLocaleName;
    const LOCALE_NAME_MAX_LENGTH: usize = 85;
    let mut buf = [0u16; LOCALE_NAME_MAX_LENGTH];
    // SAFETY: the buffer is as long as we say; the call writes at most that
    // many UTF-16 units, the terminating NUL included, and returns how many.
    let n = unsafe { GetUserDefaultLocaleName(buf.as_mut_ptr(), buf.len() as i32) };
    let n = usize::try_from(n).ok()?.checked_sub(1)?;
    let name = String::from_utf16(buf.get(..n)?).ok()?;
    (!name.is_empty()).then_some(name)
}

#[cfg(not(windows))]
fn windows_ui_language() -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_the_ui_order() {
        let env = |v: &str| match v {
            "LANGUAGE" => Some("fr_CA:en".to_owned()),
            "LC_ALL" => Some(String::new()),
            "LANG" => Some("de_DE.UTF-8".to_owned()),
            _ => None,
        };
        assert_eq!(from_env(env), vec!["fr_CA", "en", "de_DE.UTF-8"]);
        assert!(from_env(|_| None).is_empty());
    }
}
