// Live console: refresh the inbox and the open ticket when the server says something
// changed; send replies and notes, search, page and move between tickets without
// leaving the page. Everything but the shortcuts also works without JS.
(() => {
  "use strict";
  const inbox = document.getElementById("inbox");
  const pane = document.getElementById("ticket-pane");
  const layout = document.querySelector(".layout");
  const back = document.getElementById("back-to-list");
  const status = document.getElementById("live-status");
  if (!inbox) return;
  const view = inbox.dataset.view;
  // notice: a flash the open ticket keeps showing through live redraws ("reopened").
  const state = {
    q: inbox.dataset.q || "", priority: inbox.dataset.priority || "", tag: inbox.dataset.tag || "",
    mode: "reply", listSeq: 0, notice: null,
  };
  // Priority and tags saves in flight and finished: a ticket redraw fetched before one
  // of them committed is stale (see refreshTicket).
  const labelSaves = {pending: 0, done: 0};
  document.documentElement.classList.add("js");
  const current = () => Number(pane && pane.dataset.ticketId) || 0;
  if (current()) pane.dataset.shown = String(current());  // the ticket the page drew
  const me = Number((document.getElementById("me") || {dataset: {}}).dataset.userId) || 0;
  const baseTitle = document.title.replace(/^\(\d+\) /, "");
  const fetchHeaders = {"X-Requested-With": "fetch"};

  function listQuery(extra) {
    const p = new URLSearchParams({view, selected: String(current()), ...extra});
    if (state.q) p.set("q", state.q);
    if (state.priority) p.set("priority", state.priority);
    if (state.tag) p.set("tag", state.tag);
    return `/console/partials/list?${p}`;
  }

  // The tab title and view counts follow the list's <template id="view-counts">:
  // "(3) Inbox · tidings" while three open tickets have comments no agent has seen.
  function applyCounts() {
    const counts = document.getElementById("view-counts");
    if (!counts) return;
    for (const el of document.querySelectorAll("[data-count]")) {
      const n = counts.dataset[el.dataset.count];
      if (n !== undefined) el.textContent = n;
    }
    const unread = Number(counts.dataset.unread || 0);
    document.title = unread ? `(${unread}) ${baseTitle}` : baseTitle;
  }

  async function refreshList() {
    const seq = ++state.listSeq;
    const loaded = document.querySelectorAll(".ticket-row").length;
    const limit = String(Math.min(200, Math.max(100, loaded)));
    const r = await fetch(listQuery({limit}), {credentials: "same-origin"});
    if (!r.ok || seq !== state.listSeq) return;  // a newer refresh (or search) won
    const html = await r.text();
    if (seq !== state.listSeq) return;
    const hadFocus = document.activeElement && document.activeElement.classList.contains("ticket-list");
    inbox.innerHTML = html;
    applyCounts();
    watchMore();
    if (hadFocus) focusList();
  }

  function focusList() {
    const list = inbox.querySelector(".ticket-list");
    if (list) list.focus({preventScroll: true});
  }

  // Paging past the first 100: the last row is a "Load more" link carrying the cursor;
  // it loads by itself once scrolled into view.
  async function loadMore(link) {
    if (link.dataset.loading) return;
    link.dataset.loading = "1";
    const seq = state.listSeq;
    const r = await fetch(listQuery({after: link.dataset.after}), {credentials: "same-origin"});
    if (!r.ok || seq !== state.listSeq) { delete link.dataset.loading; return; }
    const html = await r.text();
    const row = link.closest(".more-row");
    if (!row || seq !== state.listSeq) return;
    row.insertAdjacentHTML("afterend", html);
    row.remove();
    watchMore();
  }
  const observer = "IntersectionObserver" in window
    ? new IntersectionObserver((entries) => {
      for (const e of entries) if (e.isIntersecting) loadMore(e.target);
    }, {root: inbox, rootMargin: "200px"})
    : null;
  function watchMore() {
    const link = document.getElementById("load-more");
    if (link && observer) observer.observe(link);
  }
  inbox.addEventListener("click", (e) => {
    const more = e.target.closest("#load-more");
    if (more) { e.preventDefault(); loadMore(more); return; }
    const row = e.target.closest(".ticket-row a");
    if (!row || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    openTicket(Number(row.closest(".ticket-row").dataset.ticketId));
  });

  async function refreshTicket(notice) {
    const id = current();
    if (!id) return;
    if (notice) state.notice = {ticket: id, name: notice};
    const p = new URLSearchParams({view});
    if (state.notice && state.notice.ticket === id) p.set("notice", state.notice.name);
    const saves = labelSaves.done;
    const r = await fetch(`/console/partials/thread/${id}?${p}`, {credentials: "same-origin"});
    if (!r.ok || id !== current()) return;
    const html = await r.text();
    if (id !== current()) return;
    // Drawn before a priority or tags change was saved: it would show (and a later
    // save would send back) the old values. The save's own redraw follows.
    if (saves !== labelSaves.done || labelSaves.pending) return;
    // A redraw of the same ticket keeps the composer as it is now (drafts, chosen
    // files, focus, caret): the live one moves into the new view. Only the "closed:
    // your reply reopens it" hint follows the ticket's new state.
    const fresh = document.createElement("div");
    fresh.innerHTML = html;
    const live = pane.dataset.shown === String(id) && pane.querySelector(".composer-wrap");
    const next = fresh.querySelector(".composer-wrap");
    const focused = document.activeElement;
    // Tags being typed in the header survive a redraw too.
    const tagsDraft = focused && focused.id === "tags" ? focused.value : null;
    if (live && next) {
      const hint = next.querySelector("#reopen-hint");
      const old = live.querySelector("#reopen-hint");
      if (old) old.remove();
      if (hint) live.querySelector("#reply-form").prepend(hint);
      next.replaceWith(live);
    }
    pane.replaceChildren(...fresh.childNodes);
    pane.dataset.shown = String(id);
    wireLabels();
    if (focused && focused !== document.activeElement && pane.contains(focused)) focused.focus();
    const tags = document.getElementById("tags");
    if (tagsDraft !== null && tags) { tags.value = tagsDraft; tags.focus(); }
    wireComposer();
    scrollThread();
  }

  // Open a ticket in place (row click, j/k): the thread loads, the URL follows, and
  // the list redraws, so its unread badge and the tab title clear at once.
  async function openTicket(id) {
    if (!id) return;
    if (id !== current()) state.mode = "reply";
    pane.dataset.ticketId = String(id);
    history.pushState({ticket: id}, "", `/console/tickets/${id}?view=${view}`);
    for (const row of document.querySelectorAll(".ticket-row")) {
      row.classList.toggle("selected", Number(row.dataset.ticketId) === id);
    }
    // On a phone the ticket takes the list's place: focus moves to its way back.
    layout.classList.add("has-ticket");
    if (back && getComputedStyle(back).display !== "none") back.focus({preventScroll: true});
    await refreshTicket();
    await refreshList();
  }
  window.addEventListener("popstate", () => location.reload());
  // A notification's click (attention.js) opens its ticket.
  document.addEventListener("console:open", (e) => openTicket(Number(e.detail.ticketId)));

  // Back from a ticket to the list (shown on phones, where one is seen at a time).
  function closeTicket() {
    delete pane.dataset.ticketId;
    delete pane.dataset.shown;
    pane.innerHTML = '<div class="empty"><p>Select a ticket to see the conversation.</p></div>';
    layout.classList.remove("has-ticket");
    history.pushState(null, "", `/console/inbox?view=${view}`);
    refreshList().then(focusList);
  }
  if (back) back.addEventListener("click", (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    closeTicket();
  });

  function scrollThread() {
    const thread = document.getElementById("thread");
    if (!thread) return;
    // Keyboard users scroll the thread and the requester panel too (axe:
    // scrollable-region-focusable).
    for (const el of pane.querySelectorAll("#thread, .details")) el.tabIndex = 0;
    thread.scrollTop = thread.scrollHeight;
    // On a phone the whole ticket scrolls, not the thread: bring its end and the
    // composer into view.
    const composer = pane.querySelector(".composer-wrap");
    if (composer && getComputedStyle(pane).overflowY === "auto") composer.scrollIntoView({block: "end"});
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
      document.dispatchEvent(new CustomEvent("console:frame", {detail: ev}));  // attention.js
      if (ev.change === "callback") return;  // the callback queue's business
      if (ev.change === "attention") return;  // the "comment" frame before it redraws
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
      method: "POST", credentials: "same-origin", headers: fetchHeaders,
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

  // Reply or internal note: two forms under one pair of tabs.
  function setMode(mode, focus) {
    state.mode = mode;
    const wrap = document.querySelector(".composer-wrap");
    if (!wrap) return;
    wrap.classList.toggle("mode-reply", mode === "reply");
    wrap.classList.toggle("mode-note", mode === "note");
    for (const tab of wrap.querySelectorAll(".tab")) {
      tab.setAttribute("aria-pressed", String(tab.dataset.mode === mode));
    }
    if (focus) document.getElementById(mode === "note" ? "note-body" : "reply-body").focus();
  }

  function ctrlEnterSubmits(box, form) {
    box.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); form.requestSubmit(); }
    });
  }

  // Priority and tags in the ticket's header (redrawn with it: wired on every draw).
  function wireLabels() {
    const labels = document.getElementById("labels-form");
    if (!labels || labels.dataset.wired) return;
    labels.dataset.wired = "1";
    labels.addEventListener("submit", async (e) => {
      e.preventDefault();
      labelSaves.pending += 1;
      let r;
      try {
        r = await fetch(labels.action, {
          method: "POST", body: new URLSearchParams(new FormData(labels)), credentials: "same-origin", headers: fetchHeaders,
        });
      } finally {
        labelSaves.pending -= 1;
        labelSaves.done += 1;
      }
      if (r.ok) { await refreshTicket(); await refreshList(); }
    });
    document.getElementById("priority").addEventListener("change", () => labels.requestSubmit());
  }

  function wireComposer() {
    wireLabels();
    const form = document.getElementById("reply-form");
    if (!form || form.dataset.wired) return;
    form.dataset.wired = "1";
    setMode(state.mode, false);
    for (const tab of document.querySelectorAll(".composer-tabs .tab")) {
      tab.addEventListener("click", () => setMode(tab.dataset.mode, true));
    }
    const box = document.getElementById("reply-body");
    box.addEventListener("input", () => { if (box.value.trim()) typed(); });
    // A canned reply goes in at the caret (its {name} already filled by the server).
    const canned = document.getElementById("canned");
    if (canned) canned.addEventListener("change", () => {
      if (!canned.value) return;
      const at = box.selectionStart ?? box.value.length;
      box.setRangeText(canned.value, at, box.selectionEnd ?? at, "end");
      canned.value = "";
      box.focus();
      box.dispatchEvent(new Event("input"));
    });
    ctrlEnterSubmits(box, form);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      sentTyping();
      const data = new FormData(form);
      if (!String(data.get("body") || "").trim() && !form.querySelector("input[type=file]").files.length) return;
      const button = document.getElementById("send-reply");
      button.disabled = true; button.textContent = "Sending…";
      try {
        const r = await fetch(form.action, {method: "POST", body: data, credentials: "same-origin", headers: fetchHeaders});
        if (r.ok) {
          const outcome = await r.json();
          box.value = ""; form.reset();
          await refreshTicket(outcome.reopened ? "reopened" : "");
          await refreshList();
        }
      } finally {
        const b = document.getElementById("send-reply");
        if (b) { b.disabled = false; b.textContent = "Send reply"; }
      }
    });
    const noteForm = document.getElementById("note-form");
    const noteBox = document.getElementById("note-body");
    ctrlEnterSubmits(noteBox, noteForm);
    noteForm.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (!noteBox.value.trim()) return;
      const r = await fetch(noteForm.action, {
        method: "POST", body: new URLSearchParams({body: noteBox.value}),
        credentials: "same-origin", headers: fetchHeaders,
      });
      if (r.ok) { noteBox.value = ""; await refreshTicket(); }
    });
  }

  // Search as you type: the list shows matches across all views; empty, the view again.
  const search = document.getElementById("search");
  let searchTimer = null;
  function runSearch() {
    const q = search.value.trim();
    if (q === state.q) return;
    state.q = q;
    const p = new URLSearchParams({view});
    if (q) p.set("q", q);
    if (!current()) history.replaceState(null, "", `/console/inbox?${p}`);
    refreshList();
  }
  if (search) {
    search.addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(runSearch, 150); });
    document.getElementById("search-form").addEventListener("submit", (e) => {
      e.preventDefault(); clearTimeout(searchTimer); runSearch();
    });
  }

  // Filters (priority, tag) apply as they change.
  const filters = document.getElementById("filters");
  let filterTimer = null;
  function applyFilters() {
    const data = new FormData(filters);
    state.priority = String(data.get("priority") || "");
    state.tag = String(data.get("tag") || "").trim();
    refreshList();
  }
  if (filters) {
    filters.addEventListener("change", applyFilters);
    filters.addEventListener("input", () => { clearTimeout(filterTimer); filterTimer = setTimeout(applyFilters, 200); });
    filters.addEventListener("submit", (e) => { e.preventDefault(); applyFilters(); });
  }

  async function post(path, fields) {
    const r = await fetch(path, {
      method: "POST", body: new URLSearchParams(fields), credentials: "same-origin", headers: fetchHeaders,
    });
    if (r.ok) { await refreshTicket(); await refreshList(); }
  }

  function move(delta) {
    const rows = [...document.querySelectorAll(".ticket-row")];
    if (!rows.length) return;
    const at = rows.findIndex((r) => Number(r.dataset.ticketId) === current());
    const next = rows[at < 0 ? 0 : Math.min(rows.length - 1, Math.max(0, at + delta))];
    if (Number(next.dataset.ticketId) === current()) return;
    next.scrollIntoView({block: "nearest"});
    openTicket(Number(next.dataset.ticketId));
  }

  const help = document.getElementById("help");
  const showHelp = () => { if (help && !help.open) help.showModal(); };
  const helpButton = document.getElementById("help-open");
  if (helpButton) helpButton.addEventListener("click", showHelp);

  // Shortcuts (the help overlay lists them). None fires while typing in a text box.
  document.addEventListener("keydown", (e) => {
    const t = e.target;
    const typingInto = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
    if (typingInto) {
      if (e.key === "Escape") t.blur();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey || (help && help.open)) return;
    const inList = t instanceof HTMLElement && t.closest(".ticket-list");
    const id = current();
    switch (e.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "ArrowDown": if (!inList) return; move(1); break;
      case "ArrowUp": if (!inList) return; move(-1); break;
      case "r": if (!id) return; setMode("reply", true); break;
      case "n": if (!id) return; setMode("note", true); break;
      case "/": if (!search) return; search.focus(); search.select(); break;
      case "e": if (!id) return; post(`/console/tickets/${id}/status`, {status: "closed"}); break;
      case "a": if (!id || !me) return; post(`/console/tickets/${id}/assign`, {assignee: String(me)}); break;
      case "?": showHelp(); break;
      default: return;
    }
    e.preventDefault();
  });

  applyCounts();
  watchMore();
  wireComposer();
  scrollThread();
  connect(500);
})();
