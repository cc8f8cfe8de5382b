//! A message's receipts report: for every addressed user, whether and
//! where they displayed and read the current revision; its CSV; and a new
//! message to exactly those who have not read it.

use std::collections::BTreeMap;

use crate::store::sql::Conn;
use chrono::{DateTime, Duration, Utc};
use herald_protocol::{
    host_shown, MessageInfo, NewMessage, ReceiptAt, ReceiptKind, ReceiptReport, UserReceipts,
};

use crate::domain::admins::audit::csv_cell;
use crate::domain::messages;
use crate::error::Error;

pub fn report(conn: &Conn, id: &str) -> Result<ReceiptReport, Error> {
    let message = messages::get(conn, id)?;
    let (addressed, _) = messages::addressed(conn, &message.to, &message.exclude)?;
    let mut users: BTreeMap<String, UserReceipts> = addressed
        .iter()
        .map(|u| {
            (
                u.clone(),
                UserReceipts {
                    user: u.clone(),
                    addressed: true,
                    displayed: None,
                    read: None,
                    read_earlier: None,
                    rejected: None,
                },
            )
        })
        .collect();
    // Oldest first: the first receipt of each kind is the one kept.
    for r in messages::receipts(conn, id)? {
        let key = r.user.to_lowercase();
        let entry = users.entry(key).or_insert_with(|| UserReceipts {
            user: r.user.clone(),
            addressed: false,
            displayed: None,
            read: None,
            read_earlier: None,
            rejected: None,
        });
        let at = ReceiptAt {
            at: r.at,
            host: r.host.clone(),
            host_proven: r.host_proven,
        };
        if r.revision != message.revision {
            if r.kind == ReceiptKind::Read {
                entry.read_earlier = entry.read_earlier.max(Some(r.revision));
            }
            continue;
        }
        match r.kind {
            ReceiptKind::Displayed => {
                entry.displayed.get_or_insert(at);
            }
            ReceiptKind::Read => {
                entry.read.get_or_insert(at);
            }
            ReceiptKind::Rejected => {
                entry.rejected.get_or_insert(at);
            }
        }
    }
    let mut users: Vec<UserReceipts> = users.into_values().collect();
    for u in &mut users {
        if u.read.is_some() {
            u.read_earlier = None;
        }
    }
    let count =
        |f: fn(&UserReceipts) -> bool| users.iter().filter(|u| u.addressed && f(u)).count() as u64;
    Ok(ReceiptReport {
        addressed: count(|_| true),
        displayed: count(|u| u.displayed.is_some() || u.read.is_some()),
        read: count(|u| u.read.is_some()),
        rejected: users.iter().filter(|u| u.rejected.is_some()).count() as u64,
        message,
        users,
    })
}

pub fn csv(r: &ReceiptReport) -> String {
    let mut out = String::from(
        "user,addressed,displayed_at,displayed_host,read_at,read_host,read_earlier_revision,\
         rejected_at,rejected_host\r\n",
    );
    let at = |a: &Option<ReceiptAt>| {
        a.as_ref().map_or((String::new(), String::new()), |a| {
            (a.at.to_rfc3339(), host_shown(&a.host, a.host_proven))
        })
    };
    for u in &r.users {
        let (d_at, d_host) = at(&u.displayed);
        let (r_at, r_host) = at(&u.read);
        let (x_at, x_host) = at(&u.rejected);
        let cells = [
            u.user.clone(),
            u.addressed.to_string(),
            d_at,
            d_host,
            r_at,
            r_host,
            u.read_earlier.map(|v| v.to_string()).unwrap_or_default(),
            x_at,
            x_host,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The message again, to exactly the addressed users who have not read
/// its current revision, for the rest of its validity (or a day, if it
/// has ended).
pub fn unread_again(
    conn: &Conn,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<MessageInfo, Error> {
    let r = report(conn, id)?;
    let to: Vec<String> = r
        .users
        .iter()
        .filter(|u| u.addressed && u.read.is_none())
        .map(|u| format!("user:{}", u.user))
        .collect();
    if to.is_empty() {
        return Err(Error::Conflict(format!(
            "everyone addressed has read message {id}"
        )));
    }
    let m = r.message;
    let until = if m.valid_until > now + Duration::minutes(1) && m.withdrawn_at.is_none() {
        m.valid_until
    } else {
        now + messages::DEFAULT_VALIDITY
    };
    let new = NewMessage {
        to,
        exclude: Vec::new(),
        severity: m.severity,
        title: m.title,
        body: m.body,
        sender: Some(m.sender),
        valid_from: None,
        valid_until: Some(until.to_rfc3339()),
        receipt: Some(m.receipt),
        now: Some(m.immediate),
    };
    messages::create(conn, new, by, now)
}
