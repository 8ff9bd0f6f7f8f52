/**
 * Writes raw bytes out of a tun device as if the host had sent them, through
 * an AF_PACKET socket bound to it, so e2e tests can feed malformed inner
 * packets to an openvpn client (which encrypts whatever its tun gives it):
 *
 *     deno run -A tests/e2e/support/inject_tun.ts tun0 HEX [HEX...]
 */

import { libc } from "../../../ffi/libc.ts";

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const ETH_P_IP = 0x0800;

const [dev, ...packets] = Deno.args;
const index = Number(Deno.readTextFileSync(`/sys/class/net/${dev}/ifindex`).trim());
const lib = libc();
const fd = lib.socket(AF_PACKET, SOCK_DGRAM, ((ETH_P_IP & 0xff) << 8) | (ETH_P_IP >> 8));
if (fd < 0) throw new Error("socket(AF_PACKET) failed");
// struct sockaddr_ll: family u16, protocol be16, ifindex i32, hatype u16, pkttype u8, halen u8, addr[8]
const sll = new Uint8Array(20);
const v = new DataView(sll.buffer);
v.setUint16(0, AF_PACKET, true);
v.setUint16(2, ETH_P_IP, false);
v.setInt32(4, index, true);
let sent = 0;
for (const hex of packets) {
  const bytes = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
  if (lib.sendto(fd, bytes, bytes.length, 0, sll, sll.length) === bytes.length) sent++;
}
lib.close(fd);
console.log(JSON.stringify({ sent }));
