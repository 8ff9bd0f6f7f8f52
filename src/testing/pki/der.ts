/** Test support: DER elements built by hand, for inputs no certificate tool will make. */

import { concatBytes } from "../bytes.ts";

/**
 * A tag-length-value element. The length is in DER's shortest form, unless
 * `lengthBytes` > 0 forces the long form with that many bytes (zero-padded),
 * which no canonical reader may accept.
 */
export function derTlv(tag: number, contents: Uint8Array, lengthBytes = 0): Uint8Array<ArrayBuffer> {
  const len = contents.length;
  if (lengthBytes === 0) {
    if (len < 0x80) return concatBytes(Uint8Array.of(tag, len), contents);
    lengthBytes = len < 0x100 ? 1 : len < 0x10000 ? 2 : 3;
  }
  const head = [tag, 0x80 | lengthBytes];
  for (let i = lengthBytes - 1; i >= 0; i--) head.push(Math.floor(len / 256 ** i) & 0xff);
  return concatBytes(Uint8Array.from(head), contents);
}
