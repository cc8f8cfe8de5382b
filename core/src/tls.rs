//! Whom the agent trusts for `https://` servers: the system's roots, plus
//! the company CA an administrator gives (`server_ca` in a config file,
//! `HERALD_SERVER_CA`, or the MSI's `SERVER_CA`). A certificate that does
//! not verify is an error of its own, never a reason to try plain HTTP.

use std::path::{Path, PathBuf};

/// The CA could not be used: the agent refuses to start a contact rather
/// than run with less trust than it was told to have.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the server CA {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("the server CA {path} holds no PEM certificate ({reason})")]
    NotPem { path: String, reason: String },
}

/// The certificates of the CA file, checked now so that a wrong file is
/// reported at start, not at the first contact.
pub fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let text = std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let not_pem = |reason: String| TlsError::NotPem {
        path: path.display().to_string(),
        reason,
    };
    // reqwest accepts a file with no certificate at all; an empty trust
    // list would make every https server fail with a misleading error.
    if !text
        .windows(b"-----BEGIN CERTIFICATE-----".len())
        .any(|w| w == b"-----BEGIN CERTIFICATE-----")
    {
        return Err(not_pem("no BEGIN CERTIFICATE block".into()));
    }
    reqwest::Certificate::from_pem_bundle(&text).map_err(|e| not_pem(e.to_string()))
}

/// Adds the CA, if one is given, to the system roots of a client.
pub fn trust(
    builder: reqwest::ClientBuilder,
    ca: Option<&PathBuf>,
) -> Result<reqwest::ClientBuilder, TlsError> {
    let Some(path) = ca else { return Ok(builder) };
    Ok(load_ca(path)?
        .into_iter()
        .fold(builder, reqwest::ClientBuilder::add_root_certificate))
}

/// Why the server's certificate was refused, if that is why `e` happened.
pub fn refused_certificate(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(e);
    while let Some(err) = next {
        if let Some(rustls::Error::InvalidCertificate(why)) = err.downcast_ref::<rustls::Error>() {
            return Some(in_words(&format!("{why:?}")));
        }
        // An io::Error hides the error it wraps from `source()`.
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(inner) = io.get_ref() {
                if let Some(why) = refused_certificate(inner) {
                    return Some(why);
                }
            }
        }
        next = err.source();
    }
    None
}

/// rustls's reason (`Other(OtherError(CaUsedAsEndEntity))`), said in words
/// an administrator can act on, with the innermost name kept for searches.
fn in_words(debug: &str) -> String {
    let name = debug
        .rsplit('(')
        .next()
        .unwrap_or(debug)
        .trim_end_matches(')');
    let name = name.split([' ', '{']).next().unwrap_or(name);
    let words = match name {
        "UnknownIssuer" => "issued by a CA this agent does not trust",
        "NotValidForName" | "NotValidForNameContext" => "not made for this server's name",
        "Expired" | "ExpiredContext" => "expired",
        "NotValidYet" | "NotValidYetContext" => "not valid yet: check the clocks",
        "CaUsedAsEndEntity" => {
            "it is a CA's certificate, not a server's (self-signed?): issue the server's from a CA"
        }
        _ => return debug.to_owned(),
    };
    format!("{words}; {name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_said_in_words() {
        assert_eq!(
            in_words("UnknownIssuer"),
            "issued by a CA this agent does not trust; UnknownIssuer"
        );
        assert!(in_words("Other(OtherError(CaUsedAsEndEntity))").starts_with("it is a CA's"));
        assert!(in_words("NotValidForNameContext { expected: x }").starts_with("not made"));
        assert_eq!(in_words("BadSignature"), "BadSignature");
    }

    #[test]
    fn a_file_without_a_certificate_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ca.pem");
        std::fs::write(&p, "not a certificate\n").unwrap();
        let e = load_ca(&p).unwrap_err().to_string();
        assert!(
            e.contains("ca.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        let e = load_ca(&dir.path().join("missing.pem"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the server CA"), "{e}");
    }
}
