/**
 * Stateless answers to hard resets on UDP, the way OpenVPN 2.6 servers give
 * them to every P_CONTROL_HARD_RESET_CLIENT_V2: the server keeps nothing for
 * a source until the source shows it receives our packets.
 *
 *   client                                         server
 *   HARD_RESET_CLIENT_V2  sid C, msg 0   ->
 *                                        <-   HARD_RESET_SERVER_V2  sid S, msg 0, no ack
 *                                              S = HMAC-SHA256(k, slot | remote | C)[0..8)
 *                                              nothing stored, nothing retransmitted
 *   P_CONTROL_V1 or P_ACK_V1  sid C,     ->   S recomputed for this slot and the two before;
 *     acks (all ≤ 1) for S, msg ≤ 1            a match starts the session after message 0
 *                                              in both directions (session.ts answeredReset),
 *                                        <-   owing the ack of the client's message 0
 *
 * `k` is random per listener, `slot` counts half handshake windows (30 s by
 * default, as OpenVPN's (hand-window + 1) / 2), so a cookie is good for 60 to
 * 90 s. `remote` is the source address and port: a cookie sent to a spoofed
 * address is useless to anyone not receiving there.
 *
 * The early-negotiation marker of OpenVPN 2.6 (packet id 0x0f000000 and the
 * EARLY_NEG_FLAGS TLV) exists only with tls-crypt-v2 (HARD_RESET_CLIENT_V3),
 * which tsvpn does not support; V2 resets carry no such marker and need none.
 *
 * The answer is one packet per reset and never larger than it: 14 bytes plus
 * the tls-auth/tls-crypt overhead, as the reset itself, so a spoofed source
 * makes us send no more bytes than it sent (issue 14: no amplification).
 * That is why it does not acknowledge the reset (OpenVPN's 26-byte answer
 * does): the ack goes out once the peer has proven its address. A stock
 * client acknowledges our reset at once in a P_ACK_V1 (it waits for its own
 * reset's ack before its ClientHello), which opens the session, and gets our
 * ack in return: one round trip more than OpenVPN's answer, no timeout. A
 * tsvpn client starts TLS on our reset, so its ClientHello opens the session.
 */

import crypto from "node:crypto";
import { type ControlPacket, encodeControlPacket } from "./control_packet.ts";
import { P_ACK_V1, P_CONTROL_HARD_RESET_SERVER_V2, SESSION_ID_SIZE } from "./opcode.ts";
import { defaultWrapPrimitives } from "./wrap_openssl.ts";
import type { KeyedMac, WrapPrimitives } from "./wrap_primitives.ts";

/** The tls-auth / tls-crypt packet id of the stateless answer; the session continues after it. */
export const COOKIE_REPLY_PACKET_ID = 1;

/** Plain size of the answer: op, sid, no acks, message id — the size of the client's reset. */
export const COOKIE_REPLY_PLAIN_BYTES = 1 + SESSION_ID_SIZE + 1 + 4;

/** The highest message id a packet completing the cookie exchange may carry or acknowledge. */
const LAST_HANDSHAKE_ID = 1;

/** Slots checked: the current one and the two before, as OpenVPN does. */
const SLOTS_BACK = 2;

const encoder = new TextEncoder();
const NO_ACKS = new Uint8Array(0);

export interface ResetCookieOptions {
  /** Key source (32 bytes drawn once). */
  random: (n: number) => Uint8Array;
  /** The handshake window; a slot is half of it (at least 1 s). */
  handshakeWindowMs: number;
  /** HMAC backend (default: OpenSSL when libcrypto loads, else node:crypto); tests compare both. */
  primitives?: WrapPrimitives;
}

export class ResetCookies {
  /** HMAC-SHA256 keyed once (four per new client: one answer, three slots checked). */
  readonly #mac: KeyedMac;
  readonly #digest = new Uint8Array(32);
  readonly #slotMs: number;
  readonly #slotBytes = new Uint8Array(4);

  constructor(o: ResetCookieOptions) {
    const key = o.random(32).slice();
    this.#mac = (o.primitives ?? defaultWrapPrimitives()).mac("SHA256", key, 32);
    key.fill(0);
    this.#slotMs = Math.max(1, Math.floor((Math.floor(o.handshakeWindowMs / 1000) + 1) / 2)) * 1000;
  }

  /** Our session id for a reset with session id `clientSid` from `remote` ("addr:port") at `now`. */
  issue(remote: string, clientSid: Uint8Array, now: number): Uint8Array {
    return this.#compute(remote, clientSid, Math.floor(now / this.#slotMs));
  }

  /** True when `serverSid` is a cookie we issued to `remote` for `clientSid` within the validity. */
  matches(remote: string, clientSid: Uint8Array, serverSid: Uint8Array, now: number): boolean {
    const slot = Math.floor(now / this.#slotMs);
    let ok = false;
    // Every slot is checked, so the time taken says nothing about which one matched.
    for (let back = 0; back <= SLOTS_BACK; back++) {
      const expect = this.#compute(remote, clientSid, slot - back);
      if (crypto.timingSafeEqual(expect, serverSid.subarray(0, SESSION_ID_SIZE))) ok = true;
    }
    return ok;
  }

  #compute(remote: string, clientSid: Uint8Array, slot: number): Uint8Array {
    const s = this.#slotBytes;
    s[0] = slot >>> 24;
    s[1] = (slot >>> 16) & 0xff;
    s[2] = (slot >>> 8) & 0xff;
    s[3] = slot & 0xff;
    const mac = this.#mac;
    const r = encoder.encode(remote);
    mac.begin();
    mac.update(s, 0, 4);
    mac.update(r, 0, r.length);
    mac.update(clientSid, 0, SESSION_ID_SIZE);
    mac.finish(this.#digest, 0);
    return this.#digest.slice(0, SESSION_ID_SIZE);
  }
}

/**
 * Writes the plain stateless answer into `out` (COOKIE_REPLY_PLAIN_BYTES): our reset, message 0, carrying
 * no ack (see the header: the client's reset is acknowledged once the session exists). Returns its length.
 */
export function encodeCookieReply(out: Uint8Array, serverSid: Uint8Array): number {
  return encodeControlPacket(
    out,
    0,
    P_CONTROL_HARD_RESET_SERVER_V2,
    0,
    serverSid,
    NO_ACKS,
    0,
    NO_ACKS,
    0,
    null,
  );
}

/**
 * True when a decoded P_CONTROL_V1 / P_ACK_V1 (or a repeated hard reset) has the shape of the client's next
 * packet after our answer: at least one ack, every ack and its message id at most 1. Whether its acks name a real cookie is
 * ResetCookies.matches() on `pkt.remoteSessionId`.
 */
export function completesCookieExchange(pkt: ControlPacket): boolean {
  if (pkt.keyId !== 0 || pkt.ackCount === 0) return false;
  for (let i = 0; i < pkt.ackCount; i++) if (pkt.acks[i] > LAST_HANDSHAKE_ID) return false;
  return pkt.opcode === P_ACK_V1 || pkt.messageId <= LAST_HANDSHAKE_ID;
}
