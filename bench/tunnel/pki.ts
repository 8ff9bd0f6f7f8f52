/**
 * One throwaway PKI per run, made with tsvpn's own CA (ECDSA P-256), used by
 * both OpenVPN and tsvpn contenders: the same certificates on both sides keep
 * the handshake cost comparable.
 */

import { initCa, issueCertificate } from "../../src/pki/ca.ts";
import { SERVER_UNDERLAY } from "./contender.ts";

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

export async function makeBenchPki(dir: string): Promise<BenchPki> {
  await initCa(dir, { commonName: "tsvpn tunnel bench CA" });
  const server = await issueCertificate(dir, { name: SERVER_NAME, type: "server", sans: [SERVER_UNDERLAY] });
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
