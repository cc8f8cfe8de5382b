//! Push: how the server tells the agent of a change, either over a stream
//! the agent holds open (`stream`), which carries the change itself
//! (`apply`) or a hint to poll, or by calling the agent (`inbound`), which
//! then polls.

use std::time::Duration;

use herald_protocol::PushedChange;

pub mod apply;
pub mod inbound;
pub mod stream;

/// What the stream tells the agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushEvent {
    /// The stream is open; the agent polls once, then the stream tells it
    /// of what follows.
    Connected,
    /// The stream is open again and picks up where the last one stopped:
    /// nothing was missed, no poll is needed.
    Resumed,
    Hint,
    /// A change to apply.
    Change(Box<PushedChange>),
    /// The stream ended or could not be opened; the text says why.
    Lost(String),
    /// The inbound listener is bound (with the port it really got).
    Listening(std::net::SocketAddr),
    /// The inbound listener cannot listen; the text says why.
    NotListening(String),
    /// A verified call from the server: check now.
    Called(std::net::SocketAddr),
    /// A call that was turned away, and why.
    Rejected {
        from: std::net::SocketAddr,
        reason: String,
    },
}

/// Seconds to wait before reconnecting after `failures` failed attempts:
/// exponential from 1 s, capped at 60 s, the upper half randomised so that
/// agents cut off together do not all return at once. `jitter` in [0, 1).
pub fn reconnect_delay(failures: u32, jitter: f64) -> Duration {
    let base = Duration::from_secs(1u64 << failures.min(6)).min(Duration::from_secs(60));
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}
