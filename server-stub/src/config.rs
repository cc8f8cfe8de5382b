//! The configuration's types, in one place: what `serve` is told by its
//! flags and its config file (`server.toml`), whoever reads them. How each
//! is used is with its user: `outbound::ldap` and `outbound::mail` read
//! their settings, `net::admission` applies the connection limits,
//! `net::proxy` reads the headers a trusted proxy sets.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use herald_protocol::Transport;
use serde::Deserialize;

/// The server's config file: `[directory]` (LDAP sync), `[relay]` (this
/// server is a site's relay) and `[mail]` (its mailbox, for exchanges by
/// mail).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub directory: Option<LdapSettings>,
    pub relay: Option<RelayConfig>,
    pub mail: Option<MailConfig>,
}

/// Agent settings the server hands out; part of the server's configuration.
#[derive(Debug, Clone)]
pub struct AgentPolicy {
    pub poll_interval_secs: u64,
    /// Agents older than this are told to update.
    pub min_agent_version: Option<String>,
    pub push: herald_protocol::PushMode,
}

impl AgentPolicy {
    /// An inbound listener not heard from for two poll intervals (and a
    /// minute for jitter) has stopped listening or gone: it is not called.
    pub fn listener_max_age(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.poll_interval_secs.saturating_mul(2) + 60)
    }
}

/// The `[relay]` section: this server is the relay of a site.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    pub site: String,
    /// The site's secret key, as `site add` printed it.
    pub key: String,
    /// The central server's public key, as `site add` printed it.
    pub central_key: String,
    pub transport: Transport,
    /// The central server's address, for HTTPS.
    pub central_url: Option<String>,
    /// A CA (PEM) to trust for the central server, beyond the system's.
    pub central_ca: Option<PathBuf>,
    /// The central server's mailbox, for mail.
    pub central_mail: Option<String>,
    /// Exchange on this schedule from inside the server (seconds); without
    /// it, only when `herald-server exchange` asks.
    pub every_secs: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// No TLS: only for a mail server on the same machine or in tests.
    Plain,
    Starttls,
    /// TLS from the first byte (SMTPS 465, IMAPS 993).
    Tls,
}

/// The `[mail]` section of the server's config: this server's own
/// address and mailbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    /// Where the other side mails our bundles; also our sender address.
    pub address: String,
    pub smtp_host: String,
    pub smtp_port: Option<u16>,
    #[serde(default = "starttls")]
    pub smtp_security: Security,
    pub smtp_user: Option<String>,
    pub smtp_password: Option<String>,
    pub imap_host: String,
    pub imap_port: Option<u16>,
    #[serde(default = "tls")]
    pub imap_security: Security,
    pub imap_user: String,
    pub imap_password: String,
    #[serde(default = "inbox")]
    pub mailbox: String,
    /// A CA (PEM) to trust beyond the system's, for a private mail server.
    pub ca: Option<PathBuf>,
}

fn starttls() -> Security {
    Security::Starttls
}
fn tls() -> Security {
    Security::Tls
}
fn inbox() -> String {
    "INBOX".to_owned()
}

/// Which kind of directory: it sets the defaults of the filters and
/// attributes, each of which can still be given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// Active Directory: sAMAccountName, userAccountControl.
    #[default]
    Ad,
    /// OpenLDAP and the like: inetOrgPerson, groupOfNames, uid.
    Openldap,
}

/// The directory settings, as given on the command line or in the
/// `[directory]` section of the server's config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapSettings {
    /// `ldap://host:389` or `ldaps://host:636`.
    pub url: String,
    pub bind_dn: String,
    /// A file holding the bind password (one line), readable by the server
    /// only.
    pub password_file: PathBuf,
    pub base_dn: String,
    #[serde(default)]
    pub schema: Schema,
    pub user_filter: Option<String>,
    pub group_filter: Option<String>,
    /// The attribute holding the account name Herald uses.
    pub user_attr: Option<String>,
    /// Users matching this (within the user filter) are disabled.
    pub disabled_filter: Option<String>,
    /// How often `serve` syncs, in seconds (default 900).
    pub interval_secs: Option<u64>,
    /// The CA (PEM) that signed the directory's certificate, for
    /// `ldaps://` or StartTLS, instead of the system's roots: a domain's
    /// own CA, usually.
    pub ca_file: Option<PathBuf>,
    /// Upgrade an `ldap://` connection with StartTLS, so that the bind
    /// password never crosses the network in clear.
    #[serde(default)]
    pub starttls: bool,
}

/// The connection settings: caps and time limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnLimits {
    /// Time from accepting a connection to having its request head (a TLS
    /// handshake included); also hyper's limit for each later head.
    pub head_timeout: Duration,
    /// Time for a whole request body, from its head: a body trickled a
    /// byte at a time is cut then, however often bytes arrive.
    pub body_timeout: Duration,
    /// Time an idle or stopping connection gets to finish its request.
    pub close_grace: Duration,
    /// Connections open at once, push streams included.
    pub max_connections: usize,
    /// Connections open at once from one client (IPv4 address, IPv6 /64).
    pub max_per_client: usize,
    /// The last slots under `max_connections`, kept for health checks and
    /// admins: a connection taking one is served only if its request is one
    /// of theirs.
    pub reserved: usize,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            head_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            close_grace: Duration::from_secs(10),
            max_connections: 50_000,
            // Many agents can sit behind one NAT address, each with a push
            // stream and now and then a poll.
            max_per_client: 256,
            reserved: 16,
        }
    }
}

/// Open files the server keeps for itself beyond its connections: database
/// files and connections, certificates, outgoing calls.
const OWN_FILES: u64 = 256;

impl ConnLimits {
    /// Lowers `max_connections` to what `open_files` (the process's limit
    /// on open files) leaves once the server's own files are counted: past
    /// that the server could not even open its database, and accepting
    /// would fail before the cap was reached. Returns whether it lowered.
    pub fn fit_open_files(&mut self, open_files: u64) -> bool {
        let room = open_files.saturating_sub(OWN_FILES.max(open_files / 10));
        let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
        if self.max_connections > room {
            self.max_connections = room;
            true
        } else {
            false
        }
    }

    /// The slots a connection may take for any request.
    pub(crate) fn unreserved(&self) -> usize {
        self.max_connections.saturating_sub(self.reserved)
    }
}

/// One client as the caps count it: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientBlock {
    V4(Ipv4Addr),
    /// The first 64 bits of the address.
    V6(u64),
}

impl ClientBlock {
    pub fn of(ip: IpAddr) -> ClientBlock {
        match ip.to_canonical() {
            IpAddr::V4(a) => ClientBlock::V4(a),
            IpAddr::V6(a) => ClientBlock::V6((u128::from(a) >> 64) as u64),
        }
    }
}

impl fmt::Display for ClientBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientBlock::V4(a) => write!(f, "{a}"),
            ClientBlock::V6(net) => {
                let a = std::net::Ipv6Addr::from(u128::from(*net) << 64);
                write!(f, "{a}/64")
            }
        }
    }
}

/// An address block: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0:?} is not an address block (such as 10.0.0.0/8, 192.0.2.7 or ::1/128)")]
pub struct BadCidr(String);

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Self, BadCidr> {
        let bad = || BadCidr(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.trim(), None),
        };
        let net: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(bad)?,
            None => max,
        };
        Ok(Cidr { net, prefix })
    }
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip.to_canonical()) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub(crate) Vec<Cidr>);
