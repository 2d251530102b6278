// Two @xmpp/client sessions exchange one message and its receipt through tidings:
// what the recipient saw, and what the sender got back, printed as one RESULT line.
// Usage: node messages.mjs SERVICE DOMAIN   (USERS = JSON [[username, password], ...])
import { client, xml } from "@xmpp/client";
import WebSocket from "ws";

// Node 20 has no global WebSocket; @xmpp/websocket expects the browser's.
globalThis.WebSocket ??= WebSocket;

const [service, domain] = process.argv.slice(2);
const [[aliceName, alicePass], [bobName, bobPass]] = JSON.parse(process.env.USERS);
const deadline = setTimeout(() => finish(false, "timed out"), 30000);

function finish(ok, result) {
  clearTimeout(deadline);
  console.log("RESULT " + JSON.stringify(ok ? { ok, result } : { ok, error: String(result) }));
  process.exit(0);
}

function session(username, password) {
  const xmpp = client({ service, domain, username, password });
  xmpp.on("error", (err) => finish(false, err));
  return xmpp;
}

function next(xmpp, test) {
  return new Promise((resolve) => {
    const seen = (stanza) => {
      if (test(stanza)) {
        xmpp.removeListener("stanza", seen);
        resolve(stanza);
      }
    };
    xmpp.on("stanza", seen);
  });
}

try {
  const alice = session(aliceName, alicePass);
  const bob = session(bobName, bobPass);
  await alice.start();
  await bob.start();
  await alice.send(xml("presence"));
  await bob.send(xml("presence"));
  const bobAlice = `${aliceName}@${domain}`;
  const arrived = next(bob, (s) => s.is("message") && s.getChild("body"));
  await alice.send(
    xml(
      "message",
      { to: `${bobName}@${domain}`, type: "chat", id: "js-1" },
      xml("body", {}, "from @xmpp/client"),
      xml("origin-id", { xmlns: "urn:xmpp:sid:0", id: "js-1" }),
      xml("request", { xmlns: "urn:xmpp:receipts" }),
      xml("note", { xmlns: "urn:example:js", level: "2" }, xml("inner", {}, "kept")),
    ),
  );
  const got = await arrived;
  const receipt = next(alice, (s) => s.is("message") && s.getChild("received", "urn:xmpp:receipts"));
  await bob.send(
    xml(
      "message",
      { to: bobAlice, id: "js-ack" },
      xml("received", { xmlns: "urn:xmpp:receipts", id: got.attrs.id }),
    ),
  );
  const back = await receipt;
  const note = got.getChild("note", "urn:example:js");
  const result = {
    id: got.attrs.id,
    type: got.attrs.type,
    origin_id: got.getChild("origin-id", "urn:xmpp:sid:0")?.attrs.id ?? null,
    request: Boolean(got.getChild("request", "urn:xmpp:receipts")),
    note_level: note?.attrs.level ?? null,
    note_inner: note?.getChildText("inner") ?? null,
    receipt_for: back.getChild("received", "urn:xmpp:receipts").attrs.id,
  };
  await alice.stop();
  await bob.stop();
  finish(true, result);
} catch (err) {
  finish(false, err?.stack ?? err);
}
