//! The trace of exchanges: every bundle sent or received, every refusal,
//! every failed attempt and test, one line each, for people to read,
//! export and clear.

use chrono::{DateTime, Utc};
use herald_protocol::{ExchangeLogLine, LogDeletion};

use crate::error::Error;
use crate::store::db::{from_ms, to_ms};
use crate::store::sql::{params, Conn};

pub struct Entry<'a> {
    pub site: &'a str,
    pub event: &'a str,
    pub number: Option<i64>,
    pub outcome: &'a str,
    pub detail: &'a str,
}

pub fn record(conn: &Conn, e: &Entry<'_>, now: DateTime<Utc>) -> Result<(), Error> {
    conn.execute(
        "INSERT INTO exchange_log(at, site, event, number, outcome, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![to_ms(now), e.site, e.event, e.number, e.outcome, e.detail],
    )?;
    Ok(())
}

/// Newest first unless `oldest_first`; at most `limit` lines.
pub fn list(conn: &Conn, oldest_first: bool, limit: u32) -> Result<Vec<ExchangeLogLine>, Error> {
    let order = if oldest_first { "ASC" } else { "DESC" };
    let mut stmt = conn.prepare(&format!(
        "SELECT id, at, site, event, number, outcome, detail FROM exchange_log
         ORDER BY at {order}, id {order} LIMIT ?1"
    ))?;
    let rows = stmt.query_map([limit], |r| {
        Ok(ExchangeLogLine {
            id: r.get(0)?,
            at: from_ms(r.get(1)?),
            site: r.get(2)?,
            event: r.get(3)?,
            number: r.get(4)?,
            outcome: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes the lines named, or older than a time, or all; saying nothing
/// deletes nothing and is refused.
pub fn delete(conn: &Conn, d: &LogDeletion) -> Result<u64, Error> {
    let n = if d.all {
        conn.execute("DELETE FROM exchange_log", [])?
    } else if let Some(before) = d.before {
        conn.execute("DELETE FROM exchange_log WHERE at < ?1", [to_ms(before)])?
    } else if !d.ids.is_empty() {
        let mut n = 0;
        for id in &d.ids {
            n += conn.execute("DELETE FROM exchange_log WHERE id = ?1", [id])?;
        }
        n
    } else {
        return Err(Error::bad(
            "say which lines to delete: ids, a time before which, or all",
        ));
    };
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The log as CSV, a header line first; fields with commas, quotes or
/// line breaks are quoted.
pub fn to_csv(lines: &[ExchangeLogLine]) -> String {
    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_owned()
        }
    }
    let mut out = String::from("id,at,site,event,number,outcome,detail\n");
    for l in lines {
        let number = l.number.map(|n| n.to_string()).unwrap_or_default();
        let row = [
            l.id.to_string(),
            l.at.to_rfc3339(),
            field(&l.site),
            field(&l.event),
            number,
            field(&l.outcome),
            field(&l.detail),
        ];
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_list_both_ways_export_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::db::open(&dir.path().join("s.db")).unwrap();
        for (i, detail) in ["first", "second, with \"quotes\""].iter().enumerate() {
            let e = Entry {
                site: "plant-a",
                event: "receive",
                number: Some(i as i64 + 1),
                outcome: "ok",
                detail,
            };
            record(&conn, &e, from_ms(1_000 + i as i64)).unwrap();
        }
        let newest = list(&conn, false, 100).unwrap();
        assert_eq!(newest[0].detail, "second, with \"quotes\"");
        let oldest = list(&conn, true, 100).unwrap();
        assert_eq!(oldest[0].detail, "first");
        let csv = to_csv(&oldest);
        assert!(csv.contains(",\"second, with \"\"quotes\"\"\"\n"), "{csv}");
        assert!(delete(&conn, &LogDeletion::default()).is_err());
        let gone = delete(
            &conn,
            &LogDeletion {
                ids: vec![oldest[0].id],
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(gone, 1);
        let all = LogDeletion {
            all: true,
            ..Default::default()
        };
        assert_eq!(delete(&conn, &all).unwrap(), 1);
    }
}
