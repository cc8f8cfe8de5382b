//! Which messages an account may see and act on. An admin: all of them. A
//! sender: those it sent and, if its limits say `read_addressed`, those
//! whose every recipient is within its recipient set; it acts (edits,
//! withdraws, sends again to the unread) only on its own. A message a
//! sender may not see is "not found", so that ids cannot be probed.

use herald_protocol::{MessageInfo, Recipient};

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::messages;
use crate::error::Error;
use crate::store::sql::Conn;

fn own(actor: &Actor, m: &MessageInfo) -> bool {
    m.created_by.eq_ignore_ascii_case(&actor.name)
}

/// Whether `actor` may see message `m`.
pub fn may_read(conn: &Conn, actor: &Actor, m: &MessageInfo) -> Result<bool, Error> {
    let Some(limits) = &actor.limits else {
        return Ok(actor.is_admin());
    };
    if own(actor, m) {
        return Ok(true);
    }
    if !limits.read_addressed || m.to.is_empty() {
        return Ok(false);
    }
    for spec in &m.to {
        let Ok(r) = spec.parse::<Recipient>() else {
            return Ok(false);
        };
        if !accounts::may_target(conn, limits, &r)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("no message '{id}'"))
}

/// Message `id`, if `actor` may see it; "not found" otherwise.
pub fn readable(conn: &Conn, actor: &Actor, id: &str) -> Result<MessageInfo, Error> {
    let m = messages::get(conn, id)?;
    if may_read(conn, actor, &m)? {
        Ok(m)
    } else {
        Err(not_found(id))
    }
}

/// Message `id`, if `actor` may change it (or send it again): a sender,
/// only its own; "not found" for what it may not even see.
pub fn changeable(conn: &Conn, actor: &Actor, id: &str) -> Result<MessageInfo, Error> {
    let m = readable(conn, actor, id)?;
    if actor.is_admin() || own(actor, &m) {
        Ok(m)
    } else {
        Err(Error::Forbidden(format!(
            "{} may change only the messages they sent",
            actor.name
        )))
    }
}

/// The messages `actor` may see, in the order of `messages::list`.
pub fn list(conn: &Conn, actor: &Actor) -> Result<Vec<MessageInfo>, Error> {
    let all = messages::list(conn)?;
    if actor.is_admin() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for m in all {
        if may_read(conn, actor, &m)? {
            out.push(m);
        }
    }
    Ok(out)
}

/// The display sender of a new message from `actor`: what it asks for if
/// it is an admin or its limits allow `any_sender`, else its own name.
pub fn display_sender(actor: &Actor, asked: Option<String>) -> Option<String> {
    match &actor.limits {
        Some(l) if !l.any_sender => Some(actor.name.clone()),
        _ => asked,
    }
}
