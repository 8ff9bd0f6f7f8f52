/**
 * JIT warm-up of the packet path, run once per process before the first
 * real packet (poll_loop.ts calls it).
 *
 * Why: V8 runs new code in its interpreter until a function has been called
 * often enough to be optimized. A fresh tsvpn process therefore handled its
 * first few thousand packets 5–10× slower than later ones: idle pings right
 * after start-up crossed a tsvpn tunnel in ~0.7 ms against ~0.35 ms once the
 * same processes had carried some traffic (OpenVPN: ~0.35 ms from the start).
 *
 * How: a throwaway Datapath built from the same classes the real one uses —
 * a `TunDevice` over one end of an AF_UNIX datagram socketpair (it reads and
 * writes whole packets like a tun), an fd-backed `UdpSocket` on 127.0.0.1
 * that sends to itself, an OpenSSL `DataChannel` pair — carries a few
 * thousand packets each way (TCP segments that coalesce, and small ICMP
 * packets). Using the real classes keeps call sites monomorphic, so the
 * optimized code fits the real objects. Nothing leaves the process but
 * loopback datagrams; everything is closed before it returns. Best effort:
 * any failure (no loopback, no FFI) just ends the warm-up.
 */

import { AF_UNIX, libc, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK } from "../../ffi/libc.ts";
import { Readiness } from "../../ffi/readiness.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { openUdp, type UdpSocket } from "../../ffi/udp.ts";
import { DataChannel } from "../data/data_channel.ts";
import { dataKeysFromParts } from "../data/key_material.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import { parsePrefix } from "../addr/prefix.ts";
import { ipv4HeaderChecksum, transportChecksum } from "../packet/checksum.ts";
import { Datapath, type DatapathMode, HEADROOM } from "./datapath.ts";
import { InsidePipeline } from "./inside.ts";
import { OutsidePipeline } from "./outside.ts";

/** Batches of packets pushed through each direction. */
export const WARM_UP_ROUNDS = 600;
// AF_UNIX datagram sockets queue at most net.unix.max_dgram_qlen (10) datagrams.
const BATCH = 8;
const LOCAL = 0x0a636301; // 10.99.99.1: the "host" side
const PEER = 0x0a636302; // 10.99.99.2: the peer's inner address

let done = false;

/** Writes an IPv4 packet (TCP segment when `tcp`, else ICMP echo) from `src` to `dst` at buf[off..]; returns its length. */
function packet(
  buf: Uint8Array,
  off: number,
  src: number,
  dst: number,
  tcp: boolean,
  seq: number,
  payload: number,
): number {
  const hdr = tcp ? 40 : 28;
  const len = hdr + payload;
  buf.fill(0, off, off + len);
  buf[off] = 0x45;
  buf[off + 2] = len >> 8;
  buf[off + 3] = len & 0xff;
  buf[off + 6] = 0x40;
  buf[off + 8] = 64;
  buf[off + 9] = tcp ? 6 : 1;
  for (let i = 0; i < 4; i++) {
    buf[off + 12 + i] = (src >>> (24 - 8 * i)) & 0xff;
    buf[off + 16 + i] = (dst >>> (24 - 8 * i)) & 0xff;
  }
  const c = ipv4HeaderChecksum(buf, off);
  buf[off + 10] = c >> 8;
  buf[off + 11] = c & 0xff;
  const t = off + 20;
  if (tcp) {
    buf[t] = 0x9c;
    buf[t + 1] = 0x40;
    buf[t + 2] = 0x14;
    buf[t + 3] = 0x51;
    for (let i = 0; i < 4; i++) buf[t + 4 + i] = (seq >>> (24 - 8 * i)) & 0xff;
    buf[t + 12] = 0x50;
    buf[t + 13] = 0x10;
    buf[t + 14] = 0xff;
    const k = transportChecksum(buf, off, 16);
    buf[t + 16] = k >> 8;
    buf[t + 17] = k & 0xff;
  } else {
    buf[t] = 8;
    const k = transportChecksum(buf, off, 2, false);
    buf[t + 2] = k >> 8;
    buf[t + 3] = k & 0xff;
  }
  return len;
}

/**
 * Runs the warm-up for a datapath of `mode` once per process (later calls
 * return at once). Switch (tap) mode is not warmed. Returns the packets
 * carried (0 when skipped or failed).
 */
export function warmUpDatapath(mode: DatapathMode, rounds = WARM_UP_ROUNDS): number {
  if (done || mode === "switch") return 0;
  done = true;
  const lib = libc();
  const pair = new Int32Array(2);
  if (lib.socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) return 0;
  let dev: TunDevice | null = null;
  let udp: UdpSocket | null = null;
  let carried = 0;
  try {
    dev = new TunDevice(lib, pair[0], new Readiness(lib, pair[0]), "warm-up", "tun", 0, true);
    udp = openUdp({ host: "127.0.0.1", port: 0, gso: true });
    const dp = new Datapath({
      mode,
      device: dev,
      socket: udp,
      capacity: 2,
      batchSize: BATCH,
      slotSize: 2048,
    });
    const key = new Uint8Array(32).fill(0x5a);
    const iv = new Uint8Array(8).fill(0xa5);
    const keys = dataKeysFromParts("AES-256-GCM", {
      encryptKey: key,
      encryptIv: iv,
      decryptKey: key,
      decryptIv: iv,
    });
    const id = dp.reservePeer();
    const channel = new DataChannel({ peerId: id, replayWindow: 65536 });
    channel.installKey(0, keys, 0);
    const self = new EndpointSlots(1);
    self.setIpv4(0, 0x7f000001, udp.localPort);
    dp.attachPeer(id, channel, self, 0);
    if (mode === "router") {
      // The peer owns both ends, so looped-back packets pass the source check.
      dp.routes.add(parsePrefix("10.99.99.2/32"), id);
      dp.routes.add(parsePrefix("10.99.99.1/32"), id);
    }
    const inside = new InsidePipeline(dp);
    const outside = new OutsidePipeline(dp);
    const hostEnd = pair[1];
    const pkt = new Uint8Array(2048);
    const sink = new Uint8Array(65536 + 64);
    let seq = 1;
    for (let r = 0; r < rounds; r++) {
      // Host → device: a run of TCP segments and a few small packets.
      for (let i = 0; i < BATCH; i++) {
        const tcp = i % 8 !== 7;
        const n = packet(pkt, 10, LOCAL, PEER, tcp, seq, tcp ? 1360 : 56);
        if (tcp) seq += 1360;
        if (lib.write(hostEnd, pkt, n + 10) < 0) break;
      }
      const k = dev.tryReadBatch(inside.bufs, inside.sizes, HEADROOM);
      if (k === 0) break;
      inside.process(k);
      // Back in through the socket: open, route, to the device (coalesced).
      for (let tries = 0; tries < 4; tries++) {
        const m = udp.tryReceiveBatch(outside.bufs, outside.sizes, outside.from, 0);
        if (m === 0) break;
        carried += m;
        outside.process(m);
      }
      while (lib.read(hostEnd, sink, sink.length) > 0) carried++;
    }
  } catch {
    // Best effort: a host without loopback or with a refused socket is simply not warmed.
  } finally {
    dev?.close();
    udp?.close();
    lib.close(pair[1]);
  }
  return carried;
}
