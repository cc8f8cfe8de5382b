//! The process's limit on open files: each connection takes one. Raised to
//! the hard limit the system sets, as servers do, since the soft default
//! (often 1,024) is far below what thousands of agents need.

/// Raises the soft limit to the hard one; returns the limit now, if known
/// (`u64::MAX` for none).
#[cfg(unix)]
pub fn raise() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let unlimited = |v: Option<u64>| v.unwrap_or(u64::MAX);
    if unlimited(lim.current) >= unlimited(lim.maximum) {
        return Some(unlimited(lim.current));
    }
    let raised = Rlimit {
        current: lim.maximum,
        maximum: lim.maximum,
    };
    match setrlimit(Resource::Nofile, raised) {
        Ok(()) => Some(unlimited(lim.maximum)),
        Err(e) => {
            // macOS refuses an unlimited soft limit: the current one stands.
            tracing::debug!(error = %e, "cannot raise the limit on open files");
            Some(unlimited(lim.current))
        }
    }
}

#[cfg(not(unix))]
pub fn raise() -> Option<u64> {
    None
}
