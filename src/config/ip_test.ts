import assert from "node:assert/strict";
import {
  addressAt,
  formatIp,
  hostOffset,
  ipPrefix,
  ipv4ToNumber,
  netmaskToLength,
  numberToIpv4,
  parseCidr,
  parseIp,
  parseIpv4,
  parseIpv6,
  prefixContains,
  prefixCovers,
} from "./ip.ts";

Deno.test("parseIpv4() accepts dotted quads and rejects leading zeros and out-of-range octets", () => {
  assert.deepEqual(parseIpv4("10.8.0.1"), Uint8Array.of(10, 8, 0, 1));
  assert.deepEqual(parseIpv4("0.0.0.0"), Uint8Array.of(0, 0, 0, 0));
  for (
    const bad of ["10.8.0", "10.8.0.256", "10.08.0.1", "10.8.0.1.", "a.b.c.d", "", "1.2.3.-4", " 1.2.3.4"]
  ) {
    assert.equal(parseIpv4(bad), null, bad);
  }
});

Deno.test("parseIpv6() handles compression, IPv4 tails and rejects malformed text", () => {
  assert.equal(formatIp(parseIpv6("fd00:8::1")!), "fd00:8::1");
  assert.equal(formatIp(parseIpv6("::")!), "::");
  assert.equal(formatIp(parseIpv6("::1")!), "::1");
  assert.equal(formatIp(parseIpv6("1::")!), "1::");
  assert.equal(formatIp(parseIpv6("2001:DB8:0:0:0:0:0:1")!), "2001:db8::1");
  assert.equal(formatIp(parseIpv6("::ffff:192.0.2.1")!), "::ffff:c000:201");
  assert.equal(formatIp(parseIpv6("1:2:3:4:5:6:7:8")!), "1:2:3:4:5:6:7:8");
  for (
    const bad of [
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      ":1::",
      "1:::2",
      "12345::",
      "g::1",
      "1.2.3.4::",
      "fe80::1%eth0",
    ]
  ) {
    assert.equal(parseIpv6(bad), null, bad);
  }
});

Deno.test("formatIp() follows RFC 5952: longest zero run, first on ties, no single-group compression", () => {
  assert.equal(formatIp(parseIpv6("1:0:0:2:0:0:0:3")!), "1:0:0:2::3");
  assert.equal(formatIp(parseIpv6("1:0:0:2:0:0:3:4")!), "1::2:0:0:3:4");
  assert.equal(formatIp(parseIpv6("1:0:2:3:4:5:6:7")!), "1:0:2:3:4:5:6:7");
  assert.throws(() => formatIp(new Uint8Array(5)), RangeError);
});

Deno.test("parseIp() picks the family from the text", () => {
  assert.equal(parseIp("10.8.0.1")!.family, 4);
  assert.equal(parseIp("fd00::1")!.family, 6);
  assert.equal(parseIp("vpn.example.com"), null);
});

Deno.test("parseCidr() reports host bits and the masked prefix", () => {
  const a = parseCidr("10.8.0.5/24")!;
  assert.equal(a.hostBitsSet, true);
  assert.equal(a.prefix.text, "10.8.0.0/24");
  const b = parseCidr("fd00:8::/64")!;
  assert.equal(b.hostBitsSet, false);
  assert.equal(b.prefix.address, "fd00:8::");
  assert.equal(parseCidr("0.0.0.0/0")!.prefix.text, "0.0.0.0/0");
  for (const bad of ["10.8.0.0", "10.8.0.0/33", "10.8.0.0/024", "fd00::/129", "x/8", "10.8.0.0/"]) {
    assert.equal(parseCidr(bad), null, bad);
  }
});

Deno.test("prefixContains() and prefixCovers() compare within one family", () => {
  const net = ipPrefix(parseIp("10.8.0.0")!.bytes, 24);
  assert.equal(prefixContains(net, parseIp("10.8.0.200")!.bytes), true);
  assert.equal(prefixContains(net, parseIp("10.8.1.1")!.bytes), false);
  assert.equal(prefixContains(net, parseIp("::1")!.bytes), false);
  assert.equal(prefixCovers(net, ipPrefix(parseIp("10.8.0.128")!.bytes, 25)), true);
  assert.equal(prefixCovers(net, ipPrefix(parseIp("10.8.0.0")!.bytes, 23)), false);
});

Deno.test("addressAt() and hostOffset() walk a prefix, carrying across bytes", () => {
  const net = parseCidr("10.8.0.0/16")!.prefix;
  assert.equal(addressAt(net, 258).text, "10.8.1.2");
  assert.equal(hostOffset(net, parseIp("10.8.1.2")!.bytes), 258);
  const net6 = parseCidr("fd00:8::/64")!.prefix;
  assert.equal(addressAt(net6, 0x10001).text, "fd00:8::1:1");
  assert.equal(hostOffset(net6, parseIp("fd00:8::1:1")!.bytes), 0x10001);
});

Deno.test("ipv4ToNumber() and numberToIpv4() round-trip unsigned values", () => {
  assert.equal(ipv4ToNumber(Uint8Array.of(255, 255, 255, 255)), 0xffffffff);
  assert.deepEqual(numberToIpv4(0xc0a80a01), Uint8Array.of(192, 168, 10, 1));
});

Deno.test("netmaskToLength() accepts contiguous masks only", () => {
  assert.equal(netmaskToLength("255.255.255.0"), 24);
  assert.equal(netmaskToLength("255.255.255.252"), 30);
  assert.equal(netmaskToLength("0.0.0.0"), 0);
  assert.equal(netmaskToLength("255.255.255.255"), 32);
  assert.equal(netmaskToLength("255.0.255.0"), null);
  assert.equal(netmaskToLength("255.255.255"), null);
});
