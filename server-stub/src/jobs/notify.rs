//! Hearing the changes other instances announce on a shared PostgreSQL
//! database (see `push::notify`), and writing them to the streams this
//! instance holds (`push::changes`). An instance that was away from the
//! database hints all its streams once when it is back: each agent polls,
//! and so misses nothing that was announced meanwhile.

use std::time::Duration;

use postgres::fallible_iterator::FallibleIterator;

use crate::domain::directory::targets::Targets;
use crate::push::changes;
use crate::push::notify::CHANNEL;
use crate::state::app::AppState;
use crate::state::hub::Notice;
use crate::store::db::Location;

/// On PostgreSQL, inside a tokio runtime, listens for the push hints other
/// instances announce.
pub fn start(st: &AppState) {
    if let (Location::Postgres(url), Ok(_)) =
        (st.db.location(), tokio::runtime::Handle::try_current())
    {
        if let Err(e) = spawn_listener(url.clone(), st.clone()) {
            tracing::error!(error = %e, "cannot listen for push announcements");
        }
    }
}

/// Listens for announcements on a connection of its own, on a thread of
/// its own (the driver blocks), until no one else holds the state.
pub fn spawn_listener(url: String, st: AppState) -> std::io::Result<()> {
    let rt = tokio::runtime::Handle::current();
    std::thread::Builder::new()
        .name("herald-notify".into())
        .spawn(move || {
            let mut first = true;
            loop {
                match listen(&url, &rt, &st, &mut first) {
                    Ok(()) => return,
                    Err(e) => {
                        let e = crate::store::sql::Error::from(e);
                        tracing::warn!(error = %e, "push announcements lost; reconnecting");
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        })?;
    Ok(())
}

/// Hears announcements until the state is dropped everywhere else (`Ok`)
/// or the connection fails.
fn listen(
    url: &str,
    rt: &tokio::runtime::Handle,
    st: &AppState,
    first: &mut bool,
) -> Result<(), postgres::Error> {
    let mut client = postgres::Client::connect(url, postgres::NoTls)?;
    client.batch_execute(&format!("LISTEN {CHANNEL}"))?;
    if !std::mem::replace(first, false) {
        let n = st.hub.notify(&Targets::everyone());
        tracing::info!(
            streams = n,
            "push announcements back; every stream hinted once"
        );
    }
    loop {
        let mut notifications = client.notifications();
        let mut each = notifications.timeout_iter(Duration::from_secs(2));
        let Some(n) = each.next()? else {
            if st.is_only_holder() {
                return Ok(());
            }
            continue;
        };
        let Some(notice) = Notice::decode(n.payload()) else {
            tracing::warn!(
                payload = n.payload(),
                "an announcement this instance cannot read"
            );
            continue;
        };
        let _in_runtime = rt.enter();
        changes::tell(st, notice);
    }
}
