//! The history window's words in English, French and German. The page
//! gets them as one JSON object; elements name theirs with `data-t`.

use herald_views::i18n::Locale;

/// Key, English, French, German. `{n}`-style holes are filled by the page.
const WORDS: &[(&str, &str, &str, &str)] = &[
    (
        "window_title",
        "Herald history",
        "Historique Herald",
        "Herald-Verlauf",
    ),
    ("tab_messages", "Messages", "Messages", "Nachrichten"),
    (
        "tab_log",
        "Exchange log",
        "Journal des échanges",
        "Austauschprotokoll",
    ),
    (
        "search",
        "Search title, sender, text",
        "Chercher titre, expéditeur, texte",
        "Titel, Absender, Text suchen",
    ),
    ("search_label", "Search", "Chercher", "Suchen"),
    ("severity", "Severity", "Gravité", "Dringlichkeit"),
    (
        "sev_all",
        "All severities",
        "Toutes gravités",
        "Alle Dringlichkeiten",
    ),
    ("sev_alert", "Alerts", "Alertes", "Alarme"),
    ("sev_warning", "Warnings", "Avertissements", "Warnungen"),
    ("sev_info", "Information", "Informations", "Informationen"),
    ("alert", "alert", "alerte", "Alarm"),
    ("warning", "warning", "avertissement", "Warnung"),
    ("info", "information", "information", "Information"),
    ("state", "State", "État", "Status"),
    ("state_all", "All states", "Tous états", "Alle Status"),
    ("waiting", "waiting", "en attente", "wartend"),
    ("scheduled", "scheduled", "programmé", "geplant"),
    (
        "scheduled_for",
        "scheduled for {t}",
        "programmé pour {t}",
        "geplant für {t}",
    ),
    ("read", "read", "lu", "gelesen"),
    (
        "cancelled",
        "closed unread",
        "fermé sans lire",
        "ungelesen geschlossen",
    ),
    ("expired", "expired", "expiré", "abgelaufen"),
    ("withdrawn", "withdrawn", "retiré", "zurückgezogen"),
    ("col_title", "Title", "Titre", "Titel"),
    ("col_received", "Received", "Reçu", "Empfangen"),
    (
        "col_valid_until",
        "Valid until",
        "Valide jusqu'au",
        "Gültig bis",
    ),
    ("col_receipt", "Receipt", "Accusé", "Bestätigung"),
    (
        "no_messages",
        "No messages received yet.",
        "Aucun message reçu pour l'instant.",
        "Noch keine Nachrichten empfangen.",
    ),
    ("receipt_none", "none", "aucun", "keine"),
    (
        "receipt_pending",
        "pending",
        "en attente d'envoi",
        "ausstehend",
    ),
    ("receipt_delivered", "delivered", "transmis", "übermittelt"),
    (
        "select_message",
        "Select a message to read it.",
        "Choisissez un message pour le lire.",
        "Wählen Sie eine Nachricht, um sie zu lesen.",
    ),
    ("from", "from", "de", "von"),
    ("valid", "valid", "valide", "gültig"),
    ("receipt", "receipt", "accusé", "Bestätigung"),
    (
        "show_again",
        "Show again",
        "Afficher à nouveau",
        "Erneut anzeigen",
    ),
    (
        "title_messages",
        "Herald history — {n} of {m} messages",
        "Historique Herald — {n} messages sur {m}",
        "Herald-Verlauf — {n} von {m} Nachrichten",
    ),
    (
        "title_log",
        "Herald history — exchange log ({n} entries)",
        "Historique Herald — journal des échanges ({n} lignes)",
        "Herald-Verlauf — Austauschprotokoll ({n} Einträge)",
    ),
    (
        "oldest_first",
        "Oldest first",
        "Plus anciens d'abord",
        "Älteste zuerst",
    ),
    (
        "delete_selected",
        "Delete selected…",
        "Supprimer la sélection…",
        "Auswahl löschen…",
    ),
    (
        "export_csv",
        "Export CSV",
        "Exporter en CSV",
        "Als CSV exportieren",
    ),
    (
        "export_json",
        "Export JSON",
        "Exporter en JSON",
        "Als JSON exportieren",
    ),
    ("delete", "Delete", "Supprimer", "Löschen"),
    ("keep", "Keep", "Garder", "Behalten"),
    ("col_time", "Time", "Heure", "Zeit"),
    ("col_result", "Result", "Résultat", "Ergebnis"),
    ("col_exchanged", "Exchanged", "Échangé", "Ausgetauscht"),
    ("col_took", "Took", "Durée", "Dauer"),
    ("col_detail", "Detail", "Détail", "Details"),
    (
        "no_contact",
        "No contact with the server yet.",
        "Aucun contact avec le serveur pour l'instant.",
        "Noch kein Kontakt mit dem Server.",
    ),
    ("ok", "ok", "réussi", "erfolgreich"),
    ("failed", "failed", "échec", "fehlgeschlagen"),
    ("push_stream", "push stream", "flux push", "Push-Verbindung"),
    ("popup", "popup", "fenêtre", "Fenster"),
    (
        "exchanged",
        "{r} in, {s} stopped, {c} receipts",
        "{r} reçus, {s} arrêtés, {c} accusés",
        "{r} empfangen, {s} beendet, {c} Bestätigungen",
    ),
    (
        "select_entry",
        "select entry {n}",
        "choisir la ligne {n}",
        "Eintrag {n} wählen",
    ),
    (
        "select_first",
        "Select entries to delete first.",
        "Choisissez d'abord les lignes à supprimer.",
        "Wählen Sie zuerst die zu löschenden Einträge.",
    ),
    (
        "confirm_delete",
        "Delete {n} log entries? This cannot be undone.",
        "Supprimer {n} lignes du journal ? C'est définitif.",
        "{n} Protokolleinträge löschen? Das ist endgültig.",
    ),
    (
        "deleted",
        "Deleted {n} log entries.",
        "{n} lignes supprimées.",
        "{n} Einträge gelöscht.",
    ),
    (
        "cannot_delete",
        "Cannot delete: {e}",
        "Suppression impossible : {e}",
        "Löschen nicht möglich: {e}",
    ),
    (
        "saved_to",
        "Saved to {p}",
        "Enregistré dans {p}",
        "Gespeichert unter {p}",
    ),
    (
        "cannot_export",
        "Cannot export: {e}",
        "Export impossible : {e}",
        "Export nicht möglich: {e}",
    ),
    (
        "cannot_read",
        "Cannot read the store: {e}",
        "Lecture du stockage impossible : {e}",
        "Speicher nicht lesbar: {e}",
    ),
];

