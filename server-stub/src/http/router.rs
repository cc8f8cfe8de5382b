//! The router: every route of the server, in one place. The admin API's
//! routes sit behind `guard::require_admin`, one layer on their router, so
//! that a new endpoint cannot forget the check.

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{delete, get, patch, post, put};
use axum::Router;
use herald_protocol::{ENROLL_PATH, KERBEROS_PATH, PUSH_PATH};

use crate::error::Error;
use crate::exchange::{SITE_EXCHANGE_PATH, SITE_KEY_PATH};
use crate::http::admin::{
    accounts, compose, directory, enroll, fleet, messages, metrics, sites, users,
};
use crate::http::agent::{self, kerberos};
use crate::http::console;
use crate::http::guard::require_admin;
use crate::http::health::health;
use crate::http::{openapi, site};
use crate::state::app::AppState;

/// Requests larger than this are refused before they are parsed; a message
/// body is limited separately, and more tightly.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let app = Router::new()
        .route("/api/v1/health", get(health))
        .route(
            "/api/v1/openapi.json",
            get(|| async {
                (
                    [(axum::http::header::CONTENT_TYPE, "application/json")],
                    openapi::json(),
                )
            }),
        )
        .route("/api/v1/poll", post(agent::poll::agent_poll))
        .route("/api/v1/receipts", post(agent::poll::agent_receipts))
        .route(PUSH_PATH, get(agent::push::agent_push))
        .route(ENROLL_PATH, post(agent::enroll::agent_enroll))
        .route(KERBEROS_PATH, post(kerberos::sign_in))
        // Outside the admin API: relays have no admin token.
        .route(
            SITE_EXCHANGE_PATH,
            // The body is read by the handler, with the site's limit.
            post(site::site_exchange).layer(DefaultBodyLimit::disable()),
        )
        .route(SITE_KEY_PATH, get(site::site_key))
        .nest("/api/v1/admin", admin(state.clone()))
        .route("/api/v1/console/signin", post(console::api::sign_in))
        .route("/api/v1/console/signout", post(console::api::sign_out))
        .route("/api/v1/console/session", get(console::api::session))
        .merge(console::ui::routes())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state);
    contain_panics(app)
}

/// The admin API, under `/api/v1/admin`.
fn admin(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/users", get(users::list_users).post(users::add_user))
        .route("/users/{name}", delete(users::remove_user))
        .route("/users/{name}/token", post(users::rotate_token))
        .route("/groups/{group}/members", post(users::add_member))
        .route(
            "/groups/{group}/members/{user}",
            delete(users::remove_member),
        )
        .route("/hosts", get(users::list_hosts))
        .route(
            "/messages",
            get(messages::list_messages).post(messages::send_message),
        )
        .route(
            "/messages/{id}",
            get(messages::get_message).patch(messages::edit_message),
        )
        .route("/messages/{id}/withdraw", post(messages::withdraw_message))
        .route("/messages/{id}/receipts", get(messages::message_receipts))
        .route("/messages/{id}/revisions", get(messages::message_revisions))
        .route("/messages/{id}/report", get(messages::message_report))
        .route(
            "/messages/{id}/report.csv",
            get(messages::message_report_csv),
        )
        .route("/messages/{id}/unread-again", post(messages::unread_again))
        .route("/audience", post(messages::audience))
        .route("/fleet", get(fleet::get_fleet))
        .route("/metrics", get(metrics::get_metrics))
        .route("/preview", post(compose::preview))
        .route("/templates", get(compose::list_templates))
        .route(
            "/templates/{name}",
            put(compose::save_template).delete(compose::delete_template),
        )
        .route(
            "/enroll-keys",
            get(enroll::list_keys).post(enroll::create_key),
        )
        .route("/enroll-keys/{id}", delete(enroll::revoke_key))
        .route("/hosts/{name}/revoke", post(enroll::revoke_host))
        .route("/directory/snapshot", post(directory::apply_snapshot))
        .route("/directory/status", get(directory::status))
        .route("/accounts", get(accounts::list).post(accounts::add))
        .route("/accounts/{name}", patch(accounts::change))
        .route("/accounts/{name}/token", post(accounts::token))
        .route("/accounts/{name}/tokens", get(accounts::list_tokens))
        .route(
            "/accounts/{name}/tokens/{id}",
            delete(accounts::revoke_token),
        )
        .route("/whoami", get(accounts::whoami))
        .route("/audit", get(accounts::audit_list))
        .route("/audit.csv", get(accounts::audit_csv))
        .route("/sites", get(sites::list_sites).post(sites::add_site))
        .route("/sites/{name}", delete(sites::remove_site))
        .route("/exchange", post(sites::exchange_now))
        .route("/exchange/test", post(sites::exchange_test))
        .route("/exchange/log", get(sites::exchange_log_list))
        .route("/exchange/log/delete", post(sites::exchange_log_delete))
        .route("/prefs", get(sites::list_prefs).put(sites::set_pref))
        .route("/prefs/unset", post(sites::unset_pref))
        // Before any extractor: a request without the admin token learns
        // nothing, not even whether its body would have parsed.
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// A panic in a handler answers that request 500, in the API's error shape;
/// the server and its other requests carry on.
pub fn contain_panics(app: Router) -> Router {
    app.layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_panic: Box<dyn std::any::Any + Send>| {
            Error::Internal("the request failed unexpectedly; it was not applied".into())
                .into_response()
        },
    ))
}
