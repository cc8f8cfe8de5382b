//! A receipt batch as an agent could send it, recorded on a real SQLite
//! file. Message ids in the input may name the world's real messages.
#![no_main]

use herald_server::domain::messages::poll;
use herald_server::Error;
use libfuzzer_sys::fuzz_target;

#[path = "../server_world.rs"]
mod server_world;

fuzz_target!(|data: &[u8]| {
    let Ok(mut batch) = serde_json::from_slice::<herald_protocol::ReceiptBatch>(data) else {
        return;
    };
    let mut w = server_world::get();
    // "0", "1", "2" stand for the real messages, so that inputs get past
    // "no such message" without guessing random ids.
    for r in &mut batch.receipts {
        if let Some(id) = r
            .message_id
            .parse::<usize>()
            .ok()
            .and_then(|i| w.message_ids.get(i))
        {
            r.message_id = id.clone();
        }
    }
    let server_world::World { conn, user, .. } = &mut *w;
    match poll::record_receipts(conn, user, &batch.host, &batch.receipts, chrono::Utc::now()) {
        Ok(answer) => {
            let settled =
                answer.recorded as usize + answer.duplicates as usize + answer.rejected.len();
            assert_eq!(settled, batch.receipts.len());
        }
        Err(e @ Error::BadRequest(_)) => {
            let text = herald_server::error::public_text(&e);
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        Err(e) => panic!("a receipt batch gave more than a 400: {e}"),
    }
});
