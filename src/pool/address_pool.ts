/**
 * Client address allocation over a `ServerLayout`, following OpenVPN's
 * ifconfig pool (pool.c):
 *
 * - each slot carries one IPv4 address (or /30 for net30) and one IPv6
 *   address; a slot remembers the name that last held it;
 * - `allocate(name)` returns that name's previous slot when free (so a client
 *   keeps its address across reconnects and, with `restore`, restarts);
 *   otherwise the free slot released longest ago (never-used slots first,
 *   lowest address on ties), taking over another name's memory if needed;
 * - static reservations (name → address, like a ccd `ifconfig-push`) are
 *   validated against the topology at construction; slots they cover are
 *   never handed out dynamically;
 * - a refusal is a result, not an exception: pool exhausted, name already
 *   connected (unless `duplicateNames`), static address in use.
 *
 * Slot ↔ address arithmetic: `slot_addresses.ts`; the checks on static
 * reservations: `static_reservations.ts`; the pool file: `pool_store.ts`.
 */

import { formatIpv4, formatIpv6 } from "../addr/ip.ts";
import type { NumericPrefix } from "../addr/prefix.ts";
import { leaseIfconfig } from "./lease_ifconfig.ts";
import { remoteIpv4, slotIpv4, slotIpv6, slotOfText } from "./slot_addresses.ts";
import { FreeSlotHeap } from "./free_slots.ts";
import {
  checkStaticFree,
  planStatics,
  type StaticAddress,
  type StaticReservation,
} from "./static_reservations.ts";
import type { ServerLayout } from "./topology.ts";
import type {
  AddressPoolOptions,
  AllocateResult,
  Lease,
  PoolSnapshot,
  PoolSnapshotEntry,
  PoolStatusEntry,
} from "./pool_types.ts";

export type { StaticAddress };
// The pool's value types live in pool_types.ts; callers keep importing them from here.
export type * from "./pool_types.ts";

interface StaticEntry {
  ipv4: number | null;
  ipv6: Uint32Array | null;
  slot: number;
  inUse: number;
}

export class AddressPool {
  readonly layout: ServerLayout;
  readonly #names: (string | null)[];
  readonly #inUse: Uint8Array;
  readonly #fixed: Uint8Array;
  readonly #released: Float64Array;
  /** Slots outside `range4`: never handed out dynamically nor restored. */
  readonly #outside: Uint8Array;
  readonly #statics = new Map<string, StaticEntry>();
  /** Sessions per name currently holding a lease. */
  readonly #active = new Map<string, number>();
  readonly #duplicateNames: boolean;
  readonly #clock: () => number;
  #inUseCount = 0;
  #changes = 0;
  /**
   * Free dynamic slots in the order #find takes them (released earliest, then lowest; duplicate_cn: lowest),
   * and the dynamic slots each name is remembered at: with these a new client costs O(log n), not a scan of
   * every slot (65,534 for a /16; docs/performance.md, "Swarm").
   */
  readonly #free = new FreeSlotHeap();
  readonly #slotsOfName = new Map<string, Set<number>>();
  readonly #isFree: (key: number, slot: number) => boolean;

