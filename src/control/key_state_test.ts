import assert from "node:assert/strict";
import { ControlPacket } from "./control_packet.ts";
import {
  DROP_BAD_KEY_ID,
  DROP_OUT_OF_WINDOW,
  DROP_SOFT_RESET_LIMITED,
  DROP_UNEXPECTED,
  VERDICT_OK,
} from "./drop_counters.ts";
import { KeySlots, type KeySlotsOptions } from "./key_state.ts";
import {
  P_ACK_V1,
  P_CONTROL_HARD_RESET_CLIENT_V2,
  P_CONTROL_HARD_RESET_SERVER_V2,
  P_CONTROL_SOFT_RESET_V1,
  P_CONTROL_V1,
} from "./opcode.ts";
import { SOFT_RESET_BURST } from "./soft_reset_limit.ts";
import { ManualClock } from "../testing/control/clock.ts";

function slots(o: Partial<KeySlotsOptions> = {}): { keys: KeySlots; clock: ManualClock; retired: number[] } {
  const clock = new ManualClock(0);
  const retired: number[] = [];
  const keys = new KeySlots({
    role: "server",
    clock,
    random: (n) => new Uint8Array(n).fill(5),
    maxPayload: 1000,
    onRetired: (keyId) => retired.push(keyId),
    ...o,
  });
  return { keys, clock, retired };
}

function packet(opcode: number, keyId: number, messageId: number, acks: number[] = []): ControlPacket {
  const pkt = new ControlPacket();
  pkt.opcode = opcode;
  pkt.keyId = keyId;
  pkt.messageId = messageId;
  pkt.ackCount = acks.length;
  pkt.acks.set(acks);
  return pkt;
}

Deno.test("KeySlots: key-id 0 becomes the primary, key-ids after it wrap 1..7", () => {
  const { keys } = slots();
  const first = keys.open(0);
  assert.equal(keys.primary, first);
  assert.equal(keys.active, null, "not active before it is negotiated");
  const ids: number[] = [];
  for (let i = 0; i < 8; i++) ids.push(keys.open(keys.nextKeyId).keyId);
  assert.deepEqual(ids, [1, 2, 3, 4, 5, 6, 7, 1]);
  assert.equal(keys.primary, first, "only key-id 0 becomes primary by opening");
});

Deno.test("KeySlots: a new key replaces the primary, the old one retires after the transition window", () => {
  const { keys, clock, retired } = slots({ transitionWindowMs: 5000, renegotiateMs: 60_000 });
  const k0 = keys.open(0);
  keys.activate(k0);
  assert.equal(keys.lifetimeEnd(), 60_000);
  clock.t = 1000;
  const k1 = keys.open(keys.nextKeyId);
  assert.equal(keys.negotiating, true);
  assert.equal(keys.lifetimeEnd(), Infinity, "no soft reset while one is running");
  keys.activate(k1);
  assert.equal(keys.active, k1);
  assert.equal(k0.retireAt, 6000);
  assert.equal(keys.lifetimeEnd(), 61_000);
  keys.retire(k0);
  assert.deepEqual(retired, [0]);
  assert.deepEqual([...keys.all], [k1]);
  assert.equal(slots({ renegotiateMs: 0 }).keys.lifetimeEnd(), Infinity);
});

Deno.test("KeySlots.checkOpener: only the peer's reset for the next key-id opens a key, within the soft reset limit", () => {
  const { keys } = slots();
  assert.equal(keys.checkOpener(packet(P_CONTROL_HARD_RESET_CLIENT_V2, 0, 1), "c"), DROP_OUT_OF_WINDOW);
  assert.equal(
    keys.checkOpener(packet(P_CONTROL_SOFT_RESET_V1, 1, 0), "c"),
    DROP_BAD_KEY_ID,
    "nothing active",
  );
  const hello = packet(P_CONTROL_HARD_RESET_CLIENT_V2, 0, 0);
  assert.equal(keys.checkOpener(hello, "c"), VERDICT_OK);
  const k0 = keys.answerOpener(hello);
  assert.equal(k0.reliable.poll(0)[0].opcode, P_CONTROL_HARD_RESET_SERVER_V2, "answered with our reset");
  keys.activate(k0);
  assert.equal(
    keys.checkOpener(packet(P_CONTROL_SOFT_RESET_V1, 2, 0), "c"),
    DROP_BAD_KEY_ID,
    "not the next id",
  );
  for (let i = 0; i < SOFT_RESET_BURST; i++) {
    const reset = packet(P_CONTROL_SOFT_RESET_V1, keys.nextKeyId, 0);
    assert.equal(keys.checkOpener(reset, "c"), VERDICT_OK, `soft reset ${i + 1}`);
    keys.activate(keys.answerOpener(reset));
  }
  assert.equal(
    keys.checkOpener(packet(P_CONTROL_SOFT_RESET_V1, keys.nextKeyId, 0), "c"),
    DROP_SOFT_RESET_LIMITED,
  );
});

Deno.test("KeySlots.checkPacket: the server takes TLS on key 0 only from a peer that acknowledged its reset", () => {
  const { keys } = slots();
  const k0 = keys.answerOpener(packet(P_CONTROL_HARD_RESET_CLIENT_V2, 0, 0));
  k0.reliable.receive(P_CONTROL_HARD_RESET_CLIENT_V2, 0, new Uint8Array(0));
  k0.reliable.poll(0);
  assert.equal(keys.checkPacket(k0, packet(P_CONTROL_V1, 0, 1)), DROP_UNEXPECTED);
  assert.equal(
    keys.checkPacket(k0, packet(P_CONTROL_V1, 0, 1, [0])),
    VERDICT_OK,
    "the packet carries the ack",
  );
  assert.equal(keys.checkPacket(k0, packet(P_ACK_V1, 0, -1, [0])), VERDICT_OK);
  assert.equal(keys.checkPacket(k0, packet(P_CONTROL_V1, 0, 40, [0])), DROP_OUT_OF_WINDOW);
  assert.equal(keys.checkPacket(k0, packet(P_CONTROL_SOFT_RESET_V1, 0, 3, [0])), DROP_UNEXPECTED);
});
