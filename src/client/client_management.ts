/**
 * The client's side of its management interface (`management.listen`):
 * implements ClientControl (src/ops/client_control.ts) over a running client
 * — its status, datapath counters and mesh pairs — with the signals that
 * run_client.ts maps (SIGHUP, SIGTERM, SIGUSR1, SIGUSR2).
 */

import { PC_BYTES_IN, PC_BYTES_OUT, PC_PACKETS_IN, PC_PACKETS_OUT } from "../datapath/peer_table.ts";
import type { Datapath } from "../datapath/datapath.ts";
import { formatEndpoint } from "../mesh/endpoint.ts";
import { MS_BYTES_IN, MS_BYTES_OUT, MS_PACKETS_IN, MS_PACKETS_OUT } from "../mesh/direct_path.ts";
import type { ClientControl, ClientSignal, ClientSnapshot } from "../ops/client_control.ts";
import { VERSION } from "../version.ts";
import { ClientMesh } from "./client_mesh.ts";
import type { ClientStateHistory } from "./client_state_history.ts";
import type { ClientStatus } from "./client_types.ts";

/** A datagram of the data channel carries 24 bytes besides its plaintext (P_DATA_V2, AEAD). */
const DATAGRAM_OVERHEAD = 24;

/** What the control reads from the running client. */
export interface ManagedClient {
  readonly status: Readonly<ClientStatus>;
  readonly datapath: Datapath | null;
}

export class ClientManagement implements ClientControl {
  readonly #client: () => ManagedClient;
  readonly #history: () => ClientStateHistory;
  readonly #signal: (signal: ClientSignal) => void;

  /** `client` and `history` are read per call: a SIGHUP restart replaces both. */
  constructor(
    client: () => ManagedClient,
    history: () => ClientStateHistory,
    signal: (signal: ClientSignal) => void,
  ) {
    this.#client = client;
    this.#history = history;
    this.#signal = signal;
  }

  stateLines(n?: number): string[] {
    return this.#history().last(n);
  }

  signal(signal: ClientSignal): void {
    this.#signal(signal);
  }

  snapshot(): ClientSnapshot {
    const { status, datapath } = this.#client();
    const plan = status.plan;
    return {
      version: VERSION,
      mode: "client",
      pid: Deno.pid,
      state: status.state,
      remote: status.remote,
      address: plan?.local4 ? `${plan.local4.address}/${plan.local4.prefixLen}` : null,
      address6: plan?.local6 ? `${plan.local6.address}/${plan.local6.prefixLen}` : null,
      connects: status.connects,
      lastError: status.lastError,
      ...traffic(datapath),
      drops: datapath?.counters.dropRecord() ?? {},
      meshPeers: meshPeers(datapath),
    };
  }
}

/**
 * OpenVPN's four byte counters: from and to the tun device (plaintext, server
 * and direct mesh paths), and the data channel's datagrams on the wire.
 */
function traffic(dp: Datapath | null) {
  if (dp === null) return { tunReadBytes: 0, tunWriteBytes: 0, linkReadBytes: 0, linkWriteBytes: 0 };
  const peers = dp.peers;
  const stats = ClientMesh.of(dp)?.agent.direct.stats;
  const sum = (server: number, mesh: number) => peers.total(server) + (stats ? stats[mesh] : 0);
  const tunRead = sum(PC_BYTES_OUT, MS_BYTES_OUT);
  const tunWrite = sum(PC_BYTES_IN, MS_BYTES_IN);
  return {
    tunReadBytes: tunRead,
    tunWriteBytes: tunWrite,
    linkReadBytes: tunWrite + DATAGRAM_OVERHEAD * sum(PC_PACKETS_IN, MS_PACKETS_IN),
    linkWriteBytes: tunRead + DATAGRAM_OVERHEAD * sum(PC_PACKETS_OUT, MS_PACKETS_OUT),
  };
}

function meshPeers(dp: Datapath | null): ClientSnapshot["meshPeers"] {
  const mesh = dp ? ClientMesh.of(dp) : null;
  if (!mesh) return [];
  return mesh.agent.peers().map((p) => ({
    peer: p.name,
    path: p.path,
    endpoint: p.endpoint ? formatEndpoint(p.endpoint) : null,
  }));
}
