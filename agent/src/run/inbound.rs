//! The inbound push listener: a plain TCP accept loop that reads one small
//! request head per connection, lets `herald_agent::inbound` judge it, and
//! answers with a status line. It never reads a body and never acts on
//! anything but "a verified call came": then the main loop syncs.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use herald_agent::inbound::{parse_head, Admission, Call, Guard, Keys, Limiter, Rejection};
use herald_agent::push::{self, PushEvent};
use rand::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, Semaphore};

use super::Agent;
use crate::listen::{Action, Command};

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

impl Agent {
    pub(super) fn spawn_listener(&self, addr: SocketAddr) -> tokio::task::JoinHandle<()> {
        let host = self.client.endpoint().host.clone();
        let keys = self.keys.subscribe();
        let tx = self.sender.clone();
        tokio::spawn(async move {
            let listener = bind(addr, &tx).await;
            let local = listener.local_addr().unwrap_or(addr);
            let started = keys.borrow().server_now(Utc::now());
            let judge = Arc::new(Mutex::new(Judge {
                guard: Guard::new(&host, started),
                limiter: Limiter::new(Instant::now()),
            }));
            report(&tx, PushEvent::Listening(local)).await;
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
                let (judge, keys, tx) = (Arc::clone(&judge), keys.clone(), tx.clone());
                tokio::spawn(async move {
                    serve(sock, peer, &judge, &keys, &tx).await;
                    drop(slot);
                });
            }
        })
    }
}

/// Binds, retrying with backoff while the address is taken or missing.
async fn bind(addr: SocketAddr, tx: &mpsc::Sender<Command>) -> TcpListener {
    let mut failures = 0u32;
    loop {
        match TcpListener::bind(addr).await {
            Ok(l) => return l,
            Err(e) => {
                let delay = push::reconnect_delay(failures, rand::rng().random());
                failures = failures.saturating_add(1);
                let why = format!(
                    "cannot listen on {addr}: {e}; retrying in {:.1} s",
                    delay.as_secs_f64()
                );
                report(tx, PushEvent::NotListening(why)).await;
                tokio::time::sleep(delay).await;
            }
        }
    }
}

async fn serve(
    mut sock: TcpStream,
    peer: SocketAddr,
    judge: &Mutex<Judge>,
    keys: &watch::Receiver<Keys>,
    tx: &mpsc::Sender<Command>,
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
            notify(tx, PushEvent::Rejected { from: peer, reason });
            answer(&mut sock, LIMITED).await;
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
            report(tx, PushEvent::Called(peer)).await;
        }
        Err(r) => {
            if let Ok(mut j) = judge.lock() {
                j.limiter.charge(peer.ip(), Instant::now());
            }
            answer(&mut sock, REJECTED).await;
            notify(
                tx,
                PushEvent::Rejected {
                    from: peer,
                    reason: r.to_string(),
                },
            );
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

/// News that must reach the main loop.
async fn report(tx: &mpsc::Sender<Command>, event: PushEvent) {
    let _ = tx
        .send(Command {
            action: Action::Push(event),
            reply: None,
        })
        .await;
}

/// News that may be dropped when the main loop is behind: a flood of
/// rejections must not queue up without bound.
fn notify(tx: &mpsc::Sender<Command>, event: PushEvent) {
    let _ = tx.try_send(Command {
        action: Action::Push(event),
        reply: None,
    });
}
