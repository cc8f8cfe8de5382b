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
    /// The button of a message shown again from the history: nothing to acknowledge.
    pub close_button: &'static str,
    pub menu_history: &'static str,
    pub menu_check_now: &'static str,
    pub menu_show_waiting: &'static str,
    pub menu_dnd: &'static str,
    pub menu_quit: &'static str,
    pub last_contact: &'static str,
    pub never_contacted: &'static str,
    pub unreachable_since: &'static str,
    /// "{n}" is replaced by the count.
    pub waiting: &'static str,
    pub waiting_one: &'static str,
    pub dnd_until: &'static str,
    pub notice_body: &'static str,
    /// The tray and the notification when no popup can be put on screen.
    pub cannot_show: &'static str,
    /// The notification that stands for a popup the desktop may keep
    /// behind other windows (GNOME on Wayland), and its button.
    pub behind_body: &'static str,
    pub open_button: &'static str,
}

const EN: Texts = Texts {
    lang: "en",
    read_button: "I have read the message",
    from: "From",
    valid: "Valid",
    alert: "Alert",
    warning: "Warning",
    info: "Information",
    close_button: "Close",
    menu_history: "Show history",
    menu_check_now: "Check for messages now",
    menu_show_waiting: "Show waiting messages",
    menu_dnd: "Do not disturb for 1 hour",
    menu_quit: "Quit",
    last_contact: "Last contact with the server",
    never_contacted: "No contact with the server yet",
    unreachable_since: "Cannot reach the server since",
    waiting: "{n} messages waiting",
    waiting_one: "1 message waiting",
    dnd_until: "Do not disturb until",
    notice_body: "They come up when you close the message on screen.",
    cannot_show: "Messages cannot be shown",
    behind_body: "The message is open in a window that may be behind others.",
    open_button: "Open",
};

const FR: Texts = Texts {
    lang: "fr",
    read_button: "J'ai lu le message",
    from: "De",
    valid: "Valable",
    alert: "Alerte",
    warning: "Avertissement",
    info: "Information",
    close_button: "Fermer",
    menu_history: "Afficher l'historique",
    menu_check_now: "Vérifier les messages maintenant",
    menu_show_waiting: "Afficher les messages en attente",
    menu_dnd: "Ne pas déranger pendant 1 heure",
    menu_quit: "Quitter",
    last_contact: "Dernier contact avec le serveur",
    never_contacted: "Pas encore de contact avec le serveur",
    unreachable_since: "Serveur injoignable depuis",
    waiting: "{n} messages en attente",
    waiting_one: "1 message en attente",
    dnd_until: "Ne pas déranger jusqu'à",
    notice_body: "Ils s'afficheront quand vous fermerez le message à l'écran.",
    cannot_show: "Les messages ne peuvent pas s'afficher",
    behind_body: "Le message est ouvert dans une fenêtre, peut-être derrière les autres.",
    open_button: "Ouvrir",
};

const DE: Texts = Texts {
    lang: "de",
    read_button: "Ich habe die Nachricht gelesen",
    from: "Von",
    valid: "Gültig",
    alert: "Alarm",
    warning: "Warnung",
    info: "Information",
    close_button: "Schließen",
    menu_history: "Verlauf anzeigen",
    menu_check_now: "Jetzt nach Nachrichten suchen",
    menu_show_waiting: "Wartende Nachrichten anzeigen",
    menu_dnd: "1 Stunde nicht stören",
    menu_quit: "Beenden",
    last_contact: "Letzter Kontakt mit dem Server",
    never_contacted: "Noch kein Kontakt mit dem Server",
    unreachable_since: "Server nicht erreichbar seit",
    waiting: "{n} Nachrichten warten",
    waiting_one: "1 Nachricht wartet",
    dnd_until: "Nicht stören bis",
    notice_body: "Sie erscheinen, wenn Sie die angezeigte Nachricht schließen.",
    cannot_show: "Nachrichten können nicht angezeigt werden",
    behind_body: "Die Nachricht ist in einem Fenster geöffnet, das hinter anderen liegen kann.",
    open_button: "Öffnen",
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

    /// The user's locale if the environment names one of Herald's
    /// languages; else `default` (the central server's preference); else
    /// English.
    pub fn from_env_or(default: Option<&str>) -> Self {
        match (Self::named_in_env(), default) {
            (Some(l), _) => l,
            (None, Some(d)) => Self::from_name(d),
            (None, None) => Locale::En,
        }
    }

    fn named_in_env() -> Option<Self> {
        // LANGUAGE (gettext's list, "fr:en") first: it picks the words
        // without asking the C library for a locale it may not have.
        let language = std::env::var("LANGUAGE")
            .ok()
            .and_then(|v| v.split(':').next().map(str::to_owned));
        let v = language
            .into_iter()
            .chain(
                ["LC_ALL", "LC_MESSAGES", "LANG"]
                    .iter()
                    .filter_map(|v| std::env::var(v).ok()),
            )
            .find(|v| !v.is_empty())?;
        let two = v.get(..2).map(str::to_ascii_lowercase);
        matches!(two.as_deref(), Some("en" | "fr" | "de")).then(|| Self::from_name(&v))
    }

    /// The user's locale, by the usual precedence of the environment.
    pub fn from_env() -> Self {
        Self::from_env_or(None)
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
    /// "3 messages waiting", in this language.
    pub fn waiting_count(&self, n: usize) -> String {
        if n == 1 {
            self.waiting_one.to_owned()
        } else {
            self.waiting.replace("{n}", &n.to_string())
        }
    }

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

    #[test]
    fn counts() {
        assert_eq!(Locale::Fr.texts().waiting_count(3), "3 messages en attente");
        assert_eq!(Locale::De.texts().waiting_count(1), "1 Nachricht wartet");
        assert_eq!(Locale::En.texts().waiting_count(0), "0 messages waiting");
    }
}
