/**
 * A tsvpn client session joined to a ControlListener over an in-memory UDP
 * path, shared by the listener tests. Each direction hops a macrotask, as a
 * real socket would, so neither side re-enters the other.
 */

import { createControlWrap } from "../../control/control_wrap.ts";
import type { ControlListener } from "../../control/listener.ts";
import { ControlSession } from "../../control/session.ts";
import type { TestPki } from "./pki.ts";
import { pkiVerifier } from "../../control/verifier.ts";

export interface ListenerClientOptions {
  /** The client's tls-crypt key (the listener's, unless testing a wrong one). */
  wrapKey: Uint8Array;
  /** Client packets this returns true for are lost on the way. */
  drop?: (packet: Uint8Array) => boolean;
  /** The client's TLS retransmit timeout. */
  tlsTimeoutMs?: number;
}

export function listenerUdpClient(
  listener: ControlListener,
  endpoint: string,
  pki: TestPki,
  options: ListenerClientOptions,
): ControlSession {
  // deno-lint-ignore prefer-const
  let client: ControlSession;
  const reply = (p: Uint8Array) => setTimeout(() => client.receive(p), 0);
  client = new ControlSession({
    role: "client",
    credentials: pki.client,
    verifyPeer: pkiVerifier({ ca: pki.caPem, usage: "serverAuth" }),
    wrap: createControlWrap({ mode: "tls-crypt", key: options.wrapKey }, "client"),
    ...(options.tlsTimeoutMs === undefined ? {} : { tlsTimeoutMs: options.tlsTimeoutMs }),
    send: (p) => {
      if (options.drop?.(p)) return;
      setTimeout(() => listener.handlePacket("udp", endpoint, endpoint, reply, p), 0);
    },
  });
  return client;
}
