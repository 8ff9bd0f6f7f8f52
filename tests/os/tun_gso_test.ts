// Real-kernel test of the tun virtio-net header path (ffi/tun.ts vnetHeader,
// writeGso) together with the datapath's TcpCoalescer: the kernel must accept
// the super-packets and deliver the whole byte stream to a TCP socket.
import assert from "node:assert/strict";
import { NetnsLab, parseLastJson, requireRoot } from "../harness/netns.ts";

const CHILD = new URL("./tun_gso_child.ts", import.meta.url).pathname;
const { ignore } = requireRoot();

Deno.test({
  name: "TunDevice.writeGso() delivers TcpCoalescer super-packets to a local TCP socket intact",
  ignore,
  async fn() {
    await using lab = new NetnsLab();
    const ns = await lab.addNamespace("gso");
    const out = await lab.runDeno(ns, CHILD, [], { check: false });
    const r = parseLastJson<
      {
        received: number;
        same: boolean;
        deviceWrites: number;
        superPackets: number;
        merged: number;
        error?: string;
      }
    >(out.stdout);
    assert.equal(r.error, undefined, `${r.error}\n${out.stderr}`);
    assert.equal(r.received, 30_000);
    assert.equal(r.same, true);
    assert.equal(r.merged, 30);
    assert.equal(r.superPackets, 1);
    assert.equal(r.deviceWrites, 30);
  },
});
