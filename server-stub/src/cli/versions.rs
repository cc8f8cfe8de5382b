//! A message's versions as `send` and `edit` take them: `--title`,
//! `--body` and `--answer` belong to the default version until a `--lang`
//! starts another one, so the command line is read by position.

use anyhow::{bail, Result};
use clap::ArgMatches;
use herald_protocol::Translation;

/// One version as the command line gave it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Given {
    /// `None`: the default version.
    pub lang: Option<String>,
    pub title: Option<String>,
    pub body: Option<String>,
    pub answers: Vec<String>,
}

/// The default version, then each `--lang`'s, in the order given.
pub fn split(m: &ArgMatches) -> Result<(Given, Vec<Given>)> {
    let mut all: Vec<(usize, &str, String)> = Vec::new();
    for id in ["lang", "title", "body", "answer"] {
        // An id the subcommand does not define is simply not given.
        if !m.try_contains_id(id).unwrap_or(false) {
            continue;
        }
        let (Some(indices), Ok(Some(values))) = (m.indices_of(id), m.try_get_many::<String>(id))
        else {
            continue;
        };
        all.extend(indices.zip(values).map(|(i, v)| (i, id, v.clone())));
    }
    all.sort_by_key(|(i, _, _)| *i);
    let mut default = Given::default();
    let mut langs: Vec<Given> = Vec::new();
    for (_, id, value) in all {
        if id == "lang" {
            if langs.iter().any(|g| {
                g.lang
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(&value))
            }) {
                bail!("--lang {value} is given twice");
            }
            langs.push(Given {
                lang: Some(value),
                ..Given::default()
            });
            continue;
        }
        let current = langs.last_mut().unwrap_or(&mut default);
        let name = match &current.lang {
            Some(l) => format!("--lang {l}"),
            None => "the default version".to_owned(),
        };
        let slot = match id {
            "title" => &mut current.title,
            "body" => &mut current.body,
            _ => {
                current.answers.push(value);
                continue;
            }
        };
        if slot.is_some() {
            bail!("--{id} is given twice for {name}");
        }
        *slot = Some(value);
    }
    Ok((default, langs))
}

impl Given {
    /// A new language's version: it needs its own title and body.
    pub fn into_translation(self) -> Result<Translation> {
        let lang = self.lang.unwrap_or_default();
        match (self.title, self.body) {
            (Some(title), Some(body)) => Ok(Translation {
                lang,
                title,
                body,
                answers: self.answers,
            }),
            _ => bail!("--lang {lang} needs a --title and a --body after it"),
        }
    }

    /// Changes `t` with what was given; the rest stays.
    pub fn apply_to(self, t: &mut Translation) {
        if let Some(title) = self.title {
            t.title = title;
        }
        if let Some(body) = self.body {
            t.body = body;
        }
        if !self.answers.is_empty() {
            t.answers = self.answers;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction, Command};

    fn parse(args: &[&str]) -> Result<(Given, Vec<Given>)> {
        let cmd = Command::new("send").args(
            ["lang", "title", "body", "answer"]
                .map(|id| Arg::new(id).long(id).action(ArgAction::Append)),
        );
        let m = cmd.try_get_matches_from(std::iter::once("send").chain(args.iter().copied()))?;
        split(&m)
    }

    #[test]
    fn what_follows_a_lang_is_that_language() {
        let (d, langs) = parse(&[
            "--title", "Fire", "--answer", "Safe", "--body", "Leave", "--answer", "Help", "--lang",
            "fr", "--title", "Feu", "--body", "Sortez", "--answer", "Sauf",
        ])
        .unwrap();
        assert_eq!(d.title.as_deref(), Some("Fire"));
        assert_eq!(d.body.as_deref(), Some("Leave"));
        assert_eq!(d.answers, ["Safe", "Help"]);
        assert_eq!(langs.len(), 1);
        let fr = langs
            .into_iter()
            .next()
            .unwrap()
            .into_translation()
            .unwrap();
        assert_eq!((fr.lang.as_str(), fr.title.as_str()), ("fr", "Feu"));
        assert_eq!(fr.answers, ["Sauf"]);
    }

    #[test]
    fn a_lang_without_its_title_or_twice_is_refused() {
        let (_, langs) = parse(&["--title", "A", "--lang", "fr", "--body", "x"]).unwrap();
        let e = langs.into_iter().next().unwrap().into_translation();
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("--lang fr needs a --title"));
        let e = parse(&[
            "--title", "A", "--lang", "fr", "--title", "B", "--title", "C",
        ]);
        assert!(e
            .unwrap_err()
            .to_string()
            .contains("--title is given twice for --lang fr"));
        let e = parse(&["--lang", "fr", "--title", "B", "--lang", "FR"]);
        assert!(e.unwrap_err().to_string().contains("given twice"));
    }
}
