//! The admin API's handlers, under `/api/v1/admin`, each behind the guard.

pub mod accounts;
pub mod compose;
pub mod directory;
pub mod enroll;
pub mod fleet;
pub mod messages;
pub mod metrics;
pub mod sites;
pub mod users;
