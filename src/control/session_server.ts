/**
 * The steps only a server takes (RoleSteps), in protocol order: a session may start past the reset
 * exchange (cookie-started, reset_cookie.ts); at a new peer's first key-method 2 the server authorizes it
 * (`authorize`) and chooses the data cipher (ncp.ts), then answers with its own key-method 2, or with
 * AUTH_FAILED; a PUSH_REQUEST is answered with the options the server decides (`pushOptions`) plus what
 * the session negotiated (push_exchange.ts). The client's EXIT ends the session.
 */

import type { ControlMessageKind } from "./control_message.ts";
import type { KeyState } from "./key_state.ts";
import { selectCipher } from "./ncp.ts";
import { negotiatedPushOptions, PushResponder } from "./push_exchange.ts";
import { buildPushReplies, type PushOptions } from "./push_options.ts";
import type { RoleSteps, SessionCore } from "./session_core.ts";
import {
  type AuthDecision,
  type AuthRequest,
  type ControlSessionOptions,
  type PeerIdentity,
  PushRefused,
} from "./session_types.ts";

/** How long AUTH_FAILED has to reach the refused client before the session ends. */
const AUTH_FAILED_GRACE_MS = 1000;

type Authorize = NonNullable<ControlSessionOptions["authorize"]>;

/** AUTH_FAILED text: the reason may quote peer-chosen names, and NUL/comma/newline would break the message. */
function authFailedMessage(reason: string): string {
  return reason === "" ? "AUTH_FAILED" : `AUTH_FAILED,${reason.replace(/[,\0\r\n]/g, " ")}`;
}

export class ServerSteps implements RoleSteps {
  readonly #core: SessionCore;
  readonly #push = new PushResponder();
  /** Why the client was refused; a PUSH_REQUEST gets AUTH_FAILED again. */
  #refusal: string | null = null;

  constructor(core: SessionCore) {
    this.#core = core;
  }

  /**
   * The peer's reset was answered statelessly and it proved it received the answer (reset_cookie.ts):
   * key-id 0 starts with message 0 done in both directions; the answer did not acknowledge the peer's
   * reset (it may not outweigh it), so the session's first packet does.
   */
  resumeAnsweredReset(r: { remoteSessionId: Uint8Array; packetId: number }): void {
    this.#core.wire.resume(r.remoteSessionId, r.packetId);
    const ks = this.#core.keys.open(0, 1);
    ks.peerResetSeen = true;
    ks.reliable.owesAck(0);
  }

  certificateVerified(_ks: KeyState): void {}

  keyMethod2Received(ks: KeyState, initial: boolean, ready: () => void): void | Promise<void> {
    if (!initial) {
      const reauthorize = this.#core.options.reauthorize;
      if (reauthorize) return this.#reauthorize(ks, reauthorize, ready);
      this.#core.sendKeyMethod2(ks);
      ready();
      return;
    }
    const authorize = this.#core.options.authorize;
    if (authorize) return this.#authorize(ks, authorize, ready);
    if (this.#admit(ks, { ok: true })) ready();
  }

  firstKeyReady(ks: KeyState, key2: Uint8Array): void {
    const core = this.#core;
    core.emit("key", { keyId: ks.keyId, key2, cipher: core.agreed.cipher!, role: core.role, initial: true });
  }

  controlMessage(ks: KeyState, kind: ControlMessageKind, _text: string): boolean {
    const core = this.#core;
    switch (kind) {
      case "PUSH_REQUEST":
        this.#answerPushRequest(ks).catch((e) =>
          core.fatal("internal", `push reply failed: ${(e as Error)?.message ?? e}`)
        );
        return true;
      case "EXIT":
        core.closeOnGoodbye("exit", "client sent EXIT");
        return true;
      default:
        return false;
    }
  }

  get pushRequestAt(): number {
    return Infinity;
  }

  expiredPushRequest(): void {}

  async #authorize(ks: KeyState, authorize: Authorize, ready: () => void): Promise<void> {
    const decision = await this.#decide(ks, true, authorize);
    if (this.#admit(ks, decision)) ready();
  }

