//! Starting the agent at login: an XDG autostart entry on Linux and other
//! Unixes, a LaunchAgent on macOS, the HKCU Run key on Windows. The file
//! contents and commands are plain functions, tested on every platform.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum AutostartError {
    #[error("no {0} directory on this system")]
    NoDir(&'static str),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Command(String),
}

/// Whether the agent starts at login, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Enabled(String),
    Disabled,
}

/// Identifier used for the entry on every platform.
pub const NAME: &str = "herald-agent";

/// XDG desktop entry running `exe run`.
pub fn desktop_entry(exe: &Path) -> String {
    format!(
        "[Desktop Entry]\nType=Application\nName=Herald agent\nComment=Shows messages from your IT department\n\
         Exec={} run\nTerminal=false\nX-GNOME-Autostart-enabled=true\nNoDisplay=true\n",
        desktop_quote(&exe.to_string_lossy())
    )
}

/// Quoting per the Desktop Entry spec: double quotes, with `"`, `` ` ``,
/// `$` and `\` escaped by a backslash.
fn desktop_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        if matches!(c, '"' | '`' | '$' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// macOS LaunchAgent property list running `exe run` at login.
pub fn launch_agent_plist(exe: &Path) -> String {
    let exe = xml_escape(&exe.to_string_lossy());
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>Label</key><string>org.herald.agent</string>
  <key>ProgramArguments</key><array><string>{exe}</string><string>run</string></array>
  <key>RunAtLoad</key><true/>
  <key>ProcessType</key><string>Interactive</string>
</dict>
</plist>
"#
    )
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The Run key value: the quoted executable, then `run`.
pub fn run_key_value(exe: &Path) -> String {
    format!("\"{}\" run", exe.to_string_lossy())
}

/// The `reg` arguments that write, delete or read the Run key entry.
pub fn reg_args(action: &str, exe: &Path) -> Vec<String> {
    const KEY: &str = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run";
    let mut args = vec![
        action.to_owned(),
        KEY.to_owned(),
        "/v".to_owned(),
        NAME.to_owned(),
    ];
    match action {
        "add" => args.extend([
            "/t".into(),
            "REG_SZ".into(),
            "/d".into(),
            run_key_value(exe),
            "/f".into(),
        ]),
        "delete" => args.push("/f".into()),
        _ => {}
    }
    args
}

/// Where the autostart file lives on this platform (none on Windows).
pub fn entry_path() -> Result<PathBuf, AutostartError> {
    if cfg!(target_os = "macos") {
        dirs::home_dir()
            .map(|h| h.join("Library/LaunchAgents/org.herald.agent.plist"))
            .ok_or(AutostartError::NoDir("home"))
    } else {
        dirs::config_dir()
            .map(|c| c.join("autostart").join(format!("{NAME}.desktop")))
            .ok_or(AutostartError::NoDir("config"))
    }
}

#[cfg(not(windows))]
pub fn enable(exe: &Path) -> Result<Status, AutostartError> {
    let path = entry_path()?;
    let io = |source| AutostartError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let content = if cfg!(target_os = "macos") {
        launch_agent_plist(exe)
    } else {
        desktop_entry(exe)
    };
    std::fs::write(&path, content).map_err(io)?;
    Ok(Status::Enabled(path.display().to_string()))
}

#[cfg(not(windows))]
pub fn disable() -> Result<Status, AutostartError> {
    let path = entry_path()?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(Status::Disabled),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Status::Disabled),
        Err(source) => Err(AutostartError::Io {
            path: path.display().to_string(),
            source,
        }),
    }
}

#[cfg(not(windows))]
pub fn status() -> Result<Status, AutostartError> {
    let path = entry_path()?;
    Ok(if path.exists() {
        Status::Enabled(path.display().to_string())
    } else {
        Status::Disabled
    })
}

#[cfg(windows)]
fn reg(action: &str, exe: &Path) -> Result<std::process::Output, AutostartError> {
    std::process::Command::new("reg")
        .args(reg_args(action, exe))
        .output()
        .map_err(|source| AutostartError::Io {
            path: "reg".into(),
            source,
        })
}

#[cfg(windows)]
pub fn enable(exe: &Path) -> Result<Status, AutostartError> {
    let out = reg("add", exe)?;
    if !out.status.success() {
        return Err(AutostartError::Command(
            String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        ));
    }
    Ok(Status::Enabled(
        r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run".into(),
    ))
}

#[cfg(windows)]
pub fn disable() -> Result<Status, AutostartError> {
    let _ = reg("delete", Path::new(""))?;
    Ok(Status::Disabled)
}

#[cfg(windows)]
pub fn status() -> Result<Status, AutostartError> {
    let out = reg("query", Path::new(""))?;
    Ok(if out.status.success() {
        Status::Enabled(r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run".into())
    } else {
        Status::Disabled
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desktop_entry_quotes_the_path() {
        let e = desktop_entry(Path::new("/opt/my apps/$herald/herald-agent"));
        assert!(
            e.contains("Exec=\"/opt/my apps/\\$herald/herald-agent\" run\n"),
            "{e}"
        );
        assert!(e.starts_with("[Desktop Entry]\nType=Application\n"));
    }

    #[test]
    fn launch_agent_runs_at_load() {
        let p = launch_agent_plist(Path::new("/Applications/Herald & Co/herald-agent"));
        assert!(
            p.contains(
                "<string>/Applications/Herald &amp; Co/herald-agent</string><string>run</string>"
            ),
            "{p}"
        );
        assert!(p.contains("<key>RunAtLoad</key><true/>"));
    }

    #[test]
    fn run_key_commands() {
        let exe = Path::new(r"C:\Program Files\Herald\herald-agent.exe");
        let add = reg_args("add", exe);
        assert_eq!(
            add[1],
            r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"
        );
        assert_eq!(add[3], "herald-agent");
        assert!(add.contains(&r#""C:\Program Files\Herald\herald-agent.exe" run"#.to_owned()));
        assert_eq!(
            reg_args("delete", exe).last().map(String::as_str),
            Some("/f")
        );
        assert_eq!(reg_args("query", exe).len(), 4);
    }
}
