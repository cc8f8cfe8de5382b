//! Kerberos sign-in over HTTP: `Authorization: Negotiate <SPNEGO token>`
//! checked with the server's keytab; the ticket's principal names a user,
//! who gets a token for the host the agent runs on.

use std::path::PathBuf;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::Utc;
use herald_protocol::{Enrolled, ErrorBody, KerberosSignIn};

use crate::domain::directory::enroll;
use crate::error::Error;
use crate::http::extract::Body;
use crate::state::app::AppState;

struct Kerberos {
    keytab: PathBuf,
    realms: Vec<String>,
}

static KERBEROS: OnceLock<Kerberos> = OnceLock::new();

/// Turns Kerberos sign-in on, with this keytab, for users of these realms.
/// Called once, at start.
pub fn set_keytab(keytab: PathBuf, realms: Vec<String>) {
    let _ = KERBEROS.set(Kerberos { keytab, realms });
}

#[utoipa::path(post, path = herald_protocol::KERBEROS_PATH, tag = "agent", request_body = KerberosSignIn,
    responses(
        (status = 200, description = "A token for the ticket's user on this computer", body = Enrolled),
        (status = 401, description = "No ticket, or one the keytab does not accept", body = ErrorBody),
        (status = 403, description = "No such user, or disabled", body = ErrorBody),
        (status = 404, description = "This server takes no Kerberos sign-in", body = ErrorBody)))]
pub(crate) async fn sign_in(
    State(st): State<AppState>,
    headers: HeaderMap,
    Body(req): Body<KerberosSignIn>,
) -> Result<Json<Enrolled>, Error> {
    let Some(krb) = KERBEROS.get() else {
        return Err(Error::NotFound(
            "this server takes no Kerberos sign-in (it has no --keytab)".into(),
        ));
    };
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Negotiate "))
        .map(str::trim)
        .and_then(decode)
        .ok_or(Error::Unauthorized)?;
    if herald_krb::is_ntlm(&token) {
        return Err(Error::KerberosRefused(
            "the client sent NTLM, not a Kerberos ticket".into(),
        ));
    }
    let keytab = krb.keytab.clone();
    let principal = tokio::task::spawn_blocking(move || herald_krb::accept(&token, Some(&keytab)))
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| {
            tracing::warn!(error = %e, "Kerberos ticket refused");
            Error::KerberosRefused(e.to_string())
        })?;
    let realm = principal.rsplit_once('@').map_or("", |(_, r)| r);
    if !krb.realms.iter().any(|r| r.eq_ignore_ascii_case(realm)) {
        return Err(Error::Forbidden(format!(
            "{principal}: this server takes Kerberos users from {} only",
            krb.realms.join(", ")
        )));
    }
    // The machine's own ticket, when the agent has one, proves the
    // computer's name; the user's proves only the user.
    let machine = match req.machine_token.as_deref() {
        None => None,
        Some(text) => {
            let token = decode(text).ok_or_else(|| Error::bad("machine_token: not base64"))?;
            let keytab = krb.keytab.clone();
            let machine =
                tokio::task::spawn_blocking(move || herald_krb::accept(&token, Some(&keytab)))
                    .await
                    .map_err(|e| Error::Internal(e.to_string()))?
                    .map_err(|e| {
                        tracing::warn!(error = %e, "machine ticket refused");
                        Error::KerberosRefused(format!("the machine ticket: {e}"))
                    })?;
            let realm = machine.rsplit_once('@').map_or("", |(_, r)| r);
            if !krb.realms.iter().any(|r| r.eq_ignore_ascii_case(realm)) {
                return Err(Error::Forbidden(format!(
                    "{machine}: this server takes machine tickets from {} only",
                    krb.realms.join(", ")
                )));
            }
            Some(machine)
        }
    };
    let mut got = st
        .write(move |c| enroll::kerberos(c, &principal, machine.as_deref(), &req.host, Utc::now()))
        .await?;
    got.server_keys = crate::http::agent::enroll::keys_for_agents(&st, got.server_keys).await?;
    Ok(Json(got))
}

fn decode(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}
