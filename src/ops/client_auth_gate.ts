/**
 * What the server asks an external authenticator (OpenVPN's --management-client-auth) and tells it.
 * The management interface implements it (management_client_auth.ts); the server's user_auth.ts
 * awaits `decide` for every new session (CONNECT) and renegotiation (REAUTH).
 */

/** `config`: the client-connect lines sent after `client-auth` (OpenVPN's ccd syntax), empty for client-auth-nt. */
export type GateDecision = { ok: true; config: string[] } | { ok: false; reason: string };

export interface ClientAuthGate {
  /**
   * Client `cid` (key `kid`) waits for `client-auth`/`client-auth-nt`/`client-deny`; `env` is OpenVPN's
   * ENV block. Resolves with the decision; `cancel()` (the session ended) resolves it as denied.
   */
  decide(
    kind: "CONNECT" | "REAUTH",
    cid: number,
    kid: number,
    env: Record<string, string>,
  ): Promise<GateDecision>;
  /** The client's data channel is up (>CLIENT:ESTABLISHED). */
  established(cid: number, env: Record<string, string>): void;
  /** The client is gone (>CLIENT:DISCONNECT); a pending decision for it is withdrawn. */
  disconnected(cid: number, env: Record<string, string>): void;
}
