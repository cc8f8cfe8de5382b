//! Users and groups from a real OpenLDAP (slapd on loopback, started by
//! the test): a dry run that changes nothing, a sync with nested groups and
//! a disabled account, idempotence, directory users guarded from local
//! edits, a removal that stops a pending message, and a directory that
//! cannot be read (down, wrong password, size limit) changing nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::ldap::{self, Slapd, BASE, READER};
use herald_e2e::{wait_for, Agent, Server};
use serde_json::Value;

/// alice is in staff directly, bob through the nested group it; carol is
/// in sales with dave, who is disabled; "erin smith" is no name Herald
/// takes.
fn tree() -> String {
    let person = |uid: &str, extra: &str| {
        format!(
            "dn: uid={uid},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {uid}\nsn: {uid}\n{extra}\n"
        )
    };
    let group = |cn: &str, members: &[&str]| {
        let m: String = members.iter().map(|m| format!("member: {m}\n")).collect();
        format!("dn: cn={cn},ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: {cn}\n{m}\n")
    };
    let p = |uid: &str| format!("uid={uid},ou=people,{BASE}");
    let g = |cn: &str| format!("cn={cn},ou=groups,{BASE}");
    [
        format!("dn: ou=people,{BASE}\nobjectClass: organizationalUnit\nou: people\n\n"),
        format!("dn: ou=groups,{BASE}\nobjectClass: organizationalUnit\nou: groups\n\n"),
        person("alice", ""),
        person("bob", ""),
        person("carol", ""),
        person("dave", "employeeType: disabled\n"),
        person("erin smith", ""),
        group("it", &[&p("bob")]),
        group("staff", &[&g("it"), &p("alice")]),
        group("sales", &[&p("carol"), &p("dave")]),
    ]
    .concat()
}

