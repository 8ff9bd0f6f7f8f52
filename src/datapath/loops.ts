/**
 * Which loop carries a datapath's packets. With an fd-backed device
 * (`SyncPacketDevice`) and an fd-backed socket or a socket holder, both
 * directions share one `PollLoop` (poll_loop.ts), handed the JIT warm-up
 * (warm_up.ts) over the device's loopback rig; otherwise (in-memory fakes,
 * Deno's own sockets) each direction awaits its source in its own loop.
 */

import { isSocketHolder, isSyncDevice, isSyncSocket, type SyncPacketDevice } from "../device/pollable.ts";
import { type Datapath, HEADROOM } from "./datapath.ts";
import { InsidePipeline } from "./inside.ts";
import { OutsidePipeline } from "./outside.ts";
import { PollLoop } from "./poll_loop.ts";
import { warmUpDatapath, warmUpProfile } from "./warm_up.ts";

/** True when `dp`'s device and socket (or socket holder) allow the single poll loop. */
export function pollLoopCapable(dp: Datapath): boolean {
  return isSyncDevice(dp.device) && (isSyncSocket(dp.socket) || isSocketHolder(dp.socket));
}

/** The JIT warm-up for `dp`, over rigs its device opens (skipped when it opens none). */
function warmUp(dp: Datapath): void {
  const device = dp.device as SyncPacketDevice;
  if (device.openLoopbackRig === undefined) return;
  warmUpDatapath(warmUpProfile(dp), (vnetHeader) => device.openLoopbackRig!(vnetHeader));
}

const loops = new WeakMap<Datapath, PollLoop>();

/** The shared loop of `dp` (created on first use). Callers check `pollLoopCapable` first. */
export function pollLoopFor(dp: Datapath): PollLoop {
  let l = loops.get(dp);
  if (l === undefined) {
    l = new PollLoop(dp, warmUp);
    loops.set(dp, l);
  }
  return l;
}

/**
 * Reads the device until it is closed (readBatch resolves 0) or `signal`
 * aborts, forwarding each batch. Resolves when the loop ends.
 */
export async function runInsideLoop(dp: Datapath, signal?: AbortSignal): Promise<void> {
  const pipe = new InsidePipeline(dp);
  if (pollLoopCapable(dp)) return await pollLoopFor(dp).runInside(pipe, signal);
  while (!signal?.aborted) {
    const n = await dp.device.readBatch(pipe.bufs, pipe.sizes, HEADROOM);
    if (n === 0 || signal?.aborted) break;
    pipe.process(n);
  }
}

/**
 * Receives from dp.socket until it is closed (receiveBatch resolves 0) or
 * `signal` aborts, handling each batch. Resolves when the loop ends.
 */
export async function runOutsideLoop(dp: Datapath, signal?: AbortSignal): Promise<void> {
  const pipe = new OutsidePipeline(dp);
  if (pollLoopCapable(dp)) return await pollLoopFor(dp).runOutside(pipe, signal);
  while (!signal?.aborted) {
    const n = await dp.socket.receiveBatch(pipe.bufs, pipe.sizes, pipe.from, 0);
    if (n === 0 || signal?.aborted) break;
    pipe.process(n);
  }
}
