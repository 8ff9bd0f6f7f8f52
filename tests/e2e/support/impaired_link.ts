/**
 * A lossy, slow, reordering UDP path for e2e fault tests, run inside a lab
 * namespace: what `tc qdisc add dev X root netem loss L% delay D J` does on
 * both ends of a link, for kernels built without sch_netem (this host's is).
 *
 *   impaired_link.ts LISTEN_HOST PORT TARGET_HOST TARGET_PORT LOSS_PERCENT DELAY_MS JITTER_MS
 *
 * Datagrams from the first peer that writes to LISTEN_HOST:PORT go to
 * TARGET_HOST:TARGET_PORT from a second socket, and the answers come back the
 * same way. Each datagram, in each direction, is dropped with LOSS_PERCENT
 * probability, otherwise held DELAY_MS ± JITTER_MS (uniform, so later ones may
 * overtake it, as with netem's jitter). At most MAX_HELD datagrams wait at a
 * time. On SIGTERM it prints one JSON line and exits:
 *   {"up":{"forwarded":N,"lost":N,"overflow":N},"down":{...}}
 */

const MAX_HELD = 20_000;

interface Direction {
  forwarded: number;
  lost: number;
  overflow: number;
}

const [listenHost, port, targetHost, targetPort, lossPercent, delayMs, jitterMs] = Deno.args;
const loss = Number(lossPercent) / 100;
const delay = Number(delayMs);
const jitter = Number(jitterMs);
const target: Deno.NetAddr = { transport: "udp", hostname: targetHost, port: Number(targetPort) };

const front = Deno.listenDatagram({ transport: "udp", hostname: listenHost, port: Number(port) });
const back = Deno.listenDatagram({ transport: "udp", hostname: listenHost, port: 0 });
const up: Direction = { forwarded: 0, lost: 0, overflow: 0 };
const down: Direction = { forwarded: 0, lost: 0, overflow: 0 };
let peer: Deno.NetAddr | null = null;
let held = 0;

function impair(data: Uint8Array, out: Deno.DatagramConn, to: Deno.Addr, dir: Direction): void {
  if (Math.random() < loss) {
    dir.lost++;
    return;
  }
  if (held >= MAX_HELD) {
    dir.overflow++;
    return;
  }
  held++;
  setTimeout(() => {
    held--;
    dir.forwarded++;
    out.send(data, to).catch(() => {}); // the path is lossy anyway; a send error is one more loss
  }, delay + (Math.random() * 2 - 1) * jitter);
}

async function pump(from: Deno.DatagramConn, out: Deno.DatagramConn, dir: Direction): Promise<void> {
  try {
    for await (const [data, addr] of from) {
      if (from === front) peer ??= addr as Deno.NetAddr;
      const to = from === front ? target : peer;
      if (to) impair(data, out, to, dir);
    }
  } catch {
    // closed at shutdown
  }
}

Deno.addSignalListener("SIGTERM", () => {
  console.log(JSON.stringify({ up, down }));
  Deno.exit(0);
});
await Promise.all([pump(front, back, up), pump(back, front, down)]);
