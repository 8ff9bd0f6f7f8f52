import assert from "node:assert/strict";
import { activeRecord, type CaIndex, emptyIndex, readIndex, writeIndex } from "./ca_index.ts";

Deno.test("writeIndex() and readIndex() round-trip, and activeRecord() skips revoked records", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_index_" });
  try {
    const index: CaIndex = emptyIndex();
    const base = { type: "client" as const, notBefore: "x", notAfter: "y", sans: [] };
    index.certs.push({ ...base, serial: "01", name: "a", revokedAt: "2026-01-01T00:00:00.000Z" });
    index.certs.push({ ...base, serial: "02", name: "a", revokedAt: null });
    await writeIndex(dir, index);
    const back = await readIndex(dir);
    assert.deepEqual(back, index);
    assert.equal(activeRecord(back, "a")?.serial, "02");
    assert.equal(activeRecord(back, "b"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readIndex() names the problem for a missing or foreign file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_index_" });
  try {
    await assert.rejects(() => readIndex(dir), /No CA in .*index.json is missing/);
    await Deno.writeTextFile(`${dir}/index.json`, "{");
    await assert.rejects(() => readIndex(dir), SyntaxError);
    await Deno.writeTextFile(`${dir}/index.json`, '{"version":2}');
    await assert.rejects(() => readIndex(dir), /not a tsvpn CA index/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
