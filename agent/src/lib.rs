//! The headless core of the Herald agent: the per-user store, the sync with
//! the server, the scheduling rules and the receipts. It needs no display;
//! the desktop parts (popups, tray) are thin layers over it.

pub mod autostart;
pub mod config;
pub mod control;
pub mod error;
pub mod focus;
pub mod history;
pub mod i18n;
pub mod lock;
pub mod popup;
pub mod push;
pub mod render;
pub mod schedule;
pub mod store;
pub mod sync;
pub mod tray;

#[cfg(test)]
mod xss_tests;

pub use error::{StoreError, SyncError};
pub use store::{MessageState, Store, StoredMessage};
