//! The multi-site exchange over HTTP: the route a relay posts its bundle to
//! (its signature is its credential), the central key for `exchange test`,
//! and the admin routes for sites, exchanges, the trace and preferences.

use axum::extract::{DefaultBodyLimit, Extension, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use chrono::Utc;
use herald_protocol::steps::Report;
use herald_protocol::{
    Deleted, ErrorBody, ExchangeLogLine, ExchangeReport, LogDeletion, NewSite, Pref, SiteInfo,
    SiteKeys,
};
use serde::Deserialize;

use crate::accounts::Actor;
use crate::api::{AppState, Body, Path, Query};
use crate::audit;
use crate::bundle;
use crate::error::Error;
use crate::exchange_flow::{self, Received};
use crate::{exchange_in, exchange_log, exchange_run, prefs, sites};

pub const SITE_EXCHANGE_PATH: &str = "/api/v1/site/exchange";
pub const SITE_KEY_PATH: &str = "/api/v1/site/key";
/// The header a relay names its site in: the site is looked up before
/// the body is read, and decides how much of it may be read.
pub const SITE_HEADER: &str = "x-herald-site";
/// A bundle carries a site's receipts since its last acknowledged one:
/// after a long cut, more than an ordinary request.
const MAX_BUNDLE_BYTES: usize = 32 * 1024 * 1024;
/// What is read of a body for a site not registered here: enough to
/// answer like any refusal, no more.
const MAX_UNKNOWN_BYTES: usize = 64 * 1024;
const MAX_SITE_NAME: usize = 200;

/// Routes outside the admin API: relays have no admin token.
pub fn site_routes() -> Router<AppState> {
    Router::new()
        .route(
            SITE_EXCHANGE_PATH,
            // The body is read by the handler, with the site's limit.
            post(site_exchange).layer(DefaultBodyLimit::disable()),
        )
        .route(SITE_KEY_PATH, get(site_key))
}

/// Routes under `/api/v1/admin`; the admin router puts its check on them.
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/sites", get(list_sites).post(add_site))
        .route("/sites/{name}", delete(remove_site))
        .route("/exchange", post(exchange_now))
        .route("/exchange/test", post(exchange_test))
        .route("/exchange/log", get(exchange_log_list))
        .route("/exchange/log/delete", post(exchange_log_delete))
        .route("/prefs", get(list_prefs).put(set_pref))
        .route("/prefs/unset", post(unset_pref))
}

fn text(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain")], body).into_response()
}

/// A relay's bundle up; the answer is the bundle down, in the same
/// transaction, so it acknowledges what it answers. Anyone can post here:
/// the site is looked up (on a reader) before the body is read, a body for
/// no registered site may be small only, and the signature is checked off
/// the writer. Every refusal gets the same answer.
#[utoipa::path(post, path = "/api/v1/site/exchange", tag = "site",
    params(("X-Herald-Site" = String, Header, description = "The site the bundle is from")),
    request_body(content = String, content_type = "text/plain", description = "A signed bundle from a site relay"),
    responses(
        (status = 200, description = "The central server's bundle for the site", body = String, content_type = "text/plain"),
        (status = 403, description = "Not a current bundle a registered site signed", body = ErrorBody),
        (status = 413, description = "Too large (small for a site not registered)", body = ErrorBody)))]
