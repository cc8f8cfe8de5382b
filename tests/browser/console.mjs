// Drives the admin console in Debian's Chromium, headless, one phase per
// run; tests/tests/console.rs starts the server and agents and runs the
// phases in turn. Each phase prints JSON lines; a failed check throws, and
// the process exits non-zero with the reason.
//
//   node console.mjs PHASE   with HERALD_URL, HERALD_STATE (a file for the
//   session between phases), HERALD_SHOTS (a folder, or empty) and the
//   phase's own variables.
import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { answers, languages } from "./languages.mjs";

const url = process.env.HERALD_URL;
const state = process.env.HERALD_STATE;
const shots = process.env.HERALD_SHOTS || "";
const phase = process.argv[2];

function out(obj) {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

async function shot(page, name) {
  if (!shots) return;
  // A full-page screenshot leaves the preview frame blank: make the window
  // as tall as the page instead.
  const size = page.viewportSize();
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  await page.setViewportSize({ width: size.width, height: Math.max(size.height, height) });
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${shots}/${name}.png` });
  await page.setViewportSize(size);
}

/** Waits for a line on stdin: the Rust side says when it has done its part. */
function nextLine() {
  const rl = createInterface({ input: process.stdin });
  return new Promise((resolve) => rl.once("line", (l) => { rl.close(); resolve(l); }));
}

async function signIn(page, name, password) {
  await page.goto(`${url}/admin`);
  await page.getByLabel(/^(Account|Compte|Konto)$/).fill(name);
  await page.getByLabel(/^(Password|Mot de passe|Passwort)$/).fill(password);
  // Every page drawn from here on, for drawnOnce.
  await page.evaluate(() => {
    window.heraldDrawn = [];
    new MutationObserver((changes) => {
      for (const c of changes) {
        for (const n of c.addedNodes) if (n.tagName === "H1") window.heraldDrawn.push(n.textContent);
      }
    }).observe(document.getElementById("main"), { childList: true });
  });
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Signing in drew the compose page once: a second drawing wipes what was
 * typed into the first, which is how a recipient went missing in CI. Call
 * it once the page has answered something typed into it. */
async function drawnOnce(page) {
  assert.deepEqual(await page.evaluate(() => window.heraldDrawn), ["Compose"], "pages drawn after sign-in");
}

async function compose(page) {
  const xss = [];
  page.on("dialog", (d) => { xss.push(d.message()); d.dismiss(); });

  // A wrong password first: refused, and it goes to the audit log.
  await signIn(page, process.env.ADMIN_NAME, "not the password at all");
  await page.getByRole("alert").filter({ hasText: "wrong" }).waitFor();
  await signIn(page, process.env.ADMIN_NAME, process.env.ADMIN_PASSWORD);
  await page.getByRole("navigation").waitFor();
  await page.getByRole("heading", { name: "Compose" }).waitFor();

  // By the keyboard: type a recipient and press Enter.
  await page.locator("#pick-include").fill("group:staff");
  await page.locator("#pick-include").press("Enter");
  await page.locator("#pick-exclude").fill("user:bob");
  await page.locator("#pick-exclude").press("Enter");
  await page.locator("#audience").filter({ hasText: "Reaches 1 user(s)" }).waitFor();
  await drawnOnce(page);

  await page.locator("#severity").selectOption("alert");
  await page.locator("#title").fill("Fire drill now");
  const body = [
    "**Leave the building** by the nearest exit.",
    "",
    "<script>window.parent.__xss = 'script'; alert('script')</script>",
    "<img src=x onerror=\"window.parent.__xss = 'img'; alert('img')\">",
    "[click](javascript:alert('link'))",
  ].join("\n");
  await page.locator("#body").fill(body);
  const preview = page.frameLocator("#preview");
  await preview.locator("strong", { hasText: "Leave the building" }).waitFor();
  // The payload is shown as text, nothing of it is an element, and nothing ran.
  const text = await preview.locator("body").innerText();
  assert.match(text, /<script>window\.parent\.__xss/);
  assert.equal(await preview.locator("script, img, [onerror]").count(), 0);
  assert.equal(await preview.locator("a[href^='javascript']").count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);
  const sandbox = await page.locator("#preview").getAttribute("sandbox");
  assert.equal(sandbox, "", "the preview frame is sandboxed with no permissions");
  // Saved as a template, the form stays as it was.
  await page.locator("#template-name").fill("Fire drill");
  await page.getByRole("button", { name: "Save template" }).click();
  await page.getByRole("status").filter({ hasText: "Template Fire drill saved." }).waitFor();
  assert.equal(await page.locator("#title").inputValue(), "Fire drill now");
  // The frame has been filled; let it paint before the picture.
  await page.waitForTimeout(500);
  await shot(page, "console-compose");

  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.waitForURL(/#\/message\//);
  const id = decodeURIComponent(page.url().split("#/message/")[1]);
  await page.getByRole("heading", { name: "Fire drill now" }).waitFor();

  // CSRF: the session cookie alone changes nothing, nor does a wrong token.
  const csrf = await page.evaluate(async () => {
    const send = (headers) => fetch("/api/v1/admin/messages", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", ...headers },
      body: JSON.stringify({ to: ["all"], severity: "info", title: "forged", body: "" }),
    }).then(async (r) => ({ status: r.status, error: (await r.json()).error }));
    return [await send({}), await send({ "X-Herald-CSRF": "0".repeat(64) })];
  });
  assert.equal(xss.length, 0, `a dialog opened: ${xss}`);
  await page.context().storageState({ path: state });
  out({ id, csrf });
}

async function report(page) {
  const id = process.env.HERALD_MESSAGE;
  await page.goto(`${url}/admin#/message/${encodeURIComponent(id)}`);
  const row = page.locator('#report tr[data-user="ann"]');
  await row.waitFor();
  assert.equal(await page.locator('#report tr[data-user="bob"]').count(), 0, "bob was excluded");
  assert.match(await row.innerText(), /not yet/);
  out({ ready: true });
  // The agent reads it now; the open report shows it without a reload.
  await nextLine();
  await page.locator("#read-count").filter({ hasText: "1 (100 %)" }).waitFor({ timeout: 20000 });
  // It draws again only when the report changes: two more turns of its
  // three-second refresh leave it as it is.
  const redrawn = await page.evaluate(() => new Promise((done) => {
    let n = 0;
    const seen = new MutationObserver(() => { n += 1; });
    seen.observe(document.getElementById("main"), { childList: true });
    setTimeout(() => { seen.disconnect(); done(n); }, 6500);
  }));
  assert.equal(redrawn, 0, "the report was drawn again with nothing new");
  assert.match(await row.innerText(), /pc-ann/);
  await shot(page, "console-report");

  // A page whose data comes late is not drawn over the next one: the
  // message list answers after the fleet has been drawn.
  const list = /\/api\/v1\/admin\/messages$/;
  await page.route(list, async (r) => { await new Promise((done) => setTimeout(done, 1500)); await r.continue(); });
  await page.getByRole("link", { name: "Messages" }).click();
  await page.getByRole("link", { name: "Fleet" }).click();
  await page.locator('#fleet tr[data-host="pc-ann"]').waitFor();
  await page.waitForTimeout(2000);
  assert.equal(await page.locator("#main h1").innerText(), "Fleet", "a late page drawn over the fleet");
  await page.unroute(list);
  const fleet = await page.locator("#fleet tbody").innerText();
  // A site relay registered and never heard from shows under the fleet.
  await page.locator('#sites tr[data-site="plant-x"]').waitFor();
  const sites = await page.locator("#sites tbody").innerText();
  await shot(page, "console-fleet");

  await page.getByRole("link", { name: "Audit log" }).click();
  await page.locator("#audit tbody tr").first().waitFor();
  const audit = await page.locator("#audit tbody").innerText();
  await page.locator("#audit-action").fill("send");
  await page.locator("#audit-action").press("Enter");
  await page.waitForURL(/action=send/);
  // The old rows stay until the filtered answer arrives: wait for it.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#audit tbody tr")];
    return rows.length > 0 && rows.every((r) => r.cells[2]?.innerText === "send");
  });
  const sends = await page.locator("#audit tbody tr").count();

  // The same page in French and German.
  await page.locator("#lang").selectOption("fr");
  await page.getByRole("link", { name: "Journal d’audit" }).waitFor();
  await page.locator("#lang").selectOption("de");
  await page.getByRole("link", { name: "Prüfprotokoll" }).waitFor();
  await page.locator("#lang").selectOption("en");

  // At 200 % zoom (half the width, twice the size) nothing needs a
  // sideways scroll but the wide tables, which scroll in their own box.
  await page.setViewportSize({ width: 640, height: 900 });
  await page.goto(`${url}/admin#/compose`);
  await page.locator("#title").waitFor();
  // A template fills the form.
  await page.locator("#template").selectOption("Fire drill");
  assert.equal(await page.locator("#title").inputValue(), "Fire drill now");
  assert.equal(await page.locator("#severity").inputValue(), "alert");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the compose page is ${overflow}px too wide at 640px`);
  out({ fleet, sites, audit, sends });
}

async function sender(page) {
  await signIn(page, process.env.SENDER_NAME, process.env.SENDER_PASSWORD);
  await page.getByRole("heading", { name: "Compose" }).waitFor();
  // No admin pages, and no alert to pick.
  assert.equal(await page.getByRole("link", { name: "Accounts" }).count(), 0);
  const options = await page.locator("#severity option").evaluateAll((o) => o.map((x) => x.value));
  assert.deepEqual(options, ["info", "warning"]);
  // Nor answers or fullscreen, which its limits do not allow: disabled,
  // with why.
  assert.ok(await page.locator("#ask").isDisabled(), "answers offered to a sender without them");
  assert.match(await page.locator("#ask-why").innerText(), /may not ask for answers/);
  assert.ok(await page.locator("#fullscreen").isDisabled(), "fullscreen offered to a sender without it");
  await page.locator("#pick-include").fill("group:staff");
  await page.locator("#pick-include").press("Enter");
  await page.locator("#audience").filter({ hasText: /Reaches \d+ user/ }).waitFor();
  await drawnOnce(page);
  await page.locator("#title").fill("Not mine to send");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  const refused = await page.getByRole("alert").innerText();
  // The API behind the page says the same, whatever the page offers.
  const api = await page.evaluate(async () => {
    const s = await fetch("/api/v1/console/session").then((r) => r.json());
    const send = (msg) => fetch("/api/v1/admin/messages", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Herald-CSRF": s.csrf },
      body: JSON.stringify({ title: "by hand", body: "", ...msg }),
    }).then(async (r) => ({ status: r.status, error: (await r.json()).error }));
    return [
      await send({ to: ["group:staff"], severity: "info" }),
      await send({ to: ["group:ops"], severity: "alert" }),
      await send({ to: ["group:ops"], severity: "info" }),
    ];
  });
  out({ refused, api });
}

const browser = await chromium.launch({
  executablePath: process.env.HERALD_CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"],
});
try {
  const context = await browser.newContext({
    storageState: ["report", "answers"].includes(phase) && existsSync(state) ? state : undefined,
    viewport: { width: 1280, height: 900 },
    locale: "en-US",
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/status of (4\d\d)/.test(m.text())) errors.push(m.text()); });
  const io = { url, signIn, drawnOnce, shot, out };
  try {
    await { compose, report, sender, languages, answers }[phase](page, io);
  } catch (e) {
    // A check that timed out often waited on a page that had failed.
    if (errors.length) process.stderr.write(`the page reported: ${errors.join("\n")}\n`);
    const shown = await page.locator("body").innerText().catch(() => "?");
    process.stderr.write(`the page showed ${page.url()}:\n${shown}\n`);
    throw e;
  }
  assert.deepEqual(errors, [], "the page reported errors");
} finally {
  await browser.close();
}
