/**
 * A bounded bulk TCP transfer for e2e fault tests, run inside lab namespaces;
 * each side prints one JSON line.
 *
 *   bulk_transfer.ts receive HOST PORT CONNECTIONS
 *     accepts CONNECTIONS connections and reads each to EOF:
 *     {"bytes":N,"ms":N} (ms from the first accept to the last EOF)
 *
 *   bulk_transfer.ts send HOST PORT BYTES CONNECTIONS
 *     writes BYTES split evenly over CONNECTIONS parallel connections, then
 *     closes them: {"bytes":N,"ms":N}
 *
 * Several connections because one TCP flow over a path losing 10% of its
 * packets is limited by its own congestion control, not by the tunnel.
 */

const CHUNK = new Uint8Array(64 * 1024).fill(0x5a);

async function drain(conn: Deno.Conn): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let total = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    total += n;
  }
  conn.close();
  return total;
}

async function receive(host: string, port: number, connections: number): Promise<void> {
  const listener = Deno.listen({ hostname: host, port });
  const reads: Promise<number>[] = [];
  let first = 0;
  for (let i = 0; i < connections; i++) {
    const conn = await listener.accept();
    first ||= performance.now();
    reads.push(drain(conn));
  }
  listener.close();
  const bytes = (await Promise.all(reads)).reduce((a, b) => a + b, 0);
  console.log(JSON.stringify({ bytes, ms: Math.round(performance.now() - first) }));
}

async function sendOne(host: string, port: number, bytes: number): Promise<void> {
  const conn = await Deno.connect({ hostname: host, port });
  for (let left = bytes; left > 0; left -= CHUNK.length) {
    const part = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    for (let off = 0; off < part.length;) off += await conn.write(part.subarray(off));
  }
  await conn.closeWrite();
  await drain(conn); // the receiver closes once it has read everything
}

async function send(host: string, port: number, bytes: number, connections: number): Promise<void> {
  const start = performance.now();
  const each = Math.floor(bytes / connections);
  const sizes = Array.from(
    { length: connections },
    (_, i) => i === 0 ? bytes - each * (connections - 1) : each,
  );
  await Promise.all(sizes.map((n) => sendOne(host, port, n)));
  console.log(JSON.stringify({ bytes, ms: Math.round(performance.now() - start) }));
}

const [mode, host, port, a, b] = Deno.args;
if (mode === "receive") await receive(host, Number(port), Number(a));
else if (mode === "send") await send(host, Number(port), Number(a), Number(b));
else throw new Error(`Unknown mode ${mode}`);
