//! `test-connection`: the way from a desktop to the server, one step at a
//! time (name, address, connection, TLS, HTTP), so that a help desk reads
//! which step fails and why instead of one error from the end of the way.
//! The token, the poll and push are checked by the caller, which knows how
//! the agent signs in; the steps are recorded here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use herald_protocol::Health;

/// How long each network step may take: as long as a poll's connection.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

pub use herald_protocol::steps::{Outcome, Report, Step};

/// Where the server is, from its address: host, port and whether TLS.
pub fn target(server: &str) -> Result<(String, u16, bool), String> {
    let url = reqwest::Url::parse(server)
        .map_err(|e| format!("the server address {server:?} is not a URL: {e}"))?;
    let tls = match url.scheme() {
        "https" => true,
        "http" => false,
        other => {
            return Err(format!(
                "the server address uses {other}:, not http: or https:"
            ))
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| format!("the server address {server:?} names no host"))?;
    // Url keeps the brackets of an IPv6 address; resolving wants it bare.
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url
        .port_or_known_default()
        .unwrap_or(if tls { 443 } else { 80 });
    Ok((host, port, tls))
}

/// DNS, TCP, TLS and HTTP, up to the server's health answer.
pub async fn reach(server: &str, ca: Option<&PathBuf>) -> Report {
    let mut report = Report::default();
    let (host, port, tls) = match target(server) {
        Ok(t) => t,
        Err(e) => {
            report.add("address", Outcome::Failed(e));
            return report;
        }
    };
    let addrs = resolve(&host, port).await;
    report.add(
        "dns",
        addrs.as_ref().map_or_else(
            |e| Outcome::Failed(e.clone()),
            |a| Outcome::Ok(shown(&host, a)),
        ),
    );
    let addrs = addrs.unwrap_or_default();
    if report.failed().is_none() {
        report.add("tcp", connect(&addrs).await);
    }
    if report.failed().is_some() {
        for step in ["tls", "http"] {
            report.add(step, Outcome::Skipped(String::new()));
        }
        return report;
    }
    let health = health(server, ca).await;
    match (&health, tls) {
        (Err(Fault::Tls(e)), _) => report.add("tls", Outcome::Failed(e.clone())),
        (_, true) => report.add("tls", Outcome::Ok("the certificate verifies".into())),
        (_, false) => report.add(
            "tls",
            Outcome::Skipped("not used: the server address is http://".into()),
        ),
    }
    let http = match health {
        Ok(h) => Outcome::Ok(format!(
            "herald-server {}, API {}, database {}",
            h.server_version, h.api_version, h.database
        )),
        Err(Fault::Http(e) | Fault::Tls(e)) => Outcome::Failed(e),
    };
    report.add("http", http);
    report
}

fn shown(host: &str, addrs: &[SocketAddr]) -> String {
    let list: Vec<String> = addrs.iter().take(4).map(|a| a.ip().to_string()).collect();
    format!("{host} is {}", list.join(", "))
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    match tokio::time::timeout(STEP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Err(_) => Err(format!(
            "{host}: no answer within {} s",
            STEP_TIMEOUT.as_secs()
        )),
        Ok(Err(e)) => Err(format!("{host}: {e}")),
        Ok(Ok(a)) => {
            let a: Vec<SocketAddr> = a.collect();
            if a.is_empty() {
                Err(format!("{host}: no address"))
            } else {
                Ok(a)
            }
        }
    }
}

/// The first address that takes a connection, as the HTTP client would.
async fn connect(addrs: &[SocketAddr]) -> Outcome {
    let mut why = Vec::new();
    for a in addrs {
        let started = Instant::now();
        match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(a)).await {
            Ok(Ok(_)) => {
                return Outcome::Ok(format!(
                    "connected to {a} in {} ms",
                    started.elapsed().as_millis()
                ))
            }
            Ok(Err(e)) => why.push(format!("{a}: {e}")),
            Err(_) => why.push(format!(
                "{a}: no answer within {} s",
                STEP_TIMEOUT.as_secs()
            )),
        }
    }
    Outcome::Failed(why.join("; "))
}

enum Fault {
    Tls(String),
    Http(String),
}

async fn health(server: &str, ca: Option<&PathBuf>) -> Result<Health, Fault> {
    let builder = reqwest::Client::builder()
        .connect_timeout(STEP_TIMEOUT)
        .timeout(STEP_TIMEOUT)
        .user_agent(concat!("herald-agent/", env!("CARGO_PKG_VERSION")));
    let client = crate::tls::trust(builder, ca)
        .map_err(|e| Fault::Tls(e.to_string()))?
        .build()
        .map_err(|e| Fault::Tls(crate::sync::chain(&e)))?;
    let url = format!("{}/api/v1/health", server.trim_end_matches('/'));
    let resp = client.get(&url).send().await.map_err(|e| {
        match crate::tls::refused_certificate(&e) {
            Some(why) => Fault::Tls(format!(
                "the certificate does not verify ({why}): give the CA that issued it as server_ca, HERALD_SERVER_CA or the installer's SERVER_CA"
            )),
            None if server.starts_with("https") && crate::sync::chain(&e).contains("tls") => {
                Fault::Tls(crate::sync::chain(&e))
            }
            None => Fault::Http(crate::sync::chain(&e)),
        }
    })?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| Fault::Http(crate::sync::chain(&e)))?;
    if !status.is_success() && status.as_u16() != 503 {
        return Err(Fault::Http(format!(
            "{url} answered {status}: {}",
            crate::sync::error_reason(&body)
        )));
    }
    let health: Health = serde_json::from_slice(&body).map_err(|_| {
        Fault::Http(format!(
            "{url} answered {status}, but not as a Herald server: {}",
            crate::sync::error_reason(&body)
        ))
    })?;
    if !health.ready {
        return Err(Fault::Http(format!(
            "the server is up but cannot serve: its database: {}",
            health.database
        )));
    }
    Ok(health)
}

