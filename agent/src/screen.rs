//! The popup process on screen: starting it, taking it down, and reading
//! what the user did. The web engine lives in that child process only.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result};
use herald_agent::i18n::Locale;
use herald_agent::popup::{Outcome, PopupRequest};
use herald_agent::schedule::OnScreen;
use herald_agent::StoredMessage;
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
pub enum Ending {
    Answered(Outcome),
    /// It died or exited without an answer; the text says why, as far as
    /// the popup told.
    Failed(String),
}

/// Keeps the last line the popup wrote on standard error; every line also
/// goes to the agent's log at debug level. Read as it comes, so that a
/// chatty web engine never fills the pipe.
async fn last_words(stderr: Option<ChildStderr>) -> String {
    let Some(stderr) = stderr else {
        return String::new();
    };
    let mut lines = BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(%line, "popup says");
        if !line.trim().is_empty() {
            last = line.chars().take(300).collect();
        }
    }
    last.trim_start_matches("herald-popup: ").to_owned()
}

/// Waits for the popup to end (or kills it when told) and reads its answer.
async fn watch(mut child: Child, said: JoinHandle<String>, kill: oneshot::Receiver<()>) -> Ending {
    let status = tokio::select! {
        status = child.wait() => status,
        _ = kill => {
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Ending::Failed("taken down".into());
        }
    };
    let mut out = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut out).await;
    }
    let said = said.await.unwrap_or_default();
    match (status, Outcome::parse(&out)) {
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

impl Popup {
    pub async fn open(
        binary: &PathBuf,
        m: &StoredMessage,
        locale: Locale,
        review: bool,
    ) -> Result<Popup> {
        let mut request = PopupRequest::new(m, locale);
        request.review = review;
        let request = serde_json::to_vec(&request).context("cannot encode the message")?;
        let mut child = Command::new(binary)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let said = tokio::spawn(last_words(child.stderr.take()));
        if let Some(mut stdin) = child.stdin.take() {
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
        let (kill, killed) = oneshot::channel();
        let (ended, ending) = oneshot::channel();
        tokio::spawn(async move {
            let _ = ended.send(watch(child, said, killed).await);
        });
        Ok(Popup {
            shown: OnScreen {
                id: m.id.clone(),
                revision: m.revision,
                severity: m.severity,
            },
            review,
            ending,
            kill: Some(kill),
        })
    }

    /// Waits for the popup to close, and says how it ended. Cancel-safe:
    /// the answer waits in a channel until it is taken.
    pub async fn finished(&mut self) -> Ending {
        (&mut self.ending)
            .await
            .unwrap_or_else(|_| Ending::Failed("the popup's watcher ended".into()))
    }

    /// Takes the popup down without an answer from the user.
    pub async fn close(mut self) {
        if let Some(kill) = self.kill.take() {
            let _ = kill.send(());
        }
        let _ = self.ending.await;
    }
}
