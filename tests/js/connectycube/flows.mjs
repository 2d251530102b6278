// Runs named flows of the ConnectyCube seed with the unmodified connectycube@6.1.2 SDK
// against a tidings server, and prints one line per flow: `RESULT {"flow", "ok", ...}`.
//
//   BASE_URL=http://127.0.0.1:PORT APP_ID=1 AUTH_KEY=... CHAT_DOMAIN=localhost \
//   USERS='[{"id":1,"login":"a","password":"..."},...]' node flows.mjs session dialogs ...
//
// Each flow returns what the SDK handed back (and what the other side received), so
// the pytest side can assert on it and on the server's own state.
import readline from "node:readline";
import ConnectyCube from "connectycube";

const env = process.env;
const BASE = env.BASE_URL;
const APP_ID = Number(env.APP_ID);
const AUTH_KEY = env.AUTH_KEY;
const DOMAIN = env.CHAT_DOMAIN || "localhost";
const USERS = JSON.parse(env.USERS || "[]");
const WS = BASE.replace(/^http/, "ws") + "/xmpp-websocket";
const WAIT_MS = Number(env.WAIT_MS || 10000);

/** Automatic reconnection is off except in the flow that tests it (the SDK's config
 * is one per process, and each flow runs in its own process). */
let RECONNECT = { enable: false };

function config() {
  return {
    endpoints: { api_url: `${BASE}/connectycube`, chat: DOMAIN, chat_url: WS },
    chat: { streamManagement: { enable: true }, reconnect: RECONNECT },
    debug: { mode: 0 },
  };
}

/** A fresh SDK instance (its own session); the config object is shared by the SDK. */
function sdk() {
  const cube = new ConnectyCube.ConnectyCube();
  cube.init({ appId: APP_ID, authKey: AUTH_KEY }, config());
  return cube;
}

let stdinLines = null;

/** Ask the pytest side to act on the server (`STEP {...}` on stdout) and wait for its
 * answer line on stdin. */
async function step(request) {
  stdinLines ??= readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write(`STEP ${JSON.stringify(request)}\n`);
  const { value } = await stdinLines.next();
  return JSON.parse(value || "null");
}

