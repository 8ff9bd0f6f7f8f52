/**
 * The e2e network: a switch namespace with a Linux bridge, and hosts (the
 * tsvpn server, openvpn clients, LANs) joined to it by veth pairs on
 * 172.31.0.0/24. The deno test process stays in the root namespace; tsvpn
 * and openvpn run inside the hosts with their output in log files.
 *
 *     +-- srv (172.31.0.1) --+     +--------- sw ---------+     +-- c1 (172.31.0.11) --+
 *     | tsvpn0  10.8.0.1/24  |=====| br0: v-srv v-c1 ...  |=====| tun0 (openvpn)       |
 *     +----------------------+     +----------------------+     +----------------------+
 *
 * Everything is torn down by `close()` (processes first, then namespaces).
 */

import { type LabProcess, NetnsLab, requireRoot } from "../../harness/netns.ts";
import { OPENVPN } from "../../interop/openvpn_harness.ts";
import { until } from "../../../src/testing/wait.ts";

export const ROOT = new URL("../../../", import.meta.url).pathname;
/** The real entry point: e2e tests run the server exactly as a user would. */
export const MAIN = `${ROOT}main.ts`;

/** `ignore` for Deno.test when root, /dev/net/tun or openvpn is missing. */
export function e2eIgnore(): boolean {
  return requireRoot().ignore || OPENVPN === null;
}

export class LoggedProcess {
  readonly proc: LabProcess;
  readonly logPath: string;

  constructor(proc: LabProcess, logPath: string) {
    this.proc = proc;
    this.logPath = logPath;
  }

  log(): string {
    try {
      return Deno.readTextFileSync(this.logPath);
    } catch {
      return "";
    }
  }

  /** Polls the log until `re` matches; throws with the log tail after `timeoutMs` or when the process exits. */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    return this.waitForLog(() => this.log().match(re), `${this.logPath} to match ${re}`, timeoutMs);
  }

  /** Polls the log until `probe` returns a value; fails like waitFor(). */
  waitForLog<T>(probe: () => T | null | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
    const tail = () => this.log().split("\n").slice(-30).join("\n");
    return until(() => {
      const v = probe();
      if (v) return v;
      if (!this.proc.running) throw new Error(`${what}: the process exited first:\n${tail()}`);
      return null;
    }, { what, timeoutMs, intervalMs: 50, detail: tail }) as Promise<T>;
  }

  /** SIGTERM and wait (SIGKILL after graceMs); returns the exit code. */
  async stop(graceMs = 6000): Promise<number> {
    await this.proc.stop(graceMs);
    return (await this.proc.status).code;
  }
}

