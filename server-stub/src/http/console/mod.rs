//! The web console: its embedded page, and signing in and out of it.

pub mod api;
pub mod ui;
