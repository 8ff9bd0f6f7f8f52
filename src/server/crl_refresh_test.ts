import assert from "node:assert/strict";
import { initCa } from "../pki/ca.ts";
import { decodePem } from "../pki/pem.ts";
import { parseRevocationList } from "../pki/revocation_list.ts";
import { Logger } from "../log/log.ts";
import { REFRESH_BEFORE_DAYS, refreshCrlIfDue } from "./crl_refresh.ts";

const DAY_MS = 86_400_000;

async function nextUpdate(dir: string): Promise<number> {
  const [der] = decodePem(await Deno.readTextFile(`${dir}/crl.pem`), "X509 CRL");
  return parseRevocationList(der).nextUpdate!.getTime();
}

function quietLog(lines: string[]): Logger {
  return new Logger({ level: "debug", sink: (line: string) => lines.push(line) });
}

Deno.test("refreshCrlIfDue() re-signs the built-in CA's CRL only when it expires within REFRESH_BEFORE_DAYS", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const issued = new Date("2026-01-01T00:00:00Z");
    await initCa(dir, { commonName: "refresh test CA", now: issued });
    const first = await nextUpdate(dir);
    const lines: string[] = [];
    const early = new Date(first - (REFRESH_BEFORE_DAYS + 1) * DAY_MS);
    assert.equal(await refreshCrlIfDue({ pkiDir: dir, log: quietLog(lines), now: () => early }), false);
    assert.equal(await nextUpdate(dir), first, "a CRL with time left is not touched");

    const due = new Date(first - (REFRESH_BEFORE_DAYS - 1) * DAY_MS);
    assert.equal(await refreshCrlIfDue({ pkiDir: dir, log: quietLog(lines), now: () => due }), true);
    assert.ok(await nextUpdate(dir) > first + 100 * DAY_MS, "the new CRL runs far past the old nextUpdate");
    assert.ok(lines.some((l) => /CRL re-signed before it expires/.test(l)));

    const late = new Date(first + 10 * DAY_MS);
    await initCa(`${dir}/late`, { commonName: "late CA", now: issued });
    assert.equal(
      await refreshCrlIfDue({ pkiDir: `${dir}/late`, log: quietLog(lines), now: () => late }),
      true,
    );
    assert.ok(await nextUpdate(`${dir}/late`) > late.getTime(), "an already expired CRL is renewed too");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refreshCrlIfDue() logs and keeps going when the CRL cannot be read or re-signed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines: string[] = [];
    assert.equal(await refreshCrlIfDue({ pkiDir: dir, log: quietLog(lines) }), false);
    assert.ok(lines.some((l) => /cannot refresh the CRL/.test(l)), lines.join("\n"));
    await initCa(dir, { commonName: "refresh test CA", now: new Date("2026-01-01T00:00:00Z") });
    const failing = () => Promise.reject(new Error("disk full"));
    const now = () => new Date("2030-01-01T00:00:00Z");
    assert.equal(await refreshCrlIfDue({ pkiDir: dir, log: quietLog(lines), now, refresh: failing }), false);
    assert.ok(lines.some((l) => /disk full/.test(l)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
