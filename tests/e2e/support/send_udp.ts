/**
 * Sends crafted UDP datagrams, run inside a lab namespace by e2e tests:
 *
 *   deno run -A --unstable-net send_udp.ts HOST PORT HEX [HEX...]
 *
 * One datagram per HEX payload, from one ephemeral port; nothing is read back.
 */

const [hostname, portText, ...payloads] = Deno.args;
const port = Number(portText);
if (!hostname || !Number.isInteger(port) || payloads.length === 0) {
  console.error("usage: send_udp.ts HOST PORT HEX [HEX...]");
  Deno.exit(2);
}
const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
for (const hex of payloads) {
  const bytes = new Uint8Array(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  await socket.send(bytes, { transport: "udp", hostname, port });
}
socket.close();
