/**
 * The address pool's values: leases, allocation results, options, and the
 * snapshot and status forms. Apart from address_pool.ts so the pool file holds
 * only the allocation logic; address_pool.ts re-exports them.
 */

import type { StaticAddress } from "./static_reservations.ts";

export interface Lease {
  readonly name: string;
  /** Pool slot, or -1 for a static address outside the dynamic range. */
  readonly slot: number;
  /** True for a static reservation. */
  readonly fixed: boolean;
  /** The client's IPv4 address (u32), or null. */
  readonly ipv4: number | null;
  /** net30: the server-side /30 endpoint; p2p: the server address; subnet/tap: null. */
  readonly ipv4Remote: number | null;
  /** The client's IPv6 address (4 words), or null. */
  readonly ipv6: Uint32Array | null;
}

export type AllocateRefusal = "exhausted" | "name-in-use" | "static-in-use";

export type AllocateResult =
  | {
    readonly ok: true;
    readonly lease: Lease; /** true if this is the address the name held before */
    readonly reused: boolean;
  }
  | { readonly ok: false; readonly reason: AllocateRefusal; readonly message: string };

export interface AddressPoolOptions {
  /** Static reservations by client name. */
  statics?: Record<string, StaticAddress>;
  /** Allow several sessions with the same name (OpenVPN's duplicate-cn); they never share an address. */
  duplicateNames?: boolean;
  /** Milliseconds clock for release ordering. @default Date.now */
  clock?: () => number;
  /**
   * The IPv4 client addresses (u32, inclusive) handed out dynamically
   * (OpenVPN's ifconfig-pool); slots outside are only for statics. @default the whole pool
   */
  range4?: { start: number; end: number };
}

/** One remembered name → address binding, as persisted. */
export interface PoolSnapshotEntry {
  name: string;
  ipv4?: string;
  ipv6?: string;
}

export interface PoolSnapshot {
  version: 1;
  leases: PoolSnapshotEntry[];
}

export interface PoolStatusEntry {
  readonly name: string;
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  readonly inUse: boolean;
  readonly fixed: boolean;
}
