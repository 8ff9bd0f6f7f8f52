import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { fractions, mulberry32 } from "../testing/seeded_random.ts";
import { concatBytes } from "../testing/bytes.ts";
import { fromHex } from "../testing/data/hex.ts";
import {
  expandLabel,
  isTls13Suite,
  MAX_PLAINTEXT,
  Tls13Records,
  useNodeHmacForKeys,
} from "./tls13_records.ts";

// RFC 8448 §3, the server's handshake traffic secret and the key and IV derived from it.
const RFC8448_SECRET = fromHex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38");

for (const backend of ["openssl", "node"] as const) {
  Deno.test(`expandLabel() (${backend} HMAC) gives RFC 8448's traffic key and IV, and OpenSSL's "traffic upd" secret`, () => {
    const previous = useNodeHmacForKeys(backend === "node");
    try {
      expandLabelVectors();
    } finally {
      useNodeHmacForKeys(previous);
    }
  });
}

function expandLabelVectors(): void {
  assert.deepEqual(
    expandLabel("sha256", RFC8448_SECRET, "key", 16),
    fromHex("3fce516009c21727d0f2e4e86ee403bc"),
  );
  assert.deepEqual(expandLabel("sha256", RFC8448_SECRET, "iv", 12), fromHex("5d313eb2671276ee13000b30"));
  // `openssl kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt mode:EXPAND_ONLY -kdfopt hexkey:<secret>
  //  -kdfopt hexinfo:002011746c73313320747261666669632075706400 HKDF`
  assert.deepEqual(
    expandLabel("sha256", RFC8448_SECRET, "traffic upd", 32),
    fromHex("c5847ffa1bfea2d5c409eee45d2813181327a78a52ee6d02d8a5e10fbf0fface"),
  );
}

Deno.test("isTls13Suite() knows TLS 1.3's three default suites and nothing else", () => {
  assert.ok(isTls13Suite("TLS_AES_256_GCM_SHA384"));
  assert.ok(isTls13Suite("TLS_CHACHA20_POLY1305_SHA256"));
  assert.ok(isTls13Suite("TLS_AES_128_GCM_SHA256"));
  assert.ok(!isTls13Suite("TLS_AES_128_CCM_SHA256"));
  assert.ok(!isTls13Suite("ECDHE-RSA-AES256-GCM-SHA384"));
  assert.ok(!isTls13Suite("constructor"));
  assert.ok(!isTls13Suite(null));
});

interface End {
  records: Tls13Records;
  out: Uint8Array[];
  plain: Uint8Array[];
  errors: string[];
}

function end(suite: Parameters<typeof isTls13Suite>[0] & string, read: Uint8Array, write: Uint8Array): End {
  const e = { out: [], plain: [], errors: [] } as unknown as End;
  e.records = new Tls13Records(suite as "TLS_AES_256_GCM_SHA384", read, write, {
    onCiphertext: (b) => e.out.push(b),
    onPlaintext: (b) => e.plain.push(b),
    onError: (r) => e.errors.push(r),
  });
  return e;
}

const SECRETS: Record<string, [Uint8Array, Uint8Array]> = {
  TLS_AES_256_GCM_SHA384: [new Uint8Array(48).fill(1), new Uint8Array(48).fill(2)],
  TLS_AES_128_GCM_SHA256: [new Uint8Array(32).fill(3), new Uint8Array(32).fill(4)],
  TLS_CHACHA20_POLY1305_SHA256: [new Uint8Array(32).fill(5), new Uint8Array(32).fill(6)],
};

