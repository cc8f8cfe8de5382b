//! What a message carries beyond one title and body: other languages,
//! answers to choose from, fullscreen, a sound; and which language a
//! desktop shows.

use serde::{Deserialize, Serialize};

/// At most this many answers; a message that asks for answers offers at
/// least `MIN_ANSWERS`.
pub const MAX_ANSWERS: usize = 5;
pub const MIN_ANSWERS: usize = 2;
/// An answer's label, in characters.
pub const MAX_ANSWER_CHARS: usize = 60;
/// Versions of one message, the default one included.
pub const MAX_VERSIONS: usize = 20;

/// The content this side understands, sent by agents in their polls: an
/// agent that sends none predates languages and answers, and gets each
/// message's default version in the fields it knows.
pub const CONTENT_VERSION: u32 = 1;

/// One more language of a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Translation {
    /// A BCP 47 tag: `fr`, `de-CH`.
    pub lang: String,
    pub title: String,
    /// Markdown, as the default body.
    pub body: String,
    /// The answers' labels in this language, in the default version's
    /// order; absent ones show the default label.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
}

crate::enums::text_enum!(
    /// How a message appears: `popup`, a window beside the others (an
    /// alert's centred), or `fullscreen`, every monitor covered until it
    /// is read or answered (alerts only).
    Display, "display", { Popup => "popup", Fullscreen => "fullscreen" }
);

crate::enums::text_enum!(
    /// What an appearing message plays: nothing, or the desktop's alert
    /// sound once.
    Sound, "sound", { None => "none", Alert => "alert" }
);

// text_enum! derives no Default, and a variant cannot take #[default]
// through it.
#[allow(clippy::derivable_impls)]
impl Default for Display {
    fn default() -> Self {
        Display::Popup
    }
}

#[allow(clippy::derivable_impls)]
impl Default for Sound {
    fn default() -> Self {
        Sound::None
    }
}

impl Display {
    pub fn is_popup(&self) -> bool {
        *self == Display::Popup
    }
}

impl Sound {
    pub fn is_none(&self) -> bool {
        *self == Sound::None
    }
}

/// Everything a message may carry besides its default title and body, as
/// the agent, the API and the relay exchange all write it (flattened into
/// the message). All default: a message as before languages and answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Extras {
    /// The default version's language; absent: not said (taken as the
    /// server's language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The other versions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub translations: Vec<Translation>,
    /// 2 to 5 answers offered instead of "I have read the message", in the
    /// default language. Choosing one is reading, with a receipt `answered`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<String>,
    #[serde(default, skip_serializing_if = "Display::is_popup")]
    pub display: Display,
}

impl Extras {
    pub fn is_plain(&self) -> bool {
        *self == Extras::default()
    }
}

/// The extras and the sound in words, one part each (`languages en,fr`,
/// `answers "Yes" / "No"`, `fullscreen`, `sound alert`): what the audit
/// and the CLI's list say of a message.
pub fn describe(x: &Extras, sound: Sound) -> Vec<String> {
    let mut parts = Vec::new();
    if !x.translations.is_empty() {
        let langs: Vec<&str> = x
            .lang
            .iter()
            .map(String::as_str)
            .chain(x.translations.iter().map(|t| t.lang.as_str()))
            .collect();
        parts.push(format!("languages {}", langs.join(",")));
    }
    if !x.answers.is_empty() {
        parts.push(format!("answers \"{}\"", x.answers.join("\" / \"")));
    }
    if !x.display.is_popup() {
        parts.push(x.display.as_str().to_owned());
    }
    if !sound.is_none() {
        parts.push(format!("sound {}", sound.as_str()));
    }
    parts
}

/// The version of a message one desktop shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version<'a> {
    /// Its tag; `None`: the default version, whose language is not said.
    pub lang: Option<&'a str>,
    pub title: &'a str,
    pub body: &'a str,
    /// The answers' labels, as many as the message has.
    pub answers: Vec<&'a str>,
}

