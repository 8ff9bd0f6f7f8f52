/**
 * How a closed control session ends a connection attempt: the server's HALT,
 * RESTART and AUTH_FAILED map to their own ends (backoff.ts treats each
 * differently); anything else failed the attempt before the push, or lost a
 * working tunnel after it.
 */

import type { SessionEnd } from "../control/session.ts";
import type { ConnectionEnd } from "./connection_types.ts";

/** Where the attempt stood when its session closed. */
export interface AttemptState {
  /** A PUSH_REPLY arrived. */
  pushed: boolean;
  /** The TLS handshake completed. */
  established: boolean;
  /** How long the tunnel was up (0 if never). */
  upForMs: number;
  /** A username/password was sent, so AUTH_FAILED may mean either it or the certificate. */
  withPassword: boolean;
}

/** The attempt's end for session end `e` (session_end.ts). */
export function connectionEndOf(e: SessionEnd, at: AttemptState): ConnectionEnd {
  switch (e.kind) {
    case "halt":
      return { kind: "halt", reason: `the ${e.reason}` };
    case "restart":
      return { kind: "server-restart", reason: `the ${e.reason}`, upForMs: at.upForMs };
    case "auth-failed":
      return {
        kind: "auth-failed",
        reason: `The server refused our ${
          at.withPassword ? "password or " : ""
        }certificate (AUTH_FAILED): ${e.reason}`,
      };
  }
  if (!at.pushed) {
    const tls = at.established || e.kind === "timeout" ? "" : "TLS handshake failed: ";
    return { kind: "failed", reason: `${tls}${e.reason}` };
  }
  return { kind: "lost", reason: `control channel closed: ${e.reason}`, upForMs: at.upForMs };
}
