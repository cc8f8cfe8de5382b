//! The few words the agent shows, in the user's language.

use herald_protocol::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Locale {
    En,
    Fr,
    De,
}

pub struct Texts {
    pub lang: &'static str,
    pub read_button: &'static str,
    pub from: &'static str,
    pub valid: &'static str,
    pub alert: &'static str,
    pub warning: &'static str,
    pub info: &'static str,
}

const EN: Texts = Texts {
    lang: "en",
    read_button: "I have read the message",
    from: "From",
    valid: "Valid",
    alert: "Alert",
    warning: "Warning",
    info: "Information",
};

const FR: Texts = Texts {
    lang: "fr",
    read_button: "J'ai lu le message",
    from: "De",
    valid: "Valable",
    alert: "Alerte",
    warning: "Avertissement",
    info: "Information",
};

const DE: Texts = Texts {
    lang: "de",
    read_button: "Ich habe die Nachricht gelesen",
    from: "Von",
    valid: "Gültig",
    alert: "Alarm",
    warning: "Warnung",
    info: "Information",
};

impl Locale {
    /// From a POSIX locale name such as `fr_FR.UTF-8`; English otherwise.
    pub fn from_name(name: &str) -> Self {
        match name.get(..2).map(str::to_ascii_lowercase).as_deref() {
            Some("fr") => Locale::Fr,
            Some("de") => Locale::De,
            _ => Locale::En,
        }
    }

    /// The user's locale, by the usual precedence of the environment.
    pub fn from_env() -> Self {
        ["LC_ALL", "LC_MESSAGES", "LANG"]
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .find(|v| !v.is_empty())
            .map_or(Locale::En, |v| Locale::from_name(&v))
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Locale::En => &EN,
            Locale::Fr => &FR,
            Locale::De => &DE,
        }
    }
}

impl Texts {
    pub fn severity(&self, s: Severity) -> &'static str {
        match s {
            Severity::Alert => self.alert,
            Severity::Warning => self.warning,
            Severity::Info => self.info,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locales_by_name() {
        assert_eq!(
            Locale::from_name("fr_FR.UTF-8").texts().read_button,
            "J'ai lu le message"
        );
        assert_eq!(
            Locale::from_name("de_AT").texts().read_button,
            "Ich habe die Nachricht gelesen"
        );
        assert_eq!(
            Locale::from_name("C").texts().read_button,
            "I have read the message"
        );
        assert_eq!(
            Locale::from_name("").texts().severity(Severity::Alert),
            "Alert"
        );
    }
}
