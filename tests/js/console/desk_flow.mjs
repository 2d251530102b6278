// The console's desk features in a real browser (Debian's Chromium via playwright-core):
// unread count in the tab title, keyboard shortcuts, search as you type, internal
// notes, a reply reopening a closed ticket, paging past 100 tickets.
//
// Env: BASE_URL, AGENT_EMAIL, AGENT_PASSWORD, AGENT_ID, DESK_APP_ID, SCREENSHOT_DIR
// (optional), CHROMIUM. Prints one JSON object on stdout: what the agent saw at each
// step. The Python test asserts on it, then checks the phone's side.
import { launch } from "./launch.mjs";
import { phoneSays as say } from "./phone.mjs";
import { join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });

const phoneSays = (device, text, author) => say(base, env.DESK_APP_ID, device, text, author);

const { browser, close } = await launch({ width: 1360, height: 820 });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  const current = () => page.evaluate(() => Number(document.getElementById("ticket-pane").dataset.ticketId || 0));
  // Another ticket is selected and its thread drawn (``shown`` is set once it is).
  const waitTicket = (not) => page.waitForFunction((n) => {
    const pane = document.getElementById("ticket-pane");
    const id = Number(pane.dataset.ticketId || 0);
    return id !== n && pane.dataset.shown === String(id);
  }, not);
  const rowIds = () => page.$$eval(".ticket-row", (rows) => rows.map((r) => Number(r.dataset.ticketId)));

  await page.goto(`${base}/console`);
  await page.getByLabel("Email").fill(env.AGENT_EMAIL);
  await page.getByLabel("Password").fill(env.AGENT_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/inbox/);
  await page.locator("#live-status.on").waitFor();

  // Three customers write: the tab title counts them, live.
  const devices = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
  const refund = await phoneSays(devices[0], "Where is my refund?", "Zoë Quartz");
  await phoneSays(devices[1], "The app crashes on start", "Max Power");
  await phoneSays(devices[2], "Login fails with 0xBADC0DE", "Pat Lee");
  await page.waitForFunction(() => document.title.startsWith("(3) "));
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 3);
  step("unread_in_title", { title: await page.title() });

  // j opens the first ticket in place; its badge and one unread clear.
  await page.keyboard.press("j");
  await waitTicket(0);
  const first = await current();
  await page.waitForFunction(() => document.title.startsWith("(2) "));
  const row = page.locator(`.ticket-row[data-ticket-id="${first}"]`);
  await page.waitForFunction((id) => !document.querySelector(`.ticket-row[data-ticket-id="${id}"] .badge`), first);
  step("opened_with_j", {
    ticket_id: first, title: await page.title(), url: page.url(),
    badge: (await row.locator(".badge").count()) ? "present" : null,
  });

  await page.keyboard.press("j");
  await waitTicket(first);
  const second = await current();
  await page.keyboard.press("k");
  await waitTicket(second);
  const back = await current();
  await page.locator(".ticket-list").focus();
  await page.keyboard.press("ArrowDown");
  await waitTicket(back);
  step("moved_with_keys", { j: second, k_back: back, arrow_down: await current() });

  await page.keyboard.press("?");
  await page.locator("#help").waitFor({ state: "visible" });
  step("help", { visible: await page.locator("#help").isVisible(), text: await page.locator("#help").innerText() });
  await page.keyboard.press("Escape");
  await page.locator("#help").waitFor({ state: "hidden" });

  // Typing in the reply box types; no shortcut fires.
  const before = await current();
  await page.locator("#reply-body").click();
  await page.keyboard.type("jkea/?");
  step("no_shortcut_while_typing", {
    before, ticket_id: await current(), draft: await page.locator("#reply-body").inputValue(),
  });
  await page.locator("#reply-body").fill("");
  await page.keyboard.press("Escape");

  const focused = {};
  for (const [key, name] of [["r", "r"], ["n", "n"], ["/", "slash"]]) {
    await page.keyboard.press(key);
    focused[name] = await page.evaluate(() => document.activeElement.id);
    if (key !== "/") await page.keyboard.press("Escape");
  }
  step("shortcuts_focus", focused);

  // Search as you type (the search box has focus from "/").
  await page.keyboard.type("refund");
  await page.waitForFunction(() => document.getElementById("search-head"));
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 1);
  const rows = await rowIds();
  if (shots) await page.screenshot({ path: join(shots, "console-search.png") });
  await page.locator("#search").fill(`<img src=x onerror="window.__xss=1">`);
  await page.locator(".empty-list", { hasText: "No tickets match" }).waitFor();
  const hostileText = await page.locator(".empty-list").innerText();
  step("search", {
    rows, expected: refund.ticket_id, hostile_text: hostileText,
    script_ran: await page.evaluate(() => window.__xss === 1),
  });
  await page.locator("#search").fill("");
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 3);
  await page.keyboard.press("Escape");

  // An internal note on the refund ticket: agents see it, styled apart, as text.
  await page.locator(`.ticket-row[data-ticket-id="${refund.ticket_id}"] a`).click();
  await page.waitForFunction(
    (id) => document.getElementById("ticket-pane").dataset.shown === String(id), refund.ticket_id);
  // A live redraw (the customer writes again) keeps what the agent is typing.
  await page.locator("#reply-body").fill("half-written answer");
  await phoneSays(devices[0], "Are you there?", "Zoë Quartz");
  await page.locator(".comment.inbound", { hasText: "Are you there?" }).waitFor();
  step("draft_survives_redraw", {
    draft: await page.locator("#reply-body").inputValue(),
    focused: await page.evaluate(() => document.activeElement.id),
  });
  await page.locator("#reply-body").fill("");
  await page.getByRole("button", { name: "Internal note" }).click();
  await page.getByLabel("Internal note", { exact: true }).fill("VIP customer: <b>refund</b> approved by finance.");
  await page.getByRole("button", { name: "Add note" }).click();
  const note = page.locator(".note .text");
  await note.waitFor();
  step("note", { text: await note.textContent(), html: await note.innerHTML() });
  await page.locator("#thread").click();

  // a assigns the ticket to me; e closes it; a reply reopens it and says so.
  await page.keyboard.press("a");
  // Read in the same tick as the wait: a live redraw may replace the element after it.
  const assigned = await page.waitForFunction((id) => {
    const value = document.getElementById("assignee")?.value;
    return value === id ? value : null;
  }, env.AGENT_ID);
  step("assigned_with_a", { assignee: await assigned.jsonValue() });
  await page.keyboard.press("e");
  await page.locator(".status-closed").waitFor();
  step("closed_with_e", { status: (await page.locator(".status").textContent()).trim() });
  await page.getByRole("button", { name: "Reply to customer" }).click();
  await page.locator("#reopen-hint").waitFor();
  // The reply is the app's canned "On it", its {name} filled with the customer's.
  await page.locator("#canned").selectOption({ label: "On it" });
  const canned = await page.getByLabel("Reply", { exact: true }).inputValue();
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.locator("#flash").waitFor();
  await page.locator(".comment.outbound", { hasText: "we are on it." }).waitFor();
  step("reply_reopened", {
    canned,
    status: (await page.locator(".status").textContent()).trim(),
    flash: (await page.locator("#flash").textContent()).trim(),
  });
  await page.getByRole("button", { name: "Send reply" }).waitFor();
  if (shots) await page.screenshot({ path: join(shots, "console-notes.png") });
  result.noted_device = devices[0];

  // Priority and tags on the ticket; the list filters by them as they change.
  const refundRow = page.locator(`.ticket-row[data-ticket-id="${refund.ticket_id}"]`);
  await page.locator("#priority").selectOption("urgent");
  await refundRow.locator(".prio-urgent").waitFor();
  await page.locator("#tags").fill("VIP, refund");
  await page.locator("#save-labels").click();
  await refundRow.locator(".tag", { hasText: "vip" }).waitFor();
  await page.locator("#filter-tag").fill("vip");
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 1);
  const tagged = await rowIds();
  await page.locator("#filter-tag").fill("");
  await page.locator("#filter-priority").selectOption("low");
  await page.locator(".empty-list", { hasText: "No open tickets" }).waitFor();
  await page.locator("#filter-priority").selectOption("");
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 3);
  step("labels", {
    tagged, tags: await refundRow.locator(".tag").allTextContents(),
    priority: await page.locator("#priority").inputValue(),
  });

  // 101 more customers: the list holds 100, scrolling to the end loads the rest.
  const more = Array.from({ length: 101 }, (_, i) => [crypto.randomUUID(), `question ${i}`]);
  for (let i = 0; i < more.length; i += 10) {
    await Promise.all(more.slice(i, i + 10).map(([d, t]) => phoneSays(d, t, `Customer ${i}`)));
  }
  await page.locator('[data-count="open"]', { hasText: "104" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll(".ticket-row").length === 100);
  const beforeCount = (await rowIds()).length;
  // Scroll to the end (again, if a live redraw came in between) until the rest loaded.
  await page.waitForFunction(() => {
    const list = document.getElementById("inbox");
    list.scrollTop = list.scrollHeight;
    return document.querySelectorAll(".ticket-row").length === 104;
  }, null, { polling: 100 });
  const ids = await rowIds();
  step("paged", {
    before: beforeCount, after: new Set(ids).size,
    open_count: (await page.locator('[data-count="open"]').textContent()).trim(),
  });
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await close();
}
console.log(JSON.stringify(result));
