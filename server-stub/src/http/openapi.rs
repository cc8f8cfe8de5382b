//! The API's description, generated from the handlers and the wire types
//! as `router` adds their routes, served at `/api/v1/openapi.json`; the
//! test suite checks the real server against it with schemathesis.

use herald_protocol::ErrorBody;
use utoipa::openapi::path::{HttpMethod, Operation};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The document's base: its title and the token kinds. The operations are
/// added by `router`, each with its route.
#[derive(OpenApi)]
#[openapi(
    info(title = "Herald", description = "Enterprise desktop messaging: the agent and admin API."),
    modifiers(&Tokens)
)]
pub struct ApiDoc;

/// Both token kinds are bearer tokens; they differ in who holds them.
struct Tokens;

impl Modify for Tokens {
    fn modify(&self, doc: &mut Document) {
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

/// The responses that operations of a kind share, stated here once rather
/// than on each handler: the 401 of a missing or wrong token, by the
/// operation's token kind; the 403 of the role check, on the admin API's
/// routes that only an admin may call; the 400 of a JSON body that does
/// not parse. A response the handler states itself is kept; for a 403 it
/// states, the role check's is added to its description.
pub(crate) struct Shared {
    admins_only: Vec<(String, HttpMethod)>,
}

impl Shared {
    /// With the operations of `admins_only`, the routes only an admin may
    /// call.
    pub(crate) fn new(admins_only: &Document) -> Shared {
        let mut ops = Vec::new();
        for (path, item) in &mut admins_only.clone().paths.paths {
            for (method, _) in operations(item) {
                ops.push((path.clone(), method));
            }
        }
        Shared { admins_only: ops }
    }
}

const NOT_AN_ADMIN: &str = "Not an admin";

impl Modify for Shared {
    fn modify(&self, doc: &mut Document) {
        let admin = SecurityRequirement::new("admin_token", Vec::<String>::new());
        let agent = SecurityRequirement::new("agent_token", Vec::<String>::new());
        for (path, item) in &mut doc.paths.paths {
            for (method, op) in operations(item) {
                let security = op.security.as_deref().unwrap_or_default();
                if security.contains(&admin) {
                    add(op, "401", "Missing or wrong admin token");
                } else if security.contains(&agent) {
                    add(op, "401", "Missing or wrong agent token");
                }
                if self.admins_only.contains(&(path.clone(), method)) {
                    role_check(op);
                }
                let json_body = op
                    .request_body
                    .as_ref()
                    .is_some_and(|b| b.content.contains_key("application/json"));
                if json_body {
                    add(op, "400", "Bad input");
                }
            }
        }
        let components = doc.components.get_or_insert_with(Default::default);
        components
            .schemas
            .entry(ErrorBody::name().into_owned())
            .or_insert_with(ErrorBody::schema);
        // What the push stream's events carry: no operation names them, as
        // the stream's body is text/event-stream.
        use herald_protocol::{PushReady, PushedChange, PushedStop};
        for (name, schema) in [
            (PushedChange::name(), PushedChange::schema()),
            (PushedStop::name(), PushedStop::schema()),
            (PushReady::name(), PushReady::schema()),
        ] {
            components
                .schemas
                .entry(name.into_owned())
                .or_insert(schema);
        }
    }
}

/// An error response in the API's error shape, unless the operation has
/// one with this status already.
fn add(op: &mut Operation, status: &str, description: &str) {
    op.responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| error(description).into());
}

/// The role check's 403, beside whatever else the handler refuses with it.
fn role_check(op: &mut Operation) {
    use utoipa::openapi::RefOr;
    match op.responses.responses.get_mut("403") {
        Some(RefOr::T(r)) if r.description != NOT_AN_ADMIN => {
            r.description = format!("{}; or not an admin", r.description);
        }
        Some(_) => {}
        None => add(op, "403", NOT_AN_ADMIN),
    }
}

fn error(description: &str) -> utoipa::openapi::Response {
    let body = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(ErrorBody::name())))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/json", body)
        .build()
}

/// A path's operations, by method.
fn operations(item: &mut utoipa::openapi::PathItem) -> Vec<(HttpMethod, &mut Operation)> {
    [
        (HttpMethod::Get, &mut item.get),
        (HttpMethod::Put, &mut item.put),
        (HttpMethod::Post, &mut item.post),
        (HttpMethod::Delete, &mut item.delete),
        (HttpMethod::Options, &mut item.options),
        (HttpMethod::Head, &mut item.head),
        (HttpMethod::Patch, &mut item.patch),
        (HttpMethod::Trace, &mut item.trace),
    ]
    .into_iter()
    .filter_map(|(m, op)| op.as_mut().map(|op| (m, op)))
    .collect()
}
