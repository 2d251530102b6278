// The CometD JS client with AckExtension registered, long-polling only: it subscribes to
// /r/** and prints one JSON line per delivery, so the test can count losses and copies
// while a proxy kills some /meta/connect responses on their way.
// Usage: node ack.mjs <url> <apikey> <ack|noack> [long-polling|websocket]. Prints {"step":"ready","ack":<agreed>},
// then {"step":"received","data":…} per delivery; exits on SIGTERM or after 120 s.
import { adapt } from "cometd-nodejs-client";
import { AckExtension, CometD } from "cometd";

adapt();
const [url, apikey, mode, transport = "long-polling"] = process.argv.slice(2);
const say = (line) => console.log(JSON.stringify(line));
setTimeout(() => process.exit(1), 120000);
process.on("SIGTERM", () => process.exit(0));

const cometd = new CometD();
if (transport === "long-polling") cometd.unregisterTransport("websocket");
if (mode === "ack") cometd.registerExtension("ack", new AckExtension());
cometd.configure({ url, logLevel: "warn", maxBackoff: 300, backoffIncrement: 100 });
let agreed = false;
cometd.addListener("/meta/handshake", (m) => {
  agreed = !!(m.ext && m.ext.ack);
  if (m.successful && m.reestablish) say({ step: "rehandshake" });
});
cometd.handshake({ ext: { apikey } }, (reply) => {
  if (!reply.successful) {
    say({ step: "failed", reply });
    process.exit(1);
  }
  cometd.subscribe(
    "/r/**",
    (delivery) => say({ step: "received", data: delivery.data }),
    (ack) => say({ step: "ready", ok: ack.successful, ack: agreed, transport: cometd.getTransport().type }),
  );
});
