//! The message commands: send, edit, list, show and again, with a
//! message's languages, answers, display and sound.

use anyhow::{Context, Result};
use clap::{ArgMatches, Args};
use herald_protocol::{
    Display, Extras, MessageEdit, MessageInfo, NewMessage, ReceiptPolicy, Severity, Sound,
};
use reqwest::Method;

use crate::client::{seg, AdminClient};
use crate::versions;

const NONE: Option<&()> = None;

#[derive(Args)]
pub struct SendArgs {
    /// Recipients: user:NAME, group:NAME, host:NAME or all, comma-separated.
    #[arg(long, required = true, value_delimiter = ',')]
    pub to: Vec<String>,
    /// Left out, whatever else names them: user:NAME, group:NAME (its
    /// members) or host:NAME, comma-separated.
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    #[arg(long)]
    pub severity: Severity,
    /// The default version's title; after a --lang, that language's.
    #[arg(long, required = true)]
    pub title: Vec<String>,
    /// Markdown body (default version, or after a --lang, that language's).
    #[arg(long)]
    pub body: Vec<String>,
    /// An answer users choose instead of "I have read the message"
    /// (repeat, 2 to 5); after a --lang, its label in that language.
    #[arg(long = "answer", id = "answer", value_name = "LABEL")]
    pub answers: Vec<String>,
    /// Another language (BCP 47: fr, de-CH): the --title, --body and
    /// --answer after it are that language's.
    #[arg(long, value_name = "TAG")]
    pub lang: Vec<String>,
    /// The default version's language (default: en when there are others).
    #[arg(long, value_name = "TAG")]
    pub default_lang: Option<String>,
    /// Cover every monitor until it is read or answered (alerts only).
    #[arg(long)]
    pub fullscreen: bool,
    /// What the message plays when it appears (default: alert for alerts).
    #[arg(long, value_name = "none|alert")]
    pub sound: Option<Sound>,
    /// Valid from (RFC 3339 or +30s/+5m/+2h/+1d; default now).
    #[arg(long)]
    pub from: Option<String>,
    /// Valid until (default 24 hours after valid-from).
    #[arg(long)]
    pub until: Option<String>,
    #[arg(long, default_value = "read")]
    pub receipt: ReceiptPolicy,
    /// Who the message is from, as shown to users.
    #[arg(long)]
    pub sender: Option<String>,
    /// Tell the agents at once, by push (the default for alerts).
    #[arg(long, conflicts_with = "later")]
    pub now: bool,
    /// Let the agents learn of it at their next poll (even an alert).
    #[arg(long)]
    pub later: bool,
}

#[derive(Args)]
pub struct EditArgs {
    pub id: String,
    /// The default version's title; after a --lang, that language's.
    #[arg(long)]
    pub title: Vec<String>,
    #[arg(long)]
    pub body: Vec<String>,
    /// Replaces the answers (repeat); after a --lang, that language's labels.
    #[arg(long = "answer", id = "answer", value_name = "LABEL")]
    pub answers: Vec<String>,
    /// The language whose --title, --body and --answer follow; the other
    /// languages stay as they are. A new one needs a title and a body.
    #[arg(long, value_name = "TAG")]
    pub lang: Vec<String>,
    #[arg(long)]
    pub severity: Option<Severity>,
    #[arg(long)]
    pub until: Option<String>,
}

pub async fn send(a: SendArgs, m: &ArgMatches, c: &AdminClient) -> Result<()> {
    let (default, langs) = versions::split(m)?;
    let translations = langs
        .into_iter()
        .map(versions::Given::into_translation)
        .collect::<Result<Vec<_>>>()?;
    let new = NewMessage {
        to: a.to,
        exclude: a.exclude,
        severity: a.severity,
        title: default.title.context("--title is required")?,
        body: default.body.unwrap_or_default(),
        sender: a.sender,
        valid_from: a.from,
        valid_until: a.until,
        receipt: Some(a.receipt),
        now: match (a.now, a.later) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        },
        extras: Extras {
            lang: a.default_lang,
            translations,
            answers: default.answers,
            display: if a.fullscreen {
                Display::Fullscreen
            } else {
                Display::Popup
            },
        },
        sound: a.sound,
    };
    let msg: MessageInfo = c
        .call(Method::POST, "/api/v1/admin/messages", Some(&new))
        .await?;
    println!("{}", msg.id);
    Ok(())
}

