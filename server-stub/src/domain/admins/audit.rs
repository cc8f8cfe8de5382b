//! The audit log: who did what, when and from where. Rows are only ever
//! added, in the same transaction as the change they describe, so a change
//! is never without its line; the database refuses updates and deletes.

use crate::store::sql::{params, Conn};
use chrono::{DateTime, Utc};
use herald_protocol::AuditEntry;

use crate::domain::admins::accounts::Actor;
use crate::error::Error;
use crate::store::db::{from_ms, to_ms};

/// Adds a line for `actor`.
pub fn record(
    conn: &Conn,
    actor: &Actor,
    action: &str,
    target: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    record_as(
        conn,
        &actor.name,
        &actor.source,
        action,
        target,
        detail,
        now,
    )
}

/// Adds a line for someone not signed in (a failed sign-in).
pub fn record_as(
    conn: &Conn,
    actor: &str,
    source: &str,
    action: &str,
    target: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    conn.prepare_cached(
        "INSERT INTO audit(at, actor, action, target, detail, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![to_ms(now), actor, action, target, detail, source])?;
    Ok(())
}

/// Which lines to list.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Filter {
    pub actor: Option<String>,
    pub action: Option<String>,
    /// Text anywhere in the target or detail.
    pub q: Option<String>,
    /// RFC 3339: lines at or after.
    pub since: Option<DateTime<Utc>>,
    /// At most this many, newest first (default 1,000).
    pub limit: Option<u32>,
}

pub fn list(conn: &Conn, f: &Filter) -> Result<Vec<AuditEntry>, Error> {
    let like =
        f.q.as_ref()
            .map(|q| format!("%{}%", q.replace(['%', '_'], "").to_lowercase()));
    // The casts tell PostgreSQL each parameter's type where it first sees
    // it (`$1 IS NULL` alone leaves it unknown); SQLite ignores them.
    let mut stmt = conn.prepare(
        "SELECT id, at, actor, action, target, detail, source FROM audit
         WHERE (CAST(?1 AS TEXT) IS NULL OR actor = ?1 COLLATE NOCASE)
           AND (CAST(?2 AS TEXT) IS NULL OR action = ?2)
           AND (CAST(?3 AS TEXT) IS NULL OR LOWER(target) LIKE ?3 OR LOWER(detail) LIKE ?3)
           AND (CAST(?4 AS BIGINT) IS NULL OR at >= ?4)
         ORDER BY id DESC LIMIT ?5",
    )?;
    let rows = stmt.query_map(
        params![
            f.actor,
            f.action,
            like,
            f.since.map(to_ms),
            f.limit.unwrap_or(1_000).min(100_000)
        ],
        |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: from_ms(r.get(1)?),
                actor: r.get(2)?,
                action: r.get(3)?,
                target: r.get(4)?,
                detail: r.get(5)?,
                source: r.get(6)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Text as it may be shown: control characters (a newline, a tab, ESC)
/// and backslashes as visible escapes, so that what someone typed into a
/// sign-in form cannot pass for another line, a column, or a terminal
/// command that hides the rest.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let n = u32::from(c);
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02x}"));
                } else {
                    out.push_str(&format!("\\u{{{n:x}}}"));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// One line of `herald-server audit`: tab-separated, every field escaped.
pub fn cli_line(e: &AuditEntry) -> String {
    [
        e.at.to_rfc3339(),
        escape(&e.actor),
        escape(&e.source),
        escape(&e.action),
        escape(&e.target),
        escape(&e.detail),
    ]
    .join("\t")
}

/// The lines as CSV, for export: RFC 4180 quoting, control characters
/// escaped, and cells a spreadsheet would take for a formula defused.
pub fn csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("id,at,actor,action,target,detail,source\r\n");
    for e in entries {
        let cells = [
            e.id.to_string(),
            e.at.to_rfc3339(),
            escape(&e.actor),
            escape(&e.action),
            escape(&e.target),
            escape(&e.detail),
            escape(&e.source),
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell, the OWASP way: a cell a spreadsheet could read as a
/// formula (starting with `= + - @`, a tab or a carriage return) or
/// split on a `;` gets a leading `'` and quotes; any cell with a comma,
/// quote or line break is quoted.
pub fn csv_cell(text: &str) -> String {
    let risky = text.starts_with(['=', '+', '-', '@', '\t', '\r']) || text.contains(';');
    if risky {
        format!("\"'{}\"", text.replace('"', "\"\""))
    } else if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "\"'=cmd|' /C calc'!A0\"");
        assert_eq!(csv_cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(csv_cell(";=1+1"), "\"';=1+1\"");
        assert_eq!(csv_cell("-2"), "\"'-2\"");
        assert_eq!(csv_cell("@SUM(A1)"), "\"'@SUM(A1)\"");
    }

    #[test]
    fn control_characters_are_shown_as_escapes() {
        assert_eq!(escape("a\nb\tc\u{1b}[8md\\"), "a\\nb\\tc\\x1b[8md\\\\");
        assert_eq!(escape("\u{9b}"), "\\x9b");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn the_log_refuses_updates_and_deletes() {
        let dir = tempfile::tempdir().unwrap();
        let c = crate::store::db::open(&dir.path().join("s.db")).unwrap();
        let who = Actor::admin_token("127.0.0.1".into());
        record(&c, &who, "send", "m1", "to all", Utc::now()).unwrap();
        let e = c
            .execute("UPDATE audit SET actor = 'nobody'", [])
            .unwrap_err();
        assert!(
            e.to_string().contains("the audit log cannot be changed"),
            "{e}"
        );
        let e = c.execute("DELETE FROM audit", []).unwrap_err();
        assert!(
            e.to_string().contains("the audit log cannot be changed"),
            "{e}"
        );
        let all = list(&c, &Filter::default()).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].actor, "admin-token");
    }
}
