import assert from "node:assert/strict";
import { noOpenssl, openssl } from "../testing/pki/openssl.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { initCa, issueCertificate, listCertificates } from "./ca.ts";
import { readIndex } from "./ca_index.ts";
import { decodePem } from "./pem.ts";
import { refreshCrl, revokeCertificate } from "./revoke.ts";
import { verifyPeerCertificate } from "./verify.ts";
import { X509Crl } from "./x509.ts";

/** Runs `fn` with a new CA in a temporary directory. */
function withCa(fn: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir(async (tmp) => {
    await initCa(`${tmp}/pki`);
    await fn(`${tmp}/pki`);
  }, "tsvpn_revoke_");
}

async function readCrl(dir: string): Promise<X509Crl> {
  return new X509Crl(decodePem(await Deno.readTextFile(`${dir}/crl.pem`), "X509 CRL")[0]);
}

Deno.test("revokeCertificate() writes a CRL that openssl verifies and applies with -crl_check", {
  ignore: noOpenssl,
}, async () => {
  await withCa(async (dir) => {
    await issueCertificate(dir, { name: "alice", type: "client" });
    await issueCertificate(dir, { name: "bob", type: "client" });
    await revokeCertificate(dir, "bob");
    const crl = await openssl(
      ["crl", "-in", "crl.pem", "-CAfile", "ca.crt", "-noout", "-verify", "-text"],
      dir,
    );
    assert.ok(crl.ok && /verify OK/.test(crl.out), crl.out);
    assert.match(crl.out, /Next Update:/);
    const check = (file: string) =>
      openssl([
        "verify",
        "-CAfile",
        "ca.crt",
        "-CRLfile",
        "crl.pem",
        "-crl_check",
        "-purpose",
        "sslclient",
        file,
      ], dir);
    const bob = await check("bob.crt");
    assert.equal(bob.ok, false);
    assert.match(bob.out, /certificate revoked/);
    assert.ok((await check("alice.crt")).ok);
  });
});

Deno.test("revokeCertificate() makes verifyPeerCertificate() refuse the certificate by serial", async () => {
  await withCa(async (dir) => {
    const { record } = await issueCertificate(dir, { name: "carol", type: "client" });
    const der = decodePem(await Deno.readTextFile(`${dir}/carol.crt`), "CERTIFICATE")[0];
    const ca = await Deno.readTextFile(`${dir}/ca.crt`);
    const before = await verifyPeerCertificate(der, {
      ca,
      crl: await Deno.readTextFile(`${dir}/crl.pem`),
      usage: "clientAuth",
    });
    assert.equal(before.ok, true);
    // Revoked now (a CRL signed at a fixed past date could be past its nextUpdate, and refused as expired).
    const second = Math.floor(Date.now() / 1000) * 1000;
    const revoked = await revokeCertificate(dir, "carol", { now: new Date(second + 890) });
    assert.equal(revoked.revokedAt, new Date(second).toISOString());
    const crl = await Deno.readTextFile(`${dir}/crl.pem`);
    assert.deepEqual(await verifyPeerCertificate(der, { ca, crl, usage: "clientAuth" }), {
      ok: false,
      reason: `certificate revoked (serial ${record.serial})`,
    });
  });
});

Deno.test("revokeCertificate() keeps every revoked serial, bumps the CRL number and allows re-issuing the name", async () => {
  await withCa(async (dir) => {
    const a1 = await issueCertificate(dir, { name: "a", type: "client" });
    const b = await issueCertificate(dir, { name: "b", type: "server" });
    assert.equal((await readIndex(dir)).crlNumber, 1);
    await revokeCertificate(dir, "a");
    await revokeCertificate(dir, "b");
    const a2 = await issueCertificate(dir, { name: "a", type: "client" });
    assert.notEqual(a2.record.serial, a1.record.serial);
    const crl = await readCrl(dir);
    assert.deepEqual(
      crl.entries.map((e) => e.serialNumber.toUpperCase()).sort(),
      [a1.record.serial, b.record.serial].sort(),
    );
    assert.equal((await readIndex(dir)).crlNumber, 3);
    assert.ok(
      crl.nextUpdate !== undefined &&
        crl.nextUpdate.getTime() - crl.thisUpdate.getTime() === 180 * 86_400_000,
    );
    const list = await listCertificates(dir);
    assert.deepEqual(list.map((c) => [c.name, c.revokedAt !== null]), [["a", true], ["b", true], [
      "a",
      false,
    ]]);
  });
});

Deno.test("revokeCertificate() refuses an unknown or already revoked name", async () => {
  await withCa(async (dir) => {
    await assert.rejects(() => revokeCertificate(dir, "nobody"), /No certificate named "nobody"/);
    await issueCertificate(dir, { name: "x", type: "client" });
    await revokeCertificate(dir, "x");
    await assert.rejects(() => revokeCertificate(dir, "x"), /Certificate "x" is already revoked/);
  });
});

Deno.test("refreshCrl() re-signs the CRL with the same entries and a later nextUpdate", async () => {
  await withCa(async (dir) => {
    await issueCertificate(dir, { name: "x", type: "client" });
    await revokeCertificate(dir, "x", { now: new Date("2026-01-01T00:00:00Z") });
    const before = await readCrl(dir);
    await refreshCrl(dir, { now: new Date("2026-06-01T00:00:00Z") });
    const after = await readCrl(dir);
    assert.deepEqual(after.entries.map((e) => e.serialNumber), before.entries.map((e) => e.serialNumber));
    assert.equal(after.thisUpdate.toISOString(), "2026-06-01T00:00:00.000Z");
    assert.ok(after.nextUpdate! > before.nextUpdate!);
  });
});
