//! What the console's compose page needs besides sending: a preview of a
//! body through the agent's own renderer, and shared message templates.
//! Each change writes its audit line in its own transaction.

use crate::sql::{params, Conn, OptionalExtension};
use axum::extract::{Extension, State};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use herald_protocol::{ErrorBody, Preview, PreviewHtml, Template, TemplateInfo};

use crate::accounts::Actor;
use crate::api::{AppState, Body, Path};
use crate::audit;
use crate::db::{from_ms, to_ms};
use crate::error::Error;
use crate::{messages, timespec};

const MAX_NAME_CHARS: usize = 80;

/// Routes under `/api/v1/admin`.
pub fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/preview", post(preview))
        .route("/templates", get(list_templates))
        .route(
            "/templates/{name}",
            put(save_template).delete(delete_template),
        )
}

#[utoipa::path(post, path = "/api/v1/admin/preview", tag = "admin", request_body = Preview,
    security(("admin_token" = [])),
    responses((status = 200, description = "The body as the agent shows it, sanitized", body = PreviewHtml), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn preview(Body(p): Body<Preview>) -> Result<Json<PreviewHtml>, Error> {
    messages::check_body(&p.body)?;
    Ok(Json(PreviewHtml {
        html: herald_views::render::body_html(&p.body),
    }))
}

#[utoipa::path(get, path = "/api/v1/admin/templates", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every template, by name", body = Vec<TemplateInfo>), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn list_templates(
    State(st): State<AppState>,
) -> Result<Json<Vec<TemplateInfo>>, Error> {
    st.read(list).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/admin/templates/{name}", tag = "admin", request_body = Template,
    params(("name" = String, Path, description = "Template name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The template as saved", body = TemplateInfo), (status = 400, description = "Bad input", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn save_template(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Body(t): Body<Template>,
) -> Result<Json<TemplateInfo>, Error> {
    st.write(move |c| {
        let now = Utc::now();
        let info = save(c, &name, t, &actor.name, now)?;
        let tpl = &info.template;
        let detail = format!(
            "title \"{}\", severity {}, receipts {}, valid for {}, body {} bytes",
            tpl.title,
            tpl.severity,
            tpl.receipts,
            if tpl.valid_for.is_empty() {
                "the default"
            } else {
                &tpl.valid_for
            },
            tpl.body.len()
        );
        audit::record(c, &actor, "template-save", &info.name, &detail, now)?;
        Ok(info)
    })
    .await
    .map(Json)
}

#[utoipa::path(delete, path = "/api/v1/admin/templates/{name}", tag = "admin",
    params(("name" = String, Path, description = "Template name")),
    security(("admin_token" = [])),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such thing", body = ErrorBody), (status = 401, description = "Missing or wrong admin token", body = ErrorBody)))]
pub(crate) async fn delete_template(
    State(st): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Result<axum::http::StatusCode, Error> {
    st.write(
        move |c| match c.execute("DELETE FROM templates WHERE name = ?1", [&name])? {
            0 => Err(Error::NotFound(format!("no template named {name:?}"))),
            _ => {
                audit::record(c, &actor, "template-delete", &name, "", Utc::now())?;
                Ok(axum::http::StatusCode::NO_CONTENT)
            }
        },
    )
    .await
}

pub fn list(conn: &Conn) -> Result<Vec<TemplateInfo>, Error> {
    let mut stmt = conn.prepare(
        "SELECT name, title, body, severity, receipts, valid_for, updated_at, updated_by
         FROM templates ORDER BY name",
    )?;
    let rows = stmt.query_map([], row)?;
    rows.map(|r| r?).collect()
}

fn row(r: &crate::sql::Row) -> crate::sql::Result<Result<TemplateInfo, Error>> {
    let severity: String = r.get(3)?;
    let receipts: String = r.get(4)?;
    let build = || -> Result<TemplateInfo, Error> {
        Ok(TemplateInfo {
            name: r.get(0)?,
            template: Template {
                title: r.get(1)?,
                body: r.get(2)?,
                severity: severity
                    .parse()
                    .map_err(|e: herald_protocol::ParseEnumError| Error::Internal(e.to_string()))?,
                receipts: receipts
                    .parse()
                    .map_err(|e: herald_protocol::ParseEnumError| Error::Internal(e.to_string()))?,
                valid_for: r.get(5)?,
            },
            updated_at: from_ms(r.get(6)?),
            updated_by: r.get(7)?,
        })
    };
    Ok(build())
}

pub fn save(
    conn: &Conn,
    name: &str,
    t: Template,
    by: &str,
    now: DateTime<Utc>,
) -> Result<TemplateInfo, Error> {
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::bad(format!(
            "a template name is 1 to {MAX_NAME_CHARS} printable characters"
        )));
    }
    let title = messages::check_title(&t.title)?;
    messages::check_body(&t.body)?;
    let valid_for = t.valid_for.trim();
    if !valid_for.is_empty()
        && (!valid_for.starts_with('+') || timespec::parse(valid_for, now).is_err())
    {
        return Err(Error::bad(format!(
            "valid_for {valid_for:?}: give a relative time such as +2h or +1d, or nothing"
        )));
    }
    conn.execute(
        "INSERT INTO templates(name, title, body, severity, receipts, valid_for, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(name) DO UPDATE SET title = ?2, body = ?3, severity = ?4, receipts = ?5,
             valid_for = ?6, updated_at = ?7, updated_by = ?8",
        params![
            name,
            title,
            t.body,
            t.severity.to_string(),
            t.receipts.to_string(),
            valid_for,
            to_ms(now),
            by
        ],
    )?;
    conn.query_row(
        "SELECT name, title, body, severity, receipts, valid_for, updated_at, updated_by
         FROM templates WHERE name = ?1",
        [name],
        row,
    )
    .optional()?
    .ok_or_else(|| Error::NotFound(name.to_owned()))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use herald_protocol::{ReceiptPolicy, Severity};

    fn drill() -> Template {
        Template {
            title: "Fire drill".into(),
            body: "Leave by the **nearest exit**.".into(),
            severity: Severity::Alert,
            receipts: ReceiptPolicy::Read,
            valid_for: "+2h".into(),
        }
    }

    #[test]
    fn templates_are_saved_replaced_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::db::open(&dir.path().join("t.db")).unwrap();
        let now = Utc::now();
        save(&conn, " Drill ", drill(), "ada", now).unwrap();
        let again = Template {
            title: "Fire drill (west wing)".into(),
            ..drill()
        };
        let saved = save(&conn, "drill", again, "sam", now).unwrap();
        assert_eq!(
            saved.name, "Drill",
            "a name is one template whatever its case"
        );
        assert_eq!(saved.updated_by, "sam");
        let all = list(&conn).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].template.title, "Fire drill (west wing)");

        let bad =
            |t: Template, name: &str| save(&conn, name, t, "ada", now).unwrap_err().to_string();
        assert!(bad(drill(), "").contains("template name"));
        assert!(bad(drill(), "a\u{7}b").contains("template name"));
        let dated = Template {
            valid_for: "2030-01-01T00:00:00Z".into(),
            ..drill()
        };
        assert!(bad(dated, "x").contains("relative time"));
        let untitled = Template {
            title: " ".into(),
            ..drill()
        };
        assert!(bad(untitled, "x").contains("empty title"));
        assert_eq!(
            list(&conn).unwrap().len(),
            1,
            "a refused template changed nothing"
        );
    }

    #[test]
    fn the_preview_is_the_agents_sanitized_rendering() {
        let html = herald_views::render::body_html("**hi** <script>alert(1)</script>");
        assert!(html.contains("<strong>hi</strong>"));
        assert!(!html.contains("<script"), "{html}");
    }
}
