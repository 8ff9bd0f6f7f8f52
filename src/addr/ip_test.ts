import assert from "node:assert/strict";
import {
  formatIp,
  formatIpv4,
  formatIpv6,
  formatNumericIp,
  ipAddress,
  ipv4FromBytes,
  ipv4ToBytes,
  ipv6Add,
  ipv6Equal,
  ipv6FromBytes,
  ipv6ToBytes,
  isIpv4,
  isIpv4Mapped,
  isIpv6,
  isLoopback,
  parseIp,
  parseIpv4,
  parseIpv6,
  parseNumericIp,
  tryParseIpv4,
} from "./ip.ts";

Deno.test("parseIpv4() reads dotted quads as unsigned 32-bit numbers", () => {
  assert.equal(parseIpv4("10.8.0.1"), 0x0a080001);
  assert.equal(parseIpv4("0.0.0.0"), 0);
  assert.equal(parseIpv4("255.255.255.255"), 0xffffffff);
  assert.equal(parseIpv4("192.168.1.200"), 0xc0a801c8);
});

Deno.test("parseIpv4() rejects malformed text with a clear SyntaxError", () => {
  for (
    const bad of [
      "",
      "10.8.0",
      "10.8.0.1.2",
      "256.0.0.1",
      "010.8.0.1",
      "1.2.3.-4",
      "a.b.c.d",
      " 1.2.3.4",
      "1..2.3",
    ]
  ) {
    assert.throws(() => parseIpv4(bad), { name: "SyntaxError", message: `Invalid IPv4 address "${bad}"` });
    assert.equal(tryParseIpv4(bad), -1);
  }
  assert.equal(isIpv4("1.2.3.4"), true);
  assert.equal(isIpv4("1.2.3"), false);
});

Deno.test("formatIpv4() round-trips parseIpv4()", () => {
  for (const text of ["0.0.0.0", "10.8.0.1", "255.255.255.255", "172.16.254.3"]) {
    assert.equal(formatIpv4(parseIpv4(text)), text);
  }
  assert.equal(formatIpv4(-1), "255.255.255.255");
});

Deno.test("parseIpv6() reads full, compressed and mixed forms", () => {
  assert.deepEqual([...parseIpv6("2001:db8::1")], [0x20010db8, 0, 0, 1]);
  assert.deepEqual([...parseIpv6("::")], [0, 0, 0, 0]);
  assert.deepEqual([...parseIpv6("::1")], [0, 0, 0, 1]);
  assert.deepEqual([...parseIpv6("fe80::")], [0xfe800000, 0, 0, 0]);
  assert.deepEqual([...parseIpv6("1:2:3:4:5:6:7:8")], [0x00010002, 0x00030004, 0x00050006, 0x00070008]);
  assert.deepEqual([...parseIpv6("::ffff:10.8.0.1")], [0, 0, 0xffff, 0x0a080001]);
  assert.deepEqual([...parseIpv6("FD00:8::1000")], [0xfd000008, 0, 0, 0x1000]);
  assert.deepEqual([...parseIpv6("1:2:3:4:5:6::")], [0x00010002, 0x00030004, 0x00050006, 0]);
});

Deno.test("parseIpv6() rejects malformed text", () => {
  for (
    const bad of [
      "",
      ":",
      "1:2:3:4:5:6:7",
      "1:2:3:4:5:6:7:8:9",
      "1::2::3",
      "12345::",
      "g::1",
      "fe80::1%eth0",
      "1:2:3:4:5:6:7::8:9",
      "::1.2.3",
    ]
  ) {
    assert.throws(() => parseIpv6(bad), { name: "SyntaxError", message: `Invalid IPv6 address "${bad}"` });
  }
  assert.equal(isIpv6("::1"), true);
  assert.equal(isIpv6("1.2.3.4"), false);
});

Deno.test("formatIpv6() follows RFC 5952", () => {
  assert.equal(formatIpv6(parseIpv6("2001:0db8:0000:0000:0000:0000:0000:0001")), "2001:db8::1");
  assert.equal(formatIpv6(parseIpv6("2001:db8:0:1:0:0:0:1")), "2001:db8:0:1::1");
  assert.equal(formatIpv6(parseIpv6("2001:db8:0:0:1:0:0:1")), "2001:db8::1:0:0:1");
  assert.equal(formatIpv6(parseIpv6("2001:db8:1:1:1:1:0:1")), "2001:db8:1:1:1:1:0:1");
  assert.equal(formatIpv6(parseIpv6("::")), "::");
  assert.equal(formatIpv6(parseIpv6("::1")), "::1");
  assert.equal(formatIpv6(parseIpv6("fd00:8::")), "fd00:8::");
  assert.equal(formatIpv6(parseIpv6("::ffff:10.8.0.1")), "::ffff:10.8.0.1");
  assert.equal(formatIpv6(new Uint32Array([9, 9, 0x20010db8, 0, 0, 1]), 2), "2001:db8::1");
});

