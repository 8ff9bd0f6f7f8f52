/**
 * One loop for both directions when the device and the socket are fds
 * (src/device/pollable.ts): drain each with synchronous calls and, when
 * neither has anything, block in one synchronous poll(2) over both. Why: an
 * async wait per batch is a hop through Deno's blocking thread pool, and
 * under a TCP stream those hops were most of the per-packet cost. Blocking
 * also blocks the event loop, hence slices with event-loop turns between
 * them (the constants below; their measurements are in docs/performance.md,
 * "The poll loop"). loops.ts picks this loop and hands it the JIT warm-up.
 *
 *   slice:  tryReceiveBatch(socket) → OutsidePipeline.process
 *           tryReadBatch(device) → InsidePipeline.process
 *           nothing? poll([device, socket], until slice end)
 *   between slices: setImmediate; every IO_TURN_MS a 1 ms async poll (Deno
 *   serves its own sockets); after IDLE_MS an async poll
 *
 * Each direction ends on its own (device or socket closed, its AbortSignal);
 * an error in one rejects that direction's promise only. A socket holder
 * (the client's reconnecting socket) is followed as its socket changes;
 * while that socket has no fd (TCP) both sides are awaited.
 */

import { setImmediate } from "node:timers";
import type { DatagramSocket, EndpointSlots } from "../device/datagram_socket.ts";
import {
  type DatagramSocketHolder,
  isSyncSocket,
  type Poller,
  type SyncDatagramSocket,
  type SyncPacketDevice,
} from "../device/pollable.ts";
import { type Datapath, HEADROOM } from "./datapath.ts";
import { PACE_MS, SocketPacer } from "./poll_pacing.ts";

/** What the loop needs of InsidePipeline (inside.ts), which passes itself in. */
export interface InsideBatch {
  readonly bufs: Uint8Array[];
  readonly sizes: Int32Array;
  process(count: number): void;
}

/** What the loop needs of OutsidePipeline (outside.ts). */
export interface OutsideBatch extends InsideBatch {
  readonly from: EndpointSlots;
}

/** Longest stretch the loop keeps the thread before an event loop turn while packets flow. */
export const SLICE_MS = 4;
/** Time without packets after which slices are QUIET_SLICE_MS long. */
export const QUIET_MS = 100;
/**
 * Slice length while no packets flow: the loop sleeps in poll(2) this long
 * between event loop turns, so a quiet tunnel wakes its thread ~20 times a
 * second instead of 250 (timers run up to this late meanwhile; control
 * packets end the slice at once).
 */
export const QUIET_SLICE_MS = 50;
/** Time without packets after which the loop waits asynchronously (an async wake costs a pool hop). */
export const IDLE_MS = 1000;
/** Period of the turns that let Deno poll its own sockets (a setImmediate turn does not). */
export const IO_TURN_MS = 25;
/** Timeout of those turns' async poll: long enough for the event loop to park. */
export const IO_TURN_WAIT_MS = 1;
/** Timeout of the async wait, bounding how late a close is noticed. */
export const ASYNC_POLL_MS = 200;

const SLOT_DEVICE = 0;
const SLOT_SOCKET = 1;

interface Direction {
  active: boolean;
  signal: AbortSignal | undefined;
  resolve: () => void;
  reject: (e: unknown) => void;
  done: Promise<void>;
}

function direction(signal: AbortSignal | undefined): Direction {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { active: true, signal, resolve, reject, done };
}

/** Runs once per loop run before its first slice (loops.ts hands it the JIT warm-up). */
export type LoopWarmUp = (dp: Datapath) => void;

export class PollLoop {
  readonly dp: Datapath;
  readonly #warmUp: LoopWarmUp | undefined;
  #inside: Direction | null = null;
  #outside: Direction | null = null;
  #insidePipe: InsideBatch | null = null;
  #outsidePipe: OutsideBatch | null = null;
  #running: Promise<void> | null = null;
  #polls: Poller | null = null;
  // The socket an async receive loop is serving (a holder's non-fd socket).
  #asyncSocket: DatagramSocket | null = null;
  // A holder's socket that failed a read; skipped until the holder moves on.
  #failed: DatagramSocket | null = null;
  /**
   * Slices run, sync polls, async waits, async-mode turns, I/O turns, and
   * slices ended early to hand a packet's work to the event loop, for tests
   * and benches.
   */
  readonly stats = { slices: 0, syncPolls: 0, asyncWaits: 0, asyncTurns: 0, ioTurns: 0, handoffs: 0 };
  /** Paces socket reads while junk floods the socket. */
  readonly pacer = new SocketPacer();
  // While paced: the last pass left both sources drained (short reads), so the loop sleeps at once
  // instead of first reading both again only to find them empty.
  #pacedAndDrained = false;

