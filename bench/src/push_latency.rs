//! How long an alert takes from `send` returning to being staged in every
//! agent's store: N real agent cores (store, sync, and the push stream or
//! the inbound listener), each with its own SQLite store, against a real
//! `herald-server`. Prints p50, p99 and
//! max, and the server's RSS with the N agents connected.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use herald_core::push::inbound::{listener, Keys};
use herald_core::push::stream as push;
use herald_core::push::PushEvent;
use herald_core::store::StoreHandle;
use herald_core::sync::{self, Endpoint, SyncClient};
use herald_core::{config, schedule};
use herald_protocol::PushedChange;
use rand::Rng;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

#[derive(Parser)]
struct Args {
    /// Agents.
    #[arg(long, default_value_t = 1)]
    agents: usize,
    /// Alerts sent, one after the other.
    #[arg(long, default_value_t = 5)]
    alerts: usize,
    /// `stream` (push stream), `inbound` (the server calls each agent's
    /// listener) or `off` (poll only).
    #[arg(long, default_value = "stream")]
    push: String,
    /// The agents' poll interval, in seconds.
    #[arg(long, default_value_t = 300)]
    poll_interval: u64,
    /// The herald-server binary.
    #[arg(long)]
    server: PathBuf,
    /// Agents keep what they were sent in memory instead of a SQLite store
    /// each: past about 4,000 agents the stores need more open files than
    /// one process may hold. The server sees the same streams and polls.
    /// Push streams only.
    #[arg(long)]
    light: bool,
    /// The database every instance uses (`--db` of `herald-server serve`):
    /// a SQLite file in the instance's data directory by default.
    #[arg(long)]
    db: Option<String>,
    /// Runs each server instance on these CPUs only (`taskset -c`), e.g.
    /// `0` for one core; the agents then run on the others.
    #[arg(long)]
    server_cpus: Option<String>,
    /// Server instances on that database (PostgreSQL for more than one).
    /// Agent i holds its stream on and polls instance i mod N, as behind a
    /// round-robin balancer; every alert is sent through the first, so the
    /// others hear of it from the database (LISTEN/NOTIFY).
    #[arg(long, default_value_t = 1)]
    instances: usize,
}

const ADMIN: &str = "bench-admin-token";

