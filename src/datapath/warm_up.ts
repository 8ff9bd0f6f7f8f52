/**
 * JIT warm-up of the packet path, run once per process before the first
 * real packet: loops.ts hands it to the poll loop, which runs it first.
 *
 * Why: V8 runs new code in its interpreter until a function has been called
 * often enough to be optimized. A fresh tsvpn process therefore handled its
 * first few thousand packets 5–10× slower than later ones: idle pings right
 * after start-up crossed a tsvpn tunnel in ~0.7 ms against ~0.35 ms once the
 * same processes had carried some traffic (OpenVPN: ~0.35 ms from the start).
 *
 * How: a throwaway Datapath built from the same classes the real one uses —
 * the device's loopback rig (`SyncPacketDevice.openLoopbackRig`: with
 * ffi/tun.ts, a `TunDevice` over one end of an AF_UNIX datagram socketpair
 * and an fd-backed `UdpSocket` on 127.0.0.1 that sends to itself), an
 * OpenSSL `DataChannel` pair — carries a few thousand packets each way in
 * the mix real traffic has (warm_up_traffic.ts: TCP runs that coalesce, SYNs
 * to clamp, ICMP, IPv6, multicast to drop, keepalive pings, control
 * datagrams, single- and multi-packet batches). Using the real classes and
 * the real datapath's settings (WarmUpProfile) keeps the optimized code
 * valid for the real objects. Two rigs with their own callbacks run in turn,
 * so callback call sites (onControl, the device write counter) see two
 * targets and do not deoptimize on the real third. Nothing leaves the
 * process but loopback datagrams; everything is closed before it returns.
 * Best effort: any failure (no loopback, no FFI) just ends the warm-up.
 */

import { parsePrefix } from "../addr/prefix.ts";
import { P_ACK_V1 } from "../control/opcode.ts";
import { DataChannel } from "../data/data_channel.ts";
import { dataKeysFromParts } from "../data/key_material.ts";
import { EndpointSlots } from "../device/datagram_socket.ts";
import type { LoopbackRig } from "../device/pollable.ts";
import type { Logger } from "../log/log.ts";
import { RouteTable } from "../router/route_table.ts";
import { DatapathCounters } from "./counters.ts";
import { Datapath, type DatapathMode, HEADROOM } from "./datapath.ts";
import { gsoCapable } from "./gro.ts";
import { InsidePipeline } from "./inside.ts";
import { OutsidePipeline } from "./outside.ts";
import {
  WARM_LOCAL6,
  WARM_NET4,
  WARM_NET6,
  WARM_PEER6,
  WarmKind,
  warmKind,
  warmPacket,
} from "./warm_up_traffic.ts";

/** Batches of packets pushed through each direction. */
export const WARM_UP_ROUNDS = 800;
// AF_UNIX datagram sockets queue at most net.unix.max_dgram_qlen (10) datagrams.
const BATCH = 8;

/** The settings of the real datapath the warm-up imitates. */
export interface WarmUpProfile {
  mode: DatapathMode;
  /** As DatapathOptions.mssfix (0: no clamping). */
  mssfix: number;
  float: boolean;
  clientToClient: boolean;
  /** The real tun has a virtio-net header (TCP coalescing on writes). */
  vnetHeader: boolean;
  log?: Logger;
}

/** The profile of `dp`. */
export function warmUpProfile(dp: Datapath): WarmUpProfile {
  return {
    mode: dp.modeName,
    mssfix: dp.mss > 0 ? dp.mss + 40 : 0,
    float: dp.float,
    clientToClient: dp.clientToClient,
    vnetHeader: gsoCapable(dp.device),
    log: dp.log,
  };
}

let done = false;

/** Opens a loopback rig whose device has (or lacks) a virtio-net header. */
export type OpenLoopbackRig = (vnetHeader: boolean) => LoopbackRig;

/** One throwaway datapath over a loopback rig's device and its socket that talks to itself. */
interface Rig {
  dp: Datapath;
  os: LoopbackRig;
  peer: number;
  inside: InsidePipeline;
  outside: OutsidePipeline;
  controls: number;
}

/** What the rigs share: counters, and one route table (its IPv4 jump tables alone are 512 KiB). */
interface Shared {
  counters: DatapathCounters;
  routes: RouteTable;
}

