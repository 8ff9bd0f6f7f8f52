/**
 * The client's public shapes (client.ts): what a caller passes in
 * (ClientOptions, with the OS ports tests replace) and what it can watch
 * (ClientStatus, ClientEvents).
 */

import type { Clock } from "../control/clock.ts";
import type { NetConfig } from "../device/net_config.ts";
import type { PacketDevice } from "../device/packet_device.ts";
import type { Logger } from "../log/log.ts";
import type { ConnectionEnd } from "./connection.ts";
import type { openTransport, Resolver } from "./dial.ts";
import type { HostPlan } from "./host_plan_types.ts";
import type { AppliedPush } from "./push_apply.ts";

export interface ClientOptions {
  log: Logger;
  /** Host network configuration; default rtnetlink in the current namespace (closed at exit). */
  net?: NetConfig;
  /** Opens the tun or tap device (config dev.type); default ffi/tun.ts openTun. */
  openDevice?: (name: string, mtu: number) => PacketDevice;
  /** Where pull.dns resolv.conf writes. @default "/etc/resolv.conf" */
  resolvConfPath?: string;
  resolver?: Resolver;
  /** [0, 1); jitter and remote_random. @default Math.random */
  random?: () => number;
  /** From dialling a remote until its PUSH_REPLY. @default 30000 */
  handshakeTimeoutMs?: number;
  /** Until a remote's first answer. @default 10000 */
  firstResponseTimeoutMs?: number;
  /** Opens a remote's transport. @default dial.ts openTransport (ffi/udp.ts, Deno TCP) */
  openTransport?: typeof openTransport;
  /** For bypass-dhcp. @default lease files (dhcp_lease.ts) */
  dhcpServer?: () => Promise<string | null>;
  /**
   * Directory of the journal of host changes (host_journal.ts); null = none.
   * @default config.stateDir when the client changes the real host (no `net` given), else null
   */
  journalDir?: string | null;
  /** The datapath's clock (keepalive, ping-restart, dead peer). @default Date.now */
  now?: () => number;
  /** Timers for the wait between connection attempts (tests inject a manual clock). @default systemClock */
  retryClock?: Pick<Clock, "setTimer" | "clearTimer">;
}

export type ClientState = "starting" | "connecting" | "connected" | "waiting" | "stopping" | "stopped";

export interface ClientStatus {
  state: ClientState;
  /** "host:port" of the remote in use or being dialled. */
  remote: string | null;
  plan: HostPlan | null;
  /** Successful connections so far. */
  connects: number;
  lastError: string | null;
}

export type ClientEvents = {
  /** The push was applied (`changed`: false when a reconnect found nothing to change). */
  connected: (e: AppliedPush) => void;
  disconnected: (e: ConnectionEnd) => void;
  /** status.state changed. */
  state: (state: ClientState) => void;
};
