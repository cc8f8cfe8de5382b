// What a message carries beyond one title and body, in the console:
// compose's tab per language, its table of answers × languages, display
// and sound; the message list's marks; the report's answers. It uses
// console.js's helpers (h, t, field, api, attempt, say), called only once
// the page has loaded both scripts.
"use strict";

const MIN_ANSWERS = 2;
const MAX_ANSWERS = 5;
const MAX_VERSIONS = 20;

/** A BCP 47 tag as the server checks it: a 2–3 letter language, then
 * subtags of 1–8 letters or digits. */
function isLanguageTag(tag) {
  return /^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$/.test(tag);
}

/** Whether the signed-in account may do `what` (`answers`, `fullscreen`):
 * an admin may do all; a sender as its limits say. */
function may(what) {
  return !session.limits || session.role === "admin" || !!session.limits[what];
}

/** The default version's tag, then the others'. */
function languagesOf(m) {
  const x = m.translations || [];
  return x.length ? [m.lang || "en", ...x.map((v) => v.lang)] : (m.lang ? [m.lang] : []);
}

/** The list's marks for a message: languages, answers, fullscreen, sound. */
function contentMarks(m) {
  const marks = [];
  const langs = languagesOf(m);
  if (langs.length > 1) marks.push(h("span", { class: "langs", title: t("messages.languages"), text: langs.join(" ") }));
  if ((m.answers || []).length) {
    marks.push(h("span", { class: "mark", title: t("messages.answers", { n: m.answers.length }), text: `☑ ${m.answers.length}` }));
  }
  if (m.display === "fullscreen") marks.push(h("span", { class: "mark", title: t("compose.fullscreen"), text: "⛶" }));
  if (m.sound === "alert") marks.push(h("span", { class: "mark", title: t("compose.soundAlert"), text: "🔔" }));
  return marks;
}

/** One line for a message's page: its languages, answers, display, sound. */
function contentLine(m) {
  const parts = [];
  const langs = languagesOf(m);
  if (langs.length) parts.push(`${t("compose.languages")}: ${langs.join(" ")}`);
  if ((m.answers || []).length) parts.push(`${t("compose.answers")}: ${m.answers.join(" / ")}`);
  if (m.display === "fullscreen") parts.push(t("compose.fullscreen"));
  parts.push(`${t("compose.sound")}: ${t(`sound.${m.sound || "none"}`)}`);
  return h("p", { id: "content-line", text: parts.join(" · ") });
}

// ---- compose ---------------------------------------------------------------

/** A Markdown preview frame that follows a body, as the agent renders it. */
function previewOf(body, id, label) {
  const frame = h("iframe", { class: "preview", id, sandbox: "", title: label });
  let timer;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const p = await attempt(() => api("POST", "preview", { body: body.value }));
      if (p) frame.srcdoc = `<!doctype html><meta charset="utf-8"><body>${p.html}`;
    }, 250);
  };
  body.addEventListener("input", refresh);
  return { frame, refresh };
}

/** Compose's languages, answers, display and sound. `severity` is the
 * form's select; the default version keeps the ids `title`, `body` and
 * `preview`, the others add their tag (`title-fr`). */