function openRig(open: OpenLoopbackRig, p: WarmUpProfile, shared: Shared, rigs: Rig[]): void {
  const os = open(p.vnetHeader);
  try {
    // Each rig its own closure: the call sites become megamorphic (see top).
    const onControl = () => {
      rig.controls++;
    };
    const dp = new Datapath({
      mode: p.mode,
      device: os.device,
      socket: os.socket,
      capacity: 2,
      batchSize: BATCH,
      slotSize: 2048,
      mssfix: p.mssfix,
      float: p.float,
      clientToClient: p.clientToClient,
      log: p.log,
      counters: shared.counters,
      routes: shared.routes,
      onControl,
    });
    const peer = attachSelf(dp, os.socket.localPort);
    const rig: Rig = {
      dp,
      os,
      peer,
      inside: new InsidePipeline(dp),
      outside: new OutsidePipeline(dp),
      controls: 0,
    };
    rigs.push(rig);
  } catch (e) {
    os.close();
    throw e;
  }
}

/** Attaches a peer whose endpoint is the rig's own socket and that owns both inner addresses. */
function attachSelf(dp: Datapath, port: number): number {
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
  self.setIpv4(0, 0x7f000001, port);
  dp.attachPeer(id, channel, self, 0);
  // Both rigs' peer gets id 0, so the shared table's routes serve both.
  if (dp.modeName === "router" && dp.routes.size === 0) {
    // The peer owns both ends, so looped-back packets pass the source check.
    for (
      const p of [
        "10.99.99.2/32",
        "10.99.99.1/32",
        `${WARM_PEER6}/128`,
        `${WARM_LOCAL6}/128`,
        WARM_NET4,
        WARM_NET6,
      ]
    ) {
      dp.routes.add(parsePrefix(p), id);
    }
  }
  return id;
}

/** Host → device → peer: one batch of the round's mix (a single packet every third round). */
function pushInside(r: Rig, round: number, pkt: Uint8Array, seq: number): number {
  const count = round % 3 === 0 ? 1 : BATCH;
  for (let i = 0; i < count; i++) {
    const kind = count === 1 ? WarmKind.Icmp4 : warmKind(round, i);
    const n = warmPacket(pkt, 10, kind, kind === WarmKind.Tcp4 || kind === WarmKind.Tcp6 ? seq : round + i);
    if (kind === WarmKind.Tcp4) seq += 1360;
    if (!r.os.hostWrite(pkt, n + 10)) break;
  }
  const k = r.os.device.tryReadBatch(r.inside.bufs, r.inside.sizes, HEADROOM);
  if (k > 0) r.inside.process(k);
  return seq;
}

/** Peer → device: what came back through the socket (plus a ping or a control datagram now and then). */
function pullOutside(r: Rig, round: number, sink: Uint8Array): number {
  if (round % 4 === 1) r.dp.sendPing(r.peer);
  if (round % 8 === 3) sendControl(r);
  let carried = 0;
  for (let tries = 0; tries < 4; tries++) {
    const m = r.os.socket.tryReceiveBatch(r.outside.bufs, r.outside.sizes, r.outside.from, 0);
    if (m === 0) break;
    carried += m;
    r.outside.process(m);
  }
  while (r.os.hostRead(sink) > 0) carried++;
  return carried;
}

const control = Uint8Array.of(P_ACK_V1 << 3, 1, 2, 3, 4, 5, 6, 7, 8, 0);

function sendControl(r: Rig): void {
  r.os.socket.send(control, 0, control.length, r.dp.peers.endpoints, r.peer);
}

/**
 * Runs the warm-up for a datapath like `profile` over rigs from `open` once
 * per process (later calls return at once). Switch (tap) mode is not
 * warmed. Returns the packets carried (0 when skipped or failed);
 * `counters` gets the throwaway datapaths' counts.
 */
export function warmUpDatapath(
  profile: WarmUpProfile,
  open: OpenLoopbackRig,
  rounds = WARM_UP_ROUNDS,
  counters = new DatapathCounters(),
): number {
  if (done || profile.mode === "switch") return 0;
  done = true;
  const rigs: Rig[] = [];
  const shared: Shared = { counters, routes: new RouteTable() };
  let carried = 0;
  try {
    openRig(open, profile, shared, rigs);
    openRig(open, profile, shared, rigs);
    const pkt = new Uint8Array(2048);
    const sink = new Uint8Array(65536 + 64);
    let seq = 1;
    for (let round = 0; round < rounds; round++) {
      const r = rigs[round & 1];
      seq = pushInside(r, round, pkt, seq);
      carried += pullOutside(r, round, sink);
    }
  } catch {
    // Best effort: a host without loopback or with a refused socket is simply not warmed.
  } finally {
    for (const r of rigs) {
      r.dp.peers.channels[r.peer]?.clear(); // the throwaway key's OpenSSL contexts go now, not at a GC
      r.os.close();
    }
  }
  return carried;
}

/** True once a warm-up has run in this process. */
export function warmedUp(): boolean {
  return done;
}
