import assert from "node:assert/strict";
import { noOpenssl, openssl } from "../testing/pki/openssl.ts";
import { inTempDir } from "../testing/temp_dir.ts";
import { initCa, issueCertificate, listCertificates, loadCa, parseSan, validateName } from "./ca.ts";
import { verifyPeerCertificate } from "./verify.ts";
import { decodePem } from "./pem.ts";

function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  return inTempDir((dir) => fn(`${dir}/pki`), "tsvpn_ca_");
}

async function mode(path: string): Promise<number> {
  return (await Deno.stat(path)).mode! & 0o777;
}

async function derOf(path: string): Promise<Uint8Array> {
  return decodePem(await Deno.readTextFile(path), "CERTIFICATE")[0];
}

Deno.test("initCa() writes a self-signed CA, a 0600 key, an index and a CRL, and refuses to overwrite", {
  ignore: noOpenssl,
}, async () => {
  await withDir(async (dir) => {
    const cert = await initCa(dir, { commonName: "Example VPN CA" });
    assert.equal(cert.subject, "CN=Example VPN CA");
    assert.equal(await mode(`${dir}/ca.key`), 0o600);
    assert.deepEqual(await listCertificates(dir), []);
    const self = await openssl(["verify", "-CAfile", "ca.crt", "ca.crt"], dir);
    assert.ok(self.ok, self.out);
    const text = await openssl(["x509", "-in", "ca.crt", "-noout", "-text"], dir);
    assert.match(text.out, /CA:TRUE/);
    assert.match(text.out, /Certificate Sign, CRL Sign/);
    assert.match(text.out, /prime256v1/);
    const crl = await openssl(["crl", "-in", "crl.pem", "-CAfile", "ca.crt", "-noout", "-verify"], dir);
    assert.ok(crl.ok && /verify OK/.test(crl.out), crl.out);
    const before = await Deno.readTextFile(`${dir}/ca.key`);
    await assert.rejects(() => initCa(dir), /CA already exists in .*refusing to overwrite/);
    assert.equal(await Deno.readTextFile(`${dir}/ca.key`), before);
  });
});

Deno.test("issueCertificate() makes server and client certificates that openssl verifies for their purpose", {
  ignore: noOpenssl,
}, async () => {
  await withDir(async (dir) => {
    await initCa(dir);
    const server = await issueCertificate(dir, {
      name: "server",
      type: "server",
      sans: ["vpn.example.com", "192.0.2.10", "2001:db8::1"],
    });
    const client = await issueCertificate(dir, { name: "alice", type: "client" });
    assert.equal(server.certPath, `${dir}/server.crt`);
    assert.equal(client.keyPath, `${dir}/alice.key`);
    assert.equal(await mode(client.keyPath), 0o600);
    assert.equal(await mode(server.keyPath), 0o600);
    assert.deepEqual(server.record.sans, ["DNS:vpn.example.com", "IP:192.0.2.10", "IP:2001:db8::1"]);

    const ok = async (purpose: string, file: string) =>
      await openssl(["verify", "-CAfile", "ca.crt", "-purpose", purpose, file], dir);
    assert.ok((await ok("sslserver", "server.crt")).ok);
    assert.ok((await ok("sslclient", "alice.crt")).ok);
    assert.equal((await ok("sslserver", "alice.crt")).ok, false);
    assert.equal((await ok("sslclient", "server.crt")).ok, false);

    const text = (await openssl(["x509", "-in", "server.crt", "-noout", "-text"], dir)).out;
    assert.match(text, /Subject: CN = server/);
    assert.match(text, /DNS:vpn.example.com, IP Address:192.0.2.10, IP Address:2001:DB8:0:0:0:0:0:1/i);
    assert.match(text, /Digital Signature, Key Agreement/);
    assert.match(text, /TLS Web Server Authentication/);

    // The key file holds the private half of the certificate's public key.
    const certPub = await openssl(["x509", "-in", "alice.crt", "-noout", "-pubkey"], dir);
    const keyPub = await openssl(["pkey", "-in", "alice.key", "-pubout"], dir);
    assert.ok(keyPub.ok, keyPub.out);
    assert.equal(keyPub.out, certPub.out);

    const serial = (await openssl(["x509", "-in", "alice.crt", "-noout", "-serial"], dir)).out.trim();
    assert.equal(serial, `serial=${client.record.serial}`);
    assert.match(client.record.serial, /^[0-9A-F]{32}$/);
    assert.notEqual(client.record.serial, server.record.serial);
  });
});

Deno.test("issueCertificate() output passes verifyPeerCertificate() for the matching usage only", async () => {
  await withDir(async (dir) => {
    await initCa(dir);
    await issueCertificate(dir, { name: "srv", type: "server", sans: ["vpn.example.com"] });
    const { record } = await issueCertificate(dir, { name: "bob", type: "client" });
    const ca = await Deno.readTextFile(`${dir}/ca.crt`);
    const crl = await Deno.readTextFile(`${dir}/crl.pem`);
    const bob = await derOf(`${dir}/bob.crt`);
    assert.deepEqual(await verifyPeerCertificate(bob, { ca, crl, usage: "clientAuth" }), {
      ok: true,
      commonName: "bob",
      serial: record.serial,
    });
    const srv = await derOf(`${dir}/srv.crt`);
    const r = await verifyPeerCertificate(srv, {
      ca,
      crl,
      usage: "serverAuth",
      expectedName: "vpn.example.com",
    });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(await verifyPeerCertificate(srv, { ca, usage: "clientAuth" }), {
      ok: false,
      reason: "certificate lacks extended key usage TLS Web Client Authentication",
    });
    // A second CA's certificates are foreign to the first.
    await initCa(`${dir}2`);
    await issueCertificate(`${dir}2`, { name: "bob", type: "client" });
    assert.deepEqual(
      await verifyPeerCertificate(await derOf(`${dir}2/bob.crt`), { ca, usage: "clientAuth" }),
      {
        ok: false,
        reason: "certificate not signed by the configured CA",
      },
    );
    await Deno.remove(`${dir}2`, { recursive: true });
  });
});