pub async fn edit(a: EditArgs, m: &ArgMatches, c: &AdminClient) -> Result<()> {
    let (default, langs) = versions::split(m)?;
    let path = format!("/api/v1/admin/messages/{}", seg(&a.id));
    let mut edit = MessageEdit {
        title: default.title,
        body: default.body,
        severity: a.severity,
        valid_until: a.until,
        translations: None,
        answers: (!default.answers.is_empty()).then_some(default.answers),
    };
    if !langs.is_empty() {
        // The API replaces every other language at once: the ones not
        // named here are sent back as they are.
        let current: MessageInfo = c.call(Method::GET, &path, NONE).await?;
        let default_lang = current.extras.lang.clone();
        let mut all = current.extras.translations;
        for g in langs {
            let lang = g.lang.clone().unwrap_or_default();
            if default_lang
                .as_deref()
                .is_some_and(|d| d.eq_ignore_ascii_case(&lang))
            {
                edit.title = g.title.or(edit.title);
                edit.body = g.body.or(edit.body);
                if !g.answers.is_empty() {
                    edit.answers = Some(g.answers);
                }
            } else if let Some(t) = all.iter_mut().find(|t| t.lang.eq_ignore_ascii_case(&lang)) {
                g.apply_to(t);
            } else {
                all.push(g.into_translation()?);
            }
        }
        edit.translations = Some(all);
    }
    let msg: MessageInfo = c.call(Method::PATCH, &path, Some(&edit)).await?;
    println!("{} revision {}", msg.id, msg.revision);
    Ok(())
}

pub async fn list(json: bool, c: &AdminClient) -> Result<()> {
    let msgs: Vec<MessageInfo> = c.call(Method::GET, "/api/v1/admin/messages", NONE).await?;
    if json {
        return crate::cli::print_json(&msgs);
    }
    for m in msgs {
        let extras = extras_text(&m);
        println!(
            "{}\tr{}\t{}\t{}\t{} .. {}\t{}\t{}{}",
            m.id,
            m.revision,
            m.severity,
            state(&m),
            m.valid_from.to_rfc3339(),
            m.valid_until.to_rfc3339(),
            crate::cli::recipients_text(&m),
            m.title,
            if extras.is_empty() {
                String::new()
            } else {
                format!("\t{extras}")
            }
        );
    }
    Ok(())
}

pub async fn show(id: &str, json: bool, c: &AdminClient) -> Result<()> {
    let path = format!("/api/v1/admin/messages/{}", seg(id));
    let m: MessageInfo = c.call(Method::GET, &path, NONE).await?;
    if json {
        return crate::cli::print_json(&m);
    }
    println!("id: {}\nrevision: {}", m.id, m.revision);
    println!("severity: {}\nstate: {}", m.severity, state(&m));
    println!(
        "valid: {} .. {}",
        m.valid_from.to_rfc3339(),
        m.valid_until.to_rfc3339()
    );
    println!("to: {}", crate::cli::recipients_text(&m));
    println!("sender: {}\nreceipt: {}", m.sender, m.receipt);
    println!(
        "display: {}\nsound: {}",
        m.extras.display.as_str(),
        m.sound.as_str()
    );
    let x = &m.extras;
    println!(
        "\n[{}] (default)\ntitle: {}",
        x.lang.as_deref().unwrap_or("default language"),
        m.title
    );
    print_answers(&x.answers);
    println!("{}", m.body);
    for t in &x.translations {
        println!("\n[{}]\ntitle: {}", t.lang, t.title);
        print_answers(&t.answers);
        println!("{}", t.body);
    }
    Ok(())
}

fn print_answers(answers: &[String]) {
    for (i, a) in answers.iter().enumerate() {
        println!("answer {}: {a}", i + 1);
    }
}

fn state(m: &MessageInfo) -> &'static str {
    if m.withdrawn_at.is_some() {
        "withdrawn"
    } else {
        "active"
    }
}

/// Languages, answers, display and sound in one column; empty for a plain
/// message.
fn extras_text(m: &MessageInfo) -> String {
    herald_protocol::content::describe(&m.extras, m.sound).join("; ")
}

pub async fn again(
    id: &str,
    answered: Option<u8>,
    words: Option<herald_protocol::FollowUp>,
    c: &AdminClient,
) -> Result<()> {
    let mut path = format!("/api/v1/admin/messages/{}/unread-again", seg(id));
    if let Some(n) = answered {
        path.push_str(&format!("?answer={n}"));
    }
    let m: MessageInfo = match &words {
        Some(w) => c.call(Method::POST, &path, Some(w)).await?,
        None => c.call(Method::POST, &path, NONE).await?,
    };
    println!("{}", m.id);
    eprintln!("sent again to {} users", m.to.len());
    Ok(())
}
