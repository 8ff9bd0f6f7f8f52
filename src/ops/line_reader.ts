/**
 * Bounded line reader for the management protocol: a peer can make it hold
 * at most `maxLineBytes` (the line buffer grows to it as needed) plus one
 * read buffer, whatever it sends. Lines end
 * with "\n"; a trailing "\r" is dropped (telnet and OpenVPN clients send CRLF).
 */

export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

export class LineTooLongError extends Error {
  override name = "LineTooLongError";
}

const decoder = new TextDecoder();

export class LineReader {
  #src: ByteSource;
  #max: number;
  #chunk: Uint8Array;
  /** Bytes of the current, unfinished line. */
  #pending: Uint8Array;
  #pendingLen = 0;
  /** Unconsumed bytes of the last read, [#chunkOff, #chunkEnd). */
  #chunkOff = 0;
  #chunkEnd = 0;
  #eof = false;

  constructor(src: ByteSource, options: { maxLineBytes?: number; readBytes?: number } = {}) {
    this.#src = src;
    this.#max = options.maxLineBytes ?? 1024;
    this.#chunk = new Uint8Array(options.readBytes ?? 4096);
    this.#pending = new Uint8Array(Math.min(this.#max, 1024));
  }

  /**
   * The next line without its terminator; null at end of stream (an
   * unterminated last line is returned first). Throws LineTooLongError when
   * a line exceeds maxLineBytes.
   */
  async readLine(): Promise<string | null> {
    while (true) {
      const nl = this.#chunk.subarray(this.#chunkOff, this.#chunkEnd).indexOf(10);
      const take = nl === -1 ? this.#chunkEnd - this.#chunkOff : nl;
      if (this.#pendingLen + take > this.#max) {
        throw new LineTooLongError(`Line longer than ${this.#max} bytes`);
      }
      if (this.#pendingLen + take > this.#pending.length) this.#grow(this.#pendingLen + take);
      this.#pending.set(this.#chunk.subarray(this.#chunkOff, this.#chunkOff + take), this.#pendingLen);
      this.#pendingLen += take;
      if (nl !== -1) {
        this.#chunkOff += take + 1;
        return this.#takeLine();
      }
      this.#chunkOff = this.#chunkEnd = 0;
      if (this.#eof) {
        return this.#pendingLen > 0 ? this.#takeLine() : null;
      }
      const n = await this.#src.read(this.#chunk);
      if (n === null) this.#eof = true;
      else this.#chunkEnd = n;
    }
  }

  /** The line buffer grows by doubling, up to maxLineBytes. */
  #grow(need: number): void {
    let size = this.#pending.length;
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.#max));
    next.set(this.#pending.subarray(0, this.#pendingLen));
    this.#pending = next;
  }

  #takeLine(): string {
    let len = this.#pendingLen;
    if (len > 0 && this.#pending[len - 1] === 13) len--;
    this.#pendingLen = 0;
    return decoder.decode(this.#pending.subarray(0, len));
  }
}