  /**
   * A renegotiation's key becomes active only once the client re-authenticated (with its password or
   * auth-token); a refusal is AUTH_FAILED and the end of the session, as OpenVPN does.
   */
  async #reauthorize(ks: KeyState, reauthorize: Authorize, ready: () => void): Promise<void> {
    const core = this.#core;
    const known = this.#peer.username;
    const presented = ks.remote!.username;
    const decision: AuthDecision = known !== "" && presented !== known
      ? { ok: false, reason: "username changed during renegotiation" }
      : await this.#decide(ks, false, reauthorize);
    if (ks.phase === "failed" || core.closed) return;
    core.sendKeyMethod2(ks);
    if (decision.ok) {
      ready();
      return;
    }
    this.#refusal = decision.reason;
    core.log?.warn("client refused at renegotiation", { cn: this.#peer.commonName, reason: decision.reason });
    // On the new key: a stock client reads control messages from its newest key once it is active.
    core.sendMessage(ks, authFailedMessage(decision.reason));
    core.failKey(ks, "auth-failed", `client refused: ${decision.reason}`, AUTH_FAILED_GRACE_MS);
  }

  async #decide(ks: KeyState, initial: boolean, hook: Authorize): Promise<AuthDecision> {
    const remote = ks.remote!;
    const request: AuthRequest = {
      username: remote.username,
      password: remote.password,
      keyId: ks.keyId,
      initial,
    };
    try {
      return await hook(this.#peer, request);
    } catch (e) {
      return { ok: false, reason: `authorization failed: ${(e as Error).message}` };
    }
  }

  /**
   * Answers a new peer's key-method 2 with ours, and when it is refused or shares no data cipher with us,
   * AUTH_FAILED after it. True when the peer is admitted.
   */
  #admit(ks: KeyState, decision: AuthDecision): boolean {
    const core = this.#core;
    if (ks.phase === "failed" || core.closed) return false;
    let verdict = decision;
    if (verdict.ok) {
      const cipher = selectCipher(core.ciphers, this.#peer.peerInfo, ks.remote!.options);
      if (!cipher) verdict = { ok: false, reason: "no common data cipher" };
      else core.agreed.cipher = cipher;
    }
    core.sendKeyMethod2(ks);
    if (verdict.ok) return true;
    this.#refusal = verdict.reason;
    core.log?.warn("client refused", { cn: this.#peer.commonName, reason: verdict.reason });
    core.sendMessage(ks, authFailedMessage(verdict.reason));
    core.failKey(ks, "auth-failed", `client refused: ${verdict.reason}`, AUTH_FAILED_GRACE_MS);
    return false;
  }

  async #answerPushRequest(ks: KeyState): Promise<void> {
    const core = this.#core;
    if (this.#refusal) {
      core.sendMessage(ks, authFailedMessage(this.#refusal));
      return;
    }
    if (!core.agreed.established || !this.#push.mayAnswer(core.clock.now())) return;
    this.#push.building();
    let options: PushOptions = {};
    try {
      options = core.options.pushOptions ? await core.options.pushOptions(this.#peer) : {};
    } catch (e) {
      this.#push.built();
      if (e instanceof PushRefused) this.#refuseAtPush(ks, e.message);
      else core.fatal("internal", `push options failed: ${(e as Error).message}`);
      return;
    }
    this.#push.built();
    if (core.closed) return;
    const reply = negotiatedPushOptions(options, {
      peerId: core.options.peerId,
      cipher: core.agreed.cipher!,
      peerCcExit: core.agreed.peerCcExit,
    });
    const target = core.keys.primary ?? ks;
    for (const part of buildPushReplies(reply, core.options.pushChunk)) core.sendMessage(target, part);
    this.#push.replied(core.clock.now());
    core.flushSoon();
  }

  /** The server refused the client while building its push reply: AUTH_FAILED, then the session ends. */
  #refuseAtPush(ks: KeyState, reason: string): void {
    const core = this.#core;
    if (core.closed) return;
    this.#refusal = reason;
    core.log?.warn("client refused", { cn: this.#peer.commonName, reason });
    const target = core.keys.primary ?? ks;
    core.sendMessage(target, authFailedMessage(reason));
    core.failKey(target, "auth-failed", `client refused: ${reason}`, AUTH_FAILED_GRACE_MS);
  }

  /** The verified peer: set before any key-method 2 is read. */
  get #peer(): PeerIdentity {
    return this.#core.agreed.peer!;
  }
}
