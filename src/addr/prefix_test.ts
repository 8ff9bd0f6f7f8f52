import assert from "node:assert/strict";
import { parseIp, parseIpv4, parseIpv6 } from "./ip.ts";
import {
  addressAt,
  formatPrefix,
  hostOffset,
  ipPrefix,
  ipv4MaskBits,
  ipv4Netmask,
  ipv4PrefixContains,
  ipv4PrefixFromNetmask,
  ipv6PrefixContains,
  maskIpv6,
  netmaskToLength,
  parseCidr,
  parseIpv4Netmask,
  parseIpv4Prefix,
  parseIpv6Prefix,
  parsePrefix,
  prefixContains,
  prefixCovers,
  tryIpv4MaskBits,
  tryParsePrefixLength,
} from "./prefix.ts";

Deno.test("ipv4Netmask() and ipv4MaskBits() convert between lengths and masks", () => {
  assert.equal(ipv4Netmask(0), 0);
  assert.equal(ipv4Netmask(24), 0xffffff00);
  assert.equal(ipv4Netmask(32), 0xffffffff);
  assert.equal(ipv4Netmask(1), 0x80000000);
  for (let bits = 0; bits <= 32; bits++) assert.equal(ipv4MaskBits(ipv4Netmask(bits)), bits);
  assert.throws(() => ipv4Netmask(33), RangeError);
  assert.throws(() => ipv4MaskBits(0xff00ff00), { message: "Netmask 255.0.255.0 is not contiguous" });
  assert.equal(parseIpv4Netmask("255.255.252.0"), 22);
});

Deno.test("tryIpv4MaskBits() returns the length of a contiguous mask and -1 otherwise", () => {
  for (let bits = 0; bits <= 32; bits++) assert.equal(tryIpv4MaskBits(ipv4Netmask(bits)), bits);
  assert.equal(tryIpv4MaskBits(0xff00ff00), -1);
  assert.equal(tryIpv4MaskBits(0x00ffffff), -1);
});

Deno.test("tryParsePrefixLength() reads 0..max without leading zeros and returns -1 otherwise", () => {
  assert.equal(tryParsePrefixLength("0", 32), 0);
  assert.equal(tryParsePrefixLength("24", 32), 24);
  assert.equal(tryParsePrefixLength("128", 128), 128);
  for (const bad of ["33", "024", "", "-1", "1e1", " 8", "1000"]) {
    assert.equal(tryParsePrefixLength(bad, 32), -1, bad);
  }
});

Deno.test("parseIpv4Prefix() validates and reports host bits", () => {
  assert.deepEqual(parseIpv4Prefix("10.8.0.0/24"), { family: 4, addr: 0x0a080000, bits: 24 });
  assert.deepEqual(parseIpv4Prefix("0.0.0.0/0"), { family: 4, addr: 0, bits: 0 });
  assert.throws(() => parseIpv4Prefix("10.8.0.1/24"), {
    name: "SyntaxError",
    message: 'Invalid IPv4 prefix "10.8.0.1/24": host bits are set (did you mean 10.8.0.0/24?)',
  });
  assert.deepEqual(parseIpv4Prefix("10.8.0.1/24", { strict: false }), {
    family: 4,
    addr: 0x0a080000,
    bits: 24,
  });
  assert.throws(() => parseIpv4Prefix("10.8.0.0/33"), {
    message: 'Invalid IPv4 prefix "10.8.0.0/33": length must be 0..32',
  });
  assert.throws(() => parseIpv4Prefix("10.8.0.0/024"), SyntaxError);
  assert.throws(() => parseIpv4Prefix("10.8.0.0"), {
    message: 'Invalid IPv4 prefix "10.8.0.0": missing "/length"',
  });
  assert.deepEqual(parseIpv4Prefix("10.8.0.7", { allowBareAddress: true }), {
    family: 4,
    addr: 0x0a080007,
    bits: 32,
  });
  assert.throws(() => parseIpv4Prefix("10.8.0/8"), {
    message: 'Invalid IPv4 prefix "10.8.0/8": bad address',
  });
});

