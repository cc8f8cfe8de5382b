//! The store's transactions: the user's actions with their receipts, and
//! applying server answers.

use chrono::{DateTime, Utc};
use herald_protocol::{
    Message, PollResponse, Receipt, ReceiptKind, ReceiptPolicy, Settings, Severity, StopReason,
    Stopped,
};

use super::tests::temp_store;
use super::{ContactTimes, MessageState, Store};
use crate::error::StoreError;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap()
}

fn wire(id: &str, revision: u32, receipt: ReceiptPolicy) -> Message {
    Message {
        id: id.into(),
        revision,
        severity: Severity::Warning,
        title: format!("{id} r{revision}"),
        body: "body".into(),
        sender: "IT".into(),
        valid_from: t(0),
        valid_until: t(1000),
        receipt,
        revised_at: t(0),
        signature: None,
        extras: Default::default(),
        sound: Default::default(),
    }
}

fn answer(
    at: i64,
    cursor: &str,
    messages: Vec<Message>,
    stopped: Vec<Stopped>,
    full: bool,
) -> PollResponse {
    PollResponse {
        api_version: herald_protocol::API_VERSION,
        server_time: t(at),
        cursor: cursor.into(),
        changed: true,
        full,
        messages,
        stopped,
        settings: Settings {
            poll_interval_secs: 60,
            version_warning: None,
            push: herald_protocol::PushMode::Off,
            push_secret: None,
            ..Default::default()
        },
    }
}

fn times(at: i64) -> ContactTimes {
    ContactTimes {
        started: t(at),
        poll_sent: t(at),
        poll_answered: t(at),
    }
}

fn apply(store: &mut Store, at: i64, a: PollResponse) {
    let sent: Vec<i64> = store
        .pending_receipts(100)
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    store.apply("http://s", &a, &sent, times(at)).unwrap();
}

/// The first contact: one message "m", valid from t(0) to t(1000).
fn seed(store: &mut Store, receipt: ReceiptPolicy) {
    apply(
        store,
        1,
        answer(1, "c1", vec![wire("m", 1, receipt)], vec![], true),
    );
}

fn state(store: &Store, id: &str) -> MessageState {
    store.message(id).unwrap().state
}

#[test]
fn acknowledge_queues_displayed_then_read_once() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Both);
    store.mark_shown("m", t(2)).unwrap();
    store.mark_shown("m", t(3)).unwrap();
    store.acknowledge("m", t(4)).unwrap();
    let kinds: Vec<ReceiptKind> = store
        .pending_receipts(10)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.kind)
        .collect();
    assert_eq!(kinds, [ReceiptKind::Displayed, ReceiptKind::Read]);
    assert_eq!(state(&store, "m"), MessageState::Read);
    assert_eq!(store.message("m").unwrap().read_revision, Some(1));
    // Read twice is refused, and queues nothing.
    assert!(matches!(
        store.acknowledge("m", t(5)),
        Err(StoreError::NotActionable { .. })
    ));
    assert_eq!(store.pending_receipt_count().unwrap(), 2);
}

#[test]
fn policy_none_still_reports_the_read() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::None);
    store.acknowledge("m", t(2)).unwrap();
    let kinds: Vec<ReceiptKind> = store
        .pending_receipts(10)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r.kind)
        .collect();
    assert_eq!(kinds, [ReceiptKind::Read]);
}

#[test]
fn only_due_messages_can_be_acted_on() {
    let (_d, mut store) = temp_store();
    let mut later = wire("later", 1, ReceiptPolicy::Read);
    later.valid_from = t(500);
    apply(&mut store, 1, answer(1, "c1", vec![later], vec![], true));
    let err = store.acknowledge("later", t(2)).unwrap_err().to_string();
    assert!(err.contains("not valid yet"), "{err}");
    assert!(store
        .acknowledge("later", t(2000))
        .unwrap_err()
        .to_string()
        .contains("expired"));
    assert!(matches!(
        store.cancel("nope", t(2)),
        Err(StoreError::NoSuchMessage(_))
    ));
    assert_eq!(store.pending_receipt_count().unwrap(), 0);
}

