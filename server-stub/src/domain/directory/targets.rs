//! Whom a change concerns, as push hints and calls reach them: everyone,
//! or users and hosts by name.

use std::collections::HashSet;

/// Who a change concerns. Names are kept folded to lower case, so that a
/// hint to a group of thousands costs one lookup per stream, not a
/// comparison with every member.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Targets {
    all: bool,
    users: HashSet<String>,
    hosts: HashSet<String>,
}

pub(crate) fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl Targets {
    pub fn everyone() -> Self {
        Targets {
            all: true,
            ..Targets::default()
        }
    }

    pub fn set_all(&mut self) {
        self.all = true;
    }

    pub fn add_user(&mut self, name: &str) {
        self.users.insert(fold(name));
    }

    pub fn add_host(&mut self, name: &str) {
        self.hosts.insert(fold(name));
    }

    pub fn reaches(&self, user: &str, host: &str) -> bool {
        self.all || self.users.contains(&fold(user)) || self.hosts.contains(&fold(host))
    }

    /// `reaches`, for names already folded.
    pub(crate) fn reaches_folded(&self, user: &str, host: &str) -> bool {
        self.all || self.users.contains(user) || self.hosts.contains(host)
    }
}
