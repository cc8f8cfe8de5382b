//! A message's languages, answers, display and sound: what a sender may
//! give, checked before it is stored, and how the database keeps it.

use herald_protocol::content::{is_language_tag, MAX_ANSWER_CHARS, MAX_VERSIONS, MIN_ANSWERS};
use herald_protocol::{Display, Extras, Severity, Sound, MAX_ANSWERS};

use super::{check_body, check_title};
use crate::error::Error;

/// The default version's language when a message with several does not
/// name it.
pub const DEFAULT_LANG: &str = "en";

/// Checks and tidies `x` for a message of `severity`: tags well formed and
/// distinct, every translation's title and body within bounds, 2 to 5
/// answers with a label in every language, fullscreen for alerts only.
pub fn check(mut x: Extras, severity: Severity) -> Result<Extras, Error> {
    if let Some(lang) = &x.lang {
        let lang = lang.trim();
        x.lang = (!lang.is_empty()).then(|| lang.to_owned());
    }
    if x.lang.is_none() && !x.translations.is_empty() {
        x.lang = Some(DEFAULT_LANG.to_owned());
    }
    if x.translations.len() + 1 > MAX_VERSIONS {
        return Err(Error::bad(format!(
            "more than {MAX_VERSIONS} languages in one message"
        )));
    }
    let mut seen: Vec<String> = Vec::new();
    for lang in x.lang.iter().chain(x.translations.iter().map(|t| &t.lang)) {
        let lang = lang.trim();
        if !is_language_tag(lang) {
            return Err(Error::bad(format!(
                "'{lang}' is not a language tag: write it as en, fr or de-CH"
            )));
        }
        let key = lang.to_ascii_lowercase();
        if seen.contains(&key) {
            return Err(Error::bad(format!("language '{lang}' given twice")));
        }
        seen.push(key);
    }
    x.answers = check_answers(&x.answers, "the default language")?;
    let n = x.answers.len();
    for t in &mut x.translations {
        t.lang = t.lang.trim().to_owned();
        t.title = check_title(&t.title).map_err(|e| in_lang(e, &t.lang))?;
        check_body(&t.body).map_err(|e| in_lang(e, &t.lang))?;
        if n == 0 && !t.answers.is_empty() {
            return Err(Error::bad(format!(
                "answers in '{}' but none in the default language",
                t.lang
            )));
        }
        if n > 0 && t.answers.len() != n {
            return Err(Error::bad(format!(
                "{} answers in '{}', {n} in the default language: give each answer in every language",
                t.answers.len(),
                t.lang
            )));
        }
        t.answers = check_answers(&t.answers, &t.lang)?;
    }
    if x.display == Display::Fullscreen && severity != Severity::Alert {
        return Err(Error::bad("fullscreen is for alerts only"));
    }
    Ok(x)
}

fn in_lang(e: Error, lang: &str) -> Error {
    match e {
        Error::BadRequest(m) => Error::bad(format!("{m} (in '{lang}')")),
        other => other,
    }
}

fn check_answers(answers: &[String], lang: &str) -> Result<Vec<String>, Error> {
    if answers.is_empty() {
        return Ok(Vec::new());
    }
    if !(MIN_ANSWERS..=MAX_ANSWERS).contains(&answers.len()) {
        return Err(Error::bad(format!(
            "{} answers: give {MIN_ANSWERS} to {MAX_ANSWERS}, or none",
            answers.len()
        )));
    }
    answers
        .iter()
        .map(|a| {
            let a = a.trim();
            if a.is_empty() {
                return Err(Error::bad(format!("an empty answer in {lang}")));
            }
            if a.chars().count() > MAX_ANSWER_CHARS {
                return Err(Error::bad(format!(
                    "answer '{a}' is longer than {MAX_ANSWER_CHARS} characters"
                )));
            }
            Ok(a.to_owned())
        })
        .collect()
}

/// An alert rings unless the sender says otherwise; nothing else does.
pub fn sound_or_default(sound: Option<Sound>, severity: Severity) -> Sound {
    sound.unwrap_or(if severity == Severity::Alert {
        Sound::Alert
    } else {
        Sound::None
    })
}

