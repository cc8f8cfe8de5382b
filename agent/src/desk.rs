//! What the running agent puts on screen: the popup, the messages shown
//! again from the history, and the notification when more arrive.

use anyhow::Result;
use chrono::{DateTime, Utc};
use herald_agent::focus;
use herald_agent::popup::Outcome;
use herald_agent::schedule::{self, ScreenChange};
use herald_agent::{MessageState, StoredMessage};

use crate::notice;
use crate::run::Agent;
use crate::screen::{Ending, Popup};

/// How often to ask again while the desktop holds messages back.
const FOCUS_RECHECK: chrono::Duration = chrono::Duration::seconds(30);

fn earliest(wake: Option<DateTime<Utc>>, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(wake.map_or(t, |w| w.min(t)))
}

impl Agent {
    /// Brings the screen in line with the queue; returns when (local time)
    /// the queue will next change by itself.
    pub(crate) async fn update_screen(&mut self) -> Result<Option<DateTime<Utc>>> {
        let st = self.store.sync_state()?;
        let local_now = Utc::now();
        let now = st.server_now(local_now);
        let open = self.store.open_messages()?;
        self.dnd_until = self.dnd_until.filter(|d| *d > local_now);
        let due = schedule::queue(&open, now);
        let mut arrived = Vec::new();
        for m in &due {
            if self.announced.insert((m.id.clone(), m.revision)) {
                tracing::info!(id = %m.id, revision = m.revision, severity = %m.severity, title = %m.title, "message due");
                arrived.push(m.id.clone());
            }
        }
        let attention = focus::probe();
        if attention != self.attention {
            tracing::info!(
                attention = attention.as_str(),
                "the desktop's attention changed"
            );
            self.attention = attention;
        }
        let queue: Vec<&StoredMessage> = due
            .iter()
            .copied()
            .filter(|m| schedule::allowed_now(m, self.dnd_until, local_now))
            .filter(|m| focus::lets_through(attention, m.severity))
            .collect();
        let offset = chrono::Duration::milliseconds(st.clock_offset_ms);
        let mut wake = schedule::next_change(&open, now).map(|t| t - offset);
        // The desktop does not say when it is free again: look again soon.
        if due
            .iter()
            .any(|m| !focus::lets_through(attention, m.severity))
        {
            wake = earliest(wake, local_now + FOCUS_RECHECK);
        }
        let had_popup = self.popup.is_some();
        // After a popup failed to come up, nothing new goes on screen
        // before the retry time.
        let retry = self.trouble.retry_at(local_now);
        if let Some(t) = retry {
            wake = earliest(wake, t);
        }
        if !self.headless && (retry.is_none() || self.popup.is_some()) {
            if let Some(w) = self.change_screen(&queue, now).await {
                wake = Some(w);
            }
        }
        let on_screen = self
            .popup
            .as_ref()
            .filter(|p| !p.review)
            .map(|p| p.shown.id.clone());
        let cancelled = open
            .iter()
            .filter(|m| {
                m.state == MessageState::Cancelled && m.valid_from <= now && now < m.valid_until
            })
            .count();
        self.waiting = due
            .iter()
            .filter(|m| Some(&m.id) != on_screen.as_ref())
            .count()
            + cancelled;
        // Only news: not the backlog found at start, which the user sees
        // one popup at a time anyway.
        if had_popup
            && self.popup.is_some()
            && arrived.iter().any(|id| Some(id) != on_screen.as_ref())
        {
            let waiting = due.len() - usize::from(on_screen.is_some());
            notice::waiting(waiting, self.locale.texts());
        }
        Ok(wake)
    }

