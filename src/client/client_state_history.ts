/**
 * The client's state history in OpenVPN's management form (`state`, `state
 * all`): one line per change, `TIME,STATE,DESCRIPTION,TUN_IP,REMOTE_IP,
 * REMOTE_PORT,,` as a stock openvpn 2.6 client prints it, e.g.
 * `1796478344,CONNECTED,SUCCESS,10.8.0.2,172.31.0.1,1194,,`. Bounded.
 * OpenVPN also reports the steps between CONNECTING and CONNECTED (WAIT, AUTH,
 * GET_CONFIG, ASSIGN_IP); tsvpn reports CONNECTING, CONNECTED, RECONNECTING
 * and EXITING.
 */

import type { ClientState, ClientStatus } from "./client_types.ts";

/** What the history watches: the handle's status and its state events. */
export interface StatefulClient {
  readonly status: Readonly<ClientStatus>;
  on(event: "state", fn: (state: ClientState) => void): unknown;
}

/** OpenVPN's name for each of the client's states. */
const OPENVPN_STATE: Record<ClientState, string> = {
  starting: "CONNECTING",
  connecting: "CONNECTING",
  connected: "CONNECTED",
  waiting: "RECONNECTING",
  stopping: "EXITING",
  stopped: "EXITING",
};

const MAX_ENTRIES = 256;

export class ClientStateHistory {
  readonly #lines: string[] = [];
  readonly #now: () => number;
  #client: StatefulClient;

  constructor(client: StatefulClient, now: () => number = Date.now) {
    this.#client = client;
    this.#now = now;
    this.follow(client);
  }

  /** Records `client`'s states from now on, after the earlier client's (a SIGHUP restart). */
  follow(client: StatefulClient): void {
    this.#client = client;
    this.#record(client.status.state);
    client.on("state", (state) => {
      if (this.#client === client) this.#record(state);
    });
  }

  /** The newest line (OpenVPN's bare `state`); before the first state, CONNECTING. */
  current(): string {
    return this.#lines[this.#lines.length - 1] ?? `${Math.floor(this.#now() / 1000)},CONNECTING,,,,,,`;
  }

  /** The last `n` lines, oldest first (all when n is absent). */
  last(n?: number): string[] {
    return n === undefined ? [...this.#lines] : this.#lines.slice(-n);
  }

  #record(state: ClientState): void {
    // OpenVPN's history starts at CONNECTING; "starting" (keys, device) has no line of its own.
    if (state === "starting") return;
    const status = this.#client.status;
    const time = Math.floor(this.#now() / 1000);
    let line = `${time},${OPENVPN_STATE[state]},,,,,,`;
    if (state === "connected") {
      const plan = status.plan;
      const [host, port] = splitRemote(status.remote);
      line = `${time},CONNECTED,SUCCESS,${plan?.local4?.address ?? ""},${host},${port},,`;
    } else if (state === "waiting") {
      line = `${time},RECONNECTING,${(status.lastError ?? "").replaceAll(",", ";")},,,,,`;
    }
    if (this.#lines.length === MAX_ENTRIES) this.#lines.shift();
    this.#lines.push(line);
  }
}

function splitRemote(remote: string | null): [string, string] {
  if (!remote) return ["", ""];
  const i = remote.lastIndexOf(":");
  return [remote.slice(0, i).replace(/^\[|\]$/g, ""), remote.slice(i + 1)];
}
