//! An agent as the bench runs it: the real core (store, sync, push) or a
//! light one, which keeps only what it was sent; both wake on their push
//! stream and note when the probe is first among what they hold.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use herald_core::push::stream as push;
use herald_core::push::PushEvent;
use herald_core::schedule;
use herald_core::store::StoreHandle;
use herald_core::sync::{self, Endpoint, SyncClient};
use herald_protocol::PushedChange;
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// Set once the figures are taken: from then on, failures are the bench
/// stopping the servers.
pub static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The title of the alert being waited for. It is set before the alert is
/// sent: a change can reach an agent before `send` has its answer.
pub type Probe = Option<String>;

/// When each agent first held the probe.
pub type Found = Arc<Mutex<Vec<Instant>>>;

/// Polls of light agents in flight at once: one process cannot hold a
/// connection per agent besides its stream.
pub const LIGHT_PARALLEL_POLLS: usize = 2048;

/// Keep-alive connections the light agents share for their polls, and the
/// turn each poll waits for.
pub struct LightPool {
    pub addr: String,
    pub idle: Mutex<Vec<TcpStream>>,
    pub gate: tokio::sync::Semaphore,
}

/// The part of a poll answer a light agent keeps.
#[derive(serde::Deserialize)]
struct LightAnswer {
    cursor: String,
    messages: Vec<Titled>,
}

#[derive(serde::Deserialize)]
struct Titled {
    title: String,
}

/// A light agent's memory: its cursor and the titles it was sent. It
/// polls over plain HTTP/1.1 with no client library, as a load generator
/// does: the desktops' CPU is not the server's, and here they share two
/// cores with it.
pub struct Light {
    pub pool: Arc<LightPool>,
    pub endpoint: Endpoint,
    pub cursor: Option<String>,
    pub titles: std::collections::HashSet<String>,
}

impl Light {
    pub async fn poll(&mut self) -> Result<()> {
        let pool = Arc::clone(&self.pool);
        let _turn = pool.gate.acquire().await?;
        let idle = self.pool.idle.lock().ok().and_then(|mut i| i.pop());
        if let Some(conn) = idle {
            // The server closes connections left idle: then once more, anew.
            if self.poll_on(conn).await.is_ok() {
                return Ok(());
            }
        }
        let conn = TcpStream::connect(&self.pool.addr).await?;
        self.poll_on(conn).await
    }

    async fn poll_on(&mut self, mut conn: TcpStream) -> Result<()> {
        let body = serde_json::to_vec(&herald_protocol::PollRequest {
            host: self.endpoint.host.clone(),
            cursor: self.cursor.clone(),
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            push_port: None,
            content: herald_protocol::CONTENT_VERSION,
            pushed: Vec::new(),
        })?;
        let mut request = format!(
            "POST /api/v1/poll HTTP/1.1\r\nhost: bench\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            self.endpoint.token,
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        conn.write_all(&request).await?;
        let (status, answer) = read_answer(&mut conn).await?;
        if status != 200 {
            bail!("poll answered {status}");
        }
        let answer: LightAnswer = serde_json::from_slice(&answer)?;
        self.cursor = Some(answer.cursor);
        self.titles
            .extend(answer.messages.into_iter().map(|m| m.title));
        if let Ok(mut idle) = self.pool.idle.lock() {
            idle.push(conn);
        }
        Ok(())
    }

    fn has(&self, title: &str) -> bool {
        self.titles.contains(title)
    }
}

/// Reads one HTTP/1.1 answer with a content length: its status and body.
async fn read_answer(conn: &mut TcpStream) -> Result<(u16, Vec<u8>)> {
    let mut buf = Vec::with_capacity(4096);
    loop {
        let mut chunk = [0u8; 4096];
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            bail!("the server closed the connection");
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 16];
        let mut resp = httparse::Response::new(&mut headers);
        let httparse::Status::Complete(head) = resp.parse(&buf)? else {
            continue;
        };
        let length: usize = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
            .context("an answer without a length")?;
        let status = resp.code.unwrap_or(0);
        while buf.len() < head + length {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                bail!("the server closed the connection");
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        return Ok((status, buf[head..head + length].to_vec()));
    }
}

/// An agent as the bench runs it: the real core (store and sync), or a
/// light one.
pub enum Agent {
    Real {
        store: StoreHandle,
        client: SyncClient,
    },
    Light(Light),
}

impl Agent {
    /// Takes a change from the stream, as the agent does; returns the title
    /// of the message it stored, if any. The store has it once `apply`
    /// returns: its transaction is committed.
    async fn apply(&mut self, change: PushedChange) -> Result<Option<String>> {
        let title = change.message.as_ref().map(|m| m.title.clone());
        match self {
            Agent::Real { store, client } => {
                let applied = herald_core::push::apply::apply(store, client, change).await?;
                Ok(title.filter(|_| applied.received > 0))
            }
            Agent::Light(light) => {
                if let Some(t) = &title {
                    light.titles.insert(t.clone());
                }
                Ok(title)
            }
        }
    }

