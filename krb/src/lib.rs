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
mod keytab;
#[cfg(windows)]
mod sspi;

pub use keytab::realms as keytab_realms;

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
    #[cfg(windows)]
    {
        sspi::client_token(service)
    }
    #[cfg(not(any(unix, windows)))]
    {
        let _ = service;
        Err(KrbError::Unavailable(
            "not built for this system yet".into(),
        ))
    }
}

/// A SPNEGO token for `service` from the credentials cache `ccache`
/// rather than the user's: the computer's own ticket (`host/NAME`), which
/// a system service keeps there (`kinit -k -c FILE host/NAME`).
pub fn client_token_from(service: &str, ccache: &std::path::Path) -> Result<Vec<u8>, KrbError> {
    #[cfg(unix)]
    {
        gss::client_token_from(service, ccache)
    }
    #[cfg(not(unix))]
    {
        let _ = (service, ccache);
        Err(KrbError::Unavailable(
            "a machine ticket from a credentials cache is for MIT Kerberos only".into(),
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

/// SSPI names a service `HTTP/host`; GSSAPI's host-based form is
/// `HTTP@host`. Either is taken.
pub fn spn_of(service: &str) -> String {
    match service.split_once('@') {
        Some((class, host)) if !class.contains('/') => format!("{class}/{host}"),
        _ => service.to_owned(),
    }
}

/// An NTLM message, bare or inside SPNEGO: what Windows' Negotiate sends
/// when it has no Kerberos ticket. Neither side can use it.
pub fn is_ntlm(token: &[u8]) -> bool {
    const SIGNATURE: &[u8] = b"NTLMSSP\0";
    token.windows(SIGNATURE.len()).any(|w| w == SIGNATURE)
}

/// The user name of a principal: `alice@EXAMPLE.COM` gives `alice`.
pub fn user_of(principal: &str) -> &str {
    principal.split('@').next().unwrap_or(principal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntlm_is_told_apart_from_kerberos() {
        assert!(is_ntlm(b"NTLMSSP\0\x01\0\0\0"));
        let mut spnego = vec![0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
        spnego.extend_from_slice(b"\xa0\x3e0<NTLMSSP\0\x01");
        assert!(is_ntlm(&spnego));
        assert!(!is_ntlm(&[0x60, 0x82, 0x02, 0x10, 0x06, 0x06, 0x2b, 0x06]));
    }

    #[test]
    fn services_are_named_as_sspi_wants() {
        assert_eq!(spn_of("HTTP@herald.example.com"), "HTTP/herald.example.com");
        assert_eq!(spn_of("HTTP/herald.example.com"), "HTTP/herald.example.com");
    }

    #[test]
    fn principals_give_user_names() {
        assert_eq!(user_of("alice@EXAMPLE.COM"), "alice");
        assert_eq!(user_of("bob"), "bob");
    }
}
