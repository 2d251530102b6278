// Tenants over Bayeux with the real CometD JavaScript client: a client of another app, or
// one with no key or a wrong key, never hears app 1's publishes; wildcards reaching the
// server's channels are refused; nobody publishes on /_genesys.
// Usage: node tenancy.mjs <url> <websocket|long-polling> <app 1 key> <app 2 key>
// Prints one JSON result line.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();
const [url, transport, key1, key2] = process.argv.slice(2);

const timeout = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: "timeout" }));
  process.exit(1);
}, 30000);

function client() {
  const c = new CometD();
  if (transport === "long-polling") c.unregisterTransport("websocket");
  c.configure({ url, logLevel: "error", maxBackoff: 200 });
  return c;
}

// The key in the handshake ext (the Node WebSocket upgrade carries no headers).
const handshake = (c, apikey) =>
  new Promise((resolve) => c.handshake(apikey === undefined ? {} : { ext: { apikey } }, resolve));
const subscribe = (c, channel, onMessage) =>
  new Promise((resolve) => c.subscribe(channel, onMessage, resolve));
const publish = (c, channel, data) => new Promise((resolve) => c.publish(channel, data, resolve));

const result = { transport, refused: {}, denied: {}, received: { a2: [], c: [] } };

// No key and a wrong key: no session at all.
for (const [name, key] of [["none", undefined], ["wrong", "not-a-key"]]) {
  const c = client();
  const reply = await handshake(c, key);
  result.refused[name] = { successful: reply.successful, error: reply.error };
  await new Promise((r) => setTimeout(r, 50));
  result.refused[name].status = c.getStatus();
  c.disconnect();
}

const a1 = client();
const a2 = client();
const c = client();
for (const [cl, key] of [[a1, key1], [a2, key1], [c, key2]]) {
  const reply = await handshake(cl, key);
  if (!reply.successful) throw new Error(JSON.stringify(reply));
}
result.transportA = a1.getTransport().type;

// Wildcards over the whole tree or the server's channels: 403 (bayeux-server §3.6).
for (const pattern of ["/**", "/*", "/_genesys/**"]) {
  // The client itself hands its own /meta replies to a local "/**" listener until the
  // refusal arrives; only deliveries from the server count.
  const reply = await subscribe(c, pattern, (m) => {
    if (!m.channel.startsWith("/meta/")) (result.wildcard ??= []).push(m);
  });
  result.denied[pattern] = reply.error;
}

// app 1 and app 2 both listen on /news/**; only app 1 may hear app 1.
let endSeen;
const a2End = new Promise((r) => (endSeen = r));
await subscribe(a2, "/news/**", (m) => {
  result.received.a2.push(m.data.text);
  if (m.data.text === "app 1: end") endSeen();
});
let markerSeen;
const cMarker = new Promise((r) => (markerSeen = r));
await subscribe(c, "/news/**", (m) => {
  result.received.c.push(m.data.text);
  if (m.data.text === "app 2: marker") markerSeen();
});
await publish(a1, "/news/a", { text: "app 1: secret" });
// Per-session order: if app 1's publish had reached c it would be there before the marker.
await publish(c, "/news/c", { text: "app 2: marker" });
await cMarker;
await publish(a1, "/news/a", { text: "app 1: end" });
await a2End;

const forged = await publish(a1, "/_genesys", { message: { transcriptToShow: [] } });
result.forged = { successful: forged.successful, error: forged.error };

for (const cl of [a1, a2, c]) await new Promise((r) => cl.disconnect(r));
result.ok = true;
clearTimeout(timeout);
console.log(JSON.stringify(result));
process.exit(0);
