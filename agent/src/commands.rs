//! The one-shot commands: each opens the store, does one thing, prints.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use herald_core::config::{self, FileConfig};
use herald_core::control::{ControlError, Request};
use herald_core::signin::SignIn;
use herald_core::store::{LogOrder, Store, StoreHandle, StoredMessage};
use herald_core::{schedule, SyncError};
use serde::Serialize;

use crate::cli::Cli;

/// Settings resolved from flags, environment, config file and defaults.
pub struct Context {
    pub data_dir: PathBuf,
    pub server: Option<String>,
    pub token: Option<String>,
    pub host: String,
    pub push_listen: Option<String>,
    /// A CA to trust for the server, besides the system's.
    pub server_ca: Option<PathBuf>,
    /// Signs the agent in when no token is given.
    pub enroll_key: Option<String>,
    /// Sign in by Kerberos, as this service (default `HTTP@` the
    /// server's host).
    pub kerberos: bool,
    pub kerberos_service: Option<String>,
    /// The computer's own Kerberos ticket, from the machine config only:
    /// a user's word cannot prove the computer's name.
    pub kerberos_machine_ccache: Option<PathBuf>,
    /// The server's message-signing keys (hex), checked.
    pub server_keys: Vec<String>,
    /// How the popup is started on a Wayland session.
    pub popup_display: config::PopupDisplay,
    /// The settings the machine config imposed.
    pub imposed: Vec<&'static str>,
}

