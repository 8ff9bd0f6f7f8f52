/**
 * The client's mesh wiring (docs/mesh.md "Wiring"): one MeshAgent per UDP
 * connection, on the socket it shares with the server. The agent answers the
 * server's HELLO with its key, takes INTRO/CLOSE, punches and keeps paths
 * (logging each change and reporting STATE); this adapter hands its direct
 * paths to the datapath, which asks it about every datagram before the
 * server's path and every device packet before sealing it for the server.
 * A stock OpenVPN server never sends HELLO: nothing changes then.
 */

import type { ClientConfig } from "../config/schema.ts";
import { type Clock, systemClock, systemRandom } from "../control/clock.ts";
import type { ControlSession } from "../control/session.ts";
import type { CipherName } from "../data/aead.ts";
import type { Datapath, DirectPaths } from "../datapath/datapath.ts";
import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import type { Logger } from "../log/log.ts";
import { MeshAgent } from "../mesh/mesh_agent.ts";
import { isMeshMessage } from "../mesh/messages.ts";
import { commonNameOfDer } from "../pki/verify.ts";
import { decodePem } from "../pki/pem.ts";
import { MeshDropLog } from "./mesh_drop_log.ts";
import { type HostInterface, localMeshEndpoints } from "./mesh_local_endpoints.ts";

/** IPv4/IPv6 destination address offsets in the IP header. */
const IPV4_DST = 16;
const IPV6_DST = 24;

export interface ClientMeshOptions {
  config: ClientConfig;
  /** Our certificate (PEM): its common name is the name the server introduces us by. */
  certPem: string;
  session: ControlSession;
  datapath: Datapath;
  /** The socket shared with the server connection (unconnected: peers' datagrams reach it). */
  socket: Pick<DatagramSocket, "send"> & { readonly localPort?: number };
  log: Logger;
  clock?: Clock;
  /** The host's interface addresses, reported as local endpoints; default Deno.networkInterfaces. */
  interfaces?: () => HostInterface[];
}

export class ClientMesh implements DirectPaths {
  readonly agent: MeshAgent;
  /** Mesh-port drops by reason, logged at debug when they move. */
  readonly drops: MeshDropLog;
  readonly #dp: Datapath;
  #keys = 0;

  constructor(o: ClientMeshOptions) {
    this.#dp = o.datapath;
    const clock = o.clock ?? systemClock;
    const der = decodePem(o.certPem, "CERTIFICATE")[0];
    this.agent = new MeshAgent({
      name: (der && commonNameOfDer(der)) ?? "",
      ciphers: o.config.data.ciphers as CipherName[],
      clock,
      random: systemRandom,
      sendControl: (text) => o.session.sendControlMessage(text),
      socket: o.socket,
      localEndpoints: () =>
        localMeshEndpoints(
          (o.interfaces ?? Deno.networkInterfaces)(),
          o.socket.localPort ?? 0,
          o.config.dev.name,
        ),
      log: o.log,
    });
    o.session.on("message", (e) => this.agent.onControlMessage(e.text));
    o.session.on("key", () => {
      if (++this.#keys > 1) this.agent.renegotiated();
    });
    o.session.on("closed", () => this.end());
    o.datapath.directPaths = this;
    this.drops = new MeshDropLog(this.agent.direct.drops, o.log, clock);
    this.drops.start();
  }

  /** The mesh `datapath` currently asks about direct paths, or null. */
  static of(datapath: Datapath | null): ClientMesh | null {
    const direct = datapath?.directPaths;
    return direct instanceof ClientMesh ? direct : null;
  }

  /** True for the mesh's control messages (the connection does not log them as unknown). */
  static isMeshMessage(text: string): boolean {
    return isMeshMessage(text);
  }

  /** The session or connection ended: pairs close, keys are wiped, the datapath stops asking. */
  end(): void {
    this.agent.sessionEnded();
    this.drops.stop();
    if (this.#dp.directPaths === this) this.#dp.directPaths = null;
  }

  // -- DirectPaths (hot path: no allocation) --

  receive(buf: Uint8Array, off: number, len: number, from: EndpointSlots, row: number): number {
    return this.agent.direct.receive(buf, off, len, from, row);
  }

  get plainOff(): number {
    return this.agent.direct.plainOff;
  }

  get plainLen(): number {
    return this.agent.direct.plainLen;
  }

  sendDirect(buf: Uint8Array, off: number, len: number): boolean {
    const table = this.agent.table;
    if (table.size === 0) return false;
    const v = buf[off] >> 4;
    let slot = -1;
    if (v === 4 && len >= 20) slot = table.directSlot4At(buf, off + IPV4_DST);
    else if (v === 6 && len >= 40) slot = table.directSlot6At(buf, off + IPV6_DST);
    if (slot < 0) return false;
    this.agent.direct.queueData(slot, buf, off, len);
    return true;
  }

  flushDirect(): void {
    this.agent.direct.flush();
  }
}