  /** `dp`'s device must be a SyncPacketDevice (loops.ts checks). */
  constructor(dp: Datapath, warmUp?: LoopWarmUp) {
    this.dp = dp;
    this.#warmUp = warmUp;
  }

  /** Serves the device → socket direction until the device closes or `signal` aborts. */
  runInside(pipe: InsideBatch, signal?: AbortSignal): Promise<void> {
    if (this.#inside !== null) throw new Error("The inside loop of this datapath is already running");
    this.#insidePipe = pipe;
    this.#inside = direction(signal);
    this.#start();
    return this.#inside.done;
  }

  /** Serves the socket → device direction until the socket closes or `signal` aborts. */
  runOutside(pipe: OutsideBatch, signal?: AbortSignal): Promise<void> {
    if (this.#outside !== null) throw new Error("The outside loop of this datapath is already running");
    this.#outsidePipe = pipe;
    this.#outside = direction(signal);
    this.#start();
    return this.#outside.done;
  }

  #start(): void {
    this.#running ??= this.#run().finally(() => {
      this.#running = null;
    });
  }

  #end(d: Direction | null, error?: unknown): void {
    if (d === null || !d.active) return;
    d.active = false;
    if (error === undefined) d.resolve();
    else d.reject(error);
  }

  get #insideActive(): boolean {
    return this.#inside !== null && this.#inside.active;
  }

  get #outsideActive(): boolean {
    return this.#outside !== null && this.#outside.active;
  }

  /** Ends directions whose source closed or whose signal aborted; true while any is active. */
  #check(device: SyncPacketDevice): boolean {
    const i = this.#inside;
    if (i !== null && i.active && (device.closed || i.signal?.aborted)) this.#end(i);
    const o = this.#outside;
    const socket = this.dp.socket as SyncDatagramSocket | DatagramSocketHolder;
    if (o !== null && o.active && (socket.closed || o.signal?.aborted)) this.#end(o);
    return this.#insideActive || this.#outsideActive;
  }

  /** The socket to read now: dp.socket, or a holder's current one (null between sockets). */
  #socket(): DatagramSocket | null {
    const s = this.dp.socket;
    if (isSyncSocket(s)) return s;
    const c = (s as DatagramSocketHolder).current;
    return c === this.#failed ? null : c;
  }

  /** A read from `socket` threw: the direction ends, or for a holder's socket only that socket is dropped. */
  #readFailed(socket: DatagramSocket, e: unknown): void {
    if (this.dp.socket === socket) this.#end(this.#outside, e);
    else this.#failed = socket;
  }

  async #run(): Promise<void> {
    // Let the other direction register before the first slice.
    await Promise.resolve();
    // Get the packet path optimized before real packets (warm_up.ts runs once per process).
    this.#warmUp?.(this.dp);
    const device = this.dp.device as SyncPacketDevice;
    const polls = this.#polls = device.openPoller(2);
    let lastPacket = performance.now();
    let lastIoTurn = lastPacket;
    const dp = this.dp;
    let handedBefore = dp.handoffs;
    try {
      for (;;) {
        if (!this.#check(device)) return;
        const current = this.#socket();
        if (current !== null && !isSyncSocket(current) && this.#outsideActive) {
          await this.#asyncTurn(device, current);
          continue;
        }
        const start = performance.now();
        let sliceEnd = start + (start - lastPacket >= QUIET_MS ? QUIET_SLICE_MS : SLICE_MS);
        let idle = false;
        this.stats.slices++;
        for (;;) {
          const socket = this.#syncSocket();
          const n = this.#pass(device, socket);
          if (!this.#check(device)) return;
          const t = performance.now();
          if (n > 0) {
            lastPacket = t;
            // Work for the event loop (a control packet, an exit): yield now.
            const handed = dp.handoffs;
            if (handed !== handedBefore) {
              handedBefore = handed;
              this.stats.handoffs++;
              break;
            }
            // Traffic resumed in a quiet slice: back to short slices.
            if (t + SLICE_MS < sliceEnd) sliceEnd = t + SLICE_MS;
          }
          if (t >= sliceEnd) break;
          if (n === 0 || this.#pacedAndDrained) {
            if (t - lastPacket >= IDLE_MS) {
              idle = true;
              break;
            }
            this.#sleep(device, socket, Math.max(1, Math.ceil(sliceEnd - t)), t);
          }
        }
        if (idle) {
          this.#watch(device, this.#syncSocket());
          this.stats.asyncWaits++;
          // lastPacket stays as it was: if the wake brought no packet the next
          // pass finds none and the loop goes straight back to waiting here,
          // rather than slicing synchronously (and delaying the event loop's
          // own I/O, e.g. the management interface) for another IDLE_MS.
          await polls.wait(ASYNC_POLL_MS);
          lastIoTurn = performance.now();
        } else if (performance.now() - lastIoTurn >= IO_TURN_MS) {
          this.stats.ioTurns++;
          this.#watch(device, this.#syncSocket());
          await polls.wait(IO_TURN_WAIT_MS);
          lastIoTurn = performance.now();
        } else {
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    } catch (e) {
      // Not from a pipeline (those are caught per direction): end both.
      this.#end(this.#inside, e);
      this.#end(this.#outside, e);
    } finally {
      this.#polls = null;
      polls.close();
    }
  }

  #syncSocket(): SyncDatagramSocket | null {
    const s = this.#socket();
    return s !== null && isSyncSocket(s) ? s : null;
  }

  /**
   * One turn while the socket has no fd (a holder's TCP socket): the device
   * is awaited asynchronously, the socket is served by `#receiveLoop`, as the
   * per-direction loops would. Returns when either made progress or the
   * socket changed.
   */
  async #asyncTurn(device: SyncPacketDevice, socket: DatagramSocket): Promise<void> {
    this.stats.asyncTurns++;
    if (this.#asyncSocket !== socket) {
      this.#asyncSocket = socket;
      this.#receiveLoop(socket);
    }
    this.#watch(device, null);
    await this.#polls!.wait(ASYNC_POLL_MS);
    this.#pass(device, null);
  }

  /** Receives from a non-fd socket until it stops being the current one, closes, or outside ends. */
  async #receiveLoop(socket: DatagramSocket): Promise<void> {
    const p = this.#outsidePipe!;
    try {
      while (this.#outsideActive && this.#socket() === socket) {
        const n = await socket.receiveBatch(p.bufs, p.sizes, p.from, 0);
        if (n === 0) break;
        if (!this.#outsideActive) break;
        p.process(n);
      }
    } catch (e) {
      this.#readFailed(socket, e);
    } finally {
      if (this.#asyncSocket === socket) this.#asyncSocket = null;
      // Let the main loop look at the holder again now.
      this.#polls?.wake();
    }
  }

  /**
   * Blocks in poll(2) until a source is readable or `timeoutMs` passes; while
   * junk floods the socket (poll_pacing.ts) only the device wakes it early and
   * the socket is read when the sleep ends, PACE_MS at most.
   */
  #sleep(device: SyncPacketDevice, socket: SyncDatagramSocket | null, timeoutMs: number, now: number): void {
    const paced = this.pacer.update(now, this.dp.rejected);
    this.#watch(device, paced ? null : socket);
    this.stats.syncPolls++;
    this.#polls!.waitSync(paced ? Math.min(PACE_MS, timeoutMs) : timeoutMs);
  }

  #watch(device: SyncPacketDevice, socket: SyncDatagramSocket | null): void {
    const polls = this.#polls!;
    polls.setFd(SLOT_DEVICE, this.#insideActive ? device.fd : -1);
    polls.setFd(SLOT_SOCKET, this.#outsideActive && socket !== null ? socket.fd : -1);
  }

  /** One batch from each active direction; returns the packets handled. */
  #pass(device: SyncPacketDevice, socket: SyncDatagramSocket | null): number {
    let n = 0;
    let full = false;
    const o = this.#outside;
    if (o !== null && o.active && socket !== null && socket.fd >= 0) {
      const p = this.#outsidePipe!;
      try {
        const k = socket.tryReceiveBatch(p.bufs, p.sizes, p.from, 0);
        if (k >= p.bufs.length) full = true;
        if (k > 0) {
          p.process(k);
          n += k;
        }
      } catch (e) {
        this.#readFailed(socket, e);
      }
    }
    const i = this.#inside;
    if (i !== null && i.active) {
      const p = this.#insidePipe!;
      try {
        const k = device.tryReadBatch(p.bufs, p.sizes, HEADROOM);
        if (k >= p.bufs.length) full = true;
        if (k > 0) {
          p.process(k);
          n += k;
        }
      } catch (e) {
        this.#end(i, e);
      }
    }
    this.#pacedAndDrained = this.pacer.paced && !full;
    return n;
  }
}
