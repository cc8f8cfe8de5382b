//! One exchange, now: at a relay, a bundle up and the central server's
//! answer down, by HTTPS or by mail; at the central server, the mailbox
//! read and a bundle mailed to every site by mail. `herald-server
//! exchange` asks the running server for one, so a cron job or the Windows
//! task scheduler drives it; `[relay] every` drives it from inside.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use herald_protocol::steps::{Outcome, Report};
use herald_protocol::{ExchangeReport, Transport};

use crate::config::{MailConfig, RelayConfig};
use crate::domain::sites;
use crate::domain::sites::bundle;
use crate::domain::sites::exchange_flow::{self, Received};
use crate::domain::sites::exchange_log::{self, Entry};
use crate::error::Error;
use crate::outbound::mail::{self, Inbox};
use crate::state::app::AppState;

struct Run {
    lines: Vec<String>,
    ok: bool,
}

impl Run {
    fn new() -> Self {
        Run {
            lines: Vec::new(),
            ok: true,
        }
    }

    fn say(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }

    fn failed(&mut self, line: impl Into<String>) {
        self.ok = false;
        self.lines.push(line.into());
    }

    fn received(&mut self, r: &Received) {
        if r.is_rejected() {
            self.ok = false;
        }
        self.say(r.line());
    }

    fn report(self) -> ExchangeReport {
        ExchangeReport {
            ok: self.ok,
            lines: self.lines,
        }
    }
}

/// One exchange now, whichever end this server is.
pub async fn run(st: &AppState) -> Result<ExchangeReport, Error> {
    let setup = st.exchange.clone();
    match &setup.relay {
        Some(relay) => relay_exchange(st, relay, setup.mail.as_ref()).await,
        None => central_exchange(st, setup.mail.as_ref()).await,
    }
}

/// Logs a failed attempt against `site`, for the trace and the admin side.
async fn attempt_failed(st: &AppState, site: &str, what: String) -> Result<(), Error> {
    let site = site.to_owned();
    st.write(move |c| {
        if sites::get(c, &site)?.is_some() {
            sites::failed(c, &site, &what)?;
        }
        let entry = Entry {
            site: &site,
            event: "exchange",
            number: None,
            outcome: "failed",
            detail: &what,
        };
        exchange_log::record(c, &entry, Utc::now())
    })
    .await
}

fn http_client(ca: Option<&PathBuf>) -> Result<reqwest::Client, String> {
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(60));
    if let Some(ca) = ca {
        let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("{}: {e}", ca.display()))?
        {
            b = b.add_root_certificate(cert);
        }
    }
    b.build().map_err(|e| e.to_string())
}

fn exchange_url(base: &str) -> String {
    format!(
        "{}{}",
        base.trim_end_matches('/'),
        crate::exchange::SITE_EXCHANGE_PATH
    )
}

async fn relay_exchange(
    st: &AppState,
    r: &RelayConfig,
    mail_cfg: Option<&MailConfig>,
) -> Result<ExchangeReport, Error> {
    let key = bundle::signing_key(&r.key).map_err(|e| Error::bad(format!("[relay] key: {e}")))?;
    let site = r.site.clone();
    let mut run = Run::new();
    match r.transport {
        Transport::Https => {
            let url = exchange_url(r.central_url.as_deref().unwrap_or_default());
            let (k, s) = (key.clone(), site.clone());
            let (number, text) = st
                .write(move |c| exchange_flow::relay_seal(c, &s, &k, Utc::now()))
                .await?;
            run.say(format!("sent #{number} to the central server by HTTPS"));
            let answer = match http_client(r.central_ca.as_ref()) {
                Ok(client) => post(&client, &url, &site, text).await,
                Err(e) => Err(format!("cannot make an HTTP client: {e}")),
            };
            match answer {
                Ok(reply) => {
                    let received = receive_down(st, &site, reply).await?;
                    run.received(&received);
                }
                Err(e) => {
                    let line = format!("the central server at {url} did not take it: {e}");
                    attempt_failed(st, &site, line.clone()).await?;
                    run.failed(line);
                }
            }
        }
        Transport::Mail => {
            let Some(cfg) = mail_cfg else {
                return Err(Error::bad(
                    "[relay] transport = \"mail\" needs a [mail] section",
                ));
            };
            let to = r.central_mail.clone().unwrap_or_default();
            read_mailbox(st, cfg, &site, &mut run, |st, text| {
                let site = site.clone();
                async move { receive_down(&st, &site, text).await }
            })
            .await?;
            let (k, s) = (key.clone(), site.clone());
            let (number, text) = st
                .write(move |c| exchange_flow::relay_seal(c, &s, &k, Utc::now()))
                .await?;
            mail_out(st, cfg, &site, &to, number, "up", text, &mut run).await?;
        }
    }
    Ok(run.report())
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    site: &str,
    text: String,
) -> Result<String, String> {
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain")
        .header(crate::exchange::SITE_HEADER, site)
        .body(text)
        .send()
        .await
        .map_err(|e| herald_protocol::steps::one_line(&e))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        let said = serde_json::from_str::<herald_protocol::ErrorBody>(&body)
            .map(|b| b.error)
            .unwrap_or_else(|_| body.chars().take(200).collect());
        return Err(format!("{status}: {said}"));
    }
    Ok(body)
}

