//! The headless core of the Herald agent: the per-user store, the sync with
//! the server, the scheduling rules, the receipts and push. It needs no
//! display and links no GUI library; what is shown is drawn by
//! `herald-views`, and the `herald-agent` binary puts it on screen.

pub mod autostart;
pub mod config;
pub mod connection_test;
pub mod control;
pub mod error;
pub mod focus;
pub mod history;
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
