import assert from "node:assert/strict";
import {
  negotiatedPushOptions,
  PUSH_REPLY_HOLDOFF_MS,
  PushRequester,
  PushResponder,
} from "./push_exchange.ts";
import { buildPushReplies, MAX_PUSH_REPLY_BYTES } from "./push_options.ts";

Deno.test("PushRequester repeats PUSH_REQUEST at its interval until done(), and collects a reply sent in parts", () => {
  const r = new PushRequester(500);
  assert.equal(r.nextRequestAt, Infinity, "nothing due before the first request");
  r.requested(1000);
  assert.equal(r.nextRequestAt, 1500);
  const parts = buildPushReplies({
    routeGateway: "10.8.0.1",
    ping: 10,
    pingRestart: 60,
    extra: ["x".repeat(90)],
  }, 64);
  assert.ok(parts.length > 1, "the reply needs continuations");
  for (const part of parts.slice(0, -1)) assert.equal(r.add(part), null, "parts still missing");
  const lines = r.add(parts[parts.length - 1]);
  assert.ok(Array.isArray(lines));
  assert.deepEqual(lines, ["route-gateway 10.8.0.1", "ping 10", "ping-restart 60", "x".repeat(90)]);
  assert.equal(r.replied, false, "collected is not yet accepted");
  r.done();
  assert.equal(r.replied, true);
  assert.equal(r.nextRequestAt, Infinity, "no request after the reply");
});

Deno.test("PushRequester reports a reply longer than MAX_PUSH_REPLY_BYTES as overflow", () => {
  const r = new PushRequester();
  const big = "y".repeat(60_000);
  let outcome: string[] | null | "overflow" = null;
  for (let i = 0; i * 60_000 <= MAX_PUSH_REPLY_BYTES && outcome !== "overflow"; i++) {
    outcome = r.add(`PUSH_REPLY,${big},push-continuation 2`);
  }
  assert.equal(outcome, "overflow");
});

Deno.test("PushResponder answers one PUSH_REQUEST per holdoff and one at a time", () => {
  const p = new PushResponder();
  assert.equal(p.mayAnswer(0), true);
  p.building();
  assert.equal(p.mayAnswer(0), false, "a reply is being built");
  p.built();
  assert.equal(p.mayAnswer(0), true, "gathering failed: a later request is answered");
  p.replied(10_000);
  assert.equal(p.mayAnswer(10_000 + PUSH_REPLY_HOLDOFF_MS - 1), false);
  assert.equal(p.mayAnswer(10_000 + PUSH_REPLY_HOLDOFF_MS), true);
});

Deno.test("negotiatedPushOptions adds the cipher, the session's peer-id unless the server set one, and cc-exit once", () => {
  const plain = negotiatedPushOptions({ ping: 10 }, { peerId: 7, cipher: "AES-256-GCM", peerCcExit: false });
  assert.deepEqual(plain, { ping: 10, peerId: 7, cipher: "AES-256-GCM", protocolFlags: undefined });
  const own = negotiatedPushOptions(
    { peerId: 3, protocolFlags: ["cc-exit", "tls-ekm"] },
    { peerId: 7, cipher: "CHACHA20-POLY1305", peerCcExit: true },
  );
  assert.equal(own.peerId, 3);
  assert.equal(own.cipher, "CHACHA20-POLY1305");
  assert.deepEqual(own.protocolFlags, ["cc-exit", "tls-ekm"]);
  const flagged = negotiatedPushOptions({}, { cipher: "AES-128-GCM", peerCcExit: true });
  assert.deepEqual(flagged.protocolFlags, ["cc-exit"]);
});
