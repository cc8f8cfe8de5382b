//! A site relay exchanging with the central server by mail only, through
//! real OpenSMTPD and Dovecot on loopback: an alert reaches the site's
//! agent and its receipt comes back; a lost mail is made good, a duplicated
//! or forged one changes nothing, other mail is left alone; `exchange test`
//! names the step that fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::mail::{self, MailServers};
use herald_e2e::{Agent, Server};
use serde_json::Value;

const CENTRAL: &str = "central@herald.test";
const SITE: &str = "plant-m@herald.test";

struct Setup {
    mail: MailServers,
    central: Server,
    relay: Server,
    relay_config: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let mail = MailServers::start(&[(CENTRAL, "central-pw"), (SITE, "site-pw")]);
    let dir = tempfile::tempdir().unwrap();
    let central_config = dir.path().join("central.toml");
    std::fs::write(&central_config, mail.config(CENTRAL, "central-pw")).unwrap();
    let central = Server::start_with(&["--config", central_config.to_str().unwrap()]);
    let keys: Value = serde_json::from_str(&central.ok(&[
        "site",
        "add",
        "plant-m",
        "--transport",
        "mail",
        "--mail",
        SITE,
        "--json",
    ]))
    .unwrap();
    assert_eq!(keys["central_mail"], CENTRAL);
    let relay_config = dir.path().join("relay.toml");
    let write_relay = |password: &str| {
        std::fs::write(
            &relay_config,
            format!(
                "[relay]\nsite = \"plant-m\"\nkey = \"{}\"\ncentral_key = \"{}\"\n\
                 transport = \"mail\"\ncentral_mail = \"{CENTRAL}\"\n\n{}",
                keys["site_key"].as_str().unwrap(),
                keys["central_key"].as_str().unwrap(),
                mail.config(SITE, password)
            ),
        )
        .unwrap();
    };
    write_relay("site-pw");
    let relay = Server::start_with(&["--config", relay_config.to_str().unwrap()]);
    Setup {
        mail,
        central,
        relay,
        relay_config,
        _dir: dir,
    }
}

fn exchange(server: &Server) -> String {
    server.ok(&["exchange"])
}

