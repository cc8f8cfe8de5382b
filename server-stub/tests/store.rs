//! Backups and whole copies of a database that holds data, taken by the
//! library as the binary takes them: what they hold and what they refuse.
//! Needs no server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_server::store::backup::{backup, partial_name};
use herald_server::store::db::Location;
use herald_server::store::migrate::copy;

#[test]
fn a_backup_is_whole_checked_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.db");
    let live = herald_server::store::db::open(&db).unwrap();
    herald_server::domain::directory::add_user(&live, "ann", &["staff".into()], chrono::Utc::now())
        .unwrap();
    let out = dir.path().join("copy.db");
    let s = backup(&Location::Sqlite(db.clone()), &out).unwrap();
    assert_eq!((s.users, s.messages), (1, 0));
    assert!(s.schema_version >= 7, "{s:?}");
    assert!(!partial_name(&out).exists());
    let again = backup(&Location::Sqlite(db), &out).unwrap_err().to_string();
    assert!(again.contains("never overwrites"), "{again}");
    let none = backup(
        &Location::Sqlite(dir.path().join("nope.db")),
        &dir.path().join("x.db"),
    );
    assert!(none.unwrap_err().to_string().contains("no database"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_copy_holds_everything_and_refuses_a_destination_with_data() {
    let dir = tempfile::tempdir().unwrap();
    let from = herald_server::store::db::open(&dir.path().join("a.db")).unwrap();
    let now = chrono::Utc::now();
    herald_server::domain::directory::add_user(&from, "ann", &["staff".into()], now).unwrap();
    herald_server::domain::admins::audit::record_as(
        &from,
        "admin-token",
        "127.0.0.1",
        "test",
        "ann",
        "",
        now,
    )
    .unwrap();
    let id: String = herald_server::store::db::meta(&from, "server_id")
        .unwrap()
        .unwrap();

    let to = herald_server::store::db::open(&dir.path().join("b.db")).unwrap();
    let copied = copy(&from, &to).unwrap();
    let rows = |t: &str| copied.iter().find(|(n, _)| *n == t).unwrap().1;
    assert_eq!((rows("users"), rows("audit")), (1, 1));
    assert_eq!(
        herald_server::store::db::meta(&to, "server_id").unwrap(),
        Some(id)
    );

    let again = copy(&from, &to).unwrap_err().to_string();
    assert!(again.contains("already holds data"), "{again}");
}
