import assert from "node:assert/strict";
import { parseIpv4 } from "../../addr/ip.ts";
import { EndpointSlots } from "../../device/datagram_socket.ts";
import { SimNet, type SimSocket } from "./nat.ts";

const ip = parseIpv4;

function inbox(s: SimSocket): string[] {
  const got: string[] = [];
  s.onReceive = (buf, len, from, row) =>
    got.push(`${from.format(row)} ${new TextDecoder().decode(buf.subarray(0, len))}`);
  return got;
}

function to(address: string, port: number): EndpointSlots {
  const e = new EndpointSlots(1);
  e.setIpv4(0, ip(address), port);
  return e;
}

const send = (s: SimSocket, text: string, address: string, port: number) => {
  const b = new TextEncoder().encode(text);
  s.send(b, 0, b.length, to(address, port), 0);
};

Deno.test("SimNat cone: one public port for every destination, inbound only from endpoints contacted", () => {
  let now = 0;
  const net = new SimNet(() => now);
  const nat = net.nat(ip("198.51.100.1"), "cone");
  const inside = net.socket(ip("192.168.1.10"), 1194, nat);
  const server = net.socket(ip("192.0.2.1"), 1194);
  const peer = net.socket(ip("203.0.113.5"), 5000);
  const [ins, srv, per] = [inbox(inside), inbox(server), inbox(peer)];
  send(inside, "a", "192.0.2.1", 1194);
  send(inside, "b", "203.0.113.5", 5000);
  net.flush();
  assert.equal(srv[0], "198.51.100.1:20000 a");
  assert.equal(per[0], "198.51.100.1:20000 b", "same mapping towards another destination");
  send(server, "reply", "198.51.100.1", 20000);
  send(net.socket(ip("203.0.113.6"), 1), "stranger", "198.51.100.1", 20000);
  net.flush();
  assert.deepEqual(ins, ["192.0.2.1:1194 reply"]);
  assert.equal(nat.filtered, 1);
  now = 31_000;
  send(server, "late", "198.51.100.1", 20000);
  net.flush();
  assert.equal(ins.length, 1, "the mapping expired");
});

Deno.test("SimNat symmetric: a new public port per destination; full-cone accepts anyone", () => {
  const net = new SimNet(() => 0);
  const sym = net.nat(ip("198.51.100.1"), "symmetric");
  const full = net.nat(ip("198.51.100.2"), "full-cone");
  const a = net.socket(ip("192.168.1.10"), 1194, sym);
  const b = net.socket(ip("192.168.2.10"), 1194, full);
  const server = net.socket(ip("192.0.2.1"), 1194);
  const [, srv] = [inbox(a), inbox(server)];
  const got = inbox(b);
  send(a, "1", "192.0.2.1", 1194);
  send(b, "2", "192.0.2.1", 1194);
  net.flush();
  send(a, "3", "198.51.100.2", 20000);
  net.flush();
  assert.equal(srv[0], "198.51.100.1:20000 1");
  assert.deepEqual(got, ["198.51.100.1:20001 3"], "another port towards b; b's full cone lets it in");
});

Deno.test("SimNet delivers on a LAN directly, never routes private addresses across the internet, no hairpin", () => {
  const net = new SimNet(() => 0);
  const nat1 = net.nat(ip("198.51.100.1"), "cone");
  const nat2 = net.nat(ip("198.51.100.2"), "cone");
  const a = net.socket(ip("192.168.1.10"), 1194, nat1);
  const b = net.socket(ip("192.168.1.20"), 1194, nat1);
  const c = net.socket(ip("192.168.1.30"), 1194, nat2);
  const [gb, gc] = [inbox(b), inbox(c)];
  send(a, "lan", "192.168.1.20", 1194);
  send(a, "other lan", "192.168.1.30", 1194);
  send(b, "prime", "198.51.100.1", 20000);
  send(a, "hairpin", "198.51.100.1", 20001);
  net.flush();
  assert.deepEqual(gb, ["192.168.1.10:1194 lan"]);
  assert.deepEqual(gc, []);
});

Deno.test("SimNat.rebind() moves the LAN socket to a new public port", () => {
  const net = new SimNet(() => 0);
  const nat = net.nat(ip("198.51.100.1"), "cone");
  const a = net.socket(ip("192.168.1.10"), 1194, nat);
  const server = net.socket(ip("192.0.2.1"), 1194);
  const srv = inbox(server);
  send(a, "x", "192.0.2.1", 1194);
  nat.rebind();
  net.flush();
  send(a, "y", "192.0.2.1", 1194);
  net.flush();
  assert.notEqual(srv[0].split(" ")[0], srv[1].split(" ")[0]);
});
