import assert from "node:assert/strict";
import { parseEndpoint } from "./endpoint.ts";
import { encodeMeshMessage, type MeshMessage, MeshMessageError, parseMeshMessage } from "./messages.ts";
import { sampleIntro } from "../testing/mesh/messages.ts";
import { seededRandom } from "../testing/mesh/random.ts";

const SEEDS: MeshMessage[] = [
  { kind: "hello", keepaliveS: 25, punchTimeoutS: 5, retryS: 30 },
  {
    kind: "key",
    epoch: 3,
    publicKey: new Uint8Array(32).fill(9),
    localEndpoints: [parseEndpoint("10.1.2.3:1194")],
  },
  sampleIntro(),
  { kind: "close", pairId: 17, reason: "killed" },
  { kind: "state", pairId: 9, path: "direct", endpoint: parseEndpoint("[2001:db8::5]:5000"), rttMs: 12 },
];

const ALPHABET = ",= :[]/.-0123456789abcdefxyzAZ+\u0000\n\u00e9\uffff" + "TSVPN_MESH_";

/** One random edit of `text`: flip, insert, delete, duplicate a field, truncate, or splice another seed. */
function mutate(text: string, next: (n: number) => number): string {
  const at = next(text.length + 1);
  switch (next(7)) {
    case 0:
      return text.slice(0, at) + ALPHABET[next(ALPHABET.length)] + text.slice(at + 1);
    case 1:
      return text.slice(0, at) + ALPHABET[next(ALPHABET.length)] + text.slice(at);
    case 2:
      return text.slice(0, at) + text.slice(at + 1 + next(8));
    case 3: {
      const fields = text.split(",");
      const i = next(fields.length);
      fields.splice(next(fields.length + 1), 0, fields[i]);
      return fields.join(",");
    }
    case 4:
      return text.slice(0, at);
    case 5: {
      const other = encodeMeshMessage(SEEDS[next(SEEDS.length)]);
      return text.slice(0, at) + other.slice(next(other.length));
    }
    default:
      return text.replace(/[0-9]+/, String(next(2) === 0 ? 2 ** 32 + next(1000) : next(100000)));
  }
}

Deno.test("parseMeshMessage() on 10^4 mutated messages returns a valid message or a MeshMessageError, nothing else", () => {
  const next = seededRandom(0x5eed);
  let accepted = 0, refused = 0;
  for (let i = 0; i < 10_000; i++) {
    let text = encodeMeshMessage(SEEDS[i % SEEDS.length]);
    const edits = 1 + next(4);
    for (let e = 0; e < edits; e++) text = mutate(text, next);
    let parsed: MeshMessage;
    try {
      parsed = parseMeshMessage(text);
    } catch (e) {
      assert.ok(e instanceof MeshMessageError, `unexpected ${e} for ${JSON.stringify(text)}`);
      assert.ok(!e.message.includes("\n") && e.message.length < 300);
      refused++;
      continue;
    }
    // Whatever is accepted is a well-formed message: it encodes and parses back unchanged.
    assert.deepEqual(parseMeshMessage(encodeMeshMessage(parsed)), parsed);
    accepted++;
  }
  assert.ok(refused > 5000, `only ${refused} refused`);
  assert.ok(accepted > 0, "no mutation survived: the mutator is too destructive to test acceptance");
});

Deno.test("parseMeshMessage() on random printable garbage with the mesh prefix throws only MeshMessageError", () => {
  const next = seededRandom(77);
  for (let i = 0; i < 2000; i++) {
    let text = "TSVPN_MESH_" + ["HELLO", "KEY", "INTRO", "CLOSE", "STATE"][next(5)] + ",v=1";
    const n = next(200);
    for (let j = 0; j < n; j++) text += ALPHABET[next(ALPHABET.length)];
    try {
      parseMeshMessage(text);
    } catch (e) {
      assert.ok(e instanceof MeshMessageError, `unexpected ${e} for ${JSON.stringify(text)}`);
    }
  }
});
