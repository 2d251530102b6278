// The admin panel in Debian's Chromium, for tests/integration/test_admin_panel.py.
// Env: BASE_URL, ADMIN_LOGIN, ADMIN_PASSWORD, APNS_KEY, APNS_KEY_ID, APNS_TEAM_ID,
// APNS_BUNDLE, DEAD_ID, NEW_APP, NEW_ADMIN, NEW_PASSWORD, CHROMIUM,
// SCREENSHOT_DIR (optional). Prints one
// JSON object last: what the admin saw at each step.
import { launch } from "./launch.mjs";
import { join } from "node:path";

const env = process.env;
const base = env.BASE_URL;
const shots = env.SCREENSHOT_DIR || "";
const result = { steps: [] };
const step = (name, extra = {}) => result.steps.push({ name, ...extra });
const text = async (locator) => (await locator.textContent()).trim();

const { browser, close } = await launch({ width: 1100, height: 720 });
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(30000);
  page.on("dialog", (d) => d.accept());

  await page.goto(`${base}/admin`);
  await page.waitForURL(/\/admin\/login/);
  await page.getByLabel("Login").fill(env.ADMIN_LOGIN);
  await page.getByLabel("Password").fill("wrong password");
  await page.getByRole("button", { name: "Sign in" }).click();
  const refused = await text(page.getByRole("alert"));
  await page.getByLabel("Password").fill(env.ADMIN_PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(/\/admin\/overview/);
  step("signed_in", { refused, dead: await text(page.locator("#outbox-dead")) });
  if (shots) await page.screenshot({ path: join(shots, "admin-overview.png") });

  // Service desk: a bad URL is refused with its reason and what was typed kept.
  await page.getByRole("link", { name: "App settings" }).click();
  await page.getByLabel("Authorization service URL").fill("https://auth.example.com/check");
  await page.getByLabel("Webhook URL").fill("not a url");
  await page.getByLabel("Welcome message").fill("Hello from the admin panel!");
  await page.getByRole("button", { name: "Save service desk" }).click();
  const deskError = await text(page.locator("#desk [role=alert]"));
  const keptWelcome = await page.getByLabel("Welcome message").inputValue();
  await page.getByLabel("Webhook URL").fill("https://hooks.example.com/desk");
  await page.getByLabel("Agent name (shown for agents without one)").fill("Acme Support");
  await page.getByRole("button", { name: "Save service desk" }).click();
  await page.waitForURL(/done=desk/);
  step("desk_saved", {
    deskError, keptWelcome,
    notice: await text(page.getByRole("status")),
    auth_url: await page.getByLabel("Authorization service URL").inputValue(),
  });

  // APNs credentials.
  await page.getByLabel("Key (.p8, PEM)").fill(env.APNS_KEY);
  await page.getByLabel("Key id").fill(env.APNS_KEY_ID);
  await page.getByLabel("Team id").fill(env.APNS_TEAM_ID);
  await page.getByLabel("Bundle id").fill(env.APNS_BUNDLE);
  await page.getByRole("button", { name: "Save APNs" }).click();
  await page.waitForURL(/done=apns/);
  step("apns_saved", {
    notice: await text(page.getByRole("status")),
    bundle: await page.getByLabel("Bundle id").inputValue(),
  });
  if (shots) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(shots, "admin-settings.png") });
  }

  // Chat alerts: an empty template is refused, then one is saved.
  await page.getByRole("link", { name: "Chat alerts" }).click();
  await page.getByLabel("Push text").fill("   ");
  await page.getByRole("button", { name: "Save template" }).click();
  const emptyError = await text(page.getByRole("alert"));
  await page.getByLabel("Push text").fill("{sender} wrote: {message}");
  await page.getByRole("button", { name: "Save template" }).click();
  await page.waitForURL(/done=alerts/);
  step("template_saved", { emptyError, example: await text(page.locator("#alert-example")) });
  if (shots) await page.screenshot({ path: join(shots, "admin-alerts.png") });

  // A broadcast to everyone, and a first message in it.
  await page.getByRole("link", { name: "Broadcasts" }).click();
  await page.getByLabel("Name").fill("Service news");
  await page.getByRole("button", { name: "Create broadcast" }).click();
  await page.waitForURL(/done=broadcast/);
  const row = page.locator(".broadcast", { hasText: "Service news" });
  const dialogId = await row.getAttribute("data-dialog-id");
  await row.getByPlaceholder("Message to everyone").fill("Maintenance tonight at 22:00");
  await row.getByRole("button", { name: "Post" }).click();
  await page.waitForURL(/done=posted/);
  step("broadcast_posted", {
    dialogId,
    last: await text(page.locator(`.broadcast[data-dialog-id="${dialogId}"] .bc-last`)),
  });
  if (shots) await page.screenshot({ path: join(shots, "admin-broadcasts.png") });

  // The dead push, with its reason, replayed.
  await page.getByRole("link", { name: "Outbox" }).click();
  const dead = page.locator(`.dead-row[data-outbox-id="${env.DEAD_ID}"]`);
  const reason = await text(dead.locator(".reason"));
  if (shots) await page.screenshot({ path: join(shots, "admin-outbox.png") });
  await dead.getByRole("button", { name: "Replay" }).click();
  await page.waitForURL(/done=replayed/);
  step("replayed", {
    reason,
    notice: await text(page.getByRole("status")),
    still_dead: await page.locator(`.dead-row[data-outbox-id="${env.DEAD_ID}"]`).count(),
  });

  // An operator's admin makes a new app and its first admin.
  await page.getByRole("link", { name: "Apps" }).click();
  await page.getByLabel("Name").fill(env.NEW_APP);
  await page.getByLabel("Its first admin's login").fill(env.NEW_ADMIN);
  await page.getByLabel("Their password").fill(env.NEW_PASSWORD);
  await page.getByRole("button", { name: "Create app" }).click();
  await page.waitForURL(/created=/);
  step("app_created", {
    id: await text(page.locator("#created-id")),
    heading: await text(page.locator("#created h2")),
    listed: await page.locator(".app-row").count(),
  });
  result.ok = true;
} catch (error) {
  result.ok = false;
  result.error = String(error && error.stack || error);
} finally {
  await close();
}
console.log(JSON.stringify(result));
