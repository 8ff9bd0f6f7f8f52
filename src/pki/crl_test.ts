import assert from "node:assert/strict";
import { initCa, loadCa } from "./ca.ts";
import type { CaIndex } from "./ca_index.ts";
import { buildCrl, CRL_DAYS } from "./crl.ts";

Deno.test("buildCrl() signs the revoked records with the CA and carries the CRL number", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "tsvpn_crl_" });
  try {
    await initCa(tmp);
    const ca = await loadCa(tmp);
    const index: CaIndex = {
      version: 1,
      crlNumber: 0,
      certs: [
        {
          serial: "0A1B",
          name: "a",
          type: "client",
          notBefore: "",
          notAfter: "",
          sans: [],
          revokedAt: "2026-01-02T03:04:05.678Z",
        },
        { serial: "7F00", name: "b", type: "client", notBefore: "", notAfter: "", sans: [], revokedAt: null },
      ],
    };
    const now = new Date("2026-02-01T00:00:00.500Z");
    const crl = await buildCrl(ca, index, 300, now);
    assert.ok(await crl.verify({ publicKey: ca.cert.publicKey }));
    assert.equal(crl.issuer, ca.cert.subject);
    assert.deepEqual(crl.entries.map((e) => e.serialNumber.toUpperCase()), ["0A1B"]);
    assert.equal(crl.entries[0].revocationDate.toISOString(), "2026-01-02T03:04:05.000Z");
    assert.equal(crl.thisUpdate.toISOString(), "2026-02-01T00:00:00.000Z");
    assert.equal(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime(), CRL_DAYS * 86_400_000);
    const number = crl.getExtension("2.5.29.20")!;
    assert.deepEqual(new Uint8Array(number.value), Uint8Array.from([0x02, 0x02, 0x01, 0x2c]));
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});
