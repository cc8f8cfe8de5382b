//! The local control channel of a running agent: `herald-agent check-now`,
//! `herald-agent history` and the history window's "show again" reach the
//! agent through it. One request line, one answer line.
//!
//! It is a Unix socket in the user's data directory (mode 0600, in a
//! directory only the user reaches) or, on Windows, a named pipe whose name
//! derives from that directory, so two users never share one.

#[cfg(windows)]
pub mod pipe_security;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Longest request or answer line accepted, in bytes.
pub const MAX_LINE: usize = 4096;
/// How long a client waits for the agent: a check-now includes a contact
/// with the server, which has its own 30 s timeout.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// Contact the server now; the answer says how it went.
    CheckNow,
    /// Open the history window.
    History,
    /// Bring back the messages closed without reading, still valid.
    ShowWaiting,
    /// Show one message again, from the history window.
    Show(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("the agent does not run (nothing listens at {0})")]
    NotRunning(String),
    #[error("cannot talk to the agent at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("unknown request '{0}'")]
    BadRequest(String),
    #[error("{0}")]
    Refused(String),
}

impl Request {
    pub fn to_line(&self) -> String {
        match self {
            Request::CheckNow => "check-now".into(),
            Request::History => "history".into(),
            Request::ShowWaiting => "show-waiting".into(),
            Request::Show(id) => format!("show {id}"),
        }
    }

    pub fn parse(line: &str) -> Result<Request, ControlError> {
        let line = line.trim();
        match line.split_once(' ') {
            None if line == "check-now" => Ok(Request::CheckNow),
            None if line == "history" => Ok(Request::History),
            None if line == "show-waiting" => Ok(Request::ShowWaiting),
            Some(("show", id)) if valid_id(id) => Ok(Request::Show(id.to_owned())),
            _ => Err(ControlError::BadRequest(line.chars().take(80).collect())),
        }
    }
}

/// Message ids are server-made tokens; anything else is refused before it
/// reaches the store.
fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// An answer line: `ok <text>` or `error <text>`.
pub fn answer_line(result: &Result<String, String>) -> String {
    let (tag, text) = match result {
        Ok(t) => ("ok", t),
        Err(t) => ("error", t),
    };
    // One line, whatever the text holds.
    format!("{tag} {}\n", text.replace(['\n', '\r'], " "))
}

/// Reads an answer line back into a result.
pub fn parse_answer(line: &str) -> Result<String, ControlError> {
    let line = line.trim_end();
    match line.split_once(' ').unwrap_or((line, "")) {
        ("ok", t) => Ok(t.to_owned()),
        ("error", t) => Err(ControlError::Refused(t.to_owned())),
        _ => Err(ControlError::Refused(format!(
            "unexpected answer from the agent: {}",
            line.chars().take(80).collect::<String>()
        ))),
    }
}

/// The socket path for a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join("agent.sock")
}

/// The named pipe for a data directory (Windows): per user because the
/// data directory is.
pub fn pipe_name(data_dir: &Path) -> String {
    // FNV-1a: stable across builds, unlike the std hasher, so the agent and
    // the history window always agree on the name.
    let h = data_dir
        .to_string_lossy()
        .to_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    format!(r"\\.\pipe\herald-agent-{h:016x}")
}

/// The control pipe's security descriptor, in SDDL: a protected DACL
/// (`P`: nothing inherited) with one entry granting the user all access.
/// No other entry means no access for anyone else, administrators included.
pub fn owner_only_sddl(user_sid: &str) -> String {
    format!("D:P(A;;GA;;;{user_sid})")
}

/// Sends one request to the running agent and waits for its answer.
pub fn request(data_dir: &Path, req: &Request) -> Result<String, ControlError> {
    let (mut stream, where_) = connect(data_dir)?;
    let io = |source| ControlError::Io {
        path: where_.clone(),
        source,
    };
    stream
        .write_all(format!("{}\n", req.to_line()).as_bytes())
        .map_err(io)?;
    stream.flush().map_err(io)?;
    let mut line = String::new();
    BufReader::new(stream.take(MAX_LINE as u64))
        .read_line(&mut line)
        .map_err(io)?;
    if line.is_empty() {
        return Err(ControlError::Refused(
            "the agent closed the connection without answering".into(),
        ));
    }
    parse_answer(&line)
}

#[cfg(unix)]
fn connect(data_dir: &Path) -> Result<(std::os::unix::net::UnixStream, String), ControlError> {
    use std::io::ErrorKind;
    let path = socket_path(data_dir);
    let shown = path.display().to_string();
    match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => {
            let _ = s.set_read_timeout(Some(CLIENT_TIMEOUT));
            let _ = s.set_write_timeout(Some(CLIENT_TIMEOUT));
            Ok((s, shown))
        }
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused) => {
            Err(ControlError::NotRunning(shown))
        }
        Err(source) => Err(ControlError::Io {
            path: shown,
            source,
        }),
    }
}

#[cfg(windows)]
fn connect(data_dir: &Path) -> Result<(std::fs::File, String), ControlError> {
    // A named pipe opens like a file; the agent's end is a tokio server.
    let name = pipe_name(data_dir);
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&name)
    {
        Ok(f) => Ok((f, name)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ControlError::NotRunning(name)),
        Err(source) => Err(ControlError::Io { path: name, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for r in [
            Request::CheckNow,
            Request::History,
            Request::ShowWaiting,
            Request::Show("m-01_ab".into()),
        ] {
            assert_eq!(Request::parse(&r.to_line()).unwrap(), r);
        }
    }

    #[test]
    fn strange_requests_are_refused() {
        for bad in [
            "",
            "check-now please",
            "show",
            "show ../../etc",
            "show a b",
            "drop table",
        ] {
            assert!(Request::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn answers_stay_one_line() {
        let line = answer_line(&Err("two\nlines".into()));
        assert_eq!(line, "error two lines\n");
        assert!(matches!(parse_answer(&line), Err(ControlError::Refused(t)) if t == "two lines"));
        assert_eq!(parse_answer("ok synced\n").unwrap(), "synced");
        assert!(parse_answer("HTTP/1.1 200 OK").is_err());
    }

    #[test]
    fn the_pipe_admits_one_user() {
        assert_eq!(
            owner_only_sddl("S-1-5-21-1-2-3-1001"),
            "D:P(A;;GA;;;S-1-5-21-1-2-3-1001)"
        );
    }

    #[test]
    fn pipe_names_differ_per_data_dir() {
        let a = pipe_name(Path::new(r"C:\Users\ann\AppData\Local\Herald"));
        let b = pipe_name(Path::new(r"C:\Users\bob\AppData\Local\Herald"));
        assert_ne!(a, b);
        assert!(a.starts_with(r"\\.\pipe\herald-agent-"));
        assert_eq!(
            a,
            pipe_name(Path::new(r"c:\users\ann\appdata\local\herald"))
        );
    }

    #[cfg(unix)]
    #[test]
    fn no_agent_means_not_running() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            request(dir.path(), &Request::CheckNow),
            Err(ControlError::NotRunning(_))
        ));
    }
}
