//! Connections: accepted here, sent to the push stream writer (`stream`) or
//! to hyper and the router by their first bytes, and drained at shutdown.
//! At shutdown no connection is taken any more, push streams end, requests
//! in flight get a bounded time to finish, and the server stops; an open
//! stream must not hold a stopping server for ever.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use bytes::{Buf, Bytes, BytesMut};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::api::AppState;
use crate::stream::{self, Route};

/// How long requests in flight may take to finish once shutdown begins.
pub const GRACE: Duration = Duration::from_secs(10);
/// A connection on which nothing has moved for this long is closed once
/// no request is in flight on it: agents poll minutes apart and
/// reconnect, and open sockets are what a server runs out of first. (A
/// push stream through hyper writes a heartbeat every 15 s.) Checked once
/// per period, not per request: a timer per request cost 15 % of the
/// unchanged-poll rate.
pub const IDLE: Duration = Duration::from_secs(30);

/// Connections the kernel holds for the server before it accepts them. The
/// default (1,024) overflows when thousands of agents connect at once, as
/// they do after an alert; overflowing ones are reset.
const BACKLOG: u32 = 4096;

/// Listens on `addr` (host:port), with room for many agents connecting at
/// once.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last = None;
    for a in tokio::net::lookup_host(addr).await? {
        let socket = if a.is_ipv4() {
            tokio::net::TcpSocket::new_v4()?
        } else {
            tokio::net::TcpSocket::new_v6()?
        };
        #[cfg(unix)]
        socket.set_reuseaddr(true)?;
        match socket.bind(a).and_then(|()| socket.listen(BACKLOG)) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the address resolves to nothing",
        )
    }))
}

/// Accepts and serves connections until `shutdown` completes, then drains.
pub async fn run(
    listener: TcpListener,
    tls: Option<crate::tls::Acceptor>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let router = crate::api::router(state.clone());
    let (stop_tx, stop_rx) = watch::channel(());
    // Every connection holds a sender; when all are gone, all are done.
    let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to
                    // close rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        keepalive(&tcp);
        let conn = Connection {
            state: state.clone(),
            router: router.clone(),
            stop: stop_rx.clone(),
            _alive: alive_tx.clone(),
        };
        match &tls {
            None => tokio::spawn(conn.serve(tcp, peer)),
            Some(tls) => tokio::spawn(conn.handshake(tls.clone(), tcp, peer)),
        };
    }
    drop(listener);
    state.hub.close_all();
    drop(stop_tx);
    drop(alive_tx);
    if tokio::time::timeout(GRACE, alive_rx.recv()).await.is_err() {
        tracing::warn!(
            "requests still in flight after {} s; stopping anyway",
            GRACE.as_secs()
        );
    }
}

/// Keepalive probes are the agent's heartbeat as the server sees it: a
/// push stream to a vanished computer is closed within about a minute.
fn keepalive(tcp: &TcpStream) {
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(30))
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    if let Err(e) = socket2::SockRef::from(tcp).set_tcp_keepalive(&ka) {
        tracing::debug!(error = %e, "cannot set TCP keepalive");
    }
}

struct Connection {
    state: AppState,
    router: Router,
    stop: watch::Receiver<()>,
    _alive: mpsc::Sender<()>,
}

impl Connection {
    /// TLS first, within the time a request head gets; a client that
    /// never completes it does not delay shutdown.
    async fn handshake(mut self, tls: crate::tls::Acceptor, tcp: TcpStream, peer: SocketAddr) {
        let accepted = tokio::select! {
            a = tokio::time::timeout(stream::HEAD_TIMEOUT, tls.accept(tcp)) => a,
            _ = self.stop.changed() => return,
        };
        match accepted {
            Ok(Ok(io)) => self.serve(io, peer).await,
            Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
            Err(_) => tracing::debug!(%peer, "TLS handshake not done in time"),
        }
    }

    async fn serve<IO>(mut self, mut tcp: IO, peer: SocketAddr)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let mut first = BytesMut::with_capacity(1024);
        let routing = tokio::time::timeout(stream::HEAD_TIMEOUT, async {
            loop {
                match tcp.read_buf(&mut first).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                match stream::route(&first) {
                    Route::Unsure => continue,
                    r => return Some(r),
                }
            }
        });
        let routed = tokio::select! {
            r = routing => r,
            // A client that has said nothing yet does not delay shutdown.
            _ = self.stop.changed() => return,
        };
        match routed {
            Ok(Some(Route::Push)) => {
                let mut stop = self.stop.clone();
                let Connection { state, _alive, .. } = self;
                tokio::select! {
                    () = stream::serve(tcp, first, state) => {}
                    // The hub ends open streams at shutdown; this ends one
                    // still reading its request head.
                    _ = stop.changed() => {}
                }
            }
            Ok(Some(_)) => {
                let io = Rewind {
                    first: first.freeze(),
                    io: tcp,
                    moved: Arc::new(Activity::default()),
                };
                self.http(io, peer).await;
            }
            // Closed or silent before saying anything.
            Ok(None) | Err(_) => {}
        }
    }

    /// Hyper serves the rest of the connection, first bytes included.
    async fn http<IO>(mut self, io: Rewind<IO>, peer: SocketAddr)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let moved = Arc::clone(&io.moved);
        let router = self.router.clone();
        let proxies = Arc::clone(&self.state.trusted_proxies);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // The client's address is where inbound push calls go back to:
            // the peer's, or through a trusted balancer the one it names.
            let client = proxies.client(peer, req.headers());
            if proxies.forwarded_https(peer, req.headers()) {
                req.extensions_mut().insert(crate::proxy::ForwardedHttps);
            }
            req.extensions_mut().insert(ConnectInfo(client));
            tower::ServiceExt::oneshot(router.clone(), req.map(axum::body::Body::new))
        });
        let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        tokio::pin!(conn);
        let mut check = tokio::time::interval_at(tokio::time::Instant::now() + IDLE, IDLE);
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(e) = served {
                        tracing::trace!(error = %e, "connection ended with an error");
                    }
                    return;
                }
                _ = self.stop.changed() => break,
                _ = check.tick() => if moved.idle_for() >= IDLE { break },
            }
        }
        // Shutdown or idle: the request in flight finishes, then the
        // connection closes instead of waiting for another.
        conn.as_mut().graceful_shutdown();
        if let Err(e) = conn.await {
            tracing::trace!(error = %e, "connection ended with an error");
        }
    }
}

/// When a connection last moved a byte either way.
struct Activity {
    since: std::time::Instant,
    /// Milliseconds from `since`.
    last_ms: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            since: std::time::Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }
}

impl Activity {
    fn moved(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.since.elapsed().saturating_sub(last)
    }
}

/// A connection whose first bytes were read to route it, then given back;
/// it notes when bytes move.
struct Rewind<IO> {
    first: Bytes,
    io: IO,
    moved: Arc<Activity>,
}

impl<IO: AsyncRead + Unpin> AsyncRead for Rewind<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.first.has_remaining() {
            let n = self.first.len().min(buf.remaining());
            buf.put_slice(&self.first[..n]);
            self.first.advance(n);
            if !self.first.has_remaining() {
                // Gives the buffer back.
                self.first = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.moved.moved();
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Rewind<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved.moved();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.moved.moved();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
