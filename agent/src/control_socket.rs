//! The agent's end of the control channel (a Unix socket, or a named pipe
//! on Windows): requests from the command line and the history window go
//! to the main loop as `input::Command`s.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use herald_core::control::{answer_line, Request, MAX_LINE};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::{mpsc, oneshot};

use crate::input::{Action, Command};

/// A client has this long to send its request line.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts listening; requests are handed to `tx` one by one.
#[cfg(unix)]
pub fn listen(data_dir: &Path, tx: mpsc::Sender<Command>) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let path = herald_core::control::socket_path(data_dir);
    // Whoever made a socket here is gone: we hold the instance lock.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(serve(stream, tx.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control socket: accept failed");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    });
    Ok(())
}

/// Starts listening on the named pipe; one instance waits for a client at
/// any time, and a new one is made as soon as a client connects. Every
/// instance admits only this user (an explicit DACL), refuses clients from
/// other computers, and the first one fails if anyone already holds the
/// name, so nobody can sit on the pipe before the agent.
#[cfg(windows)]
#[allow(unsafe_code)]
pub fn listen(data_dir: &Path, tx: mpsc::Sender<Command>) -> Result<()> {
    use herald_core::control::pipe_security::OwnerOnly;
    use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};
    let name = herald_core::control::pipe_name(data_dir);
    let security = OwnerOnly::new().context("cannot build the control pipe's security")?;
    let create = move |first: bool| -> std::io::Result<NamedPipeServer> {
        // The attributes live in `security`, which the closure owns, for
        // the whole call.
        unsafe {
            ServerOptions::new()
                .first_pipe_instance(first)
                .reject_remote_clients(true)
                .create_with_security_attributes_raw(&name, security.as_ptr())
        }
    };
    let shown = herald_core::control::pipe_name(data_dir);
    let mut server = create(true).with_context(|| format!("cannot listen on {shown}"))?;
    tokio::spawn(async move {
        loop {
            if let Err(e) = server.connect().await {
                tracing::warn!(error = %e, "control pipe: connect failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            let next = match create(false) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "control pipe: cannot make a new instance");
                    return;
                }
            };
            let connected = std::mem::replace(&mut server, next);
            tokio::spawn(serve(connected, tx.clone()));
        }
    });
    Ok(())
}

async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: S, tx: mpsc::Sender<Command>) {
    let (read, mut write) = tokio::io::split(stream);
    let mut line = String::new();
    let mut reader = BufReader::new(read.take(MAX_LINE as u64));
    match tokio::time::timeout(READ_TIMEOUT, reader.read_line(&mut line)).await {
        Ok(Ok(n)) if n > 0 => {}
        _ => return,
    }
    let result = match Request::parse(&line) {
        Ok(request) => {
            tracing::info!(request = %request.to_line(), "control request");
            let (reply, answer) = oneshot::channel();
            let cmd = Command {
                action: Action::Request(request),
                reply: Some(reply),
            };
            if tx.send(cmd).await.is_err() {
                Err("the agent is stopping".to_owned())
            } else {
                answer
                    .await
                    .unwrap_or_else(|_| Err("the agent is stopping".to_owned()))
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "control request refused");
            Err(e.to_string())
        }
    };
    let _ = write.write_all(answer_line(&result).as_bytes()).await;
    let _ = write.shutdown().await;
}
