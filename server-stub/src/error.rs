//! The server's error type and how each error becomes an HTTP answer.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_protocol::ErrorBody;

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
    Db(crate::sql::Error),
    #[error("database schema: {0}")]
    Schema(String),
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<crate::sql::Error> for Error {
    fn from(e: crate::sql::Error) -> Self {
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

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized | Error::KerberosRefused(_) => StatusCode::UNAUTHORIZED,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::Db(_) | Error::Schema(_) | Error::Io(..) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
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

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let error = public_text(&self);
        (status, axum::Json(ErrorBody { error })).into_response()
    }
}

impl From<axum::extract::rejection::JsonRejection> for Error {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> Self {
        Error::BadRequest(format!("malformed request: {}", rejection.body_text()))
    }
}

impl From<axum::extract::rejection::PathRejection> for Error {
    fn from(rejection: axum::extract::rejection::PathRejection) -> Self {
        Error::BadRequest(format!("bad path: {}", rejection.body_text()))
    }
}

impl From<axum::extract::rejection::QueryRejection> for Error {
    fn from(rejection: axum::extract::rejection::QueryRejection) -> Self {
        Error::BadRequest(format!("bad query: {}", rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_text_is_one_line_without_control_characters() {
        // Found by the server_poll fuzz target: a host name with a newline
        // and an escape sequence, echoed in the 400's reason.
        let e = crate::directory::normalize_host("pc\n\u{1b}[31mred\u{7}").unwrap_err();
        let text = public_text(&e);
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.contains("\\u{1b}[31mred"), "{text}");
    }
}
