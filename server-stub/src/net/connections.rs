//! Connections: accepted here, sent to the push stream writer
//! (`bare_stream`) or to hyper and the router by their first bytes, and
//! drained at shutdown.
//! At shutdown no connection is taken any more, push streams end, requests
//! in flight get a bounded time to finish, and the server stops; an open
//! stream must not hold a stopping server for ever.
//!
//! A client gets a bounded time for its request head and its body, an idle
//! or stopping connection a bounded time to close, and connections are
//! capped in total and per client (see `admission`): a client that opens
//! sockets and says nothing (slowloris) cannot take them all.

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
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use crate::config::ConnLimits;
use crate::net::admission::{self, Admitted, Slot, Tracker};
use crate::net::bare_stream::{self, Route};
use crate::net::body_deadline::Deadline;
use crate::state::app::AppState;

/// How long requests in flight may take to finish once shutdown begins.
pub const GRACE: Duration = Duration::from_secs(10);
/// A connection on which nothing has moved for this long is closed once
/// no request is in flight on it: agents poll minutes apart and
/// reconnect, and open sockets are what a server runs out of first. (A
/// push stream through hyper writes a heartbeat every 15 s.) Checked once
/// per period, not per request: a timer per request cost 15 % of the
/// unchanged-poll rate. (Between requests on HTTP/1, hyper's head
/// timeout closes an idle connection sooner.)
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
    tls: Option<crate::net::tls::Acceptor>,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let router = crate::http::router::router(state.clone());
    let tracker = Tracker::new(
        ConnLimits::clone(&state.conn_limits),
        Arc::clone(&state.trusted_proxies),
    );
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
        let (slot, reserved) = match tracker.admit(peer.ip()) {
            Ok(Admitted::Any(slot)) => (slot, false),
            Ok(Admitted::Reserved(slot)) => (slot, true),
            Err(_) => {
                // Said without waiting, and closed: holding the socket any
                // longer is what the cap prevents. (Over TLS the words
                // would be noise; the close says it.)
                if tls.is_none() {
                    let _ = tcp.try_write(admission::BUSY);
                }
                continue;
            }
        };
        keepalive(&tcp);
        let limits = tracker.limits();
        let conn = Connection {
            state: state.clone(),
            router: router.clone(),
            stop: stop_rx.clone(),
            head_by: tokio::time::Instant::now() + limits.head_timeout,
            limits: Limits {
                head: limits.head_timeout,
                body: limits.body_timeout,
                grace: limits.close_grace,
            },
            reserved,
            _slot: slot,
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
    /// When the first request head must have arrived, TLS included.
    head_by: tokio::time::Instant,
    limits: Limits,
    /// Taken in a reserved slot: only health and admin requests are served.
    reserved: bool,
    _slot: Slot,
    _alive: mpsc::Sender<()>,
}

/// The time limits a connection needs, copied out of `ConnLimits`.
#[derive(Clone, Copy)]
struct Limits {
    head: Duration,
    body: Duration,
    grace: Duration,
}

/// A request line longer than this is not waited for in a reserved slot.
const MAX_LINE: usize = 8 * 1024;

/// What the first bytes of a connection say to do with it.
enum First {
    Route(Route),
    /// A reserved slot, and not a request for one: answered 503.
    Busy,
}