/// One word in `locale`; the key itself if it is missing (a test checks
/// that none is).
pub fn word(locale: Locale, key: &str) -> &'static str {
    WORDS
        .iter()
        .find(|w| w.0 == key)
        .map_or("?", |w| pick(locale, w))
}

fn pick(locale: Locale, w: &(&str, &'static str, &'static str, &'static str)) -> &'static str {
    match locale {
        Locale::En => w.1,
        Locale::Fr => w.2,
        Locale::De => w.3,
    }
}

/// Every word in `locale`, for the page.
pub fn json(locale: Locale) -> String {
    let map: serde_json::Map<String, serde_json::Value> = WORDS
        .iter()
        .map(|w| (w.0.to_owned(), pick(locale, w).into()))
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What follows `open` up to `close`, where `open` does not continue a
    /// longer name (`t('` but not `createElement('`).
    fn keys_used(text: &str, open: &str, close: char) -> Vec<String> {
        text.match_indices(open)
            .filter(|(i, _)| {
                !text[..*i]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
            })
            .filter_map(|(i, _)| text[i + open.len()..].split(close).next())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_word_the_page_uses_exists_in_every_language() {
        let html = crate::page::html("n", Locale::En);
        let script = include_str!("assets/history.js");
        let mut used = keys_used(&html, "data-t=\"", '"');
        used.extend(keys_used(&html, "data-t-placeholder=\"", '"'));
        used.extend(keys_used(&html, "data-t-label=\"", '"'));
        used.extend(keys_used(script, "t('", '\''));
        assert!(used.len() > 30, "{used:?}");
        for key in used {
            assert!(WORDS.iter().any(|w| w.0 == key), "no words for '{key}'");
        }
        for w in WORDS {
            assert!(
                !w.1.is_empty() && !w.2.is_empty() && !w.3.is_empty(),
                "{}",
                w.0
            );
        }
        assert_eq!(word(Locale::De, "tab_messages"), "Nachrichten");
        assert!(json(Locale::Fr).contains("\"tab_log\":\"Journal des échanges\""));
    }
}
