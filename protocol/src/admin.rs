//! The administrator's API, authenticated with the admin token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{PushState, ReceiptKind, ReceiptPolicy, Severity};

/// `POST /api/v1/admin/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewUser {
    pub name: String,
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The user's agent token is only ever shown here, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserCreated {
    pub name: String,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
    /// `local` or `directory`.
    #[serde(default = "local")]
    pub source: String,
    /// Disabled (or gone) in the directory: receives nothing.
    #[serde(default)]
    pub disabled: bool,
}

fn local() -> String {
    "local".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostInfo {
    pub name: String,
    pub last_seen: DateTime<Utc>,
    pub last_user: String,
    /// Whether its last recorded contact proved the name (a token bound to
    /// the host); `false`: the name is only what an agent claimed.
    #[serde(default)]
    pub proven: bool,
}

/// `POST /api/v1/admin/groups/{group}/members`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Membership {
    pub user: String,
}

/// `POST /api/v1/admin/messages`. Times are RFC 3339 or relative to the
/// server's clock (`+30s`, `+5m`, `+2h`, `+1d`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewMessage {
    pub to: Vec<String>,
    /// Recipients left out of `to`: `user:NAME`, `group:NAME` (its
    /// members) or `host:NAME`. An exclusion wins over every inclusion.
    #[serde(default)]
    pub exclude: Vec<String>,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub valid_from: Option<String>,
    #[serde(default)]
    pub valid_until: Option<String>,
    #[serde(default)]
    pub receipt: Option<ReceiptPolicy>,
    /// Tell agents at once (push) rather than at their next poll. Default:
    /// yes for alerts, no otherwise.
    #[serde(default)]
    pub now: Option<bool>,
    /// Other languages, answers, fullscreen (`title` and `body` are the
    /// default version).
    #[serde(flatten)]
    pub extras: crate::Extras,
    /// Default: `alert` for alerts, `none` otherwise.
    #[serde(default)]
    pub sound: Option<crate::Sound>,
}

/// `PATCH /api/v1/admin/messages/{id}`: every field given makes a new revision.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageEdit {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub valid_until: Option<String>,
    /// Replaces every other language (the default one is `title`, `body`).
    #[serde(default)]
    pub translations: Option<Vec<crate::Translation>>,
    /// Replaces the answers of the default language.
    #[serde(default)]
    pub answers: Option<Vec<String>>,
}

/// A message as the administrator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageInfo {
    pub id: String,
    pub revision: u32,
    pub severity: Severity,
    pub title: String,
    pub body: String,
    pub sender: String,
    pub to: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub receipt: ReceiptPolicy,
    pub created_at: DateTime<Utc>,
    pub revised_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Agents are told at once of it, and of its revisions and withdrawal.
    #[serde(default)]
    pub immediate: bool,
    /// The account that sent it (`admin-token` for the static token).
    #[serde(default)]
    pub created_by: String,
    #[serde(flatten)]
    pub extras: crate::Extras,
    #[serde(default)]
    pub sound: crate::Sound,
}

/// One receipt as recorded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptRecord {
    pub user: String,
    pub host: String,
    /// Whether the agent proved `host` (a token bound to it); `false`: it
    /// only claimed the name.
    #[serde(default = "proven_by_default")]
    pub host_proven: bool,
    pub revision: u32,
    pub kind: ReceiptKind,
    /// When it happened, as the agent reported it.
    pub at: DateTime<Utc>,
    /// When the server recorded it.
    pub recorded_at: DateTime<Utc>,
    /// For `answered`: the answer chosen, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<u8>,
    /// The language of the version the user saw, when there were several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// The optional body of `unread-again`: a follow-up in other words, to
/// the same people. Without it the message goes again as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FollowUp {
    pub title: String,
    /// Markdown.
    #[serde(default)]
    pub body: String,
}

/// `POST /api/v1/admin/audience`: whom a message would reach, before it
/// is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AudienceQuery {
    pub to: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Audience {
    /// Enabled users the message reaches by name, group or `all`.
    pub users: u64,
    /// Computers named as recipients and not excluded: whoever uses them
    /// gets it too.
    pub hosts: u64,
}

/// One revision of a message: when, by whom, what changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevisionInfo {
    pub revision: u32,
    pub at: DateTime<Utc>,
    pub by: String,
    pub changes: String,
}

/// A message's receipts by addressed user, for the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptReport {
    pub message: MessageInfo,
    /// Users addressed now, and any other who sent a receipt.
    pub users: Vec<UserReceipts>,
    pub addressed: u64,
    /// Of the addressed, how many displayed / read the current revision.
    pub displayed: u64,
    pub read: u64,
    /// Of everyone, how many had an agent refuse the current revision: its
    /// signature did not verify (altered on the way or in the database).
    #[serde(default)]
    pub rejected: u64,
    /// For a message that asks for answers: how many addressed users
    /// answered the current revision, and the count for each answer.
    #[serde(default)]
    pub answered: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<AnswerCount>,
}

/// How many chose one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnswerCount {
    /// 1-based, as the message lists its answers.
    pub answer: u8,
    /// In the message's default language.
    pub label: String,
    pub count: u64,
    /// Of the addressed users, 0 to 100.
    pub percent: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserReceipts {
    pub user: String,
    /// Addressed now (false: a receipt from before a change of groups).
    pub addressed: bool,
    /// The first "displayed" and "read" of the current revision.
    pub displayed: Option<ReceiptAt>,
    pub read: Option<ReceiptAt>,
    /// The latest earlier revision this user read, if they have not read
    /// the current one.
    #[serde(default)]
    pub read_earlier: Option<u32>,
    /// The first agent that refused the current revision's signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<ReceiptAt>,
    /// The user's answer to the current revision (the first one recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered: Option<ReceiptAt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptAt {
    pub at: DateTime<Utc>,
    pub host: String,
    /// As in `ReceiptRecord`.
    #[serde(default = "proven_by_default")]
    pub host_proven: bool,
    /// For an answer: which, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<u8>,
    /// The language of the version shown, when there were several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Receipts from a server that predates proven hosts named the host as
/// it was then taken: proven.
fn proven_by_default() -> bool {
    true
}

/// A receipt's host as people read it: marked when only claimed.
pub fn host_shown(host: &str, proven: bool) -> String {
    if proven {
        host.to_owned()
    } else {
        format!("{host} (unproven)")
    }
}

/// `GET /api/v1/admin/fleet`: every host, as the console's fleet page
/// shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FleetReport {
    pub poll_interval_secs: u64,
    /// Agents older than this get a version warning with each poll.
    #[serde(default)]
    pub min_agent_version: Option<String>,
    /// A host is overdue after this long without contact.
    pub overdue_after_secs: u64,
    pub hosts: Vec<FleetHost>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FleetHost {
    pub name: String,
    pub last_user: String,
    pub last_seen: DateTime<Utc>,
    /// Empty until an agent that says its version has polled.
    pub agent_version: String,
    pub overdue: bool,
    /// The version warning this host's agent gets, if any.
    #[serde(default)]
    pub version_warning: Option<String>,
    pub push: PushState,
    /// Whether its last recorded contact proved the name; `false`: an
    /// agent only claimed it (a user's token, not one bound to the host).
    #[serde(default)]
    pub proven: bool,
}
