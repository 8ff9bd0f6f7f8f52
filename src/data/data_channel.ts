/**
 * One peer's data channel: the keys per key-id, packet-id allocation,
 * replay windows, and in-place P_DATA_V2 seal/open (layout in data_header.ts).
 *
 * Keys: at most two are live, the newest (`sendKeyId`, used for every sealed
 * packet) and, after a soft reset, the one it replaced, which still opens
 * packets until `expire(now)` passes its transition deadline (OpenVPN's
 * lame-duck key, --tran-window). Each key has its own packet-id counter
 * (starts at 1) and its own replay window.
 *
 * Key lifetime: `rekeyReason` (and `needsRekey`) says when the send key is
 * worn out, for a periodic check that starts a soft reset: its packet-id
 * reached OpenVPN's PACKET_ID_WRAP_TRIGGER (0xFF000000), or it carried
 * `renegBytes` (OpenVPN --reneg-bytes). The check reads counters the seal/open
 * paths keep anyway, so it adds no per-packet work.
 *
 * Nonce safety: a key never repeats a packet-id. The counter is checked before
 * use and `seal` refuses once 2^32-1 was used, 16.7 M packets after the rekey
 * trigger. Installing key material that is already live is refused, since its
 * counters would restart at 1.
 *
 * Hot path: `seal`/`open` allocate nothing themselves (the AEAD backend's own
 * per-call objects aside), never throw for any datagram bytes, and report
 * through return values and the preallocated result fields. `open` changes
 * state (replay window, counters other than the drop counter) only for a packet
 * whose tag verified. Not safe for concurrent use: one datapath loop owns it.
 */

import { type Aead, AEAD_TAG_LEN } from "./aead.ts";
import { type AeadBackendChoice, createAead } from "./aead_select.ts";
import {
  DATA_V1_HEADER_LEN,
  DATA_V2_AAD_LEN,
  DATA_V2_HEADER_LEN,
  DATA_V2_OVERHEAD,
  KEY_ID_MASK,
  OPCODE_SHIFT,
  P_DATA_V1,
  P_DATA_V2,
  PEER_ID_UNDEF,
  readU32,
  writeDataV2Header,
} from "./data_header.ts";
import type { DataKeyMaterial } from "./key_material.ts";
import {
  type CompressFraming,
  frame,
  framingCode,
  framingPrefix,
  framingSuffix,
  unframe,
  unframeSkip,
} from "./framing.ts";
import {
  DEFAULT_TRANSITION_WINDOW_MS,
  KEY_BYTES_IN,
  KEY_BYTES_OUT,
  KEY_PACKETS_IN,
  KEY_PACKETS_OUT,
  keyBytes,
  PACKET_ID_MAX,
  PACKET_ID_REKEY_THRESHOLD,
  type RekeyReason,
} from "./key_lifetime.ts";
import {
  DEFAULT_REPLAY_WINDOW,
  REPLAY_DUPLICATE,
  REPLAY_OK,
  REPLAY_TOO_OLD,
  ReplayWindow,
} from "./replay_window.ts";
import {
  OPEN_BAD_PACKET_ID,
  OPEN_BAD_TAG,
  OPEN_COMPRESSED,
  OPEN_NOT_DATA,
  OPEN_OK,
  OPEN_REPLAY,
  OPEN_TOO_OLD,
  OPEN_TOO_SHORT,
  OPEN_UNKNOWN_KEY_ID,
  OPEN_VERDICT_COUNT,
  SEAL_BAD_ARGS,
  SEAL_COUNT_SLOTS,
  SEAL_NO_KEY,
  SEAL_PACKET_ID_EXHAUSTED,
} from "./verdicts.ts";

