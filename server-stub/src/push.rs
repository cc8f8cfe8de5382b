//! Push: the agents holding a stream open, and the hints sent to them. A
//! hint says only "check now"; the agent then polls as usual, so push adds
//! no path by which content or state could differ from polling.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use tokio::sync::mpsc;

/// Who a change concerns. User names and hosts are compared lowercased.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Targets {
    pub all: bool,
    pub users: HashSet<String>,
    pub hosts: HashSet<String>,
}

impl Targets {
    pub fn reaches(&self, user: &str, host: &str) -> bool {
        self.all
            || self.users.iter().any(|u| u.eq_ignore_ascii_case(user))
            || self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }
}

/// Streams one user may hold from one host. An agent holds one; a few more
/// cover a reconnection before the server has noticed the old stream die.
/// Beyond that, the oldest is closed, so one token cannot pile up streams.
pub const MAX_STREAMS_PER_AGENT: usize = 4;

/// Streams one user may hold over all hosts, whatever host names are
/// claimed: a person is at a few computers at once, not hundreds, and a
/// leaked token must not hold the server's memory and sockets.
pub const MAX_STREAMS_PER_USER: usize = 32;

struct Stream {
    user: String,
    host: String,
    hint: mpsc::Sender<()>,
}

/// The open push streams.
#[derive(Default, Clone)]
pub struct Hub {
    streams: Arc<Mutex<HashMap<u64, Stream>>>,
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
        self.hub.streams.lock().remove(&self.id);
    }
}

impl Hub {
    pub fn register(&self, user: &str, host: &str) -> Registration {
        // One pending hint is enough: a poll covers every change before it.
        let (hint, hints) = mpsc::channel(1);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let mut s = self.streams.lock();
        let mut same_user: Vec<(u64, bool)> = s
            .iter()
            .filter(|(_, st)| st.user.eq_ignore_ascii_case(user))
            .map(|(id, st)| (*id, st.host == host))
            .collect();
        same_user.sort_unstable();
        let same_host: Vec<u64> = same_user
            .iter()
            .filter(|(_, h)| *h)
            .map(|(id, _)| *id)
            .collect();
        // Dropping a stream's sender ends it; the oldest go first.
        for old in same_host
            .iter()
            .take((same_host.len() + 1).saturating_sub(MAX_STREAMS_PER_AGENT))
        {
            s.remove(old);
        }
        let left: Vec<u64> = same_user
            .iter()
            .map(|(id, _)| *id)
            .filter(|id| s.contains_key(id))
            .collect();
        for old in left
            .iter()
            .take((left.len() + 1).saturating_sub(MAX_STREAMS_PER_USER))
        {
            s.remove(old);
        }
        s.insert(
            id,
            Stream {
                user: user.to_owned(),
                host: host.to_owned(),
                hint,
            },
        );
        drop(s);
        Registration {
            hub: self.clone(),
            id,
            hints,
        }
    }

    /// Hints every stream the targets reach; returns how many.
    pub fn notify(&self, targets: &Targets) -> usize {
        let s = self.streams.lock();
        let mut n = 0;
        for st in s.values().filter(|st| targets.reaches(&st.user, &st.host)) {
            // Full means a hint is already pending: nothing is lost.
            let _ = st.hint.try_send(());
            n += 1;
        }
        n
    }

    pub fn connected(&self) -> usize {
        self.streams.lock().len()
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
        let t = Targets {
            users: ["ann".to_owned()].into(),
            ..Targets::default()
        };
        assert_eq!(hub.notify(&t), 1);
        assert_eq!(hub.notify(&t), 1);
        assert!(ann.hints.try_recv().is_ok());
        assert!(
            ann.hints.try_recv().is_err(),
            "two hints were not coalesced"
        );
        assert!(bob.hints.try_recv().is_err());
        let by_host = Targets {
            hosts: ["KIOSK".to_owned()].into(),
            ..Targets::default()
        };
        assert_eq!(hub.notify(&by_host), 1);
        assert!(bob.hints.try_recv().is_ok());
        drop(bob);
        assert_eq!(hub.connected(), 1);
        let all = Targets {
            all: true,
            ..Targets::default()
        };
        assert_eq!(hub.notify(&all), 1);
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
