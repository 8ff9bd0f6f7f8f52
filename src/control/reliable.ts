/**
 * The control channel's reliability layer for one key state, as a sans-IO
 * state machine: feed it received acks and messages plus the current time; it
 * delivers messages in order and tells what to send (new packets,
 * retransmissions with exponential backoff, acks piggybacked or standalone).
 *
 * Each direction numbers its messages from 0 (the reset packet). Windows match
 * OpenVPN 2.6: at most 6 unacknowledged messages in flight (a new message id
 * must be below lowest-unacked + 6), at most 12 messages buffered ahead of the
 * next in-order id on receive, at most 8 acks per packet.
 */

import { MAX_ACKS_PER_PACKET } from "./control_packet.ts";
import { P_ACK_V1, P_CONTROL_V1 } from "./opcode.ts";

export interface ReliableOptions {
  /** Unacknowledged messages in flight (OpenVPN TLS_RELIABLE_N_SEND_BUFFERS). @default 6 */
  sendWindow?: number;
  /** Messages accepted ahead of the next in-order id (TLS_RELIABLE_N_REC_BUFFERS). @default 12 */
  recvWindow?: number;
  /** First retransmission timeout, doubled on each retry (OpenVPN --tls-timeout). @default 2000 */
  initialTimeoutMs?: number;
  /** @default 60000 */
  maxTimeoutMs?: number;
  /** Largest payload of one P_CONTROL_V1; longer writes are split. @default 1100 */
  maxPayload?: number;
  /** @default 8 */
  maxAcksPerPacket?: number;
  /**
   * First message id in each direction. 1 for a channel that starts after a reset exchange done before it
   * existed (id 0 sent and acknowledged, id 0 received: reset_cookie.ts). @default 0
   */
  startId?: number;
}

/** A packet the caller must wrap and send. messageId is -1 for P_ACK_V1. */
export interface OutgoingControl {
  opcode: number;
  messageId: number;
  acks: number[];
  payload: Uint8Array | null;
  /** True when this is a retransmission. */
  retransmit: boolean;
}

export interface DeliveredMessage {
  opcode: number;
  messageId: number;
  payload: Uint8Array;
}

/** Outcome of ReliableChannel.receive(). */
export const RECV_ACCEPTED = 0;
export const RECV_DUPLICATE = 1;
export const RECV_OUT_OF_WINDOW = 2;

/** Fast retransmit once this many later messages were acknowledged (OpenVPN N_ACK_RETRANSMIT). */
const FAST_RETRANSMIT_ACKS = 3;

interface Inflight {
  id: number;
  opcode: number;
  payload: Uint8Array | null;
  nextTry: number;
  timeout: number;
  sent: boolean;
  laterAcks: number;
}

export class ReliableChannel {
  readonly #sendWindow: number;
  readonly #recvWindow: number;
  readonly #initialTimeout: number;
  readonly #maxTimeout: number;
  readonly #maxPayload: number;
  readonly #maxAcks: number;

  #nextSendId = 0;
  readonly #inflight: Inflight[] = [];
  /** Queued messages not yet given an id (window full). */
  readonly #queue: { opcode: number; payload: Uint8Array | null }[] = [];
  /** Bytes of a pending P_CONTROL_V1 stream not yet cut into messages. */
  #streamChunks: Uint8Array[] = [];
  #streamBytes = 0;
  /** Payload bytes in #queue. */
  #queueBytes = 0;

  #nextRecvId = 0;
  readonly #recvBuf = new Map<number, { opcode: number; payload: Uint8Array }>();
  readonly #delivered: DeliveredMessage[] = [];
  readonly #pendingAcks: number[] = [];
  /** Recently acknowledged ids, re-sent in spare ack slots to cover lost acks. */
  readonly #ackHistory: number[] = [];

  /** Counters for tests and status. */
  retransmissions = 0;
  duplicates = 0;

