//! The admin API's messages: send, edit, withdraw, the audience before
//! sending, receipts, revisions and the report. Each change tells the
//! agents it concerns (see `push::announce`).

use axum::extract::{Extension, Query, State};
use axum::Json;
use chrono::Utc;
use herald_protocol::{
    Audience, AudienceQuery, ErrorBody, FollowUp, MessageEdit, MessageInfo, NewMessage,
    ReceiptRecord, ReceiptReport, RevisionInfo, Severity,
};

use crate::domain::admins::accounts::{self, Actor};
use crate::domain::admins::audit;
use crate::domain::messages::{self, access, report};
use crate::error::Error;
use crate::http::extract::{Body, Path};
use crate::push::announce::{self, hint};
use crate::state::app::AppState;
use crate::store::sql::Conn;
use crate::tokens;

/// Makes a change to a message, then tells the agents it concerns.
async fn change<F>(st: &AppState, f: F) -> Result<Json<MessageInfo>, Error>
where
    F: FnOnce(&Conn) -> Result<MessageInfo, Error> + Send + 'static,
{
    let policy = st.policy();
    let (info, (plan, announced)) = st
        .write(move |c| {
            let info = f(c)?;
            let planned = announce::plan(c, &info.id, &policy)?;
            Ok((info, planned))
        })
        .await?;
    hint(st, &info.id, plan, announced);
    Ok(Json(info))
}

#[utoipa::path(get, path = "/api/v1/admin/messages", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every message an admin; a sender, those it sent (and, if its limits say read_addressed, those addressed within its recipient set)", body = Vec<MessageInfo>)))]
pub(crate) async fn list_messages(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Vec<MessageInfo>>, Error> {
    st.read(move |c| access::list(c, &actor)).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/messages", tag = "admin", request_body = NewMessage,
    security(("admin_token" = [])),
    responses((status = 200, description = "The message sent", body = MessageInfo)))]
pub(crate) async fn send_message(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(mut new): Body<NewMessage>,
) -> Result<Json<MessageInfo>, Error> {
    // A sender who may not ask for receipts and did not say gets none,
    // rather than a refusal of a default they did not choose.
    let may_ask = actor.is_admin() || actor.limits.as_ref().is_some_and(|l| l.receipts);
    if new.receipt.is_none() && !may_ask {
        new.receipt = Some(herald_protocol::ReceiptPolicy::None);
    }
    // A sender speaks under its own name unless its role says otherwise.
    new.sender = access::display_sender(&actor, new.sender.take());
    change(&st, move |c| {
        accounts::check_message(c, &actor, &new)?;
        let now = Utc::now();
        let info = messages::create(c, new, &actor.name, now)?;
        audit::record(c, &actor, "send", &info.id, &summary(&info), now)?;
        Ok(info)
    })
    .await
}

/// A message in one audit line.
fn summary(m: &MessageInfo) -> String {
    let mut to = m.to.join(",");
    for x in &m.exclude {
        to.push_str(&format!(",-{x}"));
    }
    let mut line = format!(
        "r{} {} \"{}\" to {to}, receipt {}, until {}",
        m.revision,
        m.severity,
        m.title,
        m.receipt,
        m.valid_until.to_rfc3339()
    );
    for part in herald_protocol::content::describe(&m.extras, m.sound) {
        line.push_str(", ");
        line.push_str(&part);
    }
    line
}

/// A sender changes only what they sent, within their limits.
fn may_change(
    c: &Conn,
    actor: &Actor,
    id: &str,
    severity: Option<Severity>,
    answers: bool,
) -> Result<(), Error> {
    access::changeable(c, actor, id)?;
    let Some(limits) = &actor.limits else {
        return Ok(());
    };
    if let Some(s) = severity {
        accounts::check_severity(actor, limits, s)?;
    }
    if answers && !limits.answers {
        return Err(Error::Forbidden(format!(
            "{} may not ask for answers",
            actor.name
        )));
    }
    Ok(())
}

/// `unread-again`'s choice of people.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub(crate) struct AgainQuery {
    /// Those who chose this answer (1-based), rather than those who have
    /// not read (for a message with answers: not answered).
    answer: Option<u8>,
}

#[utoipa::path(post, path = "/api/v1/admin/audience", tag = "admin", request_body = AudienceQuery,
    security(("admin_token" = [])),
    responses((status = 200, description = "Whom such a message would reach now", body = Audience)))]
