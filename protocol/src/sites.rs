//! The admin API of the multi-site exchange: site relays registered at the
//! central server, the exchange log, the central preferences, and the
//! step-by-step reports of connection tests.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a site and the central server exchange bundles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// The relay calls the central server when it can reach it.
    Https,
    /// Bundles go by mail both ways: SMTP out, IMAP in.
    Mail,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Https => "https",
            Transport::Mail => "mail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "https" => Some(Transport::Https),
            "mail" => Some(Transport::Mail),
            _ => None,
        }
    }
}

/// `POST /api/v1/admin/sites`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewSite {
    pub name: String,
    pub transport: Transport,
    /// Where the central server mails the site's bundles (mail only).
    #[serde(default)]
    pub mail_address: Option<String>,
    /// How often the site is expected to exchange, in seconds; beyond
    /// twice that it is overdue. An hour if not given.
    #[serde(default)]
    pub every_secs: Option<u64>,
}

/// What a new site's relay needs: printed once, at `site add`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteKeys {
    pub site: String,
    /// The site's secret signing key; the central server keeps only its
    /// public half.
    pub site_key: String,
    /// The central server's public key, which the relay checks bundles with.
    pub central_key: String,
    /// The central server's own mailbox, when it has one ([mail] address).
    #[serde(default)]
    pub central_mail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "kebab-case")]
pub enum SiteState {
    UpToDate,
    Overdue,
    /// No bundle from the site yet.
    Never,
}

impl SiteState {
    pub fn as_str(self) -> &'static str {
        match self {
            SiteState::UpToDate => "up to date",
            SiteState::Overdue => "overdue",
            SiteState::Never => "never exchanged",
        }
    }
}

/// A site as the central server sees it (or, at a relay, the central
/// server as the relay sees it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SiteInfo {
    pub name: String,
    pub transport: Transport,
    pub mail_address: Option<String>,
    pub every_secs: u64,
    /// When the last bundle from it was applied or found already held.
    pub last_exchange: Option<DateTime<Utc>>,
    pub state: SiteState,
    /// The other side's Herald version, as its last bundle said.
    pub version: Option<String>,
    pub version_warning: Option<String>,
    /// Bundles: the highest number sent, applied from it, acknowledged by it.
    pub sent: i64,
    pub applied: i64,
    pub acked: i64,
    pub last_error: Option<String>,
    /// Users and hosts its inventory reported.
    pub users: u64,
    pub hosts: u64,
}

/// One line of the exchange log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeLogLine {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub site: String,
    /// send, receive, exchange, test, key.
    pub event: String,
    pub number: Option<i64>,
    /// ok, duplicate, rejected, failed.
    pub outcome: String,
    pub detail: String,
}

/// `DELETE /api/v1/admin/exchange/log`: which lines; nothing given is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogDeletion {
    #[serde(default)]
    pub ids: Vec<i64>,
    /// Every line older than this.
    #[serde(default)]
    pub before: Option<DateTime<Utc>>,
    #[serde(default)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    pub deleted: u64,
}

/// The outcome of one exchange, or of a test of the way to the other side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ExchangeReport {
    pub ok: bool,
    /// One line per thing done or step checked, as a person reads them.
    pub lines: Vec<String>,
}

/// A central preference: for all sites when `site` is not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pref {
    #[serde(default)]
    pub site: Option<String>,
    pub key: String,
    pub value: String,
}

/// The preferences an administrator may set, and what each takes.
pub const PREF_KEYS: &[(&str, &str)] = &[
    ("poll-interval", "seconds between polls, 5 or more"),
    ("push", "off, stream or inbound"),
    ("max-dnd", "the longest do-not-disturb, in minutes"),
    ("language", "the default UI language: en, fr or de"),
    (
        "min-agent-version",
        "agents older than this are told to update",
    ),
];
