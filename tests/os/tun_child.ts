/**
 * Device work for tests/os/*_test.ts, run inside a test namespace by the
 * harness: `deno run -A tun_child.ts <scenario> [args]`. Each scenario does
 * its work, cleans up, and prints one JSON line as the last line of stdout;
 * the test asserts on it. Scenarios never touch anything outside the
 * namespace they run in.
 */

import { openNetlink } from "../../ffi/netlink.ts";
import { openTun, type TunDevice } from "../../ffi/tun.ts";
import {
  answerFrameInPlace,
  echoReplyInPlace,
  ipv4,
  isEchoReply,
  writeEchoRequest4,
} from "../harness/echo.ts";
import { pause } from "../../src/testing/wait.ts";

const decoder = new TextDecoder();

async function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

async function ipJson(args: string[]): Promise<unknown> {
  const r = await run("ip", ["-j", ...args]);
  return r.code === 0 ? JSON.parse(r.stdout || "[]") : { error: r.stderr.trim() };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Answers echo requests (tun) or ARP + echo requests (tap) read from `dev`
 * until `done` settles or `limitMs` passes. Returns packet counts.
 */
async function respond(
  dev: TunDevice,
  done: Promise<unknown>,
  limitMs: number,
  tap?: { mac: Uint8Array; ip: number },
): Promise<{ read: number; written: number; replies: number }> {
  const OFF = 16;
  const bufs = Array.from({ length: 32 }, () => new Uint8Array(OFF + 2048));
  const sizes = new Int32Array(bufs.length);
  let finished = false;
  done.finally(() => finished = true);
  const deadline = Date.now() + limitMs;
  const timer = setTimeout(() => dev.close(), limitMs);
  const stats = { read: 0, written: 0, replies: 0 };
  try {
    while (!finished && Date.now() < deadline) {
      const n = await Promise.race([dev.readBatch(bufs, sizes, OFF), done.then(() => -1)]);
      if (n <= 0) break;
      stats.read += n;
      for (let i = 0; i < n; i++) {
        const len = tap
          ? answerFrameInPlace(bufs[i], OFF, sizes[i], tap.mac, tap.ip)
          : (echoReplyInPlace(bufs[i], OFF, sizes[i]) ? sizes[i] : 0);
        if (len > 0) {
          stats.replies++;
          if (dev.write(bufs[i], OFF, len)) stats.written++;
        }
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return stats;
}

const scenarios: Record<string, (args: string[]) => Promise<unknown>> = {
  /** Create a tun, configure it through netlink, report what `ip` sees, close, report again. */
  async "tun-config"() {
    using nl = openNetlink();
    const dev = openTun({ kind: "tun", name: "tsvcfg0" });
    const before = { name: dev.name, kind: dev.kind, index: dev.index, fd: dev.fd };
    await nl.setLinkUp("tsvcfg0", true);
    await nl.setMtu("tsvcfg0", 1400);
    await nl.addAddress({ dev: "tsvcfg0", address: "10.77.0.1", prefixLen: 24 });
    await nl.addAddress({ dev: "tsvcfg0", address: "10.76.0.1", prefixLen: 32, peer: "10.76.0.2" });
    await nl.addAddress({ dev: "tsvcfg0", address: "fd00:77::1", prefixLen: 64 });
    await nl.addRoute({ dst: "10.78.0.0/24", dev: "tsvcfg0", metric: 10 });
    await nl.addRoute({ dst: "10.79.0.0/24", gateway: "10.77.0.2", src: "10.77.0.1" });
    await nl.addRoute({ dst: "fd00:78::/64", gateway: "fd00:77::2", dev: "tsvcfg0", metric: 5 });
    const seen = {
      link: await nl.linkByName("tsvcfg0"),
      devMtu: dev.mtu,
      addresses: await nl.listAddresses("tsvcfg0"),
      routes4: (await nl.listRoutes(4)).filter((r) => r.table === 254),
      routes6: (await nl.listRoutes(6)).filter((r) => r.table === 254),
      get4: await nl.routeGet("10.79.0.9"),
      get6: await nl.routeGet("fd00:78::9"),
      ipAddr: await ipJson(["addr", "show", "dev", "tsvcfg0"]),
      ipRoute4: await ipJson(["route", "show"]),
      ipRoute6: await ipJson(["-6", "route", "show"]),
    };
    await nl.delRoute({ dst: "10.79.0.0/24", gateway: "10.77.0.2" });
    await nl.delAddress({ dev: "tsvcfg0", address: "10.76.0.1", prefixLen: 32, peer: "10.76.0.2" });
    const afterDelete = {
      ipAddr: await ipJson(["addr", "show", "dev", "tsvcfg0"]),
      ipRoute4: await ipJson(["route", "show"]),
    };
    dev.close();
    const linkAfterClose = await run("ip", ["link", "show", "tsvcfg0"]);
    // A readBatch pending on an idle (down) device must end when the device closes.
    const idle = openTun({ kind: "tun", name: "tsvidle0" });
    const pending = idle.readBatch([new Uint8Array(2048)], new Int32Array(1), 0);
    await pause(50); // part of the scenario: the read is blocked in poll(2) when close() comes
    const t0 = performance.now();
    idle.close();
    const pendingResult = await pending;
    const closeMs = performance.now() - t0;
    return {
      before,
      seen,
      afterDelete,
      pendingResult,
      closeMs,
      fdAfterClose: dev.fd,
      linkAfterClose,
      idleAfterClose: await run("ip", ["link", "show", "tsvidle0"]),
    };
  },

  /** ping an address routed into a tun; this script answers from the device. */
  async "tun-ping"([family]) {
    using nl = openNetlink();
    using dev = openTun({ kind: "tun", name: "tsvping0", mtu: 1420 });
    await nl.setLinkUp(dev.name, true);
    const v6 = family === "6";
    await nl.addAddress(
      v6
        ? { dev: dev.name, address: "fd00:77::1", prefixLen: 64 }
        : { dev: dev.name, address: "10.77.0.1", prefixLen: 24 },
    );
    const target = v6 ? "fd00:77::2" : "10.77.0.2";
    const ping = run("ping", [v6 ? "-6" : "-4", "-c", "3", "-i", "0.2", "-W", "2", "-n", target]);
    const stats = await respond(dev, ping, 10_000);
    const p = await ping;
    return { name: dev.name, mtu: dev.mtu, pingCode: p.code, pingOut: p.stdout, ...stats };
  },

  /** ping through a tap: this script answers ARP and echo requests as 10.88.0.2. */
  async "tap-ping"() {
    using nl = openNetlink();
    using dev = openTun({ kind: "tap", name: "tsvtap0" });
    await nl.setLinkUp(dev.name, true);
    await nl.addAddress({ dev: dev.name, address: "10.88.0.1", prefixLen: 24 });
    const mac = new Uint8Array([0x02, 0x54, 0x53, 0x56, 0x00, 0x02]);
    const ping = run("ping", ["-4", "-c", "3", "-i", "0.2", "-W", "2", "-n", "10.88.0.2"]);
    const stats = await respond(dev, ping, 10_000, { mac, ip: ipv4("10.88.0.2") });
    const p = await ping;
    const neigh = await ipJson(["neigh", "show", "dev", dev.name]);
    return { name: dev.name, kind: dev.kind, pingCode: p.code, pingOut: p.stdout, neigh, ...stats };
  },

  /** A kernel-chosen name, multi-queue attach, and removal when the last queue closes. */
  async "tun-queues"() {
    const auto = openTun({ kind: "tun" });
    const autoName = auto.name;
    auto.close();
    const q1 = openTun({ kind: "tap", name: "tsvmq0", multiQueue: true });
    const q2 = openTun({ kind: "tap", name: "tsvmq0", multiQueue: true });
    let mismatch = "";
    try {
      openTun({ kind: "tap", name: "tsvmq0" }).close();
    } catch (e) {
      mismatch = errorText(e);
    }
    q1.close();
    const afterFirst = await run("ip", ["link", "show", "tsvmq0"]);
    q2.close();
    const afterSecond = await run("ip", ["link", "show", "tsvmq0"]);
    const autoGone = await run("ip", ["link", "show", autoName]);
    return {
      autoName,
      autoGoneCode: autoGone.code,
      sameIndex: q1.index === q2.index,
      mismatch,
      afterFirstCode: afterFirst.code,
      afterSecondCode: afterSecond.code,
    };
  },

  /** Error texts from openTun and a closed device. */
  async "tun-errors"() {
    const out: Record<string, string> = {};
    const attempt = (key: string, f: () => unknown) => {
      try {
        f();
        out[key] = "no error";
      } catch (e) {
        out[key] = errorText(e);
      }
    };
    attempt("longName", () => openTun({ kind: "tun", name: "tsv-this-is-too-long" }));
    attempt("notTunName", () => openTun({ kind: "tap", name: "lo" }));
    attempt("closedWrite", () => {
      const d = openTun({ kind: "tun" });
      d.close();
      d.write(new Uint8Array(64), 0, 28);
    });
    const down = openTun({ kind: "tun", name: "tsvdown0" });
    const pkt = new Uint8Array(64);
    const len = writeEchoRequest4(pkt, 0, ipv4("10.5.0.2"), ipv4("10.5.0.1"), 1, 1, 8);
    const downWrite = down.write(pkt, 0, len);
    const downErrno = down.lastWriteErrno;
    down.close();
    // Deleted from outside while a readBatch waits: the read and later writes fail clearly.
    const doomed = openTun({ kind: "tun", name: "tsvdel0" });
    const waiting = doomed.readBatch([new Uint8Array(2048)], new Int32Array(1), 0)
      .then((n) => `resolved ${n}`, (e) => errorText(e));
    await pause(50); // part of the scenario: the read is blocked in poll(2) when the link goes
    await run("ip", ["link", "del", "tsvdel0"]);
    const deletedRead = await waiting;
    attempt("deletedWrite", () => doomed.write(pkt, 0, len));
    doomed.close();
    return { ...out, downWrite, downErrno, deletedRead };
  },

  /** Error texts for kernel-rejected netlink requests. */
  async "netlink-errors"() {
    const out: Record<string, string> = {};
    const attempt = async (key: string, f: () => Promise<unknown>) => {
      try {
        await f();
        out[key] = "no error";
      } catch (e) {
        out[key] = errorText(e);
      }
    };
    using nl = openNetlink();
    using dev = openTun({ kind: "tun", name: "tsverr0" });
    await nl.setLinkUp(dev.name, true);
    await nl.addAddress({ dev: dev.name, address: "10.1.1.2", prefixLen: 32 });
    await attempt("unreachableGateway", () => nl.addRoute({ dst: "10.9.0.0/24", gateway: "10.1.1.1" }));
    await attempt(
      "duplicateAddress",
      () => nl.addAddress({ dev: dev.name, address: "10.1.1.2", prefixLen: 32 }),
    );
    await attempt(
      "missingAddress",
      () => nl.delAddress({ dev: dev.name, address: "10.1.1.3", prefixLen: 32 }),
    );
    await attempt("missingRoute", () => nl.delRoute({ dst: "10.66.0.0/16" }));
    await attempt("missingLink", () => nl.setLinkUp("tsvnone0", true));
    await attempt("badMtu", () => nl.setMtu(dev.name, 20));
    await attempt("noRoute", () => nl.routeGet("192.0.2.1"));
    return out;
  },

  /** Run without CAP_NET_ADMIN (the test drops it): opening and configuring must fail clearly. */
  async "no-permission"() {
    const out: Record<string, string> = {};
    try {
      openTun({ kind: "tun", name: "tsvperm0" }).close();
      out.open = "no error";
    } catch (e) {
      out.open = errorText(e);
    }
    using nl = openNetlink();
    try {
      await nl.setLinkUp("lo", false);
      out.netlink = "no error";
    } catch (e) {
      out.netlink = errorText(e);
    }
    out.readOnly = (await nl.linkByName("lo")).name;
    return out;
  },

  /**
   * Heap growth per packet on the write and read paths. Run with a large
   * young generation (--min/max-semi-space-size) so no scavenge hides
   * allocations inside the measured window.
   */
  async "alloc"() {
    using nl = openNetlink();
    using dev = openTun({ kind: "tun", name: "tsvalloc0" });
    await nl.setLinkUp(dev.name, true);
    await nl.addAddress({ dev: dev.name, address: "10.77.0.1", prefixLen: 24 });
    const OFF = 16;
    const BATCH = 32;
    const bufs = Array.from({ length: BATCH }, () => new Uint8Array(OFF + 2048));
    const sizes = new Int32Array(BATCH);
    const req = Array.from({ length: BATCH }, () => new Uint8Array(OFF + 2048));
    const lens = new Int32Array(BATCH);
    for (let i = 0; i < BATCH; i++) {
      lens[i] = writeEchoRequest4(req[i], OFF, ipv4("10.77.0.2"), ipv4("10.77.0.1"), 7, i, 56);
    }
    const roundTrip = async (): Promise<number> => {
      for (let i = 0; i < BATCH; i++) dev.write(req[i], OFF, lens[i]);
      let got = 0;
      let guard = 0;
      while (got < BATCH && guard++ < 1000) {
        const n = await dev.readBatch(bufs, sizes, OFF);
        for (let i = 0; i < n; i++) if (isEchoReply(bufs[i], OFF, sizes[i])) got++;
      }
      return got;
    };
    const writeOnly = (count: number) => {
      // The kernel's replies queue on the device and overflow harmlessly.
      for (let i = 0; i < count; i++) dev.write(req[i & (BATCH - 1)], OFF, lens[i & (BATCH - 1)]);
    };
    for (let i = 0; i < 300; i++) await roundTrip();
    writeOnly(20_000);
    await pause(100); // measurement hygiene: let the kernel answer the burst, then drain it
    while (dev.tryReadBatch(bufs, sizes, OFF) > 0) {
      // Drain the replies to the write-only burst.
    }
    const WRITES = 100_000;
    let h0 = Deno.memoryUsage().heapUsed;
    writeOnly(WRITES);
    const writeBytesPerPacket = (Deno.memoryUsage().heapUsed - h0) / WRITES;
    await pause(100); // measurement hygiene: let the kernel answer the burst, then drain it
    while (dev.tryReadBatch(bufs, sizes, OFF) > 0) {
      // Drain the replies to the write-only burst.
    }
    const syncRound = (): number => {
      for (let i = 0; i < BATCH; i++) dev.write(req[i], OFF, lens[i]);
      let got = 0;
      for (let k = 0; k < 8 && got < BATCH; k++) {
        const n = dev.tryReadBatch(bufs, sizes, OFF);
        for (let i = 0; i < n; i++) if (isEchoReply(bufs[i], OFF, sizes[i])) got++;
      }
      return got;
    };
    for (let r = 0; r < 300; r++) syncRound();
    const SYNC_ROUNDS = 2000;
    let syncReplies = 0;
    h0 = Deno.memoryUsage().heapUsed;
    for (let r = 0; r < SYNC_ROUNDS; r++) syncReplies += syncRound();
    const syncBytes = Deno.memoryUsage().heapUsed - h0;
    await pause(50); // measurement hygiene: let late replies arrive, then drain them
    while (dev.tryReadBatch(bufs, sizes, OFF) > 0) {
      // Drain stragglers.
    }
    const ROUNDS = 1000;
    let replies = 0;
    h0 = Deno.memoryUsage().heapUsed;
    for (let r = 0; r < ROUNDS; r++) replies += await roundTrip();
    const roundTripBytes = Deno.memoryUsage().heapUsed - h0;
    return {
      writeBytesPerPacket,
      syncReplies,
      syncBytesPerPacket: syncBytes / (SYNC_ROUNDS * BATCH + syncReplies),
      replies,
      roundTripBytesPerPacket: roundTripBytes / (ROUNDS * BATCH * 2),
      roundTripBytesPerBatch: roundTripBytes / ROUNDS,
    };
  },
};

if (import.meta.main) {
  const [name, ...args] = Deno.args;
  const scenario = scenarios[name];
  if (!scenario) {
    console.error(`Unknown scenario "${name}"; one of: ${Object.keys(scenarios).join(", ")}`);
    Deno.exit(2);
  }
  try {
    console.log(JSON.stringify(await scenario(args)));
  } catch (e) {
    console.log(JSON.stringify({ error: e instanceof Error ? e.stack ?? e.message : String(e) }));
    Deno.exit(1);
  }
}