#[test]
fn cancelled_comes_back_only_after_a_later_contact() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store.cancel("m", t(10)).unwrap();
    assert_eq!(state(&store, "m"), MessageState::Cancelled);
    // A contact that started before the cancel does not bring it back.
    let mut a = answer(12, "c1", vec![], vec![], false);
    a.changed = false;
    store.apply("http://s", &a, &[], times(9)).unwrap();
    assert_eq!(state(&store, "m"), MessageState::Cancelled);
    store.apply("http://s", &a, &[], times(11)).unwrap();
    assert_eq!(state(&store, "m"), MessageState::Staged);
}

#[test]
fn show_waiting_brings_back_valid_cancelled_messages_only() {
    let (_d, mut store) = temp_store();
    apply(
        &mut store,
        1,
        answer(
            1,
            "c1",
            vec![
                wire("a", 1, ReceiptPolicy::Read),
                wire("b", 1, ReceiptPolicy::Read),
                wire("c", 1, ReceiptPolicy::Read),
            ],
            vec![],
            true,
        ),
    );
    store.cancel("a", t(10)).unwrap();
    store.cancel("b", t(10)).unwrap();
    store.acknowledge("c", t(10)).unwrap();
    assert_eq!(store.reopen_cancelled(Some("b"), t(20)).unwrap(), 1);
    assert_eq!(state(&store, "b"), MessageState::Staged);
    assert_eq!(state(&store, "a"), MessageState::Cancelled);
    // Past its validity nothing comes back; a read message never does.
    assert_eq!(store.reopen_cancelled(None, t(5000)).unwrap(), 0);
    assert_eq!(store.reopen_cancelled(None, t(20)).unwrap(), 1);
    assert_eq!(state(&store, "a"), MessageState::Staged);
    assert_eq!(state(&store, "c"), MessageState::Read);
}

#[test]
fn new_revision_is_staged_even_after_read() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store.acknowledge("m", t(2)).unwrap();
    // The same revision again (a full answer) keeps it read.
    apply(
        &mut store,
        3,
        answer(
            3,
            "c2",
            vec![wire("m", 1, ReceiptPolicy::Read)],
            vec![],
            true,
        ),
    );
    assert_eq!(state(&store, "m"), MessageState::Read);
    apply(
        &mut store,
        4,
        answer(
            4,
            "c3",
            vec![wire("m", 2, ReceiptPolicy::Read)],
            vec![],
            false,
        ),
    );
    let m = store.message("m").unwrap();
    assert_eq!(
        (m.state, m.revision, m.title.as_str()),
        (MessageState::Staged, 2, "m r2")
    );
}

#[test]
fn stops_and_full_answers() {
    let (_d, mut store) = temp_store();
    let msgs = vec![
        wire("w", 1, ReceiptPolicy::Read),
        wire("e", 1, ReceiptPolicy::Read),
        wire("r", 1, ReceiptPolicy::Read),
        wire("gone", 1, ReceiptPolicy::Read),
    ];
    apply(&mut store, 1, answer(1, "c1", msgs, vec![], true));
    let stopped = vec![
        Stopped {
            id: "w".into(),
            reason: StopReason::Withdrawn,
        },
        Stopped {
            id: "e".into(),
            reason: StopReason::Expired,
        },
        Stopped {
            id: "r".into(),
            reason: StopReason::ReadElsewhere,
        },
        Stopped {
            id: "unknown".into(),
            reason: StopReason::Withdrawn,
        },
    ];
    apply(&mut store, 2, answer(2, "c2", vec![], stopped, false));
    assert_eq!(state(&store, "w"), MessageState::Withdrawn);
    assert_eq!(state(&store, "e"), MessageState::Expired);
    assert_eq!(state(&store, "r"), MessageState::Read);
    assert_eq!(
        store.message("r").unwrap().note.as_deref(),
        Some("read on another computer")
    );
    // Reading elsewhere queues no receipt here.
    assert_eq!(store.pending_receipt_count().unwrap(), 0);
    // A full answer that leaves "gone" out stops it.
    apply(&mut store, 3, answer(3, "c3", vec![], vec![], true));
    assert_eq!(state(&store, "gone"), MessageState::Withdrawn);
    // And a withdrawn message that applies again is staged again.
    apply(
        &mut store,
        4,
        answer(
            4,
            "c4",
            vec![wire("gone", 1, ReceiptPolicy::Read)],
            vec![],
            true,
        ),
    );
    assert_eq!(state(&store, "gone"), MessageState::Staged);
}

