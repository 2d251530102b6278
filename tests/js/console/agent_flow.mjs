// The agent console in a real browser (Debian's Chromium via playwright-core).
//
// Env: BASE_URL, AGENT_EMAIL, AGENT_PASSWORD, DESK_APP_ID, DEVICE_ID, SCREENSHOT_DIR
// (optional), CHROMIUM (default /usr/bin/chromium). Prints one JSON object on stdout:
// what the agent saw at each step. The Python test asserts on it, then checks the
// SDK side (poll, unread, webhook).
import { launch } from "./launch.mjs";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });

async function phoneSays(text, extra = {}) {
  // Exactly the body an Android SDK sends (wire spec §4.1).
  const body = {
    app_id: env.DESK_APP_ID,
    instance_id: env.DEVICE_ID,
    version: 2,
    need_full_info: true,
    author_name: "Dana Customer",
    api_sign: "AAAAAAAAAAAUAAs=",
    locale: "en-US",
    commands: [{
      command_id: crypto.randomUUID(),
      type: 0,
      app_id: env.DESK_APP_ID,
      params: { __type: "CreateComment", request_new_ticket: false, app_id: env.DESK_APP_ID, comment: text, ...extra },
    }],
  };
  const r = await fetch(`${base}/servicedeskapi/v1/gettickets`, {
    method: "POST",
    headers: { "Content-Type": "application/json; charset=utf-8" },
    body: JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`gettickets ${r.status}`);
  return (await r.json()).commands_result[0];
}

const files = mkdtempSync(join(tmpdir(), "tidings-upload-"));
// A fresh profile per run (Playwright passes it as --user-data-dir).
const { browser, close } = await launch({ width: 1360, height: 820 });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);

  await page.goto(`${base}/console`);
  await page.getByLabel("Email").fill(env.AGENT_EMAIL);
  await page.getByLabel("Password").fill(env.AGENT_PASSWORD);
  if (shots) await page.screenshot({ path: join(shots, "console-login.png") });
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/inbox/);
  await page.locator("#live-status.on").waitFor();
  step("logged_in", { url: page.url() });

  // A marker that a reload would wipe: the ticket must arrive without one.
  await page.evaluate(() => { window.__noReload = true; });
  const created = await phoneSays("My payment failed at checkout", { extra_fields: { plan: "Pro", phone: "+15550100" } });
  const row = page.locator(".ticket-row", { hasText: "My payment failed at checkout" });
  await row.waitFor();
  const badge = (await row.locator(".badge").textContent())?.trim();
  const noReload = await page.evaluate(() => window.__noReload === true);
  step("ticket_appeared_live", { ticket_id: created.ticket_id, badge, no_reload: noReload });

  await row.locator("a").click();
  await page.waitForURL(new RegExp(`/console/tickets/${created.ticket_id}`));
  await page.locator(".comment.inbound", { hasText: "My payment failed at checkout" }).waitFor();
  const details = await page.locator(".details").innerText();
  step("ticket_opened", { details });

  // A second client message arrives while the ticket is open: it shows up in place.
  await page.evaluate(() => { window.__noReload = true; });
  await phoneSays("I tried twice");
  await page.locator(".comment.inbound", { hasText: "I tried twice" }).waitFor();
  step("message_appeared_live", { no_reload: await page.evaluate(() => window.__noReload === true) });

  const attachment = join(files, "refund-steps.txt");
  writeFileSync(attachment, "1. Open settings\n2. Tap Billing\n");
  await page.getByLabel("Reply").fill("Sorry about that! Please follow these steps.");
  await page.locator("#reply-files").setInputFiles(attachment);
  await page.getByRole("button", { name: "Send reply" }).click();
  const reply = page.locator(".comment.outbound", { hasText: "Please follow these steps" });
  await reply.waitFor();
  const fileLink = reply.locator("a.file", { hasText: "refund-steps.txt" });
  await fileLink.waitFor();
  const download = await page.request.get(new URL(await fileLink.getAttribute("href"), base).href);
  step("replied", { file_status: download.status(), file_body: await download.text() });
  if (shots) await page.screenshot({ path: join(shots, "console-ticket.png") });

  await page.getByRole("button", { name: "Close ticket" }).click();
  await page.locator(".status-closed").waitFor();
  step("closed", { status: (await page.locator(".status").textContent()).trim() });

  await page.goto(`${base}/console/inbox?view=closed`);
  const closedRow = page.locator(".ticket-row", { hasText: "My payment failed at checkout" });
  await closedRow.waitFor();
  step("listed_as_closed");
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await close();
  rmSync(files, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
