//! The API's description, generated from the handlers and the wire types,
//! served at `/api/v1/openapi.json`; the test suite checks the real server
//! against it with schemathesis.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{
    accounts_api, admin, api, console_api, directory_api, enroll_api, exchange_api, kerberos_api,
    messages_api,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Enterprise desktop messaging: the agent and admin API."),
    paths(
        api::health,
        api::agent_poll,
        api::agent_receipts,
        api::agent_push,
        admin::list_users,
        admin::add_user,
        admin::remove_user,
        admin::rotate_token,
        admin::add_member,
        admin::remove_member,
        admin::list_hosts,
        messages_api::list_messages,
        messages_api::send_message,
        messages_api::get_message,
        messages_api::edit_message,
        messages_api::withdraw_message,
        messages_api::message_receipts,
        messages_api::message_revisions,
        messages_api::message_report,
        messages_api::message_report_csv,
        messages_api::unread_again,
        messages_api::audience,
        crate::fleet::get_fleet,
        crate::metrics::get_metrics,
        crate::compose::preview,
        crate::compose::list_templates,
        crate::compose::save_template,
        crate::compose::delete_template,
        accounts_api::list,
        accounts_api::add,
        accounts_api::change,
        accounts_api::token,
        accounts_api::list_tokens,
        accounts_api::revoke_token,
        accounts_api::whoami,
        accounts_api::audit_list,
        accounts_api::audit_csv,
        console_api::sign_in,
        console_api::sign_out,
        console_api::session,
        enroll_api::agent_enroll,
        kerberos_api::sign_in,
        enroll_api::create_key,
        enroll_api::list_keys,
        enroll_api::revoke_key,
        enroll_api::revoke_host,
        directory_api::apply_snapshot,
        directory_api::status,
        exchange_api::site_exchange,
        exchange_api::site_key,
        exchange_api::list_sites,
        exchange_api::add_site,
        exchange_api::remove_site,
        exchange_api::exchange_now,
        exchange_api::exchange_test,
        exchange_api::exchange_log_list,
        exchange_api::exchange_log_delete,
        exchange_api::list_prefs,
        exchange_api::set_pref,
        exchange_api::unset_pref,
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
