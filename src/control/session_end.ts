/**
 * Why a ControlSession ended (or is about to): the machine-readable `kind`
 * carried by its `error` and `closed` events next to the human `reason`.
 * Listeners decide on `kind` (reconnect policy, counters); `reason` is for logs
 * and its wording may change.
 *
 * | kind          | the session ended because                                                     |
 * | ------------- | ----------------------------------------------------------------------------- |
 * | `local`       | close() was called on this side                                               |
 * | `exit`        | server: the client sent EXIT (it is going away)                               |
 * | `restart`     | client: the server sent RESTART (it is restarting or shutting down)           |
 * | `halt`        | client: the server sent HALT (do not reconnect)                               |
 * | `auth-failed` | client: the server sent AUTH_FAILED; server: authorize() refused the client    |
 * | `verify`      | this side refused the peer's certificate (chain, dates, EKU, CRL, name, CN)   |
 * | `tls`         | the TLS layer failed (handshake error, fatal alert from the peer)             |
 * | `timeout`     | the peer stopped answering: --hand-window expired, or control packets stayed |
 * |               | unacknowledged past the send backlog cap                                      |
 * | `protocol`    | the peer broke the protocol (bad key-method 2, unexpected packets, oversized   |
 * |               | messages or PUSH_REPLY, an unacceptable pushed cipher, a pushed option the    |
 * |               | client's screenPush rejected, e.g. by a pull_filter reject rule)              |
 * | `internal`    | a callback or our own code failed (send, pushOptions, a bug reached by input) |
 */

export type SessionEndKind =
  | "local"
  | "exit"
  | "restart"
  | "halt"
  | "auth-failed"
  | "verify"
  | "tls"
  | "timeout"
  | "protocol"
  | "internal";

/** Payload of ControlSession's `error` and `closed` events. */
export interface SessionEnd {
  kind: SessionEndKind;
  reason: string;
}
