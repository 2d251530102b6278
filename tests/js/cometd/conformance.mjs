// bayeux-server §9 tests 1-3 with the real CometD JavaScript client in Node.
// Usage: node conformance.mjs <url> <websocket|long-polling> <apikey>; prints one JSON result line.
// The app's key travels in the handshake ext (the Node WebSocket upgrade carries no headers).
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();
const [url, transport, apikey] = process.argv.slice(2);

function client() {
  const c = new CometD();
  if (transport === "long-polling") c.unregisterTransport("websocket");
  c.configure({ url, logLevel: "warn" });
  return c;
}

function handshake(c) {
  return new Promise((resolve, reject) =>
    c.handshake({ ext: { apikey } }, (reply) =>
      reply.successful ? resolve(reply) : reject(new Error(JSON.stringify(reply))),
    ),
  );
}

function subscribe(c, channel, onMessage) {
  return new Promise((resolve, reject) =>
    c.subscribe(channel, onMessage, (reply) => (reply.successful ? resolve(reply) : reject(new Error(JSON.stringify(reply))))),
  );
}

const timeout = setTimeout(() => {
  console.log(JSON.stringify({ ok: false, error: "timeout" }));
  process.exit(1);
}, 20000);

const result = { transport, received: {}, connects: 0 };
const a = client();
const b = client();
a.addListener("/meta/connect", () => (result.connects += 1));
await handshake(a);
await handshake(b);
result.transportA = a.getTransport().type;
const got = (name) => new Promise((resolve) => subscribe(name === "a" ? a : b, "/t/**", (m) => {
  result.received[name] = m.data;
  result.deliveryHasId = result.deliveryHasId || "id" in m;
  resolve();
}));
const ga = got("a");
const gb = got("b");
await new Promise((r) => setTimeout(r, 300)); // let a connect be held (§9.2: a delivery wakes it)
const before = Date.now();
const ack = await new Promise((resolve) => a.publish("/t/a", { text: "hi" }, resolve));
result.publishAck = { successful: ack.successful, hasData: "data" in ack };
await Promise.all([ga, gb]);
result.deliveryMs = Date.now() - before;
const refused = await new Promise((resolve) => a.subscribe("/meta/x", () => {}, resolve));
result.metaSubscribe = refused.error;
await new Promise((resolve) => a.disconnect(resolve));
await new Promise((resolve) => b.disconnect(resolve));
result.ok = true;
result.statusA = a.getStatus();
clearTimeout(timeout);
console.log(JSON.stringify(result));
process.exit(0);
