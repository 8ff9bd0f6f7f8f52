/**
 * What a stock openvpn 2.6 client's first packet looks like, which the
 * stateless reset answer (src/control/reset_cookie.ts) relies on: a plain
 * P_CONTROL_HARD_RESET_CLIENT_V2 of 14 bytes (54 with tls-crypt), message id
 * 0, no acks, no payload — and no early-negotiation marker: OpenVPN 2.6 sets
 * packet id 0x0f000000 only with tls-crypt-v2 (HARD_RESET_CLIENT_V3), so V2
 * clients are answered with the cookie unannounced, as OpenVPN's own server
 * answers them. openvpn runs with --dev null against a socket on 127.0.0.1.
 */

import assert from "node:assert/strict";
import { ControlPacket, decodeControlPacket } from "../../src/control/control_packet.ts";
import { createControlWrap, WrapResult } from "../../src/control/control_wrap.ts";
import { VERDICT_OK } from "../../src/control/drop_counters.ts";
import { P_CONTROL_HARD_RESET_CLIENT_V2 } from "../../src/control/opcode.ts";
import { createTestPki } from "../../src/testing/control/pki.ts";
import { generateStaticKey } from "../../src/pki/static_key.ts";
import { OPENVPN, spawnOpenvpn, writeStaticKey } from "./openvpn_harness.ts";

const EARLY_NEG_MASK = 0xff000000;
const EARLY_NEG_START = 0x0f000000;

Deno.test({
  name: "stock openvpn 2.6 clients open with a bare V2 hard reset and announce no early negotiation",
  ignore: !OPENVPN,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const pki = await createTestPki();
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-early-neg-" });
    try {
      for (const tlsCrypt of [false, true]) {
        const key = generateStaticKey();
        const sock = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
        const args = [
          ...["--client", "--dev", "null", "--nobind", "--verb", "3"],
          ...["--remote", "127.0.0.1", String((sock.addr as Deno.NetAddr).port), "udp"],
          ...["--ca", pki.paths.ca, "--cert", pki.paths.client, "--key", pki.paths.clientKey],
        ];
        if (tlsCrypt) {
          await writeStaticKey(`${dir}/tc.key`, key);
          args.push("--tls-crypt", `${dir}/tc.key`);
        }
        const ovpn = spawnOpenvpn(args, `${dir}/openvpn-${tlsCrypt}.log`);
        try {
          const [wire] = await sock.receive();
          assert.equal(wire.length, tlsCrypt ? 54 : 14);
          const wrap = createControlWrap(tlsCrypt ? { mode: "tls-crypt", key } : { mode: "none" }, "server");
          const res = new WrapResult();
          assert.equal(wrap.unwrap(wire, 0, wire.length, new Uint8Array(256), res), VERDICT_OK);
          if (tlsCrypt) assert.notEqual((res.packetId & EARLY_NEG_MASK) >>> 0, EARLY_NEG_START, "no marker");
          const pkt = new ControlPacket();
          assert.equal(decodeControlPacket(res.buffer, res.offset, res.length, pkt), VERDICT_OK);
          assert.equal(pkt.opcode, P_CONTROL_HARD_RESET_CLIENT_V2);
          assert.deepEqual([pkt.ackCount, pkt.messageId, pkt.payloadLength], [0, 0, 0]);
        } finally {
          await ovpn.stop();
          sock.close();
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
      await pki.cleanup();
    }
  },
});