for (const [suite, [a, b]] of Object.entries(SECRETS)) {
  Deno.test(`Tls13Records (${suite}): records cut anywhere arrive whole, in order, over 2^14 bytes split`, () => {
    const server = end(suite, a, b);
    const client = end(suite, b, a);
    const big = new Uint8Array(MAX_PLAINTEXT * 2 + 100).map((_, i) => (i * 13) & 0xff);
    server.records.write(big);
    server.records.write(Uint8Array.of(42));
    assert.equal(server.out.length, 4, "three records for 2^15+100 bytes, one for the last byte");
    const stream = concatBytes(...server.out);
    // Byte by byte for the first record, then in uneven pieces.
    for (let i = 0; i < 300; i++) client.records.feed(stream.subarray(i, i + 1));
    for (let at = 300; at < stream.length; at += 777) client.records.feed(stream.subarray(at, at + 777));
    assert.deepEqual(client.errors, []);
    assert.deepEqual(concatBytes(...client.plain), concatBytes(big, Uint8Array.of(42)));
  });
}

Deno.test("Tls13Records: a record that fails its tag is refused, delivers nothing, and ends the session", () => {
  const [a, b] = SECRETS.TLS_AES_256_GCM_SHA384;
  const server = end("TLS_AES_256_GCM_SHA384", a, b);
  const client = end("TLS_AES_256_GCM_SHA384", b, a);
  server.records.write(new TextEncoder().encode("push-reply"));
  server.records.write(new TextEncoder().encode("more"));
  const [first, second] = server.out;
  const flipped = first.slice();
  flipped[10] ^= 1;
  client.records.feed(flipped);
  client.records.feed(second);
  assert.deepEqual(client.plain, []);
  assert.deepEqual(client.errors, ["TLS error: a record failed its authentication tag"]);
  assert.ok(client.records.ended);
});

Deno.test("Tls13Records: replayed or reordered records fail (the nonce is the sequence number)", () => {
  const [a, b] = SECRETS.TLS_AES_128_GCM_SHA256;
  const server = end("TLS_AES_128_GCM_SHA256", a, b);
  const client = end("TLS_AES_128_GCM_SHA256", b, a);
  server.records.write(Uint8Array.of(1));
  server.records.write(Uint8Array.of(2));
  client.records.feed(server.out[1]);
  assert.deepEqual(client.plain, []);
  assert.equal(client.errors.length, 1);
  const again = end("TLS_AES_128_GCM_SHA256", b, a);
  again.records.feed(server.out[0]);
  again.records.feed(server.out[0]);
  assert.deepEqual(again.plain, [Uint8Array.of(1)]);
  assert.equal(again.errors.length, 1, "the replay is refused");
});

Deno.test("Tls13Records: close_notify, alerts, plaintext records and oversized lengths end the session with a reason", () => {
  const [a, b] = SECRETS.TLS_AES_256_GCM_SHA384;
  const cases: [Uint8Array, RegExp][] = [
    [Uint8Array.of(21, 3, 3, 0, 2, 2, 48), /TLS alert 48 from the peer \(in the clear\)/],
    [Uint8Array.of(22, 3, 3, 0, 4, 1, 2, 3, 4), /a record of type 22 after the handshake/],
    [Uint8Array.of(23, 3, 3, 0x41, 0x11), /a protected record of 16657 bytes/],
    [Uint8Array.of(23, 3, 3, 0, 5, 1, 2, 3, 4, 5), /a protected record of 5 bytes/],
  ];
  for (const [record, reason] of cases) {
    const client = end("TLS_AES_256_GCM_SHA384", b, a);
    client.records.feed(record);
    assert.equal(client.errors.length, 1, String(reason));
    assert.match(client.errors[0], reason);
    client.records.feed(record);
    assert.equal(client.errors.length, 1, "one report");
  }
});

/** A peer's record built by hand: `inner` (content, type, padding) sealed with the sequence number `seq`. */
function sealAs(suite: "aes-256-gcm", secret: Uint8Array, hash: "sha384", seq: number, inner: Uint8Array) {
  const key = expandLabel(hash, secret, "key", 32);
  const iv = expandLabel(hash, secret, "iv", 12);
  iv[11] ^= seq;
  const header = Uint8Array.of(23, 3, 3, 0, inner.length + 16);
  const c = createCipheriv(suite, key, iv, { authTagLength: 16 });
  c.setAAD(header);
  const body = concatBytes(c.update(inner), c.final(), c.getAuthTag());
  return concatBytes(header, body);
}