function contentEditor(severity) {
  const versions = [];
  let current = null;
  const tablist = h("div", { role: "tablist", class: "tabs", id: "lang-tabs", "aria-label": t("compose.languages") });
  const panels = h("div", { class: "panels" });
  const newTag = h("input", { id: "new-lang", placeholder: "fr", size: 8, maxlength: 35 });
  const addLang = h("button", { type: "button", class: "secondary", id: "add-lang", text: t("compose.addLang"),
    onclick: () => {
      const tag = newTag.value.trim();
      const error = tagError(tag, null);
      if (error) { say(error, "error"); newTag.focus(); return; }
      say("");
      newTag.value = "";
      show(addVersion(tag));
      drawAnswers();
    } });
  newTag.addEventListener("keydown", (e) => { if (e.key === "Enter") { e.preventDefault(); addLang.click(); } });

  function tagError(tag, except) {
    if (!isLanguageTag(tag)) return t("compose.badTag", { tag });
    if (versions.some((v) => v !== except && v.tag().toLowerCase() === tag.toLowerCase())) return t("compose.tagTwice", { tag });
    if (!except && versions.length >= MAX_VERSIONS) return t("compose.tooManyLangs", { n: MAX_VERSIONS });
    return null;
  }

  function addVersion(tag) {
    const main = !versions.length;
    const key = main ? "" : `-${tag}`;
    const v = { main };
    // Not `required`: the browser could not point at a field in a hidden
    // tab; collect() says which language lacks its title instead.
    v.title = h("input", { id: `title${key}`, maxlength: 200, lang: main ? null : tag });
    v.body = h("textarea", { id: `body${key}`, lang: main ? null : tag });
    const pv = previewOf(v.body, `preview${key}`, t("compose.preview"));
    v.refresh = pv.refresh;
    v.tagInput = main ? h("input", { id: "lang-default", value: tag, size: 8, maxlength: 35 }) : null;
    v.tag = () => (main ? v.tagInput.value.trim() : tag);
    v.tab = h("button", { type: "button", role: "tab", id: `tab${key || "-default"}`, "aria-controls": `panel${key || "-default"}`,
      onclick: () => show(v), onkeydown: (e) => {
        const step = { ArrowRight: 1, ArrowLeft: -1 }[e.key];
        if (!step) return;
        e.preventDefault();
        const next = versions[(versions.indexOf(v) + step + versions.length) % versions.length];
        show(next);
        next.tab.focus();
      } });
    const label = () => { v.tab.textContent = main ? t("compose.defaultLang", { tag: v.tag() || "?" }) : tag; };
    label();
    v.panel = h("div", { role: "tabpanel", id: `panel${key || "-default"}`, "aria-labelledby": v.tab.id, class: "panel" },
      main
        ? field(t("compose.langTag"), v.tagInput, { hint: t("compose.langTagHint") })
        : h("div", { class: "field" }, h("button", { type: "button", class: "secondary", id: `remove-lang${key}`,
          text: t("compose.removeLang", { tag }), onclick: () => {
            versions.splice(versions.indexOf(v), 1);
            v.tab.remove();
            v.panel.remove();
            if (current === v) show(versions[0]);
            drawAnswers();
          } })),
      field(t("compose.title"), v.title, { wide: true }),
      field(t("compose.body"), v.body, { wide: true, hint: t("compose.markdown") }),
      h("div", { class: "field wide" }, h("span", { class: "hint", text: t("compose.preview") }), pv.frame));
    if (main) v.tagInput.addEventListener("input", () => { label(); drawAnswers(); });
    versions.push(v);
    tablist.append(v.tab);
    panels.append(v.panel);
    return v;
  }

  function show(v) {
    current = v;
    for (const x of versions) {
      const on = x === v;
      x.tab.setAttribute("aria-selected", on ? "true" : "false");
      x.tab.tabIndex = on ? 0 : -1;
      x.panel.hidden = !on;
    }
    v.refresh();
  }

  // Answers: rows of labels, one input per language; the inputs live on
  // across redraws, so that adding a language keeps what was typed.
  const canAnswer = may("answers");
  const ask = h("input", { type: "checkbox", id: "ask", disabled: !canAnswer });
  const rows = [];
  const answerTable = h("table", { id: "answer-table", class: "answers" });
  const addAnswer = h("button", { type: "button", class: "secondary", id: "add-answer", text: t("compose.addAnswer"),
    onclick: () => { rows.push(new Map()); drawAnswers(); } });
  const answersBox = h("div", { class: "field wide", hidden: true }, h("div", { class: "table" }, answerTable), h("div", { class: "row" }, addAnswer));
  ask.addEventListener("change", () => {
    while (ask.checked && rows.length < MIN_ANSWERS) rows.push(new Map());
    answersBox.hidden = !ask.checked;
    drawAnswers();
  });
  function inputOf(row, v, n) {
    if (!row.has(v)) row.set(v, h("input", { maxlength: 60, lang: v.main ? null : v.tag() }));
    const input = row.get(v);
    input.id = v.main ? `answer-${n}` : `answer-${n}-${v.tag()}`;
    input.setAttribute("aria-label", t("compose.answerIn", { n, tag: v.tag() }));
    return input;
  }
  function drawAnswers() {
    addAnswer.disabled = rows.length >= MAX_ANSWERS;
    answerTable.replaceChildren(
      h("thead", {}, h("tr", {}, h("th", { scope: "col", text: t("compose.answer") }),
        ...versions.map((v) => h("th", { scope: "col", text: v.tag() })), h("th", { scope: "col" }))),
      h("tbody", {}, rows.map((row, i) => h("tr", {},
        h("th", { scope: "row", text: String(i + 1) }),
        ...versions.map((v) => h("td", {}, inputOf(row, v, i + 1))),
        h("td", {}, h("button", { type: "button", class: "secondary", disabled: rows.length <= MIN_ANSWERS,
          "aria-label": t("compose.removeAnswer", { n: i + 1 }), text: "×",
          onclick: () => { rows.splice(i, 1); drawAnswers(); } }))))));
  }

  // Display and sound: fullscreen for alerts only, and for an account
  // allowed it; an alert rings unless the sender says otherwise.
  const fullscreen = h("input", { type: "checkbox", id: "fullscreen" });
  const fullscreenWhy = h("span", { class: "hint", id: "fullscreen-why" });
  const sound = h("select", { id: "sound" }, ...["none", "alert"].map((s) => h("option", { value: s, text: t(`sound.${s}`) })));
  let soundChosen = false;
  sound.addEventListener("change", () => { soundChosen = true; });
  const follow = () => {
    const alert = severity.value === "alert";
    fullscreen.disabled = !alert || !may("fullscreen");
    if (fullscreen.disabled) fullscreen.checked = false;
    fullscreenWhy.textContent = !may("fullscreen") ? t("compose.fullscreenNotAllowed") : (alert ? "" : t("compose.fullscreenAlerts"));
    if (!soundChosen) sound.value = alert ? "alert" : "none";
  };
  severity.addEventListener("change", follow);

  const mainVersion = addVersion("en");
  show(mainVersion);
  drawAnswers();
  follow();

  const box = [
    h("fieldset", { class: "field wide langs-box" }, h("legend", { text: t("compose.languages") }),
      h("div", { class: "row" }, tablist, h("span", { class: "spacer" }),
        h("label", { for: "new-lang", text: t("compose.newLang") }), newTag, addLang),
      panels),
    h("fieldset", { class: "field wide" }, h("legend", { text: t("compose.answers") }),
      h("label", { class: "row" }, ask, t("compose.ask")),
      h("span", { class: "hint", id: "ask-why", text: canAnswer ? t("compose.askHint") : t("compose.askNotAllowed") }),
      answersBox),
    h("div", { class: "field" }, h("label", { class: "row" }, fullscreen, t("compose.fullscreen")), fullscreenWhy),
    field(t("compose.sound"), sound),
  ];

  /** The message's content as NewMessage has it, or an error to show. */
  function collect() {
    for (const v of versions) {
      const error = tagError(v.tag(), v);
      if (error) return { error };
    }
    const [main, ...others] = versions;
    const x = { title: main.title.value, body: main.body.value, sound: sound.value };
    // A single version in English says nothing: the server takes it so.
    if (others.length || main.tag().toLowerCase() !== "en") x.lang = main.tag();
    x.translations = others.map((v) => ({ lang: v.tag(), title: v.title.value, body: v.body.value }));
    if (ask.checked) {
      for (const [i, row] of rows.entries()) {
        for (const v of versions) {
          if (!inputOf(row, v, i + 1).value.trim()) return { error: t("compose.answerMissing", { n: i + 1, tag: v.tag() }), focus: row.get(v) };
        }
      }
      x.answers = rows.map((row) => row.get(main).value.trim());
      others.forEach((v, k) => { x.translations[k].answers = rows.map((row) => row.get(v).value.trim()); });
    }
    for (const v of versions) {
      if (!v.title.value.trim()) return { error: t("compose.titleMissing", { tag: v.tag() }), focus: v.title, version: v };
    }
    if (fullscreen.checked) x.display = "fullscreen";
    return { content: x };
  }

  /** Fills the editor from a template (or anything shaped like NewMessage):
   * every language, the answers, fullscreen and the sound. */
  function fill(x) {
    for (const v of versions.slice(1)) { v.tab.remove(); v.panel.remove(); }
    versions.splice(1);
    mainVersion.tagInput.value = x.lang || "en";
    mainVersion.tagInput.dispatchEvent(new Event("input"));
    mainVersion.title.value = x.title || "";
    mainVersion.body.value = x.body || "";
    const others = (x.translations || []).map((tr) => {
      const v = addVersion(tr.lang);
      v.title.value = tr.title;
      v.body.value = tr.body;
      return [v, tr];
    });
    rows.splice(0);
    (x.answers || []).forEach((label, i) => {
      const row = new Map();
      row.set(mainVersion, h("input", { maxlength: 60, value: label }));
      for (const [v, tr] of others) row.set(v, h("input", { maxlength: 60, lang: tr.lang, value: (tr.answers || [])[i] || "" }));
      rows.push(row);
    });
    ask.checked = rows.length > 0 && canAnswer;
    answersBox.hidden = !ask.checked;
    drawAnswers();
    follow();
    fullscreen.checked = x.display === "fullscreen" && !fullscreen.disabled;
    if (x.sound) { sound.value = x.sound; soundChosen = true; }
    show(mainVersion);
  }

  return {
    box, collect, fill, main: mainVersion,
    fail(c) { say(c.error, "error"); if (c.version) show(c.version); c.focus?.focus(); },
  };
}

