//! The router: every route of the server, in one place. A route of the API
//! is added with `routes!`, which takes its method and path from the
//! handler's `#[utoipa::path]`: the route and its documentation are
//! stated once, and the document served at `/api/v1/openapi.json` is
//! built from the same routes. The admin API's routes sit behind
//! `guard::require`, one layer on each of its two routers, `senders_too`
//! and `admins_only` (see `admin`), so that a new endpoint cannot forget
//! the check.

use axum::extract::DefaultBodyLimit;
use axum::http::header::CONTENT_TYPE;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use herald_protocol::Role;
use utoipa::openapi::OpenApi as Document;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::Error;
use crate::http::admin::{
    accounts, compose, directory, enroll, fleet, messages, metrics, sites, users,
};
use crate::http::agent::{self, kerberos};
use crate::http::console;
use crate::http::guard;
use crate::http::health;
use crate::http::openapi::{self, ApiDoc};
use crate::http::site;
use crate::state::app::AppState;

/// Requests larger than this are refused before they are parsed; a message
/// body is limited separately, and more tightly.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let (api, doc) = api(&state);
    // Serialized once; each request gets a cheap copy of the bytes.
    let doc = axum::body::Bytes::from(doc.to_json().unwrap_or_else(|_| "{}".into()));
    let app = api
        .route(
            "/api/v1/openapi.json",
            get(move || std::future::ready(([(CONTENT_TYPE, "application/json")], doc.clone()))),
        )
        .merge(console::ui::routes())
        .fallback(|| async { Error::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(state);
    contain_panics(app)
}

/// The routes the API document describes, and the document: `ApiDoc` with
/// every route's operation, and the responses that operations of a kind
/// share (`openapi::Shared`).
fn api(state: &AppState) -> (Router<AppState>, Document) {
    let (senders_too, admins_only) = admin(state);
    let shared = openapi::Shared::new(admins_only.get_openapi());
    let (api, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::health))
        .routes(routes!(agent::poll::agent_poll))
        .routes(routes!(agent::poll::agent_receipts))
        .routes(routes!(agent::push::agent_push))
        .routes(routes!(agent::enroll::agent_enroll))
        .routes(routes!(kerberos::sign_in))
        // Outside the admin API: relays have no admin token. The body is
        // read by the handler, with the site's limit.
        .routes(routes!(site::site_exchange).layer(DefaultBodyLimit::disable()))
        .routes(routes!(site::site_key))
        .routes(routes!(console::api::sign_in))
        .routes(routes!(console::api::sign_out))
        .routes(routes!(console::api::session))
        .merge(senders_too)
        .merge(admins_only)
        .split_for_parts();
    shared.modify(&mut doc);
    (api, doc)
}

/// The admin API, under `/api/v1/admin`, as two routers merged into one
/// (axum joins the methods of a path added to both): what a sender may
/// call too, its limits checked by the handler, and what only an admin
/// may. A new route goes in `admins_only` unless a sender is to call it.
/// Every route but the GET ones, `/preview` and `/audience` changes state,
/// and its handler writes its audit line (none for a dry run of
/// `/directory/snapshot`, or for unsetting a preference that was not set).
fn admin(state: &AppState) -> (OpenApiRouter<AppState>, OpenApiRouter<AppState>) {
    let senders_too = OpenApiRouter::default()
        .routes(routes!(messages::list_messages, messages::send_message))
        .routes(routes!(messages::get_message, messages::edit_message))
        .routes(routes!(messages::withdraw_message))
        .routes(routes!(messages::message_receipts))
        .routes(routes!(messages::message_revisions))
        .routes(routes!(messages::message_report))
        .routes(routes!(messages::message_report_csv))
        .routes(routes!(messages::unread_again))
        .routes(routes!(messages::audience))
        .routes(routes!(compose::preview))
        .routes(routes!(compose::list_templates))
        .routes(routes!(users::list_users))
        .routes(routes!(accounts::whoami))
        // Before any extractor: a request without the admin token learns
        // nothing, not even whether its body would have parsed.
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), Role::Sender),
            guard::require,
        ));
    let admins_only = OpenApiRouter::default()
        .routes(routes!(users::add_user))
        .routes(routes!(users::remove_user))
        .routes(routes!(users::rotate_token))
        .routes(routes!(users::add_member))
        .routes(routes!(users::remove_member))
        .routes(routes!(users::list_hosts))
        .routes(routes!(fleet::get_fleet))
        .routes(routes!(metrics::get_metrics))
        .routes(routes!(compose::save_template, compose::delete_template))
        .routes(routes!(enroll::list_keys, enroll::create_key))
        .routes(routes!(enroll::revoke_key))
        .routes(routes!(enroll::revoke_host))
        .routes(routes!(directory::apply_snapshot))
        .routes(routes!(directory::status))
        .routes(routes!(accounts::list, accounts::add))
        .routes(routes!(accounts::change))
        .routes(routes!(accounts::token))
        .routes(routes!(accounts::list_tokens))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::audit_list))
        .routes(routes!(accounts::audit_csv))
        .routes(routes!(sites::list_sites, sites::add_site))
        .routes(routes!(sites::remove_site))
        .routes(routes!(sites::exchange_now))
        .routes(routes!(sites::exchange_test))
        .routes(routes!(sites::exchange_log_list))
        .routes(routes!(sites::exchange_log_delete))
        .routes(routes!(sites::list_prefs, sites::set_pref))
        .routes(routes!(sites::unset_pref))
        .route_layer(middleware::from_fn_with_state(
            (state.clone(), Role::Admin),
            guard::require,
        ));
    (senders_too, admins_only)
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

#[cfg(test)]
mod tests {
    use herald_protocol::{PushMode, ENROLL_PATH, KERBEROS_PATH, PUSH_PATH};

    use crate::config::AgentPolicy;
    use crate::exchange::{SITE_EXCHANGE_PATH, SITE_KEY_PATH};
    use crate::state::app::AppState;
    use crate::store::pool::Db;

    /// The paths other code names by a constant (the agent, a relay) are
    /// the documented ones, so the routes the document adds.
    #[test]
    fn the_named_paths_are_documented_routes() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("server.db")).unwrap();
        let policy = AgentPolicy {
            poll_interval_secs: 300,
            min_agent_version: None,
            push: PushMode::Stream,
        };
        let (_, doc) = super::api(&AppState::new(db, "admin", policy));
        let paths = &doc.paths.paths;
        assert!(paths[PUSH_PATH].get.is_some());
        assert!(paths[ENROLL_PATH].post.is_some());
        assert!(paths[KERBEROS_PATH].post.is_some());
        assert!(paths[SITE_EXCHANGE_PATH].post.is_some());
        assert!(paths[SITE_KEY_PATH].get.is_some());
    }
}
