//! The server's error type, and the one line a client is shown of it.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or wrong token")]
    Unauthorized,
    #[error("the Kerberos ticket was refused: {0}")]
    KerberosRefused(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Too many tries (failed sign-ins); the text says when to try again.
    #[error("{0}")]
    TooMany(String),
    // The text already says the cause: no `source`, or a report that
    // prints the chain would say it twice.
    #[error("database error: {0}")]
    Db(crate::store::sql::Error),
    #[error("database schema: {0}")]
    Schema(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::store::sql::Error> for Error {
    fn from(e: crate::store::sql::Error) -> Self {
        Error::Db(e)
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Db(e.into())
    }
}

impl Error {
    pub fn bad(reason: impl Into<String>) -> Self {
        Error::BadRequest(reason.into())
    }
}

/// The error as the client sees it: one line, whatever the cause, with any
/// control character from the input escaped. Clients print it as it is, and
/// an echoed name must not move a terminal's cursor or colour its text.
pub fn public_text(e: &Error) -> String {
    let mut out = String::new();
    for c in e.to_string().chars() {
        match c {
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}
