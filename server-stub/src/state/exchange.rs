//! How this server exchanges with other sites: its `[relay]` and `[mail]`
//! settings, checked at start, and the guard that every bundle coming in
//! passes (nonces, refusals, reading one at a time).

use std::sync::Arc;

use herald_protocol::Transport;

use crate::config::{MailConfig, RelayConfig};
use crate::domain::sites::{bundle, exchange_guard};

/// What a server needs to exchange: its relay settings (at a site) and its
/// mailbox (for mail, at either end).
#[derive(Debug, Clone, Default)]
pub struct ExchangeSetup {
    pub relay: Option<RelayConfig>,
    pub mail: Option<MailConfig>,
    pub guard: Arc<exchange_guard::Guard>,
}

impl ExchangeSetup {
    /// Checks what can be checked before any exchange, so a wrong key or
    /// a missing address stops the server at start with its name.
    pub fn check(&self) -> Result<(), String> {
        let Some(r) = &self.relay else {
            return Ok(());
        };
        bundle::signing_key(&r.key).map_err(|e| format!("[relay] key: {e}"))?;
        bundle::verifying_key(&r.central_key).map_err(|e| format!("[relay] central_key: {e}"))?;
        match r.transport {
            Transport::Https if r.central_url.is_none() => {
                Err("[relay] transport = \"https\" needs central_url".into())
            }
            Transport::Mail if r.central_mail.is_none() => {
                Err("[relay] transport = \"mail\" needs central_mail".into())
            }
            Transport::Mail if self.mail.is_none() => {
                Err("[relay] transport = \"mail\" needs a [mail] section".into())
            }
            _ => Ok(()),
        }
    }
}
