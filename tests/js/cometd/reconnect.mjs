// The server loses the session (its process restarts): the CometD JS client must get 402,
// re-handshake by itself and, with the documented handshake-listener pattern, resubscribe.
// Usage: node reconnect.mjs <url> <websocket|long-polling> <apikey>. Prints one JSON line per step:
// {"step":"subscribed","clientId":…} (twice), then {"step":"received",…}.
import { adapt } from "cometd-nodejs-client";
import { CometD } from "cometd";

adapt();
const [url, transport, apikey] = process.argv.slice(2);
const say = (line) => console.log(JSON.stringify(line));

const timeout = setTimeout(() => {
  say({ step: "timeout" });
  process.exit(1);
}, 60000);

const cometd = new CometD();
if (transport === "long-polling") cometd.unregisterTransport("websocket");
cometd.configure({ url, logLevel: "warn", maxBackoff: 500, backoffIncrement: 100 });
const unknown = [];
cometd.addListener("/meta/connect", (m) => {
  if (!m.successful && m.error) unknown.push(m.error);
});
cometd.addListener("/meta/handshake", (m) => {
  if (!m.successful) return;
  cometd.subscribe(
    "/r/**",
    (delivery) => {
      say({
        step: "received",
        channel: delivery.channel,
        data: delivery.data,
        clientId: cometd.getClientId(),
        transport: cometd.getTransport().type,
        errors: unknown,
      });
      cometd.disconnect(() => {
        clearTimeout(timeout);
        process.exit(0);
      });
    },
    (ack) => say({ step: "subscribed", ok: ack.successful, clientId: cometd.getClientId(), reestablish: !!m.reestablish }),
  );
});
// The handshake props (the app's key) are kept for every re-handshake.
cometd.handshake({ ext: { apikey } });
