//! What the installer runs: writes, shows or removes the machine-wide
//! config, so that its format lives in one place.

use std::path::Path;

use anyhow::{Context as _, Result};
use herald_core::config;

use crate::cli::MachineConfigAction;

/// The copy of the CA the installer was given, next to the machine config:
/// the file it named (often on a share) may be gone when the agent runs.
const CA_FILE: &str = "server-ca.pem";

pub fn run(action: MachineConfigAction) -> Result<()> {
    let path = config::machine_config_file();
    match action {
        MachineConfigAction::Write {
            server,
            push_listen,
            server_ca,
            enroll_key,
            kerberos,
            kerberos_service,
            server_key,
            popup_display,
        } => {
            let given = config::FileConfig {
                server_key,
                server,
                push_listen,
                server_ca,
                enroll_key,
                kerberos: kerberos.as_deref().map(switch).transpose()?.flatten(),
                kerberos_service,
                popup_display,
                ..config::FileConfig::default()
            };
            write(&path, given)?;
        }
        MachineConfigAction::Remove => {
            let dir = path.parent().map(Path::to_path_buf);
            match std::fs::remove_file(&path) {
                Ok(()) => println!("machine config removed: {}", path.display()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    println!("no machine config at {}", path.display());
                }
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot remove {}", path.display()))
                }
            }
            if let Some(dir) = dir {
                // Absent when no CA was given: nothing to report.
                let _ = std::fs::remove_file(dir.join(CA_FILE));
            }
        }
        MachineConfigAction::Show => {
            let c = config::load(&path)?;
            let shown = |v: &Option<String>| v.clone().unwrap_or_else(|| "(not set)".into());
            println!("file:        {}", path.display());
            println!("server:      {}", shown(&c.server));
            println!("push_listen: {}", shown(&c.push_listen));
            println!("server_ca:   {}", shown(&c.server_ca));
            // The key is a secret: whether there is one is enough.
            let key = if c.enroll_key.is_some() {
                "(set)"
            } else {
                "(not set)"
            };
            println!("enroll_key:  {key}");
            let kerberos = match c.kerberos {
                Some(true) => "on",
                Some(false) => "off",
                None => "(not set)",
            };
            println!("kerberos:    {kerberos}");
            println!("kerberos_service: {}", shown(&c.kerberos_service));
            println!("server_key:  {}", shown(&c.server_key));
            println!("popup_display: {}", shown(&c.popup_display));
        }
    }
    Ok(())
}

/// An installer's yes or no; empty is "not given".
fn switch(text: &str) -> Result<Option<bool>> {
    match text.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "true" | "yes" | "on" => Ok(Some(true)),
        "0" | "false" | "no" | "off" => Ok(Some(false)),
        other => anyhow::bail!("--set-kerberos: give 1 or 0, not '{other}'"),
    }
}

fn write(path: &Path, given: config::FileConfig) -> Result<()> {
    let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let server = text(given.server);
    let push_listen = text(given.push_listen);
    let server_ca = text(given.server_ca);
    let enroll_key = text(given.enroll_key);
    let kerberos_service = text(given.kerberos_service);
    let server_key = text(given.server_key);
    // Checked, and kept as the word that applies, so that `show` prints it.
    let popup_display = text(given.popup_display)
        .map(|d| config::parse_popup_display(&d).map(|p| p.as_str().to_owned()))
        .transpose()?;
    if let Some(k) = &server_key {
        // A wrong key fails the install, not every message after it.
        herald_core::trust::parse_configured(k)?;
    }
    if let Some(l) = &push_listen {
        config::parse_listen(l)?;
    }
    let dir = path
        .parent()
        .context("the machine config has no folder")?
        .to_path_buf();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let server_ca = match server_ca {
        Some(source) => {
            let source = Path::new(source.trim());
            // A wrong file fails the install, not every contact after it.
            herald_core::tls::load_ca(source)?;
            let copy = dir.join(CA_FILE);
            if source != copy {
                std::fs::copy(source, &copy).with_context(|| {
                    format!("cannot copy {} to {}", source.display(), copy.display())
                })?;
            }
            Some(copy.display().to_string())
        }
        None => None,
    };
    // A value not given keeps the one already there, so that a repair or
    // an upgrade without SERVER= does not wipe it.
    let old = config::load(path)?;
    let text = config::machine_config_text(&config::FileConfig {
        server: server.or(old.server),
        push_listen: push_listen.or(old.push_listen),
        server_ca: server_ca.or(old.server_ca),
        enroll_key: enroll_key.or(old.enroll_key),
        kerberos: given.kerberos.or(old.kerberos),
        kerberos_service: kerberos_service.or(old.kerberos_service),
        server_key: server_key.or(old.server_key),
        popup_display: popup_display.or(old.popup_display),
        ..config::FileConfig::default()
    });
    // Readable by every user, whose agents read it; an enrollment key in it
    // is known to everyone who can log on here, which is its trust model.
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    println!("machine config written: {}", path.display());
    Ok(())
}
