import assert from "node:assert/strict";
import type { PemSource } from "../config/schema.ts";
import { Logger } from "../log/log.ts";
import { issue, selfSignedCa } from "../testing/pki/certs.ts";
import { noOpenssl } from "../testing/pki/openssl.ts";
import { crlWith, pemOf, pemOfCrl } from "../testing/pki/policy.ts";
import { verifyPeerCertificate } from "../pki/verify.ts";
import { type CrlClient, CrlWatch } from "./crl_watch.ts";

/**
 * A CRL "file" in memory: its text (or a read error) and a version that
 * changes with every write, as mtime/size/inode do.
 */
class FakeCrlFile {
  text = "";
  readError: string | null = null;
  version = 0;

  write(text: string): void {
    this.text = text;
    this.readError = null;
    this.version++;
  }

  breakReads(message: string): void {
    this.readError = message;
    this.version++;
  }

  read = (): Promise<string> =>
    this.readError ? Promise.reject(new Error(this.readError)) : Promise.resolve(this.text);
}

interface Harness {
  watch: CrlWatch;
  file: FakeCrlFile;
  lines: string[];
  connected: CrlClient[];
  disconnected: string[];
  /** Real time unless a test moves it (openssl dates the CRLs a test makes later by the real clock). */
  clock: { now: Date | null };
}

const SOURCE: PemSource = { kind: "file", path: "/etc/tsvpn/crl.pem" };

async function harness(ca: string, crl: string, clients: Omit<CrlClient, "disconnect">[]): Promise<Harness> {
  const file = new FakeCrlFile();
  file.write(crl);
  const lines: string[] = [];
  const clock: { now: Date | null } = { now: null };
  const now = () => clock.now ?? new Date();
  const disconnected: string[] = [];
  const connected: CrlClient[] = clients.map((c) => ({
    ...c,
    disconnect: (reason: string) => {
      disconnected.push(`${c.name}: ${reason}`);
      connected.splice(connected.findIndex((x) => x.name === c.name), 1);
    },
  }));
  const watch = await CrlWatch.open({
    source: SOURCE,
    log: new Logger({ sink: (l) => lines.push(l), now }),
    verify: (certificate, chain, text) =>
      verifyPeerCertificate(certificate, {
        ca,
        crl: text,
        usage: "clientAuth",
        intermediates: chain,
        now: now(),
      }),
    clients: () => [...connected],
    now,
    readText: file.read,
    version: () => Promise.resolve(String(file.version)),
  });
  return { watch, file, lines, connected, disconnected, clock };
}

const warnings = (h: Harness) => h.lines.filter((l) => l.includes(" WARN "));

/** Root → Sub → alice and bob, Sub sent by the clients (the CA bundle holds Root only), and CRL makers. */
async function pki(dir: string) {
  const root = await selfSignedCa(dir, "Root", "p256");
  const sub = await issue(dir, "Root", "Sub", {
    ext: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
    days: 400,
  });
  const alice = await issue(dir, "Sub", "alice", { days: 400 });
  const bob = await issue(dir, "Sub", "bob", { days: 400 });
  const rootCrl = pemOfCrl(await crlWith(dir, "Root"));
  return {
    ca: pemOf(root.der),
    clients: [alice, bob].map((c) => ({ name: c.name, certificate: c.der, chain: [sub.der] })),
    /** Sub's and Root's CRLs, Sub's revoking `revoked`. */
    crls: async (revoked: string[] = [], root = rootCrl) =>
      pemOfCrl(await crlWith(dir, "Sub", { revoked })) + root,
    rootCrlRevoking: async (names: string[]) => pemOfCrl(await crlWith(dir, "Root", { revoked: names })),
  };
}

async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_crl_watch_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("CrlWatch.open() refuses a CRL that cannot be read or parsed, in one line", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const p = await pki(dir);
    await assert.rejects(
      harness(p.ca, "-----BEGIN X509 CRL-----\nMAA=\n-----END X509 CRL-----\n", p.clients),
      /^Error: CRL \/etc\/tsvpn\/crl\.pem could not be parsed: /,
    );
    await assert.rejects(harness(p.ca, "", p.clients), /could not be parsed: CRL file holds no CRL$/);
  });
});

