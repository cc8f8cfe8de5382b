//! The rules and their SQL: plain functions of a connection, their input
//! and the time, which neither HTTP nor a running server appear in. Each
//! folder is one part; `changes` is below all of them, `fleet` above
//! `messages`, and `sites` above `messages` (an exchange carries them).

pub mod admins;
pub mod changes;
pub mod directory;
pub mod fleet;
pub mod messages;
pub mod sites;