Deno.test("Tls13Records: a peer's close_notify, alert, padding and KeyUpdate (RFC 8446 §4.6.3)", () => {
  const [a, b] = SECRETS.TLS_AES_256_GCM_SHA384;
  const seal = (seq: number, inner: number[], secret = a) =>
    sealAs("aes-256-gcm", secret, "sha384", seq, Uint8Array.from(inner));

  const closing = end("TLS_AES_256_GCM_SHA384", a, b);
  closing.records.feed(seal(0, [0x68, 0x69, 23, 0, 0, 0])); // "hi", padded
  closing.records.feed(seal(1, [1, 0, 21]));
  assert.deepEqual(closing.plain, [Uint8Array.of(0x68, 0x69)]);
  assert.deepEqual(closing.errors, ["TLS session closed by the peer"]);

  const alerted = end("TLS_AES_256_GCM_SHA384", a, b);
  alerted.records.feed(seal(0, [2, 40, 21]));
  assert.deepEqual(alerted.errors, ["TLS alert 40 from the peer"]);

  const typeless = end("TLS_AES_256_GCM_SHA384", a, b);
  typeless.records.feed(seal(0, [0, 0, 0]));
  assert.deepEqual(typeless.errors, ["TLS error: a record with no content type"]);

  const ticket = end("TLS_AES_256_GCM_SHA384", a, b);
  ticket.records.feed(seal(0, [4, 0, 0, 1, 0, 22]));
  assert.deepEqual(ticket.errors, ["TLS error: handshake message 4 after the handshake"]);

  // KeyUpdate with update_requested: the read key moves on; we answer under the old write key, then move ours.
  const updated = end("TLS_AES_256_GCM_SHA384", a, b);
  updated.records.feed(seal(0, [24, 0, 0, 1, 1, 22]));
  const nextRead = expandLabel("sha384", a, "traffic upd", 48);
  updated.records.feed(seal(0, [0x6f, 0x6b, 23], nextRead));
  assert.deepEqual(updated.errors, []);
  assert.deepEqual(updated.plain, [Uint8Array.of(0x6f, 0x6b)]);
  updated.records.write(Uint8Array.of(7));
  const peer = end("TLS_AES_256_GCM_SHA384", b, a); // what we send, read as the peer would
  peer.records.feed(updated.out[0]); // our KeyUpdate(update_not_requested), under the old key
  assert.deepEqual(peer.errors, [], "the peer takes our KeyUpdate and moves its read key");
  peer.records.feed(updated.out[1]);
  assert.deepEqual(peer.plain, [Uint8Array.of(7)], "then reads data under our next key");
});

Deno.test("Tls13Records: 20,000 mutated streams never throw, deliver only what was sealed, and end at most once", () => {
  const [a, b] = SECRETS.TLS_CHACHA20_POLY1305_SHA256;
  const sender = end("TLS_CHACHA20_POLY1305_SHA256", b, a);
  const sent = [Uint8Array.of(1, 2, 3), new Uint8Array(3000).fill(9), Uint8Array.of(4)];
  for (const m of sent) sender.records.write(m);
  const stream = concatBytes(...sender.out);
  const next = fractions(mulberry32(0x7157));
  for (let round = 0; round < 20_000; round++) {
    const mutated = stream.slice(0, Math.floor(next() * (stream.length + 1)));
    const flips = Math.floor(next() * 4);
    for (let i = 0; i < flips && mutated.length > 0; i++) {
      mutated[Math.floor(next() * mutated.length)] ^= 1 << Math.floor(next() * 8);
    }
    const receiver = end("TLS_CHACHA20_POLY1305_SHA256", a, b);
    for (let at = 0; at < mutated.length;) {
      const n = 1 + Math.floor(next() * 900);
      receiver.records.feed(mutated.subarray(at, at + n));
      at += n;
    }
    assert.ok(receiver.errors.length <= 1, `round ${round}: one report at most`);
    // Whatever arrived is a prefix of what was sealed, record by record.
    receiver.plain.forEach((p, i) => assert.deepEqual(p, sent[i], `round ${round}, record ${i}`));
  }
});
