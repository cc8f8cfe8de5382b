//! One message in several languages: each desktop shows its own, the
//! receipts say which, on real agents and popups under Xvfb.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{gui, press, wait_for, wait_no_window, wait_window, Agent, Server};
use serde_json::json;

fn agent_in(server: &Server, token: &str, host: &str, locale: &str) -> Agent {
    Agent::in_locale(&server.url, token, host, locale)
}

#[test]
fn one_message_in_three_languages_each_desktop_reads_its_own() {
    let Some(_screen) = gui() else { return };
    let server = Server::start_with(&["--poll-interval", "1"]);
    let people = [
        ("alice", "pc-en", "en_GB.UTF-8", "Fire drill", "en"),
        ("bruno", "pc-fr", "fr_FR.UTF-8", "Exercice incendie", "fr"),
        // The Swiss desktop reads the German version: the primary language.
        ("carla", "pc-de", "de_CH.UTF-8", "Feueralarmübung", "de"),
    ];
    let agents: Vec<Agent> = people
        .iter()
        .map(|(user, host, lang, ..)| {
            let token = server.add_user(user, &[]);
            agent_in(&server, &token, host, lang)
        })
        .collect();
    let sent = server.api(
        "POST",
        "/api/v1/admin/messages",
        &json!({
            "to": ["all"], "severity": "warning", "receipt": "both",
            "title": "Fire drill", "body": "Leave by the **east** stairs.", "lang": "en",
            "translations": [
                {"lang": "fr", "title": "Exercice incendie", "body": "Sortez par l'escalier **est**."},
                {"lang": "de", "title": "Feueralarmübung", "body": "Verlassen Sie das Gebäude über die **Osttreppe**."}
            ]
        }),
    );
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["translations"].as_array().unwrap().len(), 2);
    for (agent, (_, _, _, title, _)) in agents.iter().zip(&people) {
        let _run = agent.start(&[]);
        let w = wait_window(title);
        press(&w, &["Tab", "Return"]);
        wait_no_window(title);
        agent.wait_state(&id, "read");
        let held = agent.all();
        let m = held.iter().find(|m| m["id"] == id.as_str()).unwrap();
        assert_eq!(m["state"], "read");
    }
    // Whatever a stopped agent had not sent yet goes now.
    for agent in &agents {
        agent.sync();
    }
    // Each read reached the server with the language its user saw.
    wait_for("three read receipts", Duration::from_secs(20), || {
        server
            .receipts(&id)
            .iter()
            .filter(|r| r["kind"] == "read")
            .count()
            == 3
    });
    for (user, host, _, _, lang) in people {
        let receipts = server.receipts(&id);
        let read = receipts
            .iter()
            .find(|r| r["kind"] == "read" && r["user"] == user)
            .unwrap();
        assert_eq!(read["host"], host);
        assert_eq!(read["lang"], lang, "{user}: {read}");
    }
}

fn chrono_now(answer: &serde_json::Value) -> chrono::DateTime<chrono::Utc> {
    serde_json::from_value(answer["server_time"].clone()).unwrap()
}

/// A poll as an agent that predates languages and answers sends it.
fn old_poll(server: &Server, token: &str, host: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args(["-sS", "--fail-with-body", "-m", "10", "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .args(["-H", "Content-Type: application/json", "--data-binary"])
        .arg(json!({"host": host, "cursor": null, "agent_version": "0.0.9"}).to_string())
        .arg(format!("{}/api/v1/poll", server.url))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn an_answer_on_one_computer_reaches_the_report_and_clears_the_others() {
    let server = Server::start_with(&["--poll-interval", "1"]);
    let token = server.add_user("alice", &[]);
    let office = agent_in(&server, &token, "pc-office", "fr_FR.UTF-8");
    let laptop = agent_in(&server, &token, "pc-laptop", "en_US.UTF-8");
    let sent = server.api(
        "POST",
        "/api/v1/admin/messages",
        &json!({
            "to": ["user:alice"], "severity": "alert",
            "title": "Evacuation", "body": "Leave now.", "lang": "en",
            "answers": ["I am safe", "I need help"],
            "translations": [{"lang": "fr", "title": "Évacuation", "body": "Sortez.",
                              "answers": ["Je suis en sécurité", "J'ai besoin d'aide"]}]
        }),
    );
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(sent["sound"], "alert", "alerts ring by default");
    // Before anyone answers: an agent from before languages and answers gets the default version
    // alone, with a signature over just that.
    let old = old_poll(&server, &token, "pc-old");
    let m = old["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == id.as_str())
        .unwrap();
    assert_eq!(m["title"], "Evacuation");
    for field in ["answers", "translations", "lang", "sound", "display"] {
        assert!(m.get(field).is_none(), "{field} sent to an old agent: {m}");
    }
    let key = herald_protocol::signing::parse_public_key(&server.public_key()).unwrap();
    let as_old: herald_protocol::Message = serde_json::from_value(m.clone()).unwrap();
    let mut trust = herald_protocol::signing::Trust::new(&[key]);
    assert_eq!(trust.verify(&as_old, chrono_now(&old)), Ok(()));
    office.sync();
    laptop.sync();
    // Reading is not enough: the message asks for an answer.
    let refused = office.run(&["ack", &id]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--answer"));
    office.ok(&["ack", &id, "--answer", "2"]);
    office.sync();
    let receipts = server.receipts(&id);
    let answered: Vec<_> = receipts
        .iter()
        .filter(|r| r["kind"] == "answered")
        .collect();
    assert_eq!(answered.len(), 1, "{receipts:?}");
    assert_eq!(answered[0]["answer"], 2);
    assert_eq!(answered[0]["lang"], "fr");
    assert_eq!(answered[0]["host"], "pc-office");
    // The laptop drops it, as for a message read elsewhere.
    laptop.sync();
    assert_ne!(laptop.state_of(&id), "staged");
    let report = server.api(
        "GET",
        &format!("/api/v1/admin/messages/{id}/report"),
        &json!(null),
    );
    assert_eq!(report["answered"], 1);
    assert_eq!(report["answers"][1]["count"], 1);
    assert_eq!(report["answers"][1]["percent"], 100.0);
}
