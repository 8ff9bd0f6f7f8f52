/**
 * Helpers for interop tests against the stock `openvpn` binary: spawning it
 * with a log file, waiting for log lines, and a tiny keepalive peer that uses
 * src/data to decrypt openvpn's pings and send pings back, proving the
 * key-method 2 keys are right. Everything runs on 127.0.0.1 with --dev null,
 * or inside an anonymous network namespace (unshare -n) when openvpn needs a
 * real tun device.
 */

import { DataChannel } from "../../src/data/data_channel.ts";
import { dataKeysFromKey2 } from "../../src/data/key_material.ts";
import { isPing, PING_PAYLOAD_LEN, writePing } from "../../src/data/keepalive_ping.ts";
import { DATA_V2_OVERHEAD } from "../../src/data/data_header.ts";
import { OPEN_OK } from "../../src/data/verdicts.ts";
import type { ControlSession, SessionKey } from "../../src/control/session.ts";
import { until } from "../../src/testing/wait.ts";

export function openvpnPath(): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/sbin:/usr/bin").split(":").concat(["/usr/sbin"])) {
    try {
      if (Deno.statSync(`${dir}/openvpn`).isFile) return `${dir}/openvpn`;
    } catch {
      // keep looking
    }
  }
  return null;
}

export const OPENVPN = openvpnPath();
export const SKIP_REASON = OPENVPN ? "" : "openvpn is not installed";

export interface OpenvpnProcess {
  readonly logPath: string;
  log(): string;
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL after a second; resolves when it exited. */
  stop(): Promise<void>;
  readonly exited: Promise<Deno.CommandStatus>;
}

export function spawnOpenvpn(args: string[], logPath: string): OpenvpnProcess {
  if (!OPENVPN) throw new Error("openvpn is not installed");
  const proc = new Deno.Command(OPENVPN, {
    args: [...args, "--log", logPath],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const exited = proc.status;
  let done = false;
  exited.then(() => done = true);
  const log = () => {
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };
  return {
    logPath,
    log,
    exited,
    waitFor(re, timeoutMs) {
      const tail = () => log().split("\n").slice(-25).join("\n");
      return until(() => {
        const m = log().match(re);
        if (m) return m[0];
        if (done) throw new Error(`openvpn exited before its log matched ${re}:\n${tail()}`);
        return null;
      }, { what: `openvpn log to match ${re}`, timeoutMs, intervalMs: 50, detail: tail });
    },
    async stop() {
      if (done) return;
      try {
        proc.kill("SIGTERM");
      } catch {
        // already gone
      }
      const t = setTimeout(() => {
        try {
          proc.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 1500);
      await exited;
      clearTimeout(t);
    },
  };
}

/** A free TCP or UDP port on 127.0.0.1 (bind to 0, read, close). */
export function freePort(kind: "udp" | "tcp"): number {
  if (kind === "udp") {
    const c = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    const p = (c.addr as Deno.NetAddr).port;
    c.close();
    return p;
  }
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = (l.addr as Deno.NetAddr).port;
  l.close();
  return p;
}

/**
 * Keepalive peer: installs each key the session derives into a DataChannel,
 * counts decrypted pings per key-id, and sends a ping every `intervalMs`.
 */
export class PingPeer {
  readonly dc: DataChannel;
  readonly pingsByKeyId = new Map<number, number>();
  readonly keys: SessionKey[] = [];
  otherData = 0;
  failedOpens = 0;
  sent = 0;
  #timer: ReturnType<typeof setInterval> | undefined;
  readonly #slot = new Uint8Array(DATA_V2_OVERHEAD + PING_PAYLOAD_LEN + 64);

  constructor(
    session: ControlSession,
    send: (p: Uint8Array) => void,
    peerId: number | null,
    intervalMs = 500,
  ) {
    this.dc = new DataChannel({ peerId: peerId ?? undefined, transitionWindowMs: 60_000 });
    session.on("key", (k) => {
      this.keys.push(k);
      this.dc.installKey(k.keyId, dataKeysFromKey2(k.key2, { cipher: k.cipher, role: k.role }), Date.now());
    });
    session.on("pushReply", (e) => {
      if (e.options.peerId !== undefined) this.dc.localPeerId = e.options.peerId;
    });
    this.#timer = setInterval(() => {
      if (this.dc.sendKeyId < 0) return;
      const n = writePing(this.#slot, DATA_V2_OVERHEAD);
      const len = this.dc.seal(this.#slot, DATA_V2_OVERHEAD, n);
      if (len > 0) {
        send(this.#slot.slice(0, len));
        this.sent++;
      }
    }, intervalMs);
  }

  get pings(): number {
    let t = 0;
    for (const v of this.pingsByKeyId.values()) t += v;
    return t;
  }

  onData(buf: Uint8Array, off: number, len: number): void {
    const copy = buf.slice(off, off + len);
    const v = this.dc.open(copy, 0, copy.length);
    if (v !== OPEN_OK) {
      this.failedOpens++;
      return;
    }
    if (isPing(copy, this.dc.plainOff, this.dc.plainLen)) {
      this.pingsByKeyId.set(this.dc.keyId, (this.pingsByKeyId.get(this.dc.keyId) ?? 0) + 1);
    } else {
      this.otherData++;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** Writes a static key file in openvpn's format. */
export async function writeStaticKey(path: string, key: Uint8Array): Promise<void> {
  const { formatStaticKey } = await import("../../src/pki/static_key.ts");
  await Deno.writeTextFile(path, formatStaticKey(key));
}