#[test]
fn bundles_by_mail_deliver_an_alert_and_bring_its_receipt_back_whatever_mail_does() {
    if !mail::available() {
        return;
    }
    let _one = mail::lock();
    let s = setup();
    let token = s.relay.add_user("ann", &[]);
    let agent = Agent::new(&s.relay.url, &token, "pc-ann");
    agent.sync();

    // Down: the central server mails its bundle; the relay reads it.
    let id = s
        .central
        .send("all", "alert", "Gas leak, leave building B", &[]);
    let out = exchange(&s.central);
    assert!(out.contains(&format!("mailed #1 to {SITE}")), "{out}");
    s.mail.wait_mails(SITE, 1);
    let out = exchange(&s.relay);
    assert!(out.contains("received #1 from plant-m: 1 new"), "{out}");
    assert!(out.contains(&format!("mailed #1 to {CENTRAL}")), "{out}");
    assert!(s.mail.mails(SITE).is_empty(), "processed mail is deleted");
    agent.sync();
    assert_eq!(agent.queue(), ["Gas leak, leave building B"]);

    // Up: ann reads it; the receipt goes by mail.
    agent.ok(&["ack", &id]);
    agent.sync();
    exchange(&s.relay);
    s.mail.wait_mails(CENTRAL, 2);
    let out = exchange(&s.central);
    assert!(out.contains("received #1 from plant-m"), "{out}");
    assert!(out.contains("received #2 from plant-m"), "{out}");
    let receipts = s.central.receipts(&id);
    assert!(
        receipts
            .iter()
            .any(|r| r["user"] == "ann" && r["kind"] == "read"),
        "{receipts:?}"
    );

    // A mail lost on the way: the next bundle carries what it held.
    s.central.send("all", "warning", "Lost and found", &[]);
    s.mail.wait_mails(SITE, 1); // the down bundle the last exchange mailed
    let earlier = s.mail.mails(SITE);
    exchange(&s.central);
    let both = s.mail.wait_mails(SITE, earlier.len() + 1);
    let lost: Vec<_> = both.iter().filter(|m| !earlier.contains(m)).collect();
    std::fs::remove_file(lost[0]).unwrap();
    exchange(&s.relay);
    agent.sync();
    assert!(!agent.queue().contains(&"Lost and found".to_owned()));
    exchange(&s.central);
    let arrived = s.mail.wait_mails(SITE, 1);
    // Kept aside to deliver it twice.
    let copy = std::fs::read(&arrived[arrived.len() - 1]).unwrap();
    let out = exchange(&s.relay);
    assert!(out.contains("1 new"), "{out}");
    agent.sync();
    assert!(agent.queue().contains(&"Lost and found".to_owned()));

    // The same mail again, a forged bundle, and someone's lunch invitation.
    s.mail.plant(SITE, &copy);
    let forged = forge(&String::from_utf8_lossy(&copy));
    s.mail.plant(SITE, forged.as_bytes());
    s.mail.plant(
        SITE,
        b"From: bob@herald.test\r\nTo: plant-m@herald.test\r\nSubject: lunch\r\n\r\nNoon?\r\n",
    );
    let before = agent.all();
    let out = s.relay.admin(&["exchange"]);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a refused bundle makes the exchange fail: {said}"
    );
    assert!(
        said.contains("again: a copy of a bundle already applied"),
        "{said}"
    );
    assert!(said.contains("REJECTED"), "{said}");
    let synced = agent.ok(&["sync"]);
    assert!(synced.contains("0 received"), "{synced}");
    assert_eq!(agent.all(), before);
    let left = s.mail.mails(SITE);
    assert_eq!(left.len(), 1, "only the lunch invitation stays");
    assert!(std::fs::read_to_string(&left[0]).unwrap().contains("Noon?"));
    let log: Value = serde_json::from_str(&s.relay.ok(&["exchange", "log", "--json"])).unwrap();
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|l| l["outcome"] == "rejected"),
        "{log}"
    );

    // The site shows as up to date at the central server.
    let sites: Value = serde_json::from_str(&s.central.ok(&["site", "list", "--json"])).unwrap();
    assert_eq!(sites[0]["state"], "up-to-date", "{sites}");
}

#[test]
fn exchange_test_sends_a_mail_reads_it_back_and_names_a_wrong_password() {
    if !mail::available() {
        return;
    }
    let _one = mail::lock();
    let mut s = setup();
    let out = s.relay.ok(&["exchange", "test"]);
    for step in [
        "smtp-dns",
        "smtp-tcp",
        "smtp-login",
        "imap-dns",
        "imap-tcp",
        "imap-login",
        "mailbox",
        "send",
        "read-back",
    ] {
        let line = out
            .lines()
            .find(|l| l.split_whitespace().next() == Some(step))
            .unwrap_or_else(|| panic!("no {step} in {out}"));
        assert!(line.contains(" ok "), "{step}: {out}");
    }
    assert!(
        s.mail.mails(SITE).is_empty(),
        "the test mail deletes itself"
    );

    let text = std::fs::read_to_string(&s.relay_config).unwrap();
    std::fs::write(
        &s.relay_config,
        text.replace("imap_password = \"site-pw\"", "imap_password = \"wrong\""),
    )
    .unwrap();
    s.relay.restart();
    let out = s.relay.admin(&["exchange", "test"]);
    assert!(!out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("imap-login"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("FAILED") && line.contains("refused"),
        "{stdout}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failed at imap-login"),
        "{out:?}"
    );
    let send = stdout.lines().find(|l| l.starts_with("send")).unwrap();
    assert!(send.contains("not checked"), "{stdout}");
}

/// The bundle with its signature changed: the same length, another value.
fn forge(mail: &str) -> String {
    let mut lines = mail.lines().skip_while(|l| l.trim() != "SIGNATURE");
    let first = lines.nth(1).expect("a bundle's signature");
    let other = if first.starts_with("AAAA") {
        "BBBB"
    } else {
        "AAAA"
    };
    mail.replacen(first, &format!("{other}{}", &first[4..]), 1)
}