  constructor(layout: ServerLayout, opts: AddressPoolOptions = {}) {
    this.layout = layout;
    const size = layout.poolSize;
    this.#names = new Array<string | null>(size).fill(null);
    this.#inUse = new Uint8Array(size);
    this.#fixed = new Uint8Array(size);
    this.#released = new Float64Array(size);
    this.#outside = rangeMask(layout, opts.range4);
    this.#duplicateNames = opts.duplicateNames ?? false;
    this.#clock = opts.clock ?? Date.now;
    for (const reservation of planStatics(layout, opts.statics ?? {})) this.#reserve(reservation);
    this.#isFree = (key, slot) =>
      this.#inUse[slot] === 0 && this.#fixed[slot] === 0 && this.#outside[slot] === 0 &&
      (this.#duplicateNames || this.#released[slot] === key);
    for (let slot = 0; slot < size; slot++) {
      if (this.#fixed[slot] === 0 && this.#outside[slot] === 0) this.#free.push(0, slot);
    }
  }

  /** Slots in the pool. */
  get capacity(): number {
    return this.layout.poolSize;
  }

  /** Leases currently held (dynamic and static). */
  get inUse(): number {
    return this.#inUseCount;
  }

  /** Increases whenever the remembered bindings change; save when it moved. */
  get changes(): number {
    return this.#changes;
  }

  /** Hands out an address for a connecting client. */
  allocate(name: string): AllocateResult {
    if (!this.#duplicateNames && (this.#active.get(name) ?? 0) > 0) {
      return { ok: false, reason: "name-in-use", message: `Client "${name}" is already connected` };
    }
    const st = this.#statics.get(name);
    if (st !== undefined) {
      if (st.inUse > 0) {
        return {
          ok: false,
          reason: "static-in-use",
          message: `Static address of "${name}" is in use by another session`,
        };
      }
      st.inUse++;
      this.#hold(name);
      return { ok: true, reused: true, lease: this.#staticLease(name, st) };
    }
    const slot = this.#find(name);
    if (slot < 0) {
      return {
        ok: false,
        reason: "exhausted",
        message: `Address pool exhausted: all ${this.capacity} addresses are in use or reserved`,
      };
    }
    const reused = this.#names[slot] === name;
    if (!reused) this.#changes++;
    this.#setName(slot, name);
    this.#inUse[slot] = 1;
    this.#hold(name);
    return { ok: true, reused, lease: this.#slotLease(name, slot) };
  }

  /** Returns a lease to the pool (its session ended); the name keeps its claim until another needs the slot. */
  release(lease: Lease): boolean {
    if (lease.fixed) {
      const st = this.#statics.get(lease.name);
      if (st === undefined || st.inUse === 0) return false;
      st.inUse--;
      this.#unhold(lease.name);
      return true;
    }
    const slot = lease.slot;
    if (slot < 0 || slot >= this.capacity || this.#inUse[slot] === 0 || this.#names[slot] !== lease.name) {
      return false;
    }
    this.#inUse[slot] = 0;
    this.#released[slot] = this.#clock();
    this.#pushFree(slot);
    this.#unhold(lease.name);
    return true;
  }

  /** The prefixes to route to a lease's session (/32 and /128 host routes). */
  routesFor(lease: Lease): NumericPrefix[] {
    const out: NumericPrefix[] = [];
    if (lease.ipv4 !== null) out.push({ family: 4, addr: lease.ipv4, bits: 32 });
    if (lease.ipv6 !== null) out.push({ family: 6, addr: lease.ipv6, bits: 128 });
    return out;
  }

  /**
   * The `ifconfig` / `ifconfig-ipv6` arguments to push, in OpenVPN's form:
   * subnet/tap "ADDR NETMASK", net30/p2p "LOCAL REMOTE", IPv6 "ADDR/BITS SERVER".
   */
  pushIfconfig(lease: Lease): { ifconfig: string | null; ifconfigIpv6: string | null } {
    return leaseIfconfig(this.layout, lease);
  }

  /** `pushIfconfig` as complete push lines ("ifconfig …", "ifconfig-ipv6 …"). */
  pushLines(lease: Lease): string[] {
    const { ifconfig, ifconfigIpv6 } = this.pushIfconfig(lease);
    const out: string[] = [];
    if (ifconfig !== null) out.push(`ifconfig ${ifconfig}`);
    if (ifconfigIpv6 !== null) out.push(`ifconfig-ipv6 ${ifconfigIpv6}`);
    return out;
  }

  /** Remembered dynamic bindings (in use or not), for persistence. Statics are configuration, not state. */
  snapshot(): PoolSnapshot {
    const leases: PoolSnapshotEntry[] = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      const name = this.#names[slot];
      if (name === null || this.#fixed[slot]) continue;
      const entry: PoolSnapshotEntry = { name };
      const v4 = slotIpv4(this.layout, slot);
      const v6 = slotIpv6(this.layout, slot);
      if (v4 !== null) entry.ipv4 = formatIpv4(v4);
      if (v6 !== null) entry.ipv6 = formatIpv6(v6);
      leases.push(entry);
    }
    return { version: 1, leases };
  }

  /**
   * Re-applies remembered bindings (e.g. at startup) so each name gets its old
   * address back. Entries that no longer fit the pool (other network, static
   * slot, taken) are skipped. Returns how many were applied and skipped.
   */
  restore(snapshot: PoolSnapshot): { applied: number; skipped: number } {
    let applied = 0;
    let skipped = 0;
    const now = this.#clock();
    const seen = new Set<string>();
    for (const entry of snapshot.leases) {
      const slot = slotOfText(this.layout, entry.ipv4, entry.ipv6);
      if (
        slot < 0 || this.#fixed[slot] || this.#outside[slot] || this.#inUse[slot] || seen.has(entry.name) ||
        this.#statics.has(entry.name)
      ) {
        skipped++;
        continue;
      }
      const owner = this.#names[slot];
      if (owner !== null && seen.has(owner)) {
        skipped++;
        continue;
      }
      seen.add(entry.name);
      this.#setName(slot, entry.name);
      this.#released[slot] = now;
      this.#pushFree(slot);
      applied++;
    }
    if (applied > 0) this.#changes++;
    return { applied, skipped };
  }

  /** Every remembered or static binding, for status output. */
  list(): PoolStatusEntry[] {
    const out: PoolStatusEntry[] = [];
    for (const [name, st] of this.#statics) {
      out.push({
        name,
        ipv4: st.ipv4 === null ? null : formatIpv4(st.ipv4),
        ipv6: st.ipv6 === null ? null : formatIpv6(st.ipv6),
        inUse: st.inUse > 0,
        fixed: true,
      });
    }
    for (let slot = 0; slot < this.capacity; slot++) {
      const name = this.#names[slot];
      if (name === null || this.#fixed[slot]) continue;
      const v4 = slotIpv4(this.layout, slot);
      const v6 = slotIpv6(this.layout, slot);
      out.push({
        name,
        ipv4: v4 === null ? null : formatIpv4(v4),
        ipv6: v6 === null ? null : formatIpv6(v6),
        inUse: this.#inUse[slot] === 1,
        fixed: false,
      });
    }
    return out;
  }

  /** The static reservation of `name` as text, or null. */
  staticOf(name: string): StaticAddress | null {
    const st = this.#statics.get(name);
    if (st === undefined) return null;
    const out: StaticAddress = {};
    if (st.ipv4 !== null) out.ipv4 = formatIpv4(st.ipv4);
    if (st.ipv6 !== null) out.ipv6 = formatIpv6(st.ipv6);
    return out;
  }

  /**
   * Replaces `name`'s static reservation (a reload, a client-config-dir or
   * client-connect `ifconfig-push`); null removes it. Throws a RangeError, and
   * changes nothing, when `name` holds its static lease now, or the address
   * does not fit the layout or is another name's static or live lease.
   */
  setStatic(name: string, spec: StaticAddress | null): void {
    const old = this.#statics.get(name);
    if (old !== undefined && old.inUse > 0) {
      throw new RangeError(`Static address of "${name}" is in use; release its lease first`);
    }
    const next = spec === null ? null : planStatics(this.layout, { [name]: spec })[0];
    if (next) checkStaticFree(next, this.#statics, this.#inUse, this.#names);
    if (old !== undefined) this.#unreserve(name);
    if (next) {
      for (const slot of [next.slot4, next.slot6]) {
        if (slot >= 0 && this.#names[slot] !== name) this.#changes++;
      }
      this.#reserve(next);
    }
  }

  /** Drops `name`'s reservation; its slots become dynamic, remembered for `name`. */
  #unreserve(name: string): void {
    this.#statics.delete(name);
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.#fixed[slot] && this.#names[slot] === name) {
        this.#fixed[slot] = 0;
        this.#released[slot] = this.#clock();
      }
    }
  }

  // -- Internals --

  /** OpenVPN's ifconfig_pool_find: the name's old slot (the lowest if several), else the free slot released earliest. */
  #find(name: string): number {
    if (!this.#duplicateNames) {
      let own = -1;
      for (const slot of this.#slotsOfName.get(name) ?? []) {
        const usable = this.#inUse[slot] === 0 && this.#fixed[slot] === 0 && this.#outside[slot] === 0;
        if (usable && (own < 0 || slot < own)) own = slot;
      }
      if (own >= 0) return own;
    }
    return this.#free.peek(this.#isFree);
  }

  /** Ranks a slot that just became free (duplicate_cn: by index alone). */
  #pushFree(slot: number): void {
    this.#free.push(this.#duplicateNames ? 0 : this.#released[slot], slot);
  }

  /** Remembers `name` at dynamic slot `slot`, forgetting the name it had. */
  #setName(slot: number, name: string): void {
    const old = this.#names[slot];
    if (old !== null) {
      const slots = this.#slotsOfName.get(old);
      slots?.delete(slot);
      if (slots?.size === 0) this.#slotsOfName.delete(old);
    }
    this.#names[slot] = name;
    let slots = this.#slotsOfName.get(name);
    if (slots === undefined) this.#slotsOfName.set(name, slots = new Set());
    slots.add(slot);
  }

  #hold(name: string): void {
    this.#active.set(name, (this.#active.get(name) ?? 0) + 1);
    this.#inUseCount++;
  }

