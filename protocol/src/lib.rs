//! Wire types of the Herald HTTP API, shared by the server and the agent.
//!
//! This crate deliberately holds no async runtime, HTTP client or SQL, so
//! that anything speaking the protocol can depend on it cheaply; beyond
//! serde it has only the HMAC that signs inbound push calls.

mod accounts;
mod admin;
mod agent;
pub mod content;
mod directory;
mod enroll;
mod enums;
mod inbound;
pub mod push;
pub mod signing;
mod sites;
pub mod steps;
mod time;

pub use accounts::*;
pub use admin::*;
pub use agent::*;
pub use content::{Display, Extras, Sound, Translation, CONTENT_VERSION, MAX_ANSWERS};
pub use directory::*;
pub use enroll::*;
pub use enums::*;
pub use inbound::*;
pub use push::*;
pub use signing::{KeyCert, MessageSignature};
pub use sites::*;
pub use time::{in_range as time_in_range, EARLIEST_MS, LATEST_MS};

/// Version of the HTTP API. Bumped on any incompatible change to these types.
pub const API_VERSION: u32 = 1;

/// Upper bound on a message body, in bytes, enforced by the server.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Upper bound on a message title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// Every error answer of the API has this shape, with a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: String,
}

/// Answer of the unauthenticated `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    pub server_version: String,
    pub api_version: u32,
    pub server_time: chrono::DateTime<chrono::Utc>,
    /// Whether this instance can serve: its database answers. A load
    /// balancer takes an instance out while this is false (status 503).
    #[serde(default = "ready_by_default")]
    pub ready: bool,
    /// `ok`, or why the database does not answer.
    #[serde(default)]
    pub database: String,
}

fn ready_by_default() -> bool {
    true
}
