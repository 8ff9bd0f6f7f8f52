import assert from "node:assert/strict";
import {
  formatMac,
  MAC_BROADCAST,
  macFromParts,
  macHi16,
  macIsBroadcast,
  macIsMulticast,
  macLo32,
  parseMac,
} from "./mac.ts";

Deno.test("parseMac() reads colon and dash forms as 48-bit numbers", () => {
  assert.equal(parseMac("aa:bb:cc:dd:ee:ff"), 0xaabbccddeeff);
  assert.equal(parseMac("02-00-5E-10-00-01"), 0x02005e100001);
  assert.equal(parseMac("00:00:00:00:00:00"), 0);
  for (
    const bad of [
      "",
      "aa:bb:cc:dd:ee",
      "aa:bb:cc:dd:ee:ff:00",
      "aa-bb:cc:dd:ee:ff",
      "gg:bb:cc:dd:ee:ff",
      "a:b:c:d:e:f",
    ]
  ) {
    assert.throws(() => parseMac(bad), { name: "SyntaxError", message: `Invalid MAC address "${bad}"` });
  }
});

Deno.test("formatMac() round-trips and rejects non-48-bit values", () => {
  assert.equal(formatMac(0x02005e100001), "02:00:5e:10:00:01");
  assert.equal(formatMac(MAC_BROADCAST), "ff:ff:ff:ff:ff:ff");
  assert.equal(formatMac(0), "00:00:00:00:00:00");
  assert.throws(() => formatMac(2 ** 48), RangeError);
  assert.throws(() => formatMac(1.5), RangeError);
});

Deno.test("macFromParts(), macHi16() and macLo32() split and join", () => {
  const mac = parseMac("fe:dc:ba:98:76:54");
  assert.equal(macHi16(mac), 0xfedc);
  assert.equal(macLo32(mac), 0xba987654);
  assert.equal(macFromParts(0xfedc, 0xba987654), mac);
});

Deno.test("macIsMulticast() and macIsBroadcast() read the group bit", () => {
  assert.equal(macIsMulticast(parseMac("01:00:5e:00:00:01")), true);
  assert.equal(macIsMulticast(parseMac("33:33:00:00:00:01")), true);
  assert.equal(macIsMulticast(MAC_BROADCAST), true);
  assert.equal(macIsMulticast(parseMac("02:00:5e:00:00:01")), false);
  assert.equal(macIsBroadcast(MAC_BROADCAST), true);
  assert.equal(macIsBroadcast(parseMac("01:00:5e:00:00:01")), false);
});
