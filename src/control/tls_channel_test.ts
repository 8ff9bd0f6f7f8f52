import assert from "node:assert/strict";
import { TlsChannel, type TlsChannelHandlers } from "./tls_channel.ts";
import { createTestPki, type TestPki } from "./testing_pki.ts";

let pki: TestPki;
const opts = { sanitizeOps: false, sanitizeResources: false };

function wait(cond: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const t = setInterval(() => {
      if (cond()) {
        clearInterval(t);
        resolve();
      } else if (++n > 500) {
        clearInterval(t);
        reject(new Error(`Timed out: ${what}`));
      }
    }, 10);
  });
}

/** A client and a server channel joined in memory; `server` handlers may be overridden. */
function pair(server: Partial<TlsChannelHandlers>) {
  const errors: string[] = [];
  let secure = 0;
  // deno-lint-ignore prefer-const
  let c: TlsChannel;
  const s = new TlsChannel("server", pki.server, {
    onCiphertext: (b) => setTimeout(() => c.feed(b), 0),
    onSecure: () => secure++,
    onPlaintext: () => {},
    onError: (r) => errors.push(r),
    ...server,
  });
  c = new TlsChannel("client", pki.client, {
    onCiphertext: (b) => setTimeout(() => s.feed(b), 0),
    onSecure: () => secure++,
    onPlaintext: () => {},
    onError: (r) => errors.push(`client: ${r}`),
  });
  return { s, c, errors, secure: () => secure };
}

Deno.test({ ...opts, name: "fixture", fn: async () => void (pki = await createTestPki()) });

Deno.test({
  ...opts,
  name: "TlsChannel reports a throwing onPlaintext handler as a channel error, not an uncaught exception",
  fn: async () => {
    const p = pair({
      onPlaintext: () => {
        throw new Error("handler bug");
      },
    });
    try {
      await wait(() => p.secure() === 2, "handshake");
      p.c.write(new TextEncoder().encode("hello"));
      await wait(() => p.errors.some((e) => e.includes("internal error: handler bug")), "error report");
    } finally {
      p.s.destroy();
      p.c.destroy();
    }
  },
});

Deno.test({
  ...opts,
  name:
    "TlsChannel.feed() turns garbage and oversized records into one error and keeps quiet after destroy()",
  fn: async () => {
    const p = pair({});
    try {
      const junk = new Uint8Array(70000);
      for (let i = 0; i < junk.length; i++) junk[i] = (i * 131 + 7) & 0xff;
      junk.set([22, 3, 3, 0xff, 0xff], 0); // a handshake record claiming 64 KiB
      p.s.feed(junk);
      await wait(() => p.errors.length > 0, "error");
      assert.ok(
        p.errors.every((e) => e.startsWith("TLS") || e.startsWith("client: TLS")),
        p.errors.join("; "),
      );
      p.s.destroy();
      const n = p.errors.length;
      p.s.feed(junk);
      p.s.write(junk);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(p.errors.length, n);
    } finally {
      p.s.destroy();
      p.c.destroy();
    }
  },
});

Deno.test({ ...opts, name: "cleanup", fn: async () => await pki.cleanup() });
