//! The company directory (LDAP, Active Directory) as Herald takes it: a
//! snapshot of users and groups, read by `herald-server directory sync`
//! or by the server itself, and the differences applying it makes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Every user and group the directory holds, nested groups flattened. It
/// is always complete: a partial read is never sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectorySnapshot {
    pub users: Vec<DirectoryUser>,
    pub groups: Vec<DirectoryGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryUser {
    pub name: String,
    #[serde(default)]
    pub disabled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryGroup {
    pub name: String,
    /// User names, members through nested groups included.
    pub members: Vec<String>,
}

/// What applying a snapshot changes (or would change, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryDiff {
    pub users_added: Vec<String>,
    /// Local users of the same name, from now on the directory's.
    pub users_adopted: Vec<String>,
    /// Disabled in the directory, or gone from it: they stop receiving.
    pub users_disabled: Vec<String>,
    pub users_enabled: Vec<String>,
    pub groups_added: Vec<String>,
    pub groups_adopted: Vec<String>,
    pub groups_removed: Vec<String>,
    /// `group:user`.
    pub members_added: Vec<String>,
    pub members_removed: Vec<String>,
    /// Names Herald cannot take, with why; the rest is applied.
    pub skipped: Vec<String>,
    pub dry_run: bool,
}

impl DirectoryDiff {
    pub fn is_empty(&self) -> bool {
        self.users_added.is_empty()
            && self.users_adopted.is_empty()
            && self.users_disabled.is_empty()
            && self.users_enabled.is_empty()
            && self.groups_added.is_empty()
            && self.groups_adopted.is_empty()
            && self.groups_removed.is_empty()
            && self.members_added.is_empty()
            && self.members_removed.is_empty()
    }
}

/// `GET /api/v1/admin/directory/status`: the last sync, good or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DirectoryStatus {
    pub at: Option<DateTime<Utc>>,
    pub ok: bool,
    /// One line: what changed, or why nothing did.
    pub summary: String,
}
