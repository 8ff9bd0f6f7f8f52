/**
 * What startServer (server.ts) takes and gives: the OS ports and clocks a
 * caller may replace (tests, the lab), and the handle of a running server.
 */

import type { Clock } from "../control/clock.ts";
import type { Datapath } from "../datapath/datapath.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import type { ClientAuthGate } from "../ops/client_auth_gate.ts";
import type { MetricsSource } from "../ops/metric_family.ts";
import type { ServerControl } from "../ops/server_control.ts";
import type { OpenUdpSocket } from "./server_transport.ts";

/** The server's OS ports and clocks; each defaults to the real one. */
export interface ServerOptions {
  log: Logger;
  /** Host network configuration; default: rtnetlink in the current namespace. Closed at stop. */
  net?: NetConfig;
  /** Opens the tun/tap device; default: ffi/tun.ts openTun. */
  openDevice?: (kind: "tun" | "tap", name: string, mtu: number) => PacketDevice;
  /** Opens the UDP socket (listen.proto udp); default: ffi/udp.ts. TCP listens through Deno (tcp_socket.ts). */
  openSocket?: OpenUdpSocket;
  /** Milliseconds since the epoch (datapath, pool, status). @default Date.now */
  now?: () => number;
  /** Time and timers of the control channel (sessions, the listener's rate limits). @default systemClock */
  clock?: Clock;
  /** Seconds between CRL file checks (a changed CRL disconnects revoked clients at once). @default 1 */
  crlCheckSeconds?: number;
  /** The configuration file, re-read by reload() (SIGHUP, management `reload`); none: reload refuses. */
  configPath?: string;
}

export interface ServerHandle {
  readonly control: ServerControl;
  /** What /metrics serves (src/ops/metrics_http.ts). */
  readonly metrics: MetricsSource;
  /** Logs the client count, non-zero drop counters and datapath statistics. */
  logStatus(): void;
  readonly datapath: Datapath;
  readonly device: PacketDevice;
  /** The bound UDP/TCP port. */
  readonly localPort: number;
  /** The server's own tunnel addresses ("" when the family is not configured): management `state`. */
  readonly tunAddress: { ipv4: string; ipv6: string };
  /** Resolves once the server stopped (by stop() or a fatal loop error). */
  readonly done: Promise<void>;
  /** Stops the server as on SIGTERM; resolves when everything is cleaned up. Safe to call twice. */
  stop(reason?: string): Promise<void>;
  /** Connects the external authenticator (management.client_auth); clients wait for it until then. */
  attachClientAuth(gate: ClientAuthGate): void;
}
