/**
 * OpenVPN's auth-user-pass-verify contract: the script gets OpenVPN's environment variables
 * (script_type=user-pass-verify, common_name, untrusted_ip/untrusted_port, the client's IV_* peer
 * info, tls_serial_0…, and with via-env username and password; with via-file the username and
 * password are the first two lines of a 0600 temporary file named by its one argument, removed
 * after). Exit status 0 accepts; 2 defers (the decision is a 1 or 0 written into auth_control_file
 * later); anything else, a failure to start, or the timeout refuses. A non-empty
 * auth_failed_reason_file is the text of the client's AUTH_FAILED.
 *
 * The script runs as a child process the server awaits: the data plane and every other session go
 * on meanwhile. The password is never logged.
 */

import type { AuthScriptMethod } from "../config/schema.ts";
import type { Logger } from "../log/log.ts";

/** Who is asking, as the script is told. */
export interface AuthScriptSubject {
  username: string;
  password: string;
  commonName: string;
  /** The client's address as the listener shows it ("192.0.2.7:1194", "[2001:db8::7]:1194"). */
  remote: string;
  peerInfo: ReadonlyMap<string, string>;
  /** Uppercase hex, no separators. */
  serial: string;
  /** auth-gen-token's session_state / session_id, when tokens are on. */
  session?: { state: string; id: string };
}

export type AuthScriptVerdict = { ok: true } | { ok: false; reason: string };

/** Runs one child: `path args` with `env` added; resolves with its exit code, or timedOut. */
export type ChildRunner = (
  path: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
) => Promise<{ code: number; timedOut: boolean; output: string }>;

export interface AuthScriptOptions {
  script: string;
  method: AuthScriptMethod;
  timeoutMs: number;
  log: Logger;
  /** Runs the child; default Deno.Command. */
  run?: ChildRunner;
  /** Where via-file temp files go; default /dev/shm when it exists (never on disk), else the temp dir. */
  tempDir?: string;
  /** Scripts running at once; later checks wait their turn (a burst of logins forks no more). @default 16 */
  maxRunning?: number;
}

/** OpenVPN keeps only these characters of a username (string_mod_remap_name): others become '_'. */
export function remapUsername(s: string): string {
  return s.replace(/[^A-Za-z0-9_.@-]/g, "_");
}

/** A password keeps any printable character; control characters (CR, LF, NUL…) become '_'. */
export function remapPassword(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x1f\x7f]/g, "_");
}

/** The script's environment (without the password, which via-env adds). */
export function authScriptEnv(s: AuthScriptSubject): Record<string, string> {
  const env: Record<string, string> = {
    script_type: "user-pass-verify",
    common_name: remapUsername(s.commonName),
    X509_0_CN: remapPassword(s.commonName),
    tls_serial_hex_0: (s.serial.match(/../g) ?? []).join(":"),
    tls_serial_0: serialDecimal(s.serial),
  };
  const { ip, port } = splitRemote(s.remote);
  env[ip.includes(":") ? "untrusted_ip6" : "untrusted_ip"] = ip;
  env.untrusted_port = port;
  for (const [k, v] of s.peerInfo) {
    if (/^(IV|UV)_[A-Za-z0-9_]+$/.test(k)) env[k] = remapPassword(v);
  }
  if (s.session) {
    env.session_state = s.session.state;
    env.session_id = s.session.id;
  }
  return env;
}

function serialDecimal(hex: string): string {
  return /^[0-9A-F]+$/.test(hex) ? BigInt(`0x${hex}`).toString(10) : "";
}

/** "192.0.2.7:1194" or "[2001:db8::7]:1194" → address and port. */
export function splitRemote(remote: string): { ip: string; port: string } {
  const colon = remote.lastIndexOf(":");
  if (colon < 0) return { ip: remote, port: "" };
  const host = remote.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { ip: host, port: remote.slice(colon + 1) };
}

