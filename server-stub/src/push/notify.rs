//! Push hints between instances that share one PostgreSQL database. The
//! instance that takes a send does not know which instance holds a given
//! agent's stream, so it announces the message id with `NOTIFY`, and every
//! instance (itself included) hints the streams it holds (`jobs::notify`).

use crate::error::Error;
use crate::store::sql::Conn;

pub(crate) const CHANNEL: &str = "herald_push";

/// Announces a change to message `id` to every instance. Delivered when
/// the surrounding transaction commits (at once outside one).
pub fn publish(conn: &Conn, id: &str) -> Result<(), Error> {
    conn.execute("SELECT pg_notify('herald_push', ?1)", [id])?;
    Ok(())
}
