//! `herald-agent run`: polls on the server's schedule, retries with
//! backoff, puts each due message on screen in its own popup process, and
//! answers the tray and the control socket. It wakes only for a poll, a
//! message becoming due or expiring, a popup closing or a user's request.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use herald_core::control::Request;
use herald_core::lock::{self, LockError};
use herald_core::popup_retry::PopupTrouble;
use herald_core::push::inbound::Keys;
use herald_core::push::PushEvent;
use herald_core::schedule;
use herald_core::signin::SignIn;
use herald_core::store::StoreHandle;
use herald_core::sync::SyncClient;
use herald_core::SyncError;
use herald_protocol::PushMode;
use herald_views::i18n::Locale;
use herald_views::tray;
use rand::Rng;
use tokio::sync::mpsc;

use crate::commands::{runtime, Context};
use crate::control_socket;
use crate::input::{Action, Command, Reply};
use crate::popup_process::{sibling_binary, Popup};
use crate::tray_ui::Tray;

mod inbound_task;
mod on_screen;
mod push_tasks;
mod stream_task;

/// Until the server says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const DO_NOT_DISTURB: chrono::Duration = chrono::Duration::hours(1);

/// A client with a token. At login the network may not be up yet, so an
/// unreachable server is waited for; anything an administrator must fix
/// (no token, a refused key, a certificate) ends the agent with the reason.
async fn signed_in(sign_in: &SignIn, store: &StoreHandle) -> Result<SyncClient> {
    let mut failures = 0u32;
    loop {
        match sign_in.client(store).await {
            Ok(c) => return Ok(c),
            Err(e @ (SyncError::Unreachable { .. } | SyncError::Status { .. })) => {
                let delay = Duration::from_secs(5u64 << failures.min(6));
                failures += 1;
                tracing::warn!(error = %e, "cannot sign in yet; trying again in {} s", delay.as_secs());
                tokio::time::sleep(delay).await;
            }
            Err(e) => return Err(e).context("cannot sign in"),
        }
    }
}