export interface DataChannelOptions {
  /** 24-bit peer-id written into every sealed header. @default PEER_ID_UNDEF */
  peerId?: number;
  /** Replay window per key, in packets (multiple of 32). @default 1024 */
  replayWindow?: number;
  /** @default "auto" (see aead_select.ts) */
  backend?: AeadBackendChoice;
  /** How long a replaced key keeps opening packets. @default 60000 */
  transitionWindowMs?: number;
  /** Send packet-id at which `needsRekey` turns true. @default 0xFF000000 */
  rekeyThreshold?: number;
  /**
   * Bytes a key may carry, both directions together, counted as OpenVPN's
   * --reneg-bytes does (see RENEG_BYTES_PACKET_OVERHEAD); 0 = no limit. @default 0
   */
  renegBytes?: number;
  /** Compression framing the peer expects (framing.ts; nothing is ever compressed). @default "none" */
  framing?: CompressFraming;
}

class KeySlot {
  readonly keyId: number;
  /** The sending key, kept only to refuse installing live material again; the rest of the material is not kept. */
  readonly sendKey: Uint8Array;
  readonly enc: Aead;
  readonly dec: Aead;
  readonly encNonce = new Uint8Array(12);
  readonly decNonce = new Uint8Array(12);
  readonly replay: ReplayWindow;
  readonly counters = new Float64Array(4);
  sendPid = 0;
  expiresAtMs = Infinity;

