//! The exchange with other sites, on a running server: bundles coming in
//! (`incoming`), and one run now by HTTPS or mail (`run`), which the admin
//! API and the schedule (`jobs::exchange`) both start. What bundles hold
//! and how each side applies them is `domain::sites`.

pub mod incoming;
pub mod run;

/// Where a relay posts its bundle (`http::site`).
pub const SITE_EXCHANGE_PATH: &str = "/api/v1/site/exchange";
/// Where a relay reads the central server's key, for `exchange test`.
pub const SITE_KEY_PATH: &str = "/api/v1/site/key";
/// The header a relay names its site in: the site is looked up before
/// the body is read, and decides how much of it may be read.
pub const SITE_HEADER: &str = "x-herald-site";
