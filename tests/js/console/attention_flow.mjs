// What draws an agent's attention, in a real browser (Debian's Chromium via
// playwright-core): desktop notifications and the sound, the phone-width layout, and
// an axe-core audit of every console page at desktop and phone width.
//
// Notifications are allowed for the site (as if the agent had said yes before), and an
// init script wraps window.Notification and the Web Audio API: every notification
// made, every permission request, every AudioContext and oscillator is recorded, then
// handed to the real ones.
//
// Env: BASE_URL, AGENT_EMAIL, AGENT_PASSWORD, AGENT_ID, DESK_APP_ID, BO_DEVICE (the
// customer of another agent's ticket), BO_TICKET, SCREENSHOT_DIR (optional), CHROMIUM.
// Prints one JSON object on stdout: what the agent saw at each step.
import { launch } from "./launch.mjs";
import { phoneSays as say } from "./phone.mjs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });
const axePath = join(dirname(createRequire(import.meta.url).resolve("axe-core/package.json")), "axe.min.js");

const phoneSays = (device, text, author, newTicket = false) =>
  say(base, env.DESK_APP_ID, device, text, author, newTicket);

function recorder() {
  const seen = { notes: [], requests: 0, audio: 0, oscillators: 0, last: null };
  window.__attention = seen;
  const RealNotification = window.Notification;
  if (RealNotification) {
    class Recorded extends RealNotification {
      constructor(title, options = {}) {
        seen.notes.push({ title, body: options.body, tag: options.tag });
        super(title, options);
        seen.last = this;
      }
      static get permission() { return RealNotification.permission; }
      static requestPermission(...args) {
        seen.requests += 1;
        return RealNotification.requestPermission(...args);
      }
    }
    window.Notification = Recorded;
  }
  const RealAudio = window.AudioContext;
  if (RealAudio) {
    window.AudioContext = class extends RealAudio {
      constructor(...args) { super(...args); seen.audio += 1; }
    };
    const make = BaseAudioContext.prototype.createOscillator;
    BaseAudioContext.prototype.createOscillator = function (...args) {
      seen.oscillators += 1;
      return make.apply(this, args);
    };
  }
}

// axe-core on the page as it is: only what it calls serious or critical counts.
async function audit(page, name) {
  if (!(await page.evaluate(() => Boolean(window.axe)))) await page.addScriptTag({ path: axePath });
  const found = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return {
      rules: r.violations.length + r.passes.length + r.incomplete.length + r.inapplicable.length,
      violations: r.violations
        .filter((v) => v.impact === "serious" || v.impact === "critical")
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })),
    };
  });
  step(`axe_${name}`, found);
}

