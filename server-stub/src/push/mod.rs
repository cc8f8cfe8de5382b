//! Telling agents that something changed: the change itself or a hint on
//! a stream, or a call to an agent that listens (which then polls).

pub mod announce;
pub mod changes;
pub mod inbound;
pub mod notify;
pub mod stream;
