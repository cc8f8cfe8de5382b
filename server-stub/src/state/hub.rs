//! The push hub: the agents holding a stream open, and what is written to
//! them. A change is formatted once and the same bytes are queued on every
//! stream it reaches: the change itself on streams that asked for changes,
//! a `check` hint on the others (the agent then polls). Each stream has a
//! bounded queue; a stream that falls behind is closed, never waited for.
//! The latest changes are kept, so that a stream that comes back with the
//! id of the last event it read (`Last-Event-ID`) misses nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::domain::directory::targets::{fold, Targets};
use crate::domain::messages::audience::Audience;

/// Streams one user may hold from one host. An agent holds one; a few more
/// cover a reconnection before the server has noticed the old stream die.
/// Beyond that, the oldest is closed, so one token cannot pile up streams.
pub const MAX_STREAMS_PER_AGENT: usize = 4;

/// Streams one user may hold over all hosts, whatever host names are
/// claimed: a person is at a few computers at once, not hundreds, and a
/// leaked token must not hold the server's memory and sockets.
pub const MAX_STREAMS_PER_USER: usize = 32;

/// Events a stream may have waiting. A stream this far behind is stuck
/// (its agent reads nothing) and is closed: its agent, if alive, comes
/// back and polls. The events are shared bytes, so the queue holds
/// pointers, not copies.
pub const STREAM_QUEUE: usize = 64;

/// Changes kept for streams that come back, and the most names their
/// audiences may hold in all: an alert to everyone by group holds every
/// member's name, and fifty thousand of them are a few megabytes.
pub const REPLAY_CHANGES: usize = 256;
pub const REPLAY_NAMES: usize = 200_000;

/// Whom a change reaches.
#[derive(Debug, Clone)]
pub enum Reach {
    /// As a hint reaches: maybe more than a poll would tell, never fewer.
    Targets(Targets),
    /// Exactly those a poll would tell.
    Audience(Audience),
    /// Every stream of one user (folded).
    User(String),
}

impl Reach {
    fn reaches(&self, st: &Stream) -> bool {
        match self {
            Reach::Targets(t) => t.reaches_folded(&st.user, &st.host),
            Reach::Audience(a) => a.reaches(&st.user, &st.host, st.proven),
            Reach::User(u) => *u == st.user,
        }
    }

    /// Whether what it reaches is exactly what a poll would say: only
    /// then may a stream be sent the change itself.
    fn exact(&self) -> bool {
        !matches!(self, Reach::Targets(_))
    }

    fn weight(&self) -> usize {
        match self {
            Reach::Targets(_) | Reach::User(_) => 1,
            Reach::Audience(a) => a.weight(),
        }
    }
}

/// What a stream is sent.
#[derive(Debug, Clone)]
pub enum Event {
    /// "Check now": poll.
    Check(Bytes),
    /// A change, as the agent applies it.
    Change(Bytes),
}

/// An open stream; its names are folded.
struct Stream {
    user: String,
    host: String,
    proven: bool,
    /// Whether it asked for changes, not only hints.
    changes: bool,
    tx: mpsc::Sender<Event>,
    /// A check is queued: one is as good as many.
    check_queued: Arc<AtomicBool>,
}

/// A change kept for streams that come back.
struct Kept {
    n: u64,
    reach: Arc<Reach>,
    change: Option<Bytes>,
    check: Bytes,
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
    /// The number of the latest change; event ids count from it.
    last: u64,
    kept: VecDeque<Kept>,
    kept_weight: usize,
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

    /// Queues a change on one stream (`change` to a stream that asked for
    /// changes, else the hint `check`); false when the stream is full.
    fn send(&mut self, id: u64, change: Option<&Bytes>, check: &Bytes) -> bool {
        let Some(st) = self.by_id.get(&id) else {
            return true;
        };
        let event = match (change, st.changes) {
            (Some(change), true) => Event::Change(change.clone()),
            _ => {
                self.hinted.insert(st.host.clone());
                if st.check_queued.swap(true, Ordering::AcqRel) {
                    return true;
                }
                Event::Check(check.clone())
            }
        };
        !matches!(
            st.tx.try_send(event),
            Err(mpsc::error::TrySendError::Full(_))
        )
    }

