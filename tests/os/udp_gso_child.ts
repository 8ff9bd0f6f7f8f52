/**
 * Child of udp_gso_test.ts: `tx` sends from 10.212.0.1 (run in namespace a),
 * `rx` receives on 10.212.0.2:7000 (namespace b) until tx's end marker (at
 * most 20 s). One JSON line each.
 */
import { openUdp } from "../../ffi/udp.ts";
import { EndpointSlots } from "../../src/device/datagram_socket.ts";
import { until } from "../../src/testing/wait.ts";

/** Length of the datagram tx sends after its batches; rx stops there (a veth keeps the order). */
const END_MARKER_LENGTH = 1;

const mode = Deno.args[0];
if (mode === "rx") {
  const rx = openUdp({ host: "10.212.0.2", port: 7000, recvBufferBytes: 4 << 20 });
  const bufs = Array.from({ length: 64 }, () => new Uint8Array(4096));
  const sizes = new Int32Array(64);
  const from = new EndpointSlots(64);
  const lens: Record<number, number> = {};
  let bad = 0;
  let ended = false;
  const drain = () => {
    const n = rx.tryReceiveBatch(bufs, sizes, from, 0);
    for (let i = 0; i < n; i++) {
      if (sizes[i] === END_MARKER_LENGTH) {
        ended = true;
        continue;
      }
      lens[sizes[i]] = (lens[sizes[i]] ?? 0) + 1;
      for (let j = 0; j < sizes[i]; j++) if (bufs[i][j] !== (sizes[i] & 0xff)) bad++;
    }
    return ended;
  };
  // A missing marker is reported as ended: false (the test's assertion shows it), not as a crash.
  await until(drain, { what: "the end marker", timeoutMs: 20_000, intervalMs: 5 }).catch(() => {});
  console.log(JSON.stringify({ lens, bad, ended }));
  rx.close();
} else {
  const tx = openUdp({ host: "10.212.0.1", port: 0, gso: true });
  const to = new EndpointSlots(1);
  to.setIpv4(0, ((10 << 24) | (212 << 16) | 2) >>> 0, 7000);
  const send = (len: number) => {
    const bufs = Array.from({ length: 20 }, () => new Uint8Array(len).fill(len & 0xff));
    return tx.sendBatch(bufs, new Int32Array(20), new Int32Array(20).fill(len), 20, to, new Int32Array(20));
  };
  const big = send(1600); // needs fragmentation on a 1500-byte link: refused as a group
  const limitAfterBig = tx.gsoLimit;
  const small = send(1000);
  console.log(JSON.stringify({ big, small, limitAfterBig, gso: tx.gso, errors: tx.sendErrors }));
  // A refused group with an unsendable row (row 1 is unset) in the batch: the
  // resend one by one skips that row again but counts it only once.
  const mixedTx = openUdp({ host: "10.212.0.1", port: 0, gso: true });
  const mixedTo = new EndpointSlots(2);
  mixedTo.setIpv4(0, ((10 << 24) | (212 << 16) | 2) >>> 0, 7000);
  const rows = new Int32Array(20);
  rows[10] = 1;
  const bufs = Array.from({ length: 20 }, () => new Uint8Array(1600).fill(1600 & 0xff));
  const sent = mixedTx.sendBatch(bufs, new Int32Array(20), new Int32Array(20).fill(1600), 20, mixedTo, rows);
  console.log(JSON.stringify({ sent, errors: mixedTx.sendErrors, lastErrno: mixedTx.lastSendErrno }));
  mixedTx.close();
  // Last on the wire: the receiver stops at this marker.
  tx.send(new Uint8Array(END_MARKER_LENGTH), 0, END_MARKER_LENGTH, to, 0);
  tx.close();
}
