//! A change taken from the push stream goes the way of a poll's answer:
//! checked (`sync::validate_message`), its signature verified with the
//! same keys, then stored with a line in the exchange log. Anything that
//! cannot be applied is an error, and the agent polls instead.

use chrono::{Duration, Utc};
use herald_protocol::PushedChange;

use crate::error::SyncError;
use crate::store::{Applied, StoreHandle};
use crate::sync::{validate_message, verify_messages, SyncClient};

/// Applies one change from the stream of `client`'s server.
pub async fn apply(
    store: &StoreHandle,
    client: &SyncClient,
    change: PushedChange,
) -> Result<Applied, SyncError> {
    let mut change = change;
    if let Some(m) = change.message.take() {
        validate_message(&m)?;
        let offset = store.read(|s| s.sync_state()).await?.clock_offset_ms;
        let now = Utc::now() + Duration::milliseconds(offset);
        let mut one = vec![m];
        if !verify_messages(store, client, &mut one, now)?.is_empty() {
            // The poll refuses it again, and tells the server.
            return Err(SyncError::Malformed(
                "a pushed message's signature does not verify".into(),
            ));
        }
        change.message = one.pop();
    }
    let server = client.endpoint().server.clone();
    Ok(store
        .write(move |s| s.apply_pushed(&server, &change))
        .await?)
}
