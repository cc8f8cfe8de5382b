//! The console's page and assets, embedded in the binary: the server needs
//! nothing beside it to serve `/admin`. The policy lets the page load only
//! its own files and call only its own server; the Markdown preview is a
//! sandboxed frame, so a body that got past the sanitizer still could not
//! run.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::state::app::AppState;

const INDEX: &str = include_str!("../../../console/index.html");
const SCRIPT: &str = include_str!("../../../console/console.js");
const CONTENT: &str = include_str!("../../../console/content.js");
const WORDS: &str = include_str!("../../../console/i18n.js");
const STYLE: &str = include_str!("../../../console/console.css");

pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self'; img-src 'self'; frame-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route("/admin/", get(|| asset("text/html; charset=utf-8", INDEX)))
        .route(
            "/admin/console.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/admin/content.js",
            get(|| asset("text/javascript; charset=utf-8", CONTENT)),
        )
        .route(
            "/admin/i18n.js",
            get(|| asset("text/javascript; charset=utf-8", WORDS)),
        )
        .route(
            "/admin/console.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
}

async fn asset(content_type: &'static str, text: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (header::REFERRER_POLICY, "no-referrer"),
            // A new server version brings new assets; a stale script would
            // call an API that changed.
            (header::CACHE_CONTROL, "no-cache"),
        ],
        text,
    )
}
