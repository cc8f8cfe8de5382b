//! Every task a running server runs in the background, and who starts it:
//!
//! - `last_seen`: writes the batch of last-seen times (`serve`);
//! - `notify`: on PostgreSQL, hears the push hints other instances
//!   announce (`serve`);
//! - `directory`: syncs the directory from LDAP (the binary, with a
//!   `[directory]` section);
//! - `exchange`: exchanges with the central server on a schedule (the
//!   binary, with `[relay] every_secs`).

pub mod directory;
pub mod exchange;
pub mod last_seen;
pub mod notify;
