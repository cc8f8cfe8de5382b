//! What the server keeps: the database, reached through one interface
//! whichever engine holds it, and the signing key file beside it.

pub mod backup;
pub mod db;
pub mod keyfile;
pub mod migrate;
pub mod pool;
pub mod sql;
