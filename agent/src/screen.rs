//! The popup process on screen: starting it, taking it down, and reading
//! what the user did. The web engine lives in that child process only.

use std::path::PathBuf;
use std::process::Stdio;

use anyhow::{Context, Result};
use herald_agent::i18n::Locale;
use herald_agent::popup::{Outcome, PopupRequest};
use herald_agent::schedule::OnScreen;
use herald_agent::StoredMessage;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

/// A running popup.
pub struct Popup {
    pub shown: OnScreen,
    /// Shown again from the history: its answer changes nothing.
    pub review: bool,
    child: Child,
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
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
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
        })
    }

    /// Waits for the popup to close; `None` if it died without an answer.
    pub async fn finished(&mut self) -> Option<Outcome> {
        let status = self.child.wait().await.ok()?;
        let mut out = String::new();
        if let Some(mut stdout) = self.child.stdout.take() {
            stdout.read_to_string(&mut out).await.ok()?;
        }
        if !status.success() {
            return None;
        }
        Outcome::parse(&out)
    }

    /// Takes the popup down without an answer from the user.
    pub async fn close(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