  constructor(options: ReliableOptions = {}) {
    this.#sendWindow = options.sendWindow ?? 6;
    this.#recvWindow = options.recvWindow ?? 12;
    this.#initialTimeout = options.initialTimeoutMs ?? 2000;
    this.#maxTimeout = options.maxTimeoutMs ?? 60000;
    this.#maxPayload = options.maxPayload ?? 1100;
    this.#maxAcks = Math.min(options.maxAcksPerPacket ?? MAX_ACKS_PER_PACKET, MAX_ACKS_PER_PACKET);
    if (this.#maxPayload < 1) throw new RangeError("Reliable maxPayload must be positive");
    this.#nextSendId = this.#nextRecvId = options.startId ?? 0;
  }

  /** Queues one whole message (a reset packet: opcode with empty payload). */
  sendMessage(opcode: number, payload: Uint8Array | null = null): void {
    this.#flushStream();
    this.#queue.push({ opcode, payload });
    this.#queueBytes += payload?.length ?? 0;
    this.#admit();
  }

  /** Appends bytes to the P_CONTROL_V1 stream (TLS ciphertext); cut at maxPayload. */
  write(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#streamChunks.push(bytes.slice());
    this.#streamBytes += bytes.length;
    this.#cutStream(false);
    this.#admit();
  }

  /** Processes acks carried by any received packet. */
  receiveAcks(acks: ArrayLike<number>, count: number): void {
    for (let i = 0; i < count; i++) {
      const id = acks[i];
      const idx = this.#inflight.findIndex((e) => e.id === id);
      if (idx < 0) continue;
      this.#inflight.splice(idx, 1);
      for (const e of this.#inflight) {
        if (e.id < id && e.sent && ++e.laterAcks >= FAST_RETRANSMIT_ACKS) {
          e.laterAcks = 0;
          e.nextTry = 0;
        }
      }
    }
    this.#admit();
  }

  /**
   * Processes a received message. Duplicates are acknowledged again (our ack
   * may have been lost); ids beyond the receive window are dropped unacked.
   */
  receive(opcode: number, messageId: number, payload: Uint8Array): number {
    const id = messageId >>> 0;
    if (id < this.#nextRecvId || this.#recvBuf.has(id)) {
      this.duplicates++;
      this.#queueAck(id);
      return RECV_DUPLICATE;
    }
    if (id - this.#nextRecvId >= this.#recvWindow) return RECV_OUT_OF_WINDOW;
    this.#recvBuf.set(id, { opcode, payload: payload.slice() });
    this.#queueAck(id);
    for (;;) {
      const m = this.#recvBuf.get(this.#nextRecvId);
      if (!m) break;
      this.#recvBuf.delete(this.#nextRecvId);
      this.#delivered.push({ opcode: m.opcode, messageId: this.#nextRecvId, payload: m.payload });
      this.#nextRecvId++;
    }
    return RECV_ACCEPTED;
  }

  /**
   * Records that message `id` below the start id was received before this channel existed and is still
   * unacknowledged (a reset answered statelessly, reset_cookie.ts): the next packet acknowledges it.
   */
  owesAck(id: number): void {
    if (id >>> 0 < this.#nextRecvId) this.#queueAck(id >>> 0);
  }

  /** Takes the messages delivered in order since the last call. */
  takeDelivered(): DeliveredMessage[] {
    return this.#delivered.splice(0, this.#delivered.length);
  }

  /** Packets to send at `now`: due (re)transmissions carrying acks, then standalone acks. */
  poll(now: number): OutgoingControl[] {
    this.#cutStream(true);
    this.#admit();
    const out: OutgoingControl[] = [];
    for (const e of this.#inflight) {
      if (e.nextTry > now) continue;
      const retransmit = e.sent;
      if (retransmit) {
        this.retransmissions++;
        e.timeout = Math.min(e.timeout * 2, this.#maxTimeout);
      }
      e.sent = true;
      e.nextTry = now + e.timeout;
      out.push({
        opcode: e.opcode,
        messageId: e.id,
        acks: this.#takeAcks(true),
        payload: e.payload,
        retransmit,
      });
    }
    while (this.#pendingAcks.length > 0) {
      out.push({
        opcode: P_ACK_V1,
        messageId: -1,
        acks: this.#takeAcks(false),
        payload: null,
        retransmit: false,
      });
    }
    return out;
  }

  /** Earliest time poll() has something to do, or Infinity. */
  nextWakeup(): number {
    if (this.#pendingAcks.length > 0) return 0;
    let t = Infinity;
    for (const e of this.#inflight) if (e.nextTry < t) t = e.nextTry;
    if (t === Infinity && (this.#queue.length > 0 || this.#streamBytes > 0)) {
      return this.#inflight.length < this.#sendWindow ? 0 : Infinity;
    }
    return t;
  }

  /** True when everything written has been acknowledged and no ack is owed. */
  get idle(): boolean {
    return this.#inflight.length === 0 && this.#queue.length === 0 && this.#streamBytes === 0 &&
      this.#pendingAcks.length === 0;
  }

  /** Messages sent and not yet acknowledged. */
  get inflight(): number {
    return this.#inflight.length;
  }

  /** Bytes and messages waiting for window space. */
  get backlog(): number {
    return this.#queue.length + this.#streamBytes;
  }

  /** Payload bytes written or queued that did not fit the send window yet. */
  get backlogBytes(): number {
    return this.#queueBytes + this.#streamBytes;
  }

  /** The next id expected from the peer (all lower ids were delivered). */
  get nextReceiveId(): number {
    return this.#nextRecvId;
  }

  /** Ids, windows, queues and owed acks as text, for tests proving a dropped packet changed nothing. */
  snapshot(): string {
    const inflight = this.#inflight.map((e) => `${e.id}@${e.nextTry}`).join(",");
    const buffered = [...this.#recvBuf.keys()].join(",");
    return `send=${this.#nextSendId} recv=${this.#nextRecvId} inflight=[${inflight}] queue=${this.#queue.length}` +
      ` stream=${this.#streamBytes} buffered=[${buffered}] delivered=${this.#delivered.length}` +
      ` acks=[${this.#pendingAcks}] ackHistory=[${this.#ackHistory}] retx=${this.retransmissions} dup=${this.duplicates}`;
  }

  /** True when our message `id` was sent and the peer acknowledged it. */
  acknowledged(id: number): boolean {
    return id < this.#nextSendId && !this.#inflight.some((e) => e.id === id);
  }

  #queueAck(id: number): void {
    if (!this.#pendingAcks.includes(id)) this.#pendingAcks.push(id);
  }

  /**
   * Acks for one packet. A packet carrying a message repeats the most recent acks in its spare slots even
   * when none are new, as OpenVPN 2.6 does (its MRU ack list): a lost ack is covered by the next message,
   * and a server that keeps no state for us yet (reset_cookie.ts) sees our ack of its reset on every retry.
   */
  #takeAcks(piggyback: boolean): number[] {
    const fresh = this.#pendingAcks.splice(0, this.#maxAcks);
    for (let i = fresh.length - 1; i >= 0; i--) {
      const at = this.#ackHistory.indexOf(fresh[i]);
      if (at >= 0) this.#ackHistory.splice(at, 1);
      this.#ackHistory.unshift(fresh[i]);
    }
    if (this.#ackHistory.length > this.#maxAcks) this.#ackHistory.length = this.#maxAcks;
    return piggyback ? this.#ackHistory.slice() : fresh;
  }

  #lowestUnacked(): number {
    return this.#inflight.length > 0 ? this.#inflight[0].id : this.#nextSendId;
  }

  /** Gives ids to queued messages while the send window allows. */
  #admit(): void {
    while (this.#queue.length > 0 && this.#nextSendId - this.#lowestUnacked() < this.#sendWindow) {
      const m = this.#queue.shift()!;
      this.#queueBytes -= m.payload?.length ?? 0;
      this.#inflight.push({
        id: this.#nextSendId++,
        opcode: m.opcode,
        payload: m.payload,
        nextTry: 0,
        timeout: this.#initialTimeout,
        sent: false,
        laterAcks: 0,
      });
    }
  }

  #flushStream(): void {
    this.#cutStream(true);
  }

  /** Cuts the byte stream into P_CONTROL_V1 messages; full-size ones always, a short tail if `all`. */
  #cutStream(all: boolean): void {
    while (this.#streamBytes >= this.#maxPayload || (all && this.#streamBytes > 0)) {
      const n = Math.min(this.#maxPayload, this.#streamBytes);
      const msg = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#streamChunks[0];
        const take = Math.min(c.length, n - filled);
        msg.set(c.subarray(0, take), filled);
        filled += take;
        if (take === c.length) this.#streamChunks.shift();
        else this.#streamChunks[0] = c.subarray(take);
      }
      this.#streamBytes -= n;
      this.#queue.push({ opcode: P_CONTROL_V1, payload: msg });
      this.#queueBytes += n;
    }
  }
}