    /// Returns a wake-up time when the screen must be looked at again soon.
    async fn change_screen(
        &mut self,
        queue: &[&StoredMessage],
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        // A message shown again from the history yields to anything due.
        if self.popup.as_ref().is_some_and(|p| p.review) {
            if queue.is_empty() {
                return None;
            }
            if let Some(p) = self.popup.take() {
                p.close().await;
            }
        }
        match schedule::screen_change(self.popup.as_ref().map(|p| &p.shown), queue) {
            ScreenChange::Nothing => {}
            ScreenChange::Show(m) => self.show(m, now, false).await,
            ScreenChange::Preempt(m) => {
                if let Some(p) = self.popup.take() {
                    tracing::info!(id = %p.shown.id, by = %m.id, "preempted by a more urgent message");
                    let id = p.shown.id.clone();
                    p.close().await;
                    self.release(&id);
                }
                self.show(m, now, false).await;
            }
            ScreenChange::Close => {
                if let Some(p) = self.popup.take() {
                    tracing::info!(id = %p.shown.id, "no longer due now: taken down");
                    let id = p.shown.id.clone();
                    p.close().await;
                    // Held by do-not-disturb, it goes back to the queue.
                    self.release(&id);
                }
                // The next due message, if any, goes up at the next turn.
                return Some(Utc::now());
            }
        }
        if self.popup.is_none() {
            while let Some(id) = self.reviews.pop_front() {
                match self.store.message(&id) {
                    Ok(m) => {
                        self.show(&m, now, true).await;
                        break;
                    }
                    Err(e) => tracing::warn!(%id, error = %e, "cannot show again"),
                }
            }
        }
        None
    }

    async fn show(&mut self, m: &StoredMessage, now: DateTime<Utc>, review: bool) {
        match Popup::open(&self.popup_bin, m, self.locale, review).await {
            Ok(p) => {
                if !review {
                    if let Err(e) = self.store.mark_shown(&m.id, now) {
                        tracing::error!(id = %m.id, error = %e, "cannot record the message as shown");
                    }
                }
                tracing::info!(id = %m.id, title = %m.title, review, "popup shown");
                self.popup = Some(p);
            }
            Err(e) => self.popup_failed(&format!("{e:#}")),
        }
    }

    pub(crate) fn popup_closed(&mut self, ending: Ending) {
        let Some(popup) = self.popup.take() else {
            return;
        };
        let id = popup.shown.id;
        let outcome = match ending {
            Ending::Answered(o) => {
                self.popup_recovered();
                o
            }
            Ending::Failed(reason) => {
                if !popup.review {
                    self.release(&id);
                }
                self.popup_failed(&reason);
                return;
            }
        };
        if popup.review {
            tracing::info!(%id, "shown again: closed");
            return;
        }
        let now = self.server_now();
        let result = match outcome {
            Outcome::Read => self.store.acknowledge(&id, now).map(drop),
            Outcome::Cancelled => self.store.cancel(&id, now).map(drop),
        };
        match result {
            Ok(()) => tracing::info!(%id, outcome = outcome.as_str(), "popup closed"),
            Err(e) => tracing::error!(%id, error = %e, "cannot record what the user did"),
        }
    }

    /// A popup could not be put on screen, or died without an answer: the
    /// message stays waiting, and the next try waits longer. The user (by a
    /// notification) and the exchange log hear of it once per streak.
    fn popup_failed(&mut self, reason: &str) {
        let local_now = Utc::now();
        if !self.trouble.failed(reason, local_now) {
            tracing::debug!(%reason, "popup failed again");
            return;
        }
        tracing::error!(%reason, "cannot show the popup; retrying with backoff");
        let what = format!("cannot show messages: {reason}; retrying with backoff");
        if let Err(e) = self
            .store
            .log_popup(local_now, &self.server_name(), false, &what)
        {
            tracing::warn!(error = %e, "cannot log the popup failure");
        }
        notice::cannot_show(reason, self.locale.texts());
    }

    fn popup_recovered(&mut self) {
        if let Some(failures) = self.trouble.recovered() {
            tracing::info!(failures, "popups work again");
            let what = format!("messages shown again after {failures} failed tries");
            if let Err(e) = self
                .store
                .log_popup(Utc::now(), &self.server_name(), true, &what)
            {
                tracing::warn!(error = %e, "cannot log the popup recovery");
            }
        }
    }

    pub(crate) fn release(&mut self, id: &str) {
        let now = self.server_now();
        if let Err(e) = self.store.release(id, now) {
            tracing::error!(%id, error = %e, "cannot put the message back in the queue");
        }
    }

    /// On the way out: a popup left on screen goes back to the queue, as
    /// after a preemption.
    pub(crate) async fn take_down(&mut self) {
        if let Some(p) = self.popup.take() {
            let id = p.shown.id.clone();
            let review = p.review;
            p.close().await;
            if !review {
                self.release(&id);
            }
        }
    }
}
