//! The hub's own tests: hints, changes, resuming, and the caps.

use super::hub::*;
use crate::domain::directory::targets::Targets;
use crate::domain::messages::audience::Audience;
use tokio::sync::mpsc::error::TryRecvError;

fn asker<'a>(user: &'a str, host: &'a str) -> Asker<'a> {
    Asker {
        user,
        host,
        proven: true,
        changes: false,
        last_event: None,
    }
}

fn changes<'a>(user: &'a str, host: &'a str, last_event: Option<&'a str>) -> Asker<'a> {
    Asker {
        changes: true,
        last_event,
        ..asker(user, host)
    }
}

fn text(e: Event) -> String {
    match e {
        Event::Check(b) | Event::Change(b) => String::from_utf8_lossy(&b).into_owned(),
    }
}

fn everyone() -> Reach {
    Reach::Targets(Targets::everyone())
}

#[test]
fn hints_reach_only_their_targets_and_coalesce() {
    let hub = Hub::default();
    let mut ann = hub.register(asker("Ann", "pc-1"));
    let mut bob = hub.register(asker("bob", "kiosk"));
    let mut t = Targets::default();
    t.add_user("ANN");
    assert_eq!(hub.notify(&t), 1);
    assert_eq!(hub.notify(&t), 1);
    // An event without a data line is dropped by EventSource.
    let check = text(ann.events.try_recv().unwrap());
    assert!(check.ends_with("\nevent: check\ndata: \n\n"), "{check}");
    assert!(
        ann.events.try_recv().is_err(),
        "two hints were not coalesced"
    );
    ann.check_taken();
    assert!(hub.take_hinted("PC-1"));
    assert!(!hub.take_hinted("pc-1"), "a hint was taken twice");
    assert!(!hub.take_hinted("kiosk"));
    assert!(bob.events.try_recv().is_err());
    let mut by_host = Targets::default();
    by_host.add_host("KIOSK");
    assert_eq!(hub.notify(&by_host), 1);
    assert!(bob.events.try_recv().is_ok());
    drop(bob);
    assert_eq!(hub.connected(), 1);
    assert_eq!(hub.notify(&Targets::everyone()), 1);
    hub.close_all();
    assert!(ann.events.try_recv().is_ok(), "a pending hint was lost");
    assert!(matches!(
        ann.events.try_recv(),
        Err(TryRecvError::Disconnected)
    ));
    let mut late = hub.register(asker("ann", "pc-1"));
    assert!(late.events.try_recv().is_err());
    assert_eq!(hub.connected(), 0, "a stream was taken after shutdown");
}

#[test]
fn a_change_goes_whole_to_streams_that_ask_and_as_a_hint_to_the_rest() {
    let hub = Hub::default();
    let mut new = hub.register(changes("ann", "pc-1", None));
    let mut old = hub.register(asker("bob", "pc-2"));
    let mut other = hub.register(changes("carl", "pc-3", None));
    assert!(String::from_utf8_lossy(&new.ready).contains("\"resumed\":false"));
    let reach = Reach::User("ann".into());
    assert_eq!(hub.publish(reach, Some("{\"seq\":1}")), 1);
    let said = text(new.events.try_recv().unwrap());
    assert!(
        said.contains("event: change\ndata: {\"seq\":1}\n\n"),
        "{said}"
    );
    assert!(
        old.events.try_recv().is_err(),
        "another user's stream heard it"
    );
    assert!(other.events.try_recv().is_err());
    // Hints are the same change for a stream that asked only for hints,
    // and for everyone when whom it reaches is not exact.
    hub.publish(everyone(), Some("{\"seq\":2}"));
    assert!(matches!(new.events.try_recv(), Ok(Event::Check(_))));
    assert!(matches!(old.events.try_recv(), Ok(Event::Check(_))));
}

