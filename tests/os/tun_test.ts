// Real-kernel tests of ffi/tun.ts. Device work happens in tun_child.ts, run
// inside a namespace each test creates; the test process stays in the root
// namespace and only asserts on the child's JSON report.
import assert from "node:assert/strict";
import { NetnsLab, parseLastJson, requireRoot } from "../harness/netns.ts";

const CHILD = new URL("./tun_child.ts", import.meta.url).pathname;
const { ignore } = requireRoot();

async function inNamespace<T>(
  args: string[],
  options: { v8Flags?: string[]; prefix?: string[] } = {},
): Promise<T> {
  await using lab = new NetnsLab();
  const ns = await lab.addNamespace("tun");
  const out = options.prefix
    ? await lab.exec(ns, [...options.prefix, Deno.execPath(), "run", "-A", CHILD, ...args], { check: false })
    : await lab.runDeno(ns, CHILD, args, { v8Flags: options.v8Flags, check: false });
  const result = parseLastJson<T & { error?: string }>(out.stdout);
  if (result.error) throw new Error(`Child failed: ${result.error}\n${out.stderr}`);
  return result;
}

interface PingReport {
  name: string;
  mtu: number;
  pingCode: number;
  pingOut: string;
  read: number;
  written: number;
  replies: number;
}

Deno.test({
  name: "openTun() tun: ping to a routed IPv4 address is answered by echo replies written to the device",
  ignore,
  async fn() {
    const r = await inNamespace<PingReport>(["tun-ping", "4"]);
    assert.equal(r.name, "tsvping0");
    assert.equal(r.mtu, 1420);
    assert.equal(r.pingCode, 0, r.pingOut);
    assert.match(r.pingOut, /3 packets transmitted, 3 received/);
    assert.equal(r.replies, 3);
    assert.equal(r.written, 3);
    assert.ok(r.read >= 3);
  },
});

Deno.test({
  name: "openTun() tun: ping over IPv6 is answered through the device",
  ignore,
  async fn() {
    const r = await inNamespace<PingReport>(["tun-ping", "6"]);
    assert.equal(r.pingCode, 0, r.pingOut);
    assert.match(r.pingOut, /3 packets transmitted, 3 received/);
    assert.equal(r.written, 3);
  },
});

Deno.test({
  name: "openTun() tap: ARP and ICMP in Ethernet frames are answered through the device",
  ignore,
  async fn() {
    const r = await inNamespace<PingReport & { kind: string; neigh: { dst: string; lladdr: string }[] }>([
      "tap-ping",
    ]);
    assert.equal(r.kind, "tap");
    assert.equal(r.pingCode, 0, r.pingOut);
    assert.match(r.pingOut, /3 packets transmitted, 3 received/);
    // One ARP reply plus three echo replies.
    assert.equal(r.written, 4);
    assert.deepEqual(r.neigh.map((n) => [n.dst, n.lladdr]), [["10.88.0.2", "02:54:53:56:00:02"]]);
  },
});

Deno.test({
  name: "openTun() picks a kernel name, attaches multi-queue queues, and the device goes with its last queue",
  ignore,
  async fn() {
    const r = await inNamespace<Record<string, unknown>>(["tun-queues"]);
    assert.equal(r.autoName, "tun0");
    assert.equal(r.autoGoneCode, 1);
    assert.equal(r.sameIndex, true);
    assert.equal(
      r.mismatch,
      "ioctl TUNSETIFF tsvmq0: Invalid argument (a device with this name exists and is not a tap device in the same queue mode)",
    );
    assert.equal(r.afterFirstCode, 0);
    assert.equal(r.afterSecondCode, 1);
  },
});

Deno.test({
  name: "openTun(), readBatch() and write() report bad names, closed and deleted devices clearly",
  ignore,
  async fn() {
    const r = await inNamespace<Record<string, unknown>>(["tun-errors"]);
    assert.equal(r.longName, 'Interface name "tsv-this-is-too-long" is too long (20 bytes, at most 15)');
    assert.match(
      String(r.notTunName),
      /^ioctl TUNSETIFF lo: Invalid argument \(a device with this name exists/,
    );
    assert.equal(r.closedWrite, "write tun0: device is closed");
    // A packet written to a down device is dropped (EIO), not thrown.
    assert.equal(r.downWrite, false);
    assert.equal(r.downErrno, 5);
    assert.equal(r.deletedRead, "read tsvdel0: File descriptor in bad state (the device was deleted)");
    assert.equal(r.deletedWrite, "write tsvdel0: File descriptor in bad state (the device was deleted)");
  },
});

Deno.test({
  name: "openTun() without CAP_NET_ADMIN fails naming the ioctl and the fix",
  ignore,
  async fn() {
    const r = await inNamespace<Record<string, string>>(["no-permission"], {
      prefix: ["setpriv", "--inh-caps=-all", "--bounding-set=-net_admin"],
    });
    assert.equal(
      r.open,
      "ioctl TUNSETIFF tsvperm0: Operation not permitted (run as root or grant CAP_NET_ADMIN)",
    );
    assert.equal(r.netlink, "set link lo down: Operation not permitted (run as root or grant CAP_NET_ADMIN)");
    assert.equal(r.readOnly, "lo");
  },
});

Deno.test({
  name: "TunDevice.write() and the read drain allocate nothing per packet",
  ignore,
  async fn() {
    // A 128 MB young generation keeps the scavenger away during the measured loops,
    // so heapUsed growth is the allocation. A subarray per call would be ~100 bytes.
    const r = await inNamespace<Record<string, number>>(["alloc"], {
      v8Flags: ["--min-semi-space-size=128", "--max-semi-space-size=128"],
    });
    assert.ok(r.writeBytesPerPacket < 1, `write: ${r.writeBytesPerPacket} bytes/packet`);
    assert.ok(r.syncReplies > 0);
    assert.ok(r.syncBytesPerPacket < 1, `sync round trip: ${r.syncBytesPerPacket} bytes/packet`);
    // readBatch is async: a few promises per batch, nothing per packet.
    assert.equal(r.replies, 32_000);
    assert.ok(r.roundTripBytesPerBatch < 4096, `async round trip: ${r.roundTripBytesPerBatch} bytes/batch`);
  },
});

Deno.test({
  name: "TunDevice.close() leaves nothing pending for Deno's test sanitizers",
  ignore,
  async fn() {
    await using lab = new NetnsLab();
    const ns = await lab.addNamespace("san");
    const probe = new URL("./sanitizer_probe.ts", import.meta.url).pathname;
    const out = await lab.exec(ns, [Deno.execPath(), "test", "-A", probe], { check: false });
    assert.equal(out.code, 0, out.stdout + out.stderr);
    assert.match(out.stdout, /2 passed \| 0 failed/);
  },
});