    fn keep(&mut self, kept: Kept) {
        self.kept_weight += kept.reach.weight();
        self.kept.push_back(kept);
        while self.kept.len() > REPLAY_CHANGES || self.kept_weight > REPLAY_NAMES {
            let Some(old) = self.kept.pop_front() else {
                break;
            };
            self.kept_weight -= old.reach.weight();
        }
    }

    /// The changes after `n` if every one is still kept.
    fn since(&self, n: u64) -> Option<impl Iterator<Item = &Kept>> {
        if n > self.last {
            return None;
        }
        let first = self.kept.front().map_or(self.last + 1, |k| k.n);
        (first <= n + 1).then(|| self.kept.iter().filter(move |k| k.n > n))
    }
}

/// A change to tell agents of, as instances announce it to each other:
/// it names the change, and each instance reads what it is once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Message `id` was sent, revised or withdrawn.
    Message(String),
    /// `user` read or answered revision `revision` of message `id`.
    Read {
        id: String,
        revision: u32,
        user: String,
    },
}

impl Notice {
    /// As a `NOTIFY` payload.
    pub fn encode(&self) -> String {
        match self {
            Notice::Message(id) => format!("m {id}"),
            Notice::Read { id, revision, user } => format!("r {id} {revision} {user}"),
        }
    }

    pub fn decode(s: &str) -> Option<Notice> {
        let mut parts = s.splitn(4, ' ');
        match (parts.next()?, parts.next(), parts.next(), parts.next()) {
            ("m", Some(id), None, None) => Some(Notice::Message(id.to_owned())),
            ("r", Some(id), Some(rev), Some(user)) => Some(Notice::Read {
                id: id.to_owned(),
                revision: rev.parse().ok()?,
                user: user.to_owned(),
            }),
            _ => None,
        }
    }
}

/// Notices waiting to be read and written out, one at a time and in
/// order, so that a later state is never overtaken by an earlier one.
#[derive(Default)]
struct Pending {
    queue: VecDeque<Notice>,
    draining: bool,
}

/// The open push streams.
#[derive(Clone)]
pub struct Hub {
    pending: Arc<Mutex<Pending>>,
    streams: Arc<Mutex<Streams>>,
    next: Arc<AtomicU64>,
    /// Names this run of this instance in event ids: an id from another
    /// instance or an earlier run cannot be resumed from here.
    instance: Arc<str>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            pending: Arc::default(),
            streams: Arc::default(),
            next: Arc::default(),
            instance: crate::tokens::random_id(8).into(),
        }
    }
}

/// Who asks for a stream.
pub struct Asker<'a> {
    pub user: &'a str,
    pub host: &'a str,
    pub proven: bool,
    /// It asked for changes (`?changes=1`), not only hints.
    pub changes: bool,
    /// The id of the last event it read, from an earlier stream.
    pub last_event: Option<&'a str>,
}

/// A registered stream; dropping it unregisters.
pub struct Registration {
    hub: Hub,
    id: u64,
    /// What the stream says first.
    pub ready: Bytes,
    /// Whether the stream picks up where the agent's last one stopped.
    pub resumed: bool,
    pub events: mpsc::Receiver<Event>,
    check_queued: Arc<AtomicBool>,
}

impl Registration {
    /// To be called when a queued check is taken off the queue.
    pub fn check_taken(&self) {
        self.check_queued.store(false, Ordering::Release);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.streams.lock().remove(self.id);
    }
}

/// The first event of a stream that asked only for hints.
const READY_HINTS: &[u8] = b"event: ready\ndata: \n\n";