  constructor(keyId: number, material: DataKeyMaterial, replayWindow: number, backend: AeadBackendChoice) {
    this.keyId = keyId;
    this.sendKey = material.encrypt.key;
    this.enc = createAead(material.cipher, material.encrypt.key, backend, "seal");
    this.dec = createAead(material.cipher, material.decrypt.key, backend, "open");
    this.encNonce.set(material.encrypt.implicitIv, 4);
    this.decNonce.set(material.decrypt.implicitIv, 4);
    this.replay = new ReplayWindow(replayWindow);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class DataChannel {
  /** Opened packets by verdict (index = OPEN_* constant). */
  readonly openCounts = new Float64Array(OPEN_VERDICT_COUNT);
  /** Seal results: [0] sealed, [-SEAL_*] failures. */
  readonly sealCounts = new Float64Array(SEAL_COUNT_SLOTS);

  /** After OPEN_OK: where the plaintext lies in the buffer given to open(). */
  plainOff = 0;
  plainLen = 0;
  /** After any open() that got past the header: the header's key-id, packet-id and peer-id (-1 for V1). */
  keyId = -1;
  packetId = 0;
  peerId = -1;
  /** After a successful seal(): where the datagram starts in the slot (its length is seal()'s result). */
  sealOff = 0;

  #slots: (KeySlot | null)[] = [null, null, null, null, null, null, null, null];
  #send: KeySlot | null = null;
  #previous: KeySlot | null = null;
  #localPeerId: number;
  #replayWindow: number;
  #backend: AeadBackendChoice;
  #transitionMs: number;
  #rekeyThreshold: number;
  #renegBytes: number;
  #framing: number;

  constructor(options: DataChannelOptions = {}) {
    this.#localPeerId = PEER_ID_UNDEF;
    this.localPeerId = options.peerId ?? PEER_ID_UNDEF;
    this.#replayWindow = options.replayWindow ?? DEFAULT_REPLAY_WINDOW;
    new ReplayWindow(this.#replayWindow); // validates the size now, not at the first key
    this.#backend = options.backend ?? "auto";
    this.#transitionMs = options.transitionWindowMs ?? DEFAULT_TRANSITION_WINDOW_MS;
    this.#rekeyThreshold = options.rekeyThreshold ?? PACKET_ID_REKEY_THRESHOLD;
    const reneg = options.renegBytes ?? 0;
    if (!Number.isSafeInteger(reneg) || reneg < 0) {
      throw new RangeError("renegBytes must be a whole number ≥ 0");
    }
    this.#renegBytes = reneg;
    this.#framing = framingCode(options.framing ?? "none");
  }

  /** The compression framing the peer expects (a client learns it from the push). */
  set framing(framing: CompressFraming) {
    const code = framingCode(framing);
    if (code < 0) throw new RangeError(`Unknown compression framing ${JSON.stringify(framing)}`);
    this.#framing = code;
  }

  /** Where a payload starting at buf[off] must start at least to be sealed in place (header and framing). */
  sealHeadroom(buf: Uint8Array, off: number): number {
    return DATA_V2_OVERHEAD + framingPrefix(this.#framing, buf, off);
  }

  /** Peer-id we write into sealed headers (server: the id it assigned; client: the pushed one). */
  get localPeerId(): number {
    return this.#localPeerId;
  }

  set localPeerId(id: number) {
    if (!Number.isInteger(id) || id < 0 || id > PEER_ID_UNDEF) {
      throw new RangeError("Peer-id must be 0..0xFFFFFF");
    }
    this.#localPeerId = id;
  }

  /** Key-id used for sending, -1 when no key is installed. */
  get sendKeyId(): number {
    return this.#send === null ? -1 : this.#send.keyId;
  }

  /** Keys installed (the send key and the previous one in its transition window: at most 2). */
  get keyCount(): number {
    let n = 0;
    for (const s of this.#slots) if (s !== null) n++;
    return n;
  }

  /** Key-id of the replaced key still accepted for receiving, -1 when none. */
  get previousKeyId(): number {
    return this.#previous === null ? -1 : this.#previous.keyId;
  }

  /** When the previous key stops opening packets (ms, same clock as installKey), Infinity when none. */
  get previousExpiresAtMs(): number {
    return this.#previous === null ? Infinity : this.#previous.expiresAtMs;
  }

  /** Last packet-id sent under the send key (0 before the first packet). */
  get sendPacketId(): number {
    return this.#send === null ? 0 : this.#send.sendPid;
  }

  /** True once the send key is worn out (see rekeyReason): start a soft reset. */
  get needsRekey(): boolean {
    return this.rekeyReason !== null;
  }

  /**
   * Why the send key should be replaced now, null while it is fine: its packet-id
   * reached the rekey threshold, or it carried `renegBytes`.
   */
  get rekeyReason(): RekeyReason | null {
    const s = this.#send;
    if (s === null) return null;
    if (s.sendPid >= this.#rekeyThreshold) return "packet-id";
    if (this.#renegBytes > 0 && keyBytes(s.counters) >= this.#renegBytes) return "bytes";
    return null;
  }

  /** Bytes the send key carried, counted as for renegBytes; 0 without a key. */
  get sendKeyBytes(): number {
    return this.#send === null ? 0 : keyBytes(this.#send.counters);
  }

  /**
   * Installs keys for `keyId` (0..7) and makes them the send key. The key they
   * replace keeps opening packets until `nowMs + transitionWindowMs`; any older
   * key, and any key with the same key-id, is dropped at once. Throws when the
   * material is already live (its packet-ids would restart at 1).
   */
  installKey(keyId: number, material: DataKeyMaterial, nowMs: number): void {
    if (!Number.isInteger(keyId) || keyId < 0 || keyId > KEY_ID_MASK) {
      throw new RangeError("Key-id must be 0..7");
    }
    for (const s of this.#slots) {
      if (s !== null && sameBytes(s.sendKey, material.encrypt.key)) {
        throw new Error("Refusing to install key material that is already in use");
      }
    }
    const slot = new KeySlot(keyId, material, this.#replayWindow, this.#backend);
    let old = this.#send;
    if (old !== null && old.keyId === keyId) old = null;
    if (this.#previous !== null) this.#drop(this.#previous);
    this.#previous = null;
    if (this.#slots[keyId] !== null) this.#drop(this.#slots[keyId]!);
    if (old !== null) {
      old.expiresAtMs = nowMs + this.#transitionMs;
      this.#previous = old;
    }
    this.#slots[keyId] = slot;
    this.#send = slot;
  }

  /** Drops the key for `keyId` (e.g. the control channel killed that key state). */
  removeKey(keyId: number): void {
    const s = this.#slots[keyId & KEY_ID_MASK];
    if (s !== null && s.keyId === keyId) this.#drop(s);
  }

  /** Drops every key (hard reset / session end). */
  clear(): void {
    for (const s of this.#slots) if (s !== null) this.#drop(s);
  }

  /** Drops the previous key if its transition window has passed; returns true if one was dropped. */
  expire(nowMs: number): boolean {
    const p = this.#previous;
    if (p === null || nowMs < p.expiresAtMs) return false;
    this.#drop(p);
    return true;
  }

  /** Counters of a live key ([KEY_PACKETS_OUT, KEY_BYTES_OUT, KEY_PACKETS_IN, KEY_BYTES_IN]), null if none. */
  keyCounters(keyId: number): Float64Array | null {
    const s = this.#slots[keyId & KEY_ID_MASK];
    return s === null ? null : s.counters;
  }

  /** Tests only: sets the send key's last-used packet-id, to reach the wrap limit without 2^32 seals. */
  static forceSendPacketIdForTest(dc: DataChannel, packetId: number): void {
    if (dc.#send !== null) dc.#send.sendPid = packetId;
  }

  /**
   * Every key's packet-id, counters and replay window, and which keys send and open, as text. The open
   * and seal verdict counters are left out: they are meant to move. For tests proving that a datagram
   * which fails authentication changes nothing.
   */
  snapshot(): string {
    const keys = this.#slots.filter((s) => s !== null).map((s) =>
      `key${s.keyId} sendPid=${s.sendPid} counters=${s.counters.join(",")} expires=${s.expiresAtMs}` +
      ` replay=${s.replay.snapshot()}`
    );
    return `send=${this.#send?.keyId ?? -1} previous=${
      this.#previous?.keyId ?? -1
    } peer=${this.#localPeerId} ` +
      keys.join(" | ");
  }

  #drop(s: KeySlot): void {
    if (this.#slots[s.keyId] === s) this.#slots[s.keyId] = null;
    if (this.#send === s) this.#send = null;
    if (this.#previous === s) this.#previous = null;
    // Nothing reaches a dropped slot any more: its native contexts go now, not at some later collection.
    s.enc.free?.();
    s.dec.free?.();
  }

  /**
   * Seals the payload at slot[payloadOff, payloadOff + payloadLen) in place and
   * writes the 24-byte header and tag in front, so the datagram is
   * slot[payloadOff - 24, payloadOff + payloadLen) — with compression framing
   * it starts up to 2 bytes earlier and may end 1 byte later (`sealOff`
   * says where). Returns its length, or a negative SEAL_* code (nothing
   * written, no packet-id used).
   */
  seal(slot: Uint8Array, payloadOff: number, payloadLen: number): number {
    const s = this.#send;
    if (s === null) {
      this.sealCounts[-SEAL_NO_KEY]++;
      return SEAL_NO_KEY;
    }
    const mode = this.#framing;
    const prefix = payloadLen >= 1 ? framingPrefix(mode, slot, payloadOff) : 0;
    if (
      !(payloadLen >= 1) || !(payloadOff - prefix >= DATA_V2_OVERHEAD) ||
      payloadOff + payloadLen + framingSuffix(mode) > slot.length ||
      (payloadOff | 0) !== payloadOff || (payloadLen | 0) !== payloadLen
    ) {
      this.sealCounts[-SEAL_BAD_ARGS]++;
      return SEAL_BAD_ARGS;
    }
    if (s.sendPid >= PACKET_ID_MAX) {
      this.sealCounts[-SEAL_PACKET_ID_EXHAUSTED]++;
      return SEAL_PACKET_ID_EXHAUSTED;
    }
    const pid = ++s.sendPid;
    const framedOff = payloadOff - prefix;
    const framedLen = frame(mode, slot, payloadOff, payloadLen);
    const h = framedOff - DATA_V2_OVERHEAD;
    writeDataV2Header(slot, h, s.keyId, this.#localPeerId, pid);
    const nonce = s.encNonce;
    nonce[0] = pid >>> 24;
    nonce[1] = pid >>> 16;
    nonce[2] = pid >>> 8;
    nonce[3] = pid;
    s.enc.seal(nonce, slot, h, DATA_V2_AAD_LEN, framedOff, framedLen, h + DATA_V2_HEADER_LEN);
    s.counters[KEY_PACKETS_OUT]++;
    s.counters[KEY_BYTES_OUT] += framedLen;
    this.sealCounts[0]++;
    this.sealOff = h;
    return DATA_V2_OVERHEAD + framedLen;
  }

  /**
   * Authenticates and decrypts the datagram buf[off, off + len) in place.
   * Returns an OPEN_* verdict; on OPEN_OK the plaintext is at
   * buf[plainOff, plainOff + plainLen). On any other verdict the buffer and
   * every key's state are unchanged and only openCounts[verdict] moved.
   */
  open(buf: Uint8Array, off: number, len: number): number {
    let v = this.#open(buf, off, len);
    if (v < 0) v = OPEN_TOO_SHORT; // defensive: #open only returns verdicts
    this.openCounts[v]++;
    return v;
  }

  #open(buf: Uint8Array, off: number, len: number): number {
    this.plainLen = 0;
    this.keyId = -1;
    this.peerId = -1;
    this.packetId = 0;
    if (!(len >= 1) || !(off >= 0) || off + len > buf.length) return OPEN_TOO_SHORT;
    const b0 = buf[off];
    const op = b0 >>> OPCODE_SHIFT;
    let hdr: number;
    let aadOff: number;
    let aadLen: number;
    if (op === P_DATA_V2) {
      hdr = DATA_V2_HEADER_LEN;
      aadOff = off;
      aadLen = DATA_V2_AAD_LEN;
    } else if (op === P_DATA_V1) {
      hdr = DATA_V1_HEADER_LEN;
      aadOff = off + 1;
      aadLen = 4;
    } else {
      return OPEN_NOT_DATA;
    }
    if (len < hdr + AEAD_TAG_LEN + 1) return OPEN_TOO_SHORT;
    const keyId = b0 & KEY_ID_MASK;
    const pidOff = off + hdr - 4;
    const pid = readU32(buf, pidOff);
    this.keyId = keyId;
    this.packetId = pid;
    this.peerId = op === P_DATA_V2 ? (buf[off + 1] << 16) | (buf[off + 2] << 8) | buf[off + 3] : -1;
    const s = this.#slots[keyId];
    if (s === null) return OPEN_UNKNOWN_KEY_ID;
    const r = s.replay.check(pid);
    if (r !== REPLAY_OK) {
      return r === REPLAY_DUPLICATE ? OPEN_REPLAY : r === REPLAY_TOO_OLD ? OPEN_TOO_OLD : OPEN_BAD_PACKET_ID;
    }
    const nonce = s.decNonce;
    nonce[0] = buf[pidOff];
    nonce[1] = buf[pidOff + 1];
    nonce[2] = buf[pidOff + 2];
    nonce[3] = buf[pidOff + 3];
    const tagOff = off + hdr;
    const ctOff = tagOff + AEAD_TAG_LEN;
    const ctLen = len - hdr - AEAD_TAG_LEN;
    if (!s.dec.open(nonce, buf, aadOff, aadLen, ctOff, ctLen, tagOff)) return OPEN_BAD_TAG;
    s.replay.commit(pid);
    s.counters[KEY_PACKETS_IN]++;
    s.counters[KEY_BYTES_IN] += ctLen;
    const skip = unframeSkip(this.#framing, buf, ctOff, ctLen);
    if (skip < 0) return OPEN_COMPRESSED;
    this.plainOff = ctOff + skip;
    this.plainLen = unframe(this.#framing, buf, ctOff, ctLen, skip);
    return OPEN_OK;
  }
}