impl Context {
    pub fn new(cli: &Cli) -> Result<Self> {
        let file = match cli.config.clone().or_else(config::default_config_file) {
            Some(path) => config::load(&path)?,
            None => FileConfig::default(),
        };
        let machine = config::load(&config::machine_config_file())?;
        let data_dir = cli
            .data_dir
            .clone()
            .or_else(config::default_data_dir)
            .context("no data directory on this system: give --data-dir or HERALD_DATA_DIR")?;
        let non_empty = |v: &Option<String>| {
            v.as_ref()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        let mut imposed = Vec::new();
        if non_empty(&machine.server).is_some() {
            imposed.push("server");
        }
        if non_empty(&machine.push_listen).is_some() {
            imposed.push("push_listen");
        }
        if non_empty(&machine.server_ca).is_some() {
            imposed.push("server_ca");
        }
        if non_empty(&machine.enroll_key).is_some() {
            imposed.push("enroll_key");
        }
        if non_empty(&machine.server_key).is_some() {
            imposed.push("server_key");
        }
        if non_empty(&machine.popup_display).is_some() {
            imposed.push("popup_display");
        }
        let popup_display = config::parse_popup_display(
            &non_empty(&machine.popup_display)
                .or_else(|| non_empty(&file.popup_display))
                .unwrap_or_default(),
        )?;
        let server_keys = match non_empty(&machine.server_key)
            .or_else(|| non_empty(&cli.server_key))
            .or_else(|| non_empty(&file.server_key))
        {
            Some(k) => herald_core::trust::parse_configured(&k)?,
            None => Vec::new(),
        };
        // The machine config is a policy: what it holds wins over the user's
        // flags, environment and file alike.
        Ok(Context {
            data_dir,
            server: non_empty(&machine.server)
                .or_else(|| non_empty(&cli.server))
                .or_else(|| non_empty(&file.server)),
            token: non_empty(&cli.token).or_else(|| non_empty(&file.token)),
            host: non_empty(&cli.host)
                .or_else(|| non_empty(&file.host))
                .unwrap_or_else(config::machine_host_name)
                .to_ascii_lowercase(),
            push_listen: non_empty(&machine.push_listen)
                .or_else(|| non_empty(&cli.push_listen))
                .or_else(|| non_empty(&file.push_listen)),
            server_ca: non_empty(&machine.server_ca)
                .or_else(|| non_empty(&cli.server_ca.as_ref().map(|p| p.display().to_string())))
                .or_else(|| non_empty(&file.server_ca))
                .map(PathBuf::from),
            enroll_key: non_empty(&machine.enroll_key)
                .or_else(|| non_empty(&cli.enroll_key))
                .or_else(|| non_empty(&file.enroll_key)),
            kerberos: machine
                .kerberos
                .or(cli.kerberos.then_some(true))
                .or(file.kerberos)
                .unwrap_or(false),
            kerberos_service: non_empty(&machine.kerberos_service)
                .or_else(|| non_empty(&file.kerberos_service)),
            kerberos_machine_ccache: non_empty(&machine.kerberos_machine_ccache).map(PathBuf::from),
            server_keys,
            popup_display,
            imposed,
        })
    }

    pub fn open_store(&self) -> Result<Store> {
        let path = config::store_path(&self.data_dir);
        Store::open(&path).with_context(|| format!("cannot open the store {}", path.display()))
    }

    /// The store on its own threads, for async code.
    pub fn store_handle(&self) -> Result<StoreHandle> {
        let path = config::store_path(&self.data_dir);
        StoreHandle::open(&path)
            .with_context(|| format!("cannot open the store {}", path.display()))
    }

    /// How the agent gets its token: given, kept from signing in, or by
    /// enrolling now.
    pub fn sign_in(&self) -> Result<SignIn, SyncError> {
        let server = self.server.clone().ok_or(SyncError::NoServer)?;
        let kerberos_service = if self.kerberos || self.kerberos_service.is_some() {
            self.kerberos_service
                .clone()
                .or_else(|| herald_core::signin::kerberos_service_of(&server))
        } else {
            None
        };
        Ok(SignIn {
            kerberos_service,
            server,
            host: self.host.clone(),
            server_ca: self.server_ca.clone(),
            token: self.token.clone(),
            enroll_key: self.enroll_key.clone(),
            machine_ccache: self.kerberos_machine_ccache.clone(),
            server_keys: self.server_keys.clone(),
        })
    }
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

pub fn sync(ctx: &Context, json: bool) -> Result<()> {
    let store = ctx.store_handle()?;
    let rt = runtime()?;
    let sign_in = ctx.sign_in().context("sync failed")?;
    let client = rt.block_on(sign_in.client(&store)).context("sync failed")?;
    let applied = rt
        .block_on(async { sign_in.sync_renewing(&store, &client).await.0 })
        .context("sync failed")?;
    let state = rt.block_on(store.read(|s| s.sync_state()))?;
    if json {
        print_json(&applied)?;
    } else {
        println!(
            "synced with {}: {} received, {} stopped, {} receipts sent",
            client.endpoint().server,
            applied.received,
            applied.stopped,
            applied.receipts_sent
        );
    }
    if let Some(w) = state.version_warning {
        eprintln!("herald-agent: warning: {w}");
    }
    Ok(())
}

/// A message as `queue` prints it; `state` is the effective one.
#[derive(Serialize)]
struct QueueItem<'a> {
    #[serde(flatten)]
    message: &'a StoredMessage,
    due: bool,
}

pub fn queue(ctx: &Context, all: bool, json: bool) -> Result<()> {
    let store = ctx.open_store()?;
    let now = store.sync_state()?.server_now(Utc::now());
    let held = store.messages()?;
    let shown: Vec<StoredMessage> = if all {
        held.iter()
            .map(|m| StoredMessage {
                state: schedule::effective_state(m, now),
                ..m.clone()
            })
            .collect()
    } else {
        schedule::queue(&held, now).into_iter().cloned().collect()
    };
    let items: Vec<QueueItem<'_>> = shown
        .iter()
        .map(|m| QueueItem {
            message: m,
            due: schedule::is_due(m, now),
        })
        .collect();
    if json {
        return print_json(&items);
    }
    if items.is_empty() {
        println!("{}", if all { "no messages" } else { "nothing due" });
    }
    for i in &items {
        let m = i.message;
        println!(
            "{:<10}  {:<7}  {:<9}  r{:<3} {} .. {}  {}",
            m.id,
            m.severity,
            m.state,
            m.revision,
            short(m.valid_from),
            short(m.valid_until),
            m.title
        );
    }
    Ok(())
}

pub fn ack(ctx: &Context, id: &str, answer: Option<u8>) -> Result<()> {
    let mut store = ctx.open_store()?;
    let now = store.sync_state()?.server_now(Utc::now());
    let held = store.message(id)?;
    if held.shown_lang.is_none() && !held.extras.translations.is_empty() {
        // Read from here, it is read in the user's language.
        let languages = herald_core::languages::desktop_languages();
        let lang = held.version(&languages).lang.map(str::to_owned);
        store.mark_shown_in(id, lang.as_deref(), now)?;
    }
    let m = match answer {
        Some(n) => store.answer(id, n, now)?,
        None if !held.extras.answers.is_empty() => anyhow::bail!(
            "message {id} asks for an answer: give --answer N, one of {}",
            numbered(&held.extras.answers)
        ),
        None => store.acknowledge(id, now)?,
    };
    match answer {
        Some(n) => println!("answered {n}: {} (revision {})", m.title, m.revision),
        None => println!("read: {} (revision {})", m.title, m.revision),
    }
    Ok(())
}

/// "1 = Yes, 2 = No".
fn numbered(answers: &[String]) -> String {
    answers
        .iter()
        .enumerate()
        .map(|(i, a)| format!("{} = {a}", i + 1))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn cancel(ctx: &Context, id: &str) -> Result<()> {
    let mut store = ctx.open_store()?;
    let now = store.sync_state()?.server_now(Utc::now());
    let m = store.cancel(id, now)?;
    println!(
        "cancelled: {} (back after the next contact with the server)",
        m.title
    );
    Ok(())
}

#[derive(Serialize)]
struct Status {
    server: Option<String>,
    server_ca: Option<PathBuf>,
    host: String,
    store: PathBuf,
    last_success: Option<DateTime<Utc>>,
    last_attempt: Option<DateTime<Utc>>,
    next_poll: Option<DateTime<Utc>>,
    poll_interval_secs: Option<u64>,
    pending_receipts: i64,
    due: usize,
    failures: u32,
    last_error: Option<String>,
    clock_offset_ms: i64,
    version_warning: Option<String>,
    push_mode: &'static str,
    push_state: Option<String>,
    /// Settings imposed by the machine config.
    machine_config: Vec<&'static str>,
    max_dnd_minutes: Option<u64>,
    language: Option<String>,
    /// Where settings came from that are not the server's own: the central
    /// server's preferences, through a site relay.
    origins: std::collections::BTreeMap<String, String>,
}

pub fn status(ctx: &Context, json: bool) -> Result<()> {
    let store = ctx.open_store()?;
    let st = store.sync_state()?;
    let now = st.server_now(Utc::now());
    let s = Status {
        server: ctx.server.clone().or(st.server.clone()),
        server_ca: ctx.server_ca.clone(),
        host: ctx.host.clone(),
        store: store.path().to_owned(),
        last_success: st.last_success,
        last_attempt: st.last_attempt,
        next_poll: st.next_poll,
        poll_interval_secs: st.poll_interval_secs,
        pending_receipts: store.pending_receipt_count()?,
        due: schedule::queue(&store.open_messages()?, now).len(),
        failures: st.failures,
        last_error: st.last_error.clone(),
        clock_offset_ms: st.clock_offset_ms,
        version_warning: st.version_warning.clone(),
        push_mode: st.push_mode.as_str(),
        push_state: st.push_state.clone(),
        machine_config: ctx.imposed.clone(),
        max_dnd_minutes: st.central.max_dnd_minutes,
        language: st.central.language.clone(),
        origins: st.central.origins.clone(),
    };
    if json {
        return print_json(&s);
    }
    let or_never =
        |t: Option<DateTime<Utc>>| t.map_or_else(|| "never".to_owned(), |t| t.to_rfc3339());
    println!(
        "server:           {}",
        s.server.as_deref().unwrap_or("(not configured)")
    );
    if let Some(ca) = &s.server_ca {
        println!("server CA:        {}", ca.display());
    }
    if !s.machine_config.is_empty() {
        println!(
            "machine config:   {} ({})",
            s.machine_config.join(", "),
            config::machine_config_file().display()
        );
    }
    println!("host:             {}", s.host);
    println!("store:            {}", s.store.display());
    println!("last success:     {}", or_never(s.last_success));
    println!("last attempt:     {}", or_never(s.last_attempt));
    println!(
        "next poll:        {}",
        s.next_poll
            .map_or_else(|| "(agent not running)".into(), |t| t.to_rfc3339())
    );
    println!(
        "push:             {}",
        match (s.push_mode, &s.push_state) {
            ("off", _) => "off (polling only)".to_owned(),
            (mode, Some(state)) => format!("{mode}, {state}"),
            (mode, None) => format!("{mode} (agent not running)"),
        }
    );
    println!("due messages:     {}", s.due);
    println!("pending receipts: {}", s.pending_receipts);
    println!(
        "last error:       {}",
        s.last_error.as_deref().unwrap_or("none")
    );
    if let Some(w) = &s.version_warning {
        println!("warning:          {w}");
    }
    // Each setting the server hands out, and whose it is.
    let from = |key: &str| {
        s.origins
            .get(key)
            .map_or_else(|| "from the server".to_owned(), |o| format!("from the {o}"))
    };
    if let Some(secs) = s.poll_interval_secs {
        println!("poll interval:    {secs} s ({})", from("poll-interval"));
    }
    println!("push mode:        {} ({})", s.push_mode, from("push"));
    if let Some(m) = s.max_dnd_minutes {
        println!("longest DND:      {m} min ({})", from("max-dnd"));
    }
    if let Some(l) = &s.language {
        println!("default language: {l} ({})", from("language"));
    }
    if s.origins.contains_key("min-agent-version") {
        println!("minimum version:  {}", from("min-agent-version"));
    }
    Ok(())
}

pub fn log(ctx: &Context, json: bool, oldest_first: bool) -> Result<()> {
    let store = ctx.open_store()?;
    let order = if oldest_first {
        LogOrder::OldestFirst
    } else {
        LogOrder::NewestFirst
    };
    let entries = store.exchange_log(order)?;
    if json {
        return print_json(&entries);
    }
    for e in entries {
        let outcome = match &e.error {
            Some(text) if e.kind != "poll" => text.clone(),
            None => format!(
                "ok: {} received, {} stopped, {} receipts sent",
                e.received, e.stopped, e.receipts_sent
            ),
            Some(err) => format!("error: {err}"),
        };
        println!(
            "{}  {}  {:>5} ms  {}",
            e.at.to_rfc3339(),
            e.server,
            e.duration_ms,
            outcome
        );
    }
    Ok(())
}

fn short(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn print_json<T: Serialize>(v: &T) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).context("cannot print JSON")?
    );
    Ok(())
}