fn sync_args(dir: &Slapd, pw: &std::path::Path) -> Vec<String> {
    [
        "directory",
        "sync",
        "--schema",
        "openldap",
        "--url",
        &dir.url,
        "--bind-dn",
        READER,
        "--password-file",
        &pw.display().to_string(),
        "--base-dn",
        BASE,
        "--disabled-filter",
        "(employeeType=disabled)",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

fn run(server: &Server, args: &[String], extra: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(extra);
    server.admin(&all)
}

fn ok(server: &Server, args: &[String], extra: &[&str]) -> String {
    let out = run(server, args, extra);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn users(server: &Server) -> Vec<Value> {
    serde_json::from_str(&server.ok(&["user", "list", "--json"])).unwrap()
}

fn user<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|u| u["name"] == name)
        .unwrap_or_else(|| panic!("no user {name} in {list:?}"))
}

#[test]
fn a_dry_run_changes_nothing_and_a_sync_is_complete_and_idempotent() {
    if !ldap::available() {
        return;
    }
    let dir = Slapd::start(&tree(), None);
    let server = Server::start();
    server.add_user("alice", &[]);
    let args = sync_args(&dir, &dir.password_file());

    let dry = ok(&server, &args, &["--dry-run"]);
    for line in [
        "would add user: bob",
        "would adopt local user: alice",
        "would add group: staff",
        "would add member: staff:bob",
        "would add member: staff:alice",
        "would add member: sales:dave",
        "bad user name 'erin smith'",
    ] {
        assert!(dry.contains(line), "{line} missing in:\n{dry}");
    }
    let before = users(&server);
    assert_eq!(before.len(), 1);
    assert_eq!(user(&before, "alice")["source"], "local");

    let done = ok(&server, &args, &[]);
    assert!(done.contains("did add user: carol"), "{done}");
    let after = users(&server);
    assert_eq!(user(&after, "alice")["source"], "directory");
    assert_eq!(
        user(&after, "bob")["groups"],
        serde_json::json!(["it", "staff"])
    );
    assert_eq!(user(&after, "dave")["disabled"], true);
    assert_eq!(user(&after, "carol")["disabled"], false);
    assert!(after.iter().all(|u| u["name"] != "erin smith"));

    let again = ok(&server, &args, &[]);
    assert!(again.contains("nothing to change"), "{again}");
    let status = server.ok(&["directory", "status"]);
    assert!(status.contains("\tok\tup to date"), "{status}");

    // What the directory holds is changed there, not here.
    let out = server.admin(&["group", "add-member", "staff", "carol"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("comes from the directory"));
    let out = server.admin(&["user", "remove", "bob"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("comes from the directory"));
}

#[test]
fn a_user_removed_or_disabled_in_the_directory_stops_receiving() {
    if !ldap::available() {
        return;
    }
    let dir = Slapd::start(&tree(), None);
    let server = Server::start();
    let args = sync_args(&dir, &dir.password_file());
    ok(&server, &args, &[]);

    let carol = Agent::new(&server.url, &server.ok(&["user", "token", "carol"]), "pc-c");
    let dave = Agent::new(&server.url, &server.ok(&["user", "token", "dave"]), "pc-d");
    server.send("group:sales", "info", "Sales meeting at 3", &[]);
    carol.ok(&["sync"]);
    assert_eq!(carol.queue(), ["Sales meeting at 3"]);
    dave.ok(&["sync"]);
    assert!(dave.queue().is_empty(), "a disabled user received it");

    dir.modify(&format!(
        "dn: uid=carol,ou=people,{BASE}\nchangetype: delete\n"
    ));
    let done = ok(&server, &args, &[]);
    assert!(done.contains("did disable user: carol"), "{done}");
    assert!(done.contains("did remove member: sales:carol"), "{done}");
    let out = carol.ok(&["sync"]);
    assert!(out.contains("1 stopped"), "{out}");
    assert!(carol.queue().is_empty());

    // Enabled again in the directory: it comes back.
    dir.modify(&format!(
        "dn: uid=dave,ou=people,{BASE}\nchangetype: modify\ndelete: employeeType\n"
    ));
    let done = ok(&server, &args, &[]);
    assert!(done.contains("did enable user: dave"), "{done}");
    dave.ok(&["sync"]);
    assert_eq!(dave.queue(), ["Sales meeting at 3"]);
}

#[test]
fn a_directory_that_cannot_be_read_completely_changes_nothing() {
    if !ldap::available() {
        return;
    }
    let server = Server::start();
    // A size limit below the number of users: a partial answer.
    let small = Slapd::start(&tree(), Some(2));
    let args = sync_args(&small, &small.password_file());
    let out = run(&server, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("stopped by the directory's size limit"),
        "{err}"
    );
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(users(&server).is_empty());

    let mut dir = Slapd::start(&tree(), None);
    let wrong = dir.password_file().with_file_name("wrong.pw");
    std::fs::write(&wrong, "not it\n").unwrap();
    let out = run(&server, &sync_args(&dir, &wrong), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused the bind"), "{err}");
    assert!(users(&server).is_empty());

    let args = sync_args(&dir, &dir.password_file());
    ok(&server, &args, &[]);
    let before = server.ok(&["user", "list", "--json"]);
    dir.stop();
    let out = run(&server, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot reach the directory"), "{err}");
    assert_eq!(server.ok(&["user", "list", "--json"]), before);
}

#[test]
fn serve_syncs_from_its_config_file_and_reports_failures() {
    if !ldap::available() {
        return;
    }
    let dir = Slapd::start(&tree(), None);
    let conf = tempfile::tempdir().unwrap();
    let write = |name: &str, url: &str| {
        let p = conf.path().join(name);
        std::fs::write(
            &p,
            format!(
                "[directory]\nurl = \"{url}\"\nbind_dn = \"{READER}\"\npassword_file = \"{}\"\n\
                 base_dn = \"{BASE}\"\nschema = \"openldap\"\ninterval_secs = 60\n",
                dir.password_file().display()
            ),
        )
        .unwrap();
        p.display().to_string()
    };
    let good = write("good.toml", &dir.url);
    let server = Server::start_with(&["--config", &good]);
    wait_for("the first sync", Duration::from_secs(20), || {
        server.ok(&["user", "list"]).contains("carol")
    });
    assert!(server.ok(&["directory", "status"]).contains("\tok\t"));

    let dead = write("dead.toml", "ldap://127.0.0.1:9");
    let server = Server::start_with(&["--config", &dead]);
    wait_for("the failed sync reported", Duration::from_secs(20), || {
        server
            .ok(&["directory", "status"])
            .contains("FAILED\tcannot reach the directory")
    });
    assert!(server.ok(&["user", "list"]).trim().is_empty());
}

#[test]
fn ldaps_and_starttls_work_with_the_domains_ca_and_refuse_without_it() {
    if !ldap::available() {
        return;
    }
    let ca = herald_e2e::tls::TestCa::new();
    let dir = Slapd::start_tls(&tree(), &ca);
    let server = Server::start();
    let ca_file = ca.ca.display().to_string();

    // The system's roots do not know the domain's CA: refused, nothing
    // applied, and the reason names the certificate.
    let args = sync_args(&dir, &dir.password_file());
    let out = run(&server, &args, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot reach the directory at ldaps://"),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    assert!(users(&server).is_empty());

    // With the CA, over ldaps://.
    let out = ok(&server, &args, &["--ca-file", &ca_file]);
    assert!(out.contains("alice"), "{out}");
    assert_eq!(users(&server).len(), 4);

    // And by StartTLS on ldap://.
    let mut plain = sync_args(&dir, &dir.password_file());
    let at = plain.iter().position(|a| a == "--url").unwrap();
    plain[at + 1].clone_from(&dir.plain_url);
    ok(&server, &plain, &["--starttls", "--ca-file", &ca_file]);

    // A CA file that is not one is refused by name.
    let out = run(&server, &args, &["--ca-file", "/etc/hostname"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot use the directory's CA file /etc/hostname"),
        "{err}"
    );
}