export class E2eLab implements AsyncDisposable {
  readonly lab = new NetnsLab();
  readonly dir: string;
  #sw = "";
  #hosts = 0;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates the switch namespace and its bridge. */
  async init(): Promise<void> {
    this.#sw = await this.lab.addNamespace("sw");
    await this.lab.exec(this.#sw, ["ip", "link", "add", "br0", "type", "bridge"]);
    await this.lab.exec(this.#sw, ["ip", "link", "set", "br0", "up"]);
  }

  /** A host namespace on the switch with `address` (CIDR) on its eth0. */
  async host(label: string, address: string): Promise<string> {
    const ns = await this.lab.addNamespace(label);
    const port = `p${++this.#hosts}`;
    await this.lab.veth({ ns, name: "eth0", address }, { ns: this.#sw, name: port });
    await this.lab.exec(this.#sw, ["ip", "link", "set", port, "master", "br0"]);
    return ns;
  }

  exec(ns: string, argv: string[], check = true) {
    return this.lab.exec(ns, argv, { check, timeoutMs: 20_000 });
  }

  /** Runs argv inside `ns` with stdout and stderr going to `${dir}/${name}.log`. */
  spawnLogged(ns: string, name: string, argv: string[]): LoggedProcess {
    const logPath = `${this.dir}/${name}.log`;
    const quoted = argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const proc = this.lab.spawn(ns, ["sh", "-c", `exec ${quoted} >'${logPath}' 2>&1`]);
    return new LoggedProcess(proc, logPath);
  }

  /**
   * Writes a YAML server config and starts tsvpn with it in `ns`. `v8Flags` (e.g. `--trace-gc`) go to
   * V8, whose traces then reach the log line by line (stdbuf: V8 prints through C stdio, which buffers a
   * file in 4 KiB blocks and loses them at a kill).
   */
  async startServer(ns: string, name: string, yaml: string, v8Flags: string[] = []): Promise<LoggedProcess> {
    const path = `${this.dir}/${name}.yaml`;
    await Deno.writeTextFile(path, yaml);
    const p = this.spawnLogged(ns, name, [
      ...(v8Flags.length > 0 ? ["stdbuf", "-oL"] : []),
      Deno.execPath(),
      "run",
      "-A",
      "--unstable-net",
      ...(v8Flags.length > 0 ? [`--v8-flags=${v8Flags.join(",")}`] : []),
      MAIN,
      "--server",
      "--config",
      path,
    ]);
    await p.waitFor(/server started/, 20_000);
    return p;
  }

  /** Starts a stock openvpn client with `profile` in `ns` (wait for "Initialization Sequence Completed"). */
  startClient(ns: string, name: string, profile: string, extra: string[] = []): LoggedProcess {
    const p = this.spawnLogged(ns, name, [
      OPENVPN!,
      "--config",
      profile,
      "--dev",
      "tun",
      "--verb",
      "3",
      "--connect-retry",
      "1",
      "1",
      ...extra,
    ]);
    return p;
  }

  /** Pings `target` from `ns` until one reply comes back (true) or `timeoutMs` passes (false). */
  pingUntil(ns: string, target: string, timeoutMs = 10_000): Promise<boolean> {
    const answered = async () =>
      (await this.exec(ns, ["ping", "-c", "1", "-W", "1", target], false)).code === 0;
    return until(answered, { what: `a ping reply from ${target}`, timeoutMs, intervalMs: 0 }).then(
      () => true,
      () => false,
    );
  }

  /** Waits until `dev` in `ns` has its IPv6 link-local address (the kernel adds it a moment after link-up). */
  async linkLocalReady(ns: string, dev = "eth0"): Promise<void> {
    const argv = ["ip", "-6", "addr", "show", "dev", dev, "scope", "link"];
    await until(async () => (await this.exec(ns, argv)).stdout.includes("fe80::"), {
      what: `${dev}'s IPv6 link-local address in ${ns}`,
      timeoutMs: 10_000,
      intervalMs: 100,
    });
  }

  /** True when `count` pings all fail (each with a 1 s wait). */
  async pingFails(ns: string, target: string, count = 2): Promise<boolean> {
    const r = await this.exec(ns, ["ping", "-c", String(count), "-W", "1", "-i", "0.3", target], false);
    return r.code !== 0;
  }

  /** `ip -j addr show dev` parsed. */
  async addresses(
    ns: string,
    dev: string,
  ): Promise<{ local: string; prefixlen: number; address?: string; family: string }[]> {
    const r = await this.exec(ns, ["ip", "-j", "addr", "show", "dev", dev]);
    const parsed = JSON.parse(r.stdout) as {
      addr_info: { local: string; prefixlen: number; address?: string; family: string }[];
    }[];
    return parsed.flatMap((l) => l.addr_info);
  }

  close(): Promise<void> {
    return this.lab.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A server config YAML (server section given as indented lines). */
export function serverYaml(o: {
  pki: { ca: string; cert: string; key: string; crl?: string; tlsCrypt?: string };
  proto?: "udp" | "tcp";
  dev?: "tun" | "tap";
  server: string;
  keepalive?: string;
  level?: string;
  /** Extra top-level YAML lines (e.g. "data: { reneg_seconds: 3 }"). */
  extra?: string[];
}): string {
  const pki = [`ca: ${o.pki.ca}`, `cert: ${o.pki.cert}`, `key: ${o.pki.key}`];
  if (o.pki.crl) pki.push(`crl: ${o.pki.crl}`);
  if (o.pki.tlsCrypt) pki.push(`tls_crypt: ${o.pki.tlsCrypt}`);
  return [
    "mode: server",
    `listen: { host: 0.0.0.0, port: 1194, proto: ${o.proto ?? "udp"} }`,
    `dev: { type: ${o.dev ?? "tun"}, name: tsvpn0 }`,
    "pki:",
    ...pki.map((l) => `  ${l}`),
    `keepalive: ${o.keepalive ?? "{ interval: 2, timeout: 10 }"}`,
    `log: { level: ${o.level ?? "info"} }`,
    ...(o.extra ?? []),
    "server:",
    o.server.replace(/^\n/, "").trimEnd(),
    "",
  ].join("\n");
}
