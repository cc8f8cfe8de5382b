//! The Herald server as a library: `serve` runs it on a listener the caller
//! bound, until the caller's shutdown future completes. The binary (under
//! `cli/`, a crate of its own on this library) and the tests both go
//! through it.
//!
//! # Layers
//!
//! Each folder (and each file beside them here) belongs to one layer, and a
//! layer uses only the layers below it. Layers with the same number are
//! siblings: neither uses the other. Inside a layer there is no circle
//! between modules, a module being a file or folder two levels deep
//! (`domain::messages`, `http::admin`, `config`); a folder's root may use
//! its own parts. No file in `domain` names axum, hyper or tower.
//! `tests/tests/layers.rs` (herald-e2e) reads this list and checks every
//! `crate::` and `super::` path against it. Bottom first:
//!
//! 1. `tokens`, `config` — what every layer may use: random tokens and
//!    their hashes, the configuration's types.
//! 2. `store`, `error` — the database (one `Conn` interface over SQLite
//!    and PostgreSQL, the migrations, the pool, backups and whole copies)
//!    and, beside it, the signing key file; the error type, a database
//!    error one of its kinds.
//! 3. `domain` — the rules and their SQL, as functions of a connection,
//!    their input and the time: directory, admins, messages, sites, fleet.
//! 4. `outbound` — what the server asks of others: LDAP for the directory,
//!    SMTP and IMAP for bundles by mail.
//! 5. `state` — what a running server holds: `AppState` with the effective
//!    policy, the push hub, the counters, the exchange setup, the client
//!    for inbound calls.
//! 6. `push` — telling agents of a change: the push plan and `NOTIFY`, the
//!    stream's registration and events, inbound calls.
//! 7. `exchange` — the exchange with other sites on a running server:
//!    bundles coming in, one run by HTTPS or mail.
//! 8. `http` — the router with every route, the extractors, error answers,
//!    the admin guard, and the handlers (`agent`, `admin`, `site`,
//!    `console`).
//! 8. `jobs` — every background task: the directory sync, the exchange on
//!    a schedule, the last-seen flush, hearing other instances' push hints.
//! 9. `net` — the socket side: accepting and admitting connections, TLS,
//!    the bare push stream, and `serve`.

pub mod config;
pub mod domain;
pub mod error;
pub mod exchange;
pub mod http;
pub mod jobs;
pub mod net;
pub mod outbound;
pub mod push;
pub mod state;
pub mod store;
pub mod tokens;

pub use config::AgentPolicy;
pub use error::Error;
pub use net::serve::serve;
pub use state::app::AppState;
