/**
 * Deno 2.9 opens the V8 inspector on 127.0.0.1:9229 when a process gets
 * SIGUSR1, and its /json/list hands the debugger URL to any local user: for a
 * tsvpn running as root that is code execution as root for everyone on the
 * host (docs/security.md, "SIGUSR1 and Deno's debugger"). tsvpn's client and
 * server hold the port with InspectorGuard (src/process/inspector_guard.ts).
 *
 * Each case runs a child (sigusr1_child.ts) in its own network namespace and
 * signals it until it has seen several SIGUSR1 after Deno's 500 ms grace
 * period: the bare child must answer on /json/list (the hazard is real on this
 * Deno), the guarded child must not, and must stay alive.
 */

import assert from "node:assert/strict";
import { NetnsLab, requireRoot } from "../harness/netns.ts";
import { until } from "../../src/testing/wait.ts";

const CHILD = new URL("./sigusr1_child.ts", import.meta.url).pathname;
const root = requireRoot();
const PROBE = `
try {
  const r = await fetch("http://127.0.0.1:9229/json/list", { signal: AbortSignal.timeout(1000) });
  console.log((await r.text()).includes("webSocketDebuggerUrl") ? "debugger" : "other");
} catch { console.log("none"); }`;

async function probe(lab: NetnsLab, ns: string): Promise<string> {
  const r = await lab.exec(ns, [Deno.execPath(), "eval", PROBE], { timeoutMs: 15_000 });
  return r.stdout.trim();
}

/** Signals the child every 100 ms until `done` holds (or 15 s). */
async function signalUntil(pid: number, done: () => Promise<boolean>, what: string): Promise<void> {
  await until(async () => {
    Deno.kill(pid, "SIGUSR1");
    return await done();
  }, { what, timeoutMs: 15_000, intervalMs: 100 });
}

for (const mode of ["bare", "guarded"] as const) {
  Deno.test({
    name: mode === "bare"
      ? "Deno 2.9 opens its debugger to every local user on SIGUSR1 (the hazard InspectorGuard exists for)" +
        (root.ignore ? ` (ignored: ${root.reason})` : "")
      : "with InspectorGuard, SIGUSR1 never opens Deno's debugger and the process lives on" +
        (root.ignore ? ` (ignored: ${root.reason})` : ""),
    ignore: root.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const lab = new NetnsLab();
      const dir = await Deno.makeTempDir({ prefix: "tsvpn-usr1-" });
      try {
        const ns = await lab.addNamespace("usr1");
        const ready = `${dir}/ready`;
        const child = lab.spawn(ns, [Deno.execPath(), "run", "-A", CHILD, mode, ready]);
        await until(() => Deno.stat(ready).then(() => true, () => false), {
          what: "the child listening for SIGUSR1",
          timeoutMs: 15_000,
          intervalMs: 50,
        });
        if (mode === "bare") {
          await signalUntil(
            child.pid,
            async () => (await probe(lab, ns)) === "debugger",
            "the debugger answers",
          );
        } else {
          // Two seconds of signals, well past Deno's 500 ms grace period, then the probe.
          let sent = 0;
          await signalUntil(child.pid, () => Promise.resolve(++sent >= 20), "twenty SIGUSR1 sent");
          assert.equal(await probe(lab, ns), "none", "nothing answers on the debugger's address");
          assert.ok(child.running, "the guarded process survived every SIGUSR1");
        }
        child.kill("SIGKILL");
        const result = await child.output();
        assert.match(result.stdout, /SIGUSR1 \d+/, "the process's own SIGUSR1 listener ran");
        if (mode === "guarded") assert.match(result.stderr, /Failed to start inspector server/);
      } finally {
        await lab.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
