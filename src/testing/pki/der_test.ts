import assert from "node:assert/strict";
import { readTlv } from "../../pki/der.ts";
import { derTlv } from "./der.ts";

Deno.test("derTlv() writes the shortest length form that der.ts reads back", () => {
  for (const n of [0, 1, 127, 128, 255, 256, 70_000]) {
    const el = derTlv(0x04, new Uint8Array(n).fill(7));
    const t = readTlv(el, 0);
    assert.equal(t.tag, 0x04);
    assert.equal(t.end - t.start, n, `length ${n}`);
    assert.equal(el.length, t.end, `no trailing bytes for length ${n}`);
  }
});

Deno.test("derTlv() with lengthBytes forces a long form that der.ts refuses as non-minimal", () => {
  const el = derTlv(0x04, Uint8Array.of(1, 2), 2);
  assert.deepEqual([...el], [0x04, 0x82, 0x00, 0x02, 1, 2]);
  assert.throws(() => readTlv(el, 0), /non-minimal DER length/);
});