pub(crate) async fn site_exchange(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, Error> {
    let site = headers
        .get(SITE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= MAX_SITE_NAME)
        .map(str::to_owned);
    let peer = match site {
        Some(s) => st.read(move |c| sites::get(c, &s)).await?,
        None => None,
    };
    let limit = if peer.is_some() {
        MAX_BUNDLE_BYTES
    } else {
        MAX_UNKNOWN_BYTES
    };
    let guard = st.exchange.guard.clone();
    // Held while the body is read and checked: large bodies one or two at
    // a time, not as many as are posted.
    let _turn = match peer {
        Some(_) => Some(
            guard
                .reading
                .acquire()
                .await
                .map_err(|e| Error::Internal(e.to_string()))?,
        ),
        None => None,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Ok(too_large());
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Ok(too_large());
    };
    let Some(peer) = peer else {
        return Err(Error::Forbidden(exchange_flow::REFUSED.into()));
    };
    // Not text is not a bundle: refused by the check like any other junk.
    let posted = String::from_utf8(bytes.to_vec()).unwrap_or_default();
    match exchange_in::central(&st, peer, posted, true).await? {
        (_, Some(text_down)) => Ok(text(StatusCode::OK, text_down)),
        (Received::Rejected { .. } | Received::Copy { .. }, None) => {
            Err(Error::Forbidden(exchange_flow::REFUSED.into()))
        }
        (_, None) => Err(Error::Internal("no answer to send".into())),
    }
}

fn too_large() -> Response {
    let error = "refused: too large for a bundle from a site registered here".to_owned();
    (StatusCode::PAYLOAD_TOO_LARGE, Json(ErrorBody { error })).into_response()
}

/// The central server's public key, for a relay's `exchange test`.
#[utoipa::path(get, path = "/api/v1/site/key", tag = "site",
    responses((status = 200, description = "The key this server signs bundles with", body = String, content_type = "text/plain")))]
pub(crate) async fn site_key(State(st): State<AppState>) -> Result<Response, Error> {
    let key = st.write(sites::own_key).await?;
    Ok(text(
        StatusCode::OK,
        bundle::public_text(&key.verifying_key()),
    ))
}

