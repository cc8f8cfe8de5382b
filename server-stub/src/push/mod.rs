//! Telling agents that something changed: a hint on a stream or a call to
//! an agent that listens, never content (the agent then polls).

pub mod announce;
pub mod inbound;
pub mod notify;
pub mod stream;
