/**
 * One throwaway PKI per run, made with tsvpn's own CA (ECDSA P-256), used by
 * both OpenVPN and tsvpn contenders: the same certificates on both sides keep
 * the handshake cost comparable.
 */

import { initCa, issueCertificate } from "../../src/pki/ca.ts";

export interface BenchPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

export const SERVER_NAME = "bench-server";
export const CLIENT_NAME = "bench-client";

/** `serverAddress` goes into the server certificate's subjectAltName (clients that check it dial it). */
export async function makeBenchPki(dir: string, serverAddress: string): Promise<BenchPki> {
  await initCa(dir, { commonName: "tsvpn tunnel bench CA" });
  const server = await issueCertificate(dir, { name: SERVER_NAME, type: "server", sans: [serverAddress] });
  const client = await issueCertificate(dir, { name: CLIENT_NAME, type: "client" });
  return {
    dir,
    ca: `${dir}/ca.crt`,
    serverCert: server.certPath,
    serverKey: server.keyPath,
    clientCert: client.certPath,
    clientKey: client.keyPath,
  };
}
