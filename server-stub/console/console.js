// The Herald console: one page, hash routes, the admin API underneath.
// Nothing from the server is ever put in the page as HTML; text goes in
// through textContent, and the Markdown preview sits in a sandboxed frame.
"use strict";

const API = "/api/v1/admin";
let session = null;
let refresher = null;
// Counts routes: a page whose data came back after the next route began
// is not drawn over that route's page.
let routes = 0;

// ---- small helpers -------------------------------------------------------

function t(key, vars) {
  return window.heraldT(key, vars);
}

/** Builds an element; children are nodes or strings (as text). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function field(label, input, opts = {}) {
  const id = input.id || `f-${Math.random().toString(36).slice(2)}`;
  input.id = id;
  return h("div", { class: opts.wide ? "field wide" : "field" },
    h("label", { for: id, text: label }), input,
    opts.hint ? h("span", { class: "hint", text: opts.hint }) : null);
}

function say(text, kind = "ok") {
  const box = document.getElementById("status");
  if (!text) { box.replaceChildren(); return; }
  box.replaceChildren(h("p", { class: kind, role: kind === "error" ? "alert" : null, text }));
}

function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(document.documentElement.lang);
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && session) headers["X-Herald-CSRF"] = session.csrf;
  const res = await fetch(path.startsWith("/") ? path : `${API}/${path}`, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.status === 204) return null;
  let data = null;
  try { data = await res.json(); } catch (_) { data = null; }
  if (!res.ok) {
    if (res.status === 401 && !path.startsWith("/api/v1/console")) {
      session = null;
      route();
    }
    const reason = (data && data.error) || `${res.status} ${res.statusText}`;
    throw new Error(reason);
  }
  return data;
}

/** Runs an action, and shows its error in the status line. */
async function attempt(fn) {
  try { return await fn(); } catch (e) { say(e.message, "error"); return undefined; }
}

function stateOf(m, now = Date.now()) {
  if (m.withdrawn_at) return "withdrawn";
  if (Date.parse(m.valid_until) <= now) return "expired";
  if (Date.parse(m.valid_from) > now) return "scheduled";
  return "active";
}

function sev(s) {
  return h("span", { class: `sev-${s}`, text: t(`severity.${s}`) });
}

/** Draws a page for route `turn`, unless a later route has begun; says
 * whether it drew. */
function page(turn, title, ...children) {
  if (turn !== routes) return false;
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", { text: title }), ...children);
  document.title = `${title} · Herald`;
  return true;
}

// ---- sign-in ---------------------------------------------------------------

function signInPage() {
  const name = h("input", { autocomplete: "username", required: true });
  const password = h("input", { type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "signin", onsubmit: async (e) => {
    e.preventDefault();
    const s = await attempt(() => api("POST", "/api/v1/console/signin",
      { name: name.value, password: password.value }));
    if (s) { session = s; say(""); go("#/compose"); }
  } },
  field(t("signin.name"), name), field(t("signin.password"), password),
  h("button", { type: "submit", text: t("signin.submit") }));
  page(routes, t("signin.title"), form);
  name.focus();
}

// ---- compose ---------------------------------------------------------------

async function recipientNames() {
  // The host list is an admin's: a sender picks hosts by typing.
  const [users, hosts] = await Promise.all([api("GET", "users"), (session && session.role === "admin" ? api("GET", "hosts") : Promise.resolve([])).catch(() => [])]);
  const names = new Set(["all"]);
  for (const u of users) {
    names.add(`user:${u.name}`);
    for (const g of u.groups) names.add(`group:${g}`);
  }
  for (const host of hosts) names.add(`host:${host.name}`);
  return [...names].sort();
}

