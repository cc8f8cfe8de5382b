//! The popup process on screen: starting it, taking it down, and reading
//! what the user did. The web engine lives in that child process only.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result};
use herald_core::config::PopupDisplay;
use herald_core::schedule::OnScreen;
use herald_core::StoredMessage;
use herald_views::i18n::Locale;
use herald_views::popup::{Outcome, PopupRequest};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running popup. A task of its own waits for the process and reads its
/// answer, so the main loop can stop waiting at any moment (a timer, a
/// command) without losing what the user did.
pub struct Popup {
    pub shown: OnScreen,
    /// Shown again from the history: its answer changes nothing.
    pub review: bool,
    ending: oneshot::Receiver<Ending>,
    /// Dropping or firing it takes the popup down.
    kill: Option<oneshot::Sender<()>>,
}

/// How the popup ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    Answered(Outcome),
    /// It died or exited without an answer; the text says why, as far as
    /// the popup told.
    Failed(String),
    /// The agent took it down (preemption, do-not-disturb, quitting)
    /// before the user answered.
    TakenDown,
}

/// Keeps the last line the popup wrote on standard error; every line also
/// goes to the agent's log at debug level. Read as it comes, so that a
/// chatty toolkit never fills the pipe. The popup's report of how it was
/// placed (`placed: WORD`) goes to `placed`, and is no reason for a failure.
async fn last_words(stderr: Option<ChildStderr>, placed: oneshot::Sender<String>) -> String {
    let Some(stderr) = stderr else {
        return String::new();
    };
    let mut placed = Some(placed);
    let mut lines = BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(%line, "popup says");
        let said = line.trim().trim_start_matches("herald-popup: ");
        if let Some(word) = said.strip_prefix("placed: ") {
            tracing::info!(placed = word, "popup placed");
            if let Some(tx) = placed.take() {
                let _ = tx.send(word.to_owned());
            }
        } else if !said.is_empty() && said != "activated" {
            last = said.chars().take(300).collect();
        }
    }
    last
}

/// Waits for the popup to end (or kills it when told) and reads its answer.
/// A user who answered just as the agent takes the popup down still gets
/// the answer recorded: it is read from the popup whichever came first.
async fn watch(mut child: Child, said: JoinHandle<String>, kill: oneshot::Receiver<()>) -> Ending {
    let (status, killed) = tokio::select! {
        status = child.wait() => (status, false),
        _ = kill => {
            let _ = child.start_kill();
            (child.wait().await, true)
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out).await;
    }
    let answer = Outcome::parse(&out);
    if killed {
        return match (status, answer) {
            (Ok(s), Some(o)) if s.success() => Ending::Answered(o),
            _ => Ending::TakenDown,
        };
    }
    let said = said.await.unwrap_or_default();
    match (status, answer) {
        (Ok(s), Some(o)) if s.success() => Ending::Answered(o),
        (Err(e), _) => Ending::Failed(format!("cannot wait for the popup: {e}")),
        (Ok(s), _) if said.is_empty() => {
            Ending::Failed(format!("the popup ended without an answer ({s})"))
        }
        _ => Ending::Failed(said),
    }
}

/// A helper binary: named by the environment variable `var`, or `name`
/// beside this binary.
pub fn sibling_binary(var: &str, name: &str) -> PathBuf {
    if let Some(p) = std::env::var_os(var) {
        return PathBuf::from(p);
    }
    let name = if cfg!(windows) {
        format!("{name}.exe")
    } else {
        name.to_owned()
    };
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(&name)))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// What the popup shows of `m`: the version in the user's language, its
/// answers, fullscreen or not, and whether it rings.
pub fn request_for(
    m: &StoredMessage,
    locale: Locale,
    languages: &[String],
    review: bool,
    ring: bool,
) -> PopupRequest {
    let v = m.version(languages);
    PopupRequest {
        id: m.id.clone(),
        revision: m.revision,
        severity: m.severity,
        title: v.title.to_owned(),
        body_markdown: v.body.to_owned(),
        sender: m.sender.clone(),
        revised_at: m.revised_at,
        valid_from: m.valid_from,
        valid_until: m.valid_until,
        locale,
        review,
        answers: v.answers.iter().map(|a| a.to_string()).collect(),
        fullscreen: m.extras.display == herald_protocol::Display::Fullscreen && !review,
        ring: ring && !review,
    }
}

