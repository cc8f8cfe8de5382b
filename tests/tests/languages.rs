//! One message in several languages: each desktop shows its own, the
//! receipts say which, on real agents and popups under Xvfb.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use herald_e2e::{gui, press, wait_for, wait_no_window, wait_window, Agent, Server};
use serde_json::json;

/// An agent whose desktop speaks `lang` (as `LANG` writes it).
fn agent_in(server: &Server, token: &str, host: &str, lang: &str) -> Agent {
    let mut a = Agent::new(&server.url, token, host);
    for (k, v) in [
        ("LANG", lang),
        ("LANGUAGE", ""),
        ("LC_ALL", ""),
        ("LC_MESSAGES", ""),
    ] {
        a.env.push((k.into(), v.into()));
    }
    a
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
