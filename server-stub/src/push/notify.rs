//! Push notices between instances that share one PostgreSQL database. The
//! instance that takes a change does not know which instance holds a given
//! agent's stream, so it names the change with `NOTIFY`, and every
//! instance (itself included) reads it once and writes it to the streams
//! it holds (`jobs::notify`, `push::changes`).

use crate::error::Error;
use crate::state::hub::Notice;
use crate::store::sql::Conn;

pub(crate) const CHANNEL: &str = "herald_push";

/// Announces a change to every instance. Delivered when the surrounding
/// transaction commits (at once outside one).
pub fn publish(conn: &Conn, notice: &Notice) -> Result<(), Error> {
    conn.execute("SELECT pg_notify('herald_push', ?1)", [notice.encode()])?;
    Ok(())
}
