//! Command line of `herald-server`, and the admin commands built on the API.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use herald_protocol::{
    Audience, AudienceQuery, HostInfo, Membership, MessageInfo, NewUser, ReceiptRecord,
    RevisionInfo, UserCreated, UserInfo,
};
use reqwest::Method;

use crate::client::{seg, AdminClient};

#[derive(Parser)]
#[command(
    name = "herald-server",
    version,
    about = "Herald server and its administration commands"
)]
pub struct Cli {
    /// Server to administer.
    #[arg(
        long,
        global = true,
        env = "HERALD_SERVER",
        default_value = "http://127.0.0.1:8740"
    )]
    pub server: String,
    /// Admin token (default: the one saved in the data directory).
    #[arg(
        long,
        global = true,
        env = "HERALD_ADMIN_TOKEN",
        hide_env_values = true
    )]
    pub admin_token: Option<String>,
    /// A CA certificate (PEM) to trust for an https server, besides the
    /// system's roots.
    #[arg(long, global = true, env = "HERALD_SERVER_CA")]
    pub server_ca: Option<PathBuf>,
    /// Where the server keeps its database and admin token.
    #[arg(long, global = true, env = "HERALD_SERVER_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Copy the database while the server runs: a consistent snapshot,
    /// checked, to a new SQLite file. Restore by stopping the server and
    /// putting the copy in place of server.db (with its -wal and -shm
    /// removed), or, for PostgreSQL, with `migrate --from sqlite:COPY`.
    Backup {
        /// The copy to write; it must not exist.
        to: PathBuf,
        /// The database: a SQLite file or postgres://… (default: HERALD_DB,
        /// else server.db in the data directory).
        #[arg(long, env = "HERALD_DB")]
        db: Option<String>,
    },
    /// Copy everything from one database into another that holds no data
    /// yet, e.g. from the embedded SQLite file to PostgreSQL. Stop the
    /// server first: what it writes during the copy stays behind.
    Migrate {
        /// `sqlite:FILE` or `postgres://…`.
        #[arg(long)]
        from: String,
        /// `sqlite:FILE` or `postgres://…`; made if missing, must be empty.
        #[arg(long)]
        to: String,
    },
    /// The key that signs messages for agents (a file, not over HTTP).
    #[command(subcommand)]
    Key(crate::key_cli::KeyCmd),
    /// Manage users.
    #[command(subcommand)]
    User(UserCmd),
    /// Manage group membership (groups are created when first used).
    #[command(subcommand)]
    Group(GroupCmd),
    /// Users and groups from LDAP / Active Directory.
    #[command(subcommand)]
    Directory(crate::directory_cli::DirectoryCmd),
    /// Administrators' accounts: roles, senders' limits, API tokens.
    #[command(subcommand, alias = "accounts")]
    Admin(crate::accounts_cli::AdminCmd),
    /// What administrators did: sign-ins, sends, edits, account changes.
    Audit(crate::accounts_cli::AuditArgs),
    /// Enrollment keys: agents sign in with one, no token copied by hand.
    #[command(subcommand)]
    Enroll(crate::enroll_cli::EnrollCmd),
    /// A computer: log out its signed-in agents.
    #[command(subcommand)]
    Host(crate::enroll_cli::HostCmd),
    /// List the computers agents have reported.
    Hosts {
        #[arg(long)]
        json: bool,
    },
    /// Send a message; prints its id. --title, --body and --answer are the
    /// default version's until a --lang starts another language's.
    Send(crate::messages_cli::SendArgs),
    /// Change a message, making a new revision.
    Edit(crate::messages_cli::EditArgs),
    /// One message: every language, the answers, display and sound.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// End a message's validity now.
    Withdraw { id: String },
    /// List messages.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Who has displayed, read and answered a message, by addressed user.
    Report {
        id: String,
        #[arg(long, conflicts_with = "csv")]
        json: bool,
        #[arg(long)]
        csv: bool,
    },
    /// Send a message again, as a new one, to those who have not read it
    /// (for a message with answers: not answered), or who chose an answer.
    Again {
        id: String,
        /// Those who chose this answer (1-based).
        #[arg(long, value_name = "N")]
        answered: Option<u8>,
        /// A follow-up in other words rather than the message again: its
        /// title (and --body), read with the usual button.
        #[arg(long)]
        title: Option<String>,
        #[arg(long, requires = "title")]
        body: Option<String>,
    },
    /// A message's revisions and what each changed.
    Revisions { id: String },
    /// How many users a message to these recipients would reach now.
    Audience {
        #[arg(long, required = true, value_delimiter = ',')]
        to: Vec<String>,
        #[arg(long, value_delimiter = ',')]
        exclude: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Site relays: register, list, forget.
    #[command(subcommand)]
    Site(crate::site_cli::SiteCmd),
    /// Exchange with the other sites now (for cron or the task scheduler);
    /// `exchange test` checks the way, `exchange log` is the trace.
    Exchange(crate::site_cli::ExchangeArgs),
    /// Central preferences for agents, for all sites or one.
    #[command(subcommand)]
    Prefs(crate::site_cli::PrefsCmd),
    /// List the receipts of a message.
    Receipts {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1:8740")]
    pub listen: String,
    /// The database: a SQLite file (default: server.db in the data
    /// directory), or postgres://USER@HOST/DB for several instances.
    #[arg(long, env = "HERALD_DB")]
    pub db: Option<String>,
    /// How often agents poll, in seconds.
    #[arg(long, env = "HERALD_POLL_INTERVAL", default_value_t = 300)]
    pub poll_interval: u64,
    /// Agents older than this version are told to update.
    #[arg(long)]
    pub min_agent_version: Option<String>,
    /// Push: `stream` tells agents to hold a push stream so that immediate
    /// messages reach them at once; `inbound` calls the agents that listen
    /// (for networks that forbid long-lived connections); `off` leaves
    /// them polling.
    #[arg(long, value_enum, default_value = "stream")]
    pub push: PushArg,
    /// Serve HTTPS with this certificate chain (PEM), leaf first.
    #[arg(long, env = "HERALD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of `--tls-cert`.
    #[arg(long, env = "HERALD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Server config file (TOML; its [directory] section makes the server
    /// sync users and groups from LDAP / Active Directory on an interval).
    /// Default: server.toml in the data directory, if there is one.
    #[arg(long, env = "HERALD_SERVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// Take Kerberos sign-in (SPNEGO), checked with this keytab (the
    /// server's HTTP/host principal).
    #[arg(long, env = "HERALD_KEYTAB")]
    pub keytab: Option<PathBuf>,
    /// Take Kerberos users from this realm (repeat for more). Default: the
    /// realms of the keytab's keys, so a trusted domain's `alice` is not
    /// taken for this one's.
    #[arg(long = "kerberos-realm", requires = "keytab", value_name = "REALM")]
    pub kerberos_realms: Vec<String>,
    /// A load balancer or reverse proxy (an address or a block such as
    /// 10.0.0.0/8; repeat for more) whose X-Forwarded-For names the client.
    /// Requests from anywhere else keep their peer address, whatever they
    /// say.
    #[arg(
        long = "trusted-proxy",
        env = "HERALD_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    pub trusted_proxies: Vec<herald_server::config::Cidr>,
    /// The key file that signs messages (made at first start, owner-only;
    /// every instance on one database must be given the same file).
    /// Default: signing-key beside a SQLite database, else in the data
    /// directory.
    #[arg(long, env = "HERALD_SIGNING_KEY", value_name = "PATH")]
    pub signing_key: Option<PathBuf>,
    /// Writers on PostgreSQL, each on a connection of its own (SQLite has
    /// one). More help when the database is across a network: a write
    /// waits for a round trip per statement.
    #[arg(long, env = "HERALD_DB_WRITERS", default_value_t = herald_server::store::pool::PG_WRITERS,
        value_parser = clap::value_parser!(u16).range(1..=64))]
    pub db_writers: u16,
    /// Take every agent's word for its computer's name, as if its token
    /// proved it. Without it, only a token bound to the computer
    /// (enrollment, or Kerberos with the machine's ticket) proves the
    /// name: messages to `host:NAME` reach only such agents, and a host
    /// exclusion holds against every other one. For small sites whose
    /// users may all be trusted with that.
    #[arg(long, env = "HERALD_TRUST_CLAIMED_HOSTS")]
    pub trust_claimed_hosts: bool,
    #[command(flatten)]
    pub connections: ConnArgs,
}