#[test]
fn apply_records_cursor_offset_and_marks_sent_receipts() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Both);
    store.acknowledge("m", t(2)).unwrap();
    let local = ContactTimes {
        started: t(0),
        poll_sent: t(0),
        poll_answered: t(2),
    };
    let sent: Vec<i64> = store
        .pending_receipts(10)
        .unwrap()
        .iter()
        .map(|(id, _)| *id)
        .collect();
    store
        .apply(
            "http://s",
            &answer(61, "c2", vec![], vec![], false),
            &sent,
            local,
        )
        .unwrap();
    let st = store.sync_state().unwrap();
    assert_eq!(st.cursor_for("http://s"), Some("c2"));
    assert_eq!(st.cursor_for("http://other"), None);
    // Server said 61 s when the local midpoint was 1 s: 60 s ahead.
    assert_eq!(st.clock_offset_ms, 60_000);
    assert_eq!(st.server_now(t(0)), t(60));
    assert_eq!(store.pending_receipt_count().unwrap(), 0);
    assert!(store
        .receipts_of("m")
        .unwrap()
        .iter()
        .all(|r| r.sent_at.is_some()));
    assert_eq!(
        store
            .exchange_log(super::LogOrder::NewestFirst)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn failure_changes_only_the_log_and_last_error() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store.acknowledge("m", t(2)).unwrap();
    let before = (
        store.messages().unwrap(),
        store.pending_receipts(10).unwrap(),
        store.sync_state().unwrap(),
    );
    store
        .record_failure("http://s", "connection refused", t(3), 5)
        .unwrap();
    let st = store.sync_state().unwrap();
    assert_eq!(st.last_error.as_deref(), Some("connection refused"));
    assert_eq!(st.failures, 1);
    assert_eq!(store.messages().unwrap(), before.0);
    assert_eq!(store.pending_receipts(10).unwrap(), before.1);
    assert_eq!(
        (st.cursor, st.last_success),
        (before.2.cursor, before.2.last_success)
    );
    let log = store.exchange_log(super::LogOrder::NewestFirst).unwrap();
    assert_eq!(
        (log[0].ok, log[0].error.as_deref()),
        (false, Some("connection refused"))
    );
}

#[test]
fn release_puts_a_shown_message_back_without_receipt_or_cancel() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store.mark_shown("m", t(2)).unwrap();
    store.release("m", t(3)).unwrap();
    assert_eq!(state(&store, "m"), MessageState::Staged);
    assert_eq!(store.pending_receipt_count().unwrap(), 0);
}

