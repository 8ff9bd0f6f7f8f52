/**
 * What a renegotiation leaves in memory until the next full collection, one
 * part at a time (docs/reliability.md, "Soak"): TLS handshakes through
 * src/control/tls_channel.ts (client and server in memory, both destroyed
 * after the handshake), and OpenSSL AEAD instances (src/data/aead_openssl.ts,
 * two per data key). Prints RSS and the V8 heap every N/10 rounds.
 *
 *   deno run -A --v8-flags=--expose-gc bench/renegotiation_memory_probe.ts tls [N] [--no-gc] [--in-secure]
 *   deno run -A bench/renegotiation_memory_probe.ts aead [N]
 *
 * tls: handshake pairs, destroyed a macrotask after the handshake (as tsvpn
 * does); with a forced full collection before each line unless --no-gc;
 * --in-secure destroys them inside the 'secure' callback instead.
 * aead: N instances kept, then freed: native bytes per instance.
 */

import { sharedTestPki } from "../src/testing/control/pki.ts";
import { createTlsChannel, type TlsEndpoint } from "../src/control/tls_channel.ts";
import { OpenSslAead } from "../src/data/aead_openssl.ts";

const [mode = "tls", nText = "1000"] = Deno.args.filter((a) => !a.startsWith("--"));
const N = Number(nText);
const gc = (globalThis as { gc?: () => void }).gc;
const forceGc = !Deno.args.includes("--no-gc");
const inSecure = Deno.args.includes("--in-secure");
const MIB = 2 ** 20;

function report(label: string): void {
  if (forceGc) gc?.(), gc?.();
  const m = Deno.memoryUsage();
  console.log(
    `${label} rssMiB=${(m.rss / MIB).toFixed(1)} heapUsedMiB=${(m.heapUsed / MIB).toFixed(2)}` +
      ` heapTotalMiB=${(m.heapTotal / MIB).toFixed(1)} externalMiB=${(m.external / MIB).toFixed(2)}`,
  );
}

async function tlsChurn(): Promise<void> {
  if (forceGc && !gc) throw new Error("forced collections need --v8-flags=--expose-gc (or pass --no-gc)");
  const pki = await sharedTestPki();
  const handshake = () =>
    new Promise<void>((resolve, reject) => {
      let secure = 0;
      const end = () => {
        s.destroy();
        c.destroy();
        resolve();
      };
      const onSecure = () => {
        if (++secure < 2) return;
        if (inSecure) end();
        else setTimeout(end, 0);
      };
      const s: TlsEndpoint = createTlsChannel("server", pki.server, {
        onCiphertext: (b) => setTimeout(() => c.feed(b), 0),
        onSecure,
        onPlaintext: () => {},
        onError: reject,
      });
      const c: TlsEndpoint = createTlsChannel("client", pki.client, {
        onCiphertext: (b) => setTimeout(() => s.feed(b), 0),
        onSecure,
        onPlaintext: () => {},
        onError: reject,
      });
    });
  for (let i = 0; i <= N; i++) {
    if (i % Math.max(1, Math.floor(N / 10)) === 0) report(`handshakes=${i}`);
    await handshake();
  }
}

function aeadSize(): void {
  const key = new Uint8Array(32).fill(7);
  const kept: OpenSslAead[] = [];
  const before = Deno.memoryUsage();
  for (let i = 0; i < N; i++) kept.push(new OpenSslAead("AES-256-GCM", key));
  const after = Deno.memoryUsage();
  for (const a of kept) a.free();
  console.log(
    `aead instances=${N} rssBytesEach=${Math.round((after.rss - before.rss) / N)}` +
      ` heapBytesEach=${Math.round((after.heapUsed - before.heapUsed) / N)}`,
  );
}

if (mode === "tls") await tlsChurn();
else if (mode === "aead") aeadSize();
else throw new Error(`mode: tls or aead, not ${mode}`);
