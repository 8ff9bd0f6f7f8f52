/**
 * Handshake outcomes and renegotiations, counted from each control session's
 * events for the metrics (src/ops/metrics.ts): a session that installs its
 * first data key is a handshake that succeeded; one that closes before that
 * failed, by the machine-readable end kind (control/session_end.ts); every
 * later data key is a renegotiation.
 */

import type { ControlSession } from "../control/session.ts";

export class HandshakeTally {
  succeeded = 0;
  renegotiations = 0;
  /** Failed handshakes by SessionEndKind ("verify", "tls", "timeout", "auth-failed", ...). */
  readonly failed = new Map<string, number>();

  /** Counts `session`'s outcome; call once, before its first packet. */
  watch(session: ControlSession): void {
    let keyed = false;
    session.on("key", (k) => {
      if (k.initial && !keyed) this.succeeded++;
      else this.renegotiations++;
      keyed = true;
    });
    session.on("closed", (e) => {
      if (!keyed) this.failed.set(e.kind, (this.failed.get(e.kind) ?? 0) + 1);
    });
  }
}