Deno.test("parseIpv6Prefix() validates and reports host bits", () => {
  const p = parseIpv6Prefix("fd00:8::/64");
  assert.equal(p.bits, 64);
  assert.deepEqual([...p.addr], [0xfd000008, 0, 0, 0]);
  assert.throws(() => parseIpv6Prefix("fd00:8::1/64"), {
    message: 'Invalid IPv6 prefix "fd00:8::1/64": host bits are set (did you mean fd00:8::/64?)',
  });
  assert.throws(() => parseIpv6Prefix("fd00::/129"), SyntaxError);
  assert.equal(parseIpv6Prefix("::1", { allowBareAddress: true }).bits, 128);
  assert.equal(
    formatPrefix(parseIpv6Prefix("2001:db8:abcd:12::/63", { strict: false })),
    "2001:db8:abcd:12::/63",
  );
});

Deno.test("parsePrefix() picks the family and formatPrefix() round-trips", () => {
  for (const text of ["10.0.0.0/8", "0.0.0.0/0", "192.168.1.1/32", "::/0", "2001:db8::/32", "fd00::1/128"]) {
    assert.equal(formatPrefix(parsePrefix(text)), text);
  }
});

Deno.test("ipv4PrefixFromNetmask() reads OpenVPN's network/netmask pair", () => {
  assert.equal(formatPrefix(ipv4PrefixFromNetmask("10.8.0.0", "255.255.255.0")), "10.8.0.0/24");
  assert.throws(() => ipv4PrefixFromNetmask("10.8.0.0", "255.0.255.0"), RangeError);
});

Deno.test("maskIpv6() clears host bits at word boundaries and inside words", () => {
  const a = parseIpv6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  assert.deepEqual([...maskIpv6(a, 0)], [0, 0, 0, 0]);
  assert.deepEqual([...maskIpv6(a, 32)], [0xffffffff, 0, 0, 0]);
  assert.deepEqual([...maskIpv6(a, 33)], [0xffffffff, 0x80000000, 0, 0]);
  assert.deepEqual([...maskIpv6(a, 128)], [...a]);
});

Deno.test("ipv4PrefixContains() and ipv6PrefixContains() test membership", () => {
  const p4 = parseIpv4Prefix("10.8.0.0/24");
  assert.equal(ipv4PrefixContains(p4, parseIpv4("10.8.0.255")), true);
  assert.equal(ipv4PrefixContains(p4, parseIpv4("10.8.1.0")), false);
  assert.equal(ipv4PrefixContains(parseIpv4Prefix("0.0.0.0/0"), 0xffffffff), true);
  const p6 = parseIpv6Prefix("fd00:8::/64");
  assert.equal(ipv6PrefixContains(p6, parseIpv6("fd00:8::1000")), true);
  assert.equal(ipv6PrefixContains(p6, parseIpv6("fd00:9::1000")), false);
});

Deno.test("parseCidr() reports host bits and the masked prefix", () => {
  const a = parseCidr("10.8.0.5/24")!;
  assert.equal(a.hostBitsSet, true);
  assert.equal(a.address.text, "10.8.0.5");
  assert.equal(a.prefix.text, "10.8.0.0/24");
  const b = parseCidr("fd00:8::/64")!;
  assert.equal(b.hostBitsSet, false);
  assert.equal(b.prefix.address, "fd00:8::");
  assert.equal(parseCidr("0.0.0.0/0")!.prefix.text, "0.0.0.0/0");
  assert.equal(parseCidr("::ffff:c000:201/128")!.prefix.text, "::ffff:192.0.2.1/128");
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

Deno.test("netmaskToLength() accepts contiguous masks only", () => {
  assert.equal(netmaskToLength("255.255.255.0"), 24);
  assert.equal(netmaskToLength("255.255.255.252"), 30);
  assert.equal(netmaskToLength("0.0.0.0"), 0);
  assert.equal(netmaskToLength("255.255.255.255"), 32);
  assert.equal(netmaskToLength("255.0.255.0"), null);
  assert.equal(netmaskToLength("255.255.255"), null);
});
