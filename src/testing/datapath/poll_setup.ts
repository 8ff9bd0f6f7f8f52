/**
 * An fd-backed datapath for poll-loop tests: a fake tun whose readiness is an
 * eventfd (so the poll loop can wait on it) and loopback UDP sockets for the
 * datapath and its one peer, with keys installed on both ends.
 */

import assert from "node:assert/strict";
import { EFD_CLOEXEC, EFD_NONBLOCK, libc } from "../../../ffi/libc.ts";
import { PollSet } from "../../../ffi/poll_set.ts";
import { openUdp, type UdpSocket } from "../../../ffi/udp.ts";
import { DataChannel } from "../../data/data_channel.ts";
import { DATA_V2_OVERHEAD } from "../../data/data_header.ts";
import { dataKeysFromParts } from "../../data/key_material.ts";
import { EndpointSlots } from "../../device/datagram_socket.ts";
import type { Poller, SyncPacketDevice } from "../../device/pollable.ts";
import { Datapath, type DatapathOptions } from "../../datapath/datapath.ts";
import { FakeDevice } from "./fake_device.ts";

/** A fake tun whose readiness is an eventfd, so the poll loop can wait on it. */
export class EventfdDevice extends FakeDevice implements SyncPacketDevice {
  #fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  #queue: Uint8Array[] = [];
  #counter = new BigUint64Array(1);

  get fd(): number {
    return this.#fd;
  }

  get closed(): boolean {
    return this.#fd < 0;
  }

  override inject(packet: Uint8Array): void {
    this.#queue.push(packet.slice());
    libc().write(this.#fd, new BigUint64Array([1n]), 8);
  }

  openPoller(slots: number): Poller {
    return new PollSet(libc(), slots);
  }

  tryReadBatch(bufs: Uint8Array[], sizes: Int32Array, offset: number): number {
    let n = 0;
    while (n < bufs.length && this.#queue.length > 0) {
      const p = this.#queue.shift()!;
      bufs[n].set(p, offset);
      sizes[n++] = p.length;
    }
    if (this.#queue.length === 0 && this.#fd >= 0) libc().read(this.#fd, this.#counter, 8);
    return n;
  }

  override close(): void {
    super.close();
    if (this.#fd >= 0) libc().close(this.#fd);
    this.#fd = -1;
  }
}

/** Fresh AES-256-GCM keys for both ends: `a` is the datapath's peer, `b` the test peer. */
export function keys(): { a: DataChannel; b: DataChannel } {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const iv1 = crypto.getRandomValues(new Uint8Array(8));
  const iv2 = crypto.getRandomValues(new Uint8Array(8));
  const a = new DataChannel({ peerId: 0 });
  a.installKey(
    0,
    dataKeysFromParts("AES-256-GCM", { encryptKey: k1, encryptIv: iv1, decryptKey: k2, decryptIv: iv2 }),
    0,
  );
  const b = new DataChannel({ peerId: 0 });
  b.installKey(
    0,
    dataKeysFromParts("AES-256-GCM", { encryptKey: k2, encryptIv: iv2, decryptKey: k1, decryptIv: iv1 }),
    0,
  );
  return { a, b };
}

/** Attaches peer 0 of `dp` at 127.0.0.1:`peerPort` with fresh keys; returns the test peer's channel. */
export function attachTestPeer(dp: Datapath, peerPort: number): DataChannel {
  const { a, b } = keys();
  const toPeer = new EndpointSlots(1);
  toPeer.setIpv4(0, 0x7f000001, peerPort);
  dp.reservePeer();
  dp.attachPeer(0, a, toPeer, 0);
  return b;
}

export interface Setup {
  dp: Datapath;
  dev: EventfdDevice;
  sock: UdpSocket;
  peer: UdpSocket;
  peerChannel: DataChannel;
  toServer: EndpointSlots;
}

/** `extra`: further Datapath options (e.g. an onControl hook). */
export function setup(extra: Partial<DatapathOptions> = {}): Setup {
  const dev = new EventfdDevice("tun");
  const sock = openUdp({ host: "127.0.0.1", port: 0 });
  const peer = openUdp({ host: "127.0.0.1", port: 0 });
  const dp = new Datapath({ mode: "single", device: dev, socket: sock, batchSize: 8, ...extra });
  const peerChannel = attachTestPeer(dp, peer.localPort);
  const toServer = new EndpointSlots(1);
  toServer.setIpv4(0, 0x7f000001, sock.localPort);
  return { dp, dev, sock, peer, peerChannel, toServer };
}

/** Ends both loops by closing what they read (device and socket) and waits for them. */
export async function endLoops(s: Setup, inside: Promise<void>, outside: Promise<void>): Promise<void> {
  s.dev.close();
  s.sock.close();
  await inside;
  await outside;
}

/** Closes everything `setup()` opened (closing twice is harmless): for `finally`. */
export function closeSetup(s: Setup): void {
  s.dev.close();
  s.sock.close();
  s.peer.close();
}

/** `packet` sealed by `channel` as a data packet, in a fresh buffer. */
export function sealData(channel: DataChannel, packet: Uint8Array): Uint8Array {
  const slot = new Uint8Array(DATA_V2_OVERHEAD + packet.length);
  slot.set(packet, DATA_V2_OVERHEAD);
  return slot.subarray(0, channel.seal(slot, DATA_V2_OVERHEAD, packet.length));
}

/** Seals `packet` as the test peer and sends it to the loop's socket. */
export function sendData(s: Setup, packet: Uint8Array): void {
  const sealed = sealData(s.peerChannel, packet);
  assert.ok(s.peer.send(sealed, 0, sealed.length, s.toServer, 0));
}