/** A list of recipients with an input that autocompletes. */
function recipientPicker(label, names, kind, onChange) {
  const list = [];
  const chips = h("ul", { class: "chips", "aria-label": label });
  const listId = `names-${kind}`;
  const input = h("input", { list: listId, placeholder: "group:staff", "data-picker": kind });
  const add = () => {
    const v = input.value.trim();
    if (!v) return;
    if (!list.includes(v)) list.push(v);
    input.value = "";
    draw();
    onChange();
  };
  input.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); add(); } });
  function draw() {
    chips.replaceChildren(...list.map((v, i) => h("li", { class: kind },
      h("span", { text: v }),
      h("button", { type: "button", "aria-label": t("compose.remove", { name: v }), text: "×",
        onclick: () => { list.splice(i, 1); draw(); onChange(); } }))));
  }
  const box = h("div", { class: "field wide" },
    h("label", { for: `pick-${kind}`, text: label }),
    h("div", { class: "row" }, Object.assign(input, { id: `pick-${kind}` }),
      h("button", { type: "button", class: "secondary", text: t("compose.add"), onclick: add })),
    h("datalist", { id: listId }, ...names.map((n) => h("option", { value: n }))),
    chips);
  return { box, list, set(values) { list.splice(0, list.length, ...values); draw(); } };
}

function severities() {
  const all = ["info", "warning", "alert"];
  if (!session || session.role === "admin" || !session.limits) return all;
  const allowed = session.limits.severities;
  return allowed.length ? all.filter((s) => allowed.includes(s)) : ["info", "warning"];
}

