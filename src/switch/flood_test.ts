import assert from "node:assert/strict";
import { buildEthernet } from "../testing/packet/builders.ts";
import { EGRESS_DROP, EGRESS_FLOOD, floodEgress, frameEgress, TAP_PORT, unicastEgress } from "./flood.ts";
import { MacTable, NO_PORT } from "./mac_table.ts";
import { PortSet } from "./port_set.ts";

function flood(ingress: number, c2c: boolean, clients: number[]): number[] {
  const set = new PortSet();
  for (const p of clients) set.add(p);
  const out = new Int32Array(clients.length + 1);
  const n = floodEgress(ingress, c2c, set, out);
  return [...out.subarray(0, n)].sort((a, b) => a - b);
}

Deno.test("floodEgress() sends tap-device frames to every client", () => {
  assert.deepEqual(flood(TAP_PORT, false, [3, 4, 5]), [3, 4, 5]);
  assert.deepEqual(flood(TAP_PORT, true, [3, 4, 5]), [3, 4, 5]);
  assert.deepEqual(flood(TAP_PORT, false, []), []);
});

Deno.test("floodEgress() sends client frames to the tap device, and to other clients only with c2c", () => {
  assert.deepEqual(flood(4, false, [3, 4, 5]), [TAP_PORT]);
  assert.deepEqual(flood(4, true, [3, 4, 5]), [TAP_PORT, 3, 5]);
  assert.deepEqual(flood(4, true, [4]), [TAP_PORT]);
});

Deno.test("unicastEgress() applies the c2c rule to known destinations", () => {
  assert.equal(unicastEgress(3, NO_PORT, true), EGRESS_FLOOD);
  assert.equal(unicastEgress(3, 3, true), EGRESS_DROP, "never back out the ingress port");
  assert.equal(unicastEgress(TAP_PORT, TAP_PORT, false), EGRESS_DROP);
  assert.equal(unicastEgress(3, 5, true), 5);
  assert.equal(unicastEgress(3, 5, false), TAP_PORT, "client to client without c2c goes to the tap device");
  assert.equal(unicastEgress(3, TAP_PORT, false), TAP_PORT);
  assert.equal(unicastEgress(TAP_PORT, 5, false), 5);
});

Deno.test("frameEgress() floods group destinations and looks up unicast ones", () => {
  const table = new MacTable();
  table.learn(0x020000000005, 5, 0);
  const bcast = buildEthernet({ dst: "ff:ff:ff:ff:ff:ff", src: "02:00:00:00:00:03" });
  const mcast = buildEthernet({ dst: "33:33:00:00:00:01", src: "02:00:00:00:00:03" });
  const known = buildEthernet({ dst: "02:00:00:00:00:05", src: "02:00:00:00:00:03" });
  const unknown = buildEthernet({ dst: "02:00:00:00:00:09", src: "02:00:00:00:00:03" });
  assert.equal(frameEgress(table, bcast, 0, 3, true), EGRESS_FLOOD);
  assert.equal(frameEgress(table, mcast, 0, 3, true), EGRESS_FLOOD);
  assert.equal(frameEgress(table, known, 0, 3, true), 5);
  assert.equal(frameEgress(table, known, 0, 3, false), TAP_PORT);
  assert.equal(frameEgress(table, unknown, 0, 3, true), EGRESS_FLOOD);
});
