//! A change taken from the push stream goes the way of a poll's answer:
//! checked (`sync::validate_message`), its signature verified with the
//! same keys, then stored with a line in the exchange log. Anything that
//! cannot be applied is an error, and the agent polls instead.

use std::path::Path;

use chrono::{Duration, Utc};
use herald_protocol::PushedChange;

use crate::error::SyncError;
use crate::store::{Applied, Store, StoreHandle};
use crate::sync::{validate_message, verify_with, SyncClient};

/// Applies one change from the stream of `client`'s server. Checked here,
/// then verified and stored on the store's thread in one go: an alert
/// reaches every desktop at once, and each hop between threads is a
/// wake-up to pay.
pub async fn apply(
    store: &StoreHandle,
    client: &SyncClient,
    change: PushedChange,
) -> Result<Applied, SyncError> {
    if let Some(m) = &change.message {
        validate_message(m)?;
    }
    let server = client.endpoint().server.clone();
    let trust_file = crate::trust::file_of(store.path());
    let keys = client.server_keys().to_vec();
    store
        .write(move |s| Ok(verify_and_store(s, &server, &trust_file, &keys, change)))
        .await?
}

/// On the store's thread: the message's signature, then the change.
fn verify_and_store(
    s: &mut Store,
    server: &str,
    trust_file: &Path,
    keys: &[String],
    mut change: PushedChange,
) -> Result<Applied, SyncError> {
    if let Some(m) = change.message.take() {
        let offset = s.sync_state()?.clock_offset_ms;
        let now = Utc::now() + Duration::milliseconds(offset);
        let mut one = vec![m];
        if !verify_with(trust_file, keys, &mut one, now)?.is_empty() {
            // The poll refuses it again, and tells the server.
            return Err(SyncError::Malformed(
                "a pushed message's signature does not verify".into(),
            ));
        }
        change.message = one.pop();
    }
    Ok(s.apply_pushed(server, &change)?)
}
