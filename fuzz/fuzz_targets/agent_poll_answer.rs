//! A poll answer as a server (or anything posing as one) could send it:
//! parsed, validated, and if valid applied to a real agent store. Nothing
//! may panic, and an answer refused must leave the store unchanged.
#![no_main]

use std::sync::{Mutex, OnceLock};

use herald_core::store::{ContactTimes, Store};
use libfuzzer_sys::fuzz_target;

fn store() -> &'static Mutex<(tempfile::TempDir, Store)> {
    static STORE: OnceLock<Mutex<(tempfile::TempDir, Store)>> = OnceLock::new();
    STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(&dir.path().join("agent.db")).expect("store");
        Mutex::new((dir, store))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(answer) = serde_json::from_slice::<herald_protocol::PollResponse>(data) else {
        return;
    };
    if herald_core::sync::validate(&answer).is_err() {
        return;
    }
    let mut guard = store().lock().unwrap_or_else(|e| e.into_inner());
    let now = chrono::Utc::now();
    let times = ContactTimes {
        started: now,
        poll_sent: now,
        poll_answered: now,
    };
    // A store error (a constraint the answer breaks) is an error, not a panic.
    let _ = guard.1.apply("http://fuzz", &answer, &[], times);
    let _ = guard.1.open_messages();
});