async function composePage(turn = routes) {
  const names = (await attempt(recipientNames)) || [];
  const templates = (await attempt(() => api("GET", "templates"))) || [];
  const audience = h("p", { class: "audience", id: "audience", "aria-live": "polite" });
  let counting = 0;
  const recount = async () => {
    const mine = ++counting;
    if (!to.list.length) { audience.textContent = t("compose.nobody"); return; }
    const a = await attempt(() => api("POST", "audience", { to: to.list, exclude: exclude.list }));
    if (a && mine === counting) audience.textContent = t("compose.reaches", { users: a.users, hosts: a.hosts });
  };
  const to = recipientPicker(t("compose.to"), names, "include", recount);
  const exclude = recipientPicker(t("compose.exclude"), names, "exclude", recount);
  const severity = h("select", { id: "severity" },
    ...severities().map((s) => h("option", { value: s, text: t(`severity.${s}`) })));
  const content = contentEditor(severity);
  const { refresh: refreshPreview } = content.main;
  const validity = h("select", { id: "validity" },
    ...["+1h", "+4h", "+1d", "+7d"].map((v) => h("option", { value: v, text: t(`validity.${v}`) })),
    h("option", { value: "until", text: t("validity.until") }));
  validity.value = "+1d";
  const until = h("input", { type: "datetime-local", id: "until", hidden: true });
  validity.addEventListener("change", () => { until.hidden = validity.value !== "until"; });
  const from = h("input", { type: "datetime-local", id: "from" });
  const canReceipt = !session.limits || session.role === "admin" || session.limits.receipts;
  const receipt = h("select", { id: "receipt" },
    ...["read", "both", "displayed", "none"].filter((r) => canReceipt || r === "none")
      .map((r) => h("option", { value: r, text: t(`receipt.${r}`) })));
  const immediate = h("input", { type: "checkbox", id: "immediate", checked: true });

  const tplSelect = h("select", { id: "template" }, h("option", { value: "", text: t("compose.noTemplate") }),
    ...templates.map((x) => h("option", { value: x.name, text: x.name })));
  tplSelect.addEventListener("change", () => {
    const x = templates.find((y) => y.name === tplSelect.value);
    if (!x) return;
    severity.value = x.severity;
    severity.dispatchEvent(new Event("change"));
    // Every language, the answers, fullscreen and the sound, as saved.
    content.fill(x);
    receipt.value = x.receipts; if (x.valid_for) validity.value = x.valid_for;
    refreshPreview();
  });
  const tplName = h("input", { id: "template-name" });
  const tplRow = h("div", { class: "row" },
    field(t("compose.template"), tplSelect),
    session.role === "admin" ? [
      field(t("compose.templateName"), tplName),
      h("button", { type: "button", class: "secondary", text: t("compose.saveTemplate"), onclick: async () => {
        const name = tplName.value.trim() || tplSelect.value;
        if (!name) { say(t("compose.templateNameNeeded"), "error"); return; }
        const valid_for = validity.value.startsWith("+") ? validity.value : "";
        const c = content.collect();
        if (c.error) { content.fail(c); return; }
        const ok = await attempt(() => api("PUT", `templates/${encodeURIComponent(name)}`,
          { ...c.content, severity: severity.value, receipts: receipt.value, valid_for }));
        if (!ok) return;
        // The form stays as it is: saving a template is not sending.
        const i = templates.findIndex((y) => y.name === ok.name);
        if (i >= 0) templates[i] = ok;
        else {
          templates.push(ok);
          tplSelect.append(h("option", { value: ok.name, text: ok.name }));
        }
        tplSelect.value = ok.name;
        say(t("compose.templateSaved", { name: ok.name }));
      } }),
      h("button", { type: "button", class: "secondary", text: t("compose.deleteTemplate"), onclick: async () => {
        const name = tplSelect.value;
        if (!name || !confirm(t("compose.confirmDeleteTemplate", { name }))) return;
        const ok = await attempt(() => api("DELETE", `templates/${encodeURIComponent(name)}`));
        if (ok === undefined) return;
        templates.splice(templates.findIndex((y) => y.name === name), 1);
        tplSelect.querySelector(`option[value="${CSS.escape(name)}"]`)?.remove();
        tplSelect.value = "";
        say(t("compose.templateDeleted", { name }));
      } }),
    ] : null);

  const form = h("form", { class: "grid", id: "compose", onsubmit: async (e) => {
    e.preventDefault();
    if (!to.list.length) { say(t("compose.nobody"), "error"); return; }
    const c = content.collect();
    if (c.error) { content.fail(c); return; }
    const msg = {
      to: to.list, exclude: exclude.list, severity: severity.value, ...c.content,
      receipt: receipt.value, now: immediate.checked,
      valid_until: validity.value === "until" ? (until.value ? new Date(until.value).toISOString() : undefined) : validity.value,
      valid_from: from.value ? new Date(from.value).toISOString() : undefined,
    };
    const sent = await attempt(() => api("POST", "messages", msg));
    if (sent) { say(t("compose.sent", { id: sent.id })); location.hash = `#/message/${sent.id}`; }
  } },
  to.box, exclude.box, h("div", { class: "field wide" }, audience),
  field(t("compose.severity"), severity), field(t("compose.receipt"), receipt),
  field(t("compose.validFrom"), from, { hint: t("compose.validFromHint") }),
  h("div", { class: "field" }, h("label", { for: "validity", text: t("compose.validity") }), validity, until),
  h("div", { class: "field" }, h("label", { class: "row" }, immediate, t("compose.immediate"))),
  ...content.box,
  h("div", { class: "field wide" }, h("button", { type: "submit", id: "send", text: t("compose.send") })));
  if (page(turn, t("nav.compose"), tplRow, form)) recount();
}

// ---- messages --------------------------------------------------------------

