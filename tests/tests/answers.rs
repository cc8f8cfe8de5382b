//! A message in two languages with answers, through the real server and
//! the CLI: what each kind of agent gets, answered receipts from two
//! users' tokens, the report (JSON, text, CSV), `again` to those who chose
//! an answer, and a sender that may not ask for answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use herald_e2e::api::{answered, polled};
use herald_e2e::Server;
use herald_protocol::signing::Trust;
use serde_json::{json, Value};

#[test]
fn answers_in_two_languages_reach_the_report_the_csv_and_again() {
    let server = Server::start();
    let alice = server.add_user("alice", &["staff"]);
    let bob = server.add_user("bob", &["staff"]);
    let _carol = server.add_user("carol", &["staff"]);
    let id = server.ok(&[
        "send",
        "--to",
        "group:staff",
        "--severity",
        "alert",
        "--title",
        "Fire drill",
        "--body",
        "Leave by the stairs.",
        "--answer",
        "I am safe",
        "--answer",
        "I need help",
        "--answer",
        "I am not on site",
        "--lang",
        "fr",
        "--title",
        "Exercice incendie",
        "--body",
        "Sortez par l'escalier.",
        "--answer",
        "Je suis en sécurité",
        "--answer",
        "J'ai besoin d'aide",
        "--answer",
        "Je ne suis pas sur place",
        "--fullscreen",
    ]);
    let id = id.trim();

    let shown: Value = serde_json::from_str(&server.ok(&["show", id, "--json"])).unwrap();
    assert_eq!(shown["lang"], "en", "the server's default language");
    assert_eq!(shown["translations"][0]["lang"], "fr");
    assert_eq!(shown["translations"][0]["title"], "Exercice incendie");
    assert_eq!(shown["answers"].as_array().unwrap().len(), 3);
    assert_eq!(
        (&shown["display"], &shown["sound"]),
        (&json!("fullscreen"), &json!("alert"))
    );
    let text = server.ok(&["show", id]);
    assert!(
        text.contains("[fr]\ntitle: Exercice incendie\nanswer 1: Je suis en sécurité"),
        "{text}"
    );
    let list = server.ok(&["list"]);
    assert!(
        list.contains("languages en,fr; answers \"I am safe\" / \"I need help\" / \"I am not on site\"; fullscreen; sound alert"),
        "{list}"
    );

    // An agent that predates answers gets the default version, signed as
    // it checks signatures; one that says content 1 gets everything.
    let key = herald_protocol::signing::parse_public_key(&server.public_key()).unwrap();
    let old = polled(&server, &alice, None, id);
    assert_eq!(old.title, "Fire drill");
    assert!(old.extras.is_plain() && old.sound.is_none(), "{old:?}");
    Trust::new(&[key]).verify(&old, chrono::Utc::now()).unwrap();
    let new = polled(&server, &alice, Some(1), id);
    assert_eq!(new.extras.answers.len(), 3);
    assert_eq!(new.extras.translations[0].answers[1], "J'ai besoin d'aide");
    Trust::new(&[key]).verify(&new, chrono::Utc::now()).unwrap();

    // alice answers in French, bob in English; answers 0 and 4 are no answers.
    let a = answered(&server, &alice, "pc-a", id, 2, "fr");
    assert_eq!(a["recorded"], 1, "{a}");
    let a = answered(&server, &bob, "pc-b", id, 1, "en");
    assert_eq!(a["recorded"], 1, "{a}");
    for n in [0, 4] {
        let a = answered(&server, &bob, "pc-b", id, n, "en");
        assert_eq!(a["recorded"], 0, "answer {n}: {a}");
        assert_eq!(
            a["rejected"].as_array().unwrap().len(),
            1,
            "answer {n}: {a}"
        );
    }

    let r: Value = serde_json::from_str(&server.ok(&["report", id, "--json"])).unwrap();
    assert_eq!(
        (&r["addressed"], &r["answered"], &r["read"]),
        (&json!(3), &json!(2), &json!(2))
    );
    assert_eq!(r["answers"][0]["count"], 1);
    assert_eq!(r["answers"][1]["count"], 1);
    assert_eq!(r["answers"][1]["percent"], 33.3);
    assert_eq!(r["answers"][2]["count"], 0);
    assert_eq!(r["users"][0]["answered"]["answer"], 2);
    assert_eq!(r["users"][0]["answered"]["lang"], "fr");
    let text = server.ok(&["report", id]);
    for line in [
        "3 addressed, 2 displayed (66%), 2 read (66%), 0 rejected",
        "2 answered (66%)",
        "answer 1 \"I am safe\": 1 (33.3%)",
        "answer 2 \"I need help\": 1 (33.3%)",
        "answer 3 \"I am not on site\": 0 (0%)",
        "not answered (1): carol",
    ] {
        assert!(text.lines().any(|l| l == line), "{line:?} in {text}");
    }
    let alice_line = text.lines().find(|l| l.starts_with("alice\t")).unwrap();
    assert!(
        alice_line.contains("\tanswered 2 \"I need help\" ") && alice_line.ends_with(" in fr"),
        "{alice_line}"
    );

    let csv = server.ok(&["report", id, "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].ends_with(",answer,answer_label,answered_at,answered_host,language"),
        "{csv}"
    );
    assert!(
        lines[1].starts_with("alice,true,") && lines[1].contains(",2,I need help,"),
        "{csv}"
    );
    assert!(lines[1].ends_with(",pc-a (unproven),fr"), "{csv}");
    assert!(
        lines[2].starts_with("bob,") && lines[2].contains(",1,I am safe,"),
        "{csv}"
    );
    assert!(
        lines[3].starts_with("carol,true,") && lines[3].ends_with(",,,,,"),
        "{csv}"
    );

    // Again, to those who need help; then to those who have not answered.
    let to_of = |again: &str| {
        let m: Value = serde_json::from_str(&server.ok(&["show", again.trim(), "--json"])).unwrap();
        m["to"].clone()
    };
    let help = server.ok(&["again", id, "--answered", "2"]);
    assert_eq!(to_of(&help), json!(["user:alice"]));
    let silent = server.ok(&["again", id]);
    assert_eq!(to_of(&silent), json!(["user:carol"]));
    // A follow-up in other words to those who need help: that text alone.
    let follow = server.ok(&[
        "again",
        id,
        "--answered",
        "2",
        "--title",
        "Help is on its way",
        "--body",
        "Stay where you are.",
    ]);
    let m: Value = serde_json::from_str(&server.ok(&["show", follow.trim(), "--json"])).unwrap();
    assert_eq!(m["to"], json!(["user:alice"]));
    assert_eq!(m["title"], "Help is on its way");
    assert!(
        m.get("answers").is_none() && m.get("translations").is_none(),
        "{m}"
    );
    let out = server.admin(&["again", id, "--answered", "4"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("has no answer 4"),
        "{out:?}"
    );

    // Editing one language keeps the other.
    server.ok(&[
        "edit",
        id,
        "--lang",
        "fr",
        "--title",
        "Exercice incendie (2)",
    ]);
    let shown: Value = serde_json::from_str(&server.ok(&["show", id, "--json"])).unwrap();
    assert_eq!(shown["translations"][0]["title"], "Exercice incendie (2)");
    assert_eq!(shown["translations"][0]["body"], "Sortez par l'escalier.");
    assert_eq!(shown["title"], "Fire drill");
    assert_eq!(shown["revision"], 2);
}

#[test]
fn the_cli_says_what_is_wrong_and_senders_need_the_answers_limit() {
    let server = Server::start();
    server.add_user("alice", &["staff"]);
    let fails = |token: Option<&str>, extra: &[&str]| {
        let mut args = vec![
            "send",
            "--to",
            "group:staff",
            "--severity",
            "alert",
            "--title",
            "T",
        ];
        args.extend(extra);
        let out = match token {
            Some(t) => server.admin_as(t, &args),
            None => server.admin(&args),
        };
        assert!(!out.status.success(), "{args:?} was taken");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let e = fails(
        None,
        &[
            "--answer", "A", "--answer", "B", "--lang", "fr", "--body", "x",
        ],
    );
    assert!(e.contains("--lang fr needs a --title and a --body"), "{e}");
    let e = fails(
        None,
        &[
            "--answer", "A", "--answer", "B", "--lang", "fr", "--title", "t", "--body", "b",
            "--answer", "1", "--answer", "2", "--answer", "3",
        ],
    );
    assert!(e.contains("answer"), "{e}");

    server.ok(&["admin", "add", "sam", "--role", "sender"]);
    let limits = [
        "admin",
        "set",
        "sam",
        "--targets",
        "all",
        "--severities",
        "alert",
        "--receipts",
    ];
    server.ok(&limits);
    let sam = server.ok(&["admin", "token", "sam"]).trim().to_owned();
    let e = fails(Some(&sam), &["--answer", "A", "--answer", "B"]);
    assert!(
        e.contains("403") || e.contains("may not ask for answers"),
        "{e}"
    );
    let e = fails(Some(&sam), &["--fullscreen"]);
    assert!(e.contains("fullscreen"), "{e}");

    let mut more = limits.to_vec();
    more.extend(["--answers", "--fullscreen"]);
    server.ok(&more);
    let shown = server.ok(&["admin", "list"]);
    let sam_line = shown.lines().find(|l| l.starts_with("sam")).unwrap();
    assert!(
        sam_line.contains("\tasks for answers\tfullscreen"),
        "{sam_line}"
    );
    server.ok(&[
        "admin",
        "set",
        "sam",
        "--targets",
        "all",
        "--severities",
        "alert",
        "--receipts",
        "--answers",
        "--fullscreen",
    ]);
    let out = server.admin_as(
        &sam,
        &[
            "send",
            "--to",
            "group:staff",
            "--severity",
            "alert",
            "--title",
            "T",
            "--answer",
            "A",
            "--answer",
            "B",
            "--fullscreen",
        ],
    );
    assert!(out.status.success(), "{out:?}");
}
