//! The push stream task: held open while the server asks for it (the
//! library's `push::stream::hold_forever`, which the bench runs too); its news goes
//! to the main loop, hints coalesced.

use std::sync::atomic::Ordering;

use herald_core::push::stream as push;
use herald_core::push::PushEvent;

use super::Agent;

impl Agent {
    pub(super) fn spawn_stream(&self) -> tokio::task::JoinHandle<()> {
        let endpoint = self.client.endpoint().clone();
        let tx = self.push.clone();
        let hint_queued = self.hint_queued.clone();
        tokio::spawn(async move {
            let http = match push::client(&endpoint) {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "push stream: no HTTP client");
                    return;
                }
            };
            push::hold_forever(&http, &endpoint, |event| {
                // Hints mean "check now": one waiting is as good as many,
                // and none is ever dropped.
                if event == PushEvent::Hint && hint_queued.swap(true, Ordering::AcqRel) {
                    return true;
                }
                tx.send(event).is_ok()
            })
            .await;
        })
    }
}
