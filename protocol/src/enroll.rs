//! Sign-in without a token copied by hand: an agent presents an enrollment
//! key with the user and computer it runs for, and gets a token bound to
//! both. The admin side creates, lists and revokes keys.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an agent with no token enrolls.
pub const ENROLL_PATH: &str = "/api/v1/enroll";

/// `POST /api/v1/enroll`. The server takes the workstation's word for the
/// user: that is the trust an enrollment key gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollRequest {
    pub key: String,
    /// The logged-on user's account name, as the operating system says.
    pub user: String,
    pub host: String,
    #[serde(default)]
    pub agent_version: String,
}

/// The token works for this user on this computer only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Enrolled {
    pub token: String,
    pub user: String,
    pub host: String,
    /// The public keys (hex) that sign this server's messages; the agent
    /// verifies every message with them from then on. Empty from servers
    /// that do not sign.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub server_keys: Vec<String>,
}

/// `POST /api/v1/admin/enroll-keys`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewEnrollKey {
    /// When the key stops enrolling: RFC 3339 or relative (`+30d`).
    /// Never, when absent.
    #[serde(default)]
    pub expires: Option<String>,
    /// Host names it may enroll, with `*` and `?` (`pc-*`). Any, when absent.
    #[serde(default)]
    pub hosts: Option<String>,
}

/// The key itself is only ever shown here, once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollKeyCreated {
    pub id: String,
    pub key: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub hosts: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EnrollKeyInfo {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub hosts: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Agents it has enrolled.
    pub enrolled: u64,
}

/// `POST /api/v1/admin/hosts/{name}/revoke`: the computer's agents must
/// sign in again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HostRevoked {
    pub host: String,
    /// Tokens that no longer work.
    pub tokens: u64,
}

/// Where an agent signs in by Kerberos: `Authorization: Negotiate <token>`.
pub const KERBEROS_PATH: &str = "/api/v1/signin/kerberos";

/// `POST /api/v1/signin/kerberos`: the user comes from the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KerberosSignIn {
    pub host: String,
    /// A SPNEGO token (base64) made with the computer's own credentials
    /// (`host/NAME`), for the same service as the user's. It proves the
    /// computer's name; without it the token issued works on this host
    /// but does not prove it, and host-addressed messages do not reach it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_token: Option<String>,
}