impl Connection {
    /// TLS first, within the time a request head gets; a client that
    /// never completes it does not delay shutdown.
    async fn handshake(mut self, tls: crate::net::tls::Acceptor, tcp: TcpStream, peer: SocketAddr) {
        let accepted = tokio::select! {
            a = tokio::time::timeout_at(self.head_by, tls.accept(tcp)) => a,
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
        let reserved = self.reserved;
        let routing = tokio::time::timeout_at(self.head_by, async {
            loop {
                match tcp.read_buf(&mut first).await {
                    Ok(0) | Err(_) => return None,
                    Ok(_) => {}
                }
                if reserved {
                    // Near the cap: served only if the request line says
                    // it is a health check or an admin's.
                    match admission::request_line(&first) {
                        Some(line) if admission::reserved_for(line) => {}
                        Some(_) => return Some(First::Busy),
                        None if first.len() >= MAX_LINE => return None,
                        None => continue,
                    }
                }
                match bare_stream::route(&first) {
                    Route::Unsure => continue,
                    r => return Some(First::Route(r)),
                }
            }
        });
        let routed = tokio::select! {
            r = routing => r,
            // A client that has said nothing yet does not delay shutdown.
            _ = self.stop.changed() => return,
        };
        match routed {
            Ok(Some(First::Busy)) => busy(tcp, self.limits.grace).await,
            Ok(Some(First::Route(Route::Push))) => {
                let mut stop = self.stop.clone();
                let Connection {
                    state,
                    head_by,
                    _alive,
                    _slot,
                    ..
                } = self;
                tokio::select! {
                    () = bare_stream::serve(tcp, first, state, head_by) => {}
                    // The hub ends open streams at shutdown; this ends one
                    // still reading its request head.
                    _ = stop.changed() => {}
                }
            }
            Ok(Some(First::Route(_))) => {
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
        let activity = Arc::clone(&io.moved);
        let router = self.router.clone();
        let proxies = Arc::clone(&self.state.trusted_proxies);
        let limits = self.limits;
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            // The client's address is where inbound push calls go back to:
            // the peer's, or through a trusted balancer the one it names.
            let client = proxies.client(peer, req.headers());
            if proxies.forwarded_https(peer, req.headers()) {
                req.extensions_mut()
                    .insert(crate::http::extract::ForwardedHttps);
            }
            req.extensions_mut().insert(ConnectInfo(client));
            let req = req.map(|b| axum::body::Body::new(Deadline::new(b, limits.body)));
            let handling = activity.handling();
            let served = tower::ServiceExt::oneshot(router.clone(), req);
            async move {
                let response = served.await;
                drop(handling);
                response
            }
        });
        let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
        // Without a timer hyper's head timeout never fires, and a client
        // that sends half a head holds its connection for ever.
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.head);
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
                // A request whose handler still works is not idle: the
                // wait is the server's, not the client's.
                _ = check.tick() => if moved.idle_for() >= IDLE && !moved.is_handling() { break },
            }
        }
        // Shutdown or idle: the request in flight finishes, then the
        // connection closes instead of waiting for another; but not for
        // longer than the grace, or a client that stalls mid-request
        // would keep it.
        conn.as_mut().graceful_shutdown();
        match tokio::time::timeout(limits.grace, conn).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::trace!(error = %e, "connection ended with an error"),
            Err(_) => tracing::debug!(%peer, "connection cut: its request did not finish in time"),
        }
    }
}

/// Answers 503 to a request that may not use a reserved slot, then reads
/// what the client still sends, briefly, so that the close does not reset
/// the answer away before the client reads it.
async fn busy<IO: AsyncRead + AsyncWrite + Unpin>(mut tcp: IO, grace: Duration) {
    use tokio::io::AsyncWriteExt;
    let linger = grace.min(Duration::from_secs(1));
    let answered = async {
        tcp.write_all(admission::BUSY).await?;
        tcp.shutdown().await
    };
    if !matches!(tokio::time::timeout(linger, answered).await, Ok(Ok(()))) {
        return;
    }
    let mut scrap = [0u8; 1024];
    let _ = tokio::time::timeout(linger, async {
        while matches!(tcp.read(&mut scrap).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// When a connection last moved a byte either way, and how many of its
/// requests are in their handlers.
struct Activity {
    since: std::time::Instant,
    /// Milliseconds from `since`.
    last_ms: AtomicU64,
    handling: AtomicU64,
}

impl Default for Activity {
    fn default() -> Self {
        Activity {
            since: std::time::Instant::now(),
            last_ms: AtomicU64::new(0),
            handling: AtomicU64::new(0),
        }
    }
}

/// A request in its handler, counted until dropped.
struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Activity {
    fn moved(&self) {
        let ms = u64::try_from(self.since.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn handling(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::Relaxed);
        Handling(Arc::clone(self))
    }

    fn is_handling(&self) -> bool {
        self.handling.load(Ordering::Relaxed) > 0
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
