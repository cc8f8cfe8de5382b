//! The history page: static HTML, its style and script; the data arrives
//! later through `herald.load`.

use herald_views::i18n::Locale;

const STYLE: &str = include_str!("assets/history.css");
const SCRIPT: &str = include_str!("assets/history.js");

/// The page, with a Content-Security-Policy that lets only its own script
/// run (by nonce) and forbids every load: message bodies cannot fetch or
/// execute anything even if the sanitizer missed something.
pub fn html(nonce: &str, locale: Locale) -> String {
    let lang = locale.texts().lang;
    let words = crate::words::json(locale);
    let title = crate::words::word(locale, "window_title");
    format!(
        r#"<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'none'; base-uri 'none'">
<title>{title}</title><style>{STYLE}</style></head>
<body>
<nav role="tablist">
<button id="tab-messages" role="tab" aria-selected="true" title="Alt+1" data-t="tab_messages"></button>
<button id="tab-log" role="tab" aria-selected="false" title="Alt+2" data-t="tab_log"></button>
</nav>
<section id="panel-messages" role="tabpanel">
<div class="bar">
<input id="search" type="search" data-t-placeholder="search" data-t-label="search_label">
<select id="severity" data-t-label="severity"><option value="all" data-t="sev_all"></option><option value="alert" data-t="sev_alert"></option><option value="warning" data-t="sev_warning"></option><option value="info" data-t="sev_info"></option></select>
<select id="state" data-t-label="state"><option value="all" data-t="state_all"></option><option value="waiting" data-t="waiting"></option><option value="scheduled" data-t="scheduled"></option><option value="read" data-t="read"></option><option value="cancelled" data-t="cancelled"></option><option value="expired" data-t="expired"></option><option value="withdrawn" data-t="withdrawn"></option></select>
</div>
<div class="split">
<div class="list"><table><thead><tr><th data-t="severity"></th><th data-t="col_title"></th><th data-t="col_received"></th><th data-t="col_valid_until"></th><th data-t="state"></th><th data-t="col_receipt"></th></tr></thead>
<tbody id="messages-rows"></tbody></table><p id="messages-empty" class="muted bar" data-t="no_messages"></p></div>
<aside id="details" class="details" aria-live="polite"></aside>
</div>
</section>
<section id="panel-log" role="tabpanel" hidden>
<div class="bar">
<label><input id="oldest-first" type="checkbox"> <span data-t="oldest_first"></span></label>
<button id="delete" type="button" title="Delete" data-t="delete_selected"></button>
<button id="export-csv" type="button" data-t="export_csv"></button>
<button id="export-json" type="button" data-t="export_json"></button>
<span id="confirm" class="confirm" role="alertdialog" hidden><span id="confirm-text"></span>
<button id="confirm-yes" type="button" data-t="delete"></button> <button id="confirm-no" type="button" data-t="keep"></button></span>
</div>
<div class="list"><table><thead><tr><th></th><th data-t="col_time"></th><th data-t="col_result"></th><th data-t="col_exchanged"></th><th data-t="col_took"></th><th data-t="col_detail"></th></tr></thead>
<tbody id="log-rows"></tbody></table><p id="log-empty" class="muted bar" data-t="no_contact"></p></div>
</section>
<div id="status" class="status" role="status"></div>
<script nonce="{nonce}">var WORDS = {words};
{SCRIPT}</script>
</body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_script_may_run() {
        let page = html("abc123", Locale::Fr);
        assert!(page.contains(r#"<html lang="fr">"#));
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains(r#"<script nonce="abc123">"#));
        assert!(page.contains("default-src 'none'"));
        // Listeners only: an inline handler would be refused by the policy.
        assert!(!page.contains("onclick="));
    }
}
