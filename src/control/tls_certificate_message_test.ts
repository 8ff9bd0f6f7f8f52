import assert from "node:assert/strict";
import { certificatesOfMessage } from "./tls_certificate_message.ts";

const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];
const leaf = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
const ca = Uint8Array.from({ length: 70 }, (_, i) => 255 - i);

/** A Certificate message: TLS 1.3 entries carry extensions, TLS 1.2 entries do not. */
function message(certs: Uint8Array[], tls13: boolean, context: number[] = []): Uint8Array {
  const entries: number[] = [];
  for (const c of certs) entries.push(...u24(c.length), ...c, ...(tls13 ? [0, 0] : []));
  const body = [...(tls13 ? [context.length, ...context] : []), ...u24(entries.length), ...entries];
  return Uint8Array.from([11, ...u24(body.length), ...body]);
}

Deno.test("certificatesOfMessage() reads the certificates as sent, leaf first, in TLS 1.3 and TLS 1.2 form", () => {
  assert.deepEqual(certificatesOfMessage(message([leaf, ca], true), true), [leaf, ca]);
  assert.deepEqual(certificatesOfMessage(message([leaf, ca], true, [1, 2, 3]), true), [leaf, ca]);
  assert.deepEqual(certificatesOfMessage(message([leaf], false), false), [leaf]);
  assert.deepEqual(certificatesOfMessage(message([], true), true), [], "a client without a certificate");
  // TLS 1.3 entry extensions are skipped.
  const withExtension = message([leaf], true);
  const m = Uint8Array.from([...withExtension.subarray(0, withExtension.length - 2), 0, 3, 9, 9, 9]);
  m.set(u24(m.length - 4), 1);
  m.set(u24(m.length - 8), 5);
  assert.deepEqual(certificatesOfMessage(m, true), [leaf]);
});

Deno.test("certificatesOfMessage() refuses every truncation, a wrong type or length, an empty entry, trailing bytes", () => {
  const good = message([leaf, ca], true);
  for (let cut = 0; cut < good.length; cut++) {
    assert.equal(certificatesOfMessage(good.subarray(0, cut), true), null, `cut at ${cut}`);
  }
  assert.equal(certificatesOfMessage(Uint8Array.from([2, ...good.subarray(1)]), true), null, "not type 11");
  assert.equal(certificatesOfMessage(Uint8Array.from([...good, 0]), true), null, "a byte past its length");
  assert.equal(certificatesOfMessage(message([new Uint8Array(0)], true), true), null, "an empty certificate");
  assert.equal(certificatesOfMessage(message([leaf], true), false), null, "TLS 1.3 form read as TLS 1.2");
});

Deno.test("certificatesOfMessage() keeps at most 16 certificates of a long list", () => {
  const many = Array.from({ length: 40 }, () => ca);
  assert.equal(certificatesOfMessage(message(many, true), true)!.length, 16);
});