  #unhold(name: string): void {
    const n = (this.#active.get(name) ?? 1) - 1;
    if (n <= 0) this.#active.delete(name);
    else this.#active.set(name, n);
    this.#inUseCount--;
  }

  /** Takes a static reservation's slots out of dynamic use. */
  #reserve(reservation: StaticReservation): void {
    const { name, slot4, slot6 } = reservation;
    for (const slot of [slot4, slot6]) {
      if (slot >= 0) {
        this.#fixed[slot] = 1;
        this.#names[slot] = name;
      }
    }
    const slot = slot4 >= 0 ? slot4 : slot6;
    this.#statics.set(name, { ipv4: reservation.ipv4, ipv6: reservation.ipv6, slot, inUse: 0 });
  }

  #slotLease(name: string, slot: number): Lease {
    const ipv4 = slotIpv4(this.layout, slot);
    const ipv4Remote = remoteIpv4(this.layout, ipv4);
    return { name, slot, fixed: false, ipv4, ipv4Remote, ipv6: slotIpv6(this.layout, slot) };
  }

  #staticLease(name: string, st: StaticEntry): Lease {
    const ipv4Remote = remoteIpv4(this.layout, st.ipv4);
    return { name, slot: st.slot, fixed: true, ipv4: st.ipv4, ipv4Remote, ipv6: st.ipv6 };
  }
}

/** 1 for each slot whose IPv4 client address lies outside `range` (all 0 without one). */
function rangeMask(layout: ServerLayout, range: { start: number; end: number } | undefined): Uint8Array {
  const mask = new Uint8Array(layout.poolSize);
  if (range === undefined) return mask;
  for (let slot = 0; slot < layout.poolSize; slot++) {
    const a = slotIpv4(layout, slot);
    if (a === null || a < range.start || a > range.end) mask[slot] = 1;
  }
  return mask;
}
