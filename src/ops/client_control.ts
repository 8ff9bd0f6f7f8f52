/**
 * What the client's management interface needs from a running client
 * (src/client/client_management.ts implements it): OpenVPN's `state` lines,
 * its client `status` figures, a JSON snapshot for `tsvpn status --json`, and
 * signals. Plain data, so the commands are tested without a client.
 */

/** `tsvpn status --json` of a client. */
export interface ClientSnapshot {
  version: string;
  mode: "client";
  pid: number;
  /** tsvpn's state: starting, connecting, connected, waiting, stopping, stopped. */
  state: string;
  /** "host:port" of the remote in use or being dialled. */
  remote: string | null;
  address: string | null;
  address6: string | null;
  /** Connections that got a working tunnel. */
  connects: number;
  lastError: string | null;
  /** Plaintext bytes from and to the tunnel device, and bytes on the wire (OpenVPN's four counters). */
  tunReadBytes: number;
  tunWriteBytes: number;
  linkReadBytes: number;
  linkWriteBytes: number;
  /** Data-channel drops by reason. */
  drops: Record<string, number>;
  /** Mesh pairs (server.mesh): each peer and its path. */
  meshPeers: { peer: string; path: "direct" | "relayed"; endpoint: string | null }[];
}

export type ClientSignal = "SIGHUP" | "SIGTERM" | "SIGUSR1" | "SIGUSR2";

export interface ClientControl {
  snapshot(): ClientSnapshot;
  /** OpenVPN `state` lines, oldest first; `n` newest only (absent: all). */
  stateLines(n?: number): string[];
  signal(signal: ClientSignal): void;
}
