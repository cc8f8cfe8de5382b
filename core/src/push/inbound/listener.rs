//! The inbound listener's accept loop: a plain TCP server that reads one
//! small request head per connection, lets the guard and the limiter judge
//! it, and answers with a status line. It never reads a body and acts on
//! nothing but "a verified call came", which it reports.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};

use super::{parse_head, Admission, Call, Guard, Keys, Limiter, Rejection};
use crate::push::PushEvent;

/// Connections handled at once; more are closed unanswered.
const MAX_CONNECTIONS: usize = 16;
/// A call is one small write; a caller slower than this is not the server.
const READ_LIMIT: Duration = Duration::from_secs(5);

const ACCEPTED: &[u8] = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
const REJECTED: &[u8] =
    b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 9\r\nConnection: close\r\n\r\nrejected\n";
const LIMITED: &[u8] =
    b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 9\r\nConnection: close\r\n\r\nrejected\n";

struct Judge {
    guard: Guard,
    limiter: Limiter,
}

/// Serves calls on `listener` for `host` forever. `report` hears of every
/// verified call (`Called`) and of rejections worth logging (`Rejected`).
pub async fn serve<R>(listener: TcpListener, host: String, keys: watch::Receiver<Keys>, report: R)
where
    R: Fn(PushEvent) + Clone + Send + Sync + 'static,
{
    let started = keys.borrow().server_now(Utc::now());
    let judge = Arc::new(Mutex::new(Judge {
        guard: Guard::new(&host, started),
        limiter: Limiter::new(Instant::now()),
    }));
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (sock, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of descriptors, typically: wait rather than spin.
                tracing::warn!(error = %e, "inbound push: accept failed");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let (judge, keys, report) = (Arc::clone(&judge), keys.clone(), report.clone());
        tokio::spawn(async move {
            one_call(sock, peer, &judge, &keys, &report).await;
            drop(slot);
        });
    }
}

async fn one_call(
    mut sock: TcpStream,
    peer: SocketAddr,
    judge: &Mutex<Judge>,
    keys: &watch::Receiver<Keys>,
    report: &impl Fn(PushEvent),
) {
    let admission = match judge.lock() {
        Ok(mut j) => j.limiter.admit(peer.ip(), Instant::now()),
        Err(_) => Admission::Drop,
    };
    match admission {
        Admission::Admit => {}
        Admission::Trip => {
            let reason = "too many rejected calls: more from this address are refused \
                          unlogged for a while"
                .to_owned();
            answer(&mut sock, LIMITED).await;
            report(PushEvent::Rejected { from: peer, reason });
            return;
        }
        Admission::Drop => {
            tracing::debug!(%peer, "inbound push: call dropped by the rate limit");
            answer(&mut sock, LIMITED).await;
            return;
        }
    }
    let verdict = match tokio::time::timeout(READ_LIMIT, read_head(&mut sock)).await {
        Ok(head) => head,
        Err(_) => Err(Rejection::NotACall(format!(
            "no complete request within {} s",
            READ_LIMIT.as_secs()
        ))),
    };
    let verdict = verdict.and_then(|call| {
        let keys = keys.borrow().clone();
        let now = keys.server_now(Utc::now());
        match judge.lock() {
            Ok(mut j) => j.guard.check(&call, keys.secret.as_deref(), now),
            Err(_) => Err(Rejection::Flooded),
        }
    });
    match verdict {
        Ok(()) => {
            answer(&mut sock, ACCEPTED).await;
            report(PushEvent::Called(peer));
        }
        Err(r) => {
            if let Ok(mut j) = judge.lock() {
                j.limiter.charge(peer.ip(), Instant::now());
            }
            answer(&mut sock, REJECTED).await;
            report(PushEvent::Rejected {
                from: peer,
                reason: r.to_string(),
            });
        }
    }
}

async fn read_head(sock: &mut TcpStream) -> Result<Call, Rejection> {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    loop {
        let n = sock
            .read(&mut chunk)
            .await
            .map_err(|e| Rejection::NotACall(format!("read failed: {e}")))?;
        if n == 0 {
            return Err(Rejection::NotACall(
                "the connection closed before a complete request".into(),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(call) = parse_head(&buf)? {
            return Ok(call);
        }
    }
}

async fn answer(sock: &mut TcpStream, status: &[u8]) {
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = sock.write_all(status).await;
        let _ = sock.shutdown().await;
    })
    .await;
}
