//! Push streams on a bare connection. A stream lasts for hours and carries a
//! few bytes, but hyper keeps about 16 KB of buffers for every connection it
//! serves: for ten thousand desktops, most of the server's memory. A fresh
//! connection whose first request is the push stream is therefore served
//! here, from its raw socket, with nothing held but the socket and the
//! stream's registration. The same request on a connection hyper already
//! serves (a proxy reusing its connections) goes to the router's handler,
//! which answers the same bytes through `push::stream::open`.

use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use herald_protocol::{ErrorBody, PUSH_PATH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::{public_text, Error};
use crate::push::stream::{events, open, Ask};
use crate::state::app::AppState;
use crate::state::hub::Registration;

/// A request head larger than this is refused; the agent's is a few
/// hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// A client that takes no bytes for this long is gone or stuck.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the first bytes of a connection send it.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// A push stream request: served here.
    Push,
    /// Anything else: hyper.
    Http,
    /// Too few bytes to tell.
    Unsure,
}

pub fn route(first: &[u8]) -> Route {
    let prefix = [b"GET ".as_slice(), PUSH_PATH.as_bytes()].concat();
    if first.len() <= prefix.len() {
        return if prefix.starts_with(first) {
            Route::Unsure
        } else {
            Route::Http
        };
    }
    if first.starts_with(&prefix) && matches!(first[prefix.len()], b'?' | b' ') {
        Route::Push
    } else {
        Route::Http
    }
}

/// What the stream needs from the request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    pub authorization: Option<Vec<u8>>,
    pub host: Option<String>,
    pub changes: bool,
    pub last_event: Option<String>,
}

/// Parses a complete head; `Ok(None)` while it is incomplete.
pub fn parse_head(bytes: &[u8]) -> Result<Option<Head>, Error> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Partial) => return Ok(None),
        Ok(httparse::Status::Complete(_)) => {}
        Err(e) => return Err(Error::bad(format!("malformed request: {e}"))),
    }
    let target = req.path.unwrap_or_default();
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if req.method != Some("GET") || path != PUSH_PATH {
        return Err(Error::NotFound("no such endpoint".into()));
    }
    let authorization = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("authorization"))
        .map(|h| h.value.to_vec());
    let param = |name: &str| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let last_event = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("last-event-id"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .map(str::to_owned);
    Ok(Some(Head {
        authorization,
        host: param("host"),
        changes: Ask::wants_changes(param(herald_protocol::PUSH_CHANGES_PARAM).as_deref()),
        last_event,
    }))
}

/// Serves a connection whose first bytes (`head`, already read) ask for the
/// push stream, until the stream ends or the agent goes. A client that has
/// not sent its whole request head by `head_by` is dropped.
pub(crate) async fn serve<IO: AsyncRead + AsyncWrite + Unpin>(
    mut tcp: IO,
    mut head: BytesMut,
    st: AppState,
    head_by: tokio::time::Instant,
) {
    let parsed = tokio::time::timeout_at(head_by, async {
        loop {
            if let Some(h) = parse_head(&head)? {
                return Ok(h);
            }
            if head.len() >= MAX_HEAD {
                return Err(Error::bad("request head too large"));
            }
            head.reserve(1024);
            match tcp.read_buf(&mut head).await {
                Ok(0) | Err(_) => return Err(Error::bad("the request ended early")),
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err(Error::bad("request head not received in time")));
    drop(head);
    let opened = match parsed {
        Ok(h) => {
            let token = crate::http::extract::bearer_in(h.authorization.as_deref());
            let ask = Ask {
                host: h.host.as_deref(),
                changes: h.changes,
                last_event: h.last_event.as_deref(),
            };
            open(&st, token, ask).await
        }
        Err(e) => Err(e),
    };
    drop(st);
    let reg = match opened {
        Ok(reg) => reg,
        Err(e) => {
            let _ = refuse(&mut tcp, &e).await;
            return;
        }
    };
    if let Err(e) = stream(&mut tcp, reg).await {
        tracing::debug!(error = %e, "push stream ended");
    }
}

/// The answer to a request that gets no stream, as the router would give it.
async fn refuse(tcp: &mut (impl AsyncWrite + Unpin), e: &Error) -> std::io::Result<()> {
    let status = e.status();
    if status.is_server_error() {
        tracing::error!(error = %e, "push stream request failed");
    }
    let body = serde_json::to_vec(&ErrorBody {
        error: public_text(e),
    })
    .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    );
    let write = async {
        tcp.write_all(head.as_bytes()).await?;
        tcp.write_all(&body).await?;
        tcp.shutdown().await
    };
    tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// The stream on a bare connection: its body runs until the connection
/// closes, so it needs neither a length nor chunks.
async fn stream(
    tcp: &mut (impl AsyncRead + AsyncWrite + Unpin),
    reg: Registration,
) -> std::io::Result<()> {
    let (mut rd, mut wr) = tokio::io::split(tcp);
    send(&mut wr, b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n").await?;
    let events = events(reg);
    tokio::pin!(events);
    let mut scrap = [0u8; 64];
    loop {
        tokio::select! {
            said = events.next() => match said {
                Some(bytes) => send(&mut wr, &bytes).await?,
                None => break,
            },
            // The agent sends nothing more; end of input means it is gone.
            read = rd.read(&mut scrap) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            },
        }
    }
    wr.shutdown().await
}

async fn send(wr: &mut (impl AsyncWriteExt + Unpin), bytes: &[u8]) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(bytes))
        .await
        .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_the_first_bytes() {
        assert_eq!(route(b"GET /api/v1/push?host=pc HTTP/1.1\r\n"), Route::Push);
        assert_eq!(route(b"GET /api/v1/push HTTP/1.1\r\n"), Route::Push);
        assert_eq!(route(b"GET /api/v1/pushy HTTP/1.1\r\n"), Route::Http);
        assert_eq!(route(b"POST /api/v1/poll HTTP/1.1\r\n"), Route::Http);
        assert_eq!(route(b"PRI * HTTP/2.0\r\n"), Route::Http);
        assert_eq!(route(b"GET /api/v1/pu"), Route::Unsure);
        assert_eq!(route(b"GET /api/v1/push"), Route::Unsure);
        assert_eq!(route(b""), Route::Unsure);
    }

    #[test]
    fn reads_the_token_and_the_host_and_refuses_the_rest() {
        let head = parse_head(
            b"GET /api/v1/push?x=1&host=pc%2D1 HTTP/1.1\r\nAUTHORIZATION: Bearer t\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(head.authorization.as_deref(), Some(b"Bearer t".as_slice()));
        assert_eq!(head.host.as_deref(), Some("pc-1"));
        assert!(!head.changes);
        let head = parse_head(
            b"GET /api/v1/push?host=pc&changes=1 HTTP/1.1\r\nLast-Event-ID: ab:7\r\n\r\n",
        )
        .unwrap()
        .unwrap();
        assert!(head.changes);
        assert_eq!(head.last_event.as_deref(), Some("ab:7"));
        assert_eq!(
            parse_head(b"GET /api/v1/push HTTP/1.1\r\nHost: x\r\n").unwrap(),
            None
        );
        assert!(parse_head(b"GET /api/v1/push?host=a HTTP/1.1\r\n\x01\r\n\r\n").is_err());
        assert!(matches!(
            parse_head(b"GET /api/v1/pushed HTTP/1.1\r\n\r\n"),
            Err(Error::NotFound(_))
        ));
    }
}
