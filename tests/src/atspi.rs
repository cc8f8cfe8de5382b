//! The accessibility tree as a screen reader reads it: AT-SPI over the
//! accessibility bus that at-spi2-core's bus launcher starts for the
//! session (D-Bus activation of `org.a11y.Bus`), with its registry. Plain
//! D-Bus calls, as Orca's library makes them, so no binding stands
//! between the test and what the application puts on the bus.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use zbus::blocking::Connection;
use zbus::zvariant::{OwnedObjectPath, OwnedValue};

const ACCESSIBLE: &str = "org.a11y.atspi.Accessible";

/// AT-SPI states (`AtspiStateType`), as bit numbers of `GetState`.
pub const FOCUSABLE: u32 = 11;
pub const FOCUSED: u32 = 12;
pub const SHOWING: u32 = 25;
pub const IS_DEFAULT: u32 = 39;

/// One object in the tree: the application's bus name and the object path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub dest: String,
    pub path: OwnedObjectPath,
}

/// A link in a text: the characters it covers and where it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub text: String,
    pub uri: String,
}

fn registry_root() -> Node {
    Node {
        dest: "org.a11y.atspi.Registry".to_owned(),
        path: OwnedObjectPath::try_from("/org/a11y/atspi/accessible/root").unwrap(),
    }
}

pub struct A11y {
    bus: Connection,
}

impl A11y {
    /// Connects to the session's accessibility bus and its registry,
    /// starting them if need be. Before the application under test starts.
    pub fn connect() -> Self {
        let session = Connection::session().expect("no session bus: run under dbus-run-session");
        let address: String = session
            .call_method(
                Some("org.a11y.Bus"),
                "/org/a11y/bus",
                Some("org.a11y.Bus"),
                "GetAddress",
                &(),
            )
            .expect("no accessibility bus: is at-spi2-core installed?")
            .body()
            .deserialize()
            .unwrap();
        let bus = zbus::blocking::connection::Builder::address(address.as_str())
            .unwrap()
            .build()
            .expect("cannot reach the accessibility bus");
        let a11y = A11y { bus };
        // The registry is started now, as a desktop session has it before
        // any application: an application that comes up while the bus and
        // the registry are still starting may never be listed.
        a11y.children(&registry_root());
        a11y
    }

