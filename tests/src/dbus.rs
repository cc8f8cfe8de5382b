//! The session bus from the tests' side: the agent's tray as a desktop
//! shell sees it (StatusNotifierItem + dbusmenu), and a notification
//! service that records what it is asked to show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedValue, Structure, Value};

thread_local! {
    /// The bus of this test's [`Notifications`], while it lives.
    static PRIVATE_BUS: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// The session bus, or the private bus of this test's [`Notifications`].
fn session() -> Connection {
    match PRIVATE_BUS.with(|b| b.borrow().clone()) {
        Some(address) => zbus::blocking::connection::Builder::address(address.as_str())
            .unwrap()
            .build()
            .expect("cannot reach the private bus"),
        None => Connection::session().expect("no session bus: run under dbus-run-session"),
    }
}

/// The bus name of the tray of process `pid`, if it has one.
pub fn tray_of(pid: u32) -> Option<String> {
    let names: Vec<String> = session()
        .call_method(
            Some("org.freedesktop.DBus"),
            "/org/freedesktop/DBus",
            Some("org.freedesktop.DBus"),
            "ListNames",
            &(),
        )
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    let prefix = format!("org.kde.StatusNotifierItem-{pid}-");
    names.into_iter().find(|n| n.starts_with(&prefix))
}

fn property(dest: &str, name: &str) -> OwnedValue {
    let reply = session()
        .call_method(
            Some(dest),
            "/StatusNotifierItem",
            Some("org.freedesktop.DBus.Properties"),
            "Get",
            &("org.kde.StatusNotifierItem", name),
        )
        .unwrap();
    reply.body().deserialize::<OwnedValue>().unwrap()
}

fn text_of(v: &Value<'_>) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Value(inner) => text_of(inner),
        other => panic!("not a string: {other:?}"),
    }
}

/// The tray's tooltip text (its description).
pub fn tooltip(dest: &str) -> String {
    let v = property(dest, "ToolTip");
    let s: Structure<'_> = v.try_into().unwrap();
    text_of(&s.fields()[3])
}

/// The tray's icon pixels (the first size it offers).
pub fn icon_pixels(dest: &str) -> Vec<u8> {
    let v = property(dest, "IconPixmap");
    let icons: Vec<(i32, i32, Vec<u8>)> = v.try_into().unwrap();
    icons.into_iter().next().map(|i| i.2).unwrap_or_default()
}

/// The top-level menu items: (id, label).
pub fn menu(dest: &str) -> Vec<(i32, String)> {
    let reply = session()
        .call_method(
            Some(dest),
            "/MenuBar",
            Some("com.canonical.dbusmenu"),
            "GetLayout",
            &(0i32, 1i32, Vec::<String>::new()),
        )
        .unwrap();
    type Layout = (i32, HashMap<String, OwnedValue>, Vec<OwnedValue>);
    let (_rev, (_id, _props, children)): (u32, Layout) = reply.body().deserialize().unwrap();
    children
        .into_iter()
        .filter_map(|c| {
            let s: Structure<'_> = c.try_into().ok()?;
            let Value::I32(id) = s.fields()[0] else {
                return None;
            };
            let props: HashMap<String, OwnedValue> =
                s.fields()[1].try_clone().ok()?.try_into().ok()?;
            let label = props.get("label").map(|v| text_of(v))?;
            Some((id, label))
        })
        .collect()
}

/// Clicks the menu item labelled `label`, as a desktop shell would.
pub fn click(dest: &str, label: &str) {
    let items = menu(dest);
    let id = items
        .iter()
        .find(|(_, l)| l.replace('_', "") == label)
        .unwrap_or_else(|| panic!("no menu item '{label}' in {items:?}"))
        .0;
    let answer = session().call_method(
        Some(dest),
        "/MenuBar",
        Some("com.canonical.dbusmenu"),
        "Event",
        &(id, "clicked", Value::I32(0), 0u32),
    );
    match answer {
        Ok(_) => {}
        // "Quit" may end the agent before its answer leaves; the test then
        // checks that it did end.
        Err(zbus::Error::MethodError(name, ..))
            if label == "Quit" && name.as_str() == "org.freedesktop.DBus.Error.NoReply" => {}
        Err(e) => panic!("clicking '{label}': {e}"),
    }
}

/// A notification: (app name, summary, body).
pub type Notice = (String, String, String);

/// A notification service that records what it gets, on a bus of its own.
/// Not on the shared session bus: any test before this one that made the
/// agent notify has had the bus start the installed daemon (dunst), which
/// then owns the name for the rest of the session.
pub struct Notifications {
    _conn: Connection,
    got: Arc<Mutex<Vec<Notice>>>,
    daemon: std::process::Child,
    address: String,
    _dir: tempfile::TempDir,
}

/// A session bus with no activatable services: nothing can take the name.
/// `DIR` stands for the socket's folder.
pub const BUS_CONFIG: &str = r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=DIR</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#;

struct Recorder {
    got: Arc<Mutex<Vec<Notice>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Recorder {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        _replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        _actions: Vec<String>,
        _hints: HashMap<String, OwnedValue>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut got = self.got.lock().unwrap();
        got.push((app_name, summary, body));
        u32::try_from(got.len()).unwrap()
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        (
            "herald-test".into(),
            "herald".into(),
            "1".into(),
            "1.2".into(),
        )
    }
}

impl Notifications {
    /// Starts the bus and the service. Until it is dropped, this thread's
    /// tray helpers use that bus; give [`Self::address`] to the agent.
    pub fn start() -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            BUS_CONFIG.replace("DIR", &dir.path().display().to_string()),
        )
        .unwrap();
        let mut daemon = std::process::Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            // It complains of the fd limit it may not raise; that is noise.
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("cannot start dbus-daemon");
        let mut address = String::new();
        std::io::BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        PRIVATE_BUS.with(|b| *b.borrow_mut() = Some(address.clone()));
        let got = Arc::new(Mutex::new(Vec::new()));
        let conn = zbus::blocking::connection::Builder::address(address.as_str())
            .unwrap()
            .name("org.freedesktop.Notifications")
            .unwrap()
            .serve_at(
                "/org/freedesktop/Notifications",
                Recorder { got: got.clone() },
            )
            .unwrap()
            .build()
            .expect("cannot own org.freedesktop.Notifications");
        Notifications {
            _conn: conn,
            got,
            daemon,
            address,
            _dir: dir,
        }
    }

    /// The bus address, for the agent's `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    pub fn received(&self) -> Vec<Notice> {
        self.got.lock().unwrap().clone()
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        PRIVATE_BUS.with(|b| *b.borrow_mut() = None);
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