impl Hub {
    /// Takes a stream. After `close_all`, the stream it returns ends at
    /// once.
    pub fn register(&self, who: Asker<'_>) -> Registration {
        let (tx, events) = mpsc::channel(STREAM_QUEUE);
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (user, host) = (fold(who.user), fold(who.host));
        let check_queued = Arc::new(AtomicBool::new(false));
        let mut s = self.streams.lock();
        let mut reg = Registration {
            hub: self.clone(),
            id,
            ready: Bytes::from_static(READY_HINTS),
            resumed: false,
            events,
            check_queued: check_queued.clone(),
        };
        if s.closed {
            // Dropping the sender ends the stream.
            return reg;
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
        s.by_id.insert(
            id,
            Stream {
                user,
                host,
                proven: who.proven,
                changes: who.changes,
                tx,
                check_queued,
            },
        );
        if who.changes {
            reg.resumed = self.resume(&mut s, id, who.last_event);
            let ready = herald_protocol::PushReady {
                resumed: reg.resumed,
            };
            reg.ready = Bytes::from(format!(
                "id: {}:{}\nevent: {}\ndata: {}\n\n",
                self.instance,
                s.last,
                herald_protocol::PUSH_EVENT_READY,
                serde_json::to_string(&ready).unwrap_or_default()
            ));
        }
        drop(s);
        reg
    }

    /// Queues on stream `id` every kept change after the event `last`
    /// that reaches it; false (nothing queued) when some are no longer
    /// kept, or `last` is not this run's.
    fn resume(&self, s: &mut Streams, id: u64, last: Option<&str>) -> bool {
        let Some(n) = last
            .and_then(|l| l.split_once(':'))
            .filter(|(instance, _)| *instance == &*self.instance)
            .and_then(|(_, n)| n.parse::<u64>().ok())
        else {
            return false;
        };
        let Some(st) = s.by_id.get(&id) else {
            return false;
        };
        let Some(missed) = s.since(n) else {
            return false;
        };
        let missed: Vec<(Option<Bytes>, Bytes)> = missed
            .filter(|k| k.reach.reaches(st))
            .map(|k| (k.change.clone(), k.check.clone()))
            .collect();
        if missed.len() > STREAM_QUEUE / 2 {
            return false;
        }
        for (change, check) in missed {
            if !s.send(id, change.as_ref(), &check) {
                return false;
            }
        }
        true
    }

    /// Writes a change to every stream it reaches: `change` (the JSON of a
    /// `PushedChange`) to those that asked for changes when `reach` is
    /// exact, a hint to the rest. Returns how many streams it reached.
    pub fn publish(&self, reach: Reach, change: Option<&str>) -> usize {
        let mut guard = self.streams.lock();
        let s = &mut *guard;
        s.last += 1;
        let n = s.last;
        let change = change.filter(|_| reach.exact()).map(|json| {
            Bytes::from(format!(
                "id: {}:{n}\nevent: {}\ndata: {json}\n\n",
                self.instance,
                herald_protocol::PUSH_EVENT_CHANGE
            ))
        });
        let check = Bytes::from(format!(
            "id: {}:{n}\nevent: {}\ndata: \n\n",
            self.instance,
            herald_protocol::PUSH_EVENT_CHECK
        ));
        let kept = Kept {
            n,
            reach: Arc::new(reach),
            change,
            check,
        };
        let reached: Vec<u64> = s
            .by_id
            .iter()
            .filter(|(_, st)| kept.reach.reaches(st))
            .map(|(id, _)| *id)
            .collect();
        let mut stuck = Vec::new();
        for id in &reached {
            if !s.send(*id, kept.change.as_ref(), &kept.check) {
                stuck.push(*id);
            }
        }
        for id in stuck {
            tracing::info!(stream = id, "push stream closed: it fell behind");
            s.remove(id);
        }
        s.keep(kept);
        reached.len()
    }

    /// Queues a notice; true when the caller is to start draining the
    /// queue (`next_notice`), as nobody is.
    pub fn enqueue(&self, notice: Notice) -> bool {
        let mut p = self.pending.lock();
        p.queue.push_back(notice);
        !std::mem::replace(&mut p.draining, true)
    }

    /// The next notice to drain; `None` ends the draining.
    pub fn next_notice(&self) -> Option<Notice> {
        let mut p = self.pending.lock();
        let next = p.queue.pop_front();
        p.draining = next.is_some();
        next
    }

    /// Hints every stream the targets reach; returns how many.
    pub fn notify(&self, targets: &Targets) -> usize {
        self.publish(Reach::Targets(targets.clone()), None)
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