/// Connection caps and time limits: a client that opens sockets and says
/// nothing, or says it slowly, must not take them all.
#[derive(Args)]
pub struct ConnArgs {
    /// Connections open at once, push streams included; lowered to what
    /// the limit on open files allows.
    #[arg(long, env = "HERALD_MAX_CONNECTIONS", default_value_t = 50_000,
        value_parser = clap::value_parser!(u32).range(2..))]
    pub max_connections: u32,
    /// Connections open at once from one client: an IPv4 address or an
    /// IPv6 /64. Many agents behind one NAT address share it, each with a
    /// push stream; a trusted proxy (--trusted-proxy) is not capped.
    #[arg(long, env = "HERALD_MAX_CONNECTIONS_PER_CLIENT", default_value_t = 256,
        value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections_per_client: u32,
    /// The last connection slots, kept for health checks and admins
    /// (/api/v1/health, /api/v1/admin/, /admin): near the cap, other
    /// requests are answered 503.
    #[arg(long, env = "HERALD_RESERVED_CONNECTIONS", default_value_t = 16)]
    pub reserved_connections: u32,
    /// Seconds a client has to send its request head (TLS handshake
    /// included); also how long an idle connection stays open between
    /// requests.
    #[arg(long, env = "HERALD_HEAD_TIMEOUT", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub head_timeout: u64,
    /// Seconds a client has to send a whole request body, from its head.
    #[arg(long, env = "HERALD_BODY_TIMEOUT", default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout: u64,
    /// Seconds an idle or stopping connection has to finish its request
    /// before it is cut.
    #[arg(long, env = "HERALD_CLOSE_GRACE", default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..))]
    pub close_grace: u64,
}

