/**
 * Test support: a three-level PKI made with the openssl CLI — root CA →
 * intermediate CA → server and client leaves — for checks that involve the
 * untrusted intermediates a peer sends after its own certificate.
 */

import { createPrivateKey, type KeyObject } from "node:crypto";
import { issue, selfSignedCa } from "../../src/testing/pki/certs.ts";

export interface ChainLeaf {
  der: Uint8Array;
  key: KeyObject;
}

export interface ChainPki {
  dir: string;
  rootPem: string;
  intermediate: Uint8Array;
  server: ChainLeaf;
  client: ChainLeaf;
  cleanup(): Promise<void>;
}

export async function createChainPki(): Promise<ChainPki> {
  const dir = await Deno.makeTempDir({ prefix: "tsvpn_chain_pki_" });
  await selfSignedCa(dir, "root", "p256");
  const intermediate = await issue(dir, "root", "intermediate", {
    ext: ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"],
  });
  const leaf = async (name: string, usage: string, san: string[]): Promise<ChainLeaf> => {
    const cert = await issue(dir, "intermediate", name, {
      ext: [
        "basicConstraints=CA:FALSE",
        "keyUsage=critical,digitalSignature",
        `extendedKeyUsage=${usage}`,
        ...san,
      ],
    });
    return { der: cert.der, key: createPrivateKey(await Deno.readTextFile(`${dir}/${name}.key`)) };
  };
  return {
    dir,
    rootPem: await Deno.readTextFile(`${dir}/root.crt`),
    intermediate: intermediate.der,
    server: await leaf("server", "serverAuth", ["subjectAltName=DNS:server"]),
    client: await leaf("client1", "clientAuth", []),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
}
