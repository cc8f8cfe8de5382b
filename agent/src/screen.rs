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
use tokio::task::JoinHandle;

/// A running popup.
pub struct Popup {
    pub shown: OnScreen,
    /// Shown again from the history: its answer changes nothing.
    pub review: bool,
    child: Child,
    /// The popup's last words on standard error, read as they come so that
    /// a chatty web engine never fills the pipe.
    stderr: Option<JoinHandle<String>>,
}

/// How the popup ended.
pub enum Ending {
    Answered(Outcome),
    /// It died or exited without an answer; the text says why, as far as
    /// the popup told.
    Failed(String),
}

/// Keeps the last line the popup wrote on standard error; every line also
/// goes to the agent's log at debug level.
async fn last_words(stderr: ChildStderr) -> String {
    let mut lines = BufReader::new(stderr).lines();
    let mut last = String::new();
    while let Ok(Some(line)) = lines.next_line().await {
        tracing::debug!(%line, "popup says");
        if !line.trim().is_empty() {
            last = line.chars().take(300).collect();
        }
    }
    last
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
        let stderr = child.stderr.take().map(|e| tokio::spawn(last_words(e)));
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(&request)
                .await
                .context("cannot hand the message to the popup")?;
        }
        let shown = OnScreen {
            id: m.id.clone(),
            revision: m.revision,
            severity: m.severity,
        };
        Ok(Popup {
            shown,
            review,
            child,
            stderr,
        })
    }

    /// Waits for the popup to close, and says how it ended.
    pub async fn finished(&mut self) -> Ending {
        let status = match self.child.wait().await {
            Ok(s) => s,
            Err(e) => return Ending::Failed(format!("cannot wait for the popup: {e}")),
        };
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            let _ = stdout.read_to_string(&mut out).await;
        }
        let said = match self.stderr.take() {
            Some(task) => task.await.unwrap_or_default(),
            None => String::new(),
        };
        match Outcome::parse(&out) {
            Some(o) if status.success() => Ending::Answered(o),
            _ if said.is_empty() => {
                Ending::Failed(format!("the popup ended without an answer ({status})"))
            }
            _ => Ending::Failed(said.trim_start_matches("herald-popup: ").to_owned()),
        }
    }

    /// Takes the popup down without an answer from the user.
    pub async fn close(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