    /// The application object of process `pid`, once it has registered.
    pub fn application(&self, pid: u32, timeout: Duration) -> Node {
        let root = registry_root();
        let end = Instant::now() + timeout;
        loop {
            let apps = self.children(&root);
            for app in &apps {
                if self.pid_of(&app.dest) == Some(pid) {
                    return app.clone();
                }
            }
            let seen: Vec<_> = apps.iter().map(|a| (a, self.pid_of(&a.dest))).collect();
            assert!(
                Instant::now() < end,
                "process {pid} has no application in the accessibility registry: {seen:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn pid_of(&self, dest: &str) -> Option<u32> {
        self.bus
            .call_method(
                Some("org.freedesktop.DBus"),
                "/org/freedesktop/DBus",
                Some("org.freedesktop.DBus"),
                "GetConnectionUnixProcessID",
                &(dest,),
            )
            .ok()?
            .body()
            .deserialize()
            .ok()
    }

    fn call<B>(
        &self,
        node: &Node,
        iface: &str,
        method: &str,
        args: &B,
    ) -> zbus::Result<zbus::Message>
    where
        B: zbus::export::serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.bus.call_method(
            Some(node.dest.as_str()),
            &node.path,
            Some(iface),
            method,
            args,
        )
    }

    fn property(&self, node: &Node, iface: &str, name: &str) -> OwnedValue {
        self.call(
            node,
            "org.freedesktop.DBus.Properties",
            "Get",
            &(iface, name),
        )
        .unwrap_or_else(|e| panic!("{iface}.{name} of {node:?}: {e}"))
        .body()
        .deserialize()
        .unwrap()
    }

    pub fn children(&self, node: &Node) -> Vec<Node> {
        let kids: Vec<(String, OwnedObjectPath)> = self
            .call(node, ACCESSIBLE, "GetChildren", &())
            .unwrap_or_else(|e| panic!("children of {node:?}: {e}"))
            .body()
            .deserialize()
            .unwrap();
        kids.into_iter()
            .map(|(dest, path)| Node { dest, path })
            .collect()
    }

    /// The node and everything under it, depth first.
    pub fn tree(&self, node: &Node) -> Vec<Node> {
        let mut out = vec![node.clone()];
        for child in self.children(node) {
            out.extend(self.tree(&child));
        }
        out
    }

    pub fn name(&self, node: &Node) -> String {
        self.property(node, ACCESSIBLE, "Name").try_into().unwrap()
    }

    /// "frame", "label", "push button"...
    pub fn role(&self, node: &Node) -> String {
        self.call(node, ACCESSIBLE, "GetRoleName", &())
            .unwrap()
            .body()
            .deserialize()
            .unwrap()
    }

    pub fn has_state(&self, node: &Node, state: u32) -> bool {
        let bits: Vec<u32> = self
            .call(node, ACCESSIBLE, "GetState", &())
            .unwrap()
            .body()
            .deserialize()
            .unwrap();
        let word = bits.get((state / 32) as usize).copied().unwrap_or(0);
        word & (1 << (state % 32)) != 0
    }

    pub fn interfaces(&self, node: &Node) -> Vec<String> {
        self.call(node, ACCESSIBLE, "GetInterfaces", &())
            .unwrap()
            .body()
            .deserialize()
            .unwrap()
    }

    /// The whole text, for an object with the Text interface.
    pub fn text(&self, node: &Node) -> Option<String> {
        if !self
            .interfaces(node)
            .iter()
            .any(|i| i == "org.a11y.atspi.Text")
        {
            return None;
        }
        let reply = self.call(node, "org.a11y.atspi.Text", "GetText", &(0i32, -1i32));
        Some(reply.unwrap().body().deserialize().unwrap())
    }

    /// The links of an object with the Hypertext interface.
    pub fn links(&self, node: &Node) -> Vec<Link> {
        if !self
            .interfaces(node)
            .iter()
            .any(|i| i == "org.a11y.atspi.Hypertext")
        {
            return Vec::new();
        }
        let text: Vec<char> = self.text(node).unwrap_or_default().chars().collect();
        let n: i32 = self
            .call(node, "org.a11y.atspi.Hypertext", "GetNLinks", &())
            .unwrap()
            .body()
            .deserialize()
            .unwrap();
        (0..n)
            .map(|i| {
                let (dest, path): (String, OwnedObjectPath) = self
                    .call(node, "org.a11y.atspi.Hypertext", "GetLink", &(i,))
                    .unwrap()
                    .body()
                    .deserialize()
                    .unwrap();
                let link = Node { dest, path };
                let index = |name| -> usize {
                    let v: i32 = self
                        .property(&link, "org.a11y.atspi.Hyperlink", name)
                        .try_into()
                        .unwrap();
                    usize::try_from(v).unwrap()
                };
                let (start, end) = (index("StartIndex"), index("EndIndex"));
                let uri: String = self
                    .call(&link, "org.a11y.atspi.Hyperlink", "GetURI", &(0i32,))
                    .unwrap()
                    .body()
                    .deserialize()
                    .unwrap();
                Link {
                    text: text[start.min(text.len())..end.min(text.len())]
                        .iter()
                        .collect(),
                    uri,
                }
            })
            .collect()
    }

    /// The names of the object's actions ("click"...).
    pub fn actions(&self, node: &Node) -> Vec<String> {
        if !self
            .interfaces(node)
            .iter()
            .any(|i| i == "org.a11y.atspi.Action")
        {
            return Vec::new();
        }
        let n: i32 = self
            .property(node, "org.a11y.atspi.Action", "NActions")
            .try_into()
            .unwrap();
        (0..n)
            .map(|i| {
                self.call(node, "org.a11y.atspi.Action", "GetName", &(i,))
                    .unwrap()
                    .body()
                    .deserialize()
                    .unwrap()
            })
            .collect()
    }

    /// Does action `index`, as a screen reader's user would. The
    /// application may end before it answers, when the action closes it.
    pub fn do_action(&self, node: &Node, index: i32) {
        match self.call(node, "org.a11y.atspi.Action", "DoAction", &(index,)) {
            Ok(reply) => {
                let done: bool = reply.body().deserialize().unwrap();
                assert!(done, "the action was refused");
            }
            Err(zbus::Error::MethodError(name, ..))
                if name.as_str() == "org.freedesktop.DBus.Error.NoReply" => {}
            Err(e) => panic!("DoAction on {node:?}: {e}"),
        }
    }

    /// The tree under `node` as text, for failure messages.
    pub fn dump(&self, node: &Node) -> String {
        let mut out = String::new();
        self.dump_into(node, 0, &mut out);
        out
    }

    fn dump_into(&self, node: &Node, depth: usize, out: &mut String) {
        let text = self
            .text(node)
            .map(|t| format!(" text={t:?}"))
            .unwrap_or_default();
        out.push_str(&format!(
            "{:indent$}{} {:?}{text}\n",
            "",
            self.role(node),
            self.name(node),
            indent = depth * 2
        ));
        for child in self.children(node) {
            self.dump_into(&child, depth + 1, out);
        }
    }
}