#[utoipa::path(get, path = "/api/v1/admin/sites", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every site, with its last exchange and state", body = Vec<SiteInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_sites(State(st): State<AppState>) -> Result<Json<Vec<SiteInfo>>, Error> {
    st.read(|c| sites::infos(c, Utc::now())).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/sites", tag = "admin", request_body = NewSite,
    security(("admin_token" = [])),
    responses((status = 200, description = "The site's keys, shown this once", body = SiteKeys), (status = 400, description = "Bad input", body = ErrorBody), (status = 409, description = "The site exists", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn add_site(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(new): Body<NewSite>,
) -> Result<Json<SiteKeys>, Error> {
    let central_mail = st.exchange.mail.as_ref().map(|m| m.address.clone());
    let mut keys = st
        .write(move |c| {
            let now = Utc::now();
            let every = new.every_secs.unwrap_or(sites::DEFAULT_EVERY_SECS);
            let keys = sites::add(
                c,
                new.name.trim(),
                new.transport,
                new.mail_address.as_deref(),
                every,
                now,
            )?;
            let detail = format!(
                "transport {}, mail {}, every {every}s",
                new.transport.as_str(),
                new.mail_address.as_deref().unwrap_or("-")
            );
            audit::record(c, &actor, "site-add", &keys.site, &detail, now)?;
            Ok(keys)
        })
        .await?;
    keys.central_mail = central_mail;
    Ok(Json(keys))
}

#[utoipa::path(delete, path = "/api/v1/admin/sites/{name}", tag = "admin",
    params(("name" = String, Path, description = "Site name")),
    security(("admin_token" = [])),
    responses((status = 204, description = "Removed; its users and hosts stay"), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn remove_site(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<StatusCode, Error> {
    st.write(move |c| {
        sites::remove(c, &name)?;
        audit::record(c, &actor, "site-remove", &name, "", Utc::now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/exchange", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "What one exchange did; ok is false if any part failed", body = ExchangeReport), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn exchange_now(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<ExchangeReport>, Error> {
    let report = exchange_run::run(&st).await?;
    // An exchange is many transactions, each its own bundle with its own
    // trace in the exchange log; the audit says who asked for it.
    let detail = format!(
        "{}: {}",
        if report.ok { "ok" } else { "failed" },
        report.lines.join("; ")
    );
    st.write(move |c| audit::record(c, &actor, "exchange", "-", &detail, Utc::now()))
        .await?;
    Ok(Json(report))
}

#[utoipa::path(post, path = "/api/v1/admin/exchange/test", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Each step of the way to the other side", body = Object), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn exchange_test(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> Result<Json<Report>, Error> {
    let report = exchange_run::test(&st).await;
    let line = match report.failed() {
        Some(s) => format!("failed at {}", s.step),
        None => "every step ok".to_owned(),
    };
    let outcome = if report.failed().is_some() {
        "failed"
    } else {
        "ok"
    };
    st.write(move |c| {
        let entry = exchange_log::Entry {
            site: "-",
            event: "test",
            number: None,
            outcome,
            detail: &line,
        };
        let now = Utc::now();
        exchange_log::record(c, &entry, now)?;
        audit::record(c, &actor, "exchange-test", "-", &line, now)
    })
    .await?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub(crate) struct LogQuery {
    #[serde(default)]
    oldest_first: bool,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/admin/exchange/log", tag = "admin",
    params(LogQuery),
    security(("admin_token" = [])),
    responses((status = 200, description = "The trace, newest first unless asked", body = Vec<ExchangeLogLine>), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn exchange_log_list(
    State(st): State<AppState>,
    Query(q): Query<LogQuery>,
) -> Result<Json<Vec<ExchangeLogLine>>, Error> {
    let limit = q.limit.unwrap_or(10_000).min(100_000);
    st.read(move |c| exchange_log::list(c, q.oldest_first, limit))
        .await
        .map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/exchange/log/delete", tag = "admin", request_body = LogDeletion,
    security(("admin_token" = [])),
    responses((status = 200, description = "How many lines went", body = Deleted), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn exchange_log_delete(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(d): Body<LogDeletion>,
) -> Result<Json<Deleted>, Error> {
    st.write(move |c| {
        let deleted = exchange_log::delete(c, &d)?;
        let detail = format!(
            "{deleted} line(s): ids {:?}, before {}, all {}",
            d.ids,
            d.before.map_or("-".to_owned(), |b| b.to_rfc3339()),
            d.all
        );
        audit::record(c, &actor, "exchange-log-delete", "-", &detail, Utc::now())?;
        Ok(deleted)
    })
    .await
    .map(|deleted| Json(Deleted { deleted }))
}

#[utoipa::path(get, path = "/api/v1/admin/prefs", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every preference set, for all sites and per site", body = Vec<Pref>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_prefs(State(st): State<AppState>) -> Result<Json<Vec<Pref>>, Error> {
    st.read(prefs::list).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/admin/prefs", tag = "admin", request_body = Pref,
    security(("admin_token" = [])),
    responses((status = 204, description = "Set; it goes down with the next exchange"), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "No such site", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn set_pref(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(p): Body<Pref>,
) -> Result<StatusCode, Error> {
    st.write(move |c| {
        prefs::set(c, &p)?;
        let target = p.site.as_deref().unwrap_or("all sites");
        let detail = format!("{} = {}", p.key, p.value);
        audit::record(c, &actor, "pref-set", target, &detail, Utc::now())
    })
    .await?;
    st.reload_prefs().await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct PrefKey {
    #[serde(default)]
    site: Option<String>,
    key: String,
}

#[utoipa::path(post, path = "/api/v1/admin/prefs/unset", tag = "admin", request_body = PrefKey,
    security(("admin_token" = [])),
    responses((status = 204, description = "Unset"), (status = 400, description = "Bad input", body = ErrorBody), (status = 404, description = "It was not set", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn unset_pref(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Body(k): Body<PrefKey>,
) -> Result<StatusCode, Error> {
    let gone = st
        .write(move |c| {
            let gone = prefs::unset(c, k.site.as_deref(), &k.key)?;
            if gone {
                let target = k.site.as_deref().unwrap_or("all sites");
                audit::record(c, &actor, "pref-unset", target, &k.key, Utc::now())?;
            }
            Ok(gone)
        })
        .await?;
    if !gone {
        return Err(Error::NotFound("that preference was not set".into()));
    }
    st.reload_prefs().await;
    Ok(StatusCode::NO_CONTENT)
}