// ---- report ----------------------------------------------------------------

/** A report's answers: per answer its count, share and bar, with "send
 * again to those who chose it"; who has not answered. `again(n)` sends
 * the message again to those who chose `n`. */
function answersSection(report, again) {
  const m = report.message;
  if (!(m.answers || []).length) return [];
  const labels = (n) => (m.translations || []).map((v) => v.answers?.[n - 1]).filter(Boolean);
  const counts = report.answers?.length ? report.answers
    : m.answers.map((label, i) => ({ answer: i + 1, label, count: 0, percent: 0 }));
  const unanswered = report.users.filter((u) => u.addressed && !u.answered).map((u) => u.user);
  return [
    h("h2", { text: t("report.answers") }),
    h("p", { id: "answered-count", text: t("report.answeredOf", { n: report.answered || 0, of: report.addressed }) }),
    h("div", { class: "table" }, h("table", { id: "answers" },
      h("thead", {}, h("tr", {}, ...["answer", "count", "percent", "graph", "again"].map((c) =>
        h("th", { scope: "col", text: c === "again" ? "" : t(`report.answers.${c}`) })))),
      h("tbody", {}, counts.map((a) => h("tr", { "data-answer": a.answer },
        h("td", {}, h("strong", { text: `${a.answer}. ${a.label}` }),
          labels(a.answer).length ? h("span", { class: "hint", text: ` (${labels(a.answer).join(" / ")})` }) : null),
        h("td", { class: "count", text: String(a.count) }),
        h("td", { class: "percent", text: `${Math.round(a.percent)} %` }),
        h("td", {}, h("meter", { min: 0, max: 100, value: a.percent, "aria-label": t("report.answers.bar", { label: a.label }) })),
        h("td", {}, again ? h("button", { type: "button", class: "secondary", id: `again-${a.answer}`,
          disabled: !a.count, text: t("report.againChose", { n: a.answer }),
          onclick: () => again(a.answer, a.count) }) : null)))))),
    h("p", { id: "unanswered" }, h("strong", { text: `${t("report.unanswered", { n: unanswered.length })} ` }),
      unanswered.length ? unanswered.join(", ") : "—"),
  ];
}

/** The report's cell for a user's answer: which, and where and in what
 * language it was chosen. */
function answerCell(m, u) {
  const a = u.answered;
  if (!a) return h("td", { class: "bad", text: t("report.notAnswered") });
  const label = m.answers?.[(a.answer || 0) - 1] ?? "?";
  const where = [when(a.at), a.host, a.lang ? `${t("report.lang")} ${a.lang}` : null].filter(Boolean).join(" · ");
  return h("td", { class: "good answer" }, h("strong", { text: `${a.answer}. ${label}` }), ` · ${where}`);
}
