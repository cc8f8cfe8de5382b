//! What the push stream carries to agents that ask for changes
//! (`?changes=1`): the change itself, so that an alert needs no poll.

use serde::{Deserialize, Serialize};

use crate::{Message, StopReason};

/// The query parameter by which an agent asks its stream for changes, not
/// only hints. Agents that predate it read only `ready` and `check`, with
/// lines of at most 4 KiB, so they are never sent a change.
pub const PUSH_CHANGES_PARAM: &str = "changes";
/// The SSE event name of a change.
pub const PUSH_EVENT_CHANGE: &str = "change";
/// The SSE event name of the stream's start; its data is a `PushReady`.
pub const PUSH_EVENT_READY: &str = "ready";
/// The longest change event an agent reads: a message at the body limit in
/// every language it may carry, with room to spare.
pub const MAX_PUSH_EVENT_BYTES: usize = 4 * 1024 * 1024;

/// The data of a `ready` event on a stream that carries changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushReady {
    /// True when the stream picks up after the `Last-Event-ID` the agent
    /// gave, with every change since replayed: the agent need not poll.
    /// False: the agent polls once, and what comes after is on the stream.
    #[serde(default)]
    pub resumed: bool,
}

/// One change, as every stream it reaches receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushedChange {
    /// The server's change sequence when the change was read; for logs.
    pub seq: i64,
    /// A new message or a new revision, signed as in a poll answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// A message that stops: withdrawn, or read on another computer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<PushedStop>,
}

/// A stop, with the revision it concerns: a stop that arrives after a
/// newer revision does not touch it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushedStop {
    pub id: String,
    pub revision: u32,
    pub reason: StopReason,
}

/// A message the agent took from its stream since its last poll: the next
/// poll names it, so that the server's record of what the agent holds
/// includes it (and a later stop reaches it by poll too).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Held {
    pub id: String,
    pub revision: u32,
}

/// The most `Held` entries a poll may name.
pub const MAX_HELD: usize = 1000;
