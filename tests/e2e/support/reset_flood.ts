/**
 * A hard-reset flood, run inside mallory's e2e namespace; prints "flooding"
 * when it starts, then one JSON line.
 *
 *   reset_flood.ts HOST PORT MS RATE SOURCE[,SOURCE...] [TLS_CRYPT_KEY_FILE]
 *
 * For MS milliseconds, RATE P_CONTROL_HARD_RESET_CLIENT_V2 per second (in
 * 10 ms batches, round robin over the local SOURCE addresses, from a pool of
 * 4096 made before the flood starts, each with its own random session id, so
 * the generator's CPU goes to sending), never answering what comes back. With a key file the
 * resets are wrapped with tls-crypt as a holder of the key would (valid
 * packet ids and tags); without, they are plain. Counts, per source, the
 * datagrams and bytes sent and those that come back until 1 s after the
 * last reset:
 *
 *   {"sent":N,"sentBytes":N,"answers":N,"answerBytes":N,"sources":N,"resetBytes":N,
 *    "answerSize":N,"worstSource":{"sent":N,"sentBytes":N,"answers":N,"answerBytes":N},
 *    "maxAnswersPerSource":N,"ms":N}
 *
 * worstSource is the source with the highest answerBytes / sentBytes.
 */

import { encodeControlPacket } from "../../../src/control/control_packet.ts";
import { type ControlWrap, NoWrap, TlsCryptWrap } from "../../../src/control/control_wrap.ts";
import { P_CONTROL_HARD_RESET_CLIENT_V2, SESSION_ID_SIZE } from "../../../src/control/opcode.ts";
import { parseStaticKey } from "../../../src/pki/static_key.ts";

interface Tally {
  sent: number;
  sentBytes: number;
  answers: number;
  answerBytes: number;
}

const ZERO_SID = new Uint8Array(SESSION_ID_SIZE);

const POOL = 4096;

/** One reset with a fresh session id, wrapped as `wrap` does. */
function reset(wrap: ControlWrap, packetId: number): Uint8Array {
  const plain = new Uint8Array(64);
  const sid = crypto.getRandomValues(new Uint8Array(SESSION_ID_SIZE));
  sid[0] |= 1; // never the undefined (all-zero) session id
  const n = encodeControlPacket(plain, 0, P_CONTROL_HARD_RESET_CLIENT_V2, 0, sid, [], 0, ZERO_SID, 0, null);
  const out = new Uint8Array(n + 64);
  const w = wrap.wrap(plain, n, packetId, Math.floor(Date.now() / 1000) >>> 0, out);
  return out.slice(0, w);
}

async function flood(
  host: string,
  port: number,
  ms: number,
  rate: number,
  sources: string[],
  wrap: ControlWrap,
) {
  const socks = sources.map((s) => Deno.listenDatagram({ transport: "udp", hostname: s, port: 0 }));
  const tallies: Tally[] = sources.map(() => ({ sent: 0, sentBytes: 0, answers: 0, answerBytes: 0 }));
  let answerSize = 0;
  const readers = socks.map(async (s, i) => {
    try {
      for await (const [data] of s) {
        tallies[i].answers++;
        tallies[i].answerBytes += data.length;
        answerSize = data.length;
      }
    } catch {
      // closed
    }
  });
  const to: Deno.NetAddr = { transport: "udp", hostname: host, port };
  const perBatch = Math.max(1, Math.round(rate / 100));
  const pool = Array.from({ length: POOL }, (_, i) => reset(wrap, i + 1));
  const resetBytes = pool[0].length;
  console.log("flooding");
  const start = performance.now();
  for (let batch = 0, k = 0; performance.now() - start < ms; batch++) {
    const sends: Promise<number>[] = [];
    for (let i = 0; i < perBatch; i++, k++) {
      const at = k % socks.length;
      const p = pool[k % POOL];
      tallies[at].sent++;
      tallies[at].sentBytes += p.length;
      sends.push(socks[at].send(p, to).catch(() => 0));
    }
    await Promise.all(sends);
    const ahead = start + (batch + 1) * 10 - performance.now();
    if (ahead > 0) await new Promise((r) => setTimeout(r, ahead));
  }
  const elapsed = performance.now() - start;
  await new Promise((r) => setTimeout(r, 1000));
  for (const s of socks) s.close();
  await Promise.all(readers);
  return { tallies, resetBytes, answerSize, elapsed };
}

const ratio = (t: Tally) => t.sentBytes === 0 ? 0 : t.answerBytes / t.sentBytes;

const [host, port, ms, rate, sources, keyFile] = Deno.args;
const wrap = keyFile
  ? new TlsCryptWrap(parseStaticKey(await Deno.readTextFile(keyFile)), "client")
  : new NoWrap();
const r = await flood(host, Number(port), Number(ms), Number(rate), sources.split(","), wrap);
const sum = (f: keyof Tally) => r.tallies.reduce((a, t) => a + t[f], 0);
const worstSource = r.tallies.reduce((w, t) => ratio(t) > ratio(w) ? t : w, r.tallies[0]);
console.log(JSON.stringify({
  sent: sum("sent"),
  sentBytes: sum("sentBytes"),
  answers: sum("answers"),
  answerBytes: sum("answerBytes"),
  sources: r.tallies.length,
  resetBytes: r.resetBytes,
  answerSize: r.answerSize,
  worstSource,
  maxAnswersPerSource: Math.max(...r.tallies.map((t) => t.answers)),
  ms: Math.round(r.elapsed),
}));