Deno.test(
  "CrlWatch.poll() keeps the last good CRL while the file cannot be read or parsed, warning once per version",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const p = await pki(dir);
      const good = await p.crls();
      const h = await harness(p.ca, good, p.clients);
      h.file.write(good.slice(0, 200)); // a writer half-way through
      await h.watch.poll();
      await h.watch.poll();
      assert.equal(h.watch.text, good);
      assert.equal(warnings(h).length, 1);
      assert.match(
        warnings(h)[0],
        /CRL not applied, keeping the last good one file=\/etc\/tsvpn\/crl\.pem reason=/,
      );
      h.file.breakReads("Cannot read /etc/tsvpn/crl.pem: no such file");
      await h.watch.poll();
      await h.watch.poll();
      assert.equal(warnings(h).length, 2);
      assert.match(
        warnings(h)[1],
        /reason="could not be read: Cannot read \/etc\/tsvpn\/crl\.pem: no such file"/,
      );
      assert.equal(h.watch.text, good);
      assert.deepEqual(h.disconnected, [], "nobody is cut off by a bad file");
      // The writer finishes: the new CRL applies and revokes bob at once.
      const revoking = await p.crls(["bob"]);
      h.file.write(revoking);
      await h.watch.poll();
      assert.equal(h.watch.text, revoking);
      assert.equal(h.disconnected.length, 1);
      assert.match(h.disconnected[0], /^bob: certificate revoked \(serial [0-9A-F]+\)$/);
      assert.deepEqual(h.connected.map((c) => c.name), ["alice"]);
    });
  },
);

Deno.test("CrlWatch re-checks each client with the chain it sent, so a revoked intermediate disconnects it", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const p = await pki(dir);
    const h = await harness(p.ca, await p.crls(), p.clients);
    // A new, good CRL revoking nobody: alice and bob, whose certificates chain to Root only
    // through the intermediate they sent, stay.
    h.file.write(await p.crls([], await p.rootCrlRevoking([])));
    await h.watch.poll();
    assert.deepEqual(h.disconnected, []);
    // Root revokes Sub: both go, named by the intermediate.
    h.file.write(await p.crls([], await p.rootCrlRevoking(["Sub"])));
    await h.watch.poll();
    assert.equal(h.disconnected.length, 2);
    for (const line of h.disconnected) {
      assert.match(line, /: CA certificate Sub revoked \(serial [0-9A-F]+\)$/);
    }
  });
});

Deno.test(
  "CrlWatch.reload() rejects a bad file, keeps the CRL, and counts a version's disconnects over its reloads",
  {
    ignore: noOpenssl,
  },
  async () => {
    await inTempDir(async (dir) => {
      const p = await pki(dir);
      const good = await p.crls();
      const h = await harness(p.ca, good, p.clients);
      h.file.write("not a CRL");
      await assert.rejects(
        h.watch.reload(),
        /^Error: CRL \/etc\/tsvpn\/crl\.pem could not be parsed: CRL file holds no CRL; the last good CRL stays in force$/,
      );
      assert.equal(h.watch.text, good);
      // The poll applies the revocation first; an explicit reload of the same version then reports it.
      h.file.write(await p.crls(["alice"]));
      await h.watch.poll();
      assert.equal(await h.watch.reload(), 1);
      assert.equal(h.disconnected.length, 1);
      // An explicit reload re-checks even when nothing changed, and a new version starts a new count.
      h.file.write(await p.crls(["alice", "bob"]));
      assert.equal(await h.watch.reload(), 1);
      assert.deepEqual(h.connected, []);
    });
  },
);

Deno.test("CrlWatch logs an expired CRL with its nextUpdate, when loaded and once when it passes", {
  ignore: noOpenssl,
}, async () => {
  await inTempDir(async (dir) => {
    const p = await pki(dir);
    const expiredSub = pemOfCrl(
      await crlWith(dir, "Sub", { lastUpdate: "20200101000000Z", nextUpdate: "20200201000000Z" }),
    );
    const h = await harness(p.ca, expiredSub + (await p.crls()), []);
    assert.equal(warnings(h).length, 1);
    assert.match(
      warnings(h)[0],
      /CRL has expired: clients it covers are refused until it is renewed issuer="CN=Sub" nextUpdate=2020-02-01T00:00:00Z$/,
    );
    // A current CRL (default_crl_days 30), then the clock passes its nextUpdate.
    const current = await p.crls();
    h.file.write(current);
    await h.watch.poll();
    assert.equal(warnings(h).length, 1);
    h.clock.now = new Date(Date.now() + 31 * 86_400_000);
    await h.watch.poll();
    await h.watch.poll();
    const expired = warnings(h).slice(1);
    assert.equal(expired.length, 2, "Sub's and Root's CRL, each once");
    for (const line of expired) {
      assert.match(line, /CRL has expired: .* nextUpdate=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    }
  });
});
