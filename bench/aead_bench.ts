/**
 * AEAD seal/open throughput per cipher and backend, 64- and 1400-byte packets.
 *
 *   deno bench -A bench/aead_bench.ts                  Deno.bench statistics (time per packet)
 *   deno run -A --v8-flags=--expose-gc bench/aead_bench.ts
 *                                                      packets/s and Mbit/s table, WebCrypto with
 *                                                      packets in flight, heap growth of DataChannel
 *
 * Open benches restore the ciphertext before every call (a memcpy of the
 * packet), since open decrypts in place.
 */

import type { Aead, CipherName } from "../src/data/aead.ts";
import { NobleAead } from "../src/data/aead_noble.ts";
import { NodeAead } from "../src/data/aead_node.ts";
import { OpenSslAead } from "../src/data/aead_openssl.ts";
import { WebCryptoAead } from "../src/data/aead_webcrypto.ts";
import { DataChannel } from "../src/data/data_channel.ts";
import { dataKeysFromKey2 } from "../src/data/key_material.ts";
import { OPEN_OK } from "../src/data/verdicts.ts";

const CIPHERS: CipherName[] = ["AES-256-GCM", "AES-128-GCM", "CHACHA20-POLY1305"];
const SIZES = [64, 1400];
const MAKERS: [string, (c: CipherName, k: Uint8Array) => Aead][] = [
  ["node", (c, k) => new NodeAead(c, k)],
  ["noble", (c, k) => new NobleAead(c, k)],
  ["openssl", (c, k) => new OpenSslAead(c, k)],
];

function keyFor(cipher: CipherName): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(cipher === "AES-128-GCM" ? 16 : 32));
}

interface Case {
  seal: () => void;
  open: () => void;
}

function makeCase(aead: Aead, size: number): Case {
  const nonce = crypto.getRandomValues(new Uint8Array(12));
  const buf = crypto.getRandomValues(new Uint8Array(24 + size));
  const sealed = buf.slice();
  aead.seal(nonce, sealed, 0, 8, 24, size, 8);
  const work = sealed.slice();
  return {
    seal: () => aead.seal(nonce, buf, 0, 8, 24, size, 8),
    open: () => {
      work.set(sealed);
      if (!aead.open(nonce, work, 0, 8, 24, size, 8)) throw new Error("Open failed in bench");
    },
  };
}

for (const cipher of CIPHERS) {
  for (const [backend, make] of MAKERS) {
    for (const size of SIZES) {
      const c = makeCase(make(cipher, keyFor(cipher)), size);
      Deno.bench({
        name: `seal ${cipher} ${backend} ${size}B`,
        group: `seal ${cipher} ${size}B`,
        fn: c.seal,
      });
      Deno.bench({
        name: `open ${cipher} ${backend} ${size}B`,
        group: `open ${cipher} ${size}B`,
        fn: c.open,
      });
    }
  }
}

for (const cipher of ["AES-256-GCM", "AES-128-GCM"] as CipherName[]) {
  const aead = await WebCryptoAead.create(cipher, keyFor(cipher));
  for (const size of SIZES) {
    const nonce = crypto.getRandomValues(new Uint8Array(12));
    const buf = crypto.getRandomValues(new Uint8Array(24 + size));
    Deno.bench({
      name: `seal ${cipher} webcrypto ${size}B (awaited singly)`,
      group: `seal ${cipher} ${size}B`,
      fn: () => aead.seal(nonce, buf, 0, 8, 24, size, 8),
    });
  }
}

// ---- deno run: a packets/s + Mbit/s table, WebCrypto in flight, heap growth ----

function rate(fn: () => void, minMs = 400): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    for (let i = 0; i < 500; i++) fn();
    n += 500;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

async function rateAsync(fn: () => Promise<unknown>, inFlight: number, minMs = 400): Promise<number> {
  const batch = () => Promise.all(Array.from({ length: inFlight }, fn));
  for (let i = 0; i < 20; i++) await batch();
  let n = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < minMs) {
    await batch();
    n += inFlight;
    t = performance.now();
  }
  return n / ((t - t0) / 1000);
}

function row(label: string, size: number, pps: number): string {
  const mbit = (pps * size * 8) / 1e6;
  return `${label.padEnd(44)} ${size.toString().padStart(5)}B ${
    Math.round(pps).toString().padStart(9)
  } pkt/s ${mbit.toFixed(0).padStart(6)} Mbit/s`;
}

function heapCheck(cipher: CipherName, packets: number): string {
  const gc = (globalThis as { gc?: () => void }).gc;
  const key2 = crypto.getRandomValues(new Uint8Array(256));
  const tx = new DataChannel({ peerId: 1 });
  const rx = new DataChannel({ peerId: 1 });
  tx.installKey(0, dataKeysFromKey2(key2, { cipher, role: "client" }), 0);
  rx.installKey(0, dataKeysFromKey2(key2, { cipher, role: "server" }), 0);
  const slot = new Uint8Array(24 + 1400);
  const step = () => {
    const n = tx.seal(slot, 24, 1400);
    if (rx.open(slot, 0, n) !== OPEN_OK) throw new Error("Open failed in heap check");
  };
  for (let i = 0; i < 20_000; i++) step();
  gc?.();
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 0; i < packets; i++) step();
  const mid = Deno.memoryUsage().heapUsed;
  gc?.();
  const after = Deno.memoryUsage().heapUsed;
  const mb = (x: number) => (x / 1048576).toFixed(2);
  return `${cipher} seal+open x${packets} (1400B): heapUsed before ${mb(before)} MB, ` +
    `before GC ${mb(mid)} MB (+${mb(mid - before)}), after GC ${mb(after)} MB (${
      after - before >= 0 ? "+" : ""
    }${mb(after - before)})${gc ? "" : " [no --expose-gc]"}`;
}

if (import.meta.main) {
  console.log(`Deno ${Deno.version.deno}, V8 ${Deno.version.v8}, ${Deno.build.target}`);
  for (const cipher of CIPHERS) {
    for (const [backend, make] of MAKERS) {
      for (const size of SIZES) {
        const c = makeCase(make(cipher, keyFor(cipher)), size);
        console.log(row(`seal ${cipher} ${backend}`, size, rate(c.seal)));
        console.log(row(`open ${cipher} ${backend}`, size, rate(c.open)));
      }
    }
  }
  for (const cipher of ["AES-256-GCM", "AES-128-GCM"] as CipherName[]) {
    const aead = await WebCryptoAead.create(cipher, keyFor(cipher));
    for (const size of SIZES) {
      for (const inFlight of [1, 8, 64]) {
        const bufs = Array.from(
          { length: inFlight },
          () => crypto.getRandomValues(new Uint8Array(24 + size)),
        );
        const nonce = crypto.getRandomValues(new Uint8Array(12));
        let i = 0;
        const pps = await rateAsync(
          () => aead.seal(nonce, bufs[i++ % inFlight], 0, 8, 24, size, 8),
          inFlight,
        );
        console.log(row(`seal ${cipher} webcrypto, ${inFlight} in flight`, size, pps));
      }
    }
  }
  for (const cipher of CIPHERS) console.log(heapCheck(cipher, 100_000));
}
