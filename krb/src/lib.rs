//! Kerberos sign-in, as HTTP `Negotiate` does it: the client makes a
//! SPNEGO token for the server's service principal from the logged-on
//! user's credentials; the server checks it with its keytab and learns the
//! user's principal. One round: the token carries the Kerberos ticket.
//!
//! On Unix the system's GSSAPI (MIT Kerberos, `libgssapi_krb5.so.2`) is
//! loaded when first needed, so that a computer without it still runs the
//! agent and gets a clear error only if it asks for Kerberos.

#[cfg(unix)]
mod gss;

#[derive(Debug, thiserror::Error)]
pub enum KrbError {
    #[error("Kerberos is not available here: {0}")]
    Unavailable(String),
    #[error("Kerberos: {0}")]
    Failed(String),
}

/// A SPNEGO token for `service` (`HTTP@host`, the host-based form), from
/// the credentials of the user running this process (their ticket cache).
pub fn client_token(service: &str) -> Result<Vec<u8>, KrbError> {
    #[cfg(unix)]
    {
        gss::client_token(service)
    }
    #[cfg(not(unix))]
    {
        let _ = service;
        Err(KrbError::Unavailable(
            "not built for this system yet".into(),
        ))
    }
}

/// Checks a client's token with the keytab (`keytab`, or the default one)
/// and returns the client's principal (`alice@EXAMPLE.COM`).
pub fn accept(token: &[u8], keytab: Option<&std::path::Path>) -> Result<String, KrbError> {
    #[cfg(unix)]
    {
        gss::accept(token, keytab)
    }
    #[cfg(not(unix))]
    {
        let _ = (token, keytab);
        Err(KrbError::Unavailable(
            "not built for this system yet".into(),
        ))
    }
}

/// The user name of a principal: `alice@EXAMPLE.COM` gives `alice`.
pub fn user_of(principal: &str) -> &str {
    principal.split('@').next().unwrap_or(principal)
}
