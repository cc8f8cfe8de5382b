use std::fmt;
use std::str::FromStr;

/// Why a textual value could not be parsed into one of the protocol's enums.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{value}' (expected one of: {expected})")]
pub struct ParseEnumError {
    pub(crate) what: &'static str,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        // Every wire word is its variant in snake_case (a test checks it):
        // stated once for the enum, the API description sees it too.
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The lowercase word used on the wire, in the CLI and in databases.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ParseEnumError {
                        what: $what,
                        value: s.to_owned(),
                        expected: concat!($($text, " "),+),
                    }),
                }
            }
        }
    };
}

pub(crate) use text_enum;

text_enum!(
    /// What an administrator's account may do: `admin` everything,
    /// `sender` send within its limits.
    Role, "role", { Admin => "admin", Sender => "sender" }
);

text_enum!(
    /// How the server can reach a host at once: a stream the agent holds,
    /// an inbound listener it registered, or only its next poll.
    PushState, "push state", { Stream => "stream", Inbound => "inbound", Poll => "poll" }
);

text_enum!(
    /// How urgent a message is. Declaration order is urgency order, so
    /// `Alert > Warning > Info`.
    Severity, "severity", { Info => "info", Warning => "warning", Alert => "alert" }
);

text_enum!(
    /// Which receipts the sender of a message asked for.
    ReceiptPolicy, "receipt policy", {
        None => "none", Displayed => "displayed", Read => "read", Both => "both"
    }
);

text_enum!(
    /// What a receipt reports.
    ReceiptKind, "receipt kind", {
        Displayed => "displayed", Read => "read", Rejected => "rejected",
        Answered => "answered"
    }
);

text_enum!(
    /// Why a message the agent holds no longer applies to it.
    StopReason, "stop reason", {
        Withdrawn => "withdrawn",
        Expired => "expired",
        Unaddressed => "unaddressed",
        ReadElsewhere => "read_elsewhere"
    }
);

impl ReceiptPolicy {
    /// Whether a receipt of this kind must be reported to the server.
    ///
    /// A `read` receipt is always reported, whatever the policy: it is the
    /// user's acknowledgement, which the server needs so that the user's other
    /// computers stop showing the message. The policy decides only whether
    /// the sender is also told when the message was displayed.
    pub fn reports(self, kind: ReceiptKind) -> bool {
        match kind {
            // The server must hear of a forged or damaged message; an
            // answer is a reading, and what the sender asked for.
            ReceiptKind::Read | ReceiptKind::Rejected | ReceiptKind::Answered => true,
            ReceiptKind::Displayed => {
                matches!(self, ReceiptPolicy::Displayed | ReceiptPolicy::Both)
            }
        }
    }

    /// Whether the sender asked to see receipts of this kind.
    pub fn requests(self, kind: ReceiptKind) -> bool {
        match kind {
            ReceiptKind::Read => matches!(self, ReceiptPolicy::Read | ReceiptPolicy::Both),
            ReceiptKind::Rejected | ReceiptKind::Answered => true,
            ReceiptKind::Displayed => {
                matches!(self, ReceiptPolicy::Displayed | ReceiptPolicy::Both)
            }
        }
    }
}

/// One recipient of a message, as written `user:NAME`, `group:NAME`,
/// `host:NAME` or `all`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Recipient {
    User(String),
    Group(String),
    Host(String),
    All,
}

/// A recipient specification that is not of the form `KIND:NAME` or `all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad recipient '{0}': expected user:NAME, group:NAME, host:NAME or all")]
pub struct ParseRecipientError(String);

impl FromStr for Recipient {
    type Err = ParseRecipientError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Recipient::All);
        }
        let bad = || ParseRecipientError(s.to_owned());
        let (kind, name) = s.split_once(':').ok_or_else(bad)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        let name = name.to_owned();
        match kind.trim().to_ascii_lowercase().as_str() {
            "user" => Ok(Recipient::User(name)),
            "group" => Ok(Recipient::Group(name)),
            "host" => Ok(Recipient::Host(name.to_ascii_lowercase())),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::User(n) => write!(f, "user:{n}"),
            Recipient::Group(n) => write!(f, "group:{n}"),
            Recipient::Host(n) => write!(f, "host:{n}"),
            Recipient::All => f.write_str("all"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[test]
    fn wire_words_are_the_texts() {
        fn check<T: Serialize + fmt::Display + Copy>(all: &[T]) {
            for v in all {
                assert_eq!(serde_json::to_value(v).unwrap(), v.to_string());
            }
        }
        check(Severity::ALL);
        check(ReceiptPolicy::ALL);
        check(ReceiptKind::ALL);
        check(StopReason::ALL);
        check(Role::ALL);
        check(PushState::ALL);
    }

    #[test]
    fn severity_orders_by_urgency() {
        assert!(Severity::Alert > Severity::Warning);
        assert!(Severity::Warning > Severity::Info);
        assert_eq!("ALERT".parse::<Severity>(), Ok(Severity::Alert));
        let err = "urgent".parse::<Severity>().unwrap_err().to_string();
        assert!(err.contains("info warning alert"), "{err}");
    }

    #[test]
    fn recipients_round_trip() {
        for text in ["user:alice", "group:ops", "host:pc-12", "all"] {
            let r: Recipient = text.parse().unwrap();
            assert_eq!(r.to_string(), text);
        }
        assert!("bob".parse::<Recipient>().is_err());
        assert!("user:".parse::<Recipient>().is_err());
        assert!("team:x".parse::<Recipient>().is_err());
    }

    #[test]
    fn read_is_always_reported_displayed_only_on_request() {
        for p in ReceiptPolicy::ALL {
            assert!(p.reports(ReceiptKind::Read));
        }
        assert!(!ReceiptPolicy::None.reports(ReceiptKind::Displayed));
        assert!(!ReceiptPolicy::Read.reports(ReceiptKind::Displayed));
        assert!(ReceiptPolicy::Both.reports(ReceiptKind::Displayed));
    }

    #[test]
    fn stop_reason_wire_form() {
        let json = serde_json::to_string(&StopReason::ReadElsewhere).unwrap();
        assert_eq!(json, "\"read_elsewhere\"");
    }
}
