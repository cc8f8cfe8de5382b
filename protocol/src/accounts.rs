//! Administrators' accounts, their roles and limits, and the audit log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::Role;

/// `POST /api/v1/admin/accounts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAccount {
    pub name: String,
    pub role: Role,
    /// For the console; without one the account uses API tokens only.
    #[serde(default)]
    pub password: Option<String>,
}

/// What a `sender` may do. Each recipient of their messages must be in
/// `targets` (a user also through a group there); exclusions are always
/// allowed, as they only narrow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SenderLimits {
    /// `user:NAME`, `group:NAME`, `host:NAME` or `all`.
    pub targets: Vec<String>,
    /// Empty: every severity but alert.
    #[serde(default)]
    pub severities: Vec<crate::Severity>,
    /// May ask for read receipts (otherwise their messages ask for none).
    #[serde(default)]
    pub receipts: bool,
    /// May read, besides its own messages, those whose every recipient is
    /// within `targets` (their reports too).
    #[serde(default)]
    pub read_addressed: bool,
    /// May choose the display sender; otherwise its messages show the
    /// account's name.
    #[serde(default)]
    pub any_sender: bool,
    /// May ask for answers ("I am safe" / "I need help").
    #[serde(default)]
    pub answers: bool,
    /// May send alerts fullscreen (with `alert` among `severities`).
    #[serde(default)]
    pub fullscreen: bool,
}

/// `PATCH /api/v1/admin/accounts/{name}`: what is given changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountEdit {
    #[serde(default)]
    pub role: Option<Role>,
    #[serde(default)]
    pub limits: Option<SenderLimits>,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub disabled: Option<bool>,
    /// With a new password: keep the account's API tokens (by default
    /// they are revoked with its sessions).
    #[serde(default)]
    pub keep_tokens: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountInfo {
    pub name: String,
    pub role: Role,
    pub has_password: bool,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    /// A sender's limits.
    #[serde(default)]
    pub limits: Option<SenderLimits>,
}

/// An API token for an account, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountToken {
    pub name: String,
    pub token: String,
}

/// One of an account's API tokens, without its secret:
/// `GET /api/v1/admin/accounts/{name}/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccountTokenInfo {
    /// What names the token for `revoke`: the start of its hash.
    pub id: String,
    pub created_at: DateTime<Utc>,
    /// The last request made with it (to the minute), if any since it
    /// was recorded.
    #[serde(default)]
    pub last_used_at: Option<DateTime<Utc>>,
}

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The account, or `admin-token` for the static admin token.
    pub actor: String,
    /// `sign-in`, `sign-in-failed`, `send`, `edit`, `withdraw`,
    /// `account-add`, `account-change`, `token`, ...
    pub action: String,
    pub target: String,
    pub detail: String,
    /// The client's address.
    pub source: String,
}

/// `POST /api/v1/console/signin`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignInRequest {
    pub name: String,
    pub password: String,
}

/// Who is signed in to the console. `csrf` goes in the `X-Herald-CSRF`
/// header of every change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConsoleSession {
    pub name: String,
    pub role: Role,
    #[serde(default)]
    pub limits: Option<SenderLimits>,
    pub csrf: String,
}

/// A message template: `PUT /api/v1/admin/templates/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub title: String,
    pub body: String,
    pub severity: crate::Severity,
    pub receipts: crate::ReceiptPolicy,
    /// How long a message sent from it stays valid, relative (`+2h`), or
    /// empty for the server's default.
    #[serde(default)]
    pub valid_for: String,
    /// Other languages, answers and display, as a message has them.
    #[serde(flatten)]
    pub extras: crate::Extras,
    /// Absent: the message's default (`alert` for alerts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sound: Option<crate::Sound>,
}

/// `GET /api/v1/admin/templates`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateInfo {
    pub name: String,
    #[serde(flatten)]
    pub template: Template,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// `POST /api/v1/admin/preview`: a body as the agent will show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Preview {
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PreviewHtml {
    /// Sanitized by the agent's own renderer.
    pub html: String,
}
