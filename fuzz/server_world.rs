//! The server targets' world: a real SQLite file with one user, in a group,
//! and messages to her by user, group and all.

use std::sync::{Mutex, MutexGuard, OnceLock};

use herald_server::domain::directory::{self, User};
use herald_server::domain::messages;

pub struct World {
    _dir: tempfile::TempDir,
    pub conn: rusqlite::Connection,
    pub user: User,
    /// Used by the receipt target, not by the poll target.
    #[allow(dead_code)]
    pub message_ids: Vec<String>,
}

pub fn get() -> MutexGuard<'static, World> {
    static WORLD: OnceLock<Mutex<World>> = OnceLock::new();
    let world = WORLD.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = herald_server::store::db::open(&dir.path().join("s.db")).expect("database");
        let now = chrono::Utc::now();
        let token = directory::add_user(&conn, "ann", &["ops".to_owned()], now).expect("user");
        let mut message_ids = Vec::new();
        for (to, title) in [
            ("group:ops", "to ops"),
            ("user:ann", "to ann"),
            ("all", "to all"),
        ] {
            let new = serde_json::from_value(serde_json::json!({
                "to": [to], "severity": "warning", "title": title, "body": "**b**"
            }))
            .expect("message");
            message_ids.push(messages::create(&conn, new, "fuzz", now).expect("send").id);
        }
        let user = directory::user_by_token(&conn, &token, "pc-fuzz")
            .expect("lookup")
            .expect("the user");
        Mutex::new(World {
            _dir: dir,
            conn,
            user,
            message_ids,
        })
    });
    world.lock().unwrap_or_else(|e| e.into_inner())
}
