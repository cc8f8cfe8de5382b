//! Who administers: accounts with their roles, a sender's limits and API
//! tokens, passwords, console sessions, and the append-only audit log.

pub mod accounts;
pub mod audit;
pub mod passwords;
pub mod sessions;
