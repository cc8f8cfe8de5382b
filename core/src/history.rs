//! What the history window shows, built from the store without any web
//! engine: every message with its effective state and how its receipts
//! stand, and the exchange log with its CSV and JSON exports.

use chrono::{DateTime, Utc};
use herald_protocol::Severity;
use serde::Serialize;

use crate::error::StoreError;
use crate::schedule;
use crate::store::{ExchangeEntry, MessageState, Store};
use herald_views::render::body_html;

/// Whether the server has the receipts of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiptStanding {
    /// Nothing to report (yet).
    None,
    /// Queued; goes out at the next contact.
    Pending,
    /// Every receipt reached the server.
    Delivered,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryRow {
    pub id: String,
    pub revision: u32,
    pub severity: Severity,
    pub title: String,
    pub sender: String,
    pub received_at: DateTime<Utc>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub state: MessageState,
    /// Open, but not valid yet: it comes up at `valid_from`.
    pub scheduled: bool,
    pub note: Option<String>,
    pub receipt: ReceiptStanding,
    /// The language of the version shown (or that would show), when the
    /// message has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The user's answer to the read revision, as its label read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The Markdown source, for searching.
    pub body: String,
    /// Rendered and sanitized as in a popup.
    pub body_html: String,
}

/// Every message held, newest first, as of `server_now`, each in the
/// version the user saw (else the one `languages` would show).
pub fn rows(
    store: &Store,
    server_now: DateTime<Utc>,
    languages: &[String],
) -> Result<Vec<HistoryRow>, StoreError> {
    let mut out = Vec::new();
    for m in store.messages()? {
        let receipts = store.receipts_of(&m.id)?;
        let receipt = if receipts.is_empty() {
            ReceiptStanding::None
        } else if receipts.iter().all(|r| r.sent_at.is_some()) {
            ReceiptStanding::Delivered
        } else {
            ReceiptStanding::Pending
        };
        let state = schedule::effective_state(&m, server_now);
        let v = m.shown_version(languages);
        let several = !m.extras.translations.is_empty();
        let answer = m
            .answer
            .and_then(|n| v.answers.get(usize::from(n).checked_sub(1)?))
            .map(|a| a.to_string());
        let (title, body) = (v.title.to_owned(), v.body.to_owned());
        let lang = v.lang.filter(|_| several).map(str::to_owned);
        out.push(HistoryRow {
            scheduled: state.is_open() && server_now < m.valid_from,
            state,
            body_html: body_html(&body),
            body,
            lang,
            answer,
            id: m.id,
            revision: m.revision,
            severity: m.severity,
            title,
            sender: m.sender,
            received_at: m.received_at,
            valid_from: m.valid_from,
            valid_until: m.valid_until,
            note: m.note,
            receipt,
        });
    }
    Ok(out)
}

/// The next time (server time) at which a row changes by itself: a message
/// becoming valid or expiring. The window looks again then, or when the
/// store changes.
pub fn next_change(rows: &[HistoryRow], server_now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    rows.iter()
        .filter(|r| r.state.is_open())
        .flat_map(|r| [r.valid_from, r.valid_until])
        .filter(|t| *t > server_now)
        .min()
}

const CSV_HEADER: &str =
    "id,at,kind,server,ok,receipts_sent,received,stopped,duration_ms,error\r\n";

/// The exchange log as CSV (RFC 4180, CRLF). Text that a spreadsheet
/// would take for a formula is prefixed with an apostrophe.
pub fn log_csv(entries: &[ExchangeEntry]) -> String {
    let mut out = String::from(CSV_HEADER);
    for e in entries {
        let fields = [
            e.id.to_string(),
            e.at.to_rfc3339(),
            csv_text(&e.kind),
            csv_text(&e.server),
            e.ok.to_string(),
            e.receipts_sent.to_string(),
            e.received.to_string(),
            e.stopped.to_string(),
            e.duration_ms.to_string(),
            csv_text(e.error.as_deref().unwrap_or("")),
        ];
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_text(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The exchange log as a JSON array.
pub fn log_json(entries: &[ExchangeEntry]) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: i64, error: Option<&str>) -> ExchangeEntry {
        ExchangeEntry {
            id,
            at: DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            kind: "poll".into(),
            server: "http://s".into(),
            ok: error.is_none(),
            receipts_sent: 1,
            received: 2,
            stopped: 0,
            duration_ms: 12,
            error: error.map(str::to_owned),
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let csv = log_csv(&[
            entry(1, None),
            entry(2, Some("answered 500: \"oops\", twice\nreally")),
            entry(3, Some("=HYPERLINK(\"http://x\")")),
        ]);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[0],
            "id,at,kind,server,ok,receipts_sent,received,stopped,duration_ms,error"
        );
        assert!(lines[1].contains(",poll,http://s,true,"), "{}", lines[1]);
        assert!(lines[1].ends_with(",true,1,2,0,12,"), "{}", lines[1]);
        assert!(
            csv.contains("\"answered 500: \"\"oops\"\", twice\nreally\""),
            "{csv}"
        );
        assert!(csv.contains("\"'=HYPERLINK(\"\"http://x\"\")\""), "{csv}");
    }

    #[test]
    fn json_export_round_trips() {
        let json = log_json(&[entry(7, Some("down"))]).unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(v[0]["id"], 7);
        assert_eq!(v[0]["error"], "down");
    }
}
