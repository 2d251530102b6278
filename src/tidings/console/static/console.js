// Live console: refresh the inbox and the open ticket when the server says something
// changed; send replies without leaving the page. Everything also works without JS.
(() => {
  "use strict";
  const inbox = document.getElementById("inbox");
  const pane = document.getElementById("ticket-pane");
  const status = document.getElementById("live-status");
  if (!inbox) return;
  const view = inbox.dataset.view;
  const current = () => Number(pane && pane.dataset.ticketId) || 0;

  async function refreshList() {
    const r = await fetch(`/console/partials/list?view=${view}&selected=${current()}`, {credentials: "same-origin"});
    if (!r.ok) return;
    inbox.innerHTML = await r.text();
    const counts = document.getElementById("view-counts");
    if (counts) for (const el of document.querySelectorAll("[data-count]")) {
      const n = counts.dataset[el.dataset.count];
      if (n !== undefined) el.textContent = n;
    }
  }

  async function refreshTicket() {
    const id = current();
    if (!id) return;
    const r = await fetch(`/console/partials/thread/${id}?view=${view}`, {credentials: "same-origin"});
    if (!r.ok) return;
    const html = await r.text();
    // The draft as it is now, not as it was when the fetch started.
    const draft = document.getElementById("reply-body");
    const text = draft ? draft.value : "";
    const hadFocus = document.activeElement === draft;
    pane.innerHTML = html;
    const box = document.getElementById("reply-body");
    if (box) { box.value = text; if (hadFocus) box.focus(); }
    wireComposer();
    scrollThread();
  }

  function scrollThread() {
    const thread = document.getElementById("thread");
    if (thread) thread.scrollTop = thread.scrollHeight;
  }

  let pending = null;
  function schedule(ticketAffected) {
    // Coalesce bursts of events into one refresh.
    if (pending) { pending.ticket = pending.ticket || ticketAffected; return; }
    pending = {ticket: ticketAffected};
    setTimeout(async () => {
      const p = pending; pending = null;
      await refreshList();
      if (p.ticket) await refreshTicket();
    }, 80);
  }

  function connect(delay) {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/ws`);
    ws.onopen = () => {
      status.textContent = "live"; status.classList.add("on"); delay = 500;
      schedule(true);  // what changed between the page's render and this socket
    };
    ws.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.change === "callback") return;  // the callback queue's business
      if (ev.change === "gms") {
        // A GMS chat's joins, leaves and typing: only the ticket showing it redraws.
        // The agent's own typing reports change nothing on screen.
        const own = (ev.entries || []).every((e) => /^AGENT:Notice\.Typing/.test(e));
        const gms = document.querySelector("[data-gms-service-id]");
        if (!own && gms && gms.dataset.gmsServiceId === ev.service_id) schedule(true);
        return;
      }
      schedule(ev.ticket_id === current() || !ev.ticket_id);
    };
    ws.onclose = () => {
      status.textContent = "reconnecting…"; status.classList.remove("on");
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }

  // A GMS chat hears the agent type: started on input, stopped after a pause. On send
  // the server itself tells the phone the agent stopped (after the message).
  const TYPING_PAUSE_MS = 3000;
  const typing = {ticket: 0, on: false, timer: null};
  function gmsTyping(on) {
    const id = current();
    if (!id || typing.on === on && typing.ticket === id) return;
    typing.on = on; typing.ticket = id;
    fetch(`/console/tickets/${id}/gms/${on ? "typing" : "stoptyping"}`, {
      method: "POST", credentials: "same-origin", headers: {"X-Requested-With": "fetch"},
    });
  }
  function typed() {
    if (!document.querySelector("[data-gms-service-id]")) return;
    if (typing.ticket !== current()) { typing.on = false; }
    gmsTyping(true);
    clearTimeout(typing.timer);
    typing.timer = setTimeout(() => gmsTyping(false), TYPING_PAUSE_MS);
  }
  function sentTyping() {
    clearTimeout(typing.timer);
    typing.on = false;
  }

  function wireComposer() {
    const form = document.getElementById("reply-form");
    if (!form || form.dataset.wired) return;
    form.dataset.wired = "1";
    const box = document.getElementById("reply-body");
    box.addEventListener("input", () => { if (box.value.trim()) typed(); });
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      sentTyping();
      const data = new FormData(form);
      if (!String(data.get("body") || "").trim() && !form.querySelector("input[type=file]").files.length) return;
      const button = document.getElementById("send-reply");
      button.disabled = true; button.textContent = "Sending…";
      try {
        const r = await fetch(form.action, {method: "POST", body: data, credentials: "same-origin"});
        if (r.ok) { box.value = ""; form.reset(); await refreshTicket(); await refreshList(); }
      } finally {
        const b = document.getElementById("send-reply");
        if (b) { b.disabled = false; b.textContent = "Send reply"; }
      }
    });
  }

  wireComposer();
  scrollThread();
  connect(500);
})();
