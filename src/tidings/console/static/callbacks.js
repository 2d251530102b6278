// Live callback queue: redraw when the server says a callback moved on; run the
// actions without leaving the page. Everything also works without JS (plain forms).
(() => {
  "use strict";
  const section = document.getElementById("callback-queue");
  const status = document.getElementById("live-status");
  if (!section) return;

  let pending = null;
  async function refresh() {
    const r = await fetch("/console/partials/callbacks", {credentials: "same-origin"});
    if (r.ok) section.innerHTML = await r.text();
  }
  function schedule() {
    // Coalesce bursts of events into one redraw.
    if (pending) return;
    pending = setTimeout(async () => { pending = null; await refresh(); }, 80);
  }

  section.addEventListener("submit", async (e) => {
    const form = e.target.closest("form[data-action]");
    if (!form) return;
    e.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const r = await fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: {"X-Requested-With": "fetch"},
      });
      if (!r.ok) {
        const problem = await r.json().catch(() => ({error: `failed (${r.status})`}));
        alert(problem.error || `failed (${r.status})`);
      }
    } finally {
      button.disabled = false;
      await refresh();
    }
  });

  function connect(delay) {
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/console/ws`);
    ws.onopen = () => { status.textContent = "live"; status.classList.add("on"); delay = 500; refresh(); };
    ws.onmessage = (e) => {
      const ev = JSON.parse(e.data);
      if (ev.change === "callback" || ev.change === "gms") schedule();
    };
    ws.onclose = () => {
      status.textContent = "reconnecting…"; status.classList.remove("on");
      setTimeout(() => connect(Math.min(delay * 2, 10000)), delay);
    };
  }

  setInterval(schedule, 30000);  // waiting times move on by themselves
  connect(500);
})();
