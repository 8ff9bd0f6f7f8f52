/**
 * `deno task soak` (root; not part of `deno task test`): the long versions of
 * issue 14's fault tests, each selectable, each printing one JSON result line
 * (`soak result: {...}`); the exit code is 1 when any piece failed.
 *
 *   deno task soak [--only loss,fuzz,clients] [--loss 10m] [--fuzz-frames 1000000]
 *                  [--clients 50] [--clients-duration 1h] [--sample 60s] [--reneg 300s]
 *                  [--server-v8-flags --max-semi-space-size=1,--memory-saver-mode]
 *
 * - loss: tests/soak/loss_soak.ts, the 10% loss, 100 ms ± 50 ms path for --loss.
 * - fuzz: src/control/auth_fuzz_test.ts with TSVPN_FUZZ_FRAMES=--fuzz-frames per wrap mode.
 * - clients: tests/soak/clients_soak.ts, --clients stock openvpn clients for --clients-duration,
 *   sampled every --sample, data keys renegotiated every --reneg; the server runs `deno run` with
 *   --server-v8-flags (default none; the shipped executable's are TSVPN_V8_FLAGS) besides --trace-gc.
 * Durations: a number of seconds or with a unit (90s, 2m, 1h).
 */

import { parseArgs } from "node:util";
import { ROOT } from "../e2e/support/lab.ts";
import { runClientsSoak } from "./clients_soak.ts";
import { runLossSoak } from "./loss_soak.ts";

const PIECES = ["loss", "fuzz", "clients"] as const;
type Piece = typeof PIECES[number];

/** "90", "90s", "2m", "1h" → milliseconds; throws a one-line error otherwise. */
export function durationMs(text: string, flag: string): number {
  const m = text.match(/^(\d+(?:\.\d+)?)(s|m|h)?$/);
  if (!m) throw new Error(`--${flag}: a duration such as 90s, 2m or 1h, not "${text}"`);
  return Number(m[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "s" | "m" | "h" ?? "s"];
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${flag}: a positive integer, not "${text}"`);
  return n;
}

async function fuzz(frames: number): Promise<Record<string, unknown>> {
  const started = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["test", "--allow-all", "--unstable-net", `${ROOT}src/control/auth_fuzz_test.ts`],
    env: { TSVPN_FUZZ_FRAMES: `${frames}`, NO_COLOR: "1" },
    cwd: ROOT,
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  const runs = [
    ...text.matchAll(/auth fuzz \(([\w-]+), seed \w+\): (\d+) frames .* in (\d+) ms, (\d+) frames\/s/g),
  ];
  const ok = out.code === 0 && runs.length === 2 && runs.every((r) => Number(r[2]) === frames);
  if (!ok) console.log(text);
  return {
    piece: "fuzz",
    ok,
    failures: ok ? [] : [`deno test exited ${out.code}`],
    framesPerMode: frames,
    modes: runs.map((r) => ({
      mode: r[1],
      frames: Number(r[2]),
      ms: Number(r[3]),
      framesPerS: Number(r[4]),
    })),
    wallS: Math.round((performance.now() - started) / 1000),
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      only: { type: "string", default: PIECES.join(",") },
      loss: { type: "string", default: "10m" },
      "fuzz-frames": { type: "string", default: "1000000" },
      clients: { type: "string", default: "50" },
      "clients-duration": { type: "string", default: "1h" },
      sample: { type: "string", default: "60s" },
      reneg: { type: "string", default: "300s" },
      "transfer-bytes": { type: "string", default: `${4 * 2 ** 20}` },
      "server-v8-flags": { type: "string", default: "" },
    },
  });
  const only = values.only.split(",").map((p) => p.trim()) as Piece[];
  const unknown = only.filter((p) => !PIECES.includes(p));
  if (unknown.length > 0) {
    throw new Error(`--only: unknown piece ${unknown.join(", ")} (${PIECES.join(", ")})`);
  }
  const renegSeconds = Math.max(1, Math.round(durationMs(values.reneg, "reneg") / 1000));
  const runs: Record<Piece, () => Promise<Record<string, unknown>>> = {
    loss: () =>
      runLossSoak({
        durationMs: durationMs(values.loss, "loss"),
        renegSeconds,
        transferBytes: positive(values["transfer-bytes"], "transfer-bytes"),
      }),
    fuzz: () => fuzz(positive(values["fuzz-frames"], "fuzz-frames")),
    clients: () =>
      runClientsSoak({
        clients: positive(values.clients, "clients"),
        durationMs: durationMs(values["clients-duration"], "clients-duration"),
        sampleMs: durationMs(values.sample, "sample"),
        renegSeconds,
        serverV8Flags: values["server-v8-flags"].split(",").filter((f) => f !== ""),
      }),
  };
  let failed = 0;
  for (const piece of PIECES.filter((p) => only.includes(p))) {
    console.log(`soak: ${piece} starting`);
    const result = await runs[piece]().catch((e) => ({ piece, ok: false, failures: [(e as Error).message] }));
    if (!result.ok) failed++;
    console.log(`soak result: ${JSON.stringify(result)}`);
  }
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`soak: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