pub fn run(ctx: &Context, headless: bool) -> Result<()> {
    let _lock = match lock::acquire(&ctx.data_dir) {
        Ok(l) => l,
        Err(LockError::Held { pid }) => {
            // Not an error: autostart and a user's double click both land here.
            println!("herald-agent: the agent already runs (pid {pid})");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let push_listen = ctx
        .push_listen
        .as_deref()
        .map(herald_core::config::parse_listen)
        .transpose()?;
    let store = ctx.store_handle()?;
    let sign_in = ctx.sign_in()?;
    let headless = headless || !has_display();
    tracing::info!(server = %sign_in.server, host = %ctx.host, store = %store.path().display(), headless, "agent started");
    herald_core::trust::log_standing(store.path(), &sign_in.server_keys);
    runtime()?.block_on(async {
        // The central server's default language stands in for a locale
        // that names none of Herald's; it takes effect at the next start.
        let language = store
            .read(|s| s.sync_state())
            .await
            .ok()
            .and_then(|st| st.central.language);
        let locale = Locale::from_env_or(language.as_deref());
        let client = signed_in(&sign_in, &store).await?;
        let (tx, commands) = mpsc::channel(16);
        let (push_tx, push_events) = mpsc::unbounded_channel();
        control_socket::listen(&ctx.data_dir, tx.clone())?;
        let tray = if headless {
            None
        } else {
            Tray::new(locale.texts(), tx.clone())
                .map_err(|e| tracing::warn!(error = %format!("{e:#}"), "no tray icon"))
                .ok()
        };
        // Do-not-disturb outlives a restart, and still ends on time.
        let dnd_until = match store.read(|s| s.sync_state()).await {
            Ok(st) => st.dnd_until.filter(|d| *d > Utc::now()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sync state");
                None
            }
        };
        let mut agent = Agent {
            store,
            client,
            sign_in,
            headless,
            data_dir: ctx.data_dir.clone(),
            popup_bin: sibling_binary("HERALD_POPUP", "herald-popup"),
            popup_display: ctx.popup_display,
            history_bin: sibling_binary("HERALD_HISTORY", "herald-history"),
            locale,
            languages: herald_core::languages::desktop_languages(),
            popup: None,
            announced: HashSet::new(),
            trouble: PopupTrouble::default(),
            attention: herald_core::focus::Attention::Available,
            reviews: VecDeque::new(),
            waiting: 0,
            dnd_until,
            commands,
            sender: tx,
            push: push_tx,
            push_events,
            hint_queued: Arc::new(AtomicBool::new(false)),
            push_task: None,
            push_listen,
            keys: tokio::sync::watch::channel(Keys::default()).0,
            tray,
            history: None,
            check_replies: Vec::new(),
            syncing: None,
            pushed: Vec::new(),
            applying: None,
            force_sync: false,
        };
        let result = tokio::select! {
            r = agent.main_loop() => r,
            () = shutdown_signal() => {
                tracing::info!("agent stopping");
                Ok(())
            }
        };
        agent.take_down().await;
        agent.stop_push();
        if let Err(e) = agent.store.flush().await {
            tracing::error!(error = %e, "cannot finish the store's writes");
        }
        result
    })?;
    let _ = std::fs::remove_file(herald_core::control::socket_path(&ctx.data_dir));
    Ok(())
}

fn has_display() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

pub(crate) struct Agent {
    /// Every store call goes to the store's own threads: no await here
    /// waits on SQLite's lock.
    pub(crate) store: StoreHandle,
    pub(crate) client: SyncClient,
    /// How to sign in again when a token Kerberos gave is refused.
    sign_in: SignIn,
    pub(crate) headless: bool,
    data_dir: PathBuf,
    pub(crate) popup_bin: PathBuf,
    pub(crate) popup_display: herald_core::config::PopupDisplay,
    history_bin: PathBuf,
    pub(crate) locale: Locale,
    /// The user's languages, best first: which version of a message shows.
    pub(crate) languages: Vec<String>,
    pub(crate) popup: Option<Popup>,
    pub(crate) announced: HashSet<(String, u32)>,
    /// Popups that failed to come up, and when to try again.
    pub(crate) trouble: PopupTrouble,
    /// What the desktop last said of the user's attention (Focus Assist).
    pub(crate) attention: herald_core::focus::Attention,
    /// Messages to show again from the history once the screen is free.
    pub(crate) reviews: VecDeque<String>,
    /// Valid unread messages not on screen, for the tray.
    pub(crate) waiting: usize,
    /// Local time at which do-not-disturb ends.
    pub(crate) dnd_until: Option<DateTime<Utc>>,
    commands: mpsc::Receiver<Command>,
    /// For the inbound task; also keeps the channel open when neither
    /// socket nor tray holds a sender.
    sender: mpsc::Sender<Command>,
    /// The push stream's news. Unbounded so that nothing is dropped; hints
    /// are coalesced (`hint_queued`), so it holds few items.
    push: mpsc::UnboundedSender<PushEvent>,
    push_events: mpsc::UnboundedReceiver<PushEvent>,
    /// A hint waits in `push_events`: the stream need not queue another.
    hint_queued: Arc<AtomicBool>,
    /// The task doing push, and the mode it does.
    push_task: Option<(PushMode, tokio::task::JoinHandle<()>)>,
    /// Where to take inbound calls, if the user configured it.
    push_listen: Option<std::net::SocketAddr>,
    /// The inbound listener's key and clock, updated after every contact.
    keys: tokio::sync::watch::Sender<Keys>,
    tray: Option<Tray>,
    history: Option<tokio::process::Child>,
    /// Check-now requests waiting for a contact that starts after them.
    check_replies: Vec<Reply>,
    /// The contact in flight, and the requests it answers.
    syncing: Option<(Contact, Vec<Reply>)>,
    /// Changes from the push stream waiting for the contact in flight: its
    /// answer may be older than they are, so they are applied after it.
    pushed: Vec<herald_protocol::PushedChange>,
    /// The task storing pushed changes, off the loop (the store may be
    /// locked by another process); it answers whether to poll after all.
    applying: Option<tokio::task::JoinHandle<bool>>,
    pub(crate) force_sync: bool,
}

/// A contact with the server running as a task: its words for the user,
/// and the new client if it had to sign in again.
type Contact = tokio::task::JoinHandle<(Result<String, String>, Option<SyncClient>)>;

enum Flow {
    Continue,
    Quit,
}

impl Agent {
    async fn main_loop(&mut self) -> Result<()> {
        let mut next_poll = Utc::now();
        loop {
            if self.syncing.is_none() && self.applying.is_none() && !self.pushed.is_empty() {
                self.start_applying();
            }
            if self.syncing.is_none() && (self.force_sync || Utc::now() >= next_poll) {
                self.force_sync = false;
                self.start_sync();
            }
            let wake = match self.update_screen().await {
                Ok(Some(t)) => t.min(next_poll),
                Ok(None) => next_poll,
                Err(e) => {
                    tracing::error!(error = %e, "cannot update the screen");
                    next_poll
                }
            };
            let wake = self.dnd_until.map_or(wake, |d| d.min(wake));
            self.refresh_tray().await;
            let wait = (wake - Utc::now())
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_millis(50));
            let popup = self.popup.as_mut();
            let syncing = self.syncing.as_mut();
            let applying = self.applying.as_mut();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                outcome = async {
                    match popup {
                        Some(p) => p.finished().await,
                        None => std::future::pending().await,
                    }
                } => self.popup_closed(outcome).await,
                done = async {
                    match syncing {
                        Some((task, _)) => task.await,
                        None => std::future::pending().await,
                    }
                } => {
                    let (result, renewed) = done
                        .unwrap_or_else(|e| (Err(format!("the contact failed: {e}")), None));
                    if let Some(client) = renewed {
                        self.use_client(client);
                    }
                    if let Some((_, replies)) = self.syncing.take() {
                        for reply in replies {
                            let _ = reply.send(result.clone());
                        }
                    }
                    self.align_push().await;
                    next_poll = self.plan_next_poll().await;
                }
                failed = async {
                    match applying {
                        Some(task) => task.await,
                        None => std::future::pending().await,
                    }
                } => {
                    self.applying = None;
                    // A task that died applied what it could: a poll
                    // brings the rest.
                    self.force_sync |= failed.unwrap_or(true);
                }
                Some(cmd) = self.commands.recv() => {
                    if let Flow::Quit = self.handle(cmd).await {
                        tracing::info!("quit from the tray");
                        return Ok(());
                    }
                }
                Some(event) = self.push_events.recv() => {
                    if event == PushEvent::Hint {
                        self.hint_queued.store(false, Ordering::Release);
                    }
                    self.push_event(event);
                }
            }
        }
    }

    /// Starts one contact as a task of its own: the loop goes on answering
    /// the user, the tray and push while the server or the store is slow.
    fn start_sync(&mut self) {
        let store = self.store.clone();
        let client = self.client.clone();
        let sign_in = self.sign_in.clone();
        let replies = std::mem::take(&mut self.check_replies);
        let task = tokio::spawn(async move {
            let (outcome, renewed) = sign_in.sync_renewing(&store, &client).await;
            let said = match outcome {
                Ok(a) => {
                    tracing::info!(
                        received = a.received,
                        stopped = a.stopped,
                        receipts = a.receipts_sent,
                        "synced"
                    );
                    Ok(format!(
                        "contact ok: {} new or revised, {} stopped, {} receipts sent",
                        a.received, a.stopped, a.receipts_sent
                    ))
                }
                Err(e) => {
                    tracing::warn!(error = %e, "sync failed");
                    Err(e.to_string())
                }
            };
            (said, renewed)
        });
        self.syncing = Some((task, replies));
    }

    /// Takes a new token: push restarts with it at the next alignment.
    fn use_client(&mut self, client: SyncClient) {
        if let Some((_, task)) = self.push_task.take() {
            task.abort();
        }
        self.client = client;
    }

    /// Decides and records when the next contact happens (local time).
    async fn plan_next_poll(&self) -> DateTime<Utc> {
        let (interval, failures) = match self.store.read(|s| s.sync_state()).await {
            Ok(st) => (
                st.poll_interval_secs
                    .map_or(DEFAULT_INTERVAL, Duration::from_secs),
                st.failures,
            ),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the sync state");
                (DEFAULT_INTERVAL, 1)
            }
        };
        let delay = schedule::poll_delay(interval, failures, rand::rng().random());
        let at = Utc::now()
            + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::seconds(300));
        self.store
            .write_later("record the next poll time", move |s| s.set_next_poll(at));
        at
    }

    async fn handle(&mut self, cmd: Command) -> Flow {
        let answer = match cmd.action {
            Action::Quit => return Flow::Quit,
            Action::Push(event) => {
                self.push_event(event);
                return Flow::Continue;
            }
            Action::ToggleDoNotDisturb => {
                let until = match self.dnd_until {
                    Some(_) => None,
                    None => {
                        let max = self
                            .store
                            .read(|s| s.sync_state())
                            .await
                            .ok()
                            .and_then(|st| st.central.max_dnd_minutes);
                        herald_core::schedule::dnd_span(DO_NOT_DISTURB, max)
                            .map(|span| Utc::now() + span)
                    }
                };
                self.set_dnd(until);
                Ok("done".to_owned())
            }
            Action::Request(Request::CheckNow) => {
                tracing::debug!("check now requested");
                self.force_sync = true;
                if let Some(r) = cmd.reply {
                    self.check_replies.push(r);
                }
                return Flow::Continue;
            }
            Action::Request(Request::History) => self.open_history(),
            Action::Request(Request::ShowWaiting) => {
                self.set_dnd(None);
                let now = self.server_now().await;
                self.store
                    .write(move |s| s.reopen_cancelled(None, now))
                    .await
                    .map(|n| format!("{n} closed messages brought back"))
                    .map_err(|e| e.to_string())
            }
            Action::Request(Request::Show(id)) => self.show_again(id).await,
        };
        if let Some(reply) = cmd.reply {
            let _ = reply.send(answer);
        }
        Flow::Continue
    }

    fn open_history(&mut self) -> Result<String, String> {
        if self.headless {
            return Err("the agent runs without a display: run herald-history".into());
        }
        if let Some(child) = self.history.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                return Ok("the history window is already open".into());
            }
        }
        match tokio::process::Command::new(&self.history_bin)
            .env("HERALD_DATA_DIR", &self.data_dir)
            .spawn()
        {
            Ok(child) => {
                self.history = Some(child);
                Ok("history window opened".into())
            }
            Err(e) => Err(format!("cannot start {}: {e}", self.history_bin.display())),
        }
    }

    /// From the history: a message closed without reading comes back as a
    /// normal popup; anything else is shown once more, changing nothing.
    async fn show_again(&mut self, id: String) -> Result<String, String> {
        let now = self.server_now().await;
        let key = id.clone();
        let m = self
            .store
            .read(move |s| s.message(&key))
            .await
            .map_err(|e| e.to_string())?;
        if schedule::is_due(&m, now) {
            return Ok("it is due and comes up in its turn".into());
        }
        let key = id.clone();
        match self
            .store
            .write(move |s| s.reopen_cancelled(Some(&key), now))
            .await
        {
            Ok(1) => return Ok("brought back".into()),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
        if !self.reviews.iter().any(|r| *r == id) {
            self.reviews.push_back(id);
        }
        Ok("shown again when the screen is free".into())
    }

    /// The server as the exchange log names it.
    pub(crate) fn server_name(&self) -> String {
        self.client.endpoint().server.clone()
    }

    pub(crate) async fn server_now(&self) -> DateTime<Utc> {
        match self.store.read(|s| s.sync_state()).await {
            Ok(st) => st.server_now(Utc::now()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read the clock offset; using the local clock");
                Utc::now()
            }
        }
    }

    /// Do-not-disturb on until `until`, or off; kept in the store so that
    /// it survives a restart.
    pub(crate) fn set_dnd(&mut self, until: Option<DateTime<Utc>>) {
        if self.dnd_until != until {
            tracing::info!(?until, "do not disturb");
            self.store
                .write_later("record do-not-disturb", move |s| s.set_dnd_until(until));
        }
        self.dnd_until = until;
    }

    async fn refresh_tray(&mut self) {
        if self.tray.is_none() {
            return;
        }
        let st = match self.store.read(|s| s.sync_state()).await {
            Ok(st) => st,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the sync state for the tray");
                return;
            }
        };
        let Some(t) = self.tray.as_mut() else {
            return;
        };
        let now = Utc::now();
        let view = tray::view(
            &st.contacts(),
            self.waiting,
            self.dnd_until,
            self.trouble.reason(),
            now,
            self.locale.texts(),
        );
        t.show(&view, self.dnd_until.is_some_and(|d| d > now));
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
