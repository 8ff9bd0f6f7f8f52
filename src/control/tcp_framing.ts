/**
 * OpenVPN over TCP: every packet is preceded by its length as a 16-bit
 * big-endian integer. FrameReassembler turns an arbitrary chunking of the byte
 * stream back into packets. Frames wholly inside a chunk are delivered as
 * views on that chunk; only a frame split across chunks is copied, into one
 * preallocated buffer.
 */

export const MAX_FRAME = 0xffff;

/** Writes the 2-byte length prefix at `off`. */
export function writeFrameLength(out: Uint8Array, off: number, len: number): void {
  out[off] = (len >>> 8) & 0xff;
  out[off + 1] = len & 0xff;
}

/** A new buffer holding the length prefix followed by `packet`. */
export function frame(packet: Uint8Array): Uint8Array {
  if (packet.length > MAX_FRAME) {
    throw new RangeError(`Packet of ${packet.length} bytes exceeds TCP frame limit`);
  }
  const out = new Uint8Array(packet.length + 2);
  writeFrameLength(out, 0, packet.length);
  out.set(packet, 2);
  return out;
}

/** Receives each frame as (buffer, offset, length); the view is only valid during the call. */
export type FrameSink = (buf: Uint8Array, off: number, len: number) => void;

export class FrameReassembler {
  /** Sized for the largest accepted frame: a server connection holds 4 KiB here, not 64. */
  readonly #partial: Uint8Array;
  #have = 0;
  /** Frames of zero length or longer than this are reported through onOversize and skipped. */
  readonly #maxFrame: number;
  #skip = 0;
  /** Number of frames skipped for exceeding the size limit or having length 0. */
  rejected = 0;

  constructor(maxFrame = MAX_FRAME) {
    this.#maxFrame = Math.min(maxFrame, MAX_FRAME);
    this.#partial = new Uint8Array(this.#maxFrame + 2);
  }

  /** Bytes buffered for an incomplete frame. */
  get pending(): number {
    return this.#have;
  }

  feed(chunk: Uint8Array, sink: FrameSink): void {
    let p = 0;
    const n = chunk.length;
    while (p < n) {
      if (this.#skip > 0) {
        const s = Math.min(this.#skip, n - p);
        this.#skip -= s;
        p += s;
        continue;
      }
      if (this.#have === 0) {
        // Fast path: whole frames inside this chunk.
        if (n - p >= 2) {
          const len = (chunk[p] << 8) | chunk[p + 1];
          if (len === 0 || len > this.#maxFrame) {
            this.rejected++;
            this.#skip = len;
            p += 2;
            continue;
          }
          if (n - p >= 2 + len) {
            sink(chunk, p + 2, len);
            p += 2 + len;
            continue;
          }
        }
        this.#partial.set(chunk.subarray(p, n), 0);
        this.#have = n - p;
        p = n;
        this.#checkHeader();
        continue;
      }
      // Completing a buffered frame.
      if (this.#have < 2) {
        this.#partial[this.#have++] = chunk[p++];
        if (!this.#checkHeader()) continue;
        if (this.#have < 2) continue;
      }
      const len = (this.#partial[0] << 8) | this.#partial[1];
      const want = 2 + len - this.#have;
      const take = Math.min(want, n - p);
      this.#partial.set(chunk.subarray(p, p + take), this.#have);
      this.#have += take;
      p += take;
      if (this.#have === 2 + len) {
        this.#have = 0;
        sink(this.#partial, 2, len);
      }
    }
  }

  /** Validates a buffered header; on a bad length switches to skipping. Returns false if skipped. */
  #checkHeader(): boolean {
    if (this.#have < 2) return true;
    const len = (this.#partial[0] << 8) | this.#partial[1];
    if (len === 0 || len > this.#maxFrame) {
      this.rejected++;
      const already = this.#have - 2;
      this.#have = 0;
      this.#skip = Math.max(0, len - already);
      return false;
    }
    return true;
  }
}
