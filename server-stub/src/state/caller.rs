//! The HTTP client inbound push calls go out on (`push::inbound`).

use std::time::Duration;

/// A desktop that does not answer this fast is not going to.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// The HTTP client for calls: no proxy (the desktops are on the server's
/// own network) and a short timeout.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(CALL_TIMEOUT)
        .connect_timeout(CALL_TIMEOUT)
        .user_agent(concat!("herald-server/", env!("CARGO_PKG_VERSION")))
        .build()
}
