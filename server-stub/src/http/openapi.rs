//! The API's description, generated from the handlers and the wire types,
//! served at `/api/v1/openapi.json`; the test suite checks the real server
//! against it with schemathesis.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::http::admin::{
    accounts, compose, directory, enroll, fleet, messages, metrics, sites, users,
};
use crate::http::console::api as console_api;
use crate::http::{agent, health, site};

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Enterprise desktop messaging: the agent and admin API."),
    paths(
        health::health,
        agent::poll::agent_poll,
        agent::poll::agent_receipts,
        agent::push::agent_push,
        users::list_users,
        users::add_user,
        users::remove_user,
        users::rotate_token,
        users::add_member,
        users::remove_member,
        users::list_hosts,
        messages::list_messages,
        messages::send_message,
        messages::get_message,
        messages::edit_message,
        messages::withdraw_message,
        messages::message_receipts,
        messages::message_revisions,
        messages::message_report,
        messages::message_report_csv,
        messages::unread_again,
        messages::audience,
        fleet::get_fleet,
        metrics::get_metrics,
        compose::preview,
        compose::list_templates,
        compose::save_template,
        compose::delete_template,
        accounts::list,
        accounts::add,
        accounts::change,
        accounts::token,
        accounts::list_tokens,
        accounts::revoke_token,
        accounts::whoami,
        accounts::audit_list,
        accounts::audit_csv,
        console_api::sign_in,
        console_api::sign_out,
        console_api::session,
        agent::enroll::agent_enroll,
        agent::kerberos::sign_in,
        enroll::create_key,
        enroll::list_keys,
        enroll::revoke_key,
        enroll::revoke_host,
        directory::apply_snapshot,
        directory::status,
        site::site_exchange,
        site::site_key,
        sites::list_sites,
        sites::add_site,
        sites::remove_site,
        sites::exchange_now,
        sites::exchange_test,
        sites::exchange_log_list,
        sites::exchange_log_delete,
        sites::list_prefs,
        sites::set_pref,
        sites::unset_pref,
    ),
    modifiers(&Tokens)
)]
pub struct ApiDoc;

/// Both token kinds are bearer tokens; they differ in who holds them.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let bearer = |what: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(what))
                    .build(),
            )
        };
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "agent_token",
            bearer("A user's agent token, from `herald-server user add`."),
        );
        components.add_security_scheme(
            "admin_token",
            bearer("The server's admin token, or an admin account's API token."),
        );
    }
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()))
}
