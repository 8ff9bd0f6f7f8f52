/**
 * What a packet costs when it wakes an idle thread: the same work timed warm
 * (back to back) and right after the thread slept 50 ms in poll(2), the way
 * a ping every 50 ms finds the datapath.
 *
 *   deno bench -A --unstable-net bench/wake_bench.ts
 *
 * Why it matters: on this 2-CPU VM (`deno bench`, 2026-11-22) an FFI call
 * that does nothing took 9 ns warm and 8.7 µs as the first thing after the
 * sleep, an OpenSSL AES-256-GCM seal of 100 bytes 0.39 µs warm and 26 µs
 * after it, a small JS loop 2.0 µs and 6.0 µs (caches and TLB refilled after
 * the vCPU idled). Each wake pays this once per code path it touches, so a
 * process with a large footprint (V8, JIT code, FFI trampolines, OpenSSL)
 * pays more per sparse packet than OpenVPN's small C loop: it is most of the
 * added-RTT gap left in docs/performance.md.
 */

import { libc } from "../ffi/libc.ts";
import { PollSet } from "../ffi/poll_set.ts";
import { OpenSslAead } from "../src/data/aead_openssl.ts";

const SLEEP_MS = 50;
const polls = new PollSet(libc(), 1);
const aead = new OpenSslAead("AES-256-GCM", new Uint8Array(32));
const nonce = new Uint8Array(12);
const buf = new Uint8Array(256);
const js = new Uint8Array(4096);

/** A fixed amount of plain JS work over a 4 KiB array. */
function jsWork(): number {
  let x = 0;
  for (let i = 0; i < 2000; i++) {
    js[i & 4095] = (js[i & 4095] + i) & 0xff;
    x += js[(i * 7) & 4095];
  }
  return x;
}

const seal = () => aead.seal(nonce, buf, 0, 8, 8, 100, 108);
// abs(3): an FFI call that does no work of its own (no system call).
const tiny = Deno.dlopen("libc.so.6", { abs: { parameters: ["i32"], result: "i32" } });
const ffi = () => tiny.symbols.abs(-7);

const CASES: [string, () => unknown][] = [["FFI call (abs)", ffi], ["AES-256-GCM seal 100 B", seal], [
  "JS loop 2000 steps",
  jsWork,
]];

for (const [name, work] of CASES) {
  Deno.bench({ name: `${name}, warm`, group: name, baseline: true, fn: () => void work() });
  Deno.bench({
    name: `${name}, after ${SLEEP_MS} ms asleep`,
    group: name,
    n: 40,
    warmup: 5,
    fn: (b) => {
      polls.waitSync(SLEEP_MS);
      b.start();
      work();
      b.end();
    },
  });
}
