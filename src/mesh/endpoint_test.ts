import assert from "node:assert/strict";
import { EndpointSlots } from "../device/datagram_socket.ts";
import {
  endpointEquals,
  endpointSlot,
  formatEndpoint,
  isUsableCandidate,
  parseEndpoint,
  readEndpointRow,
  writeEndpointRow,
} from "./endpoint.ts";

Deno.test("parseEndpoint() reads IPv4 and bracketed IPv6 and formats them back", () => {
  for (const text of ["192.0.2.7:1194", "[2001:db8::7]:65535", "[::ffff:192.0.2.1]:1"]) {
    assert.equal(formatEndpoint(parseEndpoint(text)), text);
  }
  assert.equal(parseEndpoint("[2001:DB8:0:0::7]:80").port, 80);
});

Deno.test("parseEndpoint() refuses malformed text with a SyntaxError naming it", () => {
  for (
    const bad of [
      "192.0.2.7",
      "192.0.2.7:0",
      "192.0.2.7:65536",
      "192.0.2.7:01",
      "2001:db8::7:80",
      "[192.0.2.7]:80",
      "[2001:db8::7]80",
      "host.example:80",
      ":80",
      "[" + "1:".repeat(30) + "]:1",
    ]
  ) {
    assert.throws(() => parseEndpoint(bad), SyntaxError, bad);
  }
});

Deno.test("isUsableCandidate() refuses unspecified, loopback, multicast and broadcast endpoints", () => {
  for (
    const bad of ["0.0.0.0:1", "127.0.0.1:1", "224.0.0.251:5353", "255.255.255.255:9", "[::]:1", "[::1]:1"]
  ) {
    assert.equal(isUsableCandidate(parseEndpoint(bad)), false, bad);
  }
  for (const bad of ["[ff02::1]:1", "[::ffff:127.0.0.1]:1"]) {
    assert.equal(isUsableCandidate(parseEndpoint(bad)), false);
  }
  for (const good of ["10.0.0.1:1194", "198.51.100.2:40000", "[fd00::1]:1", "[2001:db8::1]:2"]) {
    assert.equal(isUsableCandidate(parseEndpoint(good)), true, good);
  }
});

Deno.test("writeEndpointRow() and readEndpointRow() carry both families through EndpointSlots", () => {
  const slots = new EndpointSlots(3);
  assert.equal(readEndpointRow(slots, 2), null);
  for (const [row, text] of [[0, "203.0.113.9:4000"], [1, "[2001:db8::9]:4001"]] as const) {
    writeEndpointRow(slots, row, parseEndpoint(text));
    assert.equal(formatEndpoint(readEndpointRow(slots, row)!), text);
    assert.equal(slots.format(row), text);
  }
  assert.ok(slots.equals(1, endpointSlot(parseEndpoint("[2001:db8::9]:4001")), 0));
});

Deno.test("endpointEquals() compares family, address and port", () => {
  const a = parseEndpoint("10.0.0.1:5");
  assert.ok(endpointEquals(a, parseEndpoint("10.0.0.1:5")));
  assert.ok(!endpointEquals(a, parseEndpoint("10.0.0.1:6")));
  assert.ok(!endpointEquals(a, parseEndpoint("10.0.0.2:5")));
  assert.ok(!endpointEquals(a, parseEndpoint("[::ffff:10.0.0.1]:5")));
  assert.ok(endpointEquals(parseEndpoint("[fd00::1]:5"), parseEndpoint("[fd00:0::1]:5")));
});