/// Picks the version for a desktop whose languages are `prefs`, best
/// first, as the locale variables write them (`de_CH.UTF-8`, `fr`, `C`):
/// for each, an exact tag, then the same primary language; else the
/// default. A user who asks for `fr_CA` then `en` reads `fr` before `en`.
pub fn pick<'a>(title: &'a str, body: &'a str, x: &'a Extras, prefs: &[String]) -> Version<'a> {
    let default = Version {
        lang: x.lang.as_deref(),
        title,
        body,
        answers: x.answers.iter().map(String::as_str).collect(),
    };
    if x.translations.is_empty() {
        return default;
    }
    let tags: Vec<(Option<&str>, usize)> = std::iter::once((x.lang.as_deref(), usize::MAX))
        .chain(
            x.translations
                .iter()
                .enumerate()
                .map(|(i, t)| (Some(t.lang.as_str()), i)),
        )
        .collect();
    for pref in prefs.iter().filter_map(|p| tag_of_locale(p)) {
        let exact = tags
            .iter()
            .find(|(t, _)| t.is_some_and(|t| t.eq_ignore_ascii_case(&pref)));
        let primary = || {
            tags.iter().find(|(t, _)| {
                t.is_some_and(|t| primary_of(t).eq_ignore_ascii_case(primary_of(&pref)))
            })
        };
        if let Some((_, i)) = exact.or_else(primary) {
            return match x.translations.get(*i) {
                None => default,
                Some(t) => Version {
                    lang: Some(&t.lang),
                    title: &t.title,
                    body: &t.body,
                    answers: x
                        .answers
                        .iter()
                        .enumerate()
                        .map(|(n, d)| t.answers.get(n).map_or(d.as_str(), String::as_str))
                        .collect(),
                },
            };
        }
    }
    default
}

/// `de_CH.UTF-8@euro` → `de-CH`; `C` and `POSIX` name no language.
pub fn tag_of_locale(locale: &str) -> Option<String> {
    let base = locale.split(['.', '@']).next()?.trim();
    if base.is_empty() || base == "C" || base == "POSIX" {
        return None;
    }
    Some(base.replace('_', "-"))
}

fn primary_of(tag: &str) -> &str {
    tag.split('-').next().unwrap_or(tag)
}

/// Whether `tag` is written as a BCP 47 language tag: a 2–3 letter
/// language, then subtags of 1–8 letters or digits.
pub fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let lang = parts.next().unwrap_or("");
    (2..=3).contains(&lang.len())
        && lang.chars().all(|c| c.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn three() -> Extras {
        Extras {
            lang: Some("en".into()),
            translations: vec![
                Translation {
                    lang: "fr".into(),
                    title: "Alerte".into(),
                    body: "Sortez".into(),
                    answers: vec!["Je suis en sécurité".into()],
                },
                Translation {
                    lang: "de-CH".into(),
                    title: "Alarm".into(),
                    body: "Raus".into(),
                    answers: vec!["Ich bin sicher".into(), "Ich brauche Hilfe".into()],
                },
            ],
            answers: vec!["I am safe".into(), "I need help".into()],
            display: Display::Popup,
        }
    }

    fn shown(prefs: &[&str]) -> (Option<String>, Vec<String>) {
        let x = three();
        let prefs: Vec<String> = prefs.iter().map(|s| s.to_string()).collect();
        let v = pick("Alert", "Leave", &x, &prefs);
        (
            v.lang.map(str::to_owned),
            v.answers.iter().map(|s| s.to_string()).collect(),
        )
    }

    #[test]
    fn each_desktop_reads_its_language() {
        assert_eq!(shown(&["fr_FR.UTF-8"]).0.as_deref(), Some("fr"));
        assert_eq!(shown(&["de_CH.UTF-8"]).0.as_deref(), Some("de-CH"));
        // The primary language: a German in Germany reads the Swiss version.
        assert_eq!(shown(&["de_DE.UTF-8"]).0.as_deref(), Some("de-CH"));
        assert_eq!(shown(&["it_IT.UTF-8"]).0.as_deref(), Some("en"));
        assert_eq!(shown(&["C", "fr"]).0.as_deref(), Some("fr"));
        assert_eq!(shown(&[]).0.as_deref(), Some("en"));
        // In the user's order, each with its primary language first.
        assert_eq!(shown(&["fr_CA", "en"]).0.as_deref(), Some("fr"));
        assert_eq!(shown(&["EN_gb", "fr"]).0.as_deref(), Some("en"));
    }

    #[test]
    fn a_missing_answer_label_falls_back_to_the_default() {
        assert_eq!(
            shown(&["fr"]).1,
            vec!["Je suis en sécurité".to_owned(), "I need help".to_owned()]
        );
        assert_eq!(
            shown(&["de-CH"]).1,
            vec!["Ich bin sicher", "Ich brauche Hilfe"]
        );
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fr", "de-CH", "zh-Hant-TW", "ast"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "english",
            "de_CH",
            "fr-",
            "<b>",
            "de-CH-toolongsubtag",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
        assert_eq!(tag_of_locale("de_CH.UTF-8@euro").as_deref(), Some("de-CH"));
        assert_eq!(tag_of_locale("POSIX"), None);
    }

    #[test]
    fn plain_extras_are_not_written() {
        assert_eq!(serde_json::to_string(&Extras::default()).unwrap(), "{}");
        assert_eq!("FullScreen".parse(), Ok(Display::Fullscreen));
        assert_eq!("alert".parse(), Ok(Sound::Alert));
        assert_eq!(
            serde_json::to_value(Display::Fullscreen).unwrap(),
            "fullscreen"
        );
    }
}
