//! The multi-site exchange in the admin API: sites, an exchange now and
//! its test, the trace, and the central preferences.

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use herald_protocol::steps::Report;
use herald_protocol::{
    Deleted, ErrorBody, ExchangeLogLine, ExchangeReport, LogDeletion, NewSite, Pref, SiteInfo,
    SiteKeys,
};
use serde::Deserialize;

use crate::domain::admins::accounts::Actor;
use crate::domain::admins::audit;
use crate::domain::sites::{self, exchange_log, prefs};
use crate::error::Error;
use crate::exchange::run as exchange_run;
use crate::http::extract::{Body, Path, Query};
use crate::state::app::AppState;

#[utoipa::path(get, path = "/api/v1/admin/sites", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every site, with its last exchange and state", body = Vec<SiteInfo>)))]
pub(crate) async fn list_sites(State(st): State<AppState>) -> Result<Json<Vec<SiteInfo>>, Error> {
    st.read(|c| sites::infos(c, Utc::now())).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/admin/sites", tag = "admin", request_body = NewSite,
    security(("admin_token" = [])),
    responses((status = 200, description = "The site's keys, shown this once", body = SiteKeys), (status = 409, description = "The site exists", body = ErrorBody)))]
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
    responses((status = 204, description = "Removed; its users and hosts stay"), (status = 404, description = "No such thing", body = ErrorBody)))]
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
    responses((status = 200, description = "What one exchange did; ok is false if any part failed", body = ExchangeReport)))]
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
    responses((status = 200, description = "Each step of the way to the other side", body = Object)))]
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
    responses((status = 200, description = "The trace, newest first unless asked", body = Vec<ExchangeLogLine>), (status = 400, description = "Bad input", body = ErrorBody)))]
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
    responses((status = 200, description = "How many lines went", body = Deleted)))]
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
    responses((status = 200, description = "Every preference set, for all sites and per site", body = Vec<Pref>)))]
pub(crate) async fn list_prefs(State(st): State<AppState>) -> Result<Json<Vec<Pref>>, Error> {
    st.read(prefs::list).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/admin/prefs", tag = "admin", request_body = Pref,
    security(("admin_token" = [])),
    responses((status = 204, description = "Set; it goes down with the next exchange"), (status = 404, description = "No such site", body = ErrorBody)))]
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
    responses((status = 204, description = "Unset"), (status = 404, description = "It was not set", body = ErrorBody)))]
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
