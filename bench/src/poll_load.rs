//! Helpers of `bench/poll-throughput`, which drives the load itself with
//! wrk: `setup` fills a real server with users, groups and messages, gives
//! each user a cursor by polling once, and writes wrk's list of requests;
//! `churn` makes one change at a fixed rate while wrk runs; `bare` is the
//! ceiling, an axum handler that parses the same request and answers the
//! same JSON with no database and no token check.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use clap::{Parser, Subcommand};
use herald_protocol::{PollRequest, PollResponse, PushMode, Settings, API_VERSION};
use serde_json::{json, Value};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Users, groups and messages on a running server; writes the wrk list.
    Setup {
        #[arg(long)]
        server: String,
        #[arg(long)]
        admin_token: String,
        #[arg(long, default_value_t = 1000)]
        users: usize,
        #[arg(long, default_value_t = 10)]
        groups: usize,
        /// Messages to each group.
        #[arg(long, default_value_t = 20)]
        messages: usize,
        /// The Lua file wrk's script reads.
        #[arg(long)]
        lua: PathBuf,
    },
    /// Sends a message every `every_ms` to `to` until killed.
    Churn {
        #[arg(long)]
        server: String,
        #[arg(long)]
        admin_token: String,
        #[arg(long)]
        every_ms: u64,
        #[arg(long)]
        to: String,
    },
    /// The ceiling: a bare handler; prints its address, serves until killed.
    Bare,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Setup {
            server,
            admin_token,
            users,
            groups,
            messages,
            lua,
        } => setup(&server, &admin_token, users, groups.max(1), messages, &lua).await,
        Cmd::Churn {
            server,
            admin_token,
            every_ms,
            to,
        } => churn(&server, &admin_token, every_ms, &to).await,
        Cmd::Bare => bare().await,
    }
}

async fn call(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> Result<Value> {
    let resp = http.post(url).bearer_auth(token).json(body).send().await?;
    if !resp.status().is_success() {
        bail!("{url}: {}", resp.text().await?);
    }
    Ok(resp.json().await?)
}

async fn setup(
    server: &str,
    admin: &str,
    users: usize,
    groups: usize,
    messages: usize,
    lua: &std::path::Path,
) -> Result<()> {
    let http = reqwest::Client::new();
    call(
        &http,
        &format!("{server}/api/v1/admin/users"),
        admin,
        &json!({"name": "bystander"}),
    )
    .await?;
    let mut tokens = Vec::new();
    for i in 0..users {
        let v = call(
            &http,
            &format!("{server}/api/v1/admin/users"),
            admin,
            &json!({"name": format!("user{i:05}"), "groups": [format!("group{}", i % groups)]}),
        )
        .await?;
        tokens.push(v["token"].as_str().context("no token")?.to_owned());
    }
    for g in 0..groups.min(users) {
        for m in 0..messages {
            call(
                &http,
                &format!("{server}/api/v1/admin/messages"),
                admin,
                &json!({"to": [format!("group:group{g}")], "severity": "info",
                        "title": format!("message {m} to group {g}"), "body": "x".repeat(200),
                        "valid_until": "+7d", "now": false}),
            )
            .await?;
        }
    }
    let mut out = String::from("return {\n");
    for (i, token) in tokens.iter().enumerate() {
        let host = format!("pc-{i:05}");
        let poll = |cursor: Option<&str>| json!({"host": host, "cursor": cursor, "agent_version": env!("CARGO_PKG_VERSION")});
        let first = call(&http, &format!("{server}/api/v1/poll"), token, &poll(None)).await?;
        let cursor = first["cursor"].as_str().context("no cursor")?.to_owned();
        let again = call(
            &http,
            &format!("{server}/api/v1/poll"),
            token,
            &poll(Some(&cursor)),
        )
        .await?;
        if again["changed"] != json!(false) {
            bail!("a second poll was not unchanged: {again}");
        }
        let body = poll(Some(&cursor)).to_string();
        out.push_str(&format!("  {{ {:?}, {:?} }},\n", token, body));
    }
    out.push_str("}\n");
    std::fs::write(lua, out).with_context(|| format!("cannot write {}", lua.display()))?;
    Ok(())
}

async fn churn(server: &str, admin: &str, every_ms: u64, to: &str) -> Result<()> {
    let http = reqwest::Client::new();
    let mut tick = tokio::time::interval(Duration::from_millis(every_ms.max(1)));
    for n in 0u64.. {
        tick.tick().await;
        call(
            &http,
            &format!("{server}/api/v1/admin/messages"),
            admin,
            &json!({"to": [to], "severity": "info", "title": format!("change {n}"),
                    "body": "", "valid_until": "+1h", "now": false}),
        )
        .await?;
    }
    Ok(())
}

async fn bare() -> Result<()> {
    async fn poll(Json(req): Json<PollRequest>) -> Json<PollResponse> {
        Json(PollResponse {
            api_version: API_VERSION,
            server_time: Utc::now(),
            cursor: req.cursor.unwrap_or_default(),
            changed: false,
            full: false,
            messages: Vec::new(),
            stopped: Vec::new(),
            settings: Settings {
                poll_interval_secs: 300,
                version_warning: None,
                push: PushMode::Stream,
                push_secret: None,
                ..Default::default()
            },
        })
    }
    let app = Router::new().route("/api/v1/poll", post(poll));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