    async fn sync(&mut self) -> Result<()> {
        match self {
            Agent::Real { store, client } => {
                sync::sync_once(store, client).await?;
                Ok(())
            }
            Agent::Light(light) => light.poll().await,
        }
    }

    async fn has(&self, title: &str) -> bool {
        match self {
            Agent::Real { store, .. } => store
                .read(|s| s.messages())
                .await
                .is_ok_and(|ms| ms.iter().any(|m| m.title == title)),
            Agent::Light(light) => light.has(title),
        }
    }
}

/// What wakes an agent: a poll to make (`None`), or a change to apply.
type Wake = Option<Box<PushedChange>>;

/// One agent: syncs on a hint or on its own poll schedule, applies what
/// its stream brings, and notes when the probe is first in what it holds.
pub async fn agent(
    mut agent: Agent,
    probe: watch::Receiver<Probe>,
    mut wake: mpsc::UnboundedReceiver<Wake>,
    interval: Duration,
    found: Found,
) {
    let mut seen: Option<String> = None;
    // Agents in the field poll at random phases, not all from one start.
    let mut next_poll = Instant::now() + interval.mul_f64(rand::rng().random());
    let mut hints = true;
    loop {
        let change = tokio::select! {
            () = tokio::time::sleep_until(next_poll.into()) => {
                next_poll = Instant::now() + schedule::poll_delay(interval, 0, rand::rng().random());
                None
            }
            w = wake.recv(), if hints => match w {
                None => { hints = false; continue }
                Some(change) => change,
            },
        };
        let done = match change {
            Some(change) => agent.apply(*change).await,
            None => agent.sync().await.map(|()| None),
        };
        let stored = match done {
            Ok(stored) => stored,
            Err(e) => {
                // Every poll fails once the bench stops the server.
                if !DONE.load(std::sync::atomic::Ordering::Relaxed) {
                    eprintln!("sync failed: {e:#}");
                }
                continue;
            }
        };
        let Some(title) = probe.borrow().clone() else {
            continue;
        };
        if seen.as_deref() == Some(&title) {
            continue;
        }
        // What a pushed change stored needs no second look in the store.
        if stored.as_deref() == Some(&title) || agent.has(&title).await {
            found.lock().map(|mut f| f.push(Instant::now())).ok();
            seen = Some(title);
        }
    }
}

/// Holds an agent's push stream, reconnecting, and wakes the agent on
/// every event.
pub fn hold_stream(
    http: reqwest::Client,
    endpoint: Endpoint,
    wake_tx: mpsc::UnboundedSender<Wake>,
    connected: Arc<std::sync::atomic::AtomicUsize>,
) {
    // The agent's own stream holder, reconnection included.
    tokio::spawn(async move {
        push::hold_forever(&http, &endpoint, |e| {
            match &e {
                PushEvent::Connected => {
                    connected.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                // Every stream ends when the bench stops the server.
                PushEvent::Lost(why) if !DONE.load(std::sync::atomic::Ordering::Relaxed) => {
                    eprintln!("stream lost: {why}");
                }
                _ => {}
            }
            match e {
                PushEvent::Connected | PushEvent::Hint => {
                    let _ = wake_tx.send(None);
                }
                PushEvent::Change(change) => {
                    let _ = wake_tx.send(Some(change));
                }
                _ => {}
            }
            true
        })
        .await;
    });
}