Deno.test("initCa() with P-384 signs with ECDSA SHA-384 and loadCa() reads it back", {
  ignore: noOpenssl,
}, async () => {
  await withDir(async (dir) => {
    await initCa(dir, { curve: "P-384" });
    const ca = await loadCa(dir);
    assert.equal(ca.curve, "P-384");
    await issueCertificate(dir, { name: "c1", type: "client" });
    const text = (await openssl(["x509", "-in", "c1.crt", "-noout", "-text"], dir)).out;
    assert.match(text, /ecdsa-with-SHA384/);
    assert.match(text, /secp384r1/);
    assert.ok((await openssl(["verify", "-CAfile", "ca.crt", "-purpose", "sslclient", "c1.crt"], dir)).ok);
  });
});

Deno.test("issueCertificate() refuses an existing name, a bad name, client SANs and a missing CA", async () => {
  await withDir(async (dir) => {
    await assert.rejects(
      () => issueCertificate(dir, { name: "a", type: "client" }),
      /No CA in .*tsvpn pki init/,
    );
    await initCa(dir);
    const first = await issueCertificate(dir, { name: "alice", type: "client" });
    const keyBefore = await Deno.readTextFile(first.keyPath);
    await assert.rejects(
      () => issueCertificate(dir, { name: "alice", type: "server" }),
      new RegExp(`A client certificate named "alice" already exists \\(serial ${first.record.serial}\\)`),
    );
    assert.equal(await Deno.readTextFile(first.keyPath), keyBefore);
    await assert.rejects(
      () => issueCertificate(dir, { name: "../x", type: "client" }),
      /Invalid name "..\/x"/,
    );
    await assert.rejects(() => issueCertificate(dir, { name: "ca", type: "client" }), /reserved/);
    await assert.rejects(
      () => issueCertificate(dir, { name: "b", type: "client", sans: ["x.example"] }),
      /alternative names are for server certificates/,
    );
    assert.equal((await listCertificates(dir)).length, 1);
  });
});

Deno.test("parseSan() tells IP addresses from DNS names and rejects junk", () => {
  assert.deepEqual(parseSan("10.1.2.3"), { type: "ip", value: "10.1.2.3" });
  assert.deepEqual(parseSan("fd00::1"), { type: "ip", value: "fd00::1" });
  assert.deepEqual(parseSan("IP:10.0.0.1"), { type: "ip", value: "10.0.0.1" });
  assert.deepEqual(parseSan("vpn.example.com"), { type: "dns", value: "vpn.example.com" });
  assert.deepEqual(parseSan("DNS:*.example.com"), { type: "dns", value: "*.example.com" });
  assert.throws(() => parseSan("IP:999.1.1.1"), /Invalid IP address in SAN "IP:999.1.1.1"/);
  assert.throws(() => parseSan("bad name"), /Invalid DNS name/);
});

Deno.test("validateName() accepts file-safe names only", () => {
  validateName("alice-laptop_2.home");
  assert.throws(() => validateName(""), /Invalid name/);
  assert.throws(() => validateName(".hidden"), /Invalid name/);
  assert.throws(() => validateName("a/b"), /Invalid name/);
  assert.throws(() => validateName("tc"), /reserved/);
});

Deno.test("issueCertificate() certificates complete a mutual node:tls handshake on loopback and verify", async () => {
  const tls = await import("node:tls");
  await withDir(async (dir) => {
    await initCa(dir);
    await issueCertificate(dir, { name: "server", type: "server", sans: ["vpn.example.com"] });
    await issueCertificate(dir, { name: "alice", type: "client" });
    const r = (f: string) => Deno.readTextFileSync(`${dir}/${f}`);
    const ca = r("ca.crt");
    const crl = r("crl.pem");
    let serverSide: unknown;
    const server = tls.createServer(
      { key: r("server.key"), cert: r("server.crt"), ca, requestCert: true, rejectUnauthorized: false },
      (sock) => {
        const peer = sock.getPeerCertificate(true);
        // A Buffer from a shared pool, as node:tls hands it out.
        verifyPeerCertificate(peer.raw, { ca, crl, usage: "clientAuth" }).then((v) => {
          serverSide = v;
          sock.end("bye");
        });
      },
    );
    try {
      const clientSide = await new Promise<unknown>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("handshake timed out")), 10_000);
        server.listen(0, "127.0.0.1", () => {
          const port = (server.address() as { port: number }).port;
          const c = tls.connect({
            host: "127.0.0.1",
            port,
            key: r("alice.key"),
            cert: r("alice.crt"),
            ca,
            servername: "vpn.example.com",
          }, () => {
            const raw = c.getPeerCertificate(true).raw;
            verifyPeerCertificate(new Uint8Array(raw), {
              ca,
              usage: "serverAuth",
              expectedName: "vpn.example.com",
            })
              .then((v) => {
                c.on("end", () => {
                  clearTimeout(timer);
                  resolve(v);
                });
                c.resume();
              });
          });
          c.on("error", (e) => {
            clearTimeout(timer);
            reject(e);
          });
        });
      });
      assert.equal((clientSide as { ok: boolean; commonName: string }).commonName, "server");
      assert.equal((serverSide as { ok: boolean; commonName: string }).commonName, "alice");
      assert.equal((serverSide as { ok: boolean }).ok, true);
    } finally {
      await new Promise((res) => server.close(res));
    }
  });
});
