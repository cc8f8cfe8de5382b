//! What handlers take from a request: a JSON body, path and query
//! parameters whose rejections answer in the API's error shape, the bearer
//! token, and the mark of a request that came over HTTPS through a trusted
//! proxy.

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::HeaderMap;

use crate::error::Error;

/// JSON body whose rejection is a one-line 400 in the API's error shape.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(Error))]
pub(crate) struct Body<T>(pub T);

/// Path parameters whose rejection (bad percent-encoding) is a 400 in the
/// API's error shape, not axum's plain text.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(Error))]
pub(crate) struct Path<T>(pub T);

/// Query parameters, likewise.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(Error))]
pub(crate) struct Query<T>(pub T);

/// The bearer token of a request, or 401.
pub fn bearer(headers: &HeaderMap) -> Result<&str, Error> {
    bearer_in(
        headers
            .get(axum::http::header::AUTHORIZATION)
            .map(|v| v.as_bytes()),
    )
}

/// The bearer token in an `Authorization` header's value, or 401.
pub fn bearer_in(value: Option<&[u8]>) -> Result<&str, Error> {
    value
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(Error::Unauthorized)
}

/// Set on a request that reached the client's trusted proxy over HTTPS.
#[derive(Debug, Clone, Copy)]
pub struct ForwardedHttps;
