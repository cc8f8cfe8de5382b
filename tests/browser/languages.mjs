// The console's phases for a message in several languages that asks for
// answers: compose it (tests/tests/console.rs then answers it as agents
// would), and read its report. `io` brings console.mjs's url, signIn,
// drawnOnce, shot and out.
import assert from "node:assert/strict";

export async function languages(page, io) {
  page.on("dialog", (d) => d.accept());
  await io.signIn(page, process.env.ADMIN_NAME, process.env.ADMIN_PASSWORD);
  await page.getByRole("heading", { name: "Compose" }).waitFor();
  await page.locator("#pick-include").fill("group:staff");
  await page.locator("#pick-include").press("Enter");
  await page.locator("#audience").filter({ hasText: "Reaches 3 user(s)" }).waitFor();
  await io.drawnOnce(page);

  // Fullscreen and the sound follow the severity: fullscreen is for
  // alerts, and an alert rings unless told otherwise.
  await page.locator("#severity").selectOption("info");
  assert.ok(await page.locator("#fullscreen").isDisabled(), "fullscreen offered for info");
  assert.equal(await page.locator("#sound").inputValue(), "none");
  await page.locator("#severity").selectOption("alert");
  assert.ok(await page.locator("#fullscreen").isEnabled(), "fullscreen refused to an admin's alert");
  assert.equal(await page.locator("#sound").inputValue(), "alert");

  // The default version, in English, with its own preview.
  assert.equal(await page.locator("#lang-default").inputValue(), "en");
  await page.locator("#title").fill("Evacuation drill");
  await page.locator("#body").fill("**Leave** by the stairs.");
  await page.frameLocator("#preview").locator("strong", { hasText: "Leave" }).waitFor();

  // A tag the server would refuse is refused here, then French is added.
  await page.locator("#new-lang").fill("english");
  await page.locator("#add-lang").click();
  await page.getByRole("alert").filter({ hasText: "not a language tag" }).waitFor();
  for (const tag of ["fr", "de-CH"]) {
    await page.locator("#new-lang").fill(tag);
    await page.locator("#new-lang").press("Enter");
    await page.getByRole("tab", { name: tag, exact: true, selected: true }).waitFor();
  }
  // A tab goes as it came.
  await page.locator("#remove-lang-de-CH").click();
  assert.deepEqual(await page.getByRole("tab").allInnerTexts(), ["en (default)", "fr"]);
  await page.getByRole("tab", { name: "fr" }).click();
  assert.ok(await page.locator("#title").isHidden(), "the English tab shows beside the French one");
  await page.locator("#title-fr").fill("Exercice d’évacuation");
  await page.locator("#body-fr").fill("**Sortez** par l’escalier.");
  await page.frameLocator("#preview-fr").locator("strong", { hasText: "Sortez" }).waitFor();

  // Two answers, each in both languages: a missing label is refused.
  await page.locator("#ask").check();
  await page.locator("#answer-1").fill("I am safe");
  await page.locator("#answer-1-fr").fill("Je suis en sécurité");
  await page.locator("#answer-2").fill("I need help");
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "Answer 2 has no label in fr" }).waitFor();
  assert.ok(!page.url().includes("#/message/"), "sent without a label");
  await page.locator("#answer-2-fr").fill("J’ai besoin d’aide");
  // Saved as a template, with every language and the answers.
  await page.locator("#template-name").fill("Evacuation");
  await page.getByRole("button", { name: "Save template", exact: true }).click();
  await page.locator("#status").filter({ hasText: "Template Evacuation saved." }).waitFor();
  // The picture without the refusal above it.
  await page.evaluate(() => say(""));
  await page.waitForTimeout(500);
  await io.shot(page, "console-compose-languages");

  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.waitForURL(/#\/message\//);
  const id = decodeURIComponent(page.url().split("#/message/")[1]);
  const line = await page.locator("#content-line").innerText();
  assert.match(line, /en fr/);
  assert.match(line, /I am safe \/ I need help/);
  await page.context().storageState({ path: process.env.HERALD_STATE });

  // A new message from the template comes back whole: both languages,
  // the answers in each, the sound.
  await page.goto(`${io.url}/admin#/compose`);
  await page.getByRole("heading", { name: "Compose" }).waitFor();
  await page.locator("#template").selectOption("Evacuation");
  assert.equal(await page.locator("#title").inputValue(), "Evacuation drill");
  assert.deepEqual(await page.getByRole("tab").allInnerTexts(), ["en (default)", "fr"]);
  assert.equal(await page.locator("#title-fr").inputValue(), "Exercice d’évacuation");
  assert.ok(await page.locator("#ask").isChecked(), "the template's answers were not asked");
  assert.equal(await page.locator("#answer-2").inputValue(), "I need help");
  assert.equal(await page.locator("#answer-2-fr").inputValue(), "J’ai besoin d’aide");
  assert.equal(await page.locator("#sound").inputValue(), "alert");
  io.out({ id });
}

export async function answers(page, io) {
  page.on("dialog", (d) => d.accept());
  const id = process.env.HERALD_MESSAGE;
  await page.goto(`${io.url}/admin#/message/${encodeURIComponent(id)}`);
  const row = (n) => page.locator(`#answers tr[data-answer="${n}"]`);
  await row(1).waitFor();
  const answered = {};
  for (const n of [1, 2]) {
    answered[n] = {
      text: await row(n).locator("td").first().innerText(),
      count: await row(n).locator(".count").innerText(),
      percent: await row(n).locator(".percent").innerText(),
      bar: Number(await row(n).locator("meter").getAttribute("value")),
    };
  }
  const users = {};
  for (const u of ["ann", "bob", "cid"]) users[u] = await page.locator(`#report tr[data-user="${u}"]`).innerText();
  const unanswered = await page.locator("#unanswered").innerText();
  const summary = await page.locator("#answered-count").innerText();
  await io.shot(page, "console-report-answers");

  // The same report in French.
  await page.locator("#lang").selectOption("fr");
  await page.getByRole("button", { name: "Renvoyer à ceux qui ont choisi 2" }).waitFor();
  const french = await page.locator("#unanswered").innerText();
  await page.locator("#lang").selectOption("en");
  await page.locator("#again-2").waitFor();

  // The list marks its languages and answers.
  await page.getByRole("link", { name: "Messages" }).click();
  const listed = await page.locator("tbody tr", { hasText: "Evacuation drill" }).locator(".marks").innerText();

  // The audit page shows the send line whole.
  await page.getByRole("link", { name: "Audit log" }).click();
  await page.locator("#audit tbody tr").first().waitFor();
  const audit = await page.locator("#audit tbody tr", { hasText: id }).allInnerTexts();

  // Again, to those who chose "I need help": the new message's page follows.
  await page.goto(`${io.url}/admin#/message/${encodeURIComponent(id)}`);
  await page.locator("#again-2").click();
  await page.waitForURL((u) => u.hash.startsWith("#/message/") && !u.hash.endsWith(encodeURIComponent(id)));
  const again = decodeURIComponent(page.url().split("#/message/")[1]);
  io.out({ answered, users, unanswered, summary, french, listed, audit, again });
}
