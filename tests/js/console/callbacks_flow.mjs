// The callback queue and a GMS chat ticket in a real browser (Debian's Chromium via
// playwright-core), with a GMS phone on the other side (plain fetch, as the GMS
// samples send it: the app's apikey and a gms_user on every request).
//
// Env: BASE_URL, AGENT_EMAIL, AGENT_PASSWORD, API_KEY, SCREENSHOT_DIR (optional),
// CHROMIUM (default /usr/bin/chromium). Prints one JSON object on stdout: what the
// agent saw and what the phone got at each step. The Python test asserts on it.
import { launch } from "./launch.mjs";
import { join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });
const gmsUser = `browser-${Date.now()}`;

async function phone(path, body = {}, method = "POST") {
  const r = await fetch(`${base}/genesys${path}`, {
    method,
    headers: { "Content-Type": "application/json", gms_user: gmsUser, apikey: env.API_KEY },
    body: method === "GET" ? undefined : JSON.stringify(body),
  });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
}

// The phone's transcript, polled until `wanted` holds (the console acts asynchronously).
async function transcriptUntil(sid, wanted, what) {
  for (let i = 0; i < 300; i++) {
    const ixn = await phone(`/1/service/${sid}/ixn/chat/refresh`, { transcriptPosition: "0" });
    const entries = ixn.transcriptToShow.map((e) => [e[0], e[4], e[2]]);
    if (wanted(entries)) return entries;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the phone never saw ${what}`);
}

const { browser, close } = await launch({ width: 1360, height: 820 });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  page.on("dialog", (d) => d.dismiss());

  await page.goto(`${base}/console`);
  await page.getByLabel("Email").fill(env.AGENT_EMAIL);
  await page.getByLabel("Password").fill(env.AGENT_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/inbox/);
  await page.getByRole("link", { name: "Callback queue" }).click();
  await page.waitForURL(/\/console\/callbacks/);
  await page.locator("#live-status.on").waitFor();
  const emptyAtFirst = await page.locator("#queue-empty").isVisible();
  await page.evaluate(() => { window.__noReload = true; });

  // Two customers ask to be called back: a chat that waits for an agent, and a call.
  const chat = await phone("/1/service/callback/callback-for-mobile", {
    _customer_number: "+15145550123", _media_type: "chat", _wait_for_agent: true,
    first_name: "Ana", last_name: "Silva", subject: "Card blocked",
    account: "ACC-0042-" + "7".repeat(60),
  });
  const call = await phone("/1/service/callback/callback-for-mobile", {
    _customer_number: "+15145550999", first_name: "Ben", reason: "Address change",
  });
  const chatRow = page.locator(`.queue-row[data-service-id="${chat._id}"]`);
  const callRow = page.locator(`.queue-row[data-service-id="${call._id}"]`);
  await chatRow.waitFor();
  await callRow.waitFor();
  step("queued_live", {
    empty_at_first: emptyAtFirst,
    no_reload: await page.evaluate(() => window.__noReload === true),
    positions: [
      (await chatRow.locator(".queue-pos").textContent()).trim(),
      (await callRow.locator(".queue-pos").textContent()).trim(),
    ],
    chat_text: (await chatRow.textContent()).replace(/\s+/g, " "),
    actions: await chatRow.locator("form[data-action]").evaluateAll((fs) => fs.map((f) => f.dataset.action)),
    background: await page.locator(".queue-row").first().evaluate((el) => getComputedStyle(el).backgroundColor),
  });
  if (shots) await page.screenshot({ path: join(shots, "console-callbacks.png") });

  // The agent is ready for Ana; Ben's call is cancelled.
  await chatRow.getByRole("button", { name: "Notify customer" }).click();
  await page.locator(`.queue-row[data-service-id="${chat._id}"][data-state="ROUTING"]`).waitFor();
  await callRow.getByRole("button", { name: "Cancel" }).click();
  await callRow.waitFor({ state: "detached" });
  step("notified_and_cancelled", {
    chat_state: await chatRow.getAttribute("data-state"),
    push_note: (await chatRow.locator(".push").textContent()).trim(),
  });

  // Ana's phone opens the chat: the row turns PROCESSING with a link to the ticket.
  await phone(`/1/service/${chat._id}/ixn/chat`, { firstName: "Ana" });
  const link = chatRow.locator("a.ticket-link");
  await link.waitFor();
  step("chat_started", { chat_state: await chatRow.getAttribute("data-state"), link: await link.textContent() });
  await link.click();
  await page.waitForURL(/\/console\/tickets\/\d+/);
  const details = (await page.locator(".details").textContent()).replace(/\s+/g, " ");
  const panel = await page.locator(".details").evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
  await page.getByRole("button", { name: "Join chat" }).click();
  await page.locator(".notice", { hasText: "has joined the session" }).last().waitFor();
  await page.locator("#live-status.on").waitFor();
  step("ticket_opened", { details, panel_overflows: panel.scroll > panel.client + 1 });

  // The customer types, then writes; the agent sees both live.
  await phone(`/1/service/${chat._id}/ixn/chat/startTyping`);
  await page.locator("#gms-typing").waitFor();
  const typingShown = (await page.locator("#gms-typing").textContent()).trim();
  await phone(`/1/service/${chat._id}/ixn/chat/stopTyping`);
  await phone(`/1/service/${chat._id}/ixn/chat/send`, { message: "My card is blocked" });
  await page.locator(".comment.inbound", { hasText: "My card is blocked" }).waitFor();
  await page.locator("#gms-typing").waitFor({ state: "detached" });
  step("customer_typed", { typing_shown: typingShown });

  // The agent types: the phone hears "typing", then after a pause "stopped typing".
  const box = page.getByLabel("Reply");
  await box.click();
  await page.keyboard.type("Let me check", { delay: 20 });
  const started = await transcriptUntil(chat._id, (es) => es.some((e) => e[0] === "Notice.TypingStarted" && e[1] === "AGENT"), "the agent typing");
  const paused = await transcriptUntil(chat._id, (es) => es.at(-1)[0] === "Notice.TypingStopped" && es.at(-1)[1] === "AGENT", "the agent's pause");
  // Types again and sends: the reply, then "stopped typing" (no pause needed).
  await page.keyboard.type(" for you, Ana.", { delay: 20 });
  await transcriptUntil(chat._id, (es) => es.at(-1)[0] === "Notice.TypingStarted", "the agent typing again");
  await page.getByRole("button", { name: "Send reply" }).click();
  const sent = await transcriptUntil(chat._id, (es) => es.at(-1)[0] === "Notice.TypingStopped", "the stop after the reply");
  step("agent_typed", {
    started: started.filter((e) => e[1] === "AGENT").map((e) => e[0]),
    after_pause: paused.filter((e) => e[1] === "AGENT").map((e) => e[0]),
    after_send: sent.filter((e) => e[1] === "AGENT").slice(-2).map((e) => `${e[0]}:${e[2]}`),
  });

  // The agent leaves; the phone disconnects: the ticket says the customer ended it.
  await page.getByRole("button", { name: "Leave chat" }).click();
  await page.locator(".notice", { hasText: "has left the session" }).last().waitFor();
  await phone(`/1/service/${chat._id}/ixn/chat/disconnect`);
  await page.locator("#gms-ended").waitFor();
  const notices = await page.locator(".notice").allTextContents();
  step("ended", {
    banner: (await page.locator("#gms-ended").textContent()).trim(),
    notices: notices.map((n) => n.replace(/\s+/g, " ").trim()),
  });

  await page.goto(`${base}/console/callbacks`);
  await page.locator("#queue-empty").waitFor();
  step("queue_drained");
  result.chat_id = chat._id;
  result.call_id = call._id;
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await close();
}
console.log(JSON.stringify(result));
