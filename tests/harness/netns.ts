/**
 * Test hosts as Linux network namespaces, for real-kernel tests.
 *
 * A `NetnsLab` owns everything it creates; `await using lab = new NetnsLab()`
 * (or try/finally + `await lab.close()`) kills its processes and deletes its
 * namespaces even when the test fails. Names are unique per run:
 * `tsv-<6 hex>-<label>`. The test process itself stays in the root namespace
 * and never changes it: veth pairs are created directly inside the lab's
 * namespaces, and work that needs a namespace runs in a child process
 * (`ip netns exec`).
 *
 * Example topology (two hosts joined by a veth pair):
 *
 *     +---------- tsv-1a2b3c-a ----------+        +---------- tsv-1a2b3c-b ----------+
 *     | lo (up)                          |        | lo (up)                          |
 *     | veth-a  10.99.0.1/24  ===========|========|=========== veth-b  10.99.0.2/24  |
 *     +----------------------------------+        +----------------------------------+
 *
 *     await using lab = new NetnsLab();
 *     const a = await lab.addNamespace("a");           // "tsv-1a2b3c-a", lo up
 *     const b = await lab.addNamespace("b");
 *     await lab.veth({ ns: a, name: "veth-a", address: "10.99.0.1/24" },
 *                    { ns: b, name: "veth-b", address: "10.99.0.2/24" });
 *     const ping = await lab.exec(a, ["ping", "-c", "1", "-W", "1", "10.99.0.2"]);   // { code, stdout, stderr }
 *     const srv = lab.spawn(b, ["iperf3", "-s"]);        // handle: pid, kill(), status
 *     const out = await lab.runDeno(a, "tests/os/tun_child.ts", ["ping-tun"]);      // deno run -A inside a
 *     const result = parseLastJson<{ ok: boolean }>(out.stdout);
 *
 * API:
 * - `requireRoot()` → `{ ignore, reason }` for `Deno.test({ ignore })`.
 * - `new NetnsLab(options?)`; `lab.id`, `lab.namespaces`.
 * - `addNamespace(label)` → full name; brings `lo` up.
 * - `veth(endA, endB)`: a veth pair between two lab namespaces (each end
 *   `{ ns, name, address?, mtu? }`, addresses in CIDR form, IPv4 or IPv6), up.
 * - `exec(ns, argv, { check?, timeoutMs?, stdin? })` → `{ code, stdout, stderr }`;
 *   `check` (default true) throws on a non-zero exit, naming the command.
 * - `spawn(ns, argv)` → `LabProcess` (`pid`, `kill(signal?)`, `status`,
 *   `output()`), killed at teardown if still running.
 * - `runDeno(ns, script, args, { v8Flags?, timeoutMs?, check? })`: runs
 *   `ip netns exec NS <deno> run -A --unstable-net script args`.
 * - `close()` / `[Symbol.asyncDispose]`: SIGTERM then SIGKILL for spawned
 *   processes and any other process left in the lab's namespaces, then
 *   `ip netns del` for each namespace. Safe to call twice.
 */

import { settledWithin } from "../../src/testing/wait.ts";
import { outputWithin } from "../../src/client/output_within.ts";

const decoder = new TextDecoder();

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Throw when the exit code is not 0. @default true */
  check?: boolean;
  /** Kill the command after this long. @default 30000 */
  timeoutMs?: number;
  /** Text written to the command's stdin. */
  stdin?: string;
}

export interface DenoOptions extends ExecOptions {
  /** Extra V8 flags, e.g. ["--expose-gc"]. */
  v8Flags?: string[];
}

export interface VethEnd {
  ns: string;
  name: string;
  /** "10.99.0.1/24" or "fd00:99::1/64". */
  address?: string;
  mtu?: number;
}

export interface LabOptions {
  /** @default "tsv-" */
  prefix?: string;
}

/** Whether real-kernel tests can run here, and why not. */
export function requireRoot(): { ignore: boolean; reason: string } {
  let uid: number | null = null;
  try {
    uid = Deno.uid();
  } catch {
    return { ignore: true, reason: "needs --allow-sys to check for root" };
  }
  if (uid !== 0) return { ignore: true, reason: "needs root (network namespaces, tun devices)" };
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return { ignore: true, reason: "needs /dev/net/tun" };
  }
  return { ignore: false, reason: "" };
}

/** Parses the last non-empty stdout line as JSON (child scripts print their result there). */
export function parseLastJson<T>(stdout: string): T {
  const lines = stdout.trim().split("\n");
  const last = lines[lines.length - 1] ?? "";
  try {
    return JSON.parse(last) as T;
  } catch {
    throw new Error(`Child output does not end with a JSON line: ${JSON.stringify(stdout.slice(-500))}`);
  }
}

