//! How each error becomes an HTTP answer: its status, and the API's error
//! shape with the one-line text; and the extractors' rejections as 400s.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_protocol::ErrorBody;

use crate::error::{public_text, Error};

impl Error {
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
