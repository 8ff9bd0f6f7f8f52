/**
 * A half-open TCP flood, run inside mallory's e2e namespace: keeps COUNT
 * connections to HOST:PORT open that never send a byte, for HOLD_MS,
 * opening a new one whenever the server closes one (paced: at most one
 * reopen per slot every 100 ms). Prints "holding N" the first time all COUNT
 * are open, then one JSON line:
 *
 *   {"opened":N,"closedByServer":N,"connectFailures":N,"peakOpen":N,"openAtEnd":N,"firstFullMs":N}
 *
 * Source addresses come from the namespace's routing (an nft snat rule can
 * spread them over many addresses: the server admits 16 per source).
 */

const [host, port, count, holdMs] = Deno.args;
const COUNT = Number(count);
const to = { hostname: host, port: Number(port) };
const stats = {
  opened: 0,
  closedByServer: 0,
  connectFailures: 0,
  peakOpen: 0,
  openAtEnd: 0,
  firstFullMs: -1,
};
const conns = new Set<Deno.Conn>();
const start = performance.now();
const end = start + Number(holdMs);
let ending = false;

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One slot: open a connection, wait until the server closes it, open the next, until the end. */
async function slot(): Promise<void> {
  while (!ending && performance.now() < end) {
    let c: Deno.Conn;
    try {
      c = await Deno.connect(to);
    } catch {
      stats.connectFailures++;
      await delay(100);
      continue;
    }
    stats.opened++;
    conns.add(c);
    stats.peakOpen = Math.max(stats.peakOpen, conns.size);
    if (conns.size === COUNT && stats.firstFullMs < 0) {
      stats.firstFullMs = Math.round(performance.now() - start);
      console.log(`holding ${COUNT}`);
    }
    const buf = new Uint8Array(64);
    try {
      while ((await c.read(buf)) !== null) { /* nothing is expected */ }
    } catch {
      // reset by the server, or closed by us at the end
    }
    conns.delete(c);
    if (ending) return;
    stats.closedByServer++;
    try {
      c.close();
    } catch {
      // already closed
    }
    await delay(100);
  }
}

const slots = Array.from({ length: COUNT }, () => slot());
await delay(Math.max(0, end - performance.now()));
ending = true;
stats.openAtEnd = conns.size;
for (const c of conns) {
  try {
    c.close();
  } catch {
    // already closed
  }
}
await Promise.all(slots);
console.log(JSON.stringify(stats));
Deno.exit(0);