/// The column's value: NULL for a message without extras.
pub fn to_column(x: &Extras) -> Option<String> {
    (!x.is_plain()).then(|| serde_json::to_string(x).unwrap_or_default())
}

/// Only this module writes the column, from `Extras`.
pub fn from_column(text: Option<String>) -> Extras {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default()
}

/// What changed in the extras, in words, for the message's history.
pub fn describe(before: &Extras, after: &Extras, said: &mut Vec<String>) {
    let langs = |x: &Extras| -> Vec<(String, String, String, Vec<String>)> {
        x.translations
            .iter()
            .map(|t| {
                (
                    t.lang.clone(),
                    t.title.clone(),
                    t.body.clone(),
                    t.answers.clone(),
                )
            })
            .collect()
    };
    let (b, a) = (langs(before), langs(after));
    for t in &a {
        match b.iter().find(|o| o.0 == t.0) {
            None => said.push(format!("language {} added", t.0)),
            Some(o) if o != t => said.push(format!("language {}", t.0)),
            Some(_) => {}
        }
    }
    for o in &b {
        if !a.iter().any(|t| t.0 == o.0) {
            said.push(format!("language {} removed", o.0));
        }
    }
    if before.answers != after.answers {
        said.push(format!("answers: {}", after.answers.join(" / ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_protocol::Translation;

    fn fr(answers: &[&str]) -> Translation {
        Translation {
            lang: "fr".into(),
            title: "Exercice".into(),
            body: "Sortez".into(),
            answers: answers.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn a_good_message_passes_and_takes_a_default_language() {
        let x = Extras {
            translations: vec![fr(&["Oui", "Non"])],
            answers: vec![" Yes ".into(), "No".into()],
            ..Extras::default()
        };
        let x = check(x, Severity::Info).unwrap();
        assert_eq!(x.lang.as_deref(), Some("en"));
        assert_eq!(x.answers, vec!["Yes", "No"]);
    }

    #[test]
    fn bad_extras_are_refused_with_a_reason() {
        let two = || vec!["Yes".to_string(), "No".to_string()];
        let cases: Vec<(Extras, Severity, &str)> = vec![
            (
                Extras {
                    answers: vec!["Only".into()],
                    ..Extras::default()
                },
                Severity::Info,
                "give 2 to 5",
            ),
            (
                Extras {
                    answers: vec!["a".into(); 6],
                    ..Extras::default()
                },
                Severity::Info,
                "give 2 to 5",
            ),
            (
                Extras {
                    answers: vec!["a".into(), " ".into()],
                    ..Extras::default()
                },
                Severity::Info,
                "empty answer",
            ),
            (
                Extras {
                    answers: two(),
                    translations: vec![fr(&["Oui"])],
                    ..Extras::default()
                },
                Severity::Info,
                "every language",
            ),
            (
                Extras {
                    translations: vec![fr(&["Oui", "Non"])],
                    ..Extras::default()
                },
                Severity::Info,
                "none in the default",
            ),
            (
                Extras {
                    lang: Some("fr".into()),
                    translations: vec![fr(&[])],
                    ..Extras::default()
                },
                Severity::Info,
                "given twice",
            ),
            (
                Extras {
                    lang: Some("french".into()),
                    ..Extras::default()
                },
                Severity::Info,
                "not a language tag",
            ),
            (
                Extras {
                    display: Display::Fullscreen,
                    ..Extras::default()
                },
                Severity::Warning,
                "alerts only",
            ),
            (
                Extras {
                    translations: vec![Translation {
                        title: " ".into(),
                        ..fr(&[])
                    }],
                    ..Extras::default()
                },
                Severity::Info,
                "empty title (in 'fr')",
            ),
        ];
        for (x, severity, want) in cases {
            let err = check(x.clone(), severity).unwrap_err().to_string();
            assert!(err.contains(want), "{x:?}: {err}");
        }
    }

    #[test]
    fn alerts_ring_by_default() {
        assert_eq!(sound_or_default(None, Severity::Alert), Sound::Alert);
        assert_eq!(sound_or_default(None, Severity::Warning), Sound::None);
        assert_eq!(
            sound_or_default(Some(Sound::None), Severity::Alert),
            Sound::None
        );
        assert_eq!(
            from_column(to_column(&Extras::default())),
            Extras::default()
        );
    }
}
