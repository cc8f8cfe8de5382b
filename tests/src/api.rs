//! The agent's API by hand, with a user's token: a poll as an agent of a
//! given age sees it, and answered receipts, without a desktop.

use std::process::Command;

use herald_protocol::Message;
use serde_json::{json, Value};

use crate::Server;

/// POSTs `body` as `token`; the status and the answer's JSON (Null if none).
pub fn post(server: &Server, token: &str, path: &str, body: &Value) -> (u16, Value) {
    let out = Command::new("curl")
        .args(["-s", "-m", "10", "-w", "\n%{http_code}", "-X", "POST"])
        .args(["-H", "Content-Type: application/json", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg("--data-binary")
        .arg(body.to_string())
        .arg(format!("{}{path}", server.url))
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').expect("curl's status line");
    (
        status.trim().parse().expect("an HTTP status"),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

/// The message `id` as an agent that says `content` (none: an agent that
/// predates languages and answers) gets it in a full poll.
pub fn polled(server: &Server, token: &str, content: Option<u32>, id: &str) -> Message {
    let mut req = json!({"host": "pc-x", "cursor": null, "agent_version": "0.1.0"});
    if let Some(c) = content {
        req["content"] = json!(c);
    }
    let (status, answer) = post(server, token, "/api/v1/poll", &req);
    assert_eq!(status, 200, "{answer}");
    let m = answer["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["id"] == id)
        .unwrap_or_else(|| panic!("{id} not in {answer}"));
    serde_json::from_value(m.clone()).expect("a message")
}

/// Posts an `answered` receipt for revision 1 of `id`; the server's answer.
pub fn answered(server: &Server, token: &str, host: &str, id: &str, n: u8, lang: &str) -> Value {
    let batch = json!({"host": host, "receipts": [{
        "message_id": id, "revision": 1, "kind": "answered",
        "at": chrono::Utc::now().to_rfc3339(), "answer": n, "lang": lang,
    }]});
    let (status, answer) = post(server, token, "/api/v1/receipts", &batch);
    assert_eq!(status, 200, "{answer}");
    answer
}
