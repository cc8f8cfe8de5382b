//! Shared message templates, for the console's compose page: a name, the
//! fields of a message, and how long it is valid for.

use chrono::{DateTime, Utc};
use herald_protocol::{Sound, Template, TemplateInfo};

use crate::domain::messages::{self, content, timespec};
use crate::error::Error;
use crate::store::db::{from_ms, to_ms};
use crate::store::sql::{params, Conn, OptionalExtension};

const MAX_NAME_CHARS: usize = 80;

pub fn list(conn: &Conn) -> Result<Vec<TemplateInfo>, Error> {
    let mut stmt = conn.prepare(
        "SELECT name, title, body, severity, receipts, valid_for, updated_at, updated_by,
                extras, sound
         FROM templates ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?;
    rows.map(|r| r?).collect()
}

fn row(r: &crate::store::sql::Row) -> crate::store::sql::Result<Result<TemplateInfo, Error>> {
    let severity: String = r.get(3)?;
    let receipts: String = r.get(4)?;
    let extras = content::from_column(r.get(8)?);
    let sound: Option<String> = r.get(9)?;
    let build = || -> Result<TemplateInfo, Error> {
        Ok(TemplateInfo {
            name: r.get(0)?,
            template: Template {
                title: r.get(1)?,
                body: r.get(2)?,
                severity: severity
                    .parse()
                    .map_err(|e: herald_protocol::ParseEnumError| Error::Internal(e.to_string()))?,
                receipts: receipts
                    .parse()
                    .map_err(|e: herald_protocol::ParseEnumError| Error::Internal(e.to_string()))?,
                valid_for: r.get(5)?,
                extras: extras.clone(),
                sound: sound.as_deref().and_then(|s| s.parse::<Sound>().ok()),
            },
            updated_at: from_ms(r.get(6)?),
            updated_by: r.get(7)?,
        })
    };
    Ok(build())
}

pub fn save(
    conn: &Conn,
    name: &str,
    t: Template,
    by: &str,
    now: DateTime<Utc>,
) -> Result<TemplateInfo, Error> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::bad(format!(
            "a template name is 1 to {MAX_NAME_CHARS} printable characters"
        )));
    }
    let title = messages::check_title(&t.title)?;
    messages::check_body(&t.body)?;
    // Checked as a message's: a template must make a message that sends.
    let extras = content::check(t.extras, t.severity)?;
    let valid_for = t.valid_for.trim();
    if !valid_for.is_empty()
        && (!valid_for.starts_with('+') || timespec::parse(valid_for, now).is_err())
    {
        return Err(Error::bad(format!(
            "valid_for {valid_for:?}: give a relative time such as +2h or +1d, or nothing"
        )));
    }
    conn.execute(
        "INSERT INTO templates(name, title, body, severity, receipts, valid_for, updated_at, updated_by,
                               extras, sound)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(name) DO UPDATE SET title = ?2, body = ?3, severity = ?4, receipts = ?5,
             valid_for = ?6, updated_at = ?7, updated_by = ?8, extras = ?9, sound = ?10",
        params![
            name,
            title,
            t.body,
            t.severity.to_string(),
            t.receipts.to_string(),
            valid_for,
            to_ms(now),
            by,
            content::to_column(&extras),
            t.sound.map(Sound::as_str)
        ],
    )?;
    conn.query_row(
        "SELECT name, title, body, severity, receipts, valid_for, updated_at, updated_by,
                extras, sound
         FROM templates WHERE name = ?1",
        [name],
        row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(name.to_owned()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_protocol::{ReceiptPolicy, Severity};

    fn drill() -> Template {
        Template {
            title: "Fire drill".into(),
            body: "Leave by the **nearest exit**.".into(),
            severity: Severity::Alert,
            receipts: ReceiptPolicy::Read,
            valid_for: "+2h".into(),
            extras: herald_protocol::Extras {
                lang: Some("en".into()),
                translations: vec![herald_protocol::Translation {
                    lang: "fr".into(),
                    title: "Exercice incendie".into(),
                    body: "Sortez.".into(),
                    answers: vec!["Je suis en sécurité".into(), "J'ai besoin d'aide".into()],
                }],
                answers: vec!["I am safe".into(), "I need help".into()],
                display: herald_protocol::Display::Fullscreen,
            },
            sound: Some(Sound::Alert),
        }
    }

    #[test]
    fn templates_are_saved_replaced_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("t.db")).unwrap();
        let now = Utc::now();
        save(&conn, " Drill ", drill(), "ada", now).unwrap();
        let again = Template {
            title: "Fire drill (west wing)".into(),
            ..drill()
        };
        let saved = save(&conn, "drill", again, "sam", now).unwrap();
        assert_eq!(
            saved.name, "Drill",
            "a name is one template whatever its case"
        );
        assert_eq!(saved.updated_by, "sam");
        let all = list(&conn).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].template.title, "Fire drill (west wing)");
        assert_eq!(
            all[0].template.extras,
            drill().extras,
            "every language, the answers and the display are kept"
        );
        assert_eq!(all[0].template.sound, Some(Sound::Alert));

        let bad =
            |t: Template, name: &str| save(&conn, name, t, "ada", now).unwrap_err().to_string();
        assert!(bad(drill(), "").contains("template name"));
        assert!(bad(drill(), "a\u{7}b").contains("template name"));
        let dated = Template {
            valid_for: "2030-01-01T00:00:00Z".into(),
            ..drill()
        };
        assert!(bad(dated, "x").contains("relative time"));
        let untitled = Template {
            title: " ".into(),
            ..drill()
        };
        assert!(bad(untitled, "x").contains("empty title"));
        let mut one = drill();
        one.extras.answers.truncate(1);
        bad(one, "x");
        assert_eq!(
            list(&conn).unwrap().len(),
            1,
            "a refused template changed nothing"
        );
    }
}
