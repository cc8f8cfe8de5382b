//! The push hub: the agents holding a stream open, and the hints sent to them. A
//! hint says only "check now"; the agent then polls as usual, so push adds
//! no path by which content or state could differ from polling.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::mpsc;

use crate::domain::directory::targets::{fold, Targets};

/// Streams one user may hold from one host. An agent holds one; a few more
/// cover a reconnection before the server has noticed the old stream die.
/// Beyond that, the oldest is closed, so one token cannot pile up streams.
pub const MAX_STREAMS_PER_AGENT: usize = 4;

/// Streams one user may hold over all hosts, whatever host names are
/// claimed: a person is at a few computers at once, not hundreds, and a
/// leaked token must not hold the server's memory and sockets.
pub const MAX_STREAMS_PER_USER: usize = 32;

/// An open stream; its names are folded.
struct Stream {
    user: String,
    host: String,
    hint: mpsc::Sender<()>,
}

#[derive(Default)]
struct Streams {
    by_id: HashMap<u64, Stream>,
    /// Folded user name → that user's stream ids, oldest first: the caps
    /// are checked without looking at anyone else's streams.
    by_user: HashMap<String, Vec<u64>>,
    /// Folded hosts whose streams were hinted and that have not polled
    /// since: their next poll will find a change, so it skips the
    /// read-only first look. A hint, never trusted for anything else.
    hinted: HashSet<String>,
    /// Set at shutdown: no stream is taken any more.
    closed: bool,
}

impl Streams {
    fn remove(&mut self, id: u64) {
        let Some(st) = self.by_id.remove(&id) else {
            return;
        };
        if let Some(ids) = self.by_user.get_mut(&st.user) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_user.remove(&st.user);
            }
        }
        self.hinted.remove(&st.host);
    }
}

/// The open push streams.
#[derive(Default, Clone)]
pub struct Hub {
    streams: Arc<Mutex<Streams>>,
    next: Arc<AtomicU64>,
}

/// A registered stream; dropping it unregisters.
pub struct Registration {
    hub: Hub,
    id: u64,
    pub hints: mpsc::Receiver<()>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.streams.lock().remove(self.id);
    }
}

impl Hub {
    /// Takes a stream for `user` at `host`. After `close_all`, the stream
    /// it returns ends at once.
    pub fn register(&self, user: &str, host: &str) -> Registration {
        // One pending hint is enough: a poll covers every change before it.
        let (hint, hints) = mpsc::channel(1);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (user, host) = (fold(user), fold(host));
        let mut s = self.streams.lock();
        if s.closed {
            // Dropping the sender ends the stream.
            return Registration {
                hub: self.clone(),
                id,
                hints,
            };
        }
        let mine: Vec<u64> = s.by_user.get(&user).cloned().unwrap_or_default();
        let same_host: Vec<u64> = mine
            .iter()
            .copied()
            .filter(|i| s.by_id.get(i).is_some_and(|st| st.host == host))
            .collect();
        // Dropping a stream's sender ends it; the oldest go first.
        for old in same_host
            .iter()
            .take((same_host.len() + 1).saturating_sub(MAX_STREAMS_PER_AGENT))
        {
            s.remove(*old);
        }
        let left: Vec<u64> = s.by_user.get(&user).cloned().unwrap_or_default();
        for old in left
            .iter()
            .take((left.len() + 1).saturating_sub(MAX_STREAMS_PER_USER))
        {
            s.remove(*old);
        }
        s.by_user.entry(user.clone()).or_default().push(id);
        s.by_id.insert(id, Stream { user, host, hint });
        drop(s);
        Registration {
            hub: self.clone(),
            id,
            hints,
        }
    }

    /// Hints every stream the targets reach; returns how many.
    pub fn notify(&self, targets: &Targets) -> usize {
        let mut guard = self.streams.lock();
        let s = &mut *guard;
        let mut n = 0;
        for st in s
            .by_id
            .values()
            .filter(|st| targets.reaches_folded(&st.user, &st.host))
        {
            // Full means a hint is already pending: nothing is lost.
            let _ = st.hint.try_send(());
            s.hinted.insert(st.host.clone());
            n += 1;
        }
        n
    }

    /// Whether a stream on `host` was hinted since that host last asked;
    /// asking clears it.
    pub fn take_hinted(&self, host: &str) -> bool {
        let mut s = self.streams.lock();
        !s.hinted.is_empty() && s.hinted.remove(&fold(host))
    }

    /// Folded names of the hosts holding a stream now.
    pub fn streaming_hosts(&self) -> std::collections::HashSet<String> {
        let s = self.streams.lock();
        s.by_id.values().map(|st| st.host.clone()).collect()
    }

    pub fn connected(&self) -> usize {
        self.streams.lock().by_id.len()
    }

    /// Ends every stream and takes no more: the server is stopping, and an
    /// open stream would otherwise hold it up for ever.
    pub fn close_all(&self) {
        let mut s = self.streams.lock();
        s.closed = true;
        s.by_id.clear();
        s.by_user.clear();
        s.hinted.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_reach_only_their_targets_and_coalesce() {
        let hub = Hub::default();
        let mut ann = hub.register("Ann", "pc-1");
        let mut bob = hub.register("bob", "kiosk");
        let mut t = Targets::default();
        t.add_user("ANN");
        assert_eq!(hub.notify(&t), 1);
        assert_eq!(hub.notify(&t), 1);
        assert!(ann.hints.try_recv().is_ok());
        assert!(
            ann.hints.try_recv().is_err(),
            "two hints were not coalesced"
        );
        assert!(hub.take_hinted("PC-1"));
        assert!(!hub.take_hinted("pc-1"), "a hint was taken twice");
        assert!(!hub.take_hinted("kiosk"));
        assert!(bob.hints.try_recv().is_err());
        let mut by_host = Targets::default();
        by_host.add_host("KIOSK");
        assert_eq!(hub.notify(&by_host), 1);
        assert!(bob.hints.try_recv().is_ok());
        drop(bob);
        assert_eq!(hub.connected(), 1);
        assert_eq!(hub.notify(&Targets::everyone()), 1);
        hub.close_all();
        assert!(ann.hints.try_recv().is_ok(), "a pending hint was lost");
        assert!(matches!(
            ann.hints.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
        let mut late = hub.register("ann", "pc-1");
        assert!(late.hints.try_recv().is_err());
        assert_eq!(hub.connected(), 0, "a stream was taken after shutdown");
    }

    #[test]
    fn one_agent_cannot_pile_up_streams() {
        let hub = Hub::default();
        let mut first = hub.register("ann", "pc-1");
        let _more: Vec<_> = (0..MAX_STREAMS_PER_AGENT)
            .map(|_| hub.register("ANN", "pc-1"))
            .collect();
        let _other_host = hub.register("ann", "pc-2");
        assert_eq!(hub.connected(), MAX_STREAMS_PER_AGENT + 1);
        assert!(
            matches!(
                first.hints.try_recv(),
                Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
            ),
            "the oldest stream was not closed"
        );
    }

    #[test]
    fn one_token_cannot_pile_up_streams_under_many_host_names() {
        let hub = Hub::default();
        let mut first = hub.register("ann", "host-0");
        let _more: Vec<_> = (1..=MAX_STREAMS_PER_USER + 10)
            .map(|i| hub.register("Ann", &format!("host-{i}")))
            .collect();
        let _bob = hub.register("bob", "host-0");
        assert_eq!(hub.connected(), MAX_STREAMS_PER_USER + 1);
        assert!(matches!(
            first.hints.try_recv(),
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected)
        ));
    }
}
