/**
 * Child of tun_gso_test.ts, run inside a fresh namespace: opens a tun with a
 * virtio-net header, plays a TCP peer (10.77.0.2) toward a Deno listener on
 * the device's address (10.77.0.1) by hand-made packets, and sends the data
 * as segments through the datapath's TcpCoalescer, which hands the kernel
 * super-packets. Prints one JSON report.
 */

import { openTun } from "../../ffi/tun.ts";
import { ipv4HeaderChecksum, transportChecksum } from "../../src/packet/checksum.ts";
import { GRO_AREA_BYTES, TcpCoalescer } from "../../src/datapath/gro.ts";
import { settledWithin } from "../../src/testing/wait.ts";

const OFF = 24;
const SLOT = 2048;
const LOCAL = [10, 77, 0, 1];
const PEER = [10, 77, 0, 2];
const PORT = 5001;
const PEER_PORT = 40123;

async function sh(...argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1) }).output();
  if (out.code !== 0) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

/** An IPv4 TCP packet from the peer with valid checksums, written into `buf` at OFF. */
function tcp(buf: Uint8Array, seq: number, ack: number, flags: number, payload: Uint8Array): number {
  const len = 40 + payload.length;
  const p = buf.subarray(OFF, OFF + len);
  p.fill(0, 0, 40);
  p[0] = 0x45;
  p[2] = len >> 8;
  p[3] = len & 0xff;
  p[6] = 0x40;
  p[8] = 64;
  p[9] = 6;
  p.set(PEER, 12);
  p.set(LOCAL, 16);
  const c = ipv4HeaderChecksum(p, 0);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p[20] = PEER_PORT >> 8;
  p[21] = PEER_PORT & 0xff;
  p[22] = PORT >> 8;
  p[23] = PORT & 0xff;
  new DataView(p.buffer, p.byteOffset).setUint32(24, seq >>> 0);
  new DataView(p.buffer, p.byteOffset).setUint32(28, ack >>> 0);
  p[32] = 5 << 4;
  p[33] = flags;
  p[34] = 0xff;
  p[35] = 0xff;
  p.set(payload, 40);
  const t = transportChecksum(p, 0, 16);
  p[36] = t >> 8;
  p[37] = t & 0xff;
  return len;
}

async function main(): Promise<unknown> {
  const dev = openTun({ kind: "tun", name: "tsvgso0", vnetHeader: true });
  await sh("ip", "addr", "add", "10.77.0.1/24", "dev", "tsvgso0");
  await sh("ip", "link", "set", "tsvgso0", "up");
  const listener = Deno.listen({ hostname: "10.77.0.1", port: PORT });
  const arena = new Uint8Array(new ArrayBuffer(64 * SLOT + GRO_AREA_BYTES));
  const slots = Array.from({ length: 64 }, (_, i) => arena.subarray(i * SLOT, (i + 1) * SLOT));
  const sizes = new Int32Array(64);
  let deviceWrites = 0;
  const gro = new TcpCoalescer(dev, arena, (n, ok) => {
    if (ok) deviceWrites += n;
  });
  const readOne = async (want: (b: Uint8Array) => boolean): Promise<Uint8Array> => {
    for (let tries = 0; tries < 50; tries++) {
      const n = await settledWithin(dev.readBatch(slots, sizes, OFF), 2000, -1);
      if (n < 0) break;
      for (let i = 0; i < n; i++) {
        const p = slots[i].slice(OFF, OFF + sizes[i]);
        if (p[0] === 0x45 && p[9] === 6 && want(p)) return p;
      }
    }
    throw new Error("no matching packet from the device");
  };
  try {
    const accepted = listener.accept();
    const isn = 1000;
    // SYN (a plain write through the virtio-net header path).
    let len = tcp(slots[0], isn, 0, 0x02, new Uint8Array(0));
    if (!dev.write(slots[0], OFF, len)) throw new Error("SYN write refused");
    const synAck = await readOne((p) => (p[33] & 0x12) === 0x12);
    const serverIsn = new DataView(synAck.buffer).getUint32(24);
    len = tcp(slots[0], isn + 1, serverIsn + 1, 0x10, new Uint8Array(0));
    dev.write(slots[0], OFF, len);
    const conn = await accepted;
    // 30 segments of 1000 bytes, the last with PSH, through the coalescer.
    const data = new Uint8Array(30_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 8)) & 0xff;
    for (let k = 0; k < 30; k++) {
      const n = tcp(
        slots[k],
        isn + 1 + k * 1000,
        serverIsn + 1,
        k === 29 ? 0x18 : 0x10,
        data.subarray(k * 1000, (k + 1) * 1000),
      );
      gro.add(slots[k], OFF, n);
    }
    gro.flush();
    const got = new Uint8Array(data.length);
    let have = 0;
    const deadline = Date.now() + 5000;
    while (have < got.length && Date.now() < deadline) {
      const n = await conn.read(got.subarray(have));
      if (n === null) break;
      have += n;
    }
    conn.close();
    let same = have === data.length;
    for (let i = 0; same && i < have; i++) same = got[i] === data[i];
    return {
      received: have,
      same,
      deviceWrites,
      superPackets: gro.stats.superPackets,
      merged: gro.stats.mergedSegments,
    };
  } finally {
    listener.close();
    dev.close();
  }
}

try {
  console.log(JSON.stringify(await main()));
} catch (e) {
  console.log(JSON.stringify({ error: (e as Error).stack ?? String(e) }));
}