async function messagesPage(turn = routes) {
  const all = (await attempt(() => api("GET", "messages"))) || [];
  const q = h("input", { type: "search", id: "filter-q" });
  const state = h("select", { id: "filter-state" }, h("option", { value: "", text: t("messages.anyState") }),
    ...["scheduled", "active", "expired", "withdrawn"].map((s) => h("option", { value: s, text: t(`state.${s}`) })));
  const tbody = h("tbody");
  const draw = () => {
    const needle = q.value.trim().toLowerCase();
    const rows = all.slice().reverse().filter((m) =>
      (!state.value || stateOf(m) === state.value) &&
      (!needle || `${m.title} ${m.body} ${m.to.join(" ")} ${m.created_by}`.toLowerCase().includes(needle)));
    tbody.replaceChildren(...rows.map((m) => h("tr", {},
      h("td", {}, h("a", { href: `#/message/${m.id}`, text: m.title })),
      h("td", { class: "marks" }, contentMarks(m)),
      h("td", {}, sev(m.severity)),
      h("td", { text: t(`state.${stateOf(m)}`) }),
      h("td", { text: [...m.to, ...m.exclude.map((x) => `−${x}`)].join(", ") }),
      h("td", { text: m.created_by || m.sender }),
      h("td", { text: when(m.created_at) }),
      h("td", { text: String(m.revision) }))));
    if (!rows.length) tbody.append(h("tr", {}, h("td", { colspan: 8, text: t("messages.none") })));
  };
  q.addEventListener("input", draw);
  state.addEventListener("change", draw);
  page(turn, t("nav.messages"),
    h("div", { class: "row" }, field(t("messages.search"), q), field(t("messages.state"), state)),
    h("div", { class: "table" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["title", "content", "severity", "state", "to", "by", "created", "revision"]
        .map((c) => h("th", { scope: "col", text: t(`messages.${c}`) })))), tbody)));
  draw();
}

