/**
 * The client's keys and the checks it makes on the server, read once per
 * run: the CA, certificate and key for TLS, the CRL and expected server name
 * for verifying the server, and the tls-crypt / tls-auth key that wraps the
 * control channel (a fresh wrap per session: tls-crypt keeps per-session state).
 */

import { readPemSource } from "../config/pem_source.ts";
import type { ClientConfig } from "../config/schema.ts";
import { type ControlWrap, createControlWrap } from "../control/control_wrap.ts";
import type { PeerVerifier } from "../control/session.ts";
import type { TlsCredentials } from "../control/tls_channel.ts";
import { pkiVerifier } from "../control/verifier.ts";
import { parseStaticKey } from "../pki/static_key.ts";

export interface ClientPki {
  credentials: TlsCredentials;
  makeWrap: () => ControlWrap | undefined;
  verifyPeer: PeerVerifier;
}

/** Reads every key file the configuration names; a file that cannot be read rejects. */
export async function loadClientPki(config: ClientConfig): Promise<ClientPki> {
  const [ca, cert, key] = await Promise.all([
    readPemSource(config.pki.ca),
    readPemSource(config.pki.cert),
    readPemSource(config.pki.key),
  ]);
  const crl = config.pki.crl ? await readPemSource(config.pki.crl) : undefined;
  const makeWrap = await wrapFactory(config);
  const verifyPeer = pkiVerifier({
    ca,
    crl,
    usage: "serverAuth",
    expectedName: config.serverName ?? undefined,
  });
  return { credentials: { ca, cert, key }, makeWrap, verifyPeer };
}

async function wrapFactory(config: ClientConfig): Promise<() => ControlWrap | undefined> {
  if (config.pki.tlsCrypt) {
    const key = parseStaticKey(await readPemSource(config.pki.tlsCrypt));
    return () => createControlWrap({ mode: "tls-crypt", key }, "client");
  }
  const tlsAuth = config.pki.tlsAuth;
  if (tlsAuth) {
    const key = parseStaticKey(await readPemSource(tlsAuth.key));
    return () =>
      createControlWrap(
        { mode: "tls-auth", key, digest: tlsAuth.digest, direction: tlsAuth.direction ?? undefined },
        "client",
      );
  }
  return () => undefined;
}
