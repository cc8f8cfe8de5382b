//! Light agents in processes of their own. One process may hold only so
//! many open files (20,000 on the machine the figures come from, a hard
//! limit that even root may not raise there), and 50,000 streams need
//! more: the bench splits them among workers, each a copy of this binary
//! run with `--worker`, told what to do on its stdin and answering on its
//! stdout, a line at a time:
//!
//! - in: the plan (JSON); out: `ready` once every stream is connected;
//! - in: `probe TITLE`; out: `armed` once the agents look for it, then
//!   `found T…` once every agent holds it, T the times in microseconds
//!   since the Unix epoch (the processes share no `Instant`, but they share
//!   the clock);
//! - stdin closed: the worker ends.

use std::collections::HashMap;
use std::io::Write;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use herald_core::sync::Endpoint;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use tokio::sync::{mpsc, watch};

use crate::agent::{self, Agent, Found, Light, LightPool, Probe, DONE};

/// What a worker runs.
#[derive(Serialize, Deserialize)]
pub struct Plan {
    /// Each agent's server, token and host name.
    pub agents: Vec<(String, String, String)>,
    /// The loopback address its streams come from: one address has ports
    /// for about 28,000.
    pub source: Ipv4Addr,
    pub poll_interval: u64,
    /// Polls in flight at once, per server.
    pub parallel_polls: usize,
}

/// The worker's side: runs the plan read from stdin until stdin closes.
pub async fn run() -> Result<()> {
    let mut input = BufReader::new(tokio::io::stdin()).lines();
    let plan: Plan = serde_json::from_str(&input.next_line().await?.context("no plan")?)?;
    let n = plan.agents.len();
    let mut pools: HashMap<String, Arc<LightPool>> = HashMap::new();
    let stream_http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Duration::from_secs(30))
        .local_address(std::net::IpAddr::V4(plan.source))
        .build()?;
    let (probe_tx, probe_rx) = watch::channel::<Probe>(None);
    let found: Found = Arc::new(Mutex::new(Vec::new()));
    let connected = Arc::new(AtomicUsize::new(0));
    let interval = Duration::from_secs(plan.poll_interval);
    for (server, token, host) in plan.agents {
        let pool = pools.entry(server.clone()).or_insert_with(|| {
            Arc::new(LightPool {
                addr: server.trim_start_matches("http://").to_owned(),
                idle: Mutex::new(Vec::new()),
                gate: tokio::sync::Semaphore::new(plan.parallel_polls),
            })
        });
        let endpoint = Endpoint {
            server,
            token,
            host,
            server_ca: None,
        };
        let mut light = Light {
            pool: Arc::clone(pool),
            endpoint: endpoint.clone(),
            cursor: None,
            titles: Default::default(),
        };
        light.poll().await?;
        let (wake_tx, wake_rx) = mpsc::unbounded_channel();
        agent::hold_stream(stream_http.clone(), endpoint, wake_tx, connected.clone());
        tokio::spawn(agent::agent(
            Agent::Light(light),
            probe_rx.clone(),
            wake_rx,
            interval,
            found.clone(),
        ));
    }
    let end = Instant::now() + Duration::from_secs(120);
    while connected.load(Ordering::Relaxed) < n {
        if Instant::now() > end {
            bail!(
                "only {} of {n} streams connected",
                connected.load(Ordering::Relaxed)
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    say("ready")?;
    while let Some(line) = input.next_line().await? {
        let title = line
            .strip_prefix("probe ")
            .context("expected `probe TITLE`")?;
        found.lock().map(|mut f| f.clear()).ok();
        probe_tx.send(Some(title.to_owned()))?;
        say("armed")?;
        loop {
            if found.lock().map(|f| f.len()).unwrap_or(0) >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Instants become clock times by their distance from now.
        let (now, clock) = (Instant::now(), SystemTime::now());
        let times: Vec<String> = found
            .lock()
            .map(|f| f.clone())
            .unwrap_or_default()
            .into_iter()
            .map(|t| micros(clock - now.saturating_duration_since(t)).to_string())
            .collect();
        say(&format!("found {}", times.join(" ")))?;
    }
    DONE.store(true, Ordering::Relaxed);
    Ok(())
}

fn say(line: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

fn micros(t: SystemTime) -> u128 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

/// The bench's side of one worker.
pub struct Worker {
    /// Killed when dropped.
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Worker {
    /// Starts a worker on `plan`.
    pub async fn start(plan: &Plan) -> Result<Worker> {
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .arg("--worker")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start a worker")?;
        let mut stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = serde_json::to_vec(plan)?;
        line.push(b'\n');
        stdin.write_all(&line).await?;
        Ok(Worker {
            _child: child,
            stdin,
            lines: BufReader::new(stdout).lines(),
        })
    }

    async fn expect(&mut self, word: &str) -> Result<String> {
        let line = self
            .lines
            .next_line()
            .await?
            .context("a worker ended; its errors are above")?;
        let rest = line
            .strip_prefix(word)
            .with_context(|| format!("a worker said {line:?}, not {word}"))?;
        Ok(rest.trim().to_owned())
    }

    /// Waits until every stream of the worker is connected.
    pub async fn ready(&mut self) -> Result<()> {
        self.expect("ready").await.map(|_| ())
    }

    /// Makes the worker's agents look for `title`.
    pub async fn arm(&mut self, title: &str) -> Result<()> {
        self.stdin
            .write_all(format!("probe {title}\n").as_bytes())
            .await?;
        self.expect("armed").await.map(|_| ())
    }

    /// When each of the worker's agents held the probe.
    pub async fn found(&mut self) -> Result<Vec<SystemTime>> {
        self.expect("found")
            .await?
            .split_whitespace()
            .map(|t| {
                let us: u64 = t.parse()?;
                Ok(SystemTime::UNIX_EPOCH + Duration::from_micros(us))
            })
            .collect()
    }
}