/** A process started inside a namespace. */
export class LabProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly status: Promise<Deno.CommandStatus>;
  #child: Deno.ChildProcess;
  #done = false;
  #stdout: Promise<Uint8Array>;
  #stderr: Promise<Uint8Array>;

  constructor(child: Deno.ChildProcess, argv: readonly string[]) {
    this.#child = child;
    this.pid = child.pid;
    this.argv = argv;
    this.#stdout = new Response(child.stdout).bytes();
    this.#stderr = new Response(child.stderr).bytes();
    this.status = child.status.then((s) => {
      this.#done = true;
      return s;
    });
  }

  get running(): boolean {
    return !this.#done;
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.#done) return;
    try {
      this.#child.kill(signal);
    } catch {
      // Already gone.
    }
  }

  /** Waits for exit (after a kill, or on its own) and returns what it printed. */
  async output(): Promise<ExecResult> {
    const [status, out, err] = await Promise.all([this.status, this.#stdout, this.#stderr]);
    return { code: status.code, stdout: decoder.decode(out), stderr: decoder.decode(err) };
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(graceMs = 2000): Promise<void> {
    if (this.#done) {
      await this.output();
      return;
    }
    this.kill("SIGTERM");
    if (!await settledWithin(this.status.then(() => true), graceMs, false)) this.kill("SIGKILL");
    await this.output();
  }
}

export class NetnsLab implements AsyncDisposable {
  readonly id: string;
  readonly prefix: string;
  #namespaces: string[] = [];
  #processes: LabProcess[] = [];
  #closed = false;

  constructor(options: LabOptions = {}) {
    this.prefix = options.prefix ?? "tsv-";
    const rnd = crypto.getRandomValues(new Uint8Array(3));
    this.id = [...rnd].map((b) => b.toString(16).padStart(2, "0")).join("");
  }

  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /** Creates `<prefix><id>-<label>` with `lo` up; returns its name. */
  async addNamespace(label: string): Promise<string> {
    if (this.#closed) throw new Error("NetnsLab is closed");
    if (!/^[a-z0-9-]{1,20}$/.test(label)) {
      throw new Error(`Namespace label "${label}" must match [a-z0-9-]{1,20}`);
    }
    const name = `${this.prefix}${this.id}-${label}`;
    await runHost(["ip", "netns", "add", name]);
    this.#namespaces.push(name);
    await this.exec(name, ["ip", "link", "set", "lo", "up"]);
    return name;
  }

  /** A veth pair created directly inside two lab namespaces, addressed and up. */
  async veth(a: VethEnd, b: VethEnd): Promise<void> {
    this.#own(a.ns);
    this.#own(b.ns);
    await this.exec(a.ns, [
      "ip",
      "link",
      "add",
      a.name,
      "type",
      "veth",
      "peer",
      "name",
      b.name,
      "netns",
      b.ns,
    ]);
    for (const end of [a, b]) {
      if (end.mtu !== undefined) {
        await this.exec(end.ns, ["ip", "link", "set", end.name, "mtu", String(end.mtu)]);
      }
      if (end.address !== undefined) {
        const extra = end.address.includes(":") ? ["nodad"] : [];
        await this.exec(end.ns, ["ip", "addr", "add", end.address, "dev", end.name, ...extra]);
      }
      await this.exec(end.ns, ["ip", "link", "set", end.name, "up"]);
    }
  }

  /** Runs a command inside `ns` and waits for it. */
  exec(ns: string, argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
    this.#own(ns);
    return runHost(["ip", "netns", "exec", ns, ...argv], options);
  }

  /** Starts a long-running command inside `ns`; teardown stops it if still running. */
  spawn(ns: string, argv: string[]): LabProcess {
    this.#own(ns);
    const child = new Deno.Command("ip", {
      args: ["netns", "exec", ns, ...argv],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const proc = new LabProcess(child, argv);
    this.#processes.push(proc);
    return proc;
  }

  /** Runs a Deno script inside `ns` with `-A --unstable-net` and waits for it. */
  runDeno(ns: string, script: string, args: string[] = [], options: DenoOptions = {}): Promise<ExecResult> {
    return this.exec(ns, denoArgv(script, args, options.v8Flags), options);
  }

  /** Starts a Deno script inside `ns` (see `spawn`). */
  spawnDeno(ns: string, script: string, args: string[] = [], v8Flags?: string[]): LabProcess {
    return this.spawn(ns, denoArgv(script, args, v8Flags));
  }

  /** Stops every process and deletes every namespace of this lab. Never throws. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#processes.map((p) => p.stop().catch(() => {})));
    for (const ns of this.#namespaces) {
      // Anything else still inside (e.g. a ping started by a child) keeps the namespace alive.
      const pids = await runHost(["ip", "netns", "pids", ns], { check: false });
      for (const pid of pids.stdout.split(/\s+/).filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch {
          // Exited meanwhile.
        }
      }
      await runHost(["ip", "netns", "del", ns], { check: false });
      // `ip netns del` leaves /etc/netns/NAME (per-namespace resolv.conf a test may have made).
      await Deno.remove(`/etc/netns/${ns}`, { recursive: true }).catch(() => {});
    }
    this.#namespaces = [];
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #own(ns: string): void {
    if (this.#closed) throw new Error("NetnsLab is closed");
    if (!this.#namespaces.includes(ns)) throw new Error(`Namespace "${ns}" does not belong to this lab`);
  }
}

function denoArgv(script: string, args: string[], v8Flags?: string[]): string[] {
  const argv = [Deno.execPath(), "run", "-A", "--unstable-net"];
  if (v8Flags && v8Flags.length > 0) argv.push(`--v8-flags=${v8Flags.join(",")}`);
  return [...argv, script, ...args];
}

/** Runs a command in the test process's own namespace (only `ip netns` management uses this). */
async function runHost(argv: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const { output: out, timedOut } = await outputWithin(child, timeoutMs);
  const result = { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
  if (timedOut) throw new Error(`Command timed out after ${timeoutMs} ms: ${argv.join(" ")}`);
  if ((options.check ?? true) && result.code !== 0) {
    throw new Error(
      `Command failed (exit ${result.code}): ${
        argv.join(" ")
      }\n${result.stderr.trim()}\n${result.stdout.trim()}`.trim(),
    );
  }
  return result;
}