impl Popup {
    pub async fn open(
        binary: &PathBuf,
        request: &PopupRequest,
        display: PopupDisplay,
    ) -> Result<Popup> {
        let locale = request.locale;
        let review = request.review;
        let shown = OnScreen {
            id: request.id.clone(),
            revision: request.revision,
            severity: request.severity,
        };
        #[cfg(target_os = "linux")]
        let summary = {
            let t = locale.texts();
            format!("{}: {}", t.severity(request.severity), request.title)
        };
        let request = serde_json::to_vec(request).context("cannot encode the message")?;
        let mut command = Command::new(binary);
        command.env("HERALD_AGENT_PID", std::process::id().to_string());
        if display == PopupDisplay::X11 {
            // XWayland on a Wayland session: there the window manager
            // keeps the popup above the others, GNOME's too.
            command.env("GDK_BACKEND", "x11");
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let (placed_tx, placed) = oneshot::channel();
        let said = tokio::spawn(last_words(child.stderr.take(), placed_tx));
        let mut stdin = child.stdin.take();
        if let Some(stdin) = &mut stdin {
            if let Err(e) = stdin.write_all(&request).await {
                // It died before reading: what it said is the better reason.
                let _ = child.wait().await;
                let said = said.await.unwrap_or_default();
                if said.is_empty() {
                    return Err(e).context("cannot hand the message to the popup");
                }
                anyhow::bail!("{said}");
            }
        }
        // The popup's input stays open for the lines that raise it.
        let (ended_tx, ended) = oneshot::channel::<()>();
        #[cfg(target_os = "linux")]
        if let Some(stdin) = stdin {
            let t = locale.texts();
            let notice = crate::behind::Notice {
                summary,
                body: t.behind_body.to_owned(),
                open: t.open_button.to_owned(),
            };
            tokio::spawn(crate::behind::stand_in(placed, notice, stdin, ended));
        }
        #[cfg(not(target_os = "linux"))]
        drop((stdin, placed, ended, locale));
        Ok(Popup::watched(shown, review, |killed| async move {
            let ending = watch(child, said, killed).await;
            // Whatever stood in for it on screen goes with it.
            drop(ended_tx);
            ending
        }))
    }

    /// A popup whose end `watcher` reports; the watcher runs as a task of
    /// its own, told by its argument when to take the popup down.
    fn watched<F>(
        shown: OnScreen,
        review: bool,
        watcher: impl FnOnce(oneshot::Receiver<()>) -> F,
    ) -> Popup
    where
        F: std::future::Future<Output = Ending> + Send + 'static,
    {
        let (kill, killed) = oneshot::channel();
        let (ended, ending) = oneshot::channel();
        let watching = watcher(killed);
        tokio::spawn(async move {
            let _ = ended.send(watching.await);
        });
        Popup {
            shown,
            review,
            ending,
            kill: Some(kill),
        }
    }

    /// Waits for the popup to close, and says how it ended. Cancel-safe:
    /// the answer waits in a channel until it is taken.
    pub async fn finished(&mut self) -> Ending {
        (&mut self.ending)
            .await
            .unwrap_or_else(|_| Ending::Failed("the popup's watcher ended".into()))
    }

    /// Takes the popup down, and says how it ended: the user's answer if
    /// it came first, which the caller must record like any other.
    pub async fn close(&mut self) -> Ending {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        self.finished().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_protocol::Severity;
    use rand::{Rng, SeedableRng};

    async fn yields(n: u32) {
        for _ in 0..n {
            tokio::task::yield_now().await;
        }
    }

    /// The main loop stops waiting for a popup whenever a timer fires, a
    /// command comes or a more urgent message preempts it. Raced at random
    /// points thousands of times, every answer the popup gave is received
    /// exactly once, by `finished` or by `close`.
    #[tokio::test(flavor = "current_thread")]
    async fn no_answer_is_lost_to_timers_or_preemption() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (mut given, mut received, mut taken_down) = (0u32, 0u32, 0u32);
        for round in 0..5000u32 {
            let answer_after = rng.random_range(0..6);
            let outcome = if round % 2 == 0 {
                Outcome::Read
            } else {
                Outcome::Cancelled
            };
            let answered = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let flag = answered.clone();
            let shown = OnScreen {
                id: format!("m{round}"),
                revision: 1,
                severity: Severity::Info,
            };
            let mut popup = Popup::watched(shown, false, move |mut kill| async move {
                tokio::select! {
                    biased;
                    _ = &mut kill => Ending::TakenDown,
                    () = yields(answer_after) => {
                        flag.store(true, std::sync::atomic::Ordering::SeqCst);
                        Ending::Answered(outcome)
                    }
                }
            });
            let preempt_after = rng.random_range(0..4u32);
            let mut turns = 0;
            let ending = loop {
                let timer = rng.random_range(0..3);
                tokio::select! {
                    e = popup.finished() => break e,
                    () = yields(timer) => {}
                }
                turns += 1;
                if turns > preempt_after && rng.random_bool(0.5) {
                    break popup.close().await;
                }
            };
            match ending {
                Ending::Answered(o) => {
                    assert_eq!(o, outcome);
                    received += 1;
                }
                Ending::TakenDown => taken_down += 1,
                Ending::Failed(why) => panic!("round {round}: failed: {why}"),
            }
            if answered.load(std::sync::atomic::Ordering::SeqCst) {
                given += 1;
            }
        }
        assert_eq!(given, received, "answers given and answers received differ");
        assert!(
            received > 1000 && taken_down > 500,
            "{received} answered, {taken_down} taken down: the race was not exercised"
        );
    }
}