/** Every chat message a client receives, and a way to wait for one by body. */
function inbox(cube) {
  const got = [];
  const waiting = [];
  cube.chat.onMessageListener = (userId, received) => {
    // `delay` is the SDK's XML element (circular): keep only whether there was one.
    const message = { ...received, delay: Boolean(received.delay) };
    got.push({ userId, message });
    for (const w of [...waiting]) {
      if (w.match({ userId, message })) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve({ userId, message });
      }
    }
  };
  return {
    got,
    next(body) {
      const match = (m) => m.message.body === body;
      const seen = got.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for "${body}"`)), WAIT_MS);
        waiting.push({ match, resolve: (v) => { clearTimeout(timer); resolve(v); } });
      });
    },
  };
}

async function loggedIn(n) {
  const cube = sdk();
  const user = USERS[n];
  const session = await cube.createSession({ login: user.login, password: user.password });
  return { cube, user, session };
}

function waitFor(register, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), WAIT_MS);
    register((...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function connect(entry, password) {
  await entry.cube.chat.connect({ userId: entry.user.id, password: password ?? entry.user.password });
  return entry;
}

const flows = {
  // -- REST ------------------------------------------------------------------------

  async session() {
    const cube = sdk();
    const app = await cube.createSession();
    const user = await cube.login({ login: USERS[0].login, password: USERS[0].password });
    const current = await cube.getSession();
    await cube.logout();
    const afterLogout = await cube.getSession();
    await cube.destroySession();
    let expired = null;
    const fresh = sdk();
    fresh.setSession({ token: "0000-no-such-token" });
    try {
      await fresh.chat.dialog.list();
    } catch (error) {
      expired = error;
    }
    return {
      app_user_id: app.user_id,
      token_kept: current.token === app.token,
      login_user_id: user.id,
      session_user_id: current.user_id,
      after_logout_user_id: afterLogout.user_id,
      expired,
    };
  },

  async sessionExpiredHook() {
    // §2.6: the 401 body makes the SDK call on.sessionExpired; retry replays the request.
    const cube = new ConnectyCube.ConnectyCube();
    let called = 0;
    const cfg = config();
    cfg.on = {
      sessionExpired: async (_handle, retry) => {
        called += 1;
        const helper = sdk();
        const session = await helper.createSession({ login: USERS[0].login, password: USERS[0].password });
        retry(session);
      },
    };
    cube.init({ appId: APP_ID, authKey: AUTH_KEY }, cfg);
    cube.setSession({ token: "expired-token" });
    const list = await cube.chat.dialog.list();
    // Unhook: the SDK's config is shared by every instance in this process.
    cube.init({ appId: APP_ID, authKey: AUTH_KEY }, { ...config(), on: { sessionExpired: undefined } });
    return { called, listed: Array.isArray(list.items) };
  },

  async signup() {
    const cube = sdk();
    const login = `sdk-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
    const made = await cube.users.signup({ login, password: "signup-password", full_name: "Signed Up" }, AUTH_KEY);
    const session = await cube.createSession({ login, password: "signup-password" });
    const found = await cube.users.getV2({ id: { in: [made.user.id, USERS[0].id] }, limit: 10 });
    const updated = await cube.users.update({ full_name: "Renamed" });
    await cube.users.delete();
    return { user: made.user, session_user_id: session.user_id, found, updated: updated.user };
  },

  async dialogs() {
    const a = await loggedIn(0);
    const [b, c] = [USERS[1], USERS[2]];
    const priv = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.id] });
    const group = await a.cube.chat.dialog.create({
      type: 2,
      name: "Friday party",
      occupants_ids: [b.id, c.id],
      description: "bring snacks",
      extensions: { theme: "pizza" },
    });
    const pub = await a.cube.chat.dialog.create({ type: 4, name: "Town square" });
    const other = await loggedIn(2);
    const subscribed = await other.cube.chat.dialog.subscribe(pub._id);
    const occupants = await a.cube.chat.dialog.getPublicOccupants(pub._id, { limit: 10, skip: 0 });
    const list = await a.cube.chat.dialog.list({ limit: 10, skip: 0, sort_desc: "last_message_date_sent" });
    const filtered = await a.cube.chat.dialog.list({ type: { in: [2, 3] } });
    const counted = await a.cube.chat.dialog.list({ count: 1 });
    const renamed = await a.cube.chat.dialog.update(group._id, {
      name: "Saturday party",
      pull_all: { occupants_ids: [c.id] },
    });
    const regrown = await a.cube.chat.dialog.update(group._id, { push_all: { occupants_ids: [c.id] } });
    const withAdmins = await a.cube.chat.dialog.addAdmins(group._id, [b.id]);
    const withoutAdmins = await a.cube.chat.dialog.removeAdmins(group._id, [b.id]);
    const msg = await a.cube.chat.message.create({ chat_dialog_id: group._id, message: "pin me" });
    const pinned = await a.cube.chat.dialog.update(group._id, { push_all: { pinned_messages_ids: [msg._id] } });
    const unpinned = await a.cube.chat.dialog.update(group._id, { pull_all: { pinned_messages_ids: [msg._id] } });
    await other.cube.chat.dialog.unsubscribe(pub._id);
    const throwaway = await a.cube.chat.dialog.create({ type: 2, name: "gone", occupants_ids: [b.id] });
    const deletedOne = await a.cube.chat.dialog.delete(throwaway._id, { force: 1 });
    const t1 = await a.cube.chat.dialog.create({ type: 2, name: "t1", occupants_ids: [b.id] });
    const t2 = await a.cube.chat.dialog.create({ type: 2, name: "t2", occupants_ids: [b.id] });
    const deletedMany = await a.cube.chat.dialog.delete([t1._id, t2._id], { force: 1 });
    return {
      priv, group, pub, subscribed, occupants, list, filtered, counted, renamed, regrown,
      withAdmins, withoutAdmins, pinned, unpinned, deletedOne, deletedMany, throwaway: throwaway._id,
    };
  },

  async history() {
    const a = await loggedIn(0);
    const b = await loggedIn(1);
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const sent = [];
    for (const text of ["first", "second", "third"]) {
      sent.push(await a.cube.chat.message.create({ chat_dialog_id: dialog._id, message: text, mood: "happy" }));
    }
    const unreadBefore = await b.cube.chat.message.unreadCount({ chat_dialog_ids: [dialog._id] });
    const since = Math.floor(Date.now() / 1000) - 3600;
    const peek = await b.cube.chat.message.list({
      chat_dialog_id: dialog._id,
      date_sent: { gt: since },
      sort_desc: "date_sent",
      limit: 2,
      mark_as_read: 0,
    });
    const unreadAfterPeek = await b.cube.chat.message.unreadCount({ chat_dialog_ids: [dialog._id] });
    const bySender = await b.cube.chat.message.list({ chat_dialog_id: dialog._id, sender_id: a.user.id, mark_as_read: 0 });
    await b.cube.chat.message.update(sent[0]._id, { read: 1, chat_dialog_id: dialog._id });
    const unreadAfterOne = await b.cube.chat.message.unreadCount();
    await b.cube.chat.message.update("", { read: 1, chat_dialog_id: dialog._id });
    const unreadAfterAll = await b.cube.chat.message.unreadCount();
    const edited = await a.cube.chat.message.update(sent[1]._id, { message: "second, edited", chat_dialog_id: dialog._id });
    const removed = await a.cube.chat.message.delete([sent[2]._id], { force: 1 });
    const final = await b.cube.chat.message.list({ chat_dialog_id: dialog._id });
    return {
      dialog_id: dialog._id, sent, unreadBefore, peek, unreadAfterPeek, bySender,
      unreadAfterOne, unreadAfterAll, edited, removed, final,
    };
  },

  async search() {
    const a = await loggedIn(0);
    const dialog = await a.cube.chat.dialog.create({ type: 2, name: "Lorem lovers", occupants_ids: [USERS[1].id] });
    await a.cube.chat.message.create({ chat_dialog_id: dialog._id, message: "lorem ipsum dolor" });
    const found = await a.cube.chat.search({
      search_text: "lorem",
      limit: 3,
      start_date: new Date(Date.now() - 3600 * 1000),
      end_date: new Date(Date.now() + 3600 * 1000),
      chat_dialog_ids: [dialog._id],
    });
    return { dialog_id: dialog._id, found };
  },

  async alerts() {
    const a = await loggedIn(0);
    const dialog = await a.cube.chat.dialog.create({ type: 2, name: "Noisy", occupants_ids: [USERS[1].id] });
    const initial = await a.cube.chat.dialog.getNotificationsSettings(dialog._id);
    const off = await a.cube.chat.dialog.updateNotificationsSettings(dialog._id, false);
    const read = await a.cube.chat.dialog.getNotificationsSettings(dialog._id);
    const on = await a.cube.chat.dialog.updateNotificationsSettings(dialog._id, true);
    return { dialog_id: dialog._id, initial, off, read, on };
  },

  async attachments() {
    const a = await loggedIn(0);
    const b = await loggedIn(1);
    const bytes = Buffer.from("a tiny picture of a cat");
    const blob = await a.cube.storage.createAndUpload({
      name: "cat.txt", file: bytes, type: "text/plain", size: bytes.length, public: false,
    });
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const message = await a.cube.chat.message.create({
      chat_dialog_id: dialog._id,
      message: "[attachment]",
      attachments: [{ type: "photo", uid: blob.uid, id: String(blob.id) }],
    });
    const history = await b.cube.chat.message.list({ chat_dialog_id: dialog._id });
    const uid = history.items[0].attachments[0].uid;
    const privateUrl = b.cube.storage.privateUrl(uid);
    const downloaded = await (await fetch(privateUrl)).text();
    const anonymous = (await fetch(b.cube.storage.publicUrl(uid))).status;
    const info = await a.cube.storage.getInfo(blob.id);
    const pub = await a.cube.storage.createAndUpload({
      name: "hello.bin", file: Buffer.from([0, 1, 2, 255]), type: "application/octet-stream", size: 4,
    });
    const publicBytes = [...new Uint8Array(await (await fetch(a.cube.storage.publicUrl(pub.uid))).arrayBuffer())];
    return { blob, message, history, privateUrl, downloaded, anonymous, info, publicBytes };
  },

  async push() {
    const a = await loggedIn(0);
    const sub = await a.cube.pushnotifications.subscriptions.create({
      notification_channel: "gcm",
      push_token: { environment: "development", client_identification_sequence: "fcm-token-sdk" },
      device: { platform: "android", udid: "sdk-device-1" },
    });
    const list = await a.cube.pushnotifications.subscriptions.list();
    const payload = a.cube.pushnotifications.base64Encode(JSON.stringify({ message: "Hello from the SDK" }));
    const event = await a.cube.pushnotifications.events.create({
      notification_type: "push",
      environment: "development",
      user: { ids: [USERS[1].id] },
      message: payload,
    });
    await a.cube.pushnotifications.subscriptions.delete(sub[0].subscription.id);
    const after = await a.cube.pushnotifications.subscriptions.list();
    return { sub, list, event, after };
  },

  // -- chat (XMPP over WebSocket) ----------------------------------------------------

  async chatConnect() {
    const a = await connect(await loggedIn(0));
    const b = await loggedIn(1);
    await connect(b, b.session.token); // the session token as the XMPP password
    const pong = await a.cube.chat.ping().then(() => true);
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { pong };
  },

  async chatPrivate() {
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const received = waitFor((done) => { b.cube.chat.onMessageListener = done; }, "message");
    // The SDK answers a markable message with a delivered marker by itself, so listen first.
    const delivered = waitFor((done) => { a.cube.chat.onDeliveredStatusListener = done; }, "delivered");
    const id = a.cube.chat.send(b.user.id, {
      type: "chat",
      body: "hello over xmpp",
      extension: { save_to_history: 1, dialog_id: dialog._id },
      markable: 1,
    });
    const [fromId, message] = await received;
    const typing = waitFor((done) => { a.cube.chat.onMessageTypingListener = done; }, "typing");
    b.cube.chat.sendIsTypingStatus(a.user.id);
    const [isTyping, typerId] = await typing;
    b.cube.chat.sendDeliveredStatus({ messageId: id, userId: a.user.id, dialogId: dialog._id });
    const [deliveredId] = await delivered;
    const read = waitFor((done) => { a.cube.chat.onReadStatusListener = done; }, "read");
    b.cube.chat.sendReadStatus({ messageId: id, userId: a.user.id, dialogId: dialog._id });
    const [readId] = await read;
    const edited = waitFor((done) => { b.cube.chat.onMessageUpdateListener = done; }, "edit");
    a.cube.chat.editMessage({ to: b.user.id, dialogId: dialog._id, body: "hello, edited", originMessageId: id, last: true });
    const [editedId, , editedBody] = await edited;
    const deleted = waitFor((done) => { b.cube.chat.onMessageDeleteListener = done; }, "delete");
    a.cube.chat.deleteMessage({ to: b.user.id, dialogId: dialog._id, messageId: id });
    const [deletedId] = await deleted;
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return {
      dialog_id: dialog._id, id, fromId, message, isTyping, typerId, deliveredId, readId,
      editedId, editedBody, deletedId,
    };
  },

  async chatGroup() {
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const dialog = await a.cube.chat.dialog.create({ type: 2, name: "xmpp group", occupants_ids: [b.user.id] });
    const received = waitFor((done) => { b.cube.chat.onMessageListener = done; }, "group message");
    const id = a.cube.chat.send(dialog._id, {
      type: "groupchat",
      body: "hello group",
      extension: { save_to_history: 1 },
    });
    const [fromId, message] = await received;
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { dialog_id: dialog._id, id, fromId, message };
  },

  async chatReconnect() {
    // Seed "Reconnection": the server drops b's socket; the SDK reconnects by itself
    // (fresh SASL + bind, §9.7), gets what was sent meanwhile, and chats on. Then the
    // seed's background/foreground cycle: disconnect() and connect() again.
    RECONNECT = { enable: true, timeInterval: 1 };
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const aIn = inbox(a.cube);
    const bIn = inbox(b.cube);
    const disconnected = waitFor((done) => { b.cube.chat.onDisconnectedListener = done; }, "disconnect");
    const reconnected = waitFor((done) => { b.cube.chat.onReconnectListener = done; }, "reconnect");
    const dropped = await step({ drop: b.user.id });
    await disconnected;
    const ext = { save_to_history: 1, dialog_id: dialog._id };
    const awayId = a.cube.chat.send(b.user.id, { type: "chat", body: "while you were away", extension: ext });
    await reconnected;
    const away = await bIn.next("while you were away");
    a.cube.chat.send(b.user.id, { type: "chat", body: "after reconnect", extension: ext });
    const after = await bIn.next("after reconnect");
    b.cube.chat.send(a.user.id, { type: "chat", body: "back again", extension: ext });
    const reply = await aIn.next("back again");
    await b.cube.chat.disconnect();
    const whileOffId = a.cube.chat.send(b.user.id, { type: "chat", body: "while you were out", extension: ext });
    await connect(b);
    const offline = await bIn.next("while you were out");
    a.cube.chat.send(b.user.id, { type: "chat", body: "welcome back", extension: ext });
    const welcome = await bIn.next("welcome back");
    b.cube.chat.send(a.user.id, { type: "chat", body: "thanks", extension: ext });
    const thanks = await aIn.next("thanks");
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { dialog_id: dialog._id, dropped, awayId, away, after, reply, whileOffId, offline, welcome, thanks };
  },

  async chatSelfDestroy() {
    // Seed "Self-destroy message": delivered live with its interval, never in history.
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const bIn = inbox(b.cube);
    const id = a.cube.chat.send(b.user.id, {
      type: "chat",
      body: "Self destroy message",
      extension: { save_to_history: 1, dialog_id: dialog._id, destroy_after: 10 },
    });
    const { userId, message } = await bIn.next("Self destroy message");
    a.cube.chat.send(b.user.id, {
      type: "chat", body: "a normal one", extension: { save_to_history: 1, dialog_id: dialog._id },
    });
    await bIn.next("a normal one");
    const history = await b.cube.chat.message.list({ chat_dialog_id: dialog._id, mark_as_read: 0 });
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { dialog_id: dialog._id, id, userId, message, history };
  },

  async chatContactAttachment() {
    // Seed "contact profile via chat attachments": the card travels as attachment data.
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [b.user.id] });
    const bIn = inbox(b.cube);
    const card = JSON.stringify({ phone: "180032323223", name: "Samuel Johnson" });
    const id = a.cube.chat.send(b.user.id, {
      type: "chat",
      body: "Contact Attachment",
      extension: { save_to_history: 1, dialog_id: dialog._id, attachments: [{ type: "contact", data: card }] },
    });
    const { message } = await bIn.next("Contact Attachment");
    const received = JSON.parse(message.extension.attachments[0].data);
    const viaRest = await a.cube.chat.message.create({
      chat_dialog_id: dialog._id,
      message: "Contact over REST",
      attachments: [{ type: "contact", data: card }],
    });
    const history = await b.cube.chat.message.list({ chat_dialog_id: dialog._id, mark_as_read: 0 });
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { dialog_id: dialog._id, id, message, received, viaRest, history };
  },

  async chatSystemMessages() {
    // §10.8: a headline over XMPP and POST /chat/Message/system both reach the
    // recipient's onSystemMessageListener, from the sender.
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const got = [];
    let wake = null;
    b.cube.chat.onSystemMessageListener = (msg) => { got.push(msg); if (wake) wake(); };
    const until = async (n) => {
      const deadline = Date.now() + WAIT_MS;
      while (got.length < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for system message ${n}`);
        await new Promise((resolve) => { wake = resolve; setTimeout(resolve, 200); });
      }
    };
    const id = a.cube.chat.sendSystemMessage(b.user.id, {
      body: "dialog/UPDATE",
      extension: { photo_uid: "abc", nested: { a: 1 } },
    });
    await until(1);
    const rest = await a.cube.chat.message.createSystem({ recipientId: b.user.id, action: "call-ended", seconds: 42 });
    await until(2);
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { id, got, rest };
  },

  async chatLastActivity() {
    // Seed: online status of a user; XEP-0012 through the SDK (§10.13).
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    const online = await a.cube.chat.getLastUserActivity(b.user.id);
    await b.cube.chat.disconnect();
    const offline = await a.cube.chat.getLastUserActivity(b.user.id);
    await a.cube.chat.disconnect();
    return { online, offline };
  },

  async chatPrivacy() {
    const a = await connect(await loggedIn(0));
    const b = await connect(await loggedIn(1));
    await b.cube.chat.privacylist.create({ name: "blocked", items: [{ user_id: a.user.id, action: "deny" }] });
    await b.cube.chat.privacylist.setAsDefault("blocked");
    const failed = waitFor((done) => { a.cube.chat.onMessageErrorListener = done; }, "blocked error");
    const id = a.cube.chat.send(b.user.id, { type: "chat", body: "are you there?", extension: { save_to_history: 1 } });
    const [errorId, error] = await failed;
    const names = await b.cube.chat.privacylist.getNames();
    await a.cube.chat.disconnect();
    await b.cube.chat.disconnect();
    return { id, errorId, error, names };
  },

  async chatNative() {
    // Issue 3: the SDK and the native API are one chat. USERS[1] is not an SDK client:
    // the pytest side drives them with a native session token (REST + /api/v1/ws).
    const a = await connect(await loggedIn(0));
    const peer = USERS[1];
    const dialog = await a.cube.chat.dialog.create({ type: 3, occupants_ids: [peer.id] });
    const aIn = inbox(a.cube);
    const answered = (answer) => {
      if (answer?.error) throw new Error(`pytest side: ${answer.error}`);
      return answer;
    };
    // The peer's native WebSocket is open before we send, so its event proves storage.
    answered(await step({ listen: dialog._id }));
    const id = a.cube.chat.send(peer.id, {
      type: "chat",
      body: "from the sdk",
      extension: { save_to_history: 1, dialog_id: dialog._id },
    });
    // The peer checks its native history and unread, then answers over /api/v1/ws.
    const native = answered(await step({ sent: id, dialog_id: dialog._id }));
    const { userId, message } = await aIn.next(native.body);
    await a.cube.chat.disconnect();
    return { dialog_id: dialog._id, id, native, userId, message };
  },
};

async function main() {
  const names = process.argv.slice(2);
  for (const name of names) {
    const flow = flows[name];
    let line;
    if (!flow) {
      line = { flow: name, ok: false, error: "unknown flow" };
    } else {
      try {
        line = { flow: name, ok: true, result: await flow() };
      } catch (error) {
        line = {
          flow: name,
          ok: false,
          error: error instanceof Error ? `${error.name}: ${error.message}` : error,
        };
      }
    }
    process.stdout.write(`RESULT ${JSON.stringify(line)}\n`);
  }
  process.exit(0);
}

main();