const { browser, close } = await launch({ width: 1360, height: 820 });
try {
  await browser.grantPermissions(["notifications"], { origin: base });
  await browser.addInitScript(recorder);
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  const seen = () => page.evaluate(() => {
    const s = window.__attention;
    return { notes: s.notes, requests: s.requests, audio: s.audio, oscillators: s.oscillators };
  });
  const shownTicket = (id) => page.waitForFunction(
    (n) => document.getElementById("ticket-pane").dataset.shown === String(n), id);
  const notesCount = (n) => page.waitForFunction((k) => window.__attention.notes.length === k, n);

  await page.goto(`${base}/console/login`);
  await audit(page, "login_desktop");
  await page.getByLabel("Email").fill(env.AGENT_EMAIL);
  await page.getByLabel("Password").fill(env.AGENT_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/console\/inbox/);
  await page.locator("#live-status.on").waitFor();
  const notifyButton = page.locator("#notify-toggle");
  await notifyButton.waitFor();
  step("loaded", { requests: (await seen()).requests, button: (await notifyButton.textContent()).trim() });

  // The agent turns both on, by clicks.
  await notifyButton.click();
  await page.waitForFunction(() => document.getElementById("notify-toggle").textContent === "Disable notifications");
  await page.getByRole("button", { name: "Sound" }).click();
  step("enabled", {
    requests: (await seen()).requests, button: (await notifyButton.textContent()).trim(),
    sound_pressed: await page.locator("#sound-toggle").getAttribute("aria-pressed"),
    audio_contexts: (await seen()).audio,
  });

  // A customer opens a ticket: one notification, one tone.
  const dana = crypto.randomUUID();
  const first = await phoneSays(dana, "My order #1234 never arrived", "Dana Customer", true);
  await notesCount(1);
  await page.waitForFunction(() => window.__attention.oscillators === 1);
  await page.locator(`.ticket-row[data-ticket-id="${first.ticket_id}"]`).waitFor();
  step("new_ticket", { ticket_id: first.ticket_id, notes: (await seen()).notes, oscillators: (await seen()).oscillators });
  await audit(page, "inbox_desktop");

  // Clicking it opens the ticket.
  await page.evaluate(() => window.__attention.last.dispatchEvent(new Event("click")));
  await shownTicket(first.ticket_id);
  step("clicked", {
    shown: await page.evaluate(() => document.getElementById("ticket-pane").dataset.shown), url: page.url(),
  });

  // The agent's reply: nothing. The customer writing on the ticket on screen: nothing.
  await page.getByLabel("Reply", { exact: true }).fill("We are looking into it.");
  await page.getByRole("button", { name: "Send reply" }).click();
  await page.locator(".comment.outbound", { hasText: "We are looking into it." }).waitFor();
  await phoneSays(dana, "Thank you, waiting.", "Dana Customer");
  await page.locator(".comment.inbound", { hasText: "Thank you, waiting." }).waitFor();
  // Bo's customer writes: the row shows it, no notification.
  await phoneSays(env.BO_DEVICE, "Bo, any update?", "Carla");
  const boRow = page.locator(`.ticket-row[data-ticket-id="${env.BO_TICKET}"] .preview`, { hasText: "Bo, any update?" });
  await boRow.waitFor();
  await page.waitForTimeout(300);  // the attention frame follows the row's redraw closely
  step("quiet", {
    notes: (await seen()).notes.length,
    reply_shown: await page.locator(".comment.outbound").isVisible(),
    on_screen_shown: await page.locator(".comment.inbound", { hasText: "Thank you, waiting." }).isVisible(),
    bo_row: Number(env.BO_TICKET),
  });
  await audit(page, "ticket_desktop");

  // A second customer: a notification. Open it; then Dana writes on Ivy's own ticket,
  // no longer on screen: a notification.
  const eve = crypto.randomUUID();
  const second = await phoneSays(eve, "Is anyone there?", "Eve Customer", true);
  await notesCount(2);
  await page.evaluate(() => window.__attention.last.dispatchEvent(new Event("click")));
  await shownTicket(second.ticket_id);
  await phoneSays(dana, "Any news?", "Dana Customer");
  await notesCount(3);
  await page.waitForFunction(() => window.__attention.oscillators === 3);
  step("later", { second_id: second.ticket_id, notes: (await seen()).notes, oscillators: (await seen()).oscillators });

  // Sound off: the next one is silent.
  await page.getByRole("button", { name: "Sound" }).click();
  await phoneSays(crypto.randomUUID(), "Hello from Finn", "Finn", true);
  await notesCount(4);
  step("sound_off", { notes: (await seen()).notes.length, oscillators: (await seen()).oscillators });

  // A reload remembers both choices and asks nothing.
  await page.reload();
  await page.locator("#live-status.on").waitFor();
  await page.waitForFunction(() => !document.getElementById("attention").hidden);
  step("reloaded", {
    requests: (await seen()).requests, button: (await notifyButton.textContent()).trim(),
    sound_pressed: await page.locator("#sound-toggle").getAttribute("aria-pressed"),
  });

  // Narrower windows: the header's new switches push nothing out sideways.
  const wide = {};
  for (const w of [1024, 800]) {
    await page.setViewportSize({ width: w, height: 820 });
    wide[w] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  }
  step("narrower", { widths: wide });
  await page.setViewportSize({ width: 1360, height: 820 });

  await page.goto(`${base}/console/callbacks`);
  await page.locator("#live-status.on").waitFor();
  await audit(page, "callbacks_desktop");

  // Phone width.
  await page.setViewportSize({ width: 375, height: 740 });
  const widths = {};
  const width = async (name) => {
    widths[name] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  };
  const visible = async () => ({
    list: await page.locator("#inbox").isVisible(),
    ticket: await page.locator("#ticket-pane .thread-wrap").isVisible(),
  });
  await width("callbacks");
  await audit(page, "callbacks_phone");
  await page.goto(`${base}/console/login`);
  await width("login");
  await audit(page, "login_phone");

  // A customer with a long name and a long message: the time stays in its row.
  await phoneSays(crypto.randomUUID(), "x".repeat(20) + " a very long message ".repeat(12), "Maximiliana Bartholomew-Featherstonehaugh of Somewhere", true);
  await page.goto(`${base}/console/inbox`);
  await page.locator("#live-status.on").waitFor();
  await width("inbox");
  const listFirst = await visible();
  await audit(page, "inbox_phone");
  // Found and measured in one tick, once laid out: a live redraw may replace the row
  // between a lookup and a measurement (a detached row measures 0 × 0).
  const longRow = await (await page.waitForFunction(() => {
    const row = [...document.querySelectorAll(".ticket-row")].find((r) => r.textContent.includes("Maximiliana"));
    if (!row || !row.isConnected) return null;
    const box = (sel) => row.querySelector(sel).getBoundingClientRect();
    const time = box("time");
    if (time.width === 0) return null;
    return {
      row_right: row.getBoundingClientRect().right, time_right: time.right, time_width: time.width,
      time_top: time.top, who_top: box(".who").top,
    };
  })).jsonValue();

  // Tap a ticket: it takes the list's place, its way back focused; back: the list.
  await page.locator(`.ticket-row[data-ticket-id="${first.ticket_id}"] a`).click();
  await shownTicket(first.ticket_id);
  const opened = { ...(await visible()), back_focused: await page.evaluate(() => document.activeElement.id === "back-to-list") };
  await width("ticket");
  const attach = await page.evaluate(() => {
    const input = document.getElementById("reply-files").getBoundingClientRect();
    const label = document.querySelector(".attach span").getBoundingClientRect();
    return {
      input_mid: input.top + input.height / 2, label_mid: label.top + label.height / 2,
      input_right: input.right, label_left: label.left, label_right: label.right,
    };
  });
  await audit(page, "ticket_phone");
  if (shots) await page.screenshot({ path: join(shots, "console-phone.png") });
  await page.getByRole("link", { name: "All tickets" }).click();
  await page.waitForURL(/\/console\/inbox\?view=open$/);
  await page.locator("#inbox .ticket-row").first().waitFor();
  const back = { ...(await visible()), url: new URL(page.url()).pathname + new URL(page.url()).search };
  step("phone", { widths, list_first: listFirst, opened, back, attach, long_row: longRow });
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await close();
}
console.log(JSON.stringify(result));
