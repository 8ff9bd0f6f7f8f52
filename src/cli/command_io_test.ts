import assert from "node:assert/strict";
import { firstLine, oneOf, reportCommandError, UsageError, writeAll } from "./command_io.ts";

function capture(): { lines: string[]; err: (text: string) => void } {
  const lines: string[] = [];
  return { lines, err: (text) => lines.push(text) };
}

Deno.test("reportCommandError() exits 2 on a usage error with a pointer to the command's help", () => {
  const { lines, err } = capture();
  assert.equal(reportCommandError("pki", new UsageError("Missing --dir DIR"), err), 2);
  assert.deepEqual(lines, ["tsvpn pki: Missing --dir DIR (see tsvpn pki help)\n"]);
});

Deno.test("reportCommandError() exits 1 on any other failure with its first line only", () => {
  const { lines, err } = capture();
  assert.equal(reportCommandError("client", new Error("disk full\nat write (x.ts:1)"), err), 1);
  assert.equal(reportCommandError("client", "thrown text", err), 1);
  assert.deepEqual(lines, ["tsvpn client: disk full\n", "tsvpn client: thrown text\n"]);
});

Deno.test("firstLine() cuts a message at its first line", () => {
  assert.equal(firstLine(new RangeError("a\nb")), "a");
  assert.equal(firstLine(42), "42");
});

Deno.test("oneOf() passes absent and allowed values and names the flag otherwise", () => {
  assert.equal(oneOf(undefined, "--proto", ["udp", "tcp"]), undefined);
  assert.equal(oneOf("tcp", "--proto", ["udp", "tcp"]), "tcp");
  assert.throws(() => oneOf("sctp", "--proto", ["udp", "tcp"]), {
    name: "UsageError",
    message: 'Invalid --proto "sctp": expected udp or tcp',
  });
});

Deno.test("writeAll() keeps writing until a short-writing stream took everything", () => {
  const got: number[] = [];
  const stream = {
    writeSync(p: Uint8Array): number {
      const n = Math.min(2, p.length);
      got.push(...p.subarray(0, n));
      return n;
    },
  };
  writeAll(stream, "hello");
  assert.equal(new TextDecoder().decode(Uint8Array.from(got)), "hello");
});
