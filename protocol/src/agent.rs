//! What the agent and the server say to each other.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{ReceiptKind, ReceiptPolicy, Severity, StopReason};

/// A message revision as the agent receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: String,
    pub revision: u32,
    pub severity: Severity,
    pub title: String,
    /// Markdown. Agents must render it to sanitized HTML, never trust it.
    pub body: String,
    pub sender: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    pub receipt: ReceiptPolicy,
    /// When this revision was made on the server.
    pub revised_at: DateTime<Utc>,
    /// The server's signature of this revision; absent from servers that
    /// do not sign. Agents that know the server's key refuse it absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<crate::MessageSignature>,
    /// Other languages, answers, fullscreen: absent for agents that did
    /// not say they understand them (`PollRequest::content`).
    #[serde(flatten)]
    pub extras: crate::Extras,
    #[serde(default, skip_serializing_if = "crate::Sound::is_none")]
    pub sound: crate::Sound,
}

impl Message {
    /// The version a desktop whose languages are `prefs` shows.
    pub fn version(&self, prefs: &[String]) -> crate::content::Version<'_> {
        crate::content::pick(&self.title, &self.body, &self.extras, prefs)
    }

    /// As an agent that predates languages and answers must get it: the
    /// default version, read with the usual button.
    pub fn without_extras(mut self) -> Self {
        self.extras = crate::Extras::default();
        self.sound = crate::Sound::None;
        self
    }
}

/// `POST /api/v1/poll`, authenticated with the user's agent token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollRequest {
    /// The computer the agent runs on; messages to `host:NAME` use it.
    pub host: String,
    /// The cursor of the last answer the agent applied, if any.
    pub cursor: Option<String>,
    pub agent_version: String,
    /// The port this agent takes inbound push calls on, while it listens.
    /// The server calls the address the poll came from, never one the agent
    /// names, so a token cannot aim the server at another machine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_port: Option<u16>,
    /// `CONTENT_VERSION` when the agent shows languages, answers,
    /// fullscreen and sound; 0 (absent) from agents that predate them.
    #[serde(default)]
    pub content: u32,
    /// What the agent took from its push stream since the cursor's answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushed: Vec<crate::Held>,
}

/// Answer to a poll. When nothing changed since `cursor`, `changed` is false
/// and `messages` and `stopped` are empty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PollResponse {
    pub api_version: u32,
    pub server_time: DateTime<Utc>,
    /// To send back on the next poll.
    pub cursor: String,
    pub changed: bool,
    /// When true, `messages` is everything that applies and the agent must
    /// consider anything else it holds as no longer addressed to it.
    #[serde(default)]
    pub full: bool,
    /// New messages and new revisions of known ones, valid now or later.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// Messages that no longer apply.
    #[serde(default)]
    pub stopped: Vec<Stopped>,
    pub settings: Settings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Stopped {
    pub id: String,
    pub reason: StopReason,
}

/// Settings the server hands to every agent at each poll.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Settings {
    pub poll_interval_secs: u64,
    /// Set when the agent is older than the version the server asks for.
    #[serde(default)]
    pub version_warning: Option<String>,
    /// Whether the agent should hold a push stream (`GET PUSH_PATH`).
    #[serde(default)]
    pub push: PushMode,
    /// In inbound mode, once the agent has announced a port: the key that
    /// signs the server's calls to this agent (user and host), hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push_secret: Option<String>,
    /// The longest do-not-disturb the agent allows, in minutes, when the
    /// central server sets one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_dnd_minutes: Option<u64>,
    /// The UI language when the desktop's locale names none Herald has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Where settings came from that are not this server's own
    /// configuration: a setting's name (as `herald-server prefs` names
    /// it) and its origin, e.g. "central server, via site plant-a".
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub origins: std::collections::BTreeMap<String, String>,
}

/// How the server tells agents to check at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum PushMode {
    /// Polling only.
    #[default]
    Off,
    /// The agent keeps a Server-Sent Events stream open; the server sends
    /// `check` events on it (hints, never content) and a comment line as a
    /// heartbeat every `PUSH_HEARTBEAT_SECS`.
    Stream,
    /// Agents that listen (`push_listen` in their config) announce a port
    /// in their polls; the server calls them at `INBOUND_PATH`, signed with
    /// `Settings::push_secret`. Agents that do not listen poll only.
    Inbound,
}

impl PushMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PushMode::Off => "off",
            PushMode::Stream => "stream",
            PushMode::Inbound => "inbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [PushMode::Off, PushMode::Stream, PushMode::Inbound]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// The push stream: `GET` with the agent token and `?host=NAME`.
pub const PUSH_PATH: &str = "/api/v1/push";
/// The server writes at least this often on a push stream.
pub const PUSH_HEARTBEAT_SECS: u64 = 15;
/// The SSE event name of a hint.
pub const PUSH_EVENT_CHECK: &str = "check";

/// One receipt in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Receipt {
    pub message_id: String,
    pub revision: u32,
    pub kind: ReceiptKind,
    /// When it happened on the agent, in server time.
    pub at: DateTime<Utc>,
    /// For `answered`: the answer chosen, 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<u8>,
    /// The language of the version shown, when the message has several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `POST /api/v1/receipts`. The user is the token's; it is never in the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptBatch {
    pub host: String,
    pub receipts: Vec<Receipt>,
}

/// Answer to a receipt batch. Every receipt is accounted for once: recorded
/// now, already recorded before, or rejected for good.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptAnswer {
    pub recorded: u32,
    pub duplicates: u32,
    pub rejected: Vec<RejectedReceipt>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RejectedReceipt {
    pub index: usize,
    pub reason: String,
}
