/**
 * tun read+write round trip, in packets per second.
 *
 *     deno bench -A --unstable-net bench/tun_bench.ts      (as root)
 *
 * `deno bench` runs in the root namespace, which benches must not change, so
 * the device work runs in a child (this file with `--child`) inside a
 * throwaway namespace: a tun device with 10.77.0.1/24; the child writes
 * batches of ICMP echo requests from 10.77.0.2 to 10.77.0.1 into the device,
 * the kernel answers each one, and the child reads the replies back from the
 * device. One round trip = one write(2) + one read(2) of an 84-byte packet.
 * Two read styles are measured: `readBatch` (async; drains synchronously and
 * awaits poll readiness only when nothing is ready) and `tryReadBatch`
 * (never waits). The figures are printed before the Deno.bench table; the
 * Deno.bench entries cover the pure per-packet helpers.
 */

import { openNetlink } from "../ffi/netlink.ts";
import { openTun } from "../ffi/tun.ts";
import { ViewCache } from "../ffi/view_cache.ts";
import { cString, libc, O_CLOEXEC, O_RDWR } from "../ffi/libc.ts";
import { ipToBytes, parsePrefixText } from "../ffi/ip_bytes.ts";
import { encodeRoute } from "../ffi/netlink_route.ts";
import { echoReplyInPlace, ipv4, isEchoReply, writeEchoRequest4 } from "../tests/harness/echo.ts";
import { NetnsLab, parseLastJson, requireRoot } from "../tests/harness/netns.ts";

const OFF = 16;
const SECONDS = 1.5;

interface Figure {
  batch: number;
  mode: "readBatch" | "tryReadBatch";
  roundTrips: number;
  seconds: number;
  roundTripsPerSecond: number;
  packetsPerSecond: number;
}

/** Inside the namespace: run each (mode, batch) for SECONDS and report. */
async function child(): Promise<Figure[]> {
  using nl = openNetlink();
  using dev = openTun({ kind: "tun", name: "tsvbench0" });
  await nl.setLinkUp(dev.name, true);
  await nl.addAddress({ dev: dev.name, address: "10.77.0.1", prefixLen: 24 });
  const figures: Figure[] = [];
  for (const mode of ["readBatch", "tryReadBatch"] as const) {
    for (const batch of [1, 16, 64]) {
      const req = Array.from({ length: batch }, () => new Uint8Array(OFF + 2048));
      const lens = new Int32Array(batch);
      for (let i = 0; i < batch; i++) {
        lens[i] = writeEchoRequest4(req[i], OFF, ipv4("10.77.0.2"), ipv4("10.77.0.1"), 9, i, 56);
      }
      const bufs = Array.from({ length: batch }, () => new Uint8Array(OFF + 2048));
      const sizes = new Int32Array(batch);
      const round = async (): Promise<number> => {
        for (let i = 0; i < batch; i++) dev.write(req[i], OFF, lens[i]);
        let got = 0;
        for (let guard = 0; got < batch && guard < 10_000; guard++) {
          const n = mode === "readBatch"
            ? await dev.readBatch(bufs, sizes, OFF)
            : dev.tryReadBatch(bufs, sizes, OFF);
          for (let i = 0; i < n; i++) if (isEchoReply(bufs[i], OFF, sizes[i])) got++;
        }
        return got;
      };
      for (let i = 0; i < 2000 / batch; i++) await round();
      let roundTrips = 0;
      const t0 = performance.now();
      const end = t0 + SECONDS * 1000;
      while (performance.now() < end) {
        for (let k = 0; k < 20; k++) roundTrips += await round();
      }
      const seconds = (performance.now() - t0) / 1000;
      figures.push({
        batch,
        mode,
        roundTrips,
        seconds,
        roundTripsPerSecond: roundTrips / seconds,
        packetsPerSecond: (2 * roundTrips) / seconds,
      });
    }
  }
  return figures;
}

async function measureInNamespace(): Promise<void> {
  const root = requireRoot();
  if (root.ignore) {
    console.log(`tun round trip: skipped (${root.reason})`);
    return;
  }
  let figures: Figure[];
  {
    await using lab = new NetnsLab();
    const ns = await lab.addNamespace("bench");
    const out = await lab.runDeno(ns, new URL(import.meta.url).pathname, ["--child"], { timeoutMs: 120_000 });
    figures = parseLastJson<Figure[]>(out.stdout);
  }
  const k = (n: number) => `${(n / 1000).toFixed(0)}k`;
  console.log("tun round trip (write echo request → kernel replies → read reply), 84-byte packets:");
  for (const f of figures) {
    console.log(
      `  ${f.mode.padEnd(12)} batch ${String(f.batch).padStart(2)}: ${
        k(f.roundTripsPerSecond).padStart(5)
      } round trips/s` +
        ` = ${k(f.packetsPerSecond).padStart(5)} packets/s through the device (${f.roundTrips} in ${
          f.seconds.toFixed(2)
        } s)`,
    );
  }
}

if (import.meta.main && Deno.args[0] === "--child") {
  console.log(JSON.stringify(await child()));
} else {
  await measureInNamespace();

  const pkt = new Uint8Array(OFF + 2048);
  const len = writeEchoRequest4(pkt, OFF, ipv4("10.77.0.2"), ipv4("10.77.0.1"), 1, 1, 56);
  Deno.bench("echoReplyInPlace() on an 84-byte IPv4 echo request (twice: request → reply → request)", () => {
    echoReplyInPlace(pkt, OFF, len);
    pkt[OFF + 20] = 8; // back to a request (checksum then off by one step; fine for timing)
    echoReplyInPlace(pkt, OFF, len);
    pkt[OFF + 20] = 8;
  });

  const cache = new ViewCache();
  const slots = Array.from({ length: 64 }, () => new Uint8Array(2048));
  let i = 0;
  Deno.bench("ViewCache.at() for a warm (buffer, offset) pair", () => {
    cache.at(slots[i++ & 63], OFF);
  });

  // How an FFI `buffer` argument at an offset is passed (write(2) of 84 bytes to /dev/null):
  // see ffi/README.md for the heap cost of each; these show the time.
  const lib = libc();
  const devNull = lib.open(cString("/dev/null"), O_RDWR | O_CLOEXEC, 0);
  const views = new ViewCache();
  const slot = new Uint8Array(OFF + 2048);
  Deno.bench("write(2) via FFI, cached (buffer, offset) view", { group: "ffi-write", baseline: true }, () => {
    lib.write(devNull, views.at(slot, OFF), 84);
  });
  Deno.bench("write(2) via FFI, fresh subarray per call", { group: "ffi-write" }, () => {
    lib.write(devNull, slot.subarray(OFF), 84);
  });
  Deno.bench("write(2) via FFI, whole buffer (offset 0)", { group: "ffi-write" }, () => {
    lib.write(devNull, slot, 84);
  });

  const dst = parsePrefixText("10.9.0.0/24")!;
  const gw = ipToBytes("10.1.1.1")!;
  Deno.bench("encodeRoute() for a route with gateway and metric", () => {
    encodeRoute(1, "add", { dst, gateway: gw, oif: 3, metric: 10 });
  });
}
