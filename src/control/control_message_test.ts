import assert from "node:assert/strict";
import {
  controlMessageArgument,
  controlMessageKind,
  ControlMessageReader,
  encodeControlMessage,
} from "./control_message.ts";

Deno.test("encodeControlMessage() appends the NUL terminator", () => {
  assert.deepEqual([...encodeControlMessage("EXIT")], [69, 88, 73, 84, 0]);
  assert.throws(() => encodeControlMessage("a\0b"));
});

Deno.test("ControlMessageReader.push() splits at NULs across arbitrary chunks", () => {
  const r = new ControlMessageReader();
  const all = new Uint8Array([...encodeControlMessage("PUSH_REQUEST"), ...encodeControlMessage("INFO,hi")]);
  const got: string[] = [];
  for (const b of all) got.push(...r.push(Uint8Array.of(b))!);
  assert.deepEqual(got, ["PUSH_REQUEST", "INFO,hi"]);
});

Deno.test("ControlMessageReader.push() returns null when a message exceeds the limit", () => {
  const r = new ControlMessageReader(10);
  assert.deepEqual(r.push(new TextEncoder().encode("short")), []);
  assert.equal(r.push(new TextEncoder().encode("much longer text")), null);
});

Deno.test("controlMessageKind() classifies keywords and controlMessageArgument() returns the rest", () => {
  assert.equal(controlMessageKind("AUTH_FAILED,bad cert"), "AUTH_FAILED");
  assert.equal(controlMessageArgument("AUTH_FAILED,bad cert", "AUTH_FAILED"), "bad cert");
  assert.equal(controlMessageKind("INFO_PRE,x"), "INFO_PRE");
  assert.equal(controlMessageKind("RESTART"), "RESTART");
  assert.equal(controlMessageKind("PUSH_REPLYX"), "OTHER");
});

Deno.test("ControlMessageReader.push() strips line ends in linear time from a 60 KiB run of newlines", () => {
  const r = new ControlMessageReader();
  // With /[\r\n]+$/ this message took seconds (quadratic backtracking); no timing assertion, but a regression makes this test take a minute.
  const text = "INFO," + "\r\n".repeat(30000) + "x\r\n";
  const msgs = r.push(encodeControlMessage(text))!;
  assert.equal(msgs.length, 1);
  assert.equal(msgs[0], "INFO," + "\r\n".repeat(30000) + "x");
  // Ten such messages: quadratic trimming would keep this test busy for about a minute.
  for (let i = 0; i < 10; i++) {
    assert.deepEqual(r.push(encodeControlMessage("\n".repeat(60000) + "y")), ["\n".repeat(60000) + "y"]);
  }
});
