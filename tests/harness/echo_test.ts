import assert from "node:assert/strict";
import {
  answerFrameInPlace,
  echoReplyInPlace,
  ipv4,
  isEchoReply,
  onesSum,
  writeEchoRequest4,
} from "./echo.ts";

function icmp6Checksum(buf: Uint8Array, off: number, len: number): number {
  const payload = len - 40;
  const pseudo = new Uint8Array(40);
  pseudo.set(buf.subarray(off + 8, off + 40), 0);
  pseudo[34] = payload >>> 8;
  pseudo[35] = payload & 0xff;
  pseudo[39] = 58;
  return onesSum(buf, off + 40, payload, onesSum(pseudo, 0, 40));
}

Deno.test("writeEchoRequest4() builds a packet with valid IPv4 and ICMP checksums", () => {
  const buf = new Uint8Array(200);
  const len = writeEchoRequest4(buf, 10, ipv4("10.77.0.2"), ipv4("10.77.0.1"), 0x1234, 7, 56);
  assert.equal(len, 84);
  assert.equal(onesSum(buf, 10, 20), 0xffff);
  assert.equal(onesSum(buf, 30, 64), 0xffff);
  assert.deepEqual([...buf.subarray(22, 30)], [10, 77, 0, 2, 10, 77, 0, 1]);
});

Deno.test("echoReplyInPlace() turns an IPv4 echo request into a valid reply", () => {
  const buf = new Uint8Array(100);
  const len = writeEchoRequest4(buf, 0, ipv4("10.0.0.2"), ipv4("10.0.0.1"), 1, 1, 33);
  assert.equal(isEchoReply(buf, 0, len), false);
  assert.equal(echoReplyInPlace(buf, 0, len), true);
  assert.equal(isEchoReply(buf, 0, len), true);
  assert.deepEqual([...buf.subarray(12, 20)], [10, 0, 0, 1, 10, 0, 0, 2]);
  assert.equal(onesSum(buf, 0, 20), 0xffff);
  assert.equal(onesSum(buf, 20, len - 20), 0xffff);
  assert.equal(echoReplyInPlace(buf, 0, len), false);
});

Deno.test("echoReplyInPlace() turns an ICMPv6 echo request into a reply with a valid checksum", () => {
  const buf = new Uint8Array(56);
  buf[0] = 0x60;
  buf[5] = 16;
  buf[6] = 58;
  buf[7] = 64;
  buf[23] = 1; // src ::1 … dst ::2
  buf[39] = 2;
  buf[40] = 128;
  for (let i = 44; i < 56; i++) buf[i] = i;
  const sum = ~icmp6Checksum(buf, 0, 56) & 0xffff;
  buf[42] = sum >>> 8;
  buf[43] = sum & 0xff;
  assert.equal(icmp6Checksum(buf, 0, 56), 0xffff);
  assert.equal(echoReplyInPlace(buf, 0, 56), true);
  assert.equal(buf[40], 129);
  assert.equal(buf[23], 2);
  assert.equal(buf[39], 1);
  assert.equal(icmp6Checksum(buf, 0, 56), 0xffff);
  assert.equal(isEchoReply(buf, 0, 56), true);
});

Deno.test("answerFrameInPlace() answers an ARP request for its address only", () => {
  const mac = new Uint8Array([2, 0, 0, 0, 0, 2]);
  const req = new Uint8Array(42);
  req.fill(0xff, 0, 6);
  req.set([2, 0, 0, 0, 0, 1], 6);
  req.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  req.set([2, 0, 0, 0, 0, 1, 10, 88, 0, 1], 22); // sender
  req.set([0, 0, 0, 0, 0, 0, 10, 88, 0, 2], 32); // target
  const other = req.slice();
  assert.equal(answerFrameInPlace(other, 0, 42, mac, ipv4("10.88.0.3")), 0);
  assert.equal(answerFrameInPlace(req, 0, 42, mac, ipv4("10.88.0.2")), 42);
  assert.deepEqual([...req.subarray(0, 12)], [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  assert.equal(req[21], 2); // op = reply
  assert.deepEqual([...req.subarray(22, 42)], [
    2,
    0,
    0,
    0,
    0,
    2,
    10,
    88,
    0,
    2,
    2,
    0,
    0,
    0,
    0,
    1,
    10,
    88,
    0,
    1,
  ]);
});

Deno.test("answerFrameInPlace() answers an ICMP echo in an Ethernet frame addressed to it", () => {
  const mac = new Uint8Array([2, 0, 0, 0, 0, 2]);
  const frame = new Uint8Array(14 + 84);
  frame.set(mac, 0);
  frame.set([2, 0, 0, 0, 0, 1, 0x08, 0x00], 6);
  writeEchoRequest4(frame, 14, ipv4("10.88.0.1"), ipv4("10.88.0.2"), 1, 1, 56);
  const stranger = frame.slice();
  stranger[5] = 9;
  assert.equal(answerFrameInPlace(stranger, 0, stranger.length, mac, ipv4("10.88.0.2")), 0);
  assert.equal(answerFrameInPlace(frame, 0, frame.length, mac, ipv4("10.88.0.2")), frame.length);
  assert.deepEqual([...frame.subarray(0, 12)], [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
  assert.equal(isEchoReply(frame, 14, 84), true);
});
