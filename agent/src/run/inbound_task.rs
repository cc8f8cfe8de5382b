//! The inbound push task: binds the configured address (retrying with
//! backoff while it is taken) and serves calls; what it hears reaches the
//! main loop as commands.

use std::net::SocketAddr;

use herald_core::push::inbound::listener;
use herald_core::push::{self, PushEvent};
use rand::Rng;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::Agent;
use crate::input::{Action, Command};

impl Agent {
    pub(super) fn spawn_listener(&self, addr: SocketAddr) -> tokio::task::JoinHandle<()> {
        let host = self.client.endpoint().host.clone();
        let keys = self.keys.subscribe();
        let tx = self.sender.clone();
        tokio::spawn(async move {
            let listener = bind(addr, &tx).await;
            let local = listener.local_addr().unwrap_or(addr);
            report(&tx, PushEvent::Listening(local)).await;
            let events = tx.clone();
            listener::serve(listener, host, keys, move |event| {
                let called = matches!(event, PushEvent::Called(_));
                let cmd = Command {
                    action: Action::Push(event),
                    reply: None,
                };
                if called {
                    // A verified call must reach the loop, however busy.
                    let tx = events.clone();
                    tokio::spawn(async move { tx.send(cmd).await });
                } else {
                    // Rejections may be dropped when the loop is behind: a
                    // flood must not queue up without bound.
                    let _ = events.try_send(cmd);
                }
            })
            .await;
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

async fn report(tx: &mpsc::Sender<Command>, event: PushEvent) {
    let _ = tx
        .send(Command {
            action: Action::Push(event),
            reply: None,
        })
        .await;
}