/// Whether the push stream opens: its `ready` event within the step's time.
pub async fn stream(endpoint: &crate::sync::Endpoint) -> Outcome {
    let http = match crate::push::stream::client(endpoint) {
        Ok(h) => h,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut tx = Some(tx);
    let started = Instant::now();
    let mut report = |e| {
        if matches!(e, crate::push::PushEvent::Connected) {
            if let Some(tx) = tx.take() {
                let _ = tx.send(());
            }
        }
    };
    let mut last = None;
    let hold = crate::push::stream::hold(&http, endpoint, &mut last, &mut report);
    tokio::select! {
        reason = hold => Outcome::Failed(reason),
        _ = rx => Outcome::Ok(format!("the stream opened in {} ms", started.elapsed().as_millis())),
        () = tokio::time::sleep(STEP_TIMEOUT) => Outcome::Failed(format!("no ready event within {} s", STEP_TIMEOUT.as_secs())),
    }
}

/// Whether something takes connections at the inbound push address the
/// agent is set to listen on (the running agent, if all is well).
pub async fn listener(listen: Option<&str>) -> Outcome {
    let Some(listen) = listen else {
        return Outcome::Failed(
            "the server calls agents back, but this agent has no push_listen address (config file, HERALD_PUSH_LISTEN or the installer's PUSH_LISTEN)".into(),
        );
    };
    let mut addr = match crate::config::parse_listen(listen) {
        Ok(a) => a,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    // A listener on every address is reached on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    match tokio::time::timeout(STEP_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Outcome::Ok(format!("the agent listens on {addr}")),
        Ok(Err(e)) => Outcome::Failed(format!(
            "nothing listens on {addr} ({e}): is 'herald-agent run' started?"
        )),
        Err(_) => Outcome::Failed(format!(
            "{addr}: no answer within {} s",
            STEP_TIMEOUT.as_secs()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_gives_host_port_and_tls() {
        assert_eq!(
            target("https://herald.example.com").unwrap(),
            ("herald.example.com".into(), 443, true)
        );
        assert_eq!(
            target("http://[::1]:8080/").unwrap(),
            ("::1".into(), 8080, false)
        );
        assert!(target("ftp://x").unwrap_err().contains("ftp"));
        assert!(target("herald").is_err());
    }

    #[test]
    fn after_a_failure_the_rest_is_skipped_and_named() {
        let mut r = Report::default();
        r.add("dns", Outcome::Ok("a".into()));
        r.add("tcp", Outcome::Failed("refused".into()));
        r.add("http", Outcome::Ok("never".into()));
        assert_eq!(r.failed().unwrap().step, "tcp");
        assert_eq!(
            r.steps[2].outcome,
            Outcome::Skipped("not checked: tcp failed".into())
        );
        let lines = r.lines();
        assert!(lines[1].contains("FAILED  refused"), "{lines:?}");
    }

    #[tokio::test]
    async fn a_closed_port_fails_at_tcp_and_names_the_address() {
        // A port just freed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let r = reach(&format!("http://127.0.0.1:{port}"), None).await;
        let failed = r.failed().unwrap();
        assert_eq!(failed.step, "tcp");
        assert!(
            matches!(&failed.outcome, Outcome::Failed(d) if d.contains(&format!("127.0.0.1:{port}"))),
            "{r:?}"
        );
        assert_eq!(r.steps.last().unwrap().step, "http");
    }

    #[tokio::test]
    async fn the_inbound_listener_is_found_on_loopback_when_it_listens_everywhere() {
        let l = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let found = listener(Some(&format!("0.0.0.0:{port}"))).await;
        assert!(
            matches!(&found, Outcome::Ok(d) if d.contains("127.0.0.1")),
            "{found:?}"
        );
        drop(l);
        let gone = listener(Some(&format!("0.0.0.0:{port}"))).await;
        assert!(
            matches!(&gone, Outcome::Failed(d) if d.contains("herald-agent run")),
            "{gone:?}"
        );
        assert!(matches!(
            listener(Some("no-port")).await,
            Outcome::Failed(_)
        ));
        assert!(matches!(listener(None).await, Outcome::Failed(d) if d.contains("push_listen")));
    }

    #[tokio::test]
    async fn a_web_server_that_is_not_herald_fails_at_http() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        tokio::spawn(async move {
            // The TCP step's connection, then the health request's.
            for _ in 0..2 {
                let (mut s, _) = l.accept().await.unwrap();
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let body = "<html><title>It works</title></html>";
                let _ = s
                    .write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/html\r\n\r\n{body}", body.len()).as_bytes())
                    .await;
            }
        });
        let r = reach(&format!("http://127.0.0.1:{port}"), None).await;
        let failed = r.failed().expect("a failure");
        assert_eq!(failed.step, "http", "{r:?}");
        assert!(
            matches!(&failed.outcome, Outcome::Failed(d) if d.contains("not as a Herald server")),
            "{r:?}"
        );
    }
}
