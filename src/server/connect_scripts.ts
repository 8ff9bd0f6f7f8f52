/**
 * The server's per-client scripts, with OpenVPN's contract (openvpn(8),
 * "Scripting integration"), so scripts written for OpenVPN run unchanged:
 *
 *   client-connect FILE        after authentication, before the push reply; may write
 *                              ccd options to FILE ($1); a non-zero exit refuses the client
 *   client-disconnect          when the client's session ends (only after a client-connect
 *                              that succeeded, or when none is configured); bytes_received,
 *                              bytes_sent, time_duration
 *   learn-address OP ADDR [CN] OP = add | update | delete; ADDR an address or an iroute prefix
 *
 * Scripts run as child processes (never on the packet path), each killed at
 * `server.scripts.timeout`. client-disconnect and learn-address runs are
 * queued one at a time, so a script sees add before delete for one address;
 * client-connect runs are independent (one slow client does not hold up the
 * others). As with OpenVPN, a script's output goes to tsvpn's own stdout and
 * stderr (the service log). Not piping it matters: a script killed at its
 * timeout may leave a child (a `sleep`) holding a pipe open, and waiting for
 * the pipe would wait for that child (the client's up/down runner in
 * src/client/scripts.ts pipes, which is why it is not reused here).
 */

import { killAfter } from "../process/kill_timer.ts";
import { join } from "node:path";
import type { ServerScripts as ScriptsConfig } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";
import { type ScriptResult, withoutControlChars } from "../client/scripts.ts";

/** Runs `path` with `args` and `env` added to tsvpn's environment; never throws. */
export type ScriptRunner = (
  path: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
) => Promise<ScriptResult>;

export type ConnectResult = { ok: true; text: string; file: string } | { ok: false; reason: string };

export type LearnOperation = "add" | "update" | "delete";

export interface ConnectScriptsOptions {
  /** Read on every run, so a reload's new paths apply to the next event. */
  config: () => ScriptsConfig;
  log: Logger;
  /** @default runServerScript */
  run?: ScriptRunner;
}

export class ConnectScripts {
  readonly #o: ConnectScriptsOptions;
  readonly #run: ScriptRunner;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(o: ConnectScriptsOptions) {
    this.#o = o;
    this.#run = o.run ?? runServerScript;
  }

  get hasClientConnect(): boolean {
    return this.#o.config().clientConnect !== null;
  }

  /** Is client-disconnect or learn-address configured (else there is no environment to build)? */
  get hasLifecycleScripts(): boolean {
    const c = this.#o.config();
    return c.clientDisconnect !== null || c.learnAddress !== null;
  }

  /**
   * Runs client-connect with a fresh empty file as $1 and returns what the
   * script wrote there; `null` when no script is configured.
   */
  async clientConnect(env: Record<string, string>): Promise<ConnectResult | null> {
    const { clientConnect: path, timeout } = this.#o.config();
    if (path === null) return null;
    const dir = await Deno.makeTempDir({ prefix: "tsvpn-cc-" });
    const file = join(dir, "client-connect.conf");
    try {
      await Deno.writeTextFile(file, "", { mode: 0o600 });
      const scriptEnv = { ...env, script_type: "client-connect", client_connect_config_file: file };
      const r = await this.#run(path, [file], withoutControlChars(scriptEnv), timeout * 1000);
      if (!r.ok) return r;
      return { ok: true, text: await Deno.readTextFile(file), file: path };
    } catch (e) {
      return { ok: false, reason: `client-connect: ${(e as Error).message.split("\n")[0]}` };
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  }

  /** Queues client-disconnect; a failure is logged (the client is gone either way). */
  clientDisconnect(env: Record<string, string>): void {
    const path = this.#o.config().clientDisconnect;
    if (path !== null) this.#enqueue(path, [], { ...env, script_type: "client-disconnect" });
  }

  /** Queues learn-address OP ADDR [CN]; a failure is logged and changes no route. */
  learnAddress(op: LearnOperation, address: string, env: Record<string, string>): void {
    const path = this.#o.config().learnAddress;
    if (path === null) return;
    const args = op === "delete" ? [op, address] : [op, address, env.common_name ?? ""];
    this.#enqueue(path, args, { ...env, script_type: "learn-address" });
  }

  /** Resolves once every queued run has finished (stop, tests). */
  settled(): Promise<void> {
    return this.#queue.then(() => {});
  }

  #enqueue(path: string, args: string[], env: Record<string, string>): void {
    const timeoutMs = this.#o.config().timeout * 1000;
    this.#queue = this.#queue.then(async () => {
      const r = await this.#run(path, args, withoutControlChars(env), timeoutMs);
      if (!r.ok) this.#o.log.warn("script failed", { script: env.script_type, reason: r.reason });
    });
  }
}

/** Runs `path`, killing it (SIGKILL) at `timeoutMs`; exit 0 is success. Never throws. */
export async function runServerScript(
  path: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<ScriptResult> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(path, { args, env, stdin: "null", stdout: "inherit", stderr: "inherit" })
      .spawn();
  } catch (e) {
    return { ok: false, reason: `could not start ${path}: ${(e as Error).message.split("\n")[0]}` };
  }
  const deadline = killAfter(child, timeoutMs);
  try {
    const status = await child.status;
    if (deadline.timedOut) {
      return { ok: false, reason: `${path} did not finish within ${timeoutMs / 1000} s` };
    }
    if (status.code !== 0) return { ok: false, reason: `${path} exited with code ${status.code}` };
    return { ok: true };
  } finally {
    deadline.clear();
  }
}
