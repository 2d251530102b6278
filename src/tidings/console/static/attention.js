// Attention: a desktop notification and an optional short tone when a customer opens a
// ticket or writes on one that is this agent's or nobody's. Never for the agent's own
// replies, other agents' tickets, or the ticket on screen in a focused tab.
//
// console.js hands every live frame over as a "console:frame" event; clicking a
// notification asks it to open the ticket with "console:open". Both choices are the
// agent's, by a click (the browser asks for notifications only then), and are kept in
// localStorage.
(() => {
  "use strict";
  const box = document.getElementById("attention");
  const notifyButton = document.getElementById("notify-toggle");
  const soundButton = document.getElementById("sound-toggle");
  const pane = document.getElementById("ticket-pane");
  if (!box || !notifyButton || !soundButton) return;
  const NOTIFY_KEY = "tidings.console.notify";
  const SOUND_KEY = "tidings.console.sound";
  const canNotify = "Notification" in window;
  const me = Number((document.getElementById("me") || {dataset: {}}).dataset.userId) || 0;
  const created = new Set();  // tickets opened since the page loaded: "New ticket"

  const stored = (key) => { try { return localStorage.getItem(key) === "on"; } catch { return false; } };
  const store = (key, on) => { try { localStorage.setItem(key, on ? "on" : "off"); } catch { /* private mode */ } };
  const notifying = () => canNotify && Notification.permission === "granted" && stored(NOTIFY_KEY);

  function render() {
    box.hidden = false;
    notifyButton.hidden = !canNotify;
    if (canNotify && Notification.permission === "denied") {
      notifyButton.textContent = "Notifications blocked";
      notifyButton.title = "Allow notifications for this site in the browser's settings";
      notifyButton.disabled = true;
    } else {
      notifyButton.textContent = notifying() ? "Disable notifications" : "Enable notifications";
      notifyButton.title = "Desktop notifications for new tickets and customer messages";
      notifyButton.disabled = false;
    }
    soundButton.setAttribute("aria-pressed", String(stored(SOUND_KEY)));
  }

  notifyButton.addEventListener("click", async () => {
    if (notifying()) {
      store(NOTIFY_KEY, false);
    } else {
      store(NOTIFY_KEY, (await Notification.requestPermission()) === "granted");
    }
    render();
  });

  // One AudioContext, made on the click that turns sound on (browsers start it only
  // after a gesture); a later page load makes it at the first tone.
  let audio = null;
  function context() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!audio && Ctx) audio = new Ctx();
    if (audio && audio.state === "suspended") audio.resume().catch(() => {});
    return audio;
  }
  function tone() {
    const ctx = context();
    if (!ctx) return;
    const t = ctx.currentTime;
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(660, t + 0.12);
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    osc.stop(t + 0.32);
  }
  soundButton.addEventListener("click", () => {
    const on = !stored(SOUND_KEY);
    store(SOUND_KEY, on);
    if (on) context();
    render();
  });

  const current = () => Number(pane && pane.dataset.ticketId) || 0;
  function wanted(ev) {
    if (ev.author !== "customer") return false;
    if (ev.assignee_id && ev.assignee_id !== me) return false;  // another agent's ticket
    const onScreen = ev.ticket_id === current() && document.visibilityState === "visible" && document.hasFocus();
    return !onScreen;
  }

  function notify(ev) {
    const fresh = created.has(ev.ticket_id);
    created.delete(ev.ticket_id);
    const title = fresh ? `New ticket #${ev.ticket_id} · ${ev.author_name}` : `${ev.author_name} · #${ev.ticket_id}`;
    const body = ev.text || (ev.files === 1 ? "Sent a file" : `Sent ${ev.files} files`);
    // One notification per ticket at a time: a newer message replaces it and alerts again.
    const note = new Notification(title, {body, tag: `tidings-ticket-${ev.ticket_id}`, renotify: true});
    note.onclick = () => {
      window.focus();
      note.close();
      document.dispatchEvent(new CustomEvent("console:open", {detail: {ticketId: ev.ticket_id}}));
    };
  }

  document.addEventListener("console:frame", (e) => {
    const ev = e.detail;
    if (ev.change === "created") { created.add(ev.ticket_id); return; }
    if (ev.change !== "attention") return;
    if (!wanted(ev)) { created.delete(ev.ticket_id); return; }
    if (stored(SOUND_KEY)) tone();
    // Phones' browsers refuse the constructor (they notify from a service worker).
    if (notifying()) try { notify(ev); } catch { /* the tone still told them */ }
  });

  // A permission changed in the browser's settings shows at once.
  if (canNotify && navigator.permissions) {
    navigator.permissions.query({name: "notifications"}).then((status) => { status.onchange = render; }, () => {});
  }
  render();
})();
