/**
 * One pair's sealing and opening: DataChannel (packet-ids, per-key replay
 * windows, key-ids with a transition window, in-place AEAD) under the mesh
 * opcode (wire.ts). The pair id is the DataChannel's peer-id, so it is written
 * into and authenticated with every header.
 *
 * `seal` lets DataChannel write a P_DATA_V2 header and then marks the first
 * byte with the mesh opcode; `open` puts the P_DATA_V2 opcode back for the
 * duration of DataChannel.open and restores the byte afterwards, so the AAD
 * both sides compute is the same and a refused datagram is left exactly as it
 * came. Neither allocates nor throws for any datagram bytes.
 */

import type { AeadBackendChoice } from "../data/aead_select.ts";
import { DataChannel } from "../data/data_channel.ts";
import { KEY_ID_MASK, OPCODE_SHIFT, P_DATA_V2 } from "../data/data_header.ts";
import type { DataKeyMaterial } from "../data/key_material.ts";
import { OPEN_NOT_DATA, OPEN_OK } from "../data/verdicts.ts";
import { MESH_OVERHEAD, P_MESH } from "./wire.ts";

export interface PairChannelOptions {
  /** @default "auto" */
  backend?: AeadBackendChoice;
  /** Packets per key. @default 1024 */
  replayWindow?: number;
  /** How long a replaced pair key still opens packets. @default 60000 */
  transitionWindowMs?: number;
}

export class PairChannel {
  readonly pairId: number;
  readonly data: DataChannel;
  /** After OPEN_OK: the plaintext's place in the buffer given to open(). */
  plainOff = 0;
  plainLen = 0;

  constructor(pairId: number, options: PairChannelOptions = {}) {
    if (!Number.isInteger(pairId) || pairId < 1 || pairId > 0xfffffe) {
      throw new RangeError("Pair id must be 1..0xFFFFFE");
    }
    this.pairId = pairId;
    this.data = new DataChannel({
      peerId: pairId,
      backend: options.backend,
      replayWindow: options.replayWindow,
      transitionWindowMs: options.transitionWindowMs,
    });
  }

  /** Key-id of the send key, -1 before the first install. */
  get keyId(): number {
    return this.data.sendKeyId;
  }

  /**
   * Makes `material` the send key under `keyId`; the key it replaces keeps
   * opening packets for the transition window. Returns false (nothing changed)
   * when that exact material is already installed.
   */
  install(keyId: number, material: DataKeyMaterial, nowMs: number): boolean {
    try {
      this.data.installKey(keyId, material, nowMs);
      return true;
    } catch (e) {
      if (e instanceof RangeError) throw e;
      return false;
    }
  }

  /** Seals slot[payloadOff, +payloadLen) in place (24 bytes of headroom); the datagram's length or a SEAL_* code. */
  seal(slot: Uint8Array, payloadOff: number, payloadLen: number): number {
    const n = this.data.seal(slot, payloadOff, payloadLen);
    if (n > 0) {
      const h = payloadOff - MESH_OVERHEAD;
      slot[h] = (P_MESH << OPCODE_SHIFT) | (slot[h] & KEY_ID_MASK);
    }
    return n;
  }

  /** Opens the mesh datagram buf[off, +len) in place; an OPEN_* verdict (OPEN_NOT_DATA: not a mesh datagram). */
  open(buf: Uint8Array, off: number, len: number): number {
    if (!(len >= 1) || !(off >= 0) || off + len > buf.length || buf[off] >>> OPCODE_SHIFT !== P_MESH) {
      return OPEN_NOT_DATA;
    }
    const first = buf[off];
    buf[off] = (P_DATA_V2 << OPCODE_SHIFT) | (first & KEY_ID_MASK);
    const v = this.data.open(buf, off, len);
    buf[off] = first;
    if (v === OPEN_OK) {
      this.plainOff = this.data.plainOff;
      this.plainLen = this.data.plainLen;
    }
    return v;
  }

  /** Drops the replaced key once its transition window passed. */
  expire(nowMs: number): void {
    this.data.expire(nowMs);
  }

  /** Forgets every key (the pair closed). */
  clear(): void {
    this.data.clear();
  }
}
