//! The history page: static HTML, its style and script; the data arrives
//! later through `herald.load`.

const STYLE: &str = include_str!("assets/history.css");
const SCRIPT: &str = include_str!("assets/history.js");

/// The page, with a Content-Security-Policy that lets only its own script
/// run (by nonce) and forbids every load: message bodies cannot fetch or
/// execute anything even if the sanitizer missed something.
pub fn html(nonce: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'nonce-{nonce}'; form-action 'none'; base-uri 'none'">
<title>Herald history</title><style>{STYLE}</style></head>
<body>
<nav role="tablist">
<button id="tab-messages" role="tab" aria-selected="true" title="Alt+1">Messages</button>
<button id="tab-log" role="tab" aria-selected="false" title="Alt+2">Exchange log</button>
</nav>
<section id="panel-messages" role="tabpanel">
<div class="bar">
<input id="search" type="search" placeholder="Search title, sender, text" aria-label="Search">
<select id="severity" aria-label="Severity"><option value="all">All severities</option><option value="alert">Alerts</option><option value="warning">Warnings</option><option value="info">Information</option></select>
<select id="state" aria-label="State"><option value="all">All states</option><option value="waiting">Waiting</option><option value="read">Read</option><option value="cancelled">Cancelled</option><option value="expired">Expired</option><option value="withdrawn">Withdrawn</option></select>
</div>
<div class="split">
<div class="list"><table><thead><tr><th>Severity</th><th>Title</th><th>Received</th><th>Valid until</th><th>State</th><th>Receipt</th></tr></thead>
<tbody id="messages-rows"></tbody></table><p id="messages-empty" class="muted bar">No messages received yet.</p></div>
<aside id="details" class="details" aria-live="polite"></aside>
</div>
</section>
<section id="panel-log" role="tabpanel" hidden>
<div class="bar">
<label><input id="oldest-first" type="checkbox"> Oldest first</label>
<button id="delete" type="button" title="Delete key">Delete selected&hellip;</button>
<button id="export-csv" type="button">Export CSV</button>
<button id="export-json" type="button">Export JSON</button>
<span id="confirm" class="confirm" role="alertdialog" hidden><span id="confirm-text"></span>
<button id="confirm-yes" type="button">Delete</button> <button id="confirm-no" type="button">Keep</button></span>
</div>
<div class="list"><table><thead><tr><th></th><th>Time</th><th>Result</th><th>Exchanged</th><th>Took</th><th>Detail</th></tr></thead>
<tbody id="log-rows"></tbody></table><p id="log-empty" class="muted bar">No contact with the server yet.</p></div>
</section>
<div id="status" class="status" role="status"></div>
<script nonce="{nonce}">{SCRIPT}</script>
</body></html>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_script_may_run() {
        let page = html("abc123");
        assert_eq!(page.matches("<script").count(), 1);
        assert!(page.contains(r#"<script nonce="abc123">"#));
        assert!(page.contains("default-src 'none'"));
        // Listeners only: an inline handler would be refused by the policy.
        assert!(!page.contains("onclick="));
    }
}
