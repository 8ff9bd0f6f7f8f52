import assert from "node:assert/strict";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { opcodeName } from "../control/opcode.ts";
import { parseEndpoint, writeEndpointRow } from "./endpoint.ts";
import {
  classifyPlaintext,
  isMeshDatagram,
  MESH_DROP_COUNT,
  MESH_DROP_NAMES,
  MESH_OVERHEAD,
  P_MESH,
  peekPairId,
  PLAIN_IPV4,
  PLAIN_IPV6,
  PLAIN_MALFORMED,
  PLAIN_PROBE,
  PLAIN_REPLY,
  RECORD_LEN,
  RECORD_PROBE,
  RECORD_REPLY,
  recordEndpoint,
  recordProbeId,
  writeRecord,
} from "./wire.ts";

Deno.test("isMeshDatagram() takes the mesh opcode and no OpenVPN opcode, whatever the key-id", () => {
  assert.match(opcodeName(P_MESH), /P_UNKNOWN_31/, "OpenVPN assigns no name to opcode 31");
  const b = new Uint8Array(1);
  for (let first = 0; first < 256; first++) {
    b[0] = first;
    assert.equal(isMeshDatagram(b, 0, 1), first >>> 3 === P_MESH, `first byte ${first}`);
  }
  assert.equal(isMeshDatagram(b, 0, 0), false);
});

Deno.test("peekPairId() reads the 24-bit pair id only from a mesh datagram long enough to open", () => {
  const d = new Uint8Array(MESH_OVERHEAD + 1);
  d.set([(P_MESH << 3) | 5, 0xab, 0xcd, 0xef]);
  assert.equal(peekPairId(d, 0, d.length), 0xabcdef);
  assert.equal(peekPairId(d, 0, d.length - 1), -1);
  d[0] = (9 << 3) | 5;
  assert.equal(peekPairId(d, 0, d.length), -1);
});

Deno.test("writeRecord() lays out a probe the way recordProbeId() and recordEndpoint() read it", () => {
  const ep = new EndpointSlots(2);
  writeEndpointRow(ep, 1, parseEndpoint("[2001:db8::1]:4500"));
  const buf = new Uint8Array(40);
  assert.equal(writeRecord(buf, 3, RECORD_PROBE, 0xdeadbeef, ep, 1), RECORD_LEN);
  assert.deepEqual([...buf.subarray(3, 11)], [1, 1, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
  assert.equal(recordProbeId(buf, 3), 0xdeadbeef);
  const back = new EndpointSlots(1);
  recordEndpoint(buf, 3, back, 0);
  assert.equal(back.format(0), "[2001:db8::1]:4500");
  assert.equal(classifyPlaintext(buf, 3, RECORD_LEN), PLAIN_PROBE);
  buf[3] = RECORD_REPLY;
  assert.equal(classifyPlaintext(buf, 3, RECORD_LEN), PLAIN_REPLY);
});

Deno.test("classifyPlaintext() tells IP packets from records and refuses anything else", () => {
  const ep = new EndpointSlots(1);
  const rec = new Uint8Array(RECORD_LEN);
  writeRecord(rec, 0, RECORD_PROBE, 7, ep, 0);
  assert.equal(classifyPlaintext(Uint8Array.of(0x45, 0), 0, 2), PLAIN_IPV4);
  assert.equal(classifyPlaintext(Uint8Array.of(0x60, 0), 0, 2), PLAIN_IPV6);
  assert.equal(classifyPlaintext(rec, 0, RECORD_LEN - 1), PLAIN_MALFORMED, "short record");
  assert.equal(classifyPlaintext(rec, 0, 0), PLAIN_MALFORMED, "empty");
  for (const [i, v] of [[0, 3], [1, 2], [2, 1], [3, 1]]) {
    const bad = rec.slice();
    bad[i] = v;
    assert.equal(classifyPlaintext(bad, 0, RECORD_LEN), PLAIN_MALFORMED, `byte ${i} = ${v}`);
  }
  assert.equal(MESH_DROP_NAMES.length, MESH_DROP_COUNT);
});
