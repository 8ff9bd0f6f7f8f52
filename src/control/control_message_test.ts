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
