/**
 * The steps only a client takes (RoleSteps), in protocol order: it opens the session with a hard reset,
 * sends its key-method 2 first, and once key-id 0 is active asks for the push (PUSH_REQUEST, repeated)
 * that names the data cipher; the key block is held until then. The reply is screened (screenPush) and
 * its cipher checked against our data-ciphers, or read from the server's options string when the reply
 * names none. The server's AUTH_FAILED, RESTART and HALT end the session.
 */

import { controlMessageArgument, type ControlMessageKind } from "./control_message.ts";
import type { KeyState } from "./key_state.ts";
import { acceptPushedCipher, type DataCipher, optionsStringCipher } from "./ncp.ts";
import { P_CONTROL_HARD_RESET_CLIENT_V2 } from "./opcode.ts";
import { PushRequester } from "./push_exchange.ts";
import { parsePushOptions, type PushOptions, pushReplyOptions } from "./push_options.ts";
import type { RoleSteps, SessionCore } from "./session_core.ts";

export class ClientSteps implements RoleSteps {
  readonly #core: SessionCore;
  readonly #push: PushRequester;
  /** key2 of key-id 0, held until the PUSH_REPLY names the cipher. */
  #heldKey2: Uint8Array | null = null;

  constructor(core: SessionCore) {
    this.#core = core;
    this.#push = new PushRequester(core.options.pushRequestIntervalMs);
  }

  /** Sends the hard reset that opens the session (once). */
  start(): void {
    const keys = this.#core.keys;
    if (keys.all.length > 0) return;
    keys.open(0).reliable.sendMessage(P_CONTROL_HARD_RESET_CLIENT_V2);
    this.#core.scheduleFlush();
  }

  certificateVerified(ks: KeyState): void {
    this.#core.sendKeyMethod2(ks);
  }

  keyMethod2Received(_ks: KeyState, _initial: boolean, ready: () => void): void {
    ready();
  }

  firstKeyReady(_ks: KeyState, key2: Uint8Array): void {
    this.#heldKey2 = key2;
    this.#requestPush();
  }

  controlMessage(_ks: KeyState, kind: ControlMessageKind, text: string): boolean {
    const core = this.#core;
    switch (kind) {
      case "PUSH_REPLY":
        this.#receivePushReply(text);
        return true;
      case "AUTH_FAILED": {
        const why = controlMessageArgument(text, kind);
        core.fatal("auth-failed", `server refused authentication${why ? ": " + why : ""}`);
        return true;
      }
      case "RESTART":
      case "HALT":
        core.emit("message", { kind, text });
        core.closeOnGoodbye(kind === "HALT" ? "halt" : "restart", `server sent ${text}`);
        return true;
      default:
        return false;
    }
  }

  get pushRequestAt(): number {
    return this.#push.nextRequestAt;
  }

  expiredPushRequest(): void {
    this.#requestPush();
    this.#core.flushSoon();
  }

  #requestPush(): void {
    const ks = this.#core.keys.primary;
    if (!ks || this.#push.replied) return;
    this.#core.sendMessage(ks, "PUSH_REQUEST");
    this.#push.requested(this.#core.clock.now());
  }

  #receivePushReply(text: string): void {
    const core = this.#core;
    if (this.#push.replied) {
      // OpenVPN servers renew an auth-token with a later "PUSH_REPLY,auth-token …"; nothing else is taken.
      this.#takeAuthToken(pushReplyOptions(text));
      return;
    }
    const received = this.#push.add(text);
    if (received === "overflow") {
      core.fatal("protocol", "server sent a PUSH_REPLY longer than we accept");
      return;
    }
    if (!received) return;
    const kept = this.#takeAuthToken(received);
    const raw = core.options.screenPush ? core.options.screenPush(kept) : kept;
    if (!Array.isArray(raw)) {
      core.fatal("protocol", raw.reject);
      return;
    }
    const options = parsePushOptions(raw);
    const cipher = this.#acceptCipher(options);
    if (!cipher) return;
    core.agreed.cipher = cipher;
    core.agreed.peerCcExit = (options.protocolFlags ?? []).includes("cc-exit");
    this.#push.done();
    core.emit("pushReply", { options, raw });
    const ks = core.keys.primary!;
    const key2 = this.#heldKey2;
    this.#heldKey2 = null;
    if (key2) core.emit("key", { keyId: ks.keyId, key2, cipher, role: core.role, initial: true });
  }

  /**
   * Hands a pushed `auth-token` to the client (options.authToken) and removes it and `auth-token-user`:
   * a credential is never parsed, screened, logged or shown.
   */
  #takeAuthToken(options: string[]): string[] {
    const rest: string[] = [];
    for (const o of options) {
      const token = /^auth-token\s+(\S+)\s*$/.exec(o);
      if (token) this.#core.options.authToken?.(token[1]);
      else if (!/^auth-token(-user)?(\s|$)/.test(o)) rest.push(o);
    }
    return rest;
  }

  /**
   * The pushed cipher, or (none pushed) the one the server's options string names, when it is one of our
   * data-ciphers; null after failing the session.
   */
  #acceptCipher(options: PushOptions): DataCipher | null {
    const core = this.#core;
    if (options.cipher) {
      const pushed = acceptPushedCipher(options.cipher, core.ciphers);
      if (!pushed) {
        core.fatal("protocol", `server pushed cipher ${options.cipher} which is not in our data-ciphers`);
      }
      return pushed;
    }
    const fromOptions = optionsStringCipher(core.keys.primary?.remote?.options ?? "");
    const cipher = fromOptions ? acceptPushedCipher(fromOptions, core.ciphers) : null;
    if (!cipher) core.fatal("protocol", "server pushed no usable cipher");
    return cipher;
  }
}
