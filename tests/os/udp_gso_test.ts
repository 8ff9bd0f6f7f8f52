// Real-kernel test of UDP_SEGMENT in ffi/udp.ts across a veth pair: grouped
// sends arrive as ordinary datagrams, and a group the kernel refuses (its
// datagrams need IP fragmentation) is resent one by one, an unsendable row in
// it counted once.
import assert from "node:assert/strict";
import { NetnsLab, parseLastJson, requireRoot } from "../harness/netns.ts";
import { until } from "../../src/testing/wait.ts";

const CHILD = new URL("./udp_gso_child.ts", import.meta.url).pathname;
const { ignore } = requireRoot();

Deno.test({
  name:
    "UdpSocket.sendBatch() with gso resends a refused group one by one, counts a skipped row once and keeps grouping smaller datagrams",
  ignore,
  async fn() {
    await using lab = new NetnsLab();
    const a = await lab.addNamespace("a");
    const b = await lab.addNamespace("b");
    await lab.veth({ ns: a, name: "va", address: "10.212.0.1/24" }, {
      ns: b,
      name: "vb",
      address: "10.212.0.2/24",
    });
    const rx = lab.spawn(b, [Deno.execPath(), "run", "-A", CHILD, "rx"]);
    await until(async () => (await lab.exec(b, ["ss", "-Hnul", "sport = :7000"])).stdout.trim() !== "", {
      what: "the receiver bound to 10.212.0.2:7000",
      timeoutMs: 20_000,
      intervalMs: 50,
    });
    const tx = await lab.runDeno(a, CHILD, ["tx"], { check: false });
    const [first, second] = tx.stdout.trim().split("\n").slice(-2);
    const sent = parseLastJson<
      { big: number; small: number; limitAfterBig: number; gso: boolean; errors: number }
    >(first);
    const mixed = parseLastJson<{ sent: number; errors: number; lastErrno: number }>(second);
    const got = parseLastJson<{ lens: Record<string, number>; bad: number; ended: boolean }>(
      (await rx.output()).stdout,
    );
    assert.deepEqual(sent, { big: 20, small: 20, limitAfterBig: 1600, gso: true, errors: 0 });
    assert.deepEqual(mixed, { sent: 19, errors: 1, lastErrno: -1 });
    assert.deepEqual(got, { lens: { "1000": 20, "1600": 39 }, bad: 0, ended: true });
  },
});
