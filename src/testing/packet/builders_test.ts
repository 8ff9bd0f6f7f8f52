import assert from "node:assert/strict";
import { ipv4HeaderChecksum } from "../../packet/checksum.ts";
import { checkIpPacket } from "./ip.ts";
import { buildEthernet, buildIcmpEcho, buildTcpSyn, buildUdp, transportChecksumOk } from "./builders.ts";
import { PACKET_OK } from "../../packet/verdict.ts";

Deno.test("buildIcmpEcho(), buildUdp() and buildTcpSyn() produce valid packets of both families", () => {
  for (const [src, dst] of [["10.8.0.2", "10.8.0.3"], ["fd00::2", "fd00::3"]]) {
    const pkts = [
      buildIcmpEcho({ src, dst, id: 7, seq: 9, payloadLen: 33 }),
      buildIcmpEcho({ src, dst, reply: true }),
      buildUdp({ src, dst, srcPort: 1000, dstPort: 2000, payload: new Uint8Array(7) }),
      buildTcpSyn({ src, dst, srcPort: 1, dstPort: 2, mss: 1460 }),
    ];
    for (const pkt of pkts) {
      assert.equal(checkIpPacket(pkt, 0, pkt.length), PACKET_OK);
      assert.equal(transportChecksumOk(pkt), true);
      if (!src.includes(":")) assert.equal((pkt[10] << 8) | pkt[11], ipv4HeaderChecksum(pkt, 0));
    }
  }
  const echo = buildIcmpEcho({ src: "1.2.3.4", dst: "5.6.7.8", id: 0x1234, seq: 0x0506 });
  assert.deepEqual([...echo.subarray(20, 28)].slice(0, 1), [8]);
  assert.equal((echo[24] << 8) | echo[25], 0x1234);
  assert.equal((echo[26] << 8) | echo[27], 0x0506);
  assert.equal(buildIcmpEcho({ src: "::1", dst: "::2" })[40], 128);
});

Deno.test("transportChecksumOk() detects a corrupted byte", () => {
  const pkt = buildUdp({
    src: "1.2.3.4",
    dst: "5.6.7.8",
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array([1, 2]),
  });
  pkt[pkt.length - 1] ^= 0x40;
  assert.equal(transportChecksumOk(pkt), false);
});

Deno.test("buildEthernet() lays out dst, src and type", () => {
  const frame = buildEthernet({ dst: "01:02:03:04:05:06", src: "0a:0b:0c:0d:0e:0f", type: 0x88b5 });
  assert.deepEqual([...frame], [1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 0x88, 0xb5]);
});
