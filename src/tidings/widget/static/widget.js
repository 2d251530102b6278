/*! tidings web chat widget: one <script> tag, no dependencies (docs/widget.md).
 *
 * <script src="https://chat.example.com/widget.js" data-app-id="..."></script>
 *
 * Speaks the service-desk API the PyrusServiceDesk mobile SDKs use
 * (/servicedeskapi/v1: gettickets with queued commands, UploadFile, DownloadFile,
 * Avatar), so a ticket started here is the same ticket the console answers and the
 * same history an externally authorized user sees on the phone.
 *
 * Identity: anonymous visitors get a random device id kept in localStorage (sent as
 * instance_id, like the SDK's device id); a site that knows its user passes
 * data-user-id + data-security-key, or calls TidingsChat.identify(), and the server
 * checks the pair with the app's authorization service, as for the mobile SDKs.
 *
 * Live updates: the API has no socket; like the SDKs, the widget polls gettickets,
 * faster right after the visitor's activity (5 s) and slower as it ages (15 s,
 * 60 s, 3 min), and answers 429/503 with Retry-After by waiting.
 */
(function () {
  "use strict";
  if (window.TidingsChat && window.TidingsChat.version) return; // included twice

  var script = document.currentScript || (function () {
    var all = document.querySelectorAll("script[src*='widget.js']");
    return all[all.length - 1];
  })();
  if (!script) return;
  var data = script.dataset || {};
  var serverUrl = (data.server || script.src.replace(/\/widget\.js(?:[?#].*)?$/, "")).replace(/\/+$/, "");
  var api = serverUrl + "/servicedeskapi/v1/";
  var appId = data.appId || "";
  var KEY_PREFIX = "tidings-chat:" + appId + ":";

  // -- identity -----------------------------------------------------------------

  var memoryStore = {};
  function stored(key) {
    try { return window.localStorage.getItem(KEY_PREFIX + key); } catch (e) { return memoryStore[key] || null; }
  }
  function store(key, value) {
    try {
      if (value === null) window.localStorage.removeItem(KEY_PREFIX + key);
      else window.localStorage.setItem(KEY_PREFIX + key, value);
    } catch (e) {
      if (value === null) delete memoryStore[key]; else memoryStore[key] = value;
    }
  }
  function randomId() {
    // 128 random bits: the device id is the only secret of an anonymous chat.
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  function deviceId() {
    var id = stored("device");
    if (!id || !/^[0-9a-f]{32}$/.test(id)) { id = randomId(); store("device", id); }
    return id;
  }

  var identity = { userId: data.userId || null, securityKey: data.securityKey || null, name: data.userName || null };

  function credentials() {
    var body = { app_id: appId, instance_id: deviceId(), version: 2 };
    if (identity.userId && identity.securityKey) {
      body.user_id = identity.userId;
      body.security_key = identity.securityKey;
    }
    return body;
  }
  function downloadQuery() {
    // As the SDKs do (wire spec §7): anonymous downloads name the device id as user_id.
    var q = identity.userId && identity.securityKey
      ? { user_id: identity.userId, security_key: identity.securityKey, instance_id: deviceId(), version: 2, app_id: appId }
      : { user_id: deviceId(), app_id: appId };
    return Object.keys(q).map(function (k) { return k + "=" + encodeURIComponent(q[k]); }).join("&");
  }

  // -- state ----------------------------------------------------------------------

  var state;
  function resetState() {
    state = {
      tickets: {},        // ticket_id -> {is_read, last_read_comment_id, is_active}
      comments: {},       // comment_id -> wire comment (with ticket_id added)
      lastNoteId: 0,
      pending: [],        // commands not yet answered: {id, wire, text, files, failed}
      readSent: {},       // ticket_id -> comment id a MarkTicketAsRead was queued for
      app: null,          // applications[0]
      status: "idle",     // idle | ok | refused | offline
      loaded: false,
    };
  }
  resetState();
  var isOpen = false;
  var lastActivity = Date.now();
  var timer = null;
  var syncing = false;
  var syncAgain = false;
  var retryAt = 0;
  var waiters = [];

  function uuid() {
    var h = randomId();
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-4" + h.slice(13, 16) + "-a" + h.slice(17, 20) + "-" + h.slice(20);
  }

  function queueCommand(type, params) {
    var command = { command_id: uuid(), type: type, app_id: appId, params: Object.assign({ app_id: appId }, params) };
    if (identity.userId && identity.securityKey) command.user_id = identity.userId;
    return command;
  }

  // -- sync -------------------------------------------------------------------------

  function pollDelay() {
    // Wire spec §12: poll by the age of the visitor's last activity.
    if (isOpen && !document.hidden) return 5000;
    var age = Date.now() - lastActivity;
    var delay = age <= 60000 ? 5000 : age <= 300000 ? 15000 : age <= 3600000 ? 60000 : 180000;
    return document.hidden ? Math.max(delay, 60000) : delay;
  }

  function schedule(delay) {
    clearTimeout(timer);
    if (state.status === "refused" || !appId) return;
    var wait = Math.max(delay === undefined ? pollDelay() : delay, retryAt - Date.now(), 0);
    timer = setTimeout(sync, wait);
  }

  function settle(error) {
    var list = waiters; waiters = [];
    list.forEach(function (w) { if (error) w.reject(error); else w.resolve(); });
  }

  function sync() {
    if (syncing) { syncAgain = true; return; }
    if (!appId || state.status === "refused") return;
    syncing = true;
    clearTimeout(timer);
    var batch = state.pending.filter(function (p) { return !p.failed && p.wire; });
    var body = Object.assign(credentials(), {
      need_full_info: true,
      commands: batch.map(function (p) { return p.wire; }),
    });
    if (identity.name) body.author_name = identity.name;
    if (state.lastNoteId) body.last_note_id = state.lastNoteId;
    var generation = state;
    fetch(api + "gettickets", {
      method: "POST",
      headers: { "Content-Type": "application/json; charset=utf-8" },
      body: JSON.stringify(body),
      credentials: "omit",
    }).then(function (response) {
      if (generation !== state) return; // identity changed meanwhile
      if (response.status === 403) {
        state.status = "refused";
        settle(new Error("authorization refused"));
        return;
      }
      if (response.status === 429 || response.status === 503) {
        var after = parseInt(response.headers.get("Retry-After") || "5", 10);
        retryAt = Date.now() + Math.min(Math.max(after, 1), 300) * 1000;
        state.status = "offline";
        return;
      }
      if (!response.ok) { state.status = "offline"; return; }
      return response.json().then(function (reply) {
        if (generation !== state) return;
        merge(reply, batch);
        state.status = "ok";
        state.loaded = true;
        settle(null);
      });
    }).catch(function () {
      if (generation === state) state.status = "offline";
    }).then(function () {
      syncing = false;
      render();
      if (syncAgain) { syncAgain = false; sync(); return; }
      schedule();
    });
  }

  function merge(reply, batch) {
    var app = (reply.applications || []).filter(function (a) { return a.app_id === appId; })[0];
    if (app) state.app = app;
    (reply.tickets || []).forEach(function (t) {
      state.tickets[t.ticket_id] = {
        is_read: t.is_read !== false,
        last_read_comment_id: t.last_read_comment_id || 0,
        is_active: t.is_active !== false,
      };
      (t.comments || []).forEach(function (c) {
        c.ticket_id = t.ticket_id;
        state.comments[c.comment_id] = c;
        if (c.comment_id > state.lastNoteId) state.lastNoteId = c.comment_id;
      });
    });
    (reply.commands_result || []).forEach(function (result) {
      var pending = batch.filter(function (p) { return p.wire.command_id === result.command_id; })[0];
      if (!pending) return;
      if (result.error) pending.failed = result.error.text || "not sent";
      else state.pending.splice(state.pending.indexOf(pending), 1);
    });
    markReadIfSeen();
  }

  function supportComments(ticketId, after) {
    return Object.keys(state.comments).map(function (id) { return state.comments[id]; }).filter(function (c) {
      return c.ticket_id === ticketId && !c.is_inbound && c.comment_id > after;
    });
  }

  function unreadCount() {
    var count = 0;
    Object.keys(state.tickets).forEach(function (id) {
      var t = state.tickets[id];
      if (!t.is_read) count += supportComments(Number(id), t.last_read_comment_id).length;
    });
    return count;
  }

  function markReadIfSeen() {
    // The visitor sees the chat: every unread ticket is read (MarkTicketAsRead, §5.2).
    if (!isOpen || document.hidden) return false;
    var queued = false;
    Object.keys(state.tickets).forEach(function (id) {
      var t = state.tickets[id];
      if (t.is_read) return;
      var newest = supportComments(Number(id), 0).reduce(function (m, c) { return Math.max(m, c.comment_id); }, 0);
      t.is_read = true;
      t.last_read_comment_id = Math.max(t.last_read_comment_id, newest);
      if (state.readSent[id] === newest) return;
      state.readSent[id] = newest;
      state.pending.push({ wire: queueCommand(1, { ticket_id: Number(id) }) });
      queued = true;
    });
    return queued;
  }

  // -- sending ----------------------------------------------------------------------

  function send(text, attachments, files) {
    lastActivity = Date.now();
    var params = { request_new_ticket: false, comment: text };
    if (attachments && attachments.length) params.attachments = attachments;
    state.pending.push({ wire: queueCommand(0, params), text: text, files: files || [] });
    render();
    sync();
  }

  function upload(file) {
    lastActivity = Date.now();
    var local = { wire: null, text: "", files: [file.name], uploading: true };
    state.pending.push(local);
    render();
    var form = new FormData();
    form.append("File", file, file.name);
    var generation = state;
    return fetch(api + "UploadFile", { method: "POST", body: form, credentials: "omit" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok || !body.guid) {
            throw new Error(response.status === 413 ? "the file is too large" : (body.error && body.error.text) || "upload failed");
          }
          return body.guid;
        });
      })
      .then(function (guid) {
        if (generation !== state) return;
        local.uploading = false;
        local.wire = queueCommand(0, { request_new_ticket: false, comment: "", attachments: [{ guid: guid, name: file.name }] });
        render();
        sync();
      })
      .catch(function (error) {
        local.uploading = false;
        local.failed = error.message || "upload failed";
        render();
      });
  }

  function download(attachment) {
    return fetch(api + "DownloadFile/" + attachment.id + "?" + downloadQuery(), { credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error("download failed");
        return response.blob();
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob);
        var a = document.createElement("a");
        a.href = url;
        a.download = attachment.name || "file";
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 30000);
      });
  }

  // -- view -------------------------------------------------------------------------

  var CSS = [
    ":host{all:initial}",
    ".tdw{--tdw-accent:#2f6fed;font:14px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2433;position:fixed;z-index:2147483000;bottom:20px;right:20px}",
    ".tdw.left{right:auto;left:20px}",
    ".tdw *{box-sizing:border-box}",
    ".tdw button{font:inherit;cursor:pointer}",
    ".tdw :focus-visible{outline:3px solid #ffb020;outline-offset:2px}",
    ".tdw-bubble{width:60px;height:60px;border-radius:50%;border:0;background:var(--tdw-accent);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;position:relative}",
    ".tdw-bubble svg{width:28px;height:28px;fill:currentColor}",
    ".tdw-badge{position:absolute;top:-4px;right:-4px;min-width:22px;height:22px;padding:0 6px;border-radius:11px;background:#d92d20;color:#fff;font-size:12px;font-weight:700;line-height:22px;text-align:center}",
    ".tdw-badge[hidden],.tdw-panel[hidden],.tdw [hidden]{display:none}",
    ".tdw-panel{position:absolute;bottom:76px;right:0;width:360px;height:520px;max-height:calc(100vh - 110px);background:#fff;border-radius:14px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".tdw.left .tdw-panel{right:auto;left:0}",
    ".tdw-head{display:flex;align-items:center;gap:10px;padding:12px 14px;background:var(--tdw-accent);color:#fff}",
    ".tdw-avatar{width:36px;height:36px;border-radius:50%;flex:none;display:flex;align-items:center;justify-content:center;font-weight:700;background:rgba(255,255,255,.25);overflow:hidden}",
    ".tdw-avatar img{width:100%;height:100%;object-fit:cover}",
    ".tdw-titles{flex:1;min-width:0}",
    ".tdw-title{font-weight:700;font-size:15px;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".tdw-sub{font-size:12px;opacity:.9;margin:0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    ".tdw-close{background:transparent;border:0;color:#fff;font-size:24px;line-height:1;width:36px;height:36px;border-radius:8px}",
    ".tdw-log{flex:1;overflow-y:auto;padding:12px;background:#f5f7fb;display:flex;flex-direction:column;gap:8px}",
    ".tdw-msg{max-width:82%;padding:8px 11px;border-radius:12px;white-space:pre-wrap;word-wrap:break-word;overflow-wrap:anywhere}",
    ".tdw-msg.support{align-self:flex-start;background:#fff;border:1px solid #e1e6ef}",
    ".tdw-msg.visitor{align-self:flex-end;background:var(--tdw-accent);color:#fff}",
    ".tdw-msg.pending{opacity:.65}",
    ".tdw-msg.failed{background:#fde8e7;color:#7a1a12;border:1px solid #f5b5b0}",
    ".tdw-author{display:block;font-size:11px;font-weight:700;color:#5b6577;margin-bottom:2px}",
    ".tdw-meta{display:block;font-size:11px;opacity:.75;margin-top:3px}",
    ".tdw-file{display:flex;align-items:center;gap:4px;margin-top:4px;padding:4px 8px;border-radius:6px;border:1px solid currentColor;background:transparent;color:inherit;text-align:left;max-width:100%;overflow:hidden;text-overflow:ellipsis}",
    ".tdw-file svg{width:14px;height:14px;flex:none;fill:currentColor}",
    ".tdw-notice{padding:8px 12px;font-size:13px;background:#fff4e5;color:#6b4300;border-top:1px solid #f3d9b1}",
    ".tdw-form{display:flex;align-items:flex-end;gap:6px;padding:8px;border-top:1px solid #e1e6ef;background:#fff}",
    ".tdw-input{flex:1;resize:none;min-height:40px;max-height:120px;padding:9px 10px;border:1px solid #c9d1de;border-radius:10px;font:inherit;color:inherit;background:#fff}",
    ".tdw-icon{width:40px;height:40px;flex:none;border-radius:10px;border:0;display:flex;align-items:center;justify-content:center;background:#eef2f8;color:#1d2433}",
    ".tdw-icon.send{background:var(--tdw-accent);color:#fff}",
    ".tdw-icon svg{width:20px;height:20px;fill:currentColor}",
    ".tdw-sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.tdw{bottom:12px;right:12px}.tdw.left{left:12px}.tdw-panel{position:fixed;inset:0;width:auto;height:auto;max-height:none;border-radius:0}.tdw.open .tdw-bubble{display:none}}",
  ].join("\n");

  var ICON_CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8l-5 4V5a2 2 0 0 1 2-2z"/></svg>';
  var ICON_CLIP = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/></svg>';
  var ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M2 21l21-9L2 3v7l15 2-15 2z"/></svg>';

  var ui = null;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "html") node.innerHTML = attrs[k]; // only the constant icons above
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { node.appendChild(c); });
    return node;
  }

  function build() {
    // A custom tag with an inline reset: page rules for div, or body > *, miss it.
    var host = el("tidings-chat", { style: "all:initial;position:static" });
    var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
    if (root !== host && "adoptedStyleSheets" in root && window.CSSStyleSheet) {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.appendChild(el("style", { text: CSS }));
    }
    var frame = el("div", { class: "tdw" + (data.position === "left" ? " left" : "") });
    if (data.color && /^#[0-9a-fA-F]{3,8}$/.test(data.color)) frame.style.setProperty("--tdw-accent", data.color);

    var badge = el("span", { class: "tdw-badge", hidden: "" });
    var bubble = el("button", { type: "button", class: "tdw-bubble", "aria-label": "Open chat", "aria-expanded": "false", "aria-controls": "tdw-panel", html: ICON_CHAT });
    bubble.appendChild(badge);

    var avatar = el("div", { class: "tdw-avatar", "aria-hidden": "true" });
    var title = el("h2", { class: "tdw-title", id: "tdw-title" });
    var subtitle = el("p", { class: "tdw-sub" });
    var close = el("button", { type: "button", class: "tdw-close", "aria-label": "Close chat", text: "\u00d7" });
    var head = el("div", { class: "tdw-head" }, [avatar, el("div", { class: "tdw-titles" }, [title, subtitle]), close]);
    var log = el("div", { class: "tdw-log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
    var notice = el("div", { class: "tdw-notice", role: "alert", hidden: "" });
    var input = el("textarea", { class: "tdw-input", rows: "1", "aria-label": "Message", placeholder: "Write a message\u2026", maxlength: "10000" });
    var fileInput = el("input", { type: "file", class: "tdw-sr", tabindex: "-1", "aria-hidden": "true" });
    var attach = el("button", { type: "button", class: "tdw-icon", "aria-label": "Attach a file", html: ICON_CLIP });
    var sendButton = el("button", { type: "submit", class: "tdw-icon send", "aria-label": "Send", html: ICON_SEND });
    var form = el("form", { class: "tdw-form" }, [fileInput, attach, input, sendButton]);
    var panel = el("div", { class: "tdw-panel", id: "tdw-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "tdw-title", hidden: "" }, [head, log, notice, form]);
    frame.appendChild(panel);
    frame.appendChild(bubble);
    root.appendChild(frame);

    bubble.addEventListener("click", function () { if (isOpen) closePanel(); else openPanel(); });
    close.addEventListener("click", closePanel);
    panel.addEventListener("keydown", function (e) { if (e.key === "Escape") { e.preventDefault(); closePanel(); } });
    attach.addEventListener("click", function () { fileInput.click(); });
    fileInput.addEventListener("change", function () {
      Array.prototype.forEach.call(fileInput.files || [], upload);
      fileInput.value = "";
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text || state.status === "refused") return;
      input.value = "";
      send(text);
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit")); }
    });
    document.body.appendChild(host);
    ui = { host: host, root: root, frame: frame, bubble: bubble, badge: badge, panel: panel, avatar: avatar, title: title, subtitle: subtitle, log: log, notice: notice, input: input, attach: attach, send: sendButton };
  }

  function lastSupportAuthor() {
    var newest = null;
    Object.keys(state.comments).forEach(function (id) {
      var c = state.comments[id];
      if (!c.is_inbound && (!newest || c.comment_id > newest.comment_id)) newest = c;
    });
    return newest && newest.author;
  }

  function initials(name) {
    return (name || "?").split(/\s+/).filter(Boolean).slice(0, 2).map(function (w) { return w.charAt(0).toUpperCase(); }).join("") || "?";
  }

  function renderHeader() {
    var app = state.app || {};
    var author = lastSupportAuthor();
    var name = data.title || app.org_name || "Support";
    ui.title.textContent = name;
    ui.subtitle.textContent = author && author.name ? author.name : (app.org_description || "");
    var avatarKey = author ? (author.avatar_id || "") + "|" + (author.name || "") : "org|" + name;
    if (ui.avatar.getAttribute("data-key") === avatarKey) return;
    ui.avatar.setAttribute("data-key", avatarKey);
    ui.avatar.textContent = initials(author ? author.name : name);
    ui.avatar.style.background = author && author.avatar_color ? author.avatar_color : "";
    if (author && author.avatar_id) {
      // Avatar/{id}: the app's agent_avatar_id, or 404 and the initials stay (§8).
      var img = el("img", { alt: "", src: api + "Avatar/" + encodeURIComponent(author.avatar_id) });
      img.addEventListener("load", function () { ui.avatar.textContent = ""; ui.avatar.appendChild(img); });
    }
  }

  function messageNode(kind, author, text, attachments, meta) {
    var node = el("div", { class: "tdw-msg " + kind });
    if (author) node.appendChild(el("span", { class: "tdw-author", text: author }));
    if (text) node.appendChild(el("span", { class: "tdw-text", text: text }));
    (attachments || []).forEach(function (a) {
      if (typeof a === "string") { node.appendChild(el("span", { class: "tdw-file", text: a })); return; }
      var button = el("button", { type: "button", class: "tdw-file", "aria-label": "Download " + a.name, html: ICON_CLIP });
      button.appendChild(el("span", { text: a.name }));
      button.addEventListener("click", function () { download(a).catch(function () { showNotice("The file could not be downloaded."); }); });
      node.appendChild(button);
    });
    if (meta) node.appendChild(el("span", { class: "tdw-meta", text: meta }));
    return node;
  }

  function showNotice(text) {
    ui.notice.textContent = text || "";
    if (text) ui.notice.removeAttribute("hidden"); else ui.notice.setAttribute("hidden", "");
  }

  function render() {
    if (!ui) return;
    var unread = isOpen && !document.hidden ? 0 : unreadCount();
    ui.badge.textContent = unread ? String(unread) : "";
    if (unread) ui.badge.removeAttribute("hidden"); else ui.badge.setAttribute("hidden", "");
    ui.bubble.setAttribute("aria-label", unread ? "Open chat, " + unread + " unread" : isOpen ? "Close chat" : "Open chat");
    renderHeader();
    var refused = state.status === "refused";
    ui.input.disabled = refused;
    ui.attach.disabled = refused;
    ui.send.disabled = refused;
    if (refused) showNotice(identity.userId ? "We could not verify your account, so the chat is unavailable." : "Please sign in to chat with us.");
    else if (state.status === "offline") showNotice("Connection lost. Retrying\u2026");
    else if (!appId) showNotice("This chat is not configured (data-app-id is missing).");
    else showNotice("");
    if (!isOpen) return;

    // Rebuild the log only when it changed, so a focused button keeps its focus.
    var signature = [refused, Object.keys(state.comments).join(","), state.pending.map(function (p) {
      return (p.wire ? p.wire.command_id : "u") + (p.failed ? "!" : p.uploading ? "~" : "");
    }).join(","), state.app && state.app.welcome_message].join("|");
    if (ui.log.getAttribute("data-rendered") === signature) return;
    var atBottom = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40;
    var nodes = [];
    var welcome = state.app && state.app.welcome_message;
    if (welcome && !refused) nodes.push(messageNode("support welcome", null, welcome));
    if (!refused) {
      Object.keys(state.comments).map(Number).sort(function (a, b) { return a - b; }).forEach(function (id) {
        var c = state.comments[id];
        var text = c.rating ? "Rating: " + c.rating + (c.rating_comment ? " \u2014 " + c.rating_comment : "") : c.body;
        nodes.push(messageNode(c.is_inbound ? "visitor" : "support", c.is_inbound ? null : (c.author && c.author.name) || "Support", text, c.attachments || []));
      });
      state.pending.forEach(function (p) {
        if (p.wire && p.wire.type !== 0) return;
        var meta = p.failed ? "Not sent: " + p.failed : p.uploading ? "Uploading\u2026" : "Sending\u2026";
        nodes.push(messageNode("visitor " + (p.failed ? "failed" : "pending"), null, p.text, p.files, meta));
      });
    }
    ui.log.replaceChildren.apply(ui.log, nodes);
    if (atBottom || !ui.log.getAttribute("data-rendered")) ui.log.scrollTop = ui.log.scrollHeight;
    ui.log.setAttribute("data-rendered", signature);
  }

  function openPanel() {
    if (!ui) build();
    isOpen = true;
    lastActivity = Date.now();
    ui.frame.classList.add("open");
    ui.panel.removeAttribute("hidden");
    ui.bubble.setAttribute("aria-expanded", "true");
    ui.log.removeAttribute("data-rendered");
    if (markReadIfSeen()) sync();
    render();
    ui.input.focus();
    if (!state.loaded) sync(); else schedule();
  }

  function closePanel() {
    if (!ui || !isOpen) return;
    isOpen = false;
    ui.frame.classList.remove("open");
    ui.panel.setAttribute("hidden", "");
    ui.bubble.setAttribute("aria-expanded", "false");
    render();
    ui.bubble.focus();
  }

  // -- public API -------------------------------------------------------------------

  function restart() {
    var previous = waiters;
    resetState();
    retryAt = 0;
    waiters = previous;
    if (ui) ui.avatar.removeAttribute("data-key");
    render();
    sync();
  }

  function whenSynced() {
    return new Promise(function (resolve, reject) { waiters.push({ resolve: resolve, reject: reject }); });
  }

  window.TidingsChat = {
    version: "1",
    open: function () { openPanel(); },
    close: function () { closePanel(); },
    toggle: function () { if (isOpen) closePanel(); else openPanel(); },
    isOpen: function () { return isOpen; },
    unreadCount: function () { return unreadCount(); },
    /** Chat as the site's user; resolves once the server accepted, rejects if refused. */
    identify: function (who) {
      who = who || {};
      if (typeof who.userId !== "string" || !who.userId || typeof who.securityKey !== "string" || !who.securityKey) {
        return Promise.reject(new TypeError("identify needs {userId, securityKey} strings"));
      }
      identity = { userId: who.userId, securityKey: who.securityKey, name: typeof who.name === "string" ? who.name : identity.name };
      var done = whenSynced();
      restart();
      return done;
    },
    /** Back to an anonymous visitor with a new device id (a shared computer's next visitor sees nothing). */
    logout: function () {
      identity = { userId: null, securityKey: null, name: null };
      store("device", null);
      var done = whenSynced();
      restart();
      return done;
    },
    /** Resolves after the next successful sync; rejects if the server refuses the identity. */
    ready: function () {
      if (state.loaded) return Promise.resolve();
      if (state.status === "refused") return Promise.reject(new Error("authorization refused"));
      return whenSynced();
    },
  };

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { if (markReadIfSeen()) render(); sync(); }
  });

  function start() {
    build();
    if (!appId) { render(); return; }
    sync();
    if (data.open === "true") openPanel();
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
