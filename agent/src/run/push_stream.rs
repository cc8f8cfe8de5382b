//! The push stream task: held open while the server asks for it,
//! reconnecting with backoff and jitter.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use herald_agent::push::{self, PushEvent};
use rand::Rng;

use super::Agent;

/// A stream that lasted this long resets the backoff.
const STABLE: Duration = Duration::from_secs(30);

impl Agent {
    pub(super) fn spawn_stream(&self) -> tokio::task::JoinHandle<()> {
        let endpoint = self.client.endpoint().clone();
        let tx = self.push.clone();
        let hint_queued = self.hint_queued.clone();
        tokio::spawn(async move {
            let http = match push::client() {
                Ok(h) => h,
                Err(e) => {
                    tracing::error!(error = %e, "push stream: no HTTP client");
                    return;
                }
            };
            let mut failures = 0u32;
            loop {
                let started = Instant::now();
                let reason = push::hold(&http, &endpoint, &mut |event| {
                    // Hints mean "check now": one waiting is as good as many,
                    // and none is ever dropped.
                    if event == PushEvent::Hint && hint_queued.swap(true, Ordering::AcqRel) {
                        return;
                    }
                    let _ = tx.send(event);
                })
                .await;
                if started.elapsed() >= STABLE {
                    failures = 0;
                }
                let delay = push::reconnect_delay(failures, rand::rng().random());
                failures = failures.saturating_add(1);
                let lost = PushEvent::Lost(format!(
                    "{reason}; reconnecting in {:.1} s",
                    delay.as_secs_f64()
                ));
                if tx.send(lost).is_err() {
                    return;
                }
                tokio::time::sleep(delay).await;
            }
        })
    }
}