Deno.test("IPv4-mapped addresses have one text form, ::ffff:a.b.c.d, from words, bytes and text", () => {
  const mapped = parseIpv6("::ffff:c000:201");
  assert.equal(isIpv4Mapped(mapped), true);
  assert.equal(formatIpv6(mapped), "::ffff:192.0.2.1");
  assert.equal(formatIp(ipv6ToBytes(mapped)), "::ffff:192.0.2.1");
  assert.equal(parseIp("::ffff:c000:201")!.text, "::ffff:192.0.2.1");
  assert.equal(parseIp("::FFFF:192.0.2.1")!.text, "::ffff:192.0.2.1");
  // Near misses stay in hex groups.
  assert.equal(isIpv4Mapped(parseIpv6("::fffe:c000:201")), false);
  assert.equal(formatIpv6(parseIpv6("::fffe:c000:201")), "::fffe:c000:201");
  assert.equal(formatIpv6(parseIpv6("1::ffff:c000:201")), "1::ffff:c000:201");
  assert.equal(formatIpv6(parseIpv6("::ffff:0:c000:201")), "::ffff:0:c000:201");
});

Deno.test("ipv6FromBytes() and ipv6ToBytes() convert network byte order", () => {
  const bytes = new Uint8Array(20);
  bytes.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], 2);
  const words = ipv6FromBytes(bytes, 2);
  assert.deepEqual([...words], [0x20010db8, 0, 0, 1]);
  assert.deepEqual(ipv6ToBytes(words), bytes.subarray(2, 18));
  const out = new Uint32Array(4);
  assert.equal(ipv6FromBytes(bytes, 2, out), out);
});

Deno.test("ipv6Add() carries across words and ipv6Equal() compares", () => {
  assert.equal(formatIpv6(ipv6Add(parseIpv6("fd00::"), 0x1000)), "fd00::1000");
  assert.equal(formatIpv6(ipv6Add(parseIpv6("fd00::ffff:ffff"), 1)), "fd00::1:0:0");
  assert.equal(formatIpv6(ipv6Add(parseIpv6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1)), "::");
  assert.equal(ipv6Equal(parseIpv6("::1"), [0, 0, 0, 1]), true);
  assert.equal(ipv6Equal(parseIpv6("::1"), [0, 0, 1, 1]), false);
  assert.throws(() => ipv6Add(parseIpv6("::"), -1), RangeError);
});

Deno.test("parseIp() picks the family from the text and keeps bytes and canonical text", () => {
  const v4 = parseIp("10.8.0.1")!;
  assert.equal(v4.family, 4);
  assert.deepEqual(v4.bytes, Uint8Array.of(10, 8, 0, 1));
  assert.equal(v4.text, "10.8.0.1");
  const v6 = parseIp("2001:DB8:0:0:0:0:0:1")!;
  assert.equal(v6.family, 6);
  assert.equal(v6.bytes.length, 16);
  assert.equal(v6.text, "2001:db8::1");
  assert.equal(parseIp("vpn.example.com"), null);
});

Deno.test("parseIp() is as strict as parseIpv4() and parseIpv6(): null for what they reject", () => {
  for (
    const bad of [
      "10.8.0",
      "10.8.0.256",
      "10.08.0.1",
      "10.8.0.1.",
      "a.b.c.d",
      "",
      "1.2.3.-4",
      " 1.2.3.4",
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
    assert.equal(parseIp(bad), null, bad);
  }
});

Deno.test("formatIp() writes 4 or 16 bytes as RFC 5952 text and refuses other lengths", () => {
  const text = (s: string) => formatIp(parseIp(s)!.bytes);
  assert.equal(text("1:0:0:2:0:0:0:3"), "1:0:0:2::3");
  assert.equal(text("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
  assert.equal(text("1:0:2:3:4:5:6:7"), "1:0:2:3:4:5:6:7");
  assert.equal(text("::"), "::");
  assert.equal(text("1::"), "1::");
  assert.equal(formatIp(Uint8Array.of(192, 0, 2, 1)), "192.0.2.1");
  assert.throws(() => formatIp(new Uint8Array(5)), RangeError);
});

Deno.test("ipAddress() copies the bytes it wraps", () => {
  const bytes = Uint8Array.of(10, 8, 0, 1);
  const ip = ipAddress(bytes);
  bytes[3] = 9;
  assert.equal(ip.text, "10.8.0.1");
  assert.deepEqual(ip.bytes, Uint8Array.of(10, 8, 0, 1));
});

Deno.test("ipv4FromBytes() and ipv4ToBytes() round-trip unsigned values", () => {
  assert.equal(ipv4FromBytes(Uint8Array.of(255, 255, 255, 255)), 0xffffffff);
  assert.deepEqual(ipv4ToBytes(0xc0a80a01), Uint8Array.of(192, 168, 10, 1));
  assert.equal(ipv4FromBytes(ipv4ToBytes(0x80000001)), 0x80000001);
});

Deno.test("isLoopback() accepts 127.0.0.0/8 and ::1 only", () => {
  for (const yes of ["127.0.0.1", "127.255.0.9", "::1"]) assert.equal(isLoopback(parseIp(yes)!), true, yes);
  for (const no of ["128.0.0.1", "10.0.0.1", "::2", "::ffff:127.0.0.1", "::"]) {
    assert.equal(isLoopback(parseIp(no)!), false, no);
  }
});

Deno.test("parseNumericIp() and formatNumericIp() round-trip both families and refuse anything else", () => {
  assert.deepEqual(parseNumericIp("192.0.2.1"), { family: 4, v4: 0xc0000201 });
  const v6 = parseNumericIp("2001:db8::1");
  assert.equal(v6.family, 6);
  assert.equal(formatNumericIp(v6), "2001:db8::1");
  assert.equal(formatNumericIp(parseNumericIp("10.8.0.1")), "10.8.0.1");
  assert.throws(() => parseNumericIp("10.8.0"), /Invalid IP address "10.8.0"/);
  assert.throws(() => parseNumericIp("host.example"), SyntaxError);
});