pub fn autostart(action: crate::cli::AutostartAction) -> Result<()> {
    use crate::cli::AutostartAction;
    use herald_core::autostart::{self, Status};
    let status = match action {
        AutostartAction::Enable => {
            let exe = std::env::current_exe().context("cannot find this program's path")?;
            autostart::enable(&exe)?
        }
        AutostartAction::Disable => autostart::disable()?,
        AutostartAction::Status => autostart::status()?,
    };
    match status {
        Status::Enabled(at) => println!("autostart: enabled ({at})"),
        Status::Disabled => println!("autostart: disabled"),
    }
    Ok(())
}

/// One request to the running agent; its answer is printed.
pub fn control(ctx: &Context, request: &Request) -> Result<()> {
    let answer = herald_core::control::request(&ctx.data_dir, request)
        .with_context(|| format!("{} failed", request.to_line()))?;
    println!("{answer}");
    Ok(())
}

/// The history window, through the agent so that only one opens; with no
/// agent running, started directly.
pub fn history(ctx: &Context) -> Result<()> {
    match herald_core::control::request(&ctx.data_dir, &Request::History) {
        Ok(answer) => {
            println!("{answer}");
            Ok(())
        }
        Err(ControlError::NotRunning(_)) => {
            let bin = crate::popup_process::sibling_binary("HERALD_HISTORY", "herald-history");
            std::process::Command::new(&bin)
                .env("HERALD_DATA_DIR", &ctx.data_dir)
                .spawn()
                .with_context(|| format!("cannot start {}", bin.display()))?;
            println!("history window opened (the agent does not run)");
            Ok(())
        }
        Err(e) => Err(e).context("history failed"),
    }
}

/// Enrolls with the configured key now, replacing the token kept for this
/// server and host: after `host revoke`, or to check a key by hand.
pub fn enroll(ctx: &Context) -> Result<()> {
    let store = ctx.store_handle()?;
    let sign_in = ctx.sign_in().context("enrollment failed")?;
    if sign_in.enroll_key.is_none() {
        anyhow::bail!(
            "no enrollment key: give --enroll-key, HERALD_ENROLL_KEY, 'enroll_key' in the config file or the installer's ENROLL_KEY"
        );
    }
    let rt = runtime()?;
    let client = rt
        .block_on(sign_in.enroll(&store))
        .context("enrollment failed")?;
    println!(
        "enrolled at {} as {} on {}",
        client.endpoint().server,
        herald_core::signin::os_user_name(),
        client.endpoint().host
    );
    Ok(())
}
