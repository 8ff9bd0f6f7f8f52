import assert from "node:assert/strict";
import { firstLine } from "./first_line.ts";

Deno.test("firstLine() keeps the first line of an error's message or of any thrown value", () => {
  assert.equal(firstLine(new Error("cannot bind\n    at listen (ext:deno_net)")), "cannot bind");
  assert.equal(firstLine(new TypeError("one line")), "one line");
  assert.equal(firstLine("a string\nthrown"), "a string");
  assert.equal(firstLine(42), "42");
  assert.equal(firstLine(new Error("")), "");
});
