/**
 * A server datapath and several client datapaths wired through a FakeNetwork,
 * with fresh keys installed on both ends of each pair, for tests. Pipelines
 * are driven step by step: `clientSend(k, packet)` runs client k's inside
 * loop once, `serverPump()` the server's outside loop once, and so on.
 */

import { DataChannel, type DataChannelOptions } from "../../data/data_channel.ts";
import { dataKeysFromParts } from "../../data/key_material.ts";
import { parseIpv4 } from "../../addr/ip.ts";
import { parsePrefix } from "../../addr/prefix.ts";
import { Datapath, type DatapathOptions, HEADROOM } from "../../datapath/datapath.ts";
import { InsidePipeline } from "../../datapath/inside.ts";
import { OutsidePipeline } from "../../datapath/outside.ts";
import { FakeDevice } from "./fake_device.ts";
import { FakeNetwork, type FakeSocket } from "./fake_network.ts";

export interface Node {
  dp: Datapath;
  dev: FakeDevice;
  sock: FakeSocket;
  inside: InsidePipeline;
  outside: OutsidePipeline;
}

export interface RigClient extends Node {
  id: number;
  serverChannel: DataChannel;
  clientChannel: DataChannel;
}

export interface RigOptions extends Partial<Omit<DatapathOptions, "device" | "socket">> {
  mode: "router" | "switch";
  /** Options for every DataChannel (both ends of each pair); the peer-id is the rig's. */
  channel?: DataChannelOptions;
}

const SERVER_ADDR = parseIpv4("192.0.2.1");

function rand(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

export class Rig {
  readonly net = new FakeNetwork();
  readonly server: Node;
  readonly clients: RigClient[] = [];
  now = 1_000_000;
  readonly #options: RigOptions;

  constructor(options: RigOptions) {
    this.#options = options;
    const kind = options.mode === "switch" ? "tap" : "tun";
    const dev = new FakeDevice(kind);
    const sock = this.net.socket(SERVER_ADDR, 1194);
    const dp = new Datapath({
      capacity: 8,
      batchSize: 8,
      ...options,
      device: dev,
      socket: sock,
      now: () => this.now,
    });
    this.server = { dp, dev, sock, inside: new InsidePipeline(dp), outside: new OutsidePipeline(dp) };
  }

  /** Connects a client with fresh keys; `routes` (router mode) are what the server routes to it. */
  addClient(routes: string[] = []): RigClient {
    const kind = this.#options.mode === "switch" ? "tap" : "tun";
    const s = this.server.dp;
    const id = s.reservePeer();
    const c2s = { key: rand(32), iv: rand(8) };
    const s2c = { key: rand(32), iv: rand(8) };
    const serverChannel = new DataChannel({ ...this.#options.channel, peerId: id });
    serverChannel.installKey(
      0,
      dataKeysFromParts("AES-256-GCM", {
        encryptKey: s2c.key,
        encryptIv: s2c.iv,
        decryptKey: c2s.key,
        decryptIv: c2s.iv,
      }),
      this.now,
    );
    const clientChannel = new DataChannel({ ...this.#options.channel, peerId: id });
    clientChannel.installKey(
      0,
      dataKeysFromParts("AES-256-GCM", {
        encryptKey: c2s.key,
        encryptIv: c2s.iv,
        decryptKey: s2c.key,
        decryptIv: s2c.iv,
      }),
      this.now,
    );
    const dev = new FakeDevice(kind);
    const sock = this.net.socket(parseIpv4("198.51.100.0") + 10 + id, 40000 + id);
    const dp = new Datapath({ mode: "single", device: dev, socket: sock, now: () => this.now, batchSize: 8 });
    const serverEnd = this.server.sock.endpoint();
    dp.reservePeer();
    dp.attachPeer(0, clientChannel, serverEnd, 0);
    s.attachPeer(id, serverChannel, sock.endpoint(), 0);
    for (const r of routes) s.routes.add(parsePrefix(r, { allowBareAddress: true }), id);
    const client: RigClient = {
      id,
      dp,
      dev,
      sock,
      inside: new InsidePipeline(dp),
      outside: new OutsidePipeline(dp),
      serverChannel,
      clientChannel,
    };
    this.clients.push(client);
    return client;
  }

  /** Packets `node`'s host writes into its device, forwarded by one inside pass. */
  async fromDevice(node: Node, ...packets: Uint8Array[]): Promise<void> {
    for (const p of packets) node.dev.inject(p);
    const n = await node.dev.readBatch(node.inside.bufs, node.inside.sizes, HEADROOM);
    node.inside.process(n);
  }

  /** One outside pass over what `node`'s socket has received; returns how many datagrams. */
  pump(node: Node): number {
    const o = node.outside;
    let total = 0;
    for (;;) {
      const n = node.sock.drainInto(o.bufs, o.sizes, o.from, 0);
      if (n === 0) return total;
      o.process(n);
      total += n;
    }
  }

  /** Client k sends `packets` from its device; the server handles them. */
  async clientSend(k: number, ...packets: Uint8Array[]): Promise<void> {
    await this.fromDevice(this.clients[k], ...packets);
    this.pump(this.server);
  }

  /** Every client handles what it received. */
  pumpClients(): void {
    for (const c of this.clients) this.pump(c);
  }
}