impl ConnArgs {
    pub fn limits(&self) -> anyhow::Result<herald_server::config::ConnLimits> {
        use std::time::Duration;
        anyhow::ensure!(
            self.reserved_connections < self.max_connections,
            "--reserved-connections ({}) must be fewer than --max-connections ({})",
            self.reserved_connections,
            self.max_connections
        );
        let n = |v: u32| usize::try_from(v).unwrap_or(usize::MAX);
        Ok(herald_server::config::ConnLimits {
            head_timeout: Duration::from_secs(self.head_timeout),
            body_timeout: Duration::from_secs(self.body_timeout),
            close_grace: Duration::from_secs(self.close_grace),
            max_connections: n(self.max_connections),
            max_per_client: n(self.max_connections_per_client),
            reserved: n(self.reserved_connections),
        })
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum PushArg {
    Stream,
    Inbound,
    Off,
}

impl From<PushArg> for herald_protocol::PushMode {
    fn from(p: PushArg) -> Self {
        match p {
            PushArg::Stream => herald_protocol::PushMode::Stream,
            PushArg::Inbound => herald_protocol::PushMode::Inbound,
            PushArg::Off => herald_protocol::PushMode::Off,
        }
    }
}

#[derive(Subcommand)]
pub enum UserCmd {
    /// Create a user; prints the user's agent token.
    Add {
        name: String,
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Delete a user; the user's token stops working.
    Remove { name: String },
    /// Give a user a new agent token; prints it. The agents of theirs that
    /// signed in (enrollment) must sign in again.
    Token { name: String },
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
pub enum GroupCmd {
    AddMember { group: String, user: String },
    RemoveMember { group: String, user: String },
}

const NONE: Option<&()> = None;

/// `sub` is the subcommand's own matches: `send` and `edit` read their
/// versions by position.
pub async fn run_admin(cmd: Command, sub: &clap::ArgMatches, c: &AdminClient) -> Result<()> {
    match cmd {
        Command::Serve(_) | Command::Backup { .. } | Command::Migrate { .. } | Command::Key(_) => {
            anyhow::bail!("serve, backup, migrate and key are not admin commands")
        }
        Command::Enroll(cmd) => crate::enroll_cli::enroll(cmd, c).await?,
        Command::Admin(cmd) => crate::accounts_cli::admin(cmd, c).await?,
        Command::Audit(a) => crate::accounts_cli::audit(a, c).await?,
        Command::Directory(cmd) => crate::directory_cli::run(cmd, c).await?,
        Command::Host(cmd) => crate::enroll_cli::host(cmd, c).await?,
        Command::Site(cmd) => crate::site_cli::site(cmd, c, c.base()).await?,
        Command::Exchange(args) => crate::site_cli::exchange(args, c).await?,
        Command::Prefs(cmd) => crate::site_cli::prefs(cmd, c).await?,
        Command::User(UserCmd::Add { name, groups }) => {
            let created: UserCreated = c
                .call(
                    Method::POST,
                    "/api/v1/admin/users",
                    Some(&NewUser { name, groups }),
                )
                .await?;
            println!("{}", created.token);
        }
        Command::User(UserCmd::Remove { name }) => {
            c.call_empty(
                Method::DELETE,
                &format!("/api/v1/admin/users/{}", seg(&name)),
                NONE,
            )
            .await?;
        }
        Command::User(UserCmd::Token { name }) => {
            let created: UserCreated = c
                .call(
                    Method::POST,
                    &format!("/api/v1/admin/users/{}/token", seg(&name)),
                    NONE,
                )
                .await?;
            println!("{}", created.token);
        }
        Command::User(UserCmd::List { json }) => {
            let users: Vec<UserInfo> = c.call(Method::GET, "/api/v1/admin/users", NONE).await?;
            if json {
                print_json(&users)?;
            } else {
                for u in users {
                    println!("{}\t{}", u.name, u.groups.join(","));
                }
            }
        }
        Command::Group(GroupCmd::AddMember { group, user }) => {
            let path = format!("/api/v1/admin/groups/{}/members", seg(&group));
            c.call_empty(Method::POST, &path, Some(&Membership { user }))
                .await?;
        }
        Command::Group(GroupCmd::RemoveMember { group, user }) => {
            let path = format!(
                "/api/v1/admin/groups/{}/members/{}",
                seg(&group),
                seg(&user)
            );
            c.call_empty(Method::DELETE, &path, NONE).await?;
        }
        Command::Hosts { json } => {
            let hosts: Vec<HostInfo> = c.call(Method::GET, "/api/v1/admin/hosts", NONE).await?;
            if json {
                print_json(&hosts)?;
            } else {
                for h in hosts {
                    // A name only claimed is not the computer's word.
                    let proof = if h.proven { "proven" } else { "unproven" };
                    println!(
                        "{}\t{}\t{}\t{proof}",
                        h.name,
                        h.last_seen.to_rfc3339(),
                        h.last_user
                    );
                }
            }
        }
        Command::Send(a) => crate::messages_cli::send(a, sub, c).await?,
        Command::Edit(a) => crate::messages_cli::edit(a, sub, c).await?,
        Command::Show { id, json } => crate::messages_cli::show(&id, json, c).await?,
        Command::Withdraw { id } => {
            let path = format!("/api/v1/admin/messages/{}/withdraw", seg(&id));
            let msg: MessageInfo = c.call(Method::POST, &path, NONE).await?;
            println!("{} withdrawn", msg.id);
        }
        Command::List { json } => crate::messages_cli::list(json, c).await?,
        Command::Report { id, json, csv } => crate::report_cli::report(&id, json, csv, c).await?,
        Command::Again {
            id,
            answered,
            title,
            body,
        } => {
            let words = title.map(|title| herald_protocol::FollowUp {
                title,
                body: body.unwrap_or_default(),
            });
            crate::messages_cli::again(&id, answered, words, c).await?
        }
        Command::Revisions { id } => {
            let path = format!("/api/v1/admin/messages/{}/revisions", seg(&id));
            let revs: Vec<RevisionInfo> = c.call(Method::GET, &path, NONE).await?;
            for r in revs {
                println!(
                    "r{}\t{}\t{}\t{}",
                    r.revision,
                    r.at.to_rfc3339(),
                    r.by,
                    r.changes
                );
            }
        }
        Command::Audience { to, exclude, json } => {
            let q = AudienceQuery { to, exclude };
            let a: Audience = c
                .call(Method::POST, "/api/v1/admin/audience", Some(&q))
                .await?;
            if json {
                print_json(&a)?;
            } else {
                println!("{} users, {} computers", a.users, a.hosts);
            }
        }
        Command::Receipts { id, json } => {
            let path = format!("/api/v1/admin/messages/{}/receipts", seg(&id));
            let receipts: Vec<ReceiptRecord> = c.call(Method::GET, &path, NONE).await?;
            if json {
                print_json(&receipts)?;
            } else {
                for r in receipts {
                    println!(
                        "{}\t{}\tr{}\t{}\t{}",
                        r.user,
                        herald_protocol::host_shown(&r.host, r.host_proven),
                        r.revision,
                        r.kind,
                        r.at.to_rfc3339()
                    );
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).context("cannot print JSON")?
    );
    Ok(())
}

/// `to`, then each exclusion as `-kind:name`.
pub(crate) fn recipients_text(m: &MessageInfo) -> String {
    let mut all = m.to.clone();
    all.extend(m.exclude.iter().map(|x| format!("-{x}")));
    all.join(",")
}
