import assert from "node:assert/strict";
import { ControlPacket, decodeControlPacket } from "./control_packet.ts";
import { P_CONTROL_HARD_RESET_CLIENT_V2 } from "./opcode.ts";
import { ControlSession } from "./session.ts";
import { ManualClock } from "../testing/control/clock.ts";

const creds = { ca: "", cert: "", key: "" };

Deno.test("ControlSession retransmits its hard reset with backoff and gives up after the handshake window", async () => {
  const clock = new ManualClock();
  const sent: number[] = [];
  const s = new ControlSession({
    role: "client",
    credentials: creds,
    verifyPeer: () => Promise.resolve({ ok: false, reason: "unused" }),
    clock,
    random: (n) => new Uint8Array(n).fill(3),
    send: (p) => {
      const pkt = new ControlPacket();
      assert.equal(decodeControlPacket(p, 0, p.length, pkt), -1);
      assert.equal(pkt.opcode, P_CONTROL_HARD_RESET_CLIENT_V2);
      assert.deepEqual([...pkt.sessionId], [3, 3, 3, 3, 3, 3, 3, 3]);
      sent.push(clock.t - 1_000_000);
    },
    tlsTimeoutMs: 2000,
    handshakeWindowMs: 20_000,
  });
  const errors: string[] = [];
  s.on("error", (e) => errors.push(`${e.kind}: ${e.reason}`));
  s.start();
  await clock.advance(30_000);
  assert.deepEqual(sent, [0, 2000, 6000, 14000]);
  assert.deepEqual(errors, ["timeout: TLS key negotiation for key 0 did not complete within 20 s"]);
  assert.equal(s.closed, true);
});
