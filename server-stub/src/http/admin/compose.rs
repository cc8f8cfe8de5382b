//! The console's compose page besides sending, over HTTP: a preview of a
//! body through the agent's own renderer, and shared message templates
//! (`domain::messages::templates`). Each change writes its audit line in
//! its own transaction.

use axum::extract::{Extension, State};
use axum::Json;
use chrono::Utc;
use herald_protocol::{ErrorBody, Preview, PreviewHtml, Template, TemplateInfo};

use crate::domain::admins::accounts::Actor;
use crate::domain::admins::audit;
use crate::domain::messages;
use crate::domain::messages::templates::{list, save};
use crate::error::Error;
use crate::http::extract::{Body, Path};
use crate::state::app::AppState;

#[utoipa::path(post, path = "/api/v1/admin/preview", tag = "admin", request_body = Preview,
    security(("admin_token" = [])),
    responses((status = 200, description = "The body as the agent shows it, sanitized", body = PreviewHtml)))]
pub(crate) async fn preview(Body(p): Body<Preview>) -> Result<Json<PreviewHtml>, Error> {
    messages::check_body(&p.body)?;
    Ok(Json(PreviewHtml {
        html: herald_views::render::body_html(&p.body),
    }))
}

#[utoipa::path(get, path = "/api/v1/admin/templates", tag = "admin",
    security(("admin_token" = [])),
    responses((status = 200, description = "Every template, by name", body = Vec<TemplateInfo>)))]
pub(crate) async fn list_templates(
    State(st): State<AppState>,
) -> Result<Json<Vec<TemplateInfo>>, Error> {
    st.read(list).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/admin/templates/{name}", tag = "admin", request_body = Template,
    params(("name" = String, Path, description = "Template name")),
    security(("admin_token" = [])),
    responses((status = 200, description = "The template as saved", body = TemplateInfo)))]
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
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such thing", body = ErrorBody)))]
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_preview_is_the_agents_sanitized_rendering() {
        let html = herald_views::render::body_html("**hi** <script>alert(1)</script>");
        assert!(html.contains("<strong>hi</strong>"));
        assert!(!html.contains("<script"), "{html}");
    }
}