async function messagePage(id, turn = routes) {
  const report = await attempt(() => api("GET", `messages/${encodeURIComponent(id)}/report`));
  if (!report) return;
  const m = report.message;
  const revisions = (await attempt(() => api("GET", `messages/${encodeURIComponent(id)}/revisions`))) || [];
  const pct = (n) => (report.addressed ? Math.round((100 * n) / report.addressed) : 0);
  const counts = h("div", { class: "counts", id: "counts" },
    h("div", {}, h("strong", { text: String(report.addressed) }), t("report.addressed")),
    h("div", {}, h("strong", { text: `${report.displayed} (${pct(report.displayed)} %)` }), t("report.displayed")),
    h("div", {}, h("strong", { id: "read-count", text: `${report.read} (${pct(report.read)} %)` }), t("report.read")),
    // Agents that refused the message: its signature did not verify.
    report.rejected ? h("div", { class: "bad" }, h("strong", { id: "rejected-count", text: String(report.rejected) }), t("report.rejected")) : null);
  const asks = (m.answers || []).length > 0;
  const cell = (r) => (r ? `${when(r.at)} · ${r.host}${r.host_proven === false ? ` (${t("report.unproven")})` : ""}` : t("report.notYet"));
  const rows = report.users.map((u) => h("tr", { "data-user": u.user },
    h("td", { text: u.user + (u.addressed ? "" : ` (${t("report.noLonger")})`) }),
    // A read implies it was shown, though a policy of "read" asks for no
    // displayed receipt.
    h("td", { class: u.displayed || u.read ? "good" : "", text: cell(u.displayed || u.read) }),
    h("td", { class: u.read ? "good" : "bad", text: cell(u.read) + (u.rejected ? ` · ${t("report.rejected")} ${cell(u.rejected)}` : "") }),
    asks ? answerCell(m, u) : null));
  const state = stateOf(m);
  const open = state !== "withdrawn" && state !== "expired";
  // A new message to those who have not read (or answered) it, or to
  // those who chose `answer`; its page follows.
  const again = async (question, answer) => {
    if (!confirm(question)) return;
    const q = answer ? `?answer=${answer}` : "";
    const sent = await attempt(() => api("POST", `messages/${encodeURIComponent(id)}/unread-again${q}`, {}));
    if (sent) { say(t("compose.sent", { id: sent.id })); location.hash = `#/message/${sent.id}`; }
  };
  const actions = h("div", { class: "row" },
    h("a", { href: `${API}/messages/${encodeURIComponent(id)}/report.csv`, download: `herald-${id}.csv`, text: t("report.csv") }),
    !open ? null : [
      h("button", { type: "button", class: "secondary", id: "again", text: t(asks ? "report.againUnanswered" : "report.again"), onclick: () =>
        again(asks ? t("report.confirmAgainUnanswered", { n: report.addressed - (report.answered || 0) })
          : t("report.confirmAgain", { n: report.addressed - report.read })) }),
      h("button", { type: "button", class: "danger", text: t("message.withdraw"), onclick: async () => {
        if (!confirm(t("message.confirmWithdraw", { title: m.title }))) return;
        const ok = await attempt(() => api("POST", `messages/${encodeURIComponent(id)}/withdraw`, {}));
        if (ok) { say(t("message.withdrawn")); messagePage(id); }
      } }),
    ]);
  const editTitle = h("input", { id: "edit-title", value: m.title });
  const editBody = h("textarea", { id: "edit-body" });
  editBody.value = m.body;
  const editSeverity = h("select", { id: "edit-severity" },
    ...severities().map((s) => h("option", { value: s, text: t(`severity.${s}`), selected: s === m.severity })));
  const edit = h("details", {}, h("summary", { text: t("message.edit") }),
    h("form", { class: "grid", onsubmit: async (e) => {
      e.preventDefault();
      const change = {};
      if (editTitle.value !== m.title) change.title = editTitle.value;
      if (editBody.value !== m.body) change.body = editBody.value;
      if (editSeverity.value !== m.severity) change.severity = editSeverity.value;
      if (!Object.keys(change).length) { say(t("message.unchanged"), "error"); return; }
      const ok = await attempt(() => api("PATCH", `messages/${encodeURIComponent(id)}`, change));
      if (ok) { say(t("message.revised", { revision: ok.revision })); messagePage(id); }
    } },
    field(t("compose.title"), editTitle, { wide: true }), field(t("compose.body"), editBody, { wide: true }),
    field(t("compose.severity"), editSeverity),
    h("div", { class: "field" }, h("button", { type: "submit", text: t("message.saveRevision") }))));
  const drawn = page(turn, m.title,
    h("p", {}, sev(m.severity), ` · ${t(`state.${state}`)} · ${t("message.revision")} ${m.revision} · `,
      `${t("messages.to")}: ${[...m.to, ...m.exclude.map((x) => `−${x}`)].join(", ")} · `,
      `${when(m.valid_from)} → ${when(m.valid_until)}`),
    contentLine(m),
    h("h2", { text: t("report.title") }), counts, actions,
    ...answersSection(report, open ? (n, count) => again(t("report.confirmAgainChose", { n: count, label: m.answers[n - 1] }), n) : null),
    h("h2", { text: t("report.users") }),
    h("div", { class: "table" }, h("table", { id: "report" },
      h("thead", {}, h("tr", {}, ...["user", "displayed", "read", ...(asks ? ["answer"] : [])].map((c) => h("th", { scope: "col", text: t(`report.${c}`) })))),
      h("tbody", {}, rows))),
    h("p", { class: "hint", text: t("report.auto") }),
    h("h2", { text: t("message.revisions") }),
    h("div", { class: "table" }, h("table", {},
      h("thead", {}, h("tr", {}, ...["revision", "when", "by", "changes"].map((c) => h("th", { scope: "col", text: t(`revisions.${c}`) })))),
      h("tbody", {}, revisions.map((r) => h("tr", {},
        h("td", { text: String(r.revision) }), h("td", { text: when(r.at) }),
        h("td", { text: r.by }), h("td", { text: r.changes })))))),
    state === "withdrawn" ? null : edit);
  if (!drawn) return;
  // The report follows receipts as they come, while it is on screen. A
  // drawing replaces the last one's timer: left running, that timer kept
  // comparing with its own, older report and drew the page every turn.
  clearInterval(refresher);
  refresher = setInterval(async () => {
    if (location.hash !== `#/message/${id}` || document.activeElement?.closest("form")) return;
    const fresh = await api("GET", `messages/${encodeURIComponent(id)}/report`).catch(() => null);
    if (fresh && (fresh.read !== report.read || fresh.displayed !== report.displayed || fresh.answered !== report.answered || fresh.users.length !== report.users.length)) {
      const focus = document.activeElement?.id;
      await messagePage(id);
      if (focus) document.getElementById(focus)?.focus();
    }
  }, 3000);
}

// ---- fleet, audit, accounts -------------------------------------------------

