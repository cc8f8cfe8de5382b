//! Where the agent keeps its files, and its optional TOML config file.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The config file. Every field can also come from a flag or the
/// environment, which win over the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub server: Option<String>,
    pub token: Option<String>,
    pub host: Option<String>,
    /// Where to take inbound push calls (`IP:PORT`), used only when the
    /// server asks for inbound push. Unset: no port is ever opened.
    pub push_listen: Option<String>,
    /// A CA certificate file (PEM) to trust for an `https://` server,
    /// besides the system's roots.
    pub server_ca: Option<String>,
    /// Signs the agent in when no token is given (see `signin`).
    pub enroll_key: Option<String>,
    /// Sign in by Kerberos with the logged-on user's ticket.
    pub kerberos: Option<bool>,
    /// The server's Kerberos service, when not `HTTP@` its host name.
    pub kerberos_service: Option<String>,
    /// A credentials cache holding this computer's own ticket (`host/NAME`,
    /// kept fresh by a system service: `kinit -k -c FILE`). Sent along
    /// with the user's ticket, it proves the computer's name; read from
    /// the machine config only.
    pub kerberos_machine_ccache: Option<String>,
    /// The server's message-signing public key (hex, as `herald-server key
    /// show` prints it; several separated by commas): messages it did not
    /// sign are refused. Unset, the agent learns it when it enrolls.
    pub server_key: Option<String>,
    /// Where the popup draws on a Wayland desktop: `x11` runs it under
    /// XWayland, where it stays above other windows even on GNOME;
    /// `auto` (or unset) draws natively (see `PopupDisplay`).
    pub popup_display: Option<String>,
}

/// How the agent starts the popup on a Wayland session.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PopupDisplay {
    /// Native Wayland where there is one: the overlay layer where the
    /// compositor has it, an ordinary window and a notification elsewhere.
    #[default]
    Auto,
    /// Always X11 (`GDK_BACKEND=x11`): XWayland on a Wayland session.
    X11,
}

impl PopupDisplay {
    pub fn as_str(self) -> &'static str {
        match self {
            PopupDisplay::Auto => "auto",
            PopupDisplay::X11 => "x11",
        }
    }
}

/// Reads a `popup_display` setting; empty is the default.
pub fn parse_popup_display(text: &str) -> Result<PopupDisplay, ConfigError> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" | "auto" => Ok(PopupDisplay::Auto),
        "x11" => Ok(PopupDisplay::X11),
        _ => Err(ConfigError::PopupDisplay(text.to_owned())),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("bad config file {path}: {message}")]
    Parse { path: String, message: String },
    #[error("bad push_listen address '{0}': give IP:PORT, such as 0.0.0.0:8741")]
    Listen(String),
    #[error("bad popup_display '{0}': give x11 or auto")]
    PopupDisplay(String),
}

/// Reads the config file; a missing file is an empty config.
pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileConfig::default()),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.display().to_string(),
                source,
            })
        }
    };
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.display().to_string(),
        message: e.message().to_owned(),
    })
}

/// The per-user data directory (`HERALD_DATA_DIR` is handled by the CLI).
/// The store belongs to one user on one computer: on Windows it lives in
/// `%LOCALAPPDATA%`, never in the roaming profile, which would copy one
/// computer's store to the others.
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join("herald"))
}

/// The machine-wide config an administrator (or the MSI) writes; the
/// settings it holds win over the user's, as a policy would.
/// `HERALD_MACHINE_CONFIG` names another file (for tests and packaging).
pub fn machine_config_file() -> PathBuf {
    if let Some(p) = std::env::var_os("HERALD_MACHINE_CONFIG") {
        return PathBuf::from(p);
    }
    if cfg!(windows) {
        let base = std::env::var_os("ProgramData")
            .map_or_else(|| PathBuf::from(r"C:\ProgramData"), PathBuf::from);
        base.join("Herald").join("agent.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/Herald/agent.toml")
    } else {
        PathBuf::from("/etc/herald/agent.toml")
    }
}

/// The machine config's text, as the installer writes it. Settings not
/// set are left out; values are TOML strings and booleans, so any text is
/// safe in them.
pub fn machine_config_text(config: &FileConfig) -> String {
    let mut out = String::from(
        "# Written by the Herald installer. These settings win over each user's own.\n",
    );
    // Strings and booleans only: the serializer cannot fail on them.
    out.push_str(&toml::to_string(config).unwrap_or_default());
    out
}

pub fn default_config_file() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("herald").join("agent.toml"))
}

pub fn store_path(data_dir: &Path) -> PathBuf {
    data_dir.join("agent.db")
}

/// Reads a `push_listen` address.
pub fn parse_listen(text: &str) -> Result<std::net::SocketAddr, ConfigError> {
    text.trim()
        .parse()
        .map_err(|_| ConfigError::Listen(text.to_owned()))
}

/// This computer's name as messages to `host:NAME` address it.
pub fn machine_host_name() -> String {
    gethostname::gethostname()
        .to_string_lossy()
        .trim()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_empty_config_bad_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            load(&dir.path().join("none.toml")).unwrap(),
            FileConfig::default()
        );
        let p = dir.path().join("a.toml");
        std::fs::write(&p, "server = \"http://h:1\"\nhost = \"pc\"\n").unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.server.as_deref(), Some("http://h:1"));
        assert_eq!(c.host.as_deref(), Some("pc"));
        std::fs::write(&p, "sever = 1\n").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("a.toml"));
    }

    #[test]
    fn machine_config_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(
            &p,
            machine_config_text(&FileConfig {
                server: Some("http://srv:8740/\"x\"".into()),
                kerberos: Some(true),
                ..FileConfig::default()
            }),
        )
        .unwrap();
        let c = load(&p).unwrap();
        assert_eq!(c.server.as_deref(), Some("http://srv:8740/\"x\""));
        assert_eq!(c.kerberos, Some(true));
        assert_eq!(c.push_listen, None);
        assert_eq!(c.token, None);
    }

    #[test]
    fn popup_display_round_trips_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.toml");
        std::fs::write(
            &p,
            machine_config_text(&FileConfig {
                popup_display: Some("x11".into()),
                ..FileConfig::default()
            }),
        )
        .unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("popup_display = \"x11\""), "{text}");
        let c = load(&p).unwrap();
        assert_eq!(
            parse_popup_display(c.popup_display.as_deref().unwrap()).unwrap(),
            PopupDisplay::X11
        );
        assert_eq!(parse_popup_display(" X11 ").unwrap(), PopupDisplay::X11);
        assert_eq!(parse_popup_display("").unwrap(), PopupDisplay::Auto);
        assert_eq!(parse_popup_display("auto").unwrap(), PopupDisplay::Auto);
        let e = parse_popup_display("wayland").unwrap_err().to_string();
        assert!(e.contains("x11 or auto"), "{e}");
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(
            parse_listen(" 0.0.0.0:8741").unwrap(),
            "0.0.0.0:8741".parse().unwrap()
        );
        assert!(parse_listen("[::]:0").is_ok());
        let e = parse_listen("localhost").unwrap_err().to_string();
        assert!(e.contains("IP:PORT"), "{e}");
    }
}
