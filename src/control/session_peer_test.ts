import assert from "node:assert/strict";
import { decodePem } from "../pki/pem.ts";
import { noOpenssl, openssl } from "../testing/pki/openssl.ts";
import { ControlSession } from "./session.ts";
import { createTestPki } from "../testing/control/pki.ts";
import type { TlsCredentials } from "./tls_channel.ts";
import { pkiVerifier } from "./verifier.ts";

async function run(args: string[], cwd: string): Promise<void> {
  const r = await openssl(args, cwd);
  if (!r.ok) throw new Error(`openssl ${args.join(" ")} failed: ${r.out}`);
}

/** Issues DIR/NAME.crt (CN `cn`) from DIR/CA.crt + CA.key with the extension lines `ext`. */
async function opensslIssue(dir: string, ca: string, name: string, cn: string, ext: string[]): Promise<void> {
  const curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"];
  await run([
    "req",
    "-new",
    "-nodes",
    ...curve,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    `/CN=${cn}`,
  ], dir);
  await Deno.writeTextFile(`${dir}/${name}.ext`, ext.join("\n") + "\n");
  await run([
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "30",
    "-extfile",
    `${name}.ext`,
    "-set_serial",
    "0x77",
  ], dir);
}

function waitFor<T>(p: Promise<T>, what: string): Promise<T> {
  let id: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(id)),
    new Promise<T>((_, reject) =>
      id = setTimeout(() => reject(new Error(`Timed out waiting for ${what}`)), 10_000)
    ),
  ]);
}

Deno.test({
  name: "ControlSession.peer holds the certificate and chain of the latest renegotiation",
  ignore: noOpenssl,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const pki = await createTestPki();
    const dir = `${pki.dir}/ca`;
    // A second "client1" certificate, issued below an intermediate CA and sent with it.
    await opensslIssue(dir, "ca", "sub", "Issuing CA", [
      "basicConstraints=critical,CA:TRUE",
      "keyUsage=critical,keyCertSign",
    ]);
    await opensslIssue(dir, "sub", "client1-new", "client1", [
      "basicConstraints=CA:FALSE",
      "keyUsage=digitalSignature",
      "extendedKeyUsage=clientAuth",
    ]);
    const read = (f: string) => Deno.readTextFile(`${dir}/${f}`);
    const creds: TlsCredentials = { ...pki.client };
    let server: ControlSession | null = null;
    const client = new ControlSession({
      role: "client",
      credentials: creds,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
      send: (b) => setTimeout(() => server!.receive(b), 0),
    });
    server = new ControlSession({
      role: "server",
      credentials: pki.server,
      verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "clientAuth" }),
      send: (b) => setTimeout(() => client.receive(b), 0),
      peerId: 1,
      pushOptions: () => ({ topology: "subnet" }),
    });
    try {
      const first = Promise.all([server.once("key"), client.once("key")]);
      client.start();
      await waitFor(first, "first keys on both sides");
      assert.deepEqual(server.peer?.certificate, decodePem(pki.client.cert, "CERTIFICATE")[0]);
      const subDer = decodePem(await read("sub.crt"), "CERTIFICATE")[0];
      const hasSub = () =>
        server!.peer!.chain.some((c) => c.length === subDer.length && c.every((b, i) => b === subDer[i]));
      assert.equal(hasSub(), false);
      creds.cert = (await read("client1-new.crt")) + (await read("sub.crt"));
      creds.key = await read("client1-new.key");
      const second = server.once("key");
      assert.equal(client.renegotiate(), true);
      assert.equal((await waitFor(second, "renegotiated key")).keyId, 1);
      assert.equal(server.peer?.commonName, "client1");
      assert.equal(server.peer?.serial, "77");
      assert.deepEqual(server.peer?.certificate, decodePem(await read("client1-new.crt"), "CERTIFICATE")[0]);
      // node:tls reports the chain as verified, so the configured CA may follow the intermediate.
      assert.deepEqual(server.peer?.chain[0], subDer);
      assert.equal(hasSub(), true);
    } finally {
      client.close("test done", false);
      server.close("test done", false);
      await pki.cleanup();
    }
  },
});
