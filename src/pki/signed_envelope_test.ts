import assert from "node:assert/strict";
import { DerError } from "./der.ts";
import { openSignedEnvelope, readAlgorithm, readEnvelopeSignature } from "./signed_envelope.ts";
import { derTlv } from "../testing/pki/der.ts";
import { concatBytes } from "../testing/bytes.ts";

const NAMES = { outer: "Thing", prose: "thing", signed: "TBSThing" };

const OID_A = Uint8Array.of(0x06, 0x02, 0x2a, 0x03); // 1.2.3
const OID_B = Uint8Array.of(0x06, 0x02, 0x2a, 0x04); // 1.2.4
const INTEGER_7 = Uint8Array.of(0x02, 0x01, 0x07);
const SIGNATURE = derTlv(0x03, Uint8Array.of(0x00, 0xab, 0xcd));
const SIGNED_PART = derTlv(0x30, concatBytes(INTEGER_7, derTlv(0x30, OID_A)));

function envelope(outerAlgorithm: Uint8Array, ...rest: Uint8Array[]): Uint8Array {
  return derTlv(0x30, concatBytes(SIGNED_PART, derTlv(0x30, outerAlgorithm), ...rest));
}

Deno.test("openSignedEnvelope() gives the signed part's fields and readEnvelopeSignature() what the signature covers", () => {
  const der = envelope(OID_A, SIGNATURE);
  const open = openSignedEnvelope(der, NAMES);
  assert.deepEqual(open.fields.map((f) => f.tag), [0x02, 0x30]);
  const inner = readAlgorithm(der, open.fields[1]);
  assert.equal(inner.oid, "1.2.3");
  const signed = readEnvelopeSignature(der, open, inner);
  assert.deepEqual(signed.tbs, SIGNED_PART);
  assert.equal(signed.signatureAlgorithm.oid, "1.2.3");
  assert.deepEqual([...signed.signature], [0xab, 0xcd]);
});

Deno.test("openSignedEnvelope() names the structure in its errors", () => {
  const good = envelope(OID_A, SIGNATURE);
  assert.throws(() => openSignedEnvelope(Uint8Array.of(...good, 0), NAMES), /trailing bytes after the thing/);
  assert.throws(() => openSignedEnvelope(envelope(OID_A), NAMES), /malformed Thing/);
  const unsigned = derTlv(0x30, concatBytes(INTEGER_7, derTlv(0x30, OID_A), SIGNATURE));
  assert.throws(() => openSignedEnvelope(unsigned, NAMES), /TBSThing: expected a SEQUENCE/);
  assert.throws(() => openSignedEnvelope(Uint8Array.of(0x31, 0), NAMES), DerError);
});

Deno.test("readEnvelopeSignature() refuses an outer algorithm that differs from the signed one", () => {
  const der = envelope(OID_B, SIGNATURE);
  const open = openSignedEnvelope(der, NAMES);
  assert.throws(
    () => readEnvelopeSignature(der, open, readAlgorithm(der, open.fields[1])),
    /signatureAlgorithm differs from the algorithm inside the signed part/,
  );
});
