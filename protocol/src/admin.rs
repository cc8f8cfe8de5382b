//! The administrator's API, authenticated with the admin token.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ReceiptKind, ReceiptPolicy, Severity};

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
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub receipt: ReceiptPolicy,
    pub created_at: DateTime<Utc>,
    pub revised_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    /// Agents are told at once of it, and of its revisions and withdrawal.
    #[serde(default)]
    pub immediate: bool,
}

/// One receipt as recorded by the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptRecord {
    pub user: String,
    pub host: String,
    pub revision: u32,
    pub kind: ReceiptKind,
    /// When it happened, as the agent reported it.
    pub at: DateTime<Utc>,
    /// When the server recorded it.
    pub recorded_at: DateTime<Utc>,
}
