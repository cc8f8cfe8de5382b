//! The HTTP API: `router` assembles every route; the handlers are grouped
//! by who calls them (`agent`, `admin`, `site` for relays, `console`), and
//! the admin routes sit behind `guard`.

pub mod admin;
pub mod agent;
pub mod console;
pub mod error;
pub mod extract;
pub mod guard;
pub mod health;
pub mod openapi;
pub mod router;
pub mod site;
