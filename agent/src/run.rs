//! `herald-agent run`: polls on the server's schedule, retries with
//! backoff, and puts each due message on screen in its own popup process,
//! one at a time, most urgent first. It wakes only for a poll, a message
//! becoming due or expiring, or a popup closing.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use herald_agent::i18n::Locale;
use herald_agent::lock::{self, LockError};
use herald_agent::popup::Outcome;
use herald_agent::schedule::{self, ScreenChange};
use herald_agent::store::Store;
use herald_agent::sync::{self, SyncClient};
use herald_agent::StoredMessage;
use rand::Rng;

use crate::commands::{runtime, Context};
use crate::screen::{popup_binary, Popup};

/// Until the server says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
/// A message whose popup died is not shown again before this.
const CRASH_PAUSE: chrono::Duration = chrono::Duration::seconds(10);

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
    let store = ctx.open_store()?;
    let client = ctx.client()?;
    let headless = headless || !has_display();
    tracing::info!(server = %client.endpoint().server, host = %ctx.host, store = %store.path().display(), headless, "agent started");
    let mut agent = Agent {
        store,
        client,
        headless,
        popup_bin: popup_binary(),
        locale: Locale::from_env(),
        popup: None,
        announced: HashSet::new(),
        paused: HashMap::new(),
    };
    runtime()?.block_on(async {
        tokio::select! {
            r = agent.main_loop() => r,
            () = shutdown_signal() => {
                tracing::info!("agent stopping");
                Ok(())
            }
        }
    })?;
    // A popup left on screen goes back to the queue, as after a preemption.
    if let Some(p) = agent.popup.take() {
        let id = p.shown.id.clone();
        runtime()?.block_on(p.close());
        agent.release(&id);
    }
    Ok(())
}

fn has_display() -> bool {
    if cfg!(target_os = "linux") {
        std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    } else {
        true
    }
}

struct Agent {
    store: Store,
    client: SyncClient,
    headless: bool,
    popup_bin: PathBuf,
    locale: Locale,
    popup: Option<Popup>,
    announced: HashSet<(String, u32)>,
    /// Messages not to show again before a time (local), after their popup died.
    paused: HashMap<String, DateTime<Utc>>,
}

impl Agent {
    async fn main_loop(&mut self) -> Result<()> {
        let mut next_poll = Utc::now();
        loop {
            if Utc::now() >= next_poll {
                match sync::sync_once(&mut self.store, &self.client).await {
                    Ok(a) => tracing::info!(
                        received = a.received,
                        stopped = a.stopped,
                        receipts = a.receipts_sent,
                        "synced"
                    ),
                    Err(e) => tracing::warn!(error = %e, "sync failed"),
                }
                next_poll = self.plan_next_poll();
            }
            let wake = match self.update_screen().await {
                Ok(Some(t)) => t.min(next_poll),
                Ok(None) => next_poll,
                Err(e) => {
                    tracing::error!(error = %e, "cannot update the screen");
                    next_poll
                }
            };
            let wait = (wake - Utc::now())
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_millis(50));
            let popup = self.popup.as_mut();
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                outcome = async {
                    match popup {
                        Some(p) => p.finished().await,
                        None => std::future::pending().await,
                    }
                } => self.popup_closed(outcome),
            }
        }
    }

    /// Decides and records when the next contact happens (local time).
    fn plan_next_poll(&self) -> DateTime<Utc> {
        let (interval, failures) = match self.store.sync_state() {
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
        if let Err(e) = self.store.set_next_poll(at) {
            tracing::warn!(error = %e, "cannot record the next poll time");
        }
        at
    }

    /// Brings the screen in line with the queue; returns when (local time)
    /// the queue will next change by itself.
    async fn update_screen(&mut self) -> Result<Option<DateTime<Utc>>> {
        let st = self.store.sync_state()?;
        let local_now = Utc::now();
        let now = st.server_now(local_now);
        let open = self.store.open_messages()?;
        self.paused.retain(|_, until| *until > local_now);
        let queue: Vec<&StoredMessage> = schedule::queue(&open, now)
            .into_iter()
            .filter(|m| !self.paused.contains_key(&m.id))
            .collect();
        for m in &queue {
            if self.announced.insert((m.id.clone(), m.revision)) {
                tracing::info!(id = %m.id, revision = m.revision, severity = %m.severity, title = %m.title, "message due");
            }
        }
        let offset = chrono::Duration::milliseconds(st.clock_offset_ms);
        let mut wake = schedule::next_change(&open, now).map(|t| t - offset);
        if let Some(t) = self.paused.values().min() {
            wake = Some(wake.map_or(*t, |w| w.min(*t)));
        }
        if self.headless {
            return Ok(wake);
        }
        match schedule::screen_change(self.popup.as_ref().map(|p| &p.shown), &queue) {
            ScreenChange::Nothing => {}
            ScreenChange::Show(m) => self.show(m, now).await,
            ScreenChange::Preempt(m) => {
                if let Some(p) = self.popup.take() {
                    tracing::info!(id = %p.shown.id, by = %m.id, "preempted by a more urgent message");
                    let id = p.shown.id.clone();
                    p.close().await;
                    self.release(&id);
                }
                self.show(m, now).await;
            }
            ScreenChange::Close => {
                if let Some(p) = self.popup.take() {
                    tracing::info!(id = %p.shown.id, "no longer due: taken down");
                    p.close().await;
                }
                // The next due message, if any, goes up at the next turn.
                return Ok(Some(local_now));
            }
        }
        Ok(wake)
    }

    async fn show(&mut self, m: &StoredMessage, now: DateTime<Utc>) {
        match Popup::open(&self.popup_bin, m, self.locale).await {
            Ok(p) => {
                if let Err(e) = self.store.mark_shown(&m.id, now) {
                    tracing::error!(id = %m.id, error = %e, "cannot record the message as shown");
                }
                tracing::info!(id = %m.id, title = %m.title, "popup shown");
                self.popup = Some(p);
            }
            Err(e) => {
                tracing::error!(id = %m.id, error = %format!("{e:#}"), "cannot show the popup");
                self.paused.insert(m.id.clone(), Utc::now() + CRASH_PAUSE);
            }
        }
    }

    fn popup_closed(&mut self, outcome: Option<Outcome>) {
        let Some(popup) = self.popup.take() else {
            return;
        };
        let id = popup.shown.id;
        let now = match self.store.sync_state() {
            Ok(st) => st.server_now(Utc::now()),
            Err(_) => Utc::now(),
        };
        let result = match outcome {
            Some(Outcome::Read) => self.store.acknowledge(&id, now).map(drop),
            Some(Outcome::Cancelled) => self.store.cancel(&id, now).map(drop),
            None => {
                tracing::warn!(%id, "the popup died without an answer; the message stays due");
                self.paused.insert(id.clone(), Utc::now() + CRASH_PAUSE);
                self.store.release(&id, now)
            }
        };
        match result {
            Ok(()) => {
                tracing::info!(%id, outcome = outcome.map_or("crashed", Outcome::as_str), "popup closed")
            }
            Err(e) => tracing::error!(%id, error = %e, "cannot record what the user did"),
        }
    }

    fn release(&mut self, id: &str) {
        let now = self
            .store
            .sync_state()
            .map_or_else(|_| Utc::now(), |st| st.server_now(Utc::now()));
        if let Err(e) = self.store.release(id, now) {
            tracing::error!(%id, error = %e, "cannot put the message back in the queue");
        }
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
