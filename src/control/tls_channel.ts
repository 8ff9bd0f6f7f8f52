/**
 * The control channel's TLS engine, picked once per process: `openssl`
 * (libssl through FFI, `tls_openssl.ts`; what OpenVPN runs) whenever
 * libssl.so.3 loads and FFI is permitted, else `node` (Deno's node:tls,
 * `tls_node.ts`). Both keep the same contract (`TlsEndpoint`); certificate
 * checks are the session's in both (src/pki/verify.ts). The environment
 * variable TSVPN_TLS_ENGINE=node|openssl forces one (tests run both).
 *
 * Why libssl by default: a server's idle per-client TLS state is several times
 * smaller there than in node:tls (docs/performance.md, "TLS on libssl"), and
 * its handshakes cost less CPU.
 */

import { libsslStatus } from "../../ffi/libssl.ts";
import { NodeTlsChannel } from "./tls_node.ts";
import { loadOpenSslEngine, OpenSslTlsChannel } from "./tls_openssl.ts";
import type { TlsChannelHandlers, TlsCredentials, TlsEndpoint } from "./tls_types.ts";

export type { TlsChannelHandlers, TlsCredentials, TlsEndpoint, TlsSecureInfo } from "./tls_types.ts";
export { liveTlsChannels } from "./tls_types.ts";

export type TlsEngineName = "openssl" | "node";

let chosen: { engine: TlsEngineName; reason: string } | undefined;

/** The engine this process uses, and why (shown by `tsvpn status`). */
export function tlsEngine(): { engine: TlsEngineName; reason: string } {
  if (chosen) return chosen;
  let forced: string | undefined;
  try {
    forced = Deno.env.get("TSVPN_TLS_ENGINE");
  } catch {
    forced = undefined; // no env permission: the default
  }
  if (forced !== undefined && forced !== "" && forced !== "node" && forced !== "openssl") {
    throw new Error(`TSVPN_TLS_ENGINE=${forced}: use openssl or node`);
  }
  const libssl = libsslStatus();
  if (forced === "node") chosen = { engine: "node", reason: "TSVPN_TLS_ENGINE=node" };
  else if (libssl === null) {
    chosen = { engine: "openssl", reason: forced === "openssl" ? "TSVPN_TLS_ENGINE=openssl" : "libssl.so.3" };
  } else if (forced === "openssl") throw new Error(`TSVPN_TLS_ENGINE=openssl, but ${libssl}`);
  else chosen = { engine: "node", reason: libssl };
  if (chosen.engine === "openssl") loadOpenSslEngine();
  return chosen;
}

/** A TLS channel on `engine` (default: this process's, see tlsEngine()). */
export function createTlsChannel(
  role: "client" | "server",
  creds: TlsCredentials,
  handlers: TlsChannelHandlers,
  engine: TlsEngineName = tlsEngine().engine,
): TlsEndpoint {
  return engine === "openssl"
    ? new OpenSslTlsChannel(role, creds, handlers)
    : new NodeTlsChannel(role, creds, handlers);
}

/** TLS alert descriptions used when tsvpn refuses a peer certificate after the handshake. */
export const ALERT_BAD_CERTIFICATE = 42;
export const ALERT_CERTIFICATE_REVOKED = 44;
export const ALERT_CERTIFICATE_EXPIRED = 45;
export const ALERT_UNKNOWN_CA = 48;

/**
 * A fatal TLS alert record in the clear. Sent after refusing a certificate of
 * a peer whose handshake already completed: OpenSSL fails the connection on
 * it (as a fatal alert or an undecryptable record), so a stock OpenVPN peer
 * gives up at once instead of waiting for its handshake window.
 */
export function fatalAlertRecord(description: number): Uint8Array {
  return Uint8Array.of(21, 3, 3, 0, 2, 2, description & 0xff);
}