/// Set once the figures are taken.
static DONE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(args: &Args, dir: &std::path::Path) -> Result<Server> {
    use std::io::BufRead;
    let mut cmd = match &args.server_cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(&args.server);
            c
        }
        None => Command::new(&args.server),
    };
    let mut child = cmd
        .args(["serve", "--listen", "127.0.0.1:0", "--push", &args.push])
        .args(["--poll-interval", &args.poll_interval.to_string()])
        // Every agent here comes from loopback: one client, as the server
        // counts, far beyond a client's usual share.
        .args(["--max-connections-per-client", "1000000"])
        .args(args.db.iter().flat_map(|db| ["--db", db]))
        .env("HERALD_SERVER_DATA_DIR", dir)
        .env("HERALD_ADMIN_TOKEN", ADMIN)
        .env("HERALD_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start herald-server")?;
    let mut line = String::new();
    let out = child.stdout.take().context("no stdout")?;
    std::io::BufReader::new(out).read_line(&mut line)?;
    let url = line
        .trim()
        .strip_prefix("herald-server listening on ")
        .context("the server did not start")?
        .to_owned();
    Ok(Server { child, url })
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// CPU time the process has used, user and system, in seconds.
fn cpu_secs(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

async fn admin(http: &reqwest::Client, url: &str, path: &str, body: Value) -> Result<Value> {
    let resp = http
        .post(format!("{url}{path}"))
        .bearer_auth(ADMIN)
        .json(&body)
        .send()
        .await?;
    if !resp.status().is_success() {
        bail!("{path}: {}", resp.text().await?);
    }
    Ok(resp.json().await?)
}

/// The title of the alert being waited for. It is set before the alert is
/// sent: a hint can reach an agent before `send` has its answer.
type Probe = Option<String>;

/// Streams opened from one loopback source address.
const AGENTS_PER_SOURCE: usize = 20_000;

/// Polls of light agents in flight at once: one process cannot hold a
/// connection per agent besides its stream.
const LIGHT_PARALLEL_POLLS: usize = 2048;

/// Keep-alive connections the light agents share for their polls, and the
/// turn each poll waits for.
struct LightPool {
    addr: String,
    idle: Mutex<Vec<TcpStream>>,
    gate: tokio::sync::Semaphore,
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
struct Light {
    pool: Arc<LightPool>,
    endpoint: Endpoint,
    cursor: Option<String>,
    titles: std::collections::HashSet<String>,
}

impl Light {
    async fn poll(&mut self) -> Result<()> {
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
enum Agent {
    Real {
        store: StoreHandle,
        client: SyncClient,
    },
    Light(Light),
}

impl Agent {
    /// Takes a change from the stream, as the agent does.
    async fn apply(&mut self, change: PushedChange) -> Result<()> {
        match self {
            Agent::Real { store, client } => {
                herald_core::push::apply::apply(store, client, change).await?;
            }
            Agent::Light(light) => {
                if let Some(m) = change.message {
                    light.titles.insert(m.title);
                }
            }
        }
        Ok(())
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
async fn agent(
    mut agent: Agent,
    probe: watch::Receiver<Probe>,
    mut wake: mpsc::UnboundedReceiver<Wake>,
    interval: Duration,
    found: Arc<Mutex<Vec<Instant>>>,
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
            None => agent.sync().await,
        };
        if let Err(e) = done {
            // Every poll fails once the bench stops the server.
            if !DONE.load(std::sync::atomic::Ordering::Relaxed) {
                eprintln!("sync failed: {e:#}");
            }
            continue;
        }
        let Some(title) = probe.borrow().clone() else {
            continue;
        };
        if seen.as_deref() != Some(&title) && agent.has(&title).await {
            found.lock().map(|mut f| f.push(Instant::now())).ok();
            seen = Some(title);
        }
    }
}

/// Holds an agent's push stream, reconnecting, and wakes the agent on
/// every event.
fn hold_stream(
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

/// Polls the instances have answered, from their metrics.
async fn polls(http: &reqwest::Client, servers: &[Server]) -> Result<u64> {
    let mut n = 0;
    for s in servers {
        let text = http
            .get(format!("{}/api/v1/admin/metrics", s.url))
            .bearer_auth(ADMIN)
            .send()
            .await?
            .text()
            .await?;
        n += text
            .lines()
            .filter(|l| l.starts_with("herald_polls_total{"))
            .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(n)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let args = Args::parse();
    if args.instances == 0 {
        bail!("--instances: at least one");
    }
    if args.instances > 1
        && !args
            .db
            .as_deref()
            .is_some_and(|d| d.starts_with("postgres"))
    {
        bail!("several instances share one PostgreSQL database: give --db postgres://...");
    }
    let tmp = tempfile::tempdir()?;
    // One after the other: the first makes the schema.
    let mut servers = Vec::new();
    for n in 0..args.instances {
        servers.push(start_server(&args, &tmp.path().join(format!("server{n}")))?);
    }
    let server = &servers[0];
    let http = reqwest::Client::new();
    let (probe_tx, probe_rx) = watch::channel::<Probe>(None);
    let found = Arc::new(Mutex::new(Vec::new()));
    // Past about 28,000 streams one source address runs out of ports:
    // agents take turns among loopback addresses.
    let sources = args.agents.div_ceil(AGENTS_PER_SOURCE).max(1);
    let stream_http: Vec<reqwest::Client> = (0..sources)
        .map(|n| {
            let ip = std::net::Ipv4Addr::new(127, 0, 1 + (n / 250) as u8, 1 + (n % 250) as u8);
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .tcp_keepalive(Duration::from_secs(30))
                .local_address(std::net::IpAddr::V4(ip))
                .build()
        })
        .collect::<Result<_, _>>()?;
    let interval = Duration::from_secs(args.poll_interval);
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if args.light && args.push != "stream" {
        bail!("--light is for push streams only");
    }
    let light_pools: Vec<Arc<LightPool>> = servers
        .iter()
        .map(|s| {
            Arc::new(LightPool {
                addr: s.url.trim_start_matches("http://").to_owned(),
                idle: Mutex::new(Vec::new()),
                gate: tokio::sync::Semaphore::new(LIGHT_PARALLEL_POLLS / args.instances),
            })
        })
        .collect();

    for i in 0..args.agents {
        let user = format!("user{i}");
        let created = admin(
            &http,
            &server.url,
            "/api/v1/admin/users",
            json!({"name": user, "groups": ["everyone"]}),
        )
        .await?;
        let token = created["token"].as_str().context("no token")?.to_owned();
        let instance = i % args.instances;
        let url = servers[instance].url.clone();
        if args.light {
            let endpoint = Endpoint {
                server: url.clone(),
                token,
                host: format!("pc-{i}"),
                server_ca: None,
            };
            let mut light = Light {
                pool: light_pools[instance].clone(),
                endpoint: endpoint.clone(),
                cursor: None,
                titles: Default::default(),
            };
            light.poll().await?;
            let (wake_tx, wake_rx) = mpsc::unbounded_channel();
            let http = stream_http[(i / AGENTS_PER_SOURCE) % stream_http.len()].clone();
            hold_stream(http, endpoint, wake_tx, connected.clone());
            tokio::spawn(agent(
                Agent::Light(light),
                probe_rx.clone(),
                wake_rx,
                interval,
                found.clone(),
            ));
            continue;
        }
        let dir = tmp.path().join(format!("agent{i}"));
        let store = StoreHandle::open(&config::store_path(&dir))?;
        let endpoint = Endpoint {
            server: url,
            token,
            host: format!("pc-{i}"),
            server_ca: None,
        };
        let mut client = SyncClient::new(endpoint.clone())?;
        let (wake_tx, wake_rx) = mpsc::unbounded_channel();
        if args.push == "inbound" {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            client.set_push_port(Some(listener.local_addr()?.port()));
            // This poll announces the port and brings the key.
            sync::sync_once(&store, &client).await?;
            let st = store.read(|s| s.sync_state()).await?;
            let keys = Keys {
                secret: Some(st.push_secret.context("no key in the poll answer")?),
                clock_offset_ms: st.clock_offset_ms,
            };
            let (_, keys) = watch::channel(keys);
            let tx = wake_tx.clone();
            tokio::spawn(listener::serve(
                listener,
                endpoint.host.clone(),
                keys,
                move |e| {
                    if matches!(e, PushEvent::Called(_)) {
                        let _ = tx.send(None);
                    } else {
                        eprintln!("inbound call: {e:?}");
                    }
                },
            ));
        } else {
            sync::sync_once(&store, &client).await?;
        }
        if args.push == "stream" {
            hold_stream(stream_http[0].clone(), endpoint, wake_tx, connected.clone());
        }
        tokio::spawn(agent(
            Agent::Real { store, client },
            probe_rx.clone(),
            wake_rx,
            interval,
            found.clone(),
        ));
    }
    if args.push == "stream" {
        let end = Instant::now() + Duration::from_secs(60);
        while connected.load(std::sync::atomic::Ordering::Relaxed) < args.agents {
            if Instant::now() > end {
                bail!("not every agent connected its push stream");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Let the hints of the initial connections settle.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pids: Vec<u32> = servers.iter().map(|s| s.child.id()).collect();
    let rss: Vec<u64> = pids.iter().map(|p| rss_kb(*p)).collect();

    let mut all = Vec::new();
    let polls_before = polls(&http, &servers).await?;
    let cpu_before: f64 = pids.iter().map(|p| cpu_secs(*p)).sum();
    for n in 0..args.alerts {
        found.lock().map(|mut f| f.clear()).ok();
        let title = format!("probe {n}");
        probe_tx.send(Some(title.clone()))?;
        admin(
            &http,
            &server.url,
            "/api/v1/admin/messages",
            json!({"to": ["group:everyone"], "severity": "alert", "title": title, "body": "b"}),
        )
        .await?;
        let sent = Instant::now();
        let limit = interval * 2 + Duration::from_secs(30);
        loop {
            let got = found.lock().map(|f| f.len()).unwrap_or(0);
            if got >= args.agents {
                break;
            }
            if sent.elapsed() > limit {
                bail!("only {got} of {} agents got probe {n}", args.agents);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Found before `send` had its answer counts as no delay.
        let times = found.lock().map(|f| f.clone()).unwrap_or_default();
        all.extend(times.into_iter().map(|t| t.saturating_duration_since(sent)));
    }
    let cpu = pids.iter().map(|p| cpu_secs(*p)).sum::<f64>() - cpu_before;
    let rss_after: Vec<u64> = pids.iter().map(|p| rss_kb(*p)).collect();
    // The polls the alerts caused: hints, or changes an agent could not
    // apply. Those of the agents' own schedules (one per interval each) are
    // counted too.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let polls_after = polls(&http, &servers).await? - polls_before;
    DONE.store(true, std::sync::atomic::Ordering::Relaxed);
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mb = |kbs: &[u64]| -> String {
        kbs.iter()
            .map(|kb| format!("{:.1}", *kb as f64 / 1024.0))
            .collect::<Vec<_>>()
            .join("+")
    };
    let db = match args.db.as_deref() {
        Some(d) if d.starts_with("postgres") => "postgresql",
        _ => "sqlite",
    };
    println!(
        "db={db} instances={} push={}{} agents={} alerts={} samples={} p50={:.0} ms p99={:.0} ms max={:.0} ms server_rss={} MB (after the alerts {} MB) server_cpu={:.0} µs per agent and alert{} polls={} from the first alert to 10 s after the last (poll interval {} s)",
        args.instances,
        args.push,
        if args.light { " (light agents)" } else { "" },
        args.agents,
        args.alerts,
        all.len(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
        mb(&rss),
        mb(&rss_after),
        cpu * 1e6 / (args.agents * args.alerts) as f64,
        args.server_cpus
            .as_deref()
            .map(|c| format!(" (server on CPU {c})"))
            .unwrap_or_default(),
        polls_after,
        args.poll_interval
    );
    Ok(())
}
