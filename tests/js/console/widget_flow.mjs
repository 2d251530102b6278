// The web chat widget on a customer's page, in a real browser (Debian's Chromium via
// playwright-core), with an agent answering in the console in another browser context.
//
// The customer's page is served here, by a second HTTP server on another port (another
// origin), and includes <script src="$BASE_URL/widget.js" data-app-id=...>.
// Env: BASE_URL, CHROMIUM, AUTH_APP_ID (external authorization), OPEN_APP_ID
// (anonymous visitors), AGENT_EMAIL, AGENT_PASSWORD, USER_ID, SECURITY_KEY,
// OTHER_USER_ID, OTHER_SECURITY_KEY, SCREENSHOT_DIR (optional).
// Prints one JSON object on stdout: what each side saw at each step.
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });

const escape = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);

// The customer's site: a plain page whose CSS would wreck an unprotected widget.
const site = createServer((req, res) => {
  const url = new URL(req.url, "http://site");
  if (url.pathname !== "/page") { res.writeHead(404).end(); return; }
  const attrs = ["app-id", "user-id", "security-key", "user-name", "title"]
    .filter((k) => url.searchParams.has(k))
    .map((k) => ` data-${k}="${escape(url.searchParams.get(k))}"`).join("");
  res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
  res.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Outdoor</title>
<style>
  body { font-family: Georgia, serif; margin: 0; color: #222; background: #faf7f2; }
  header { background: #3b5d3a; color: #fff; padding: 18px 32px; font-size: 22px; }
  main { padding: 24px 32px; max-width: 640px; }
  button, textarea { display: none !important; }          /* the site's own reset */
  .tdw-panel, .tdw-bubble { visibility: hidden !important; } /* class names must not leak */
</style></head>
<body><header>Acme Outdoor</header>
<main><h1>Trail Runner 2</h1><p>Light, grippy and waterproof. Questions about sizing or delivery? Ask us in the chat.</p></main>
<script src="${escape(base)}/widget.js"${attrs}></script>
</body></html>`);
});
await new Promise((resolve) => site.listen(0, "127.0.0.1", resolve));
const siteUrl = `http://127.0.0.1:${site.address().port}`;
const page = (params) => `${siteUrl}/page?${new URLSearchParams(params)}`;

const files = mkdtempSync(join(tmpdir(), "tidings-widget-"));
const browser = await chromium.launch({
  executablePath: env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

async function visitor(params, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const tab = await context.newPage();
  tab.setDefaultTimeout(30000);
  const desk = [];
  const origins = new Set();
  tab.on("response", (r) => {
    if (!r.url().includes("/servicedeskapi/v1/")) return;
    desk.push({ path: new URL(r.url()).pathname, status: r.status() });
    r.request().allHeaders().then((h) => origins.add(h["origin"] || null), () => {});
  });
  await tab.goto(page(params));
  return { context, tab, desk, origins };
}
const inWidget = (tab, css) => tab.locator(`tidings-chat ${css}`);
const visitorTexts = (tab) => inWidget(tab, ".tdw-msg.visitor .tdw-text").allInnerTexts();

try {
  // -- the agent is at the console -------------------------------------------------
  const agentContext = await browser.newContext({ viewport: { width: 1360, height: 820 } });
  const agent = await agentContext.newPage();
  agent.setDefaultTimeout(30000);
  await agent.goto(`${base}/console`);
  await agent.getByLabel("Email").fill(env.AGENT_EMAIL);
  await agent.getByLabel("Password").fill(env.AGENT_PASSWORD);
  await agent.getByRole("button", { name: "Sign in" }).click();
  await agent.waitForURL(/\/console\/inbox/);
  await agent.locator("#live-status.on").waitFor();
  await agent.evaluate(() => { window.__noReload = true; });
  step("agent_ready");

  // -- a signed-in customer chats from the site -----------------------------------
  const dana = await visitor({ "app-id": env.AUTH_APP_ID, "user-id": env.USER_ID, "security-key": env.SECURITY_KEY, "user-name": "Dana Customer" });
  await dana.tab.evaluate(() => { window.__noReload = true; });
  const bubble = dana.tab.getByRole("button", { name: /Open chat/ });
  await bubble.click();
  const welcome = (await inWidget(dana.tab, ".tdw-msg.welcome").innerText()).trim();
  const focusedLabel = await dana.tab.evaluate(() => document.querySelector("tidings-chat").shadowRoot.activeElement?.getAttribute("aria-label"));
  await dana.tab.getByLabel("Message", { exact: true }).fill("Hi! Where is order #1042? It was due yesterday.");
  await dana.tab.getByLabel("Message", { exact: true }).press("Enter");
  await inWidget(dana.tab, ".tdw-msg.visitor:not(.pending)").filter({ hasText: "Where is order #1042?" }).waitFor();
  const invoice = join(files, "invoice-1042.txt");
  writeFileSync(invoice, "Invoice 1042: Trail Runner 2, size 42\n");
  await inWidget(dana.tab, "input[type=file]").setInputFiles(invoice);
  await inWidget(dana.tab, ".tdw-msg.visitor:not(.pending) .tdw-file").filter({ hasText: "invoice-1042.txt" }).waitFor();
  step("visitor_sent", {
    welcome,
    focused: focusedLabel,
    texts: await visitorTexts(dana.tab),
    origins: [...dana.origins],
    page_origin: siteUrl,
  });

  // -- the agent sees the ticket arrive live and answers -----------------------------
  const row = agent.locator(".ticket-row", { hasText: "Where is order #1042?" });
  await row.waitFor();
  const agentNoReload = await agent.evaluate(() => window.__noReload === true);
  const ticketId = Number(await row.getAttribute("data-ticket-id"));
  await row.locator("a").click();
  await agent.waitForURL(new RegExp(`/console/tickets/${ticketId}`));
  await agent.locator(".comment.inbound", { hasText: "Where is order #1042?" }).waitFor();
  await agent.locator(".comment.inbound a.file", { hasText: "invoice-1042.txt" }).waitFor();
  step("agent_saw_ticket", { ticket_id: ticketId, no_reload: agentNoReload });

  // The visitor closes the chat and keeps browsing; focus returns to the bubble.
  await dana.tab.getByRole("button", { name: "Close chat" }).first().click();
  const focusAfterClose = await dana.tab.evaluate(() => document.querySelector("tidings-chat").shadowRoot.activeElement?.className);
  await agent.getByLabel("Reply").fill("Thanks, Dana! Order #1042 ships today.");
  await agent.getByRole("button", { name: "Send reply" }).click();
  await agent.locator(".comment.outbound", { hasText: "ships today" }).waitFor();

  // -- the visitor sees the unread badge, then the reply, without a reload -----------
  const badge = inWidget(dana.tab, ".tdw-badge:not([hidden])");
  await badge.waitFor();
  const badgeText = (await badge.innerText()).trim();
  const bubbleLabel = await dana.tab.evaluate(() => document.querySelector("tidings-chat").shadowRoot.querySelector(".tdw-bubble").getAttribute("aria-label"));
  const readSent = dana.tab.waitForResponse((r) => r.url().includes("/gettickets") && (r.request().postData() || "").includes('"type":1'));
  await dana.tab.getByRole("button", { name: /Open chat/ }).click();
  const reply = inWidget(dana.tab, ".tdw-msg.support:not(.welcome)").filter({ hasText: "ships today" });
  await reply.waitFor();
  await readSent;
  await inWidget(dana.tab, ".tdw-badge[hidden]").waitFor({ state: "attached" });
  // The visitor downloads the file back (DownloadFile with the identity, saved from a blob).
  const [saved] = await Promise.all([
    dana.tab.waitForEvent("download"),
    inWidget(dana.tab, ".tdw-file").filter({ hasText: "invoice-1042.txt" }).click(),
  ]);
  const savedBody = readFileSync(await saved.path(), "utf8");
  step("visitor_got_reply", {
    download: { name: saved.suggestedFilename(), body: savedBody },
    badge: badgeText,
    bubble_label: bubbleLabel,
    focus_after_close: focusAfterClose,
    author: (await reply.locator(".tdw-author").innerText()).trim(),
    header: (await inWidget(dana.tab, ".tdw-sub").innerText()).trim(),
    avatar: await inWidget(dana.tab, ".tdw-avatar img").evaluate((img) => img.complete && img.naturalWidth),
    no_reload: await dana.tab.evaluate(() => window.__noReload === true),
    unread_after_open: await dana.tab.evaluate(() => window.TidingsChat.unreadCount()),
  });
  if (shots) await dana.tab.screenshot({ path: join(shots, "widget.png") });

  // Phone width: the open chat fills the screen.
  await dana.tab.setViewportSize({ width: 390, height: 760 });
  const box = await inWidget(dana.tab, ".tdw-panel").boundingBox();
  step("phone_width", { width: Math.round(box.width), height: Math.round(box.height) });
  if (shots) await dana.tab.screenshot({ path: join(shots, "widget-phone.png") });

  // -- the same app, an anonymous visitor: refused; then identify() -------------------
  const guest = await visitor({ "app-id": env.AUTH_APP_ID });
  await guest.tab.getByRole("button", { name: /Open chat/ }).click();
  const signIn = (await inWidget(guest.tab, ".tdw-notice").innerText()).trim();
  const guestStatuses = guest.desk.map((d) => d.status);
  await guest.tab.evaluate(({ u, k }) => window.TidingsChat.identify({ userId: u, securityKey: k }),
    { u: env.OTHER_USER_ID, k: env.OTHER_SECURITY_KEY });
  await inWidget(guest.tab, ".tdw-msg.welcome").waitFor();
  const otherSees = await inWidget(guest.tab, ".tdw-msg").allInnerTexts();
  const wrong = await guest.tab.evaluate(({ u }) => window.TidingsChat.identify({ userId: u, securityKey: "wrong-key" })
    .then(() => "accepted", (e) => "refused: " + e.message), { u: env.USER_ID });
  const wrongNotice = (await inWidget(guest.tab, ".tdw-notice").innerText()).trim();
  const wrongSees = await inWidget(guest.tab, ".tdw-msg").count();
  const bad = await guest.tab.evaluate(() => window.TidingsChat.identify({ userId: 42 }).then(() => "accepted", (e) => e.name));
  step("identify", {
    anonymous_notice: signIn,
    anonymous_statuses: [...new Set(guestStatuses)],
    other_user_sees: otherSees,
    wrong_key: wrong,
    wrong_key_notice: wrongNotice,
    wrong_key_messages: wrongSees,
    wrong_key_statuses: [...new Set(guest.desk.slice(-1).map((d) => d.status))],
    malformed: bad,
  });

  // A wrong key in the page's attributes: refused the same way.
  const mallory = await visitor({ "app-id": env.AUTH_APP_ID, "user-id": env.USER_ID, "security-key": "stolen-guess" });
  await mallory.tab.getByRole("button", { name: /Open chat/ }).click();
  await inWidget(mallory.tab, ".tdw-notice:not([hidden])").waitFor();
  step("wrong_key_attribute", {
    notice: (await inWidget(mallory.tab, ".tdw-notice").innerText()).trim(),
    statuses: [...new Set(mallory.desk.map((d) => d.status))],
    messages: await inWidget(mallory.tab, ".tdw-msg").count(),
    input_disabled: await inWidget(mallory.tab, ".tdw-input").isDisabled(),
  });

  // -- anonymous visitors of an open app: each browser has its own chat ---------------
  const carol = await visitor({ "app-id": env.OPEN_APP_ID });
  await carol.tab.getByRole("button", { name: /Open chat/ }).click();
  // Markup in a message is text, on both sides.
  await carol.tab.getByLabel("Message", { exact: true }).fill("Anonymous question from Carol <img src=x onerror=\"window.__xss=1\"> <b>bold?</b>");
  await carol.tab.getByRole("button", { name: "Send" }).click();
  await inWidget(carol.tab, ".tdw-msg.visitor:not(.pending)").filter({ hasText: "Carol" }).waitFor();
  await carol.tab.reload();
  await carol.tab.evaluate(() => window.TidingsChat.ready());
  await carol.tab.getByRole("button", { name: /Open chat/ }).click();
  const carolAfterReload = await visitorTexts(carol.tab);
  const carolDevice = await carol.tab.evaluate((app) => localStorage.getItem(`tidings-chat:${app}:device`), env.OPEN_APP_ID);

  const erin = await visitor({ "app-id": env.OPEN_APP_ID });
  await erin.tab.evaluate(() => window.TidingsChat.ready());
  await erin.tab.getByRole("button", { name: /Open chat/ }).click();
  await inWidget(erin.tab, ".tdw-msg.welcome").waitFor();
  const erinDevice = await erin.tab.evaluate((app) => localStorage.getItem(`tidings-chat:${app}:device`), env.OPEN_APP_ID);
  step("anonymous", {
    carol_after_reload: carolAfterReload,
    injected_elements: await inWidget(carol.tab, ".tdw-msg img, .tdw-msg b").count(),
    xss: await carol.tab.evaluate(() => window.__xss === 1),
    carol_device: carolDevice,
    erin_device: erinDevice,
    erin_sees: await inWidget(erin.tab, ".tdw-msg").allInnerTexts(),
  });
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String((error && error.stack) || error);
} finally {
  await browser.close();
  site.close();
  rmSync(files, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
