//! The headless core of the Herald agent: the per-user store, the sync with
//! the server, the scheduling rules, the receipts and push. It needs no
//! display and links no GUI library; what is shown is drawn by
//! `herald-views`, and the `herald-agent` binary puts it on screen.
//!
//! # Layers
//!
//! A layer uses only the layers below it, and no two modules use each
//! other in a circle; `tests/tests/layers.rs` (herald-e2e) checks every
//! `crate::` and `super::` path against this list. Bottom first:
//!
//! 1. `config`, `lock`, `focus`, `autostart`, `control`, `popup_retry`,
//!    `languages` — the agent's settings and its place on the desktop: the
//!    config file, one agent per user, Focus Assist, autostart, the local
//!    control socket, when to try a popup again, the languages the user
//!    reads.
//! 2. `tls`, `trust` — whom the agent believes: the server's certificate,
//!    and the keys that sign messages.
//! 3. `error`, `store` — the per-user store, and the errors of the store
//!    and of a contact.
//! 4. `schedule`, `history` — rules over what is stored: what is due and
//!    when, the history window's rows.
//! 5. `sync`, `signin` — one contact with the server, and the token it
//!    goes with.
//! 6. `push` — how the server says "look now": the stream and inbound
//!    calls.
//! 7. `connection_test` — each way to the server, step by step.

pub mod autostart;
pub mod config;
pub mod connection_test;
pub mod control;
pub mod error;
pub mod focus;
pub mod history;
pub mod languages;
pub mod lock;
pub mod popup_retry;
pub mod push;
pub mod schedule;
pub mod signin;
pub mod store;
pub mod sync;
pub mod tls;
pub mod trust;

pub use error::{StoreError, SyncError};
pub use store::{MessageState, Store, StoredMessage};
