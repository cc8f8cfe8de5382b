//! A message's receipts report: for every addressed user, whether and
//! where they displayed and read the current revision; its CSV; and a new
//! message to exactly those who have not read it.

use std::collections::BTreeMap;

use crate::store::sql::Conn;
use chrono::{DateTime, Duration, Utc};
use herald_protocol::{
    host_shown, AnswerCount, FollowUp, MessageInfo, NewMessage, ReceiptAt, ReceiptKind,
    ReceiptReport, UserReceipts,
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
                    answered: None,
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
            answered: None,
        });
        let at = ReceiptAt {
            at: r.at,
            host: r.host.clone(),
            host_proven: r.host_proven,
            answer: r.answer,
            lang: r.lang.clone(),
        };
        if r.revision != message.revision {
            if matches!(r.kind, ReceiptKind::Read | ReceiptKind::Answered) {
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
            // An answer is a reading too.
            ReceiptKind::Answered => {
                entry.read.get_or_insert(at.clone());
                entry.answered.get_or_insert(at);
            }
        }
    }
    let mut users: Vec<UserReceipts> = users.into_values().collect();
    for u in &mut users {
        if u.read.is_some() {
            u.read_earlier = None;
        }
    }
    let count = |f: &dyn Fn(&UserReceipts) -> bool| {
        users.iter().filter(|u| u.addressed && f(u)).count() as u64
    };
    let addressed = count(&|_| true);
    let answers = message
        .extras
        .answers
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let n = i as u8 + 1;
            let chose = count(&|u| u.answered.as_ref().is_some_and(|a| a.answer == Some(n)));
            AnswerCount {
                answer: n,
                label: label.clone(),
                count: chose,
                percent: percent(chose, addressed),
            }
        })
        .collect();
    Ok(ReceiptReport {
        addressed,
        answered: count(&|u| u.answered.is_some()),
        answers,
        displayed: count(&|u| u.displayed.is_some() || u.read.is_some()),
        read: count(&|u| u.read.is_some()),
        rejected: users.iter().filter(|u| u.rejected.is_some()).count() as u64,
        message,
        users,
    })
}

/// One decimal, as people read a share.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    (part as f64 * 1000.0 / whole as f64).round() / 10.0
}

pub fn csv(r: &ReceiptReport) -> String {
    let mut out = String::from(
        "user,addressed,displayed_at,displayed_host,read_at,read_host,read_earlier_revision,\
         rejected_at,rejected_host,answer,answer_label,answered_at,answered_host,language\r\n",
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
        let (a_at, a_host) = at(&u.answered);
        let chose = u.answered.as_ref().and_then(|a| a.answer);
        let label = chose
            .and_then(|n| r.message.extras.answers.get(usize::from(n).wrapping_sub(1)))
            .cloned()
            .unwrap_or_default();
        let lang = [&u.answered, &u.read, &u.displayed]
            .into_iter()
            .find_map(|a| a.as_ref().and_then(|a| a.lang.clone()))
            .unwrap_or_default();
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
            chose.map(|n| n.to_string()).unwrap_or_default(),
            label,
            a_at,
            a_host,
            lang,
        ];
        let line: Vec<String> = cells.iter().map(|c| csv_cell(c)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The message again, to exactly the addressed users who have not read
/// (for a message with answers: not answered) its current revision, or
/// to those who chose answer `chose`; for the rest of its validity (or a
/// day, if it has ended). With `words`, a follow-up: that title and body
/// alone, read with the usual button.
pub fn unread_again(
    conn: &Conn,
    id: &str,
    by: &str,
    chose: Option<u8>,
    words: Option<FollowUp>,
    now: DateTime<Utc>,
) -> Result<MessageInfo, Error> {
    let r = report(conn, id)?;
    let asks = !r.message.extras.answers.is_empty();
    if let Some(n) = chose {
        if !(1..=r.message.extras.answers.len()).contains(&usize::from(n)) {
            return Err(Error::bad(format!(
                "message {id} has no answer {n}: it has {}",
                r.message.extras.answers.len()
            )));
        }
    }
    let to: Vec<String> = r
        .users
        .iter()
        .filter(|u| {
            u.addressed
                && match chose {
                    Some(n) => u.answered.as_ref().is_some_and(|a| a.answer == Some(n)),
                    None if asks => u.answered.is_none(),
                    None => u.read.is_none(),
                }
        })
        .map(|u| format!("user:{}", u.user))
        .collect();
    if to.is_empty() {
        return Err(Error::Conflict(match chose {
            Some(n) => format!("nobody addressed chose answer {n} of message {id}"),
            None if asks => format!("everyone addressed has answered message {id}"),
            None => format!("everyone addressed has read message {id}"),
        }));
    }
    let m = r.message;
    let until = if m.valid_until > now + Duration::minutes(1) && m.withdrawn_at.is_none() {
        m.valid_until
    } else {
        now + messages::DEFAULT_VALIDITY
    };
    let (title, body, extras, sound) = match words {
        Some(w) => (w.title, w.body, Default::default(), None),
        None => (m.title, m.body, m.extras, Some(m.sound)),
    };
    let new = NewMessage {
        to,
        exclude: Vec::new(),
        severity: m.severity,
        title,
        body,
        sender: Some(m.sender),
        valid_from: None,
        valid_until: Some(until.to_rfc3339()),
        receipt: Some(m.receipt),
        now: Some(m.immediate),
        extras,
        sound,
    };
    messages::create(conn, new, by, now)
}