#[test]
fn a_stream_that_comes_back_gets_what_it_missed_or_polls() {
    let hub = Hub::default();
    let first = hub.register(changes("ann", "pc-1", None));
    let ready = String::from_utf8_lossy(&first.ready).into_owned();
    let last = ready
        .strip_prefix("id: ")
        .and_then(|r| r.split_once('\n'))
        .map(|(id, _)| id.to_owned())
        .unwrap();
    drop(first);
    hub.publish(Reach::User("ann".into()), Some("{\"seq\":7}"));
    hub.publish(Reach::User("bob".into()), Some("{\"seq\":8}"));
    let mut back = hub.register(changes("ann", "pc-1", Some(&last)));
    assert!(back.resumed);
    assert!(String::from_utf8_lossy(&back.ready).contains("\"resumed\":true"));
    assert!(text(back.events.try_recv().unwrap()).contains("\"seq\":7"));
    assert!(
        back.events.try_recv().is_err(),
        "bob's change was replayed to ann"
    );
    // An id of another run, or older than what is kept, is a poll.
    let elsewhere = hub.register(changes("ann", "pc-1", Some("zzzz:1")));
    assert!(!elsewhere.resumed);
    for i in 0..REPLAY_CHANGES + 1 {
        hub.publish(Reach::User("bob".into()), Some(&format!("{{\"seq\":{i}}}")));
    }
    let late = hub.register(changes("ann", "pc-1", Some(&last)));
    assert!(!late.resumed);
}

#[test]
fn a_stream_that_reads_nothing_is_closed_and_holds_no_one_up() {
    let hub = Hub::default();
    let mut stuck = hub.register(changes("ann", "pc-1", None));
    let mut fine = hub.register(changes("bob", "pc-2", None));
    let mut everyone = Audience::default();
    everyone.set_all_for_tests();
    for i in 0..STREAM_QUEUE + 1 {
        hub.publish(
            Reach::Audience(everyone.clone()),
            Some(&format!("{{\"seq\":{i}}}")),
        );
        assert!(
            fine.events.try_recv().is_ok(),
            "a reading stream missed a change"
        );
    }
    assert_eq!(hub.connected(), 1, "the stuck stream was not closed");
    for _ in 0..STREAM_QUEUE {
        assert!(stuck.events.try_recv().is_ok());
    }
    assert!(matches!(
        stuck.events.try_recv(),
        Err(TryRecvError::Disconnected)
    ));
}

#[test]
fn one_agent_cannot_pile_up_streams() {
    let hub = Hub::default();
    let mut first = hub.register(asker("ann", "pc-1"));
    let _more: Vec<_> = (0..MAX_STREAMS_PER_AGENT)
        .map(|_| hub.register(asker("ANN", "pc-1")))
        .collect();
    let _other_host = hub.register(asker("ann", "pc-2"));
    assert_eq!(hub.connected(), MAX_STREAMS_PER_AGENT + 1);
    assert!(
        matches!(first.events.try_recv(), Err(TryRecvError::Disconnected)),
        "the oldest stream was not closed"
    );
}

#[test]
fn one_token_cannot_pile_up_streams_under_many_host_names() {
    let hub = Hub::default();
    let mut first = hub.register(asker("ann", "host-0"));
    let names: Vec<String> = (1..=MAX_STREAMS_PER_USER + 10)
        .map(|i| format!("host-{i}"))
        .collect();
    let _more: Vec<_> = names
        .iter()
        .map(|h| hub.register(asker("Ann", h)))
        .collect();
    let _bob = hub.register(asker("bob", "host-0"));
    assert_eq!(hub.connected(), MAX_STREAMS_PER_USER + 1);
    assert!(matches!(
        first.events.try_recv(),
        Err(TryRecvError::Disconnected)
    ));
}

#[test]
fn notices_cross_instances_as_text() {
    for n in [
        Notice::Message("abc".into()),
        Notice::Read {
            id: "abc".into(),
            revision: 3,
            user: "Ann Lee".into(),
        },
    ] {
        assert_eq!(Notice::decode(&n.encode()), Some(n));
    }
    assert_eq!(Notice::decode("abc"), None);
    assert_eq!(Notice::decode("r abc x ann"), None);
}
