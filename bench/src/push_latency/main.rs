//! How long an alert takes from `send` returning to being staged in every
//! agent's store: N real agent cores (store, sync, and the push stream or
//! the inbound listener), each with its own SQLite store, against a real
//! `herald-server`, or light agents in worker processes beside it. Prints
//! p50, p99 and max, the server's CPU per agent and alert, the polls the
//! alerts caused, and the server's RSS with the N agents connected.

mod agent;
mod worker;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context, Result};
use clap::Parser;
use herald_core::config;
use herald_core::push::inbound::{listener, Keys};
use herald_core::push::PushEvent;
use herald_core::store::StoreHandle;
use herald_core::sync::{self, Endpoint, SyncClient};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch};

use agent::{Agent, Found, Probe, DONE, LIGHT_PARALLEL_POLLS};
use worker::{Plan, Worker};

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
    #[arg(long, required_unless_present = "worker")]
    server: Option<PathBuf>,
    /// Agents keep what they were sent in memory instead of a SQLite store
    /// each: past about 4,000 agents the stores need more open files than
    /// one process may hold. The server sees the same streams and polls.
    /// They run in worker processes of up to 15,000 agents each. Push
    /// streams only.
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
    /// Runs light agents as told on stdin (the bench starts its workers
    /// so).
    #[arg(long, hide = true)]
    worker: bool,
}

const ADMIN: &str = "bench-admin-token";

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
    let server = args
        .server
        .as_ref()
        .context("--server: the herald-server binary")?;
    let mut cmd = match &args.server_cpus {
        Some(cpus) => {
            let mut c = Command::new("taskset");
            c.args(["-c", cpus]).arg(server);
            c
        }
        None => Command::new(server),
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

/// Light agents per worker process: with their poll connections, fewer
/// open files than one process may hold here (20,000).
const LIGHT_PER_WORKER: usize = 15_000;

/// Users made at once through the admin API.
const PARALLEL_USERS: usize = 16;

/// Makes `n` users in the group `everyone`; returns their tokens in order.
async fn make_users(http: &reqwest::Client, url: &str, n: usize) -> Result<Vec<String>> {
    let mut tokens = vec![String::new(); n];
    let mut made = tokio::task::JoinSet::new();
    let mut next = 0;
    while next < n || !made.is_empty() {
        while next < n && made.len() < PARALLEL_USERS {
            let (http, url, i) = (http.clone(), url.to_owned(), next);
            made.spawn(async move {
                let body = json!({"name": format!("user{i}"), "groups": ["everyone"]});
                let created = admin(&http, &url, "/api/v1/admin/users", body).await?;
                let token = created["token"].as_str().context("no token")?.to_owned();
                anyhow::Ok((i, token))
            });
            next += 1;
        }
        if let Some(done) = made.join_next().await {
            let (i, token) = done??;
            tokens[i] = token;
        }
    }
    Ok(tokens)
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
    if args.worker {
        return worker::run().await;
    }
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
    let found: Found = Arc::new(Mutex::new(Vec::new()));
    let stream_http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .tcp_keepalive(Duration::from_secs(30))
        .build()?;
    let interval = Duration::from_secs(args.poll_interval);
    let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if args.light && args.push != "stream" {
        bail!("--light is for push streams only");
    }
    let tokens = make_users(&http, &server.url, args.agents).await?;
    // Agent i is served by instance i mod N.
    let assigned: Vec<(String, String, String)> = tokens
        .into_iter()
        .enumerate()
        .map(|(i, token)| {
            (
                servers[i % args.instances].url.clone(),
                token,
                format!("pc-{i}"),
            )
        })
        .collect();
    let mut workers = Vec::new();
    if args.light {
        let count = args.agents.div_ceil(LIGHT_PER_WORKER).max(1);
        let per = args.agents.div_ceil(count).max(1);
        for (w, chunk) in assigned.chunks(per).enumerate() {
            let plan = Plan {
                agents: chunk.to_vec(),
                source: std::net::Ipv4Addr::new(127, 0, 1, 1 + w as u8),
                poll_interval: args.poll_interval,
                parallel_polls: (LIGHT_PARALLEL_POLLS / (count * args.instances)).max(16),
            };
            workers.push(Worker::start(&plan).await?);
        }
        for w in &mut workers {
            w.ready().await?;
        }
    }
    for (i, (url, token, host)) in assigned.into_iter().enumerate() {
        if args.light {
            break;
        }
        let dir = tmp.path().join(format!("agent{i}"));
        let store = StoreHandle::open(&config::store_path(&dir))?;
        let endpoint = Endpoint {
            server: url,
            token,
            host,
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
            agent::hold_stream(stream_http.clone(), endpoint, wake_tx, connected.clone());
        }
        tokio::spawn(agent::agent(
            Agent::Real { store, client },
            probe_rx.clone(),
            wake_rx,
            interval,
            found.clone(),
        ));
    }
    if args.push == "stream" && !args.light {
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
    let mut slowest_send = Duration::ZERO;
    for n in 0..args.alerts {
        found.lock().map(|mut f| f.clear()).ok();
        let title = format!("probe {n}");
        probe_tx.send(Some(title.clone()))?;
        for w in &mut workers {
            w.arm(&title).await?;
        }
        let sending = Instant::now();
        admin(
            &http,
            &server.url,
            "/api/v1/admin/messages",
            json!({"to": ["group:everyone"], "severity": "alert", "title": title, "body": "b"}),
        )
        .await?;
        let (sent, sent_clock) = (Instant::now(), SystemTime::now());
        // The delay counts from the answer: what `send` itself took (it
        // records who the message concerns) is shown beside it.
        slowest_send = slowest_send.max(sent - sending);
        let limit = interval * 2 + Duration::from_secs(30);
        // Found before `send` had its answer counts as no delay.
        for w in &mut workers {
            let times = tokio::time::timeout(limit, w.found())
                .await
                .with_context(|| format!("not every agent got probe {n}"))??;
            all.extend(
                times
                    .into_iter()
                    .map(|t| t.duration_since(sent_clock).unwrap_or_default()),
            );
        }
        if !workers.is_empty() {
            continue;
        }
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
        "db={db} instances={} push={}{} agents={} alerts={} samples={} p50={:.0} ms p99={:.0} ms max={:.0} ms (send answered in {:.0} ms at most) server_rss={} MB (after the alerts {} MB) server_cpu={:.0} µs per agent and alert{} polls={} from the first alert to 10 s after the last (poll interval {} s)",
        args.instances,
        args.push,
        if args.light { " (light agents)" } else { "" },
        args.agents,
        args.alerts,
        all.len(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
        ms(slowest_send),
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
