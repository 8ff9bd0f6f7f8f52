import assert from "node:assert/strict";
import { type ByteSource, LineReader, LineTooLongError } from "./line_reader.ts";

/** Serves the given chunks one read at a time (a read never returns more than asked). */
function source(chunks: string[]): ByteSource & { reads: number } {
  const enc = new TextEncoder();
  const queue = chunks.map((c) => enc.encode(c));
  return {
    reads: 0,
    read(p: Uint8Array): Promise<number | null> {
      this.reads++;
      const next = queue.shift();
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(p.length, next.length);
      p.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  };
}

async function all(r: LineReader): Promise<string[]> {
  const out: string[] = [];
  for (let line = await r.readLine(); line !== null; line = await r.readLine()) out.push(line);
  return out;
}

Deno.test("LineReader.readLine() splits LF and CRLF lines across reads", async () => {
  const r = new LineReader(source(["sta", "tus 2\r\nhelp\n\nkill al", "ice\r\n", "last"]));
  assert.deepEqual(await all(r), ["status 2", "help", "", "kill alice", "last"]);
});

Deno.test("LineReader.readLine() returns several lines from one read without reading again", async () => {
  const src = source(["a\nb\nc\n"]);
  const r = new LineReader(src);
  assert.equal(await r.readLine(), "a");
  assert.equal(await r.readLine(), "b");
  assert.equal(await r.readLine(), "c");
  assert.equal(src.reads, 1);
  assert.equal(await r.readLine(), null);
});

Deno.test("LineReader.readLine() rejects a line over maxLineBytes even when sent in small reads", async () => {
  const r = new LineReader(source(["x".repeat(10), "y".repeat(10), "z\n"]), {
    maxLineBytes: 16,
    readBytes: 8,
  });
  await assert.rejects(() => r.readLine(), LineTooLongError);
  const ok = new LineReader(source(["x".repeat(16) + "\n"]), { maxLineBytes: 16, readBytes: 8 });
  assert.equal(await ok.readLine(), "x".repeat(16));
});

Deno.test("LineReader.readLine() decodes invalid UTF-8 without throwing", async () => {
  const bytes = new Uint8Array([0xff, 0xfe, 0x41, 10]);
  let given = false;
  const r = new LineReader({
    read(p) {
      if (given) return Promise.resolve(null);
      given = true;
      p.set(bytes);
      return Promise.resolve(bytes.length);
    },
  });
  assert.equal(await r.readLine(), "\ufffd\ufffdA");
  assert.equal(await r.readLine(), null);
});

Deno.test("LineReader.readLine() grows its buffer for long lines up to the limit", async () => {
  const long = "j".repeat(100_000);
  const r = new LineReader(source([long.slice(0, 5000), long.slice(5000) + "\nnext\n"]), {
    maxLineBytes: 1 << 20,
  });
  assert.equal(await r.readLine(), long);
  assert.equal(await r.readLine(), "next");
});
