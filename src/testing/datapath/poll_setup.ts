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
import { Datapath } from "../../datapath/datapath.ts";
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

/** Polls `cond` (called once per try; it may consume) for up to 2 s. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export interface Setup {
  dp: Datapath;
  dev: EventfdDevice;
  sock: UdpSocket;
  peer: UdpSocket;
  peerChannel: DataChannel;
  toServer: EndpointSlots;
}

export function setup(): Setup {
  const dev = new EventfdDevice("tun");
  const sock = openUdp({ host: "127.0.0.1", port: 0 });
  const peer = openUdp({ host: "127.0.0.1", port: 0 });
  const dp = new Datapath({ mode: "single", device: dev, socket: sock, batchSize: 8 });
  const { a, b } = keys();
  const toPeer = new EndpointSlots(1);
  toPeer.setIpv4(0, 0x7f000001, peer.localPort);
  dp.reservePeer();
  dp.attachPeer(0, a, toPeer, 0);
  const toServer = new EndpointSlots(1);
  toServer.setIpv4(0, 0x7f000001, sock.localPort);
  return { dp, dev, sock, peer, peerChannel: b, toServer };
}

/** Seals `packet` as the test peer and sends it to the loop's socket. */
export function sendData(s: Setup, packet: Uint8Array): void {
  const slot = new Uint8Array(DATA_V2_OVERHEAD + packet.length);
  slot.set(packet, DATA_V2_OVERHEAD);
  assert.ok(s.peer.send(slot, 0, s.peerChannel.seal(slot, DATA_V2_OVERHEAD, packet.length), s.toServer, 0));
}
