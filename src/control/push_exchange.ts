/**
 * The push exchange that follows key-id 0 (OpenVPN push.c): the client sends PUSH_REQUEST and repeats it
 * until a reply arrives; the server answers with PUSH_REPLY, split into parts of at most `pushChunk`
 * bytes joined by push-continuation (push_options.ts), which the client collects into one option list.
 *
 * This file keeps the exchange's bookkeeping both ways. What goes into the reply is the server's step
 * (session_server.ts); what the client accepts from it is the client's (session_client.ts).
 */

import type { DataCipher } from "./ncp.ts";
import { type PushOptions, PushReplyAssembler } from "./push_options.ts";

/** Repeated PUSH_REQUESTs are ignored this long after a PUSH_REPLY (OpenVPN push.c sent_push_reply_expiry). */
export const PUSH_REPLY_HOLDOFF_MS = 30_000;
const DEFAULT_PUSH_REQUEST_INTERVAL_MS = 2000;

/** Client side: when PUSH_REQUEST goes out again, and the parts of the reply so far. */
export class PushRequester {
  readonly #intervalMs: number;
  readonly #parts = new PushReplyAssembler();
  #replied = false;
  #nextRequestAt = Infinity;

  constructor(intervalMs = DEFAULT_PUSH_REQUEST_INTERVAL_MS) {
    this.#intervalMs = intervalMs;
  }

  /** True once a reply was accepted. */
  get replied(): boolean {
    return this.#replied;
  }

  /** When PUSH_REQUEST is repeated; Infinity before the first request and after the reply. */
  get nextRequestAt(): number {
    return this.#nextRequestAt;
  }

  /** A PUSH_REQUEST went out at `now`. */
  requested(now: number): void {
    this.#nextRequestAt = now + this.#intervalMs;
  }

  /**
   * Adds one PUSH_REPLY message. Returns the whole reply's option lines once its last part is in, null
   * while parts are missing, "overflow" when the reply grew past what we accept.
   */
  add(text: string): string[] | null | "overflow" {
    const lines = this.#parts.add(text);
    if (this.#parts.overflowed) return "overflow";
    return lines;
  }

  /** The reply was accepted: no more requests. */
  done(): void {
    this.#replied = true;
    this.#nextRequestAt = Infinity;
  }
}

/** Server side: one PUSH_REPLY per holdoff, and one being built at a time. */
export class PushResponder {
  #building = false;
  #repliedAt = -Infinity;

  /**
   * May a PUSH_REQUEST arriving at `now` be answered? One reply per holdoff: a peer repeating PUSH_REQUEST
   * without acknowledging would otherwise queue a full PUSH_REPLY per request (many fit in one TLS record).
   */
  mayAnswer(now: number): boolean {
    return !this.#building && now >= this.#repliedAt + PUSH_REPLY_HOLDOFF_MS;
  }

  /** The reply's options are being gathered (an asynchronous callback). */
  building(): void {
    this.#building = true;
  }

  /** Gathering ended, with a reply or without one. */
  built(): void {
    this.#building = false;
  }

  /** The reply went out at `now`. */
  replied(now: number): void {
    this.#repliedAt = now;
  }
}

/** What the session negotiated, which every PUSH_REPLY carries. */
export interface NegotiatedPush {
  /** Used when the server's options name no peer-id. */
  peerId?: number;
  cipher: DataCipher;
  /** The client announced exit notification: the reply confirms it with protocol-flags cc-exit. */
  peerCcExit: boolean;
}

/** The server's push options completed with what the session negotiated. */
export function negotiatedPushOptions(options: PushOptions, negotiated: NegotiatedPush): PushOptions {
  const flags = new Set(options.protocolFlags ?? []);
  if (negotiated.peerCcExit) flags.add("cc-exit");
  return {
    ...options,
    peerId: options.peerId ?? negotiated.peerId,
    cipher: negotiated.cipher,
    protocolFlags: flags.size > 0 ? [...flags] : undefined,
  };
}