export class AuthScript {
  readonly #o: AuthScriptOptions;
  readonly #run: ChildRunner;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(o: AuthScriptOptions) {
    this.#o = o;
    this.#run = o.run ?? runChild;
  }

  /** Asks the script about `s`; never throws. */
  async check(s: AuthScriptSubject): Promise<AuthScriptVerdict> {
    const o = this.#o;
    const started = performance.now();
    const env = authScriptEnv(s);
    const username = remapUsername(s.username);
    const password = remapPassword(s.password);
    const files: string[] = [];
    try {
      const args: string[] = [];
      if (o.method === "via-env") {
        env.username = username;
        env.password = password;
      } else {
        args.push(await this.#privateFile(files, `${username}\n${password}\n`));
      }
      env.auth_control_file = await this.#privateFile(files, "");
      env.auth_failed_reason_file = await this.#privateFile(files, "");
      const r = await this.#inTurn(() => this.#run(o.script, args, env, o.timeoutMs));
      this.#logOutput(r.output, s.commonName);
      if (r.timedOut) return this.#refuse(s, `auth script did not finish within ${o.timeoutMs / 1000} s`);
      const reason = () => readReason(env.auth_failed_reason_file);
      if (r.code === 2) return await this.#deferred(s, env, started, reason);
      if (r.code !== 0) return this.#refuse(s, `auth script exited with code ${r.code}`, await reason());
      o.log.info("auth script accepted the client", { cn: s.commonName, username });
      return { ok: true };
    } catch (e) {
      return this.#refuse(s, `auth script failed: ${(e as Error).message.split("\n")[0]}`);
    } finally {
      for (const f of files) await Deno.remove(f).catch(() => {});
    }
  }

  /**
   * Exit status 2 (OpenVPN's deferred authentication): the script's background work writes 1 (accept) or
   * 0 (refuse) into auth_control_file; it is read every DEFERRED_POLL_MS until the timeout.
   */
  async #deferred(
    s: AuthScriptSubject,
    env: Record<string, string>,
    started: number,
    reason: () => Promise<string | null>,
  ): Promise<AuthScriptVerdict> {
    const deadline = started + this.#o.timeoutMs;
    while (performance.now() < deadline) {
      const first = (await Deno.readTextFile(env.auth_control_file).catch(() => "")).charAt(0);
      if (first === "1") {
        this.#o.log.info("auth script accepted the client (deferred)", { cn: s.commonName });
        return { ok: true };
      }
      if (first === "0") return this.#refuse(s, "auth script refused the client (deferred)", await reason());
      await new Promise((r) => setTimeout(r, DEFERRED_POLL_MS));
    }
    return this.#refuse(s, `deferred auth script did not decide within ${this.#o.timeoutMs / 1000} s`);
  }

  /** Runs `fn` once fewer than maxRunning scripts run (a burst of logins forks no more). */
  async #inTurn<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#running >= (this.#o.maxRunning ?? 16)) await new Promise<void>((r) => this.#waiting.push(r));
    this.#running++;
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#waiting.shift()?.();
    }
  }

  /** `why` is logged; the client is told `clientReason` (auth_failed_reason_file) or "authentication failed". */
  #refuse(s: AuthScriptSubject, why: string, clientReason: string | null = null): AuthScriptVerdict {
    this.#o.log.warn("auth script refused the client", {
      cn: s.commonName,
      username: remapUsername(s.username),
      reason: why,
    });
    return { ok: false, reason: clientReason ?? "authentication failed" };
  }

  #logOutput(output: string, cn: string): void {
    for (const line of output.split("\n")) {
      if (line.trim()) this.#o.log.info(line, { script: this.#o.script, cn });
    }
  }

  /** A new 0600 file holding `text` (via-file credentials, the control and reason files), listed in `files`. */
  async #privateFile(files: string[], text: string): Promise<string> {
    const dir = this.#o.tempDir ?? await defaultTempDir();
    const path = await Deno.makeTempFile({ dir, prefix: "tsvpn-auth-" });
    files.push(path);
    await Deno.chmod(path, 0o600);
    if (text !== "") await Deno.writeTextFile(path, text);
    return path;
  }
}

async function defaultTempDir(): Promise<string | undefined> {
  try {
    if ((await Deno.stat("/dev/shm")).isDirectory) return "/dev/shm";
  } catch {
    // No /dev/shm: the system temp dir.
  }
  return undefined;
}

/** How often a deferred decision's auth_control_file is read. */
const DEFERRED_POLL_MS = 100;

/** The first line of auth_failed_reason_file (sent with AUTH_FAILED), or null when empty or unreadable. */
async function readReason(path: string): Promise<string | null> {
  const text = await Deno.readTextFile(path).catch(() => "");
  const line = remapPassword(text.split("\n")[0].trim()).slice(0, 256);
  return line === "" ? null : line;
}

/** How long output is still read after the script exited (a background child may hold its pipes). */
const OUTPUT_DRAIN_MS = 1000;
/** Most output kept for the log. */
const MAX_OUTPUT_BYTES = 16 * 1024;

/**
 * The real ChildRunner: Deno.Command, killed (SIGKILL) at the deadline. The verdict never waits on the
 * script's pipes: a grandchild that keeps them open (`sleep &`) does not hold the client.
 */
async function runChild(
  path: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs: number,
): Promise<{ code: number; timedOut: boolean; output: string }> {
  const child = new Deno.Command(path, { args, env, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  const readers = [child.stdout.getReader(), child.stderr.getReader()];
  const output = Promise.all(readers.map(readCapped)).then((parts) => parts.join(""));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs));
  const status = await Promise.race([child.status, deadline]);
  clearTimeout(timer);
  if (status === null) {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited at the deadline.
    }
  }
  let drainTimer: ReturnType<typeof setTimeout> | undefined;
  const drained = await Promise.race([
    output,
    new Promise<string>((r) => drainTimer = setTimeout(() => r(""), status === null ? 0 : OUTPUT_DRAIN_MS)),
  ]);
  clearTimeout(drainTimer);
  for (const r of readers) r.cancel().catch(() => {});
  if (status === null) void child.status.catch(() => {});
  return { code: status?.code ?? -1, timedOut: status === null, output: drained };
}

async function readCapped(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (text.length < MAX_OUTPUT_BYTES) text += dec.decode(value, { stream: true });
    }
  } catch {
    // Cancelled: what was read so far.
  }
  return text.slice(0, MAX_OUTPUT_BYTES);
}
