//! A poll body as an agent could send it, through the server's full poll
//! (the writer's path) on a real SQLite file holding one user and messages.
#![no_main]

use herald_server::domain::messages::poll;
use herald_server::{AgentPolicy, Error};
use libfuzzer_sys::fuzz_target;

#[path = "../server_world.rs"]
mod server_world;

fuzz_target!(|data: &[u8]| {
    let Ok(req) = serde_json::from_slice::<herald_protocol::PollRequest>(data) else {
        return;
    };
    let policy = AgentPolicy {
        poll_interval_secs: 60,
        min_agent_version: Some("1.0.0".into()),
        push: herald_protocol::PushMode::Stream,
    };
    let mut w = server_world::get();
    let server_world::World { conn, user, .. } = &mut *w;
    match poll::poll(conn, user, &req, &policy, "fuzz", chrono::Utc::now()) {
        Ok(answer) => assert!(!answer.cursor.is_empty()),
        Err(e @ Error::BadRequest(_)) => {
            let text = herald_server::error::public_text(&e);
            assert!(!text.chars().any(char::is_control), "{text:?}");
        }
        Err(e) => panic!("a poll body gave more than a 400: {e}"),
    }
});