/// Applies a bundle from the central server and tells the site's agents of
/// what changed.
async fn receive_down(st: &AppState, site: &str, text: String) -> Result<Received, Error> {
    let received = crate::exchange::incoming::relay(st, site, text).await?;
    if let Received::Applied { applied, .. } = &received {
        if applied.prefs_changed {
            st.reload_prefs().await;
        }
        crate::push::announce::announce(st, applied.changed.clone()).await;
    }
    Ok(received)
}

/// Applies every bundle in the mailbox with `apply`, then deletes those
/// mails (rejected ones too: they would be refused again each time). A
/// mailbox that cannot be read is `site`'s failure (at a relay, the
/// central server's peer; "-" at the central server, whose mailbox is its
/// own).
async fn read_mailbox<F, Fut>(
    st: &AppState,
    cfg: &MailConfig,
    site: &str,
    run: &mut Run,
    apply: F,
) -> Result<(), Error>
where
    F: Fn(AppState, String) -> Fut,
    Fut: std::future::Future<Output = Result<Received, Error>>,
{
    let mut inbox = match Inbox::open(cfg).await {
        Ok(i) => i,
        Err(e) => {
            let line = format!("cannot read the mailbox {}: {e}", cfg.imap_user);
            attempt_failed(st, site, line.clone()).await?;
            run.failed(line);
            return Ok(());
        }
    };
    let mails = match inbox.bundles().await {
        Ok(m) => m,
        Err(e) => {
            run.failed(format!("cannot read the mailbox {}: {e}", cfg.imap_user));
            inbox.close().await;
            return Ok(());
        }
    };
    if mails.is_empty() {
        run.say(format!("no bundle in the mailbox {}", cfg.imap_user));
    }
    let mut done = Vec::new();
    for m in mails {
        let received = apply(st.clone(), m.text).await?;
        run.received(&received);
        done.push(m.uid);
    }
    if let Err(e) = inbox.delete(&done).await {
        run.failed(format!("cannot delete processed mails: {e}"));
    }
    inbox.close().await;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn mail_out(
    st: &AppState,
    cfg: &MailConfig,
    site: &str,
    to: &str,
    number: i64,
    direction: &str,
    text: String,
    run: &mut Run,
) -> Result<(), Error> {
    let subject = format!("Herald bundle {site} #{number} {direction}");
    match mail::send(cfg, to, &subject, text).await {
        Ok(()) => run.say(format!("mailed #{number} to {to}")),
        Err(e) => {
            let line = format!("cannot mail #{number} to {to}: {e}");
            attempt_failed(st, site, line.clone()).await?;
            run.failed(line);
        }
    }
    Ok(())
}

async fn central_exchange(
    st: &AppState,
    mail_cfg: Option<&MailConfig>,
) -> Result<ExchangeReport, Error> {
    let mut run = Run::new();
    let peers = st.read(sites::all).await?;
    if peers.is_empty() {
        run.say("no site registered (herald-server site add NAME)");
        return Ok(run.report());
    }
    let by_mail: Vec<_> = peers
        .iter()
        .filter(|p| p.transport == Transport::Mail)
        .collect();
    for p in peers.iter().filter(|p| p.transport == Transport::Https) {
        run.say(format!("site {}: by HTTPS, its relay calls in", p.name));
    }
    if by_mail.is_empty() {
        return Ok(run.report());
    }
    let Some(cfg) = mail_cfg else {
        run.failed("sites by mail, but no [mail] section in the server's config");
        return Ok(run.report());
    };
    read_mailbox(st, cfg, "-", &mut run, |st, text| async move {
        crate::exchange::incoming::central_mail(&st, text).await
    })
    .await?;
    for p in by_mail {
        let name = p.name.clone();
        let (number, text) = st
            .write(move |c| exchange_flow::central_seal(c, &name, Utc::now()))
            .await?;
        let to = p.mail_address.clone().unwrap_or_default();
        mail_out(st, cfg, &p.name, &to, number, "down", text, &mut run).await?;
    }
    Ok(run.report())
}

/// `exchange test`: the way to the other side, step by step.
pub async fn test(st: &AppState) -> Report {
    let setup = st.exchange.clone();
    match (&setup.relay, &setup.mail) {
        (Some(r), _) if r.transport == Transport::Https => https_test(r).await,
        (_, Some(cfg)) => mail::test(cfg).await,
        (None, None) => {
            let mut report = Report::default();
            report.add(
                "config",
                Outcome::Ok(
                    "this is a central server without a mailbox: sites by HTTPS call in, nothing to test from here"
                        .into(),
                ),
            );
            report
        }
        (Some(_), None) => {
            let mut report = Report::default();
            report.add("config", Outcome::Failed("no [mail] section".into()));
            report
        }
    }
}

async fn https_test(r: &RelayConfig) -> Report {
    let base = r.central_url.clone().unwrap_or_default();
    let ca = r.central_ca.clone();
    let mut report = Report::default();
    let target = reqwest::Url::parse(&base)
        .map_err(|e| format!("[relay] central_url {base:?}: {e}"))
        .and_then(|u| {
            let host = u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned());
            match (host, u.port_or_known_default()) {
                (Some(h), Some(p)) => Ok((h, p)),
                _ => Err(format!("[relay] central_url {base:?} names no host")),
            }
        });
    let (host, port) = match target {
        Ok(t) => t,
        Err(e) => {
            report.add("address", Outcome::Failed(e));
            return report;
        }
    };
    match tokio::net::lookup_host((host.as_str(), port)).await {
        Ok(a) => report.add(
            "dns",
            Outcome::Ok(format!("{host} is {:?}", a.collect::<Vec<_>>())),
        ),
        Err(e) => report.add("dns", Outcome::Failed(format!("{host}: {e}"))),
    }
    if report.failed().is_none() {
        let tcp = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect((host.as_str(), port)),
        )
        .await;
        match tcp {
            Ok(Ok(_)) => report.add("tcp", Outcome::Ok(format!("connected to {host}:{port}"))),
            Ok(Err(e)) => report.add("tcp", Outcome::Failed(format!("{host}:{port}: {e}"))),
            Err(_) => report.add(
                "tcp",
                Outcome::Failed(format!("{host}:{port}: no answer in 10 s")),
            ),
        }
    }
    if report.failed().is_some() {
        report.add("site-key", Outcome::Skipped(String::new()));
        return report;
    }
    let url = format!(
        "{}{}",
        base.trim_end_matches('/'),
        crate::exchange::SITE_KEY_PATH
    );
    let fetched = match http_client(ca.as_ref()) {
        Ok(c) => match c.get(&url).send().await {
            Ok(resp) if resp.status().is_success() => resp.text().await.map_err(|e| e.to_string()),
            Ok(resp) => Err(format!("{url} answered {}", resp.status())),
            Err(e) => Err(herald_protocol::steps::one_line(&e)),
        },
        Err(e) => Err(e),
    };
    let key = match fetched {
        Ok(k) => {
            report.add("https", Outcome::Ok(format!("{url} answered")));
            k
        }
        Err(e) => {
            report.add("https", Outcome::Failed(e));
            report.add("site-key", Outcome::Skipped(String::new()));
            return report;
        }
    };
    if key.trim() == r.central_key.trim() {
        report.add(
            "site-key",
            Outcome::Ok("the central server's key is the one in [relay] central_key".into()),
        );
    } else {
        report.add(
            "site-key",
            Outcome::Failed(
                "the central server signs with another key than [relay] central_key: its bundles would be refused"
                    .into(),
            ),
        );
    }
    report
}