#[test]
fn exchange_log_can_be_pruned_by_the_user() {
    let (_d, mut store) = temp_store();
    store.record_failure("http://s", "a", t(1), 1).unwrap();
    store.record_failure("http://s", "b", t(2), 1).unwrap();
    let log = store.exchange_log(super::LogOrder::OldestFirst).unwrap();
    assert_eq!(log[0].error.as_deref(), Some("a"));
    assert_eq!(store.delete_exchange_entries(&[log[0].id]).unwrap(), 1);
    assert_eq!(
        store
            .exchange_log(super::LogOrder::NewestFirst)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_unknown_state_is_an_error_not_staged() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store.acknowledge("m", t(2)).unwrap();
    store
        .conn
        .execute("UPDATE messages SET state = 'snoozed' WHERE id = 'm'", [])
        .unwrap();
    let err = store.message("m").unwrap_err().to_string();
    assert!(err.contains("unknown message state 'snoozed'"), "{err}");
    assert!(store.messages().is_err());
    // The same revision again from the server does not reset it either.
    let again = answer(
        3,
        "c2",
        vec![wire("m", 1, ReceiptPolicy::Read)],
        vec![],
        true,
    );
    let sent: Vec<i64> = vec![];
    assert!(store.apply("http://s", &again, &sent, times(3)).is_err());
    let raw: String = store
        .conn
        .query_row("SELECT state FROM messages WHERE id = 'm'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(raw, "snoozed", "the failed apply changed the row");
}

#[test]
fn an_unknown_receipt_kind_is_kept_and_never_sent_as_read() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Both);
    store.mark_shown("m", t(2)).unwrap();
    store
        .conn
        .execute(
            "INSERT INTO outbox(message_id, revision, kind, at) VALUES ('m', 1, 'forwarded', 5)",
            [],
        )
        .unwrap();
    let pending = store.pending_receipts(10).unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].1.kind, ReceiptKind::Displayed);
    assert_eq!(store.unsendable_receipts().unwrap(), ["forwarded"]);
    // Sending the batch marks only what was sent; the unknown one stays.
    let sent: Vec<i64> = pending.iter().map(|(id, _)| *id).collect();
    let a = answer(3, "c2", vec![], vec![], false);
    store.apply("http://s", &a, &sent, times(3)).unwrap();
    assert!(store.pending_receipts(10).unwrap().is_empty());
    assert_eq!(store.unsendable_receipts().unwrap(), ["forwarded"]);
    assert_eq!(store.pending_receipt_count().unwrap(), 1);
}

#[test]
fn a_time_out_of_range_in_the_store_is_an_error() {
    let (_d, mut store) = temp_store();
    seed(&mut store, ReceiptPolicy::Read);
    store
        .conn
        .execute("UPDATE messages SET valid_until = ?1", [i64::MAX])
        .unwrap();
    let err = store.message("m").unwrap_err().to_string();
    assert!(err.contains("unknown time"), "{err}");
}

#[test]
fn an_answer_is_a_reading_queued_once_with_the_answer_and_the_language_shown() {
    let (_d, mut store) = temp_store();
    let mut m = wire("m", 1, ReceiptPolicy::Both);
    m.extras.lang = Some("en".into());
    m.extras.answers = vec!["Safe".into(), "Help".into()];
    m.extras.translations = vec![herald_protocol::Translation {
        lang: "fr".into(),
        title: "m fr".into(),
        body: "corps".into(),
        answers: vec!["En sécurité".into(), "Aide".into()],
    }];
    apply(&mut store, 1, answer(1, "c1", vec![m], vec![], true));
    let held = store.message("m").unwrap();
    assert_eq!(held.version(&["fr_FR.UTF-8".into()]).title, "m fr");
    // An answer the message does not offer is refused, and changes nothing.
    assert!(matches!(
        store.answer("m", 3, t(2)),
        Err(StoreError::NotActionable { .. })
    ));
    store.mark_shown_in("m", Some("fr"), t(2)).unwrap();
    store.answer("m", 2, t(3)).unwrap();
    assert!(store.answer("m", 1, t(4)).is_err());
    let pending: Vec<Receipt> = store
        .pending_receipts(10)
        .unwrap()
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    let kinds: Vec<_> = pending
        .iter()
        .map(|r| (r.kind, r.answer, r.lang.as_deref()))
        .collect();
    assert_eq!(
        kinds,
        [
            (ReceiptKind::Displayed, None, Some("fr")),
            (ReceiptKind::Answered, Some(2), Some("fr"))
        ]
    );
    let held = store.message("m").unwrap();
    assert_eq!((held.state, held.answer), (MessageState::Read, Some(2)));
    assert_eq!(held.shown_version(&[]).answers[1], "Aide");
    // Reopened (a kill between the answer and the send), nothing doubles.
    let path = store.path().to_owned();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.pending_receipt_count().unwrap(), 2);
}
