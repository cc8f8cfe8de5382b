//! What the running agent puts on screen: the popup, the messages shown
//! again from the history, and the notification when more arrive.

use anyhow::Result;
use chrono::{DateTime, Utc};
use herald_core::focus;
use herald_core::schedule::{self, ScreenChange};
use herald_core::{MessageState, StoredMessage};
use herald_views::popup::Outcome;

use crate::notice;
use crate::popup_process::{self, Ending, Popup};
use crate::run::Agent;

/// How often to ask again while the desktop holds messages back.
const FOCUS_RECHECK: chrono::Duration = chrono::Duration::seconds(30);

fn earliest(wake: Option<DateTime<Utc>>, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(wake.map_or(t, |w| w.min(t)))
}

impl Agent {
    /// Brings the screen in line with the queue; returns when (local time)
    /// the queue will next change by itself.
    pub(crate) async fn update_screen(&mut self) -> Result<Option<DateTime<Utc>>> {
        let (st, open) = self
            .store
            .read(|s| Ok((s.sync_state()?, s.open_messages()?)))
            .await?;
        let local_now = Utc::now();
        let now = st.server_now(local_now);
        if self.dnd_until.is_some_and(|d| d <= local_now) {
            self.set_dnd(None);
        }
        // Only what is still open can come back: the rest is forgotten, so
        // the set does not grow for as long as the agent runs.
        self.announced
            .retain(|(id, rev)| open.iter().any(|m| m.id == *id && m.revision == *rev));
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
            self.take_down().await;
        }
        match schedule::screen_change(self.popup.as_ref().map(|p| &p.shown), queue) {
            ScreenChange::Nothing => {}
            ScreenChange::Show(m) => self.show(m, now, false).await,
            ScreenChange::Preempt(m) => {
                if let Some(p) = &self.popup {
                    tracing::info!(id = %p.shown.id, by = %m.id, "preempted by a more urgent message");
                }
                self.take_down().await;
                self.show(m, now, false).await;
            }
            ScreenChange::Close => {
                if let Some(p) = &self.popup {
                    tracing::info!(id = %p.shown.id, "no longer due now: taken down");
                }
                // Held by do-not-disturb, it goes back to the queue.
                self.take_down().await;
                // The next due message, if any, goes up at the next turn.
                return Some(Utc::now());
            }
        }
        if self.popup.is_none() {
            while let Some(id) = self.reviews.pop_front() {
                let key = id.clone();
                match self.store.read(move |s| s.message(&key)).await {
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
        let ring = schedule::rings(m, self.dnd_until, Utc::now());
        let request = popup_process::request_for(m, self.locale, &self.languages, review, ring);
        match Popup::open(&self.popup_bin, &request, self.popup_display).await {
            Ok(p) => {
                if !review {
                    let id = m.id.clone();
                    let lang = m.version(&self.languages).lang.map(str::to_owned);
                    let shown = move |s: &mut herald_core::store::Store| {
                        s.mark_shown_in(&id, lang.as_deref(), now)
                    };
                    if let Err(e) = self.store.write(shown).await {
                        tracing::error!(id = %m.id, error = %e, "cannot record the message as shown");
                    }
                }
                tracing::info!(id = %m.id, title = %m.title, review, "popup shown");
                self.popup = Some(p);
            }
            Err(e) => self.popup_failed(&format!("{e:#}")),
        }
    }

    pub(crate) async fn popup_closed(&mut self, ending: Ending) {
        let Some(popup) = self.popup.take() else {
            return;
        };
        self.settle(popup, ending).await;
    }

    /// Records how a popup ended, whoever ended it: an answer is recorded
    /// even when it came as the agent was taking the popup down.
    async fn settle(&mut self, popup: Popup, ending: Ending) {
        let id = popup.shown.id;
        let outcome = match ending {
            Ending::Answered(o) => {
                self.popup_recovered();
                o
            }
            Ending::TakenDown => {
                if !popup.review {
                    self.release(&id).await;
                }
                return;
            }
            Ending::Failed(reason) => {
                if !popup.review {
                    self.release(&id).await;
                }
                self.popup_failed(&reason);
                return;
            }
        };
        if popup.review {
            tracing::info!(%id, "shown again: closed");
            return;
        }
        let now = self.server_now().await;
        let key = id.clone();
        let result = self
            .store
            .write(move |s| match outcome {
                Outcome::Read => s.acknowledge(&key, now).map(drop),
                Outcome::Answered(n) => s.answer(&key, n, now).map(drop),
                Outcome::Cancelled => s.cancel(&key, now).map(drop),
            })
            .await;
        match result {
            Ok(()) => tracing::info!(%id, outcome = outcome.line(), "popup closed"),
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
        let server = self.server_name();
        self.store.write_later("log the popup failure", move |s| {
            s.log_popup(local_now, &server, false, &what)
        });
        notice::cannot_show(reason, self.locale.texts());
    }

    fn popup_recovered(&mut self) {
        if let Some(failures) = self.trouble.recovered() {
            tracing::info!(failures, "popups work again");
            let what = format!("messages shown again after {failures} failed tries");
            let server = self.server_name();
            self.store.write_later("log the popup recovery", move |s| {
                s.log_popup(Utc::now(), &server, true, &what)
            });
        }
    }

    pub(crate) async fn release(&mut self, id: &str) {
        let now = self.server_now().await;
        let key = id.to_owned();
        if let Err(e) = self.store.write(move |s| s.release(&key, now)).await {
            tracing::error!(%id, error = %e, "cannot put the message back in the queue");
        }
    }

    /// Takes the popup down (preemption, do-not-disturb, quitting): the
    /// message goes back to the queue, unless the user answered first.
    pub(crate) async fn take_down(&mut self) {
        if let Some(mut p) = self.popup.take() {
            let ending = p.close().await;
            self.settle(p, ending).await;
        }
    }
}
