//! Command line of `herald-agent`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "herald-agent",
    version,
    about = "Herald desktop agent: receives messages and shows them"
)]
pub struct Cli {
    /// Server URL (overrides the config file).
    #[arg(long, global = true, env = "HERALD_SERVER")]
    pub server: Option<String>,
    /// This user's agent token (overrides the config file).
    #[arg(long, global = true, env = "HERALD_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Name this computer reports (default: the machine's host name).
    #[arg(long, global = true, env = "HERALD_HOST")]
    pub host: Option<String>,
    /// Take inbound push calls on this address (IP:PORT), if the server
    /// asks for inbound push. Off unless set.
    #[arg(long, global = true, env = "HERALD_PUSH_LISTEN")]
    pub push_listen: Option<String>,
    /// A CA certificate (PEM) to trust for an https server, besides the
    /// system's roots.
    #[arg(long, global = true, env = "HERALD_SERVER_CA")]
    pub server_ca: Option<PathBuf>,
    /// An enrollment key: with no token given, the agent signs in with it
    /// on its first contact and keeps the token it gets.
    #[arg(long, global = true, env = "HERALD_ENROLL_KEY", hide_env_values = true)]
    pub enroll_key: Option<String>,
    /// The server's message-signing public key (hex, `herald-server key
    /// show`): messages it did not sign are refused. At a site relay's
    /// agents, the central server's key as `HEX@SITE`.
    #[arg(long, global = true, env = "HERALD_SERVER_KEY")]
    pub server_key: Option<String>,
    /// Sign in by Kerberos with the logged-on user's ticket (no token).
    #[arg(long, global = true, env = "HERALD_KERBEROS")]
    pub kerberos: bool,
    /// Where the per-user store lives.
    #[arg(long, global = true, env = "HERALD_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file (TOML with server, token, host).
    #[arg(long, global = true, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Sign in now with the enrollment key, replacing the kept token.
    Enroll,
    /// Contact the server once (send receipts, fetch messages), then exit.
    Sync {
        #[arg(long)]
        json: bool,
    },
    /// The due messages, in the order they will be shown.
    Queue {
        /// Every message held, with its state.
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// Read a due message, as "I have read the message" does; a message
    /// that asks for an answer needs `--answer N` (1-based).
    Ack {
        id: String,
        #[arg(long, value_parser = clap::value_parser!(u8).range(1..=5))]
        answer: Option<u8>,
    },
    /// Close a due message without reading it; it comes back after the next contact.
    Cancel { id: String },
    /// Server, last contact, next poll, pending receipts, last error.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Run the agent: poll on schedule and bring messages up when due.
    Run {
        /// Log due messages instead of showing popups (also when there is no display).
        #[arg(long)]
        headless: bool,
    },
    /// Check each step to the server (DNS, TCP, TLS, HTTP, token, a poll,
    /// push), each ok or why not; exits 1 if one failed.
    TestConnection {
        #[arg(long)]
        json: bool,
    },
    /// Ask the running agent to contact the server now; prints how it went.
    CheckNow,
    /// Open the history window (through the running agent, or directly).
    History,
    /// Ask the running agent to bring back the messages closed without reading.
    ShowWaiting,
    /// Start the agent at login, or stop doing so.
    Autostart {
        #[arg(value_enum)]
        action: AutostartAction,
    },
    /// The machine-wide config (what the installer's SERVER= and
    /// PUSH_LISTEN= become); its settings win over each user's.
    MachineConfig {
        #[command(subcommand)]
        action: MachineConfigAction,
    },
    /// The exchange log: every contact with the server, newest first.
    Log {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        oldest_first: bool,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AutostartAction {
    Enable,
    Disable,
    Status,
}

#[derive(Subcommand)]
pub enum MachineConfigAction {
    /// Writes the machine config (replacing it); empty values are left out.
    Write {
        #[arg(long = "set-server")]
        server: Option<String>,
        #[arg(long = "set-push-listen")]
        push_listen: Option<String>,
        /// A CA certificate file (PEM); it is copied next to the config.
        // Its own id: the global --server-ca is a path under the same name.
        #[arg(long = "set-server-ca", id = "set_server_ca", value_name = "FILE")]
        server_ca: Option<String>,
        /// An enrollment key, so that agents sign in by themselves.
        #[arg(long = "set-enroll-key", id = "set_enroll_key", value_name = "KEY")]
        enroll_key: Option<String>,
        /// 1: agents sign in by Kerberos with the logged-on user's ticket;
        /// 0: they do not.
        #[arg(long = "set-kerberos", id = "set_kerberos", value_name = "1|0")]
        kerberos: Option<String>,
        /// The server's Kerberos service, when not HTTP@ its host name.
        #[arg(
            long = "set-kerberos-service",
            id = "set_kerberos_service",
            value_name = "SERVICE"
        )]
        kerberos_service: Option<String>,
        /// The server's message-signing public key (`herald-server key show`;
        /// `HEX@SITE` at a site relay's agents).
        #[arg(long = "set-server-key", id = "set_server_key", value_name = "HEX")]
        server_key: Option<String>,
        /// x11: popups run under XWayland on a Wayland session, where
        /// they stay above other windows; auto: natively.
        #[arg(
            long = "set-popup-display",
            id = "set_popup_display",
            value_name = "x11|auto"
        )]
        popup_display: Option<String>,
    },
    /// Removes the machine config.
    Remove,
    /// Prints the machine config.
    Show,
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    /// What the MSI's custom action runs: a clash of argument ids between
    /// the global flags and these panics only when the value is read.
    #[test]
    fn the_installers_command_line_parses_and_reads() {
        let cli = Cli::try_parse_from([
            "herald-agent",
            "--kerberos",
            "machine-config",
            "write",
            "--set-server",
            "https://herald.example.com",
            "--set-server-ca",
            "C:\\ca.pem",
            "--set-enroll-key",
            "",
            "--set-kerberos",
            "1",
            "--set-kerberos-service",
            "HTTP@herald",
            "--set-server-key",
            "",
            "--set-popup-display",
            "x11",
        ])
        .expect("parses");
        assert!(cli.kerberos);
        let Command::MachineConfig {
            action:
                MachineConfigAction::Write {
                    server,
                    server_ca,
                    enroll_key,
                    kerberos,
                    kerberos_service,
                    server_key,
                    popup_display,
                    ..
                },
        } = cli.command
        else {
            panic!("not machine-config write");
        };
        assert_eq!(server.as_deref(), Some("https://herald.example.com"));
        assert_eq!(server_ca.as_deref(), Some("C:\\ca.pem"));
        assert_eq!(enroll_key.as_deref(), Some(""));
        assert_eq!(kerberos.as_deref(), Some("1"));
        assert_eq!(kerberos_service.as_deref(), Some("HTTP@herald"));
        assert_eq!(server_key.as_deref(), Some(""));
        assert_eq!(popup_display.as_deref(), Some("x11"));
    }
}