async function fleetPage(turn = routes) {
  const f = await attempt(() => api("GET", "fleet"));
  if (!f) return;
  const overdue = f.hosts.filter((x) => x.overdue).length;
  const outdated = f.hosts.filter((x) => x.version_warning).length;
  page(turn, t("nav.fleet"),
    h("p", {}, t("fleet.summary", { hosts: f.hosts.length, overdue, outdated, poll: f.poll_interval_secs,
      min: f.min_agent_version || "—" })),
    h("div", { class: "table" }, h("table", { id: "fleet" },
      h("thead", {}, h("tr", {}, ...["host", "user", "version", "seen", "push", "state"].map((c) => h("th", { scope: "col", text: t(`fleet.${c}`) })))),
      h("tbody", {}, f.hosts.map((x) => h("tr", { "data-host": x.name },
        h("td", { text: x.name + (x.proven ? "" : ` (${t("fleet.unproven")})`),
          title: x.proven ? null : t("fleet.unproven.why") }),
        h("td", { text: x.last_user }),
        h("td", { class: x.version_warning ? "bad" : "", title: x.version_warning || null,
          text: (x.agent_version || "?") + (x.version_warning ? ` ⚠ ${t("fleet.outdated")}` : "") }),
        h("td", { text: when(x.last_seen) }),
        h("td", { text: t(`push.${x.push}`) }),
        h("td", { class: x.overdue ? "bad" : "good", text: x.overdue ? t("fleet.overdue") : t("fleet.ok") })))))),
    ...(await sitesTable()));
}

// Site relays, for an admin (a sender may not list them: then nothing).
async function sitesTable() {
  let sites = [];
  try { sites = (await api("GET", "sites")) || []; } catch (_) { return []; }
  if (!sites.length) return [];
  return [h("h2", { text: t("sites.title") }),
    h("div", { class: "table" }, h("table", { id: "sites" },
      h("thead", {}, h("tr", {}, ...["site", "transport", "last", "state", "version"].map((c) => h("th", { scope: "col", text: t(`sites.${c}`) })))),
      h("tbody", {}, sites.map((s) => h("tr", { "data-site": s.name },
        h("td", { text: s.name }), h("td", { text: s.transport }),
        h("td", { text: s.last_exchange ? when(s.last_exchange) : t("sites.never") }),
        h("td", { class: s.state === "up-to-date" ? "good" : "bad", text: t(`sites.${s.state}`), title: s.last_error || null }),
        h("td", { class: s.version_warning ? "bad" : "", title: s.version_warning || null,
          text: (s.version || "?") + (s.version_warning ? ` ⚠ ${s.version_warning}` : "") }))))))];
}

async function auditPage(turn = routes) {
  const params = new URLSearchParams(location.hash.split("?")[1] || "");
  const actor = h("input", { id: "audit-actor", value: params.get("actor") || "" });
  const action = h("input", { id: "audit-action", value: params.get("action") || "" });
  const q = h("input", { id: "audit-q", type: "search", value: params.get("q") || "" });
  const query = new URLSearchParams();
  for (const [k, v] of [["actor", actor.value], ["action", action.value], ["q", q.value]]) if (v) query.set(k, v);
  const lines = (await attempt(() => api("GET", `audit?${query}`))) || [];
  const form = h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of [["actor", actor.value], ["action", action.value], ["q", q.value]]) if (v.trim()) next.set(k, v.trim());
    location.hash = `#/audit?${next}`;
  } }, field(t("audit.actor"), actor), field(t("audit.action"), action), field(t("audit.q"), q),
  h("button", { type: "submit", text: t("audit.filter") }),
  h("a", { href: `${API}/audit.csv?${query}`, download: "herald-audit.csv", text: t("audit.csv") }));
  page(turn, t("nav.audit"), form, h("p", { class: "hint", text: t("audit.kept") }),
    h("div", { class: "table" }, h("table", { id: "audit" },
      h("thead", {}, h("tr", {}, ...["when", "actor", "action", "target", "detail", "source"].map((c) => h("th", { scope: "col", text: t(`audit.${c}`) })))),
      h("tbody", {}, lines.map((l) => h("tr", {},
        h("td", { text: when(l.at) }), h("td", { text: visible(l.actor) }), h("td", { text: visible(l.action) }),
        h("td", { text: visible(l.target) }), h("td", { text: visible(l.detail) }), h("td", { text: visible(l.source) })))))));
}

