//! Inbound push calls: the signed, empty "check now" calls made to the
//! agents that listen (`domain::directory::listeners`). A call only makes
//! the agent poll, so a lost one costs at most one poll interval.

use chrono::Utc;
use futures_util::StreamExt;
use herald_protocol::{sign, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, INBOUND_PATH};
use rand::Rng;

use crate::domain::directory::listeners::Listener;

/// Calls in flight at once; the rest wait their turn.
const PARALLEL_CALLS: usize = 64;

/// Calls every listener, some at once; returns how many answered "accepted".
pub async fn call_all(http: &reqwest::Client, listeners: Vec<Listener>) -> usize {
    futures_util::stream::iter(listeners)
        .map(|l| async move {
            let result = call(http, &l).await;
            if let Err(e) = &result {
                tracing::info!(user = %l.user, host = %l.host, addr = %l.addr, error = %e, "inbound push call failed");
            }
            result.is_ok()
        })
        .buffer_unordered(PARALLEL_CALLS)
        .filter(|ok| std::future::ready(*ok))
        .count()
        .await
}

async fn call(http: &reqwest::Client, l: &Listener) -> Result<(), String> {
    let ts = Utc::now().timestamp();
    let nonce = hex::encode(rand::rng().random::<[u8; 16]>());
    let resp = http
        .post(format!("http://{}{INBOUND_PATH}", l.addr))
        .header(HEADER_TIMESTAMP, ts.to_string())
        .header(HEADER_NONCE, &nonce)
        .header(HEADER_SIGNATURE, sign(&l.secret, ts, &nonce, &l.host))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("the agent answered {}", resp.status()))
    }
}
