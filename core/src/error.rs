//! Errors of the agent's core.

/// Errors of the local store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the store's schema is version {found}, newer than this agent knows ({known}): update the agent")]
    TooNew { found: i64, known: usize },
    #[error("the store's thread has stopped")]
    Stopped,
    #[error("the store holds an unknown {what} '{value}': written by a newer agent, or damaged")]
    Unknown { what: &'static str, value: String },
    #[error("no message '{0}' in the store")]
    NoSuchMessage(String),
    #[error("message '{id}' is {state}: {why}")]
    NotActionable {
        id: String,
        state: String,
        why: &'static str,
    },
}

/// Why a contact with the server failed. Every variant leaves the store as
/// it was, apart from the exchange log and the last error.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("no server configured: give --server, HERALD_SERVER or 'server' in the config file")]
    NoServer,
    #[error("no token and no enrollment key: give --token, HERALD_TOKEN or 'token' in the config file, or an enrollment key (--enroll-key, HERALD_ENROLL_KEY, 'enroll_key', the installer's ENROLL_KEY)")]
    NoToken,
    #[error("cannot reach the server at {server}: {reason}")]
    Unreachable { server: String, reason: String },
    #[error("the certificate of {server} does not verify ({reason}): give the CA that issued it as server_ca in the config, HERALD_SERVER_CA or the installer's SERVER_CA")]
    Certificate { server: String, reason: String },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error("the server refused the enrollment key: {0}")]
    EnrollRefused(String),
    #[error("Kerberos sign-in refused: {0}")]
    KerberosRefused(String),
    #[error(transparent)]
    Kerberos(#[from] herald_krb::KrbError),
    #[error("the server refused the agent token (401): ask the administrator for a new one; an agent that signed in with an enrollment key signs in again with 'herald-agent enroll'")]
    Unauthorized,
    #[error("the server answered {status}: {reason}")]
    Status { status: u16, reason: String },
    #[error("malformed answer from the server: {0}")]
    Malformed(String),
    #[error("the server's answer is larger than {0} bytes")]
    TooLarge(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Trust(#[from] crate::trust::TrustError),
}