pub(crate) async fn audience(
    State(st): State<AppState>,
    Body(q): Body<AudienceQuery>,
) -> Result<Json<Audience>, Error> {
    st.read(move |c| messages::audience(c, &q)).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The message", body = MessageInfo), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody)))]
pub(crate) async fn get_message(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    st.read(move |c| access::readable(c, &actor, &id))
        .await
        .map(Json)
}

#[utoipa::path(patch, path = "/api/v1/admin/messages/{id}", tag = "admin", request_body = MessageEdit,
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The new revision", body = MessageInfo), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody), (status = 409, description = "Conflicts with the current state", body = ErrorBody), (status = 403, description = "A sender's message of another account, or beyond its limits", body = ErrorBody)))]
pub(crate) async fn edit_message(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Body(edit): Body<MessageEdit>,
) -> Result<Json<MessageInfo>, Error> {
    change(&st, move |c| {
        let asks = edit.answers.as_ref().is_some_and(|a| !a.is_empty());
        may_change(c, &actor, &id, edit.severity, asks)?;
        let now = Utc::now();
        let info = messages::edit(c, &id, edit, &actor.name, now)?;
        audit::record(c, &actor, "edit", &id, &summary(&info), now)?;
        Ok(info)
    })
    .await
}

#[utoipa::path(post, path = "/api/v1/admin/messages/{id}/withdraw", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The message, withdrawn", body = MessageInfo), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody), (status = 403, description = "A sender's message of another account, or beyond its limits", body = ErrorBody)))]
pub(crate) async fn withdraw_message(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<MessageInfo>, Error> {
    change(&st, move |c| {
        may_change(c, &actor, &id, None, false)?;
        let now = Utc::now();
        let info = messages::withdraw(c, &id, now)?;
        audit::record(c, &actor, "withdraw", &id, &summary(&info), now)?;
        Ok(info)
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}/receipts", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Every receipt of the message", body = Vec<ReceiptRecord>), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody)))]
pub(crate) async fn message_receipts(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Vec<ReceiptRecord>>, Error> {
    st.read(move |c| {
        access::readable(c, &actor, &id)?;
        messages::receipts(c, &id)
    })
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}/revisions", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Every revision, oldest first, with what changed", body = Vec<RevisionInfo>), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody)))]
pub(crate) async fn message_revisions(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<Vec<RevisionInfo>>, Error> {
    st.read(move |c| {
        access::readable(c, &actor, &id)?;
        messages::revisions(c, &id)
    })
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}/report", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "Receipts by addressed user, with counts", body = ReceiptReport), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody)))]
pub(crate) async fn message_report(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<Json<ReceiptReport>, Error> {
    st.read(move |c| {
        access::readable(c, &actor, &id)?;
        report::report(c, &id)
    })
    .await
    .map(Json)
}

#[utoipa::path(get, path = "/api/v1/admin/messages/{id}/report.csv", tag = "admin",
    params(("id" = String, Path, description = "Message id")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The report as CSV", content_type = "text/csv", body = String), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody)))]
pub(crate) async fn message_report_csv(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> Result<impl axum::response::IntoResponse, Error> {
    let file = format!(
        "attachment; filename=\"herald-receipts-{}.csv\"",
        tokens::safe_file_part(&id)
    );
    let r = st
        .read(move |c| {
            access::readable(c, &actor, &id)?;
            report::report(c, &id)
        })
        .await?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, file),
        ],
        report::csv(&r),
    ))
}

#[utoipa::path(post, path = "/api/v1/admin/messages/{id}/unread-again", tag = "admin",
    params(("id" = String, Path, description = "Message id"), AgainQuery),
    request_body(content = Option<FollowUp>, description = "A follow-up in other words (optional)"),
    security(("admin_token" = [])),
    responses((status = 200, description = "A new message, to exactly the addressed users who have not read this one", body = MessageInfo), (status = 404, description = "No such message, or none the sender may see", body = ErrorBody), (status = 409, description = "Everyone has read it", body = ErrorBody), (status = 403, description = "Beyond the sender's limits", body = ErrorBody)))]
pub(crate) async fn unread_again(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    Query(q): Query<AgainQuery>,
    raw: axum::body::Bytes,
) -> Result<Json<MessageInfo>, Error> {
    // No body, `null` or `{}`: the message again as it is.
    let bad = |e: serde_json::Error| Error::bad(format!("bad follow-up: {e}"));
    let given: serde_json::Value = if raw.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Null
    } else {
        serde_json::from_slice(&raw).map_err(bad)?
    };
    let words: Option<FollowUp> = match &given {
        serde_json::Value::Null => None,
        serde_json::Value::Object(o) if o.is_empty() => None,
        _ => Some(serde_json::from_value(given).map_err(bad)?),
    };
    change(&st, move |c| {
        let now = Utc::now();
        let original = access::changeable(c, &actor, &id)?;
        accounts::check_message(
            c,
            &actor,
            &NewMessage {
                to: original.to.clone(),
                exclude: Vec::new(),
                severity: original.severity,
                title: String::new(),
                body: String::new(),
                sender: None,
                valid_from: None,
                valid_until: None,
                receipt: Some(original.receipt),
                now: None,
                extras: original.extras.clone(),
                sound: Some(original.sound),
            },
        )?;
        let follow_up = words.is_some();
        let info = report::unread_again(c, &id, &actor.name, q.answer, words, now)?;
        let whom = match q.answer {
            Some(n) => format!("those who answered {n} of {id}"),
            None => format!("the unread of {id}"),
        };
        let what = if follow_up { "a follow-up" } else { "again" };
        let detail = format!("{what} to {whom}: {}", summary(&info));
        audit::record(c, &actor, "send", &info.id, &detail, now)?;
        Ok(info)
    })
    .await
}