/** Control characters as visible escapes, as `herald-server audit` shows
 * them: a name typed into the sign-in form cannot pass for more lines. */
function visible(text) {
  return String(text).replace(/[\\\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === "\\") return "\\\\";
    if (c === "\n") return "\\n";
    if (c === "\r") return "\\r";
    if (c === "\t") return "\\t";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

async function accountsPage(turn = routes) {
  const accounts = (await attempt(() => api("GET", "accounts"))) || [];
  const name = h("input", { id: "acct-name", required: true });
  const role = h("select", { id: "acct-role" }, h("option", { value: "sender", text: t("role.sender") }),
    h("option", { value: "admin", text: t("role.admin") }));
  const password = h("input", { id: "acct-password", type: "password", autocomplete: "new-password", minlength: 12 });
  const targets = h("input", { id: "acct-targets", placeholder: "group:staff, host:pc-1" });
  const sevs = ["info", "warning", "alert"].map((s) => h("input", { type: "checkbox", value: s, id: `acct-sev-${s}`, checked: s !== "alert" }));
  const receipts = h("input", { type: "checkbox", id: "acct-receipts", checked: true });
  const readAddressed = h("input", { type: "checkbox", id: "acct-read-addressed" });
  const anySender = h("input", { type: "checkbox", id: "acct-any-sender" });
  const answers = h("input", { type: "checkbox", id: "acct-answers" });
  const fullscreen = h("input", { type: "checkbox", id: "acct-fullscreen" });
  const tokenBox = h("div", { id: "token-box" });
  const form = h("form", { class: "grid", onsubmit: async (e) => {
    e.preventDefault();
    const acct = { name: name.value.trim(), role: role.value, password: password.value || undefined };
    if (role.value === "sender") {
      acct.limits = { targets: targets.value.split(",").map((x) => x.trim()).filter(Boolean),
        severities: sevs.filter((c) => c.checked).map((c) => c.value), receipts: receipts.checked,
        read_addressed: readAddressed.checked, any_sender: anySender.checked,
        answers: answers.checked, fullscreen: fullscreen.checked };
    }
    // A new account takes no limits: they are set on it once made.
    const { limits, ...fresh } = acct;
    const ok = await attempt(async () => {
      const made = await api("POST", "accounts", fresh);
      return limits ? api("PATCH", `accounts/${encodeURIComponent(made.name)}`, { limits }) : made;
    });
    if (ok) { say(t("accounts.added", { name: ok.name })); accountsPage(); }
  } },
  field(t("accounts.name"), name), field(t("accounts.role"), role),
  field(t("accounts.password"), password, { hint: t("accounts.passwordHint") }),
  field(t("accounts.targets"), targets, { hint: t("accounts.targetsHint") }),
  h("fieldset", { class: "field" }, h("legend", { text: t("accounts.severities") }),
    ...sevs.map((c) => h("label", { class: "row" }, c, t(`severity.${c.value}`)))),
  h("div", { class: "field" }, h("label", { class: "row" }, receipts, t("accounts.receipts"))),
  h("div", { class: "field" }, h("label", { class: "row" }, readAddressed, t("accounts.readAddressed"))),
  h("div", { class: "field" }, h("label", { class: "row" }, anySender, t("accounts.anySender"))),
  h("div", { class: "field" }, h("label", { class: "row" }, answers, t("accounts.answers"))),
  h("div", { class: "field" }, h("label", { class: "row" }, fullscreen, t("accounts.fullscreen"))),
  h("div", { class: "field" }, h("button", { type: "submit", text: t("accounts.add") })));
  const limitsText = (a) => (a.limits
    ? `${a.limits.targets.join(", ")} · ${(a.limits.severities.length ? a.limits.severities : ["info", "warning"]).join("/")}${a.limits.receipts ? ` · ${t("accounts.receiptsShort")}` : ""}${a.limits.answers ? ` · ${t("accounts.answersShort")}` : ""}${a.limits.fullscreen ? ` · ${t("accounts.fullscreenShort")}` : ""}`
    : "");
  page(turn, t("nav.accounts"),
    h("div", { class: "table" }, h("table", { id: "accounts" },
      h("thead", {}, h("tr", {}, ...["name", "role", "limits", "state", "actions"].map((c) => h("th", { scope: "col", text: t(`accounts.${c}`) })))),
      h("tbody", {}, accounts.map((a) => h("tr", {},
        h("td", { text: a.name }), h("td", { text: t(`role.${a.role}`) }), h("td", { text: limitsText(a) }),
        h("td", { text: a.disabled ? t("accounts.disabled") : t("accounts.enabled") }),
        h("td", {}, h("div", { class: "row" },
          h("button", { type: "button", class: "secondary", text: a.disabled ? t("accounts.enable") : t("accounts.disable"),
            onclick: async () => {
              const ok = await attempt(() => api("PATCH", `accounts/${encodeURIComponent(a.name)}`, { disabled: !a.disabled }));
              if (ok) accountsPage();
            } }),
          h("button", { type: "button", class: "secondary", text: t("accounts.token"), onclick: async () => {
            const tok = await attempt(() => api("POST", `accounts/${encodeURIComponent(a.name)}/token`, {}));
            if (tok) tokenBox.replaceChildren(h("p", { text: t("accounts.tokenOnce", { name: tok.name }) }),
              h("pre", { class: "token", text: tok.token }));
          } })))))))),
    tokenBox, h("h2", { text: t("accounts.new") }), form);
}

// ---- routing ---------------------------------------------------------------

async function route() {
  const turn = ++routes;
  clearInterval(refresher);
  applyWords();
  const nav = document.getElementById("nav");
  if (!session) {
    session = await fetch("/api/v1/console/session", { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null)).catch(() => null);
  }
  nav.hidden = !session;
  document.getElementById("signout").hidden = !session;
  document.getElementById("who").textContent = session ? `${session.name} (${t(`role.${session.role}`)})` : "";
  if (!session) return signInPage();
  for (const a of nav.querySelectorAll("[data-admin]")) a.hidden = session.role !== "admin";
  const [path, arg] = location.hash.replace(/^#\//, "").split("?")[0].split("/");
  for (const a of nav.querySelectorAll("a")) {
    if (a.getAttribute("href") === `#/${path}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  const pages = { compose: composePage, messages: messagesPage, message: (n) => messagePage(decodeURIComponent(arg || ""), n),
    fleet: fleetPage, audit: auditPage, accounts: accountsPage };
  await (pages[path] || composePage)(turn);
  if (turn === routes) document.getElementById("main").focus({ preventScroll: true });
}

/** Shows the page at `hash`, drawn once. */
function go(hash) {
  // A new hash fires hashchange, which routes. Routing here as well drew
  // the page twice, and the later drawing wiped what had been typed into
  // the first (a recipient, in CI).
  if (location.hash === hash) route();
  else location.hash = hash;
}

function applyWords() {
  document.documentElement.lang = window.heraldLang();
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  document.getElementById("skip").textContent = t("skip");
}

window.addEventListener("hashchange", () => { say(""); route(); });
window.addEventListener("DOMContentLoaded", () => {
  const lang = document.getElementById("lang");
  lang.value = window.heraldLang();
  lang.addEventListener("change", () => { window.heraldSetLang(lang.value); route(); });
  document.getElementById("signout").addEventListener("click", async () => {
    await attempt(() => api("POST", "/api/v1/console/signout", {}));
    session = null;
    go("");
  });
  route();
});
