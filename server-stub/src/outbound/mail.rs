//! Bundles by mail: sent by SMTP, read by IMAP from a mailbox kept for
//! Herald. Mails that hold no bundle are left as they are; processed ones
//! are deleted by UID, so a mail flagged for deletion by someone else is
//! not swept away with them.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use herald_protocol::steps::{Outcome, Report};
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::{MailConfig, Security};
use crate::domain::sites::bundle;

/// How long one network step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(20);

impl MailConfig {
    fn smtp_port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.smtp_security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        })
    }

    fn imap_port(&self) -> u16 {
        self.imap_port.unwrap_or(match self.imap_security {
            Security::Tls => 993,
            _ => 143,
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{step}: {reason}")]
pub struct MailError {
    pub step: &'static str,
    pub reason: String,
}

fn fail(step: &'static str) -> impl Fn(String) -> MailError {
    move |reason| MailError { step, reason }
}

async fn timed<T, E: std::fmt::Display>(
    step: &'static str,
    f: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, MailError> {
    match tokio::time::timeout(STEP_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(fail(step)(e.to_string())),
        Err(_) => Err(fail(step)(format!(
            "no answer within {} s",
            STEP_TIMEOUT.as_secs()
        ))),
    }
}

fn transport(cfg: &MailConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.smtp_host)
        .port(cfg.smtp_port())
        .timeout(Some(STEP_TIMEOUT));
    if cfg.smtp_security != Security::Plain {
        let mut params = TlsParameters::builder(cfg.smtp_host.clone());
        if let Some(ca) = &cfg.ca {
            let pem = std::fs::read(ca)
                .map_err(|e| fail("smtp-tls")(format!("{}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem)
                .map_err(|e| fail("smtp-tls")(format!("{}: {e}", ca.display())))?;
            params = params.add_root_certificate(cert);
        }
        let params = params
            .build_rustls()
            .map_err(|e| fail("smtp-tls")(e.to_string()))?;
        b = b.tls(match cfg.smtp_security {
            Security::Tls => Tls::Wrapper(params),
            _ => Tls::Required(params),
        });
    }
    if let (Some(u), Some(p)) = (&cfg.smtp_user, &cfg.smtp_password) {
        b = b.credentials(Credentials::new(u.clone(), p.clone()));
    }
    Ok(b.build())
}

/// Sends one mail of plain text lines short enough to pass any relay
/// unchanged (a bundle's are).
pub async fn send(
    cfg: &MailConfig,
    to: &str,
    subject: &str,
    text: String,
) -> Result<(), MailError> {
    let from = cfg
        .address
        .parse()
        .map_err(|e| fail("address")(format!("{:?}: {e}", cfg.address)))?;
    let to = to
        .parse()
        .map_err(|e| fail("address")(format!("{to:?}: {e}")))?;
    // 7bit needs CRLF line ends; a bundle's lines are ASCII and short.
    let text = text.replace("\r\n", "\n").replace('\n', "\r\n");
    if !text.is_ascii() || text.lines().any(|l| l.len() > 900) {
        return Err(fail("send")("not plain short ASCII lines".into()));
    }
    let mail = Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::SevenBit)
        .body(text)
        .map_err(|e| fail("send")(e.to_string()))?;
    timed("send", transport(cfg)?.send(mail)).await.map(drop)
}

/// A stream an IMAP session runs over, plain or TLS.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + Debug {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Debug> Io for T {}

fn tls_config(cfg: &MailConfig) -> Result<rustls::ClientConfig, MailError> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if let Some(ca) = &cfg.ca {
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(ca)
            .map_err(|e| fail("imap-tls")(format!("{}: {e}", ca.display())))?;
        for cert in certs {
            let cert = cert.map_err(|e| fail("imap-tls")(format!("{}: {e}", ca.display())))?;
            roots
                .add(cert)
                .map_err(|e| fail("imap-tls")(format!("{}: {e}", ca.display())))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| fail("imap-tls")(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

async fn wrap(cfg: &MailConfig, tcp: TcpStream) -> Result<Box<dyn Io>, MailError> {
    let name = rustls::pki_types::ServerName::try_from(cfg.imap_host.clone())
        .map_err(|e| fail("imap-tls")(e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls_config(cfg)?));
    let tls = timed("imap-tls", connector.connect(name, tcp)).await?;
    Ok(Box::new(tls))
}

/// The mailbox, signed in and selected.
pub struct Inbox {
    session: async_imap::Session<Box<dyn Io>>,
}

/// A mail holding a bundle.
pub struct Mail {
    pub uid: u32,
    pub text: String,
}

impl Inbox {
    pub async fn open(cfg: &MailConfig) -> Result<Self, MailError> {
        let mut report = Report::default();
        let inbox = Self::open_reporting(cfg, &mut report).await;
        inbox.map_err(|e| e.unwrap_or_else(|| fail("imap")("cannot open the mailbox".into())))
    }

    /// `open`, saying each step in `report`; `Err(None)` once a step
    /// failed there.
    async fn open_reporting(
        cfg: &MailConfig,
        report: &mut Report,
    ) -> Result<Self, Option<MailError>> {
        let step = |report: &mut Report, name: &'static str, r: Result<String, MailError>| match r {
            Ok(detail) => {
                report.add(name, Outcome::Ok(detail));
                Ok(())
            }
            Err(e) => failed(report, name, e),
        };
        let addr = format!("{}:{}", cfg.imap_host, cfg.imap_port());
        let addrs: Vec<_> = match timed("imap-dns", tokio::net::lookup_host(&addr)).await {
            Ok(a) => a.collect(),
            Err(e) => return failed(report, "imap-dns", e),
        };
        step(
            report,
            "imap-dns",
            Ok(format!("{} is {:?}", cfg.imap_host, addrs)),
        )?;
        let tcp = timed("imap-tcp", TcpStream::connect(&addrs[..])).await;
        let tcp = match tcp {
            Ok(t) => {
                step(report, "imap-tcp", Ok(format!("connected to {addr}")))?;
                t
            }
            Err(e) => return failed(report, "imap-tcp", e),
        };
        let stream: Box<dyn Io> = match cfg.imap_security {
            Security::Plain => {
                report.add(
                    "imap-tls",
                    Outcome::Skipped("plain IMAP, as configured".into()),
                );
                Box::new(tcp)
            }
            Security::Tls => {
                let s = wrap(cfg, tcp).await;
                match s {
                    Ok(s) => {
                        step(report, "imap-tls", Ok("certificate accepted".into()))?;
                        s
                    }
                    Err(e) => return failed(report, "imap-tls", e),
                }
            }
            Security::Starttls => {
                let s = start_tls(cfg, tcp).await;
                match s {
                    Ok(s) => {
                        step(
                            report,
                            "imap-tls",
                            Ok("STARTTLS, certificate accepted".into()),
                        )?;
                        s
                    }
                    Err(e) => return failed(report, "imap-tls", e),
                }
            }
        };
        let mut client = async_imap::Client::new(stream);
        if cfg.imap_security != Security::Starttls {
            // The greeting; after STARTTLS there is none.
            let greeting = timed("imap-login", async {
                client
                    .read_response()
                    .await
                    .unwrap_or_else(|| Err(std::io::ErrorKind::UnexpectedEof.into()))
            })
            .await;
            if let Err(e) = greeting {
                return failed(report, "imap-login", e);
            }
        }
        let login = tokio::time::timeout(
            STEP_TIMEOUT,
            client.login(&cfg.imap_user, &cfg.imap_password),
        )
        .await;
        let mut session = match login {
            Ok(Ok(s)) => {
                step(
                    report,
                    "imap-login",
                    Ok(format!("signed in as {}", cfg.imap_user)),
                )?;
                s
            }
            Ok(Err((e, _))) => {
                let e = fail("imap-login")(format!("{} was refused: {e}", cfg.imap_user));
                return failed(report, "imap-login", e);
            }
            Err(_) => {
                let e = fail("imap-login")("no answer".into());
                return failed(report, "imap-login", e);
            }
        };
        match timed("mailbox", session.select(&cfg.mailbox)).await {
            Ok(m) => step(
                report,
                "mailbox",
                Ok(format!("{} holds {} mails", cfg.mailbox, m.exists)),
            )?,
            Err(e) => return failed(report, "mailbox", e),
        }
        Ok(Inbox { session })
    }

    /// Every mail holding a bundle; others are not even fetched whole.
    pub async fn bundles(&mut self) -> Result<Vec<Mail>, MailError> {
        let query = format!("BODY \"{}\"", bundle::MAGIC);
        let uids = timed("imap-search", self.session.uid_search(&query)).await?;
        let mut uids: Vec<u32> = uids.into_iter().collect();
        uids.sort_unstable();
        let mut out = Vec::new();
        for uid in uids {
            let fetched: Vec<_> = timed("imap-fetch", async {
                self.session
                    .uid_fetch(uid.to_string(), "BODY.PEEK[]")
                    .await?
                    .try_collect::<Vec<_>>()
                    .await
            })
            .await?;
            for f in fetched {
                if let Some(body) = f.body() {
                    let text = String::from_utf8_lossy(body).into_owned();
                    if bundle::is_bundle(&text) {
                        out.push(Mail { uid, text });
                    }
                }
            }
        }
        Ok(out)
    }

    /// Mails by subject (the connection test's own).
    pub async fn find_subject(&mut self, subject: &str) -> Result<Vec<u32>, MailError> {
        // New mail shows in a selected mailbox after a NOOP.
        timed("imap-search", self.session.noop()).await?;
        let uids = timed(
            "imap-search",
            self.session.uid_search(format!("SUBJECT \"{subject}\"")),
        )
        .await?;
        Ok(uids.into_iter().collect())
    }

    pub async fn delete(&mut self, uids: &[u32]) -> Result<(), MailError> {
        if uids.is_empty() {
            return Ok(());
        }
        let set = uids
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        timed("imap-delete", async {
            self.session
                .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        timed("imap-delete", async {
            self.session
                .uid_expunge(&set)
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        Ok(())
    }

    pub async fn close(mut self) {
        let _ = tokio::time::timeout(STEP_TIMEOUT, self.session.logout()).await;
    }
}

fn failed<T>(
    report: &mut Report,
    step: &'static str,
    e: MailError,
) -> Result<T, Option<MailError>> {
    report.add(step, Outcome::Failed(e.reason.clone()));
    Err(Some(e))
}

async fn start_tls(cfg: &MailConfig, tcp: TcpStream) -> Result<Box<dyn Io>, MailError> {
    let mut client = async_imap::Client::new(tcp);
    timed("imap-tls", async {
        client
            .read_response()
            .await
            .unwrap_or_else(|| Err(std::io::ErrorKind::UnexpectedEof.into()))
    })
    .await?;
    timed(
        "imap-tls",
        client.run_command_and_check_ok("STARTTLS", None),
    )
    .await?;
    wrap(cfg, client.into_inner()).await
}

/// `exchange test` by mail: each step of both ways, then a test mail to
/// our own address, read back and deleted.
pub async fn test(cfg: &MailConfig) -> Report {
    let mut report = Report::default();
    let smtp = format!("{}:{}", cfg.smtp_host, cfg.smtp_port());
    match timed("smtp-dns", tokio::net::lookup_host(&smtp)).await {
        Ok(a) => report.add(
            "smtp-dns",
            Outcome::Ok(format!("{} is {:?}", cfg.smtp_host, a.collect::<Vec<_>>())),
        ),
        Err(e) => report.add("smtp-dns", Outcome::Failed(e.reason)),
    }
    if report.failed().is_none() {
        match timed("smtp-tcp", TcpStream::connect(&smtp)).await {
            Ok(_) => report.add("smtp-tcp", Outcome::Ok(format!("connected to {smtp}"))),
            Err(e) => report.add("smtp-tcp", Outcome::Failed(e.reason)),
        }
    }
    if report.failed().is_none() {
        let checked = match transport(cfg) {
            Ok(t) => timed("smtp-login", t.test_connection()).await,
            Err(e) => Err(e),
        };
        let how = match (cfg.smtp_security, cfg.smtp_user.as_deref()) {
            (Security::Plain, None) => "plain SMTP, no sign-in, as configured".to_owned(),
            (Security::Plain, Some(u)) => format!("plain SMTP, signed in as {u}"),
            (_, None) => "TLS, no sign-in".to_owned(),
            (_, Some(u)) => format!("TLS, signed in as {u}"),
        };
        match checked {
            Ok(true) => report.add("smtp-login", Outcome::Ok(how)),
            Ok(false) => report.add(
                "smtp-login",
                Outcome::Failed("the server did not answer the test".into()),
            ),
            Err(e) => report.add("smtp-login", Outcome::Failed(e.reason)),
        }
    }
    let inbox = if report.failed().is_some() {
        None
    } else {
        Inbox::open_reporting(cfg, &mut report).await.ok()
    };
    let Some(mut inbox) = inbox else {
        for step in ["imap", "send", "read-back"] {
            if !report.steps.iter().any(|s| s.step.starts_with(step)) {
                report.add(step, Outcome::Skipped(String::new()));
            }
        }
        return report;
    };
    let subject = format!("Herald connection test {}", crate::tokens::random_id(8));
    let text = "A test of the way mail takes between Herald's sites; it deletes itself.\n";
    match send(cfg, &cfg.address, &subject, text.to_owned()).await {
        Ok(()) => report.add(
            "send",
            Outcome::Ok(format!("a test mail to {}", cfg.address)),
        ),
        Err(e) => report.add("send", Outcome::Failed(e.reason)),
    }
    if report.failed().is_none() {
        let started = std::time::Instant::now();
        let found = loop {
            match inbox.find_subject(&subject).await {
                Ok(uids) if !uids.is_empty() => break Ok(uids),
                Ok(_) if started.elapsed() < Duration::from_secs(60) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Ok(_) => break Err("not in the mailbox after 60 s".to_owned()),
                Err(e) => break Err(e.reason),
            }
        };
        match found {
            Ok(uids) => {
                let deleted = inbox.delete(&uids).await;
                report.add(
                    "read-back",
                    Outcome::Ok(format!(
                        "arrived after {:.1} s{}",
                        started.elapsed().as_secs_f64(),
                        if deleted.is_ok() { ", deleted" } else { "" }
                    )),
                );
            }
            Err(e) => report.add("read-back", Outcome::Failed(e)),
        }
    }
    inbox.close().await;
    report
}
